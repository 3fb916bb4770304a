"""Loading Stable-Diffusion-class models the way users have them: offline, safetensors only.

A model reference (PATH_OR_ID) is one of

* a local folder in diffusers layout: a pipeline has `model_index.json` and the subfolders
  `unet/ vae/ text_encoder/ tokenizer/ scheduler/` (SDXL adds `text_encoder_2/ tokenizer_2/`);
  a ControlNet folder has `config.json` and `diffusion_pytorch_model.safetensors`;
* a Hugging Face hub id `org/name`, read from the local hub cache
  (`huggingface_hub.constants.HF_HUB_CACHE`); nothing is downloaded unless the environment
  has `WORLDGEN_ALLOW_DOWNLOAD=1`;
* a single-file checkpoint `*.safetensors`. A base model in one file (original "LDM" key
  layout, as community checkpoints are shared) is loaded with the configs of a diffusers
  folder: the `config=` argument (a folder, or a hub id in the cache), else a
  `model_index.json` next to the file, else the standard configs of its family
  (stable-diffusion-v1-5/stable-diffusion-v1-5 or stabilityai/stable-diffusion-xl-base-1.0)
  if they are in the hub cache (`hf download ID --include '*.json' '*.txt'`, about 1 MB). A
  ControlNet in one file (original or diffusers layout) uses a `config.json` next to it, else
  a config derived from the base model's UNet (which is what a full ControlNet copies); a file
  that does not fit it is refused.

Only `.safetensors` weights are ever read (`use_safetensors=True` everywhere). `.ckpt`, `.bin`,
`.pt`, `.pth` and `.pkl` are refused: they are pickles, which run code when loaded.

ControlNets on a command line are written `KIND=PATH_OR_ID[@WEIGHT]`, one per net:

    depth=lllyasviel/control_v11f1p_sd15_depth@0.8   normal=./nets/normal   canny=canny.safetensors@0.5

KIND is one of `CONTROLNET_KINDS`; WEIGHT (the net's conditioning scale, default 1.0) is a number
>= 0 after the last `@`. An `@` not followed by a number belongs to the path.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

from worldgen.diffusion.devices import apply_memory_options, check_cpu_offload_possible, pick_device, pick_dtype
from worldgen.errors import EXIT_USAGE, WorldgenError

# the conditioning a --controlnet KIND=... may name (what the net was trained on); the images a
# render writes next to its passes are another list, worldgen.control.WRITTEN_CONTROL_KINDS
CONTROLNET_KINDS = ("canny", "depth", "lineart", "normal", "openpose", "scribble", "seg", "softedge", "tile")
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl", ".pickle")
FAMILIES = ("sd15", "sdxl")
DEFAULT_CONFIG_REPOS = {
    "sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
}
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
VARIANT_NAME = re.compile(r"^[^.]+\.(?P<variant>[A-Za-z0-9_]+)(-\d+-of-\d+)?\.safetensors$")
# SD1.5 folders list a safety checker (and its image processor) in model_index.json, and
# `from_pretrained` would load and run it: its false positives replace the image by a black one,
# which look development would bake into the texture cache. worldgen paints textures of a scene
# the user wrote; it loads these components as None, as `from_single_file` does.
NOT_LOADED = ("safety_checker", "feature_extractor")
PIPELINE_LAYOUT = "a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)"
CONTROLNET_LAYOUT = "a ControlNet folder (config.json, diffusion_pytorch_model.safetensors)"
PIPELINES = {
    ("sd15", "txt2img", True): "StableDiffusionControlNetPipeline",
    ("sd15", "img2img", True): "StableDiffusionControlNetImg2ImgPipeline",
    ("sd15", "txt2img", False): "StableDiffusionPipeline",
    ("sd15", "img2img", False): "StableDiffusionImg2ImgPipeline",
    ("sdxl", "txt2img", True): "StableDiffusionXLControlNetPipeline",
    ("sdxl", "img2img", True): "StableDiffusionXLControlNetImg2ImgPipeline",
    ("sdxl", "txt2img", False): "StableDiffusionXLPipeline",
    ("sdxl", "img2img", False): "StableDiffusionXLImg2ImgPipeline",
}


class ModelError(WorldgenError):
    """A model reference that is malformed, unsafe, or not a model worldgen can paint with."""

    exit_code = EXIT_USAGE


class ModelNotFound(ModelError):
    """A model that is not on this machine; the message says what to download and where."""

    exit_code = EXIT_USAGE


# --- references -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlRef:
    kind: str
    ref: str
    weight: float = 1.0


@dataclass(frozen=True)
class ModelRefs:
    """A base model and its ControlNets, as parsed from command-line strings."""

    base: str
    controls: tuple[ControlRef, ...] = ()

    @classmethod
    def parse(cls, base: str, controls: Iterable[str] = ()) -> "ModelRefs":
        if not base or not base.strip():
            raise ModelError("no base model given (PATH_OR_ID of an SD1.5- or SDXL-class model)")
        parsed = tuple(parse_control_ref(text) for text in controls)
        check_unique_kinds(parsed)
        return cls(base.strip(), parsed)

    @property
    def controlnets(self) -> dict[str, str]:
        return {c.kind: c.ref for c in self.controls}

    @property
    def weights(self) -> dict[str, float]:
        return {c.kind: c.weight for c in self.controls}


def parse_control_ref(text: str) -> ControlRef:
    """`KIND=PATH_OR_ID[@WEIGHT]` -> ControlRef (see the module docstring)."""
    kind, sep, rest = text.partition("=")
    kind, rest = kind.strip().lower(), rest.strip()
    if not sep or not kind or not rest:
        raise ModelError(f"ControlNet '{text}': expected KIND=PATH_OR_ID[@WEIGHT], e.g. depth=models/depth@0.8")
    check_kind(kind)
    ref, weight = split_weight(rest, text)
    return ControlRef(kind, ref, weight)


def split_weight(rest: str, text: str) -> tuple[str, float]:
    head, at, tail = rest.rpartition("@")
    if not at:
        return rest, 1.0
    if not tail.strip():
        raise ModelError(f"ControlNet '{text}': a weight must follow '@' (e.g. @0.8)")
    try:
        weight = float(tail)
    except ValueError:
        return rest, 1.0  # an '@' inside a path
    if not head.strip():
        raise ModelError(f"ControlNet '{text}': no PATH_OR_ID before '@'")
    return head.strip(), check_weight(weight, text)


def check_weight(weight: float, label: str) -> float:
    if not math.isfinite(weight) or weight < 0:
        raise ModelError(f"ControlNet '{label}': weight {weight} must be a finite number >= 0")
    return float(weight)


def check_kind(kind: str) -> None:
    if kind not in CONTROLNET_KINDS:
        raise ModelError(f"unknown ControlNet kind '{kind}' (known: {', '.join(CONTROLNET_KINDS)})")


def check_unique_kinds(controls: Iterable[ControlRef]) -> None:
    seen = set()
    for c in controls:
        if c.kind in seen:
            raise ModelError(f"ControlNet kind '{c.kind}' is given twice; give one net per kind")
        seen.add(c.kind)


def control_refs(controlnets: Mapping[str, str], weights: Mapping[str, float]) -> tuple[ControlRef, ...]:
    """The API's two dicts as ControlRefs, checked like the command-line syntax."""
    for kind in weights:
        if kind not in controlnets:
            raise ModelError(f"a weight is given for ControlNet '{kind}', which is not loaded")
    refs = []
    for kind, ref in controlnets.items():
        check_kind(kind)
        refs.append(ControlRef(kind, ref, check_weight(float(weights.get(kind, 1.0)), kind)))
    return tuple(refs)


# --- where a reference points -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    kind: str  # "folder", "hub" or "file"
    ref: str  # as the user wrote it
    location: str  # folder path, hub id or file path


def allow_download() -> bool:
    return os.environ.get("WORLDGEN_ALLOW_DOWNLOAD") == "1"


def hub_cache_dir() -> Path:
    """Read at call time, so HF_HOME / HF_HUB_CACHE set by the user (or a test) are honoured."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def refuse_pickle(ref: str, role: str) -> None:
    suffix = Path(ref).suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise ModelError(
            f"{role} '{ref}': refusing a {suffix} file (a pickle, which can run code when loaded); "
            "only .safetensors weights are loaded"
        )


def resolve_source(ref: str, role: str, layout: str) -> Source:
    """Decide whether `ref` is a folder, a hub id or a single file, refusing pickles first."""
    text = ref.strip()
    refuse_pickle(text, role)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".safetensors":
        if not path.is_file():
            raise ModelNotFound(f"{role} '{ref}': no such file")
        return Source("file", ref, str(path))
    if path.is_dir():
        return Source("folder", ref, str(path))
    if path.exists():
        raise ModelError(f"{role} '{ref}' is neither a .safetensors file nor {layout}")
    if HUB_ID.fullmatch(text):
        return Source("hub", ref, text)
    raise ModelNotFound(f"{role} '{ref}': no such folder (expected {layout}) and not a hub id org/name")


def hub_snapshot(repo_id: str, role: str, pipeline: bool) -> Path:
    """The cached snapshot folder of a hub repo; downloaded only when explicitly allowed."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache = hub_cache_dir()
    try:
        if not allow_download():
            return Path(snapshot_download(repo_id, cache_dir=cache, local_files_only=True))
        if pipeline:
            from diffusers import DiffusionPipeline

            return Path(DiffusionPipeline.download(repo_id, cache_dir=cache, use_safetensors=True))
        return Path(snapshot_download(repo_id, cache_dir=cache, allow_patterns=["*.json", "*.safetensors"]))
    except LocalEntryNotFoundError:
        raise not_in_cache(repo_id, role) from None
    except OSError as e:
        raise ModelNotFound(f"{role} '{repo_id}' could not be fetched into {cache}: {first_line(e)}") from None


def not_in_cache(repo_id: str, role: str, what: str = "", include: str = "") -> ModelNotFound:
    files = f" {include}" if include else ""
    return ModelNotFound(
        f"{role} '{repo_id}'{what} is neither a folder here nor in the Hugging Face cache at {hub_cache_dir()} "
        "(downloads are off): "
        f"run `hf download {repo_id}{files}` (with huggingface_hub < 1.0: `huggingface-cli download "
        f"{repo_id}{files}`) on a machine with network access, or set WORLDGEN_ALLOW_DOWNLOAD=1, "
        "or pass a local folder"
    )


def with_download_hint(source: Source, check):
    """A hub repo that is only partly cached is fixed by fetching it again: say how."""
    try:
        return check()
    except ModelNotFound as e:
        if source.kind != "hub":
            raise
        raise ModelNotFound(
            f"{e}; run `hf download {source.location}` to fetch the rest into {hub_cache_dir()}"
        ) from None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- folders ----------------------------------------------------------------------------------


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read {path}: {first_line(e)}") from None


def weight_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(safetensors files, pickle files) directly in `folder`."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    safe = [p for p in files if p.suffix == ".safetensors"]
    pickled = [p for p in files if p.suffix.lower() in PICKLE_SUFFIXES]
    return safe, pickled


def check_weights_present(folder: Path, ref: str, role: str) -> None:
    """A model folder must carry .safetensors weights: pickle-only folders are refused, and an
    empty one (e.g. configs cached without weights) is reported as missing."""
    safe, pickled = weight_files(folder)
    if safe:
        return
    where = f"{folder.name}/" if folder.name else str(folder)
    if pickled:
        raise ModelError(
            f"{role} '{ref}': {where} has only pickle weights ({pickled[0].name}); worldgen loads "
            "only .safetensors, so convert them or fetch the .safetensors files"
        )
    raise ModelNotFound(f"{role} '{ref}': {folder} has no .safetensors weights (only part of the model is here)")


def model_subfolders(folder: Path, index: dict) -> list[Path]:
    """Pipeline components that hold a model (a config.json), as opposed to tokenizers,
    schedulers and image processors, which carry no weights. The safety checker is left out:
    it is never loaded (see `NOT_LOADED`), so its weights need not be here."""
    names = [
        name
        for name, value in index.items()
        if not name.startswith("_")
        and name not in NOT_LOADED
        and isinstance(value, list)
        and value
        and value[0] is not None
    ]
    return [folder / name for name in sorted(names) if (folder / name / "config.json").is_file()]


def variant_of(file: Path) -> str | None:
    match = VARIANT_NAME.match(file.name)
    return match.group("variant") if match else None


def choose_variant(model_folders: Iterable[Path]) -> str | None:
    """'fp16' when some component has only fp16-variant files (as many hub repos ship), else
    None; diffusers falls back to the plain files for components without the variant."""
    for folder in model_folders:
        safe, _ = weight_files(folder)
        if safe and all(variant_of(p) is not None for p in safe):
            return variant_of(safe[0])
    return None


def family_of(index: dict, unet_config: dict, ref: str, role: str) -> str:
    """SDXL-class if the UNet takes 'text_time' conditioning or there is a second text encoder."""
    class_name = index.get("_class_name", "?")
    if not unet_config:
        raise ModelError(f"{role} '{ref}' is a {class_name}, not an SD1.5- or SDXL-class model (no UNet)")
    if unet_config.get("in_channels", 4) != 4:
        raise ModelError(
            f"{role} '{ref}': its UNet takes {unet_config['in_channels']} input channels (an "
            "inpainting or instruct model); worldgen paints with 4-channel text-to-image models"
        )
    has_second_encoder = (index.get("text_encoder_2") or [None])[0] is not None
    if unet_config.get("addition_embed_type") == "text_time" or has_second_encoder:
        if (index.get("text_encoder") or [None])[0] is None:
            raise ModelError(f"{role} '{ref}' is an SDXL refiner (one text encoder); use an SDXL base model")
        return "sdxl"
    return "sd15"


def pipeline_folder_family(folder: Path, ref: str, role: str) -> str:
    index_path = folder / "model_index.json"
    if not index_path.is_file():
        config = folder / "config.json"
        if config.is_file():
            name = read_json(config).get("_class_name", "single model")
            raise ModelError(f"{role} '{ref}' is a single {name}, not a pipeline: expected {PIPELINE_LAYOUT}")
        raise ModelNotFound(f"{role} '{ref}': {folder} has no model_index.json; expected {PIPELINE_LAYOUT}")
    unet_config_path = folder / "unet" / "config.json"
    unet_config = read_json(unet_config_path) if unet_config_path.is_file() else {}
    return family_of(read_json(index_path), unet_config, ref, role)


def check_pipeline_folder(folder: Path, ref: str, role: str) -> tuple[str, str | None]:
    """(family, variant) of a pipeline folder whose every model has safetensors weights."""
    family = pipeline_folder_family(folder, ref, role)
    models = model_subfolders(folder, read_json(folder / "model_index.json"))
    for sub in models:
        check_weights_present(sub, ref, role)
    return family, choose_variant(models)


def local_folder(source: Source, role: str, pipeline: bool) -> Path:
    if source.kind == "hub":
        return hub_snapshot(source.location, role, pipeline)
    return Path(source.location).expanduser()


# --- single-file checkpoints -------------------------------------------------------------------


def checkpoint_keys(path: Path) -> set[str]:
    """Tensor names from the safetensors header, without reading the tensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return set(f.keys())
    except Exception as e:  # safetensors raises its own error types for a damaged header
        raise ModelError(f"'{path}' is not a readable .safetensors file: {first_line(e)}") from None


def single_file_family(keys: set[str], ref: str) -> str:
    """The family of an original-layout checkpoint, from its text encoders' key names."""
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        return "sdxl"
    if any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return "sd15"
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        raise ModelError(f"base model '{ref}' is an SD2-class checkpoint: pass config= a diffusers SD2 folder")
    raise ModelError(
        f"base model '{ref}' is not a whole SD1.5- or SDXL-class checkpoint (no text encoder "
        f"found); pass {PIPELINE_LAYOUT} instead"
    )


def config_folder(config: str, role: str) -> Path:
    """A diffusers folder (or cached hub repo) that provides configs and tokenizers only."""
    path = Path(config).expanduser()
    if path.is_dir():
        return path
    if not HUB_ID.fullmatch(config.strip()):
        raise ModelNotFound(f"{role}: config '{config}' is neither a folder nor a hub id org/name")
    return cached_configs(config.strip(), role)


def cached_configs(repo_id: str, role: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        if allow_download():
            return Path(snapshot_download(repo_id, cache_dir=hub_cache_dir(), allow_patterns=["*.json", "*.txt"]))
        return Path(snapshot_download(repo_id, cache_dir=hub_cache_dir(), local_files_only=True))
    except LocalEntryNotFoundError:
        raise ModelNotFound(
            f"{role}: config '{repo_id}' is neither a folder here nor in the Hugging Face cache at {hub_cache_dir()}: "
            f"run `hf download {repo_id} --include '*.json' '*.txt'` (configs and tokenizers only)"
        ) from None


def check_single_file_family(keys: set[str], family: str, ref: str) -> None:
    """An SDXL checkpoint read with SD1.5 configs (or the reverse) fails deep in diffusers; say it first."""
    try:
        theirs = single_file_family(keys, ref)
    except ModelError:
        return  # not recognisable from its keys: the configs decide
    if theirs != family:
        names = {"sd15": "SD1.5-class", "sdxl": "SDXL-class"}
        raise ModelError(
            f"base model '{ref}' is an {names[theirs]} checkpoint but its configs are {names[family]}; "
            "pass config= a folder of the same family"
        )


def single_file_configs(path: Path, keys: set[str], config: str | None, ref: str) -> Path:
    role = f"single-file base model '{ref}'"
    if config:
        folder = config_folder(config, role)
    elif (path.parent / "model_index.json").is_file():
        folder = path.parent
    else:
        repo = DEFAULT_CONFIG_REPOS[single_file_family(keys, ref)]
        try:
            folder = cached_configs(repo, role)
        except ModelNotFound:
            raise ModelNotFound(
                f"{role} needs the configs of a diffusers folder and none is here: pass config=FOLDER_OR_ID, put "
                f"model_index.json and the component configs next to the file, or run `hf download {repo} "
                f"--include '*.json' '*.txt'` (configs and tokenizer, about 1 MB) into {hub_cache_dir()}"
            ) from None
    if not (folder / "model_index.json").is_file():
        raise ModelNotFound(f"{role}: config folder {folder} has no model_index.json; expected {PIPELINE_LAYOUT}")
    return folder


# --- ControlNets ------------------------------------------------------------------------------


def derived_controlnet_config(unet_config: Mapping[str, Any]) -> dict:
    """A full ControlNet's config: its UNet's encoder settings plus the standard hint encoder,
    the same fields `ControlNetModel.from_unet` copies."""
    from diffusers import ControlNetModel

    accepted = inspect.signature(ControlNetModel.__init__).parameters
    config = {k: v for k, v in unet_config.items() if k in accepted and not k.startswith("_")}
    config["_class_name"] = "ControlNetModel"
    return config


def controlnet_from_single_file(path: Path, unet_config: Mapping[str, Any], dtype: torch.dtype, role: str, ref: str):
    from diffusers import ControlNetModel

    keys = checkpoint_keys(path)
    sibling = path.parent / "config.json"
    kwargs = dict(local_files_only=True, **dtype_kwarg(dtype))
    if sibling.is_file() and read_json(sibling).get("_class_name") == "ControlNetModel":
        net = load_or_explain(
            lambda: ControlNetModel.from_single_file(str(path), config=str(path.parent), **kwargs), role, ref
        )
    else:
        with tempfile.TemporaryDirectory(prefix="worldgen-controlnet-config-") as tmp:
            (Path(tmp) / "config.json").write_text(json.dumps(derived_controlnet_config(unet_config)))
            net = load_or_explain(
                lambda: ControlNetModel.from_single_file(str(path), config=tmp, **kwargs),
                role,
                ref,
                hint="put its config.json next to the file",
            )
    check_checkpoint_covers(net, keys, role, ref)
    return net


def check_checkpoint_covers(net, keys: set[str], role: str, ref: str) -> None:
    """diffusers fills a single-file model non-strictly, so a checkpoint for another
    architecture could leave random weights behind; refuse unless every weight came from it."""
    expected = set(net.state_dict())
    if "controlnet_cond_embedding.conv_in.weight" in keys:  # already in diffusers names
        missing = len(expected - keys)
    else:
        ours = {k for k in keys if k.startswith("control_model.")} or keys
        missing = max(0, len(expected) - len(ours))
    if missing:
        raise ModelError(
            f"{role} '{ref}' does not fit the ControlNet architecture it was loaded as ({missing} of "
            f"{len(expected)} weights missing): put its config.json next to the file"
        )


def load_controlnet(control: ControlRef, unet_config: Mapping[str, Any], dtype: torch.dtype):
    from diffusers import ControlNetModel

    role = f"ControlNet '{control.kind}'"
    source = resolve_source(control.ref, role, CONTROLNET_LAYOUT)
    if source.kind == "file":
        net = controlnet_from_single_file(Path(source.location), unet_config, dtype, role, control.ref)
    else:
        folder = local_folder(source, role, pipeline=False)
        with_download_hint(source, lambda: check_controlnet_folder(folder, control.ref, role))
        variant = choose_variant([folder])
        net = load_or_explain(
            lambda: ControlNetModel.from_pretrained(
                str(folder), **dtype_kwarg(dtype), use_safetensors=True, local_files_only=True, variant=variant
            ),
            role,
            control.ref,
        )
    check_controlnet_fits(net.config, unet_config, role, control.ref)
    return net


def check_controlnet_folder(folder: Path, ref: str, role: str) -> None:
    config = folder / "config.json"
    if not config.is_file():
        what = "a pipeline" if (folder / "model_index.json").is_file() else "no config.json"
        raise ModelError(f"{role} '{ref}': {folder} is {what}, not {CONTROLNET_LAYOUT}")
    name = read_json(config).get("_class_name")
    if name != "ControlNetModel":
        raise ModelError(f"{role} '{ref}' is a {name}, not a ControlNetModel")
    check_weights_present(folder, ref, role)


def check_controlnet_fits(net_config: Mapping[str, Any], unet_config: Mapping[str, Any], role: str, ref: str) -> None:
    """A ControlNet trained for one family adds residuals of the wrong width to another."""
    ours, theirs = net_config.get("cross_attention_dim"), unet_config.get("cross_attention_dim")
    if ours != theirs or net_config.get("addition_embed_type") != unet_config.get("addition_embed_type"):
        raise ModelError(
            f"{role} '{ref}' was made for a {family_name(net_config)} UNet (cross-attention width "
            f"{ours}) but the base model is {family_name(unet_config)} (width {theirs})"
        )


def family_name(config: Mapping[str, Any]) -> str:
    return "SDXL-class" if config.get("addition_embed_type") == "text_time" else "SD1.5-class"


def dtype_kwarg(dtype: torch.dtype) -> dict:
    """diffusers 0.42 renamed `torch_dtype` to `dtype` (the old name warns); older ones know only the old."""
    import diffusers
    from packaging.version import Version

    name = "dtype" if Version(diffusers.__version__).release >= (0, 42) else "torch_dtype"
    return {name: dtype}


def load_or_explain(load, role: str, ref: str, hint: str = ""):
    """Run a diffusers load; its errors (missing files, bad configs) become one line."""
    try:
        return load()
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        extra = f" ({hint})" if hint else ""
        raise ModelError(f"{role} '{ref}' could not be loaded: {first_line(e)}{extra}") from e


# --- the base pipeline --------------------------------------------------------------------------


@dataclass
class LoadedBase:
    """A ready diffusers pipeline and what the painter must pass it on every call."""

    pipe: Any
    family: str  # "sd15" or "sdxl"
    task: str  # "txt2img" or "img2img"
    kinds: tuple[str, ...]  # ControlNet kinds, in the order the nets sit in the pipeline
    weights: tuple[float, ...]  # their conditioning scales, same order
    device: torch.device
    dtype: torch.dtype

    def control_kwargs(self, images: Mapping[str, Any]) -> dict:
        """The call arguments carrying the control images and their weights, ordered as the
        nets are (img2img pipelines take them as `control_image`, txt2img as `image`)."""
        if not self.kinds:
            return {}
        missing = [k for k in self.kinds if k not in images]
        extra = [k for k in images if k not in self.kinds]
        if missing or extra:
            raise ValueError(f"control images for {sorted(images)} but the loaded nets are {list(self.kinds)}")
        key = "image" if self.task == "txt2img" else "control_image"
        ordered = [images[k] for k in self.kinds]
        if len(ordered) == 1:
            return {key: ordered[0], "controlnet_conditioning_scale": self.weights[0]}
        return {key: ordered, "controlnet_conditioning_scale": list(self.weights)}


def pipeline_class(family: str, task: str, with_control: bool):
    import diffusers

    if task not in ("txt2img", "img2img"):
        raise ModelError(f"unknown task '{task}' (txt2img or img2img)")
    return getattr(diffusers, PIPELINES[(family, task, with_control)])


def load_base(
    ref: str,
    controlnets: Mapping[str, str] | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    weights: Mapping[str, float] | None = None,
    *,
    task: str = "txt2img",
    config: str | None = None,
    attention_slicing: bool = False,
    cpu_offload: bool = False,
) -> LoadedBase:
    """Load an SD1.5- or SDXL-class base model with any number of ControlNets, offline.

    `controlnets` maps kind -> PATH_OR_ID and `weights` kind -> conditioning scale (default 1).
    `config` gives the diffusers configs for a single-file base model (see the module doc)."""
    device = pick_device(device)
    dtype = pick_dtype(device, dtype)
    if cpu_offload:
        check_cpu_offload_possible(device)
    controls = control_refs(controlnets or {}, weights or {})
    source = resolve_source(ref, "base model", PIPELINE_LAYOUT)
    if source.kind == "file":
        path = Path(source.location)
        keys = checkpoint_keys(path)
        configs = single_file_configs(path, keys, config, ref)
        family, variant = pipeline_folder_family(configs, ref, "base model"), None
        check_single_file_family(keys, family, ref)
    else:
        configs = local_folder(source, "base model", pipeline=True)
        family, variant = with_download_hint(source, lambda: check_pipeline_folder(configs, ref, "base model"))
    unet_config = read_json(configs / "unet" / "config.json")
    nets = [load_controlnet(c, unet_config, dtype) for c in controls]
    cls = pipeline_class(family, task, bool(nets))
    parts = {"controlnet": nets[0] if len(nets) == 1 else nets} if nets else {}
    parts.update(without_safety_checker(cls))
    if source.kind == "file":
        pipe = load_or_explain(
            lambda: cls.from_single_file(
                source.location, config=str(configs), local_files_only=True, **dtype_kwarg(dtype), **parts
            ),
            "base model",
            ref,
        )
    else:
        pipe = load_or_explain(
            lambda: cls.from_pretrained(
                str(configs),
                **dtype_kwarg(dtype),
                use_safetensors=True,
                local_files_only=True,
                variant=variant,
                **parts,
            ),
            "base model",
            ref,
        )
    place(pipe, device, attention_slicing, cpu_offload)
    return LoadedBase(
        pipe, family, task, tuple(c.kind for c in controls), tuple(c.weight for c in controls), device, dtype
    )


def without_safety_checker(cls) -> dict:
    """The arguments that keep a pipeline class from loading its safety checker (see NOT_LOADED):
    SD1.5 pipelines take them, SDXL pipelines have no safety checker."""
    accepted = inspect.signature(cls.__init__).parameters
    out = {name: None for name in NOT_LOADED if name in accepted}
    if "requires_safety_checker" in accepted:
        out["requires_safety_checker"] = False
    return out


def load_refs(refs: ModelRefs, **kwargs) -> LoadedBase:
    """`load_base` for parsed command-line references."""
    return load_base(refs.base, refs.controlnets, weights=refs.weights, **kwargs)


def place(pipe, device: torch.device, attention_slicing: bool, cpu_offload: bool) -> None:
    """Move to the device (CPU offload moves models itself, one at a time) and switch off
    diffusers' per-step progress bars, which the painter replaces with its own reporting."""
    if not cpu_offload:
        pipe.to(device)
    apply_memory_options(pipe, attention_slicing, cpu_offload, device if cpu_offload else None)
    pipe.set_progress_bar_config(disable=True)
