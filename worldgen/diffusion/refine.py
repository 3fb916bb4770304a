"""Refinement: ControlNet img2img over each baked frame at low strength, consistent by
construction rather than by luck.

- The starting noise is anchored on the surfaces (worldgen.diffusion.noise): a surface point
  gets the same noise in every frame and shot, and the noise stays unit-variance white.
- The previous frame's refined latents are carried along the exact backward flow onto the
  pixels that were visible then (worldgen.diffusion.temporal.warp_latents) and replace the
  encoded baked frame there as the image to refine.
- Self-attention also attends to the shot's first frame (keyframe attention).

The denoising loop is written out (SD1.5-class models) so the noise and the carried latents
enter exactly where they must; every UNet and ControlNet call goes through the same modules
the evaluation counter watches."""
from __future__ import annotations

import numpy as np

from worldgen.diffusion.models import NEGATIVE
from worldgen.diffusion.painters import BakedPainter, frame_controls, frame_prompt, models_for
from worldgen.paint.registry import PainterError


class RefinePainter(BakedPainter):
    name = "baked+refine"
    sequential = True  # a frame needs the one before it (carried latents)

    def __init__(self, world, raster, options: dict):
        super().__init__(world, raster, options)
        self.strength = float(self.o.get("refine") or 0.3)
        self.carry = bool(self.o.get("carry", True))
        self.keyframe_attention = bool(self.o.get("keyframe_attention", True))
        self._noise = None
        self._prev = None
        self._attn = None

    def begin_shot(self, shot, near_far):
        super().begin_shot(shot, near_far)
        self._prev = None
        if self._attn is not None:
            self._attn.clear()

    def _ready(self):
        if self.models is None:
            self.models = self.use_models(models_for(self.o))
        if self.models.loaded.family != "sd15":
            raise PainterError("refinement runs on SD1.5-class models (an SDXL base can bake: use --painter baked)")
        if self._noise is None:
            from worldgen.diffusion.noise import SurfaceNoise
            self._noise = SurfaceNoise(self.spec.seed, keys=list(self.world.nodes))
        if self.keyframe_attention and self._attn is None:
            from worldgen.diffusion.temporal import install_keyframe_attention
            self._attn = install_keyframe_attention(self.models.pipe("img2img").unet)
        return self.models

    def paint_frame(self, fr) -> np.ndarray:
        import torch

        from worldgen.diffusion.temporal import warp_latents
        from worldgen.passes.snapshot import pixel_rays
        baked = BakedPainter.paint(self, fr.view)
        models = self._ready()
        pipe = models.pipe("img2img")
        view = fr.view
        factor = pipe.vae_scale_factor
        noise = self._noise.latent_noise(view.hits.geom, view.surf.uv_img, pixel_rays(view.cam)[1], factor=factor)
        noise = torch.from_numpy(noise[None]).to(models.loaded.device, models.loaded.dtype)
        carry = None
        if self.carry and self._prev is not None:
            carry = warp_latents(self._prev, fr.passes.flow_bwd, fr.passes.occlusion_bwd, factor=factor)
        if self._attn is not None:
            (self._attn.record if self._prev is None else self._attn.attend)()
        control = frame_controls(self.world, view, models.kinds, self.near_far)
        try:
            image, latents = refine_image(models, baked, frame_prompt(self.world, self.shot, self.style_text()),
                                          control, self.strength, noise, carry)
        finally:  # the UNet is shared (look development, other painters, a next render): keyframe
            if self._attn is not None:  # attention acts on this painter's refinement calls only
                self._attn.off()
        self._prev = latents
        return image

    def style_text(self) -> str:
        return getattr(self, "_style", "") or self.spec.style

    def set_style(self, style: str):
        super().set_style(style)
        self._style = style


def refine_image(models, image: np.ndarray, prompt: str, control: dict, strength: float, noise, carry=None,
                 steps: int | None = None):
    """One img2img refinement: (uint8 image, final latents (1, 4, h, w))."""
    import torch
    pipe = models.pipe("img2img")
    device, dtype = models.loaded.device, models.loaded.dtype
    steps = steps or models.settings.steps
    guidance = models.settings.guidance
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt(prompt, device, 1, True, NEGATIVE)
        emb = torch.cat([uncond, cond])
        x = torch.from_numpy(image).to(device, dtype).permute(2, 0, 1)[None] / 127.5 - 1.0
        sf = pipe.vae.config.scaling_factor
        z0 = pipe.vae.encode(x).latent_dist.mean * sf
        if carry is not None:
            warped, mask = carry
            z0 = mask.to(dtype) * warped.to(dtype) + (1 - mask.to(dtype)) * z0
        sched = pipe.scheduler
        sched.set_timesteps(steps, device=device)
        n_run = min(max(int(round(steps * strength)), 1), steps)
        timesteps = sched.timesteps[(steps - n_run) * sched.order:]
        lat = sched.add_noise(z0, noise, timesteps[:1])
        conds, scales = _control_tensors(models, control, device, dtype)
        for t in timesteps:
            xin = sched.scale_model_input(torch.cat([lat, lat]), t)
            down, mid = pipe.controlnet(xin, t, encoder_hidden_states=emb, controlnet_cond=conds,
                                        conditioning_scale=scales, return_dict=False)
            eps = pipe.unet(xin, t, encoder_hidden_states=emb, down_block_additional_residuals=down,
                            mid_block_additional_residual=mid).sample
            eu, ec = eps.chunk(2)
            lat = sched.step(eu + guidance * (ec - eu), t, lat).prev_sample
        img = pipe.vae.decode(lat / sf).sample
    out = ((img[0].float().clamp(-1, 1) + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return out, lat


def _control_tensors(models, control: dict, device, dtype):
    """Control images as the ControlNets take them: (2, 3, H, W) in [0, 1] (one per CFG half)."""
    import torch
    tensors = []
    for k in models.kinds:
        c = torch.from_numpy(control[k]).to(device, dtype).permute(2, 0, 1)[None] / 255.0
        tensors.append(torch.cat([c, c]))
    scales = list(models.loaded.weights)
    if len(tensors) == 1:
        return tensors[0], scales[0]
    return tensors, scales
