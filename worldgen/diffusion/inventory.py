"""Which diffusion models this machine has, read from the Hugging Face hub cache's config files
only (no weights are opened): what `worldgen doctor` reports and the painters can use offline."""

from __future__ import annotations

import json
from pathlib import Path


def hub_cache() -> Path:
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except Exception:  # noqa: BLE001 - no huggingface_hub: the default location
        return Path.home() / ".cache" / "huggingface" / "hub"


def _kind(snapshot: Path) -> str | None:
    index = snapshot / "model_index.json"
    if index.exists():
        try:
            data = json.loads(index.read_text())
        except (OSError, ValueError):
            return None
        return "sdxl base" if "text_encoder_2" in data else "base"
    cfg = snapshot / "config.json"
    if cfg.exists():
        try:
            name = json.loads(cfg.read_text()).get("_class_name", "")
        except (OSError, ValueError):
            return None
        return {"ControlNetModel": "controlnet", "MotionAdapter": "motion adapter"}.get(name)
    return None


def models_in_cache(root: Path | None = None) -> dict[str, list[str]]:
    """kind ('base', 'sdxl base', 'controlnet', 'motion adapter') -> hub ids with safetensors."""
    root = Path(root) if root else hub_cache()
    out: dict[str, list[str]] = {}
    for repo in sorted(root.glob("models--*")) if root.exists() else []:
        repo_id = repo.name[len("models--") :].replace("--", "/")
        for snap in sorted((repo / "snapshots").glob("*")):
            kind = _kind(snap)
            if kind and any(snap.rglob("*.safetensors")):
                out.setdefault(kind, []).append(repo_id)
                break
    return out
