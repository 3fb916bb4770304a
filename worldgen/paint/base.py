"""The painter contract: what a render asks of a painter, and what it may leave as it is.

A render makes one painter per world (worldgen.paint.registry.make_painter), then for every
shot calls `set_style` and `begin_shot`, hands it the shot's frames in order through
`push_frame`, and closes the shot with `end_shot`; at the end it records `stats()` in the
manifest. `identity()` goes into every painted frame's content key, so the store never hands
out a frame another painter (or other options) made. Every hook but `paint` has a default that
suits a painter whose frames depend on their own passes only, so such a painter (the
procedural one, a plugin painting a flat colour) writes `paint` and nothing else; the render
package (worldgen.render) calls the hooks unconditionally instead of probing for them.

Class attributes declare what a render or the benchmark must know before (or without) making
the painter: `sequential` and `whole_shot` decide which frames a resumed render repaints and
how Ray splits a shot into tasks; `needs_model` (the painter evaluates a neural network: Ray
gives its tasks a GPU, the benchmark hands it `--model` and counts its evaluations) and
`uses_textures` (it paints textures once in look development, cached on disk: the benchmark
gives each such method a texture cache of its own, so its cost includes that work)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from worldgen.passes.sequence import FrameResult, FrameView, Rasterizer
    from worldgen.spec.models import Shot
    from worldgen.world import World

# what push_frame and end_shot hand back: each frame that is final, with its image
Finished = list[tuple["FrameResult", np.ndarray]]


class Painter(ABC):
    """Turns a frame's exact passes into a picture. Subclass it and write `paint`."""

    name: str = "painter"
    sequential: bool = False  # a frame needs the frame before it: resume repaints the shot up to it
    whole_shot: bool = False  # a frame needs later frames too: resume repaints the whole shot
    needs_model: bool = False  # evaluates a neural network (GPU tasks on Ray; bench counts evaluations)
    uses_textures: bool = False  # look development paints textures once, cached on disk

    def __init__(self, world: World, raster: Rasterizer | None = None, options: dict[str, Any] | None = None):
        """The constructor a registered Painter subclass is called with (see `create`):
        the world, the rasterizer (whose ray caster a painter may reuse) and the options
        (flags and the spec's painter settings)."""
        self.world = world
        self.raster = raster
        self.options = dict(options or {})

    @classmethod
    def create(cls, world: World, raster: Rasterizer | None, options: dict[str, Any]) -> Painter:
        """Make the painter registered under a name that points at this class. A class whose
        constructor takes other arguments, or that picks a subclass from its options, says so
        here."""
        return cls(world, raster, options)

    @classmethod
    def static_identity(cls, world: World, options: dict[str, Any]) -> dict[str, Any] | None:
        """`identity()` when it is known from the world and options alone, else None. A render
        that the store already holds then costs no rasterizer and no painter; painters whose
        identity needs their own state (textures painted in look development) leave it None."""
        return None

    def set_style(self, style: str) -> None:
        """The shot's style words (its own, or the film's); called before the shot's frames."""

    def prepare(self, shots: Sequence[Shot]) -> None:
        """Work done once per world before any frame (look development paints textures here),
        so that Ray's frame tasks, which make painters of their own, find it done."""

    def begin_shot(self, shot: Shot, near_far: tuple[float, float]) -> None:
        """A new shot starts: its spec and its depth range (for depth conditioning images).
        Painters that carry state from frame to frame reset it here."""

    @abstractmethod
    def paint(self, view: FrameView) -> np.ndarray:
        """uint8 sRGB frame (H, W, 3) from one frame's view (camera, hits, surfaces)."""

    def paint_frame(self, fr: FrameResult) -> np.ndarray:
        """One frame from its whole rasterized frame (`fr.view` and `fr.passes`, which hold
        the flow a painter that carries latents needs); by default `paint(fr.view)`."""
        return self.paint(fr.view)

    def push_frame(self, fr: FrameResult) -> Finished:
        """Take the next frame of the shot; return (frame, image) for every frame that is final
        now, in order. Painters that paint overlapping windows of frames together (video
        models) hold frames back until every window that covers them is painted; by default a
        frame is final at once."""
        return [(fr, self.paint_frame(fr))]

    def end_shot(self) -> Finished:
        """The shot's last frame was pushed: return (frame, image) for the frames still held."""
        return []

    def identity(self) -> dict[str, Any]:
        """What decides this painter's pixels, for the frame keys: change it and every frame
        is repainted. By default its name and options."""
        return {"name": self.name, "options": self.options}

    def stats(self) -> dict[str, Any]:
        """Cost counters (model evaluations, peak memory), recorded in the manifest when not
        empty and added up over Ray's tasks."""
        return {}
