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
        self.loaded = load_base(settings.base, settings.controlnets, settings.device, settings.dtype, settings.weights,
                                config=settings.config, attention_slicing=settings.attention_slicing,
                                cpu_offload=settings.cpu_offload)
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
            p = getattr(diffusers, name).from_pipe(self.loaded.pipe)
            p.set_progress_bar_config(disable=True)
            self._pipes[task] = p
        return p

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
        return dict(prompt=prompt, negative_prompt=getattr(s, "negative_prompt", None) or NEGATIVE,
                    num_inference_steps=steps or self.settings.steps,
                    guidance_scale=self.settings.guidance if guidance is None else guidance, output_type="np")

    def text_to_image(self, prompt: str, control: dict, s=None, seed: int = 0, latents=None) -> np.ndarray:
        h, w = next(iter(control.values())).shape[:2] if control else (512, 512)
        kw = self._common(prompt, getattr(s, "steps", None), getattr(s, "guidance", None), s)
        out = self.pipe("txt2img")(height=h, width=w, generator=self._generator(seed), latents=latents,
                                   **self._controls(control, "txt2img", (w, h)), **kw)
        return _to_uint8(out.images[0])

    def inpaint(self, prompt: str, image: np.ndarray, mask: np.ndarray, control: dict, s=None, seed: int = 0) -> np.ndarray:
        from PIL import Image
        h, w = image.shape[:2]
        kw = self._common(prompt, getattr(s, "steps", None), getattr(s, "guidance", None), s)
        out = self.pipe("inpaint")(image=Image.fromarray(image), mask_image=Image.fromarray((mask * 255).astype(np.uint8)),
                                   height=h, width=w, strength=1.0, generator=self._generator(seed),
                                   **self._controls(control, "inpaint", (w, h)), **kw)
        painted = _to_uint8(out.images[0])
        return np.where(mask[..., None], painted, image)  # the painted part is held exactly

    def image_to_image(self, prompt: str, image: np.ndarray, control: dict, strength: float, seed: int = 0,
                       steps: int | None = None, latents=None, callback=None) -> np.ndarray:
        from PIL import Image
        kw = self._common(prompt, steps, None)
        extra = {}
        if callback is not None:
            extra["callback_on_step_end"] = callback
            extra["callback_on_step_end_tensor_inputs"] = ["latents"]
        out = self.pipe("img2img")(image=Image.fromarray(image), strength=strength, generator=self._generator(seed),
                                   latents=latents, **self._controls(control, "img2img", image.shape[1::-1]), **kw,
                                   **extra)
        return _to_uint8(out.images[0])

    def totals(self) -> dict:
        c = self.counter
        return {"unet_evals": c.unet_calls, "unet_images": c.unet_images, "controlnet_evals": c.controlnet_calls,
                "controlnet_images": c.controlnet_images}

    def stats(self, since: dict | None = None) -> dict:
        """Evaluations (since `since`, an earlier `totals()`: one painter's share of shared
        models), peak memory, device and dtype."""
        now = self.totals()
        if since:
            now = {k: v - since.get(k, 0) for k, v in now.items()}
        return {**now, "peak_memory_bytes": int(peak_memory_bytes(self.loaded.device)),
                "device": str(self.loaded.device), "dtype": str(self.loaded.dtype).replace("torch.", "")}


def _to_uint8(x) -> np.ndarray:
    return np.clip(np.asarray(x) * 255 + 0.5, 0, 255).astype(np.uint8)
