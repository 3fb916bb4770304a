"""Ground truth on demand: the renderer's own frame for a shot and frame index, beside the preview.

The page's picture is a quick WebGL drawing; this is what `worldgen render` makes for the same
moment: the procedural painter's frame over the exact passes, with the depth and segmentation
images derived from those passes (worldgen.control). The depth image is scaled to this one
frame's depth range (a render scales it to the whole shot's), so near is bright here too.
Rendering a frame needs the rasterizer's scene of the world, which is built once per world
version and reused by later requests."""

from __future__ import annotations

import base64
import threading
import time

import numpy as np

from worldgen.errors import WorldgenError

PAINTER = "procedural"  # weights-free, deterministic: the one painter a preview can always run


class FrameRenderer:
    """Renders single frames of one built world; one request at a time."""

    def __init__(self, spec, world):
        self.spec, self.world = spec, world
        self._raster = None
        self._lock = threading.Lock()

    def _rasterizer(self):
        if self._raster is None:
            from worldgen.passes.sequence import Rasterizer

            self._raster = Rasterizer(self.world, self.spec.render.backend)
        return self._raster

    def render(self, shot_id: str, index: int) -> dict:
        """{shot, frame, time, painter, seconds, images: {frame, depth, segmentation} as PNG data URLs}."""
        from worldgen.camera import frame_count

        shots = {s.id: s for s in self.spec.shots}
        if shot_id not in shots:
            raise WorldgenError(f"no shot '{shot_id}' (shots: {', '.join(shots)})")
        shot = shots[shot_id]
        r = self.spec.render
        n = frame_count(shot, r.fps)
        if not 0 <= index < n:
            raise WorldgenError(f"shot '{shot_id}' has frames 0-{n - 1}, not {index}")
        with self._lock:
            t0 = time.perf_counter()
            images = self._render(shot, index)
            seconds = time.perf_counter() - t0
        from worldgen.io import png_bytes

        urls = {k: "data:image/png;base64," + base64.b64encode(png_bytes(v)).decode("ascii") for k, v in images.items()}
        return {
            "shot": shot_id,
            "frame": index,
            "time": shot.start + index / r.fps,
            "painter": PAINTER,
            "seconds": round(seconds, 3),
            "images": urls,
        }

    def _render(self, shot, index: int) -> dict[str, np.ndarray]:
        from worldgen import control
        from worldgen.paint.registry import make_painter

        raster = self._rasterizer()
        r = self.spec.render
        fr = next(iter(raster.shot_frames(shot, r.width, r.height, r.fps, only={index})))
        depth = fr.passes.depth
        finite = depth[np.isfinite(depth)]
        near, far = (float(finite.min()), float(finite.max())) if finite.size else (0.1, 100.0)
        far = max(far, near * 1.001)
        painter = make_painter(PAINTER, self.world, raster, {})
        painter.set_style(shot.style or self.spec.style)
        painter.begin_shot(shot, (near, far))
        painted = [img for _, img in painter.push_frame(fr)] + [img for _, img in painter.end_shot()]
        return {
            "frame": painted[0],
            "depth": control.depth_image(depth, near, far),
            "segmentation": control.segmentation_image(fr.passes.semantic, control.world_label_colours(self.world)),
        }
