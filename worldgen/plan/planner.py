"""prompt -> plan -> spec, with validation, a bounded repair loop and the spec's own gates.

spec_text, report = plan_spec("a red bicycle to the left of a blue car", llm="none")
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError

from worldgen.errors import WorldgenError
from worldgen.plan.rules import ground, plan_from_text
from worldgen.plan.schema import Plan, check_plan
from worldgen.plan.solver import PlanError, solve

MAX_PROMPT_CHARS = 4000
REPAIRS = 2  # LLM retries with the exact errors fed back


class PlanningError(WorldgenError):
    """The planner could not produce a valid spec; the message says why."""


@dataclass
class PlanReport:
    backend: str
    model: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    raw: list = field(default_factory=list)  # what the LLM wrote, per attempt
    plan: dict | None = None
    grounded: bool = False  # whether the model's plan was held to the prompt (rules.ground)
    # per kind (objects, relations, moves, motions): how many of the plan's items the model
    # supplied, how many the prompt's own words (the rule reader) supplied; see rules.ground
    provenance: dict | None = None


def parse_llm_plan(text: str) -> tuple[Plan | None, str]:
    """(plan, '') or (None, the errors as one line to feed back): JSON, then the schema."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e.msg} at character {e.pos})"
    if not isinstance(data, dict):
        return None, "the plan must be a JSON object"
    _normalise_names(data)
    for s in data.get("shots", []) if isinstance(data.get("shots"), list) else []:
        if isinstance(s, dict) and isinstance(s.get("duration"), int):
            s["duration"] = float(s["duration"])
    try:
        return Plan.model_validate(data), ""
    except ValidationError as e:
        errs = [f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}" for x in e.errors()[:6]]
        return None, "; ".join(errs)


def snake(name) -> str:
    """'Orange tent' -> 'orange_tent': the one spelling a name may take in a plan."""
    out = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")[:32]
    return out if out and out[0].isalpha() else ("obj_" + out)[:32] if out else "thing"


def _normalise_names(data: dict) -> None:
    """Names and every reference to them in one spelling (models capitalise and add spaces)."""
    for o in data.get("objects", []) if isinstance(data.get("objects"), list) else []:
        if isinstance(o, dict) and isinstance(o.get("name"), str):
            o["name"] = snake(o["name"])
    for key, fields in (("relations", ("subject", "object")), ("motions", ("subject", "target"))):
        for r in data.get(key, []) if isinstance(data.get(key), list) else []:
            for f in fields:
                if isinstance(r, dict) and isinstance(r.get(f), str):
                    r[f] = snake(r[f])
    for s in data.get("shots", []) if isinstance(data.get("shots"), list) else []:
        if isinstance(s, dict) and isinstance(s.get("subjects"), list):
            s["subjects"] = [snake(x) if isinstance(x, str) else x for x in s["subjects"]]


def make_backend(llm: str = "embedded", model: str | None = None, url: str | None = None, seed: int = 0):
    """llm: 'embedded' (Gemma 3 270M), 'none' (rules), or implied by `model` (a GGUF path) / `url`."""
    from worldgen.plan import llm as L

    if url:
        return L.HttpPlanner(url, model or "default", seed=seed)
    if model:
        return L.LlamaCppPlanner(model, seed=seed)
    if llm == "none":
        return None
    if llm == "embedded":
        return L.LlamaCppPlanner(None, seed=seed)
    raise PlanningError(f"--llm: unknown backend '{llm}' (embedded, none; or --llm-model FILE.gguf / --llm-url URL)")


def make_plan(prompt: str, backend=None, report: PlanReport | None = None, grounding: bool = True) -> Plan:
    """The semantic plan: the rule reader's (no backend), or the model's after validation and
    repair. `grounding=False` takes the model's plan as it is (only schema and reference errors
    are fed back), so the model can be measured on its own."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise PlanningError("the prompt is empty: describe the scene, e.g. 'a red car next to a tree'")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PlanningError(f"the prompt is {len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
    report = report or PlanReport("rules")
    if backend is None:
        try:
            plan = plan_from_text(prompt)
        except ValueError as e:
            raise PlanningError(str(e)) from None
        report.attempts = 1
        return plan
    feedback = ""
    for attempt in range(1 + REPAIRS):
        report.attempts = attempt + 1
        text = backend.complete(prompt, feedback)
        report.raw.append(text)
        plan, feedback = parse_llm_plan(text)
        if plan is not None:
            try:
                provenance: dict = {}
                plan, notes = ground(plan, prompt, provenance) if grounding else (plan, [])
            except ValueError as e:
                plan, feedback = None, str(e)
            else:
                errs = check_plan(plan)
                if not errs:
                    report.notes += notes
                    report.grounded = grounding
                    report.provenance = provenance if grounding else None
                    return plan
                feedback = "; ".join(errs[:6])
        report.notes.append(f"attempt {attempt + 1}: {feedback}")
    raise PlanningError(
        f"the {backend.name} planner gave no valid plan after {1 + REPAIRS} attempts; last errors: {feedback[:300]}"
    )


def plan_spec(
    prompt: str,
    llm: str = "embedded",
    model: str | None = None,
    url: str | None = None,
    seed: int = 0,
    width: int = 512,
    height: int = 288,
    fps: float = 24,
    backend=None,
    grounding: bool = True,
) -> tuple[str, PlanReport]:
    """The whole planner: a YAML spec text that validates and renders as is, and a report.
    `grounding=False`: the model's plan goes to the solver as the model wrote it."""
    t0 = time.perf_counter()
    if backend is None and not (llm == "none" and not model and not url):
        backend = make_backend(llm, model, url, seed)
    report = PlanReport(getattr(backend, "name", "rules"), getattr(backend, "model_id", None))
    plan = make_plan(prompt, backend, report, grounding=grounding)
    report.plan = plan.model_dump()
    try:
        data, notes = solve(plan, seed=seed, width=width, height=height, fps=fps)
    except PlanError as e:
        raise PlanningError(f"the plan cannot be laid out: {e}") from None
    report.notes += notes
    text = to_yaml(data, prompt, report)
    text = _gate(text, data, prompt, report)
    report.seconds = time.perf_counter() - t0
    return text, report


def _gate(text: str, data: dict, prompt: str, report: PlanReport) -> str:
    """Run the spec's own checks; widen a shot whose camera lands inside something; once the
    cameras are clear, re-frame (once) the shots whose subject is hidden behind something."""
    from worldgen.errors import SpecError
    from worldgen.plan.reframe import reframe_hidden
    from worldgen.spec import load_spec_text
    from worldgen.world_checks import check_geometry
    from worldgen.world import World

    reframed = False
    for _ in range(7):
        try:
            spec = load_spec_text(text, "<plan>")
            world = World(spec)
            check_geometry(spec, world)
            if reframed:
                return text
            reframed = True
            notes = reframe_hidden(data, spec, world)
            report.notes += notes
            if not notes:
                return text
            text = to_yaml(data, prompt, report)
            continue
        except SpecError as e:
            if e.path and e.path.startswith("shots[") and ".camera" in e.path:
                k = int(e.path[6 : e.path.index("]")])
                _widen(data["shots"][k]["camera"])
                report.notes.append(f"shot {k + 1}: camera moved back ({e.message})")
                text = to_yaml(data, prompt, report)
                continue
            raise PlanningError(f"internal: the planned spec does not validate: {e}") from None
    raise PlanningError("internal: could not place the cameras clear of the objects")


def _widen(cam: dict, k: float = 1.4) -> None:
    for key in ("radius", "distance"):
        if key in cam:
            cam[key] = round(cam[key] * k, 3)
    for key in ("position",):
        if key in cam:
            p = cam[key]
            cam[key] = [p[0], round(p[1] * 1.15 + 0.3, 3), round(p[2] * k, 3)]
    if "offset" in cam:
        o = cam["offset"]
        cam["offset"] = [o[0], round(o[1] * k, 3), round(o[2] * k, 3)]


def to_yaml(data: dict, prompt: str, report: PlanReport) -> str:
    head = "# Planned by worldgen from the prompt:\n" + "".join(
        f"#   {line}\n" for line in prompt.strip().splitlines()[:12]
    )
    head += (
        f"# planner: {report.backend}"
        + (f" ({report.model})" if report.model else "")
        + (", not grounded" if report.backend != "rules" and not report.grounded else "")
        + "\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
