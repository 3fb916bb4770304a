"""Refinement: ControlNet img2img over each baked frame at low strength, consistent by
construction rather than by luck.

- The starting noise is anchored on the surfaces (worldgen.diffusion.noise): a surface point
  gets the same noise in every frame and shot, and the noise stays unit-variance white.
- What refinement added to the previous frame is carried along the exact backward flow: the
  image entering frame n is `E(baked_n) + gamma * mask * warp(z_{n-1} - E(baked_{n-1}))`, the
  encoded baked frame plus a share gamma < 1 (`carry_weight`) of the previous frame's residual,
  on the latent pixels whose surface was visible then (worldgen.diffusion.temporal.warp_latents;
  the mask is feathered). Carrying the refined latents themselves instead would put a still
  pixel of frame n through n img2img passes (saturation and invented detail build up) and
  discard what changes in the baked frame (moving shadows, animated shading); here every frame
  starts from its own baked frame, and the carried part of frame n-k is weighted gamma^k.
- Self-attention also attends to the shot's first frame (keyframe attention); its processors
  are on the shared UNet only while this painter's frame is denoised.

The denoising loop is written out (SD1.5-class models) so the noise and the carried latents
enter exactly where they must; it follows diffusers' img2img pipeline (timesteps from the
strength, `set_begin_index`, the generator and eta handed to `scheduler.step`), and every UNet
and ControlNet call goes through the same modules the evaluation counter watches."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from worldgen.diffusion.models import NEGATIVE
from worldgen.control import view_control_images
from worldgen.diffusion.baked import DEFAULT_REFINE, BakedPainter, baked_family, encode_image, frame_prompt, models_for
from worldgen.paint.registry import PainterError

CARRY_WEIGHT = 0.5  # gamma: the share of the previous frame's residual carried into the next


class RefinePainter(BakedPainter):
    name = "baked+refine"
    sequential = True  # a frame needs the one before it (carried latents)

    @classmethod
    def create(cls, world, raster, options: dict):
        """`baked+refine`: refinement at DEFAULT_REFINE unless a strength is given."""
        return baked_family(world, raster, options, DEFAULT_REFINE, "img2img")

    def __init__(self, world, raster, options: dict):
        super().__init__(world, raster, options)
        self.strength = float(self.o.get("refine") or DEFAULT_REFINE)
        self.carry_weight = float(self.o.get("carry_weight", CARRY_WEIGHT)) if self.o.get("carry", True) else 0.0
        if not 0.0 <= self.carry_weight <= 1.0:
            raise PainterError(f"carry_weight {self.carry_weight} must be between 0 and 1")
        self.keyframe_attention = bool(self.o.get("keyframe_attention", True))
        self._noise = None
        self._prev = None  # the previous frame's residual z - E(baked), (1, 4, h, w)
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
            from worldgen.diffusion.temporal import KeyframeAttention

            self._attn = KeyframeAttention()
        return self.models

    def _attention(self, unet):
        """Keyframe attention for this frame only: installed now, the originals back after."""
        if self._attn is None:
            return nullcontext()
        from worldgen.diffusion.temporal import keyframe_attention

        (self._attn.record if self._prev is None else self._attn.attend)()
        return keyframe_attention(unet, self._attn)

    def paint_frame(self, fr) -> np.ndarray:
        import torch

        from worldgen.diffusion.temporal import feather, warp_latents
        from worldgen.passes.snapshot import pixel_rays

        baked = BakedPainter.paint(self, fr.view)
        models = self._ready()
        pipe = models.pipe("img2img")
        view = fr.view
        factor = pipe.vae_scale_factor
        noise = self._noise.latent_noise(view.hits.geom, view.surf.uv_img, pixel_rays(view.cam)[1], factor=factor)
        noise = torch.from_numpy(noise[None]).to(models.loaded.device, models.loaded.dtype)
        carry = None
        if self.carry_weight > 0 and self._prev is not None:
            warped, mask = warp_latents(
                self._prev, fr.passes.flow_bwd, fr.passes.occlusion_bwd, factor=factor, surface=fr.passes.instance
            )
            carry = (warped, self.carry_weight * feather(mask))
        control = view_control_images(self.world, view, models.kinds, self.near_far)
        generator = torch.Generator(device="cpu").manual_seed(self.spec.seed)
        with self._attention(pipe.unet):
            image, latents, encoded = refine_image(
                models,
                baked,
                frame_prompt(self.world, self.shot, self.style_text()),
                control,
                self.strength,
                noise,
                carry,
                generator=generator,
            )
        self._prev = latents - encoded
        return image

    def style_text(self) -> str:
        return getattr(self, "_style", "") or self.spec.style

    def set_style(self, style: str):
        super().set_style(style)
        self._style = style


def refine_image(
    models,
    image: np.ndarray,
    prompt: str,
    control: dict,
    strength: float,
    noise,
    carry=None,
    steps: int | None = None,
    generator=None,
    eta: float = 0.0,
):
    """One img2img refinement: (uint8 image, final latents (1, 4, h, w), the image's encoding).

    `carry` is (residual, weight): the latents that enter are `E(image) + weight * residual`
    (weight (1, 1, h, w), 0 where nothing is carried). `generator` and `eta` go to the
    scheduler's step where it takes them (ancestral and SDE samplers draw noise every step), as
    diffusers' pipelines do, so a stochastic scheduler reproduces its frames."""
    import torch

    pipe = models.pipe("img2img")
    device, dtype = models.loaded.device, models.loaded.dtype
    steps = steps or models.settings.steps
    guidance = models.settings.guidance
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt(prompt, device, 1, True, NEGATIVE)
        emb = torch.cat([uncond, cond])
        sf = pipe.vae.config.scaling_factor
        encoded = encode_image(pipe.vae, image, device, dtype)
        z0 = encoded
        if carry is not None:
            residual, weight = carry
            z0 = encoded + weight.to(dtype) * residual.to(dtype)
        sched = pipe.scheduler
        sched.set_timesteps(steps, device=device)
        n_run = min(max(int(round(steps * strength)), 1), steps)
        start = (steps - n_run) * sched.order
        timesteps = sched.timesteps[start:]
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(start)
        lat = sched.add_noise(z0, noise, timesteps[:1])
        conds, scales = _control_tensors(models, control, device, dtype)
        extra = pipe.prepare_extra_step_kwargs(generator, eta)  # what its scheduler.step takes of the two
        for t in timesteps:
            xin = sched.scale_model_input(torch.cat([lat, lat]), t)
            down, mid = pipe.controlnet(
                xin, t, encoder_hidden_states=emb, controlnet_cond=conds, conditioning_scale=scales, return_dict=False
            )
            eps = pipe.unet(
                xin,
                t,
                encoder_hidden_states=emb,
                down_block_additional_residuals=down,
                mid_block_additional_residual=mid,
            ).sample
            eu, ec = eps.chunk(2)
            lat = sched.step(eu + guidance * (ec - eu), t, lat, **extra).prev_sample
        img = pipe.vae.decode(lat / sf).sample
    out = ((img[0].float().clamp(-1, 1) + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return out, lat, encoded


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
