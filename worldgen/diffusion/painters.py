"""The diffusion painters by name: worldgen.paint.registry imports this module when a render
asks for one of them, and this module only gathers them (each lives in a module of its own) and
enters the refining members of the baked family in `baked.REFINE_BACKENDS`.

- `baked` (also `diffusion`): look development paints every object's texture once; every
  frame is then the rasterised textured world under the spec's lights (worldgen.diffusion.baked).
- `baked+refine` (or `diffusion` with `refine` > 0): the baked frame, refined by ControlNet
  img2img at low strength with noise anchored on the surfaces, the previous frame's latents
  carried along the exact flow, and attention extended to the shot's first frame
  (worldgen.diffusion.refine).
- `baked+animatediff` (or `diffusion` with refine_backend animatediff): refinement by a video
  model over chunks of frames (worldgen.diffusion.video_refine).
- `per-frame`, `fixed-seed`, `anchored-noise`: the baselines, ControlNet text-to-image on
  every frame (worldgen.diffusion.per_frame).

Options (`RenderOptions.painter_options`, CLI flags, or the spec's `render.diffusion` block):
base, controlnets {kind: ref}, weights {kind: scale}, device, dtype, steps, guidance, refine, carry_weight,
texture_size, part_texture_size, view_size, views, cache, lighting (lit | unlit),
attention_slicing, cpu_offload, refine_backend (img2img | animatediff), motion_adapter."""

from __future__ import annotations

from worldgen.diffusion.baked import REFINE_BACKENDS, BakedPainter
from worldgen.diffusion.per_frame import AnchoredNoisePainter, FixedSeedPainter, PerFramePainter
from worldgen.diffusion.refine import RefinePainter
from worldgen.diffusion.video_refine import VideoRefinePainter

REFINE_BACKENDS.update({"img2img": RefinePainter, "animatediff": VideoRefinePainter})

__all__ = [
    "AnchoredNoisePainter",
    "BakedPainter",
    "FixedSeedPainter",
    "PerFramePainter",
    "RefinePainter",
    "VideoRefinePainter",
]
