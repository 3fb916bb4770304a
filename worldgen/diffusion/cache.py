"""The world cache: textures painted by look development, as plain PNGs a person can open and
edit, each with a JSON of what made it. A texture's file name carries the hash of everything
that decides it (appearance words, style, the mesh, the model, the look-development settings,
the seed), so a changed object is repainted, an unchanged one is reused across shots and runs,
and an edited PNG is used as edited."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from worldgen.io import atomic_write_bytes, png_bytes, write_json


def default_cache_dir() -> Path:
    env = os.environ.get("WORLDGEN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "worldgen"


def mesh_digest(mesh) -> str:
    h = hashlib.sha256()
    for a in (mesh.vertices, mesh.faces, mesh.visual.uv):
        h.update(
            np.ascontiguousarray(np.asarray(a, np.float64 if np.asarray(a).dtype.kind == "f" else np.int64)).tobytes()
        )
    return h.hexdigest()


def texture_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]", "_", name)


class TextureCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_cache_dir()
        self.dir = self.root / "textures"

    def path(self, oid: str, key: str) -> Path:
        return self.dir / f"{_safe(oid)}.{key}.png"

    def load(self, oid: str, key: str):
        p = self.path(oid, key)
        if not p.exists():
            return None
        from PIL import Image

        return np.asarray(Image.open(p).convert("RGB"))

    def save(self, oid: str, key: str, texture: np.ndarray, meta: dict) -> Path:
        p = self.path(oid, key)
        atomic_write_bytes(p, png_bytes(texture))
        write_json(p.with_suffix(".json"), meta)
        return p

    def entries(self) -> list[Path]:
        return sorted(self.dir.glob("*.png")) if self.dir.exists() else []
