"""The diffusion calls painters make, on one loaded model: text-to-image, inpainting and
image-to-image with ControlNets, all sharing the same UNet/VAE/ControlNets (loaded once) and
one evaluation counter, so cost is counted the same way for every method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worldgen.diffusion.counting import EvalCounter, peak_memory_bytes

INPAINT = {"sd15": "StableDiffusionControlNetInpaintPipeline", "sdxl": "StableDiffusionXLControlNetInpaintPipeline"}
IMG2IMG = {"sd15": "StableDiffusionControlNetImg2ImgPipeline", "sdxl": "StableDiffusionXLControlNetImg2ImgPipeline"}
NEGATIVE = "blurry, low quality, text, watermark, frame, border, deformed"


@dataclass
class DiffusionSettings:
    base: str  # PATH_OR_ID of an SD1.5- or SDXL-class model
    controlnets: dict  # kind -> PATH_OR_ID
    weights: dict | None = None  # kind -> conditioning scale
    device: str = "auto"
    dtype: str = "auto"
    steps: int = 20
    guidance: float = 7.5
    attention_slicing: bool = False
    cpu_offload: bool = False
    config: str | None = None  # diffusers configs for a single-file base


class DiffusionModels:
    def __init__(self, settings: DiffusionSettings):
        from worldgen.compat import torchvision_importable

        torchvision_importable()
        from worldgen.diffusion.loading import load_base

        self.settings = settings
        self.loaded = load_base(
            settings.base,
            settings.controlnets,
            settings.device,
            settings.dtype,
            settings.weights,
            config=settings.config,
            attention_slicing=settings.attention_slicing,
            cpu_offload=settings.cpu_offload,
        )
        self.kinds = self.loaded.kinds
        self.counter = EvalCounter(self.loaded)
        self.counter.attach()
        self._pipes = {"txt2img": self.loaded.pipe}

    def pipe(self, task: str):
        """txt2img as loaded; inpaint and img2img made from the same components (no copies)."""
        p = self._pipes.get(task)
        if p is None:
            import diffusers

            name = {"inpaint": INPAINT, "img2img": IMG2IMG}[task][self.loaded.family]
            p = from_pipe(getattr(diffusers, name), self.loaded.pipe, self.loaded.dtype)
            p.set_progress_bar_config(disable=True)
            self._pipes[task] = p
        return p

    @property
    def latent_factor(self) -> int:
        """Image pixels per latent pixel, per side (the VAE's downsampling: 8)."""
        return int(self.loaded.pipe.vae_scale_factor)

    @property
    def native_size(self) -> int:
        """The side of the square images the model was trained on: its UNet's sample size times
        the VAE factor, which is also diffusers' default height and width (512 for SD1.5, 1024
        for SDXL, 64 for the tiny test models)."""
        return int(self.loaded.pipe.unet.config.sample_size) * self.latent_factor

    def paint_size(self, width: int, height: int) -> tuple[int, int]:
        """The size to paint a width x height image at (see `paint_size`)."""
        return paint_size(width, height, self.native_size, self.latent_factor)

    def _generator(self, seed: int):
        import torch

        return torch.Generator(device="cpu").manual_seed(int(seed) % (2**63))

    def _controls(self, control: dict, task: str, size) -> dict:
        from PIL import Image

        images = {k: Image.fromarray(v) for k, v in control.items()}
        kw = self.loaded.control_kwargs(images)
        if task != "txt2img" and "image" in kw:
            kw["control_image"] = kw.pop("image")
        return kw

    def _common(self, prompt: str, steps: int | None, guidance: float | None, s=None):
        """Call arguments every task shares; `s` (look-development settings) may carry its own
        negative prompt (`negative_prompt`)."""
        return dict(
            prompt=prompt,
            negative_prompt=getattr(s, "negative_prompt", None) or NEGATIVE,
            num_inference_steps=steps or self.settings.steps,
            guidance_scale=self.settings.guidance if guidance is None else guidance,
            output_type="np",
        )

    def text_to_image(self, prompt: str, control: dict, s=None, seed: int = 0, latents=None) -> np.ndarray:
        h, w = next(iter(control.values())).shape[:2] if control else (512, 512)
        kw = self._common(prompt, getattr(s, "steps", None), getattr(s, "guidance", None), s)
        out = self.pipe("txt2img")(
            height=h,
            width=w,
            generator=self._generator(seed),
            latents=latents,
            **self._controls(control, "txt2img", (w, h)),
            **kw,
        )
        return _to_uint8(out.images[0])

    def inpaint(
        self, prompt: str, image: np.ndarray, mask: np.ndarray, control: dict, s=None, seed: int = 0
    ) -> np.ndarray:
        from PIL import Image

        h, w = image.shape[:2]
        kw = self._common(prompt, getattr(s, "steps", None), getattr(s, "guidance", None), s)
        out = self.pipe("inpaint")(
            image=Image.fromarray(image),
            mask_image=Image.fromarray((mask * 255).astype(np.uint8)),
            height=h,
            width=w,
            strength=1.0,
            generator=self._generator(seed),
            **self._controls(control, "inpaint", (w, h)),
            **kw,
        )
        painted = _to_uint8(out.images[0])
        return np.where(mask[..., None], painted, image)  # the painted part is held exactly

    def image_to_image(
        self,
        prompt: str,
        image: np.ndarray,
        control: dict,
        strength: float,
        seed: int = 0,
        steps: int | None = None,
        latents=None,
        callback=None,
    ) -> np.ndarray:
        from PIL import Image

        kw = self._common(prompt, steps, None)
        extra = {}
        if callback is not None:
            extra["callback_on_step_end"] = callback
            extra["callback_on_step_end_tensor_inputs"] = ["latents"]
        out = self.pipe("img2img")(
            image=Image.fromarray(image),
            strength=strength,
            generator=self._generator(seed),
            latents=latents,
            **self._controls(control, "img2img", image.shape[1::-1]),
            **kw,
            **extra,
        )
        return _to_uint8(out.images[0])

    def totals(self) -> dict:
        c = self.counter
        return {
            "unet_evals": c.unet_calls,
            "unet_images": c.unet_images,
            "controlnet_evals": c.controlnet_calls,
            "controlnet_images": c.controlnet_images,
        }

    def stats(self, since: dict | None = None) -> dict:
        """Evaluations (since `since`, an earlier `totals()`: one painter's share of shared
        models), peak memory, device and dtype."""
        now = self.totals()
        if since:
            now = {k: v - since.get(k, 0) for k, v in now.items()}
        return {
            **now,
            "peak_memory_bytes": int(peak_memory_bytes(self.loaded.device)),
            "device": str(self.loaded.device),
            "dtype": str(self.loaded.dtype).replace("torch.", ""),
        }


def paint_size(width: int, height: int, native: int, multiple: int = 8, tolerance: float = 2.5) -> tuple[int, int]:
    """A model paints well near the pixel count it was trained at (native x native) and poorly
    far from it (SDXL at 512 x 512 gives mush; SD1.5 at 1920 x 1080 repeats its subjects). An
    image whose pixel count is within `tolerance` times of native^2 is painted at its own size
    (2.5: SD1.5 at 768 x 768, SDXL at 768 x 768 are used and fine);
    another is painted at its aspect ratio scaled to native^2 pixels, each side a multiple of
    the VAE factor, and resampled to its size afterwards."""
    area, target = width * height, native * native
    if target / tolerance <= area <= target * tolerance:
        return width, height
    s = (target / area) ** 0.5
    return (
        max(multiple, int(round(width * s / multiple)) * multiple),
        max(multiple, int(round(height * s / multiple)) * multiple),
    )


def from_pipe(cls, pipe, dtype, **components):
    """`cls.from_pipe(pipe, **components)` sharing the same modules in their dtype: recent
    diffusers cast the new pipeline (so the shared UNet, VAE and ControlNets) to float32 unless
    a dtype is given, which breaks (or doubles the memory of) an fp16/bf16 model."""
    import warnings

    with warnings.catch_warnings():  # `torch_dtype` works in every diffusers since 0.30 (newer ones prefer `dtype`)
        warnings.simplefilter("ignore", FutureWarning)
        return cls.from_pipe(pipe, torch_dtype=dtype, **components)


def resize(image: np.ndarray, width: int, height: int, nearest: bool = False) -> np.ndarray:
    """An HxWx3 uint8 image resampled to width x height (Lanczos, or nearest for label maps)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.NEAREST if nearest else Image.LANCZOS))


def _to_uint8(x) -> np.ndarray:
    return np.clip(np.asarray(x) * 255 + 0.5, 0, 255).astype(np.uint8)
