"""Taking finished work from the frame store: a frame's files linked instead of computed, and a
shot's depth range remembered so that a render the store holds needs no rasterizer."""

from __future__ import annotations

import json
from pathlib import Path

from worldgen.passes.hits_model import HITS_MODEL
from worldgen.render.frames import depth_range
from worldgen.render.keys import shot_camera_path
from worldgen.spec.models import Spec


def depth_range_key(wd: tuple, shot, spec: Spec, backend: str) -> str:
    """What a shot's depth range depends on: the geometry, the camera path, size and fps, the
    backend and the model of its hits (the range is read from their depth)."""
    from worldgen.store import digest

    return digest(
        {
            "world": wd[0],
            "shot": shot_camera_path(shot),
            "size": [spec.render.width, spec.render.height],
            "fps": spec.render.fps,
            "backend": backend,
            "hits_model": HITS_MODEL,
        }
    )


def shot_depth_range(store, wd: tuple, shot, spec: Spec, backend: str, lazy, rig, n: int) -> tuple[float, float]:
    """The shot's depth range (its depth images' near/far), remembered in the store so that a
    render the store already holds needs no rasterizer at all."""
    key = depth_range_key(wd, shot, spec, backend)
    if store is not None and store.has(key, "depth-range.json"):
        return tuple(json.loads(store.path(key, "depth-range.json").read_text()))
    near_far = depth_range(lazy.raster(), rig, spec.render.fps, n)
    if store is not None:
        store.put(key, "depth-range.json", json.dumps(list(near_far)).encode())
    return near_far


def link_from_store(store, out: Path, keys: dict, paths: dict) -> bool:
    if not all(store.has(key, kind) for key, kind in keys.values()):
        return False
    for name, (key, kind) in keys.items():
        store.link(key, kind, out / paths[name])
    return True
