"""The local executor: the planned frames of every shot computed in this process, in order."""

from __future__ import annotations

from pathlib import Path

from worldgen.render.frames import LazyTools, compute_frames
from worldgen.render.options import RenderOptions
from worldgen.spec.models import Spec


def render_locally(
    world, tools: LazyTools, spec: Spec, plans: list, out: Path, opt: RenderOptions, people: bool, store, on_frame
) -> None:
    """Compute each shot's `todo` frames here; `plans` holds (shot, todo, near_far, keys) per shot."""
    for shot, todo, near_far, keys in plans:
        compute_frames(world, tools, spec, shot, todo, near_far, keys, out, opt, people, store, on_frame)
