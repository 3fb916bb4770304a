"""Walk a shot frame by frame and produce its passes, each frame rasterized once.

Flow needs the neighbours of each frame, so a three-frame window slides along the shot; the
frames just before the first and after the last (world and camera held at their ends) are
rasterized too, so every frame has both flows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from worldgen.camera import CameraFrame, ShotCamera, frame_count
from worldgen.passes.derive import PassFrame, Surface, flows_and_attributes, make_pass_frame, surface
from worldgen.passes.snapshot import Hits, Snapshot, SnapshotMaker


def make_backend(name: str, world):
    if name == "raycast":
        from worldgen.passes.raycast import RaycastBackend

        return RaycastBackend(world)
    if name == "gl":
        from worldgen.passes.gl import GLBackend

        return GLBackend(world)
    raise ValueError(f"unknown backend '{name}' (use raycast or gl)")


@dataclass
class FrameView:
    index: int
    time: float  # world time
    snap: Snapshot
    cam: CameraFrame
    hits: Hits
    surf: Surface


@dataclass
class FrameResult:
    view: FrameView
    passes: PassFrame


class Rasterizer:
    def __init__(self, world, backend: str = "raycast", with_local: bool = True):
        """`with_local=False` skips object-frame points, which only painters read."""
        self.world = world
        self.with_local = with_local
        self.backend = make_backend(backend, world)
        self.snapshots = SnapshotMaker(world)
        ids = list(world.nodes)
        self.moving = np.array([oid not in world.static_ids for oid in ids])
        self.instance_lut = np.array([world.nodes[o].instance for o in ids], np.uint16)
        self.semantic_lut = np.array([world.nodes[o].semantic for o in ids], np.uint16)
        self._static_snap = None

    def snapshot(self, t: float) -> Snapshot:
        if not self.moving.any():  # a world that never moves has one snapshot
            if self._static_snap is None:
                self._static_snap = self.snapshots(0.0)
            return self._static_snap
        return self.snapshots(t)

    def view(self, rig: ShotCamera, fps: float, i: int) -> FrameView:
        s = i / fps
        t = rig.shot.start + s
        snap = self.snapshot(t)
        cam = rig.at(s)
        hits = self.backend.hits(snap, cam)
        return FrameView(
            i, t, snap, cam, hits, surface(hits, snap, cam, self.instance_lut, self.semantic_lut, self.with_local)
        )

    def view_at(self, view: FrameView, width: int, height: int) -> FrameView:
        """The same frame (world time, camera pose and field of view) rasterized at another
        size: what a diffusion model paints at its own resolution before the picture is
        resampled to the frame's (pixel centres keep their places in the image)."""
        if (view.cam.width, view.cam.height) == (width, height):
            return view
        sx, sy = width / view.cam.width, height / view.cam.height
        k = view.cam.K.copy()
        k[0, 0], k[1, 1] = k[0, 0] * sx, k[1, 1] * sy
        k[0, 2], k[1, 2] = (k[0, 2] + 0.5) * sx - 0.5, (k[1, 2] + 0.5) * sy - 0.5
        cam = CameraFrame(k, view.cam.world_to_camera, width, height)
        hits = self.backend.hits(view.snap, cam)
        return FrameView(
            view.index,
            view.time,
            view.snap,
            cam,
            hits,
            surface(hits, view.snap, cam, self.instance_lut, self.semantic_lut, self.with_local),
        )

    def shot_frames(
        self, shot, width: int, height: int, fps: float, only: set[int] | None = None
    ) -> Iterator[FrameResult]:
        """Passes for every frame of a shot (or the frames in `only`), in order."""
        rig = ShotCamera(shot, self.world, width, height)
        n = frame_count(shot, fps)
        window: dict[int, FrameView] = {}
        for i in range(n):
            if only is not None and i not in only:
                continue
            for k in (i - 1, i, i + 1):
                if k not in window:
                    window[k] = self.view(rig, fps, k)
            for k in [k for k in window if k < i - 1]:
                del window[k]
            yield FrameResult(window[i], self.passes_of(window[i - 1], window[i], window[i + 1]))

    def passes_of(self, prev: FrameView, cur: FrameView, nxt: FrameView) -> PassFrame:
        fwd, bwd = flows_and_attributes(
            cur.surf,
            cur.snap,
            (nxt.snap, nxt.cam, nxt.hits),
            (prev.snap, prev.cam, prev.hits),
            self.moving,
            cur.hits,
            self.snapshots.deforming,
        )
        return make_pass_frame(cur.hits, cur.surf, fwd, bwd)
