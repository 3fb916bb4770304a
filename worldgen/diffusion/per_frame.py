"""The per-frame diffusion painters, the baselines that worldgen's baked painters are measured
against: ControlNet text-to-image on every frame of the shot, conditioned on its exact passes.

- `per-frame`: from fresh noise every frame (what batch tools do).
- `fixed-seed`: the same, one seed for every frame.
- `anchored-noise`: per-frame text-to-image whose starting noise is anchored on the surfaces
  (worldgen.diffusion.noise), the noise the refining painters start from too."""

from __future__ import annotations

import numpy as np

from worldgen.control import view_control_images
from worldgen.diffusion.baked import (
    Counted,
    ShotAware,
    check_frame_size,
    diffusion_options,
    frame_prompt,
    hash_seed,
    models_for,
    painter_identity,
)
from worldgen.paint.base import Painter


class PerFramePainter(Counted, ShotAware, Painter):
    """ControlNet text-to-image on every frame: the baselines."""

    name = "per-frame"
    needs_model = True
    seed_rule = "fresh"  # fresh | fixed | anchored

    def __init__(self, world, raster, options: dict):
        self.world, self.spec = world, world.spec
        self.o = diffusion_options(world, options)
        check_frame_size(world, self.name)
        self.models = self.use_models(models_for(self.o))
        self.style = self.spec.style
        self._noise = None
        self.raster = raster

    def set_style(self, style: str):
        self.style = style

    def identity(self) -> dict:
        return painter_identity(self.name, self.o)

    def paint(self, view) -> np.ndarray:
        """The frame painted at the model's own resolution (its passes rasterized there) and
        resampled to the frame's size (worldgen.diffusion.models.paint_size)."""
        from worldgen.diffusion.models import resize

        self.frames_painted += 1
        w, h = view.cam.width, view.cam.height
        view = self.raster.view_at(view, *self.models.paint_size(w, h))
        control = view_control_images(self.world, view, self.models.kinds, self.near_far)
        seed = self.spec.seed
        latents = None
        if self.seed_rule == "fresh":
            seed = hash_seed(self.spec.seed, self.shot.id if self.shot else "", view.index)
        elif self.seed_rule == "anchored":
            latents = self.anchored_latents(view)
        image = self.models.text_to_image(frame_prompt(self.world, self.shot, self.style), control, None, seed, latents)
        return resize(image, w, h)

    def anchored_latents(self, view):
        """Unit-variance noise anchored on the surfaces. Not scaled here: the pipeline's
        `prepare_latents` multiplies given latents by the scheduler's `init_noise_sigma` itself
        (14.6 for SD's Euler schedulers, 1 for DDIM/PNDM), as it does its own random ones."""
        from worldgen.diffusion.noise import SurfaceNoise
        from worldgen.passes.snapshot import pixel_rays

        if self._noise is None:
            self._noise = SurfaceNoise(self.spec.seed, keys=list(self.world.nodes))
        pipe = self.models.pipe("txt2img")
        n = self._noise.latent_noise(
            view.hits.geom, view.surf.uv_img, pixel_rays(view.cam)[1], factor=pipe.vae_scale_factor
        )
        import torch

        return torch.from_numpy(n[None]).to(self.models.loaded.device, self.models.loaded.dtype)

    def stats(self) -> dict:
        return {**self.model_stats(), "frames": self.frames_painted}


class FixedSeedPainter(PerFramePainter):
    name = "fixed-seed"
    seed_rule = "fixed"


class AnchoredNoisePainter(PerFramePainter):
    name = "anchored-noise"
    seed_rule = "anchored"
