"""The second refine backend: a video diffusion model (AnimateDiff motion adapter + ControlNet,
video-to-video) over overlapping windows of baked frames, across the whole shot.

The motion modules attend across the frames of one window (16, the context AnimateDiff was
trained on). A long shot is covered by overlapping windows of that full length, each window a
call of diffusers' AnimateDiffVideoToVideoControlNetPipeline:

- **Windows** (`window_plan`): as few full-length windows as cover the shot with at least
  `overlap` frames shared by neighbours, their starts spread evenly; the last window ends on
  the shot's last frame, so no window is short. A shot shorter than one window is padded with
  its last frame held (the padded frames are painted and dropped).
- **Seams**: the frames two windows share are blended at every denoising step. After each step
  of window k, its latents on the shared frames become w * (window k-1's latents at the same
  step) + (1 - w) * its own, w falling linearly from 1 (just after window k-1's unshared frames)
  to 0 (just before window k's own). Window k thus starts out on window k-1's trajectory and
  hands over gradually, and a shared frame is taken from window k, so at the boundary frames
  come from both windows (blended) rather than jumping from one to the other.
- **Noise**: each frame's starting noise is drawn from (seed, shot, frame index), so a frame
  starts from the same noisy latents in every window that holds it; the baked frame is encoded
  with the VAE (its mean) and noised to the strength's first timestep, as the pipeline does.
- **Scheduler**: the video pipeline has its own DDIM scheduler as AnimateDiff was trained and
  is run (linear betas 0.00085..0.012, clip_sample off, 'linspace' timesteps, steps_offset 1),
  not the base model's scaled-linear one, which is left as it is.
- **Prompt**: the shot's (its prompt and style), as every per-frame painter uses.
- **Memory**: frames stream through (one window's frames at a time, never the whole shot); with
  `cpu_offload` the video pipeline offloads as the base does (diffusers' model offload) instead
  of being moved to the device whole.

Why not diffusers' FreeNoise (`enable_free_noise`, in this diffusers too): it denoises the whole
shot in one call, the spatial layers and ControlNets over every frame at once, with every
frame's control images in memory; worldgen's shots stream frame by frame. The windows here
share noise and blend at every step as FreeNoise's windows do, one-sidedly (a window follows
the one before it).

Counted like every method: one UNet call here evaluates every frame of the window, so the
counts report image-equivalent evaluations (calls x window frames, padding included)."""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from worldgen.diffusion.models import NEGATIVE
from worldgen.control import view_control_images
from worldgen.diffusion.baked import (
    DEFAULT_REFINE,
    BakedPainter,
    baked_family,
    encode_image,
    frame_prompt,
    hash_seed,
    models_for,
)
from worldgen.paint.registry import PainterError

CHUNK = 16  # frames per window (AnimateDiff's trained context)
OVERLAP = 4  # frames neighbouring windows share at least
# the scheduler AnimateDiff's motion modules were trained with (and its inference configs use)
VIDEO_SCHEDULER = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="linear",
    clip_sample=False,
    timestep_spacing="linspace",
    steps_offset=1,
)


@dataclass(frozen=True)
class Window:
    """Frames [start, stop) of a shot painted together, padded to `size` with the last one;
    `blend[m]` is the weight of the previous window on frame start + m (the shared frames)."""

    start: int
    stop: int
    size: int
    blend: tuple[float, ...] = ()

    @property
    def pad(self) -> int:
        return self.size - (self.stop - self.start)


def window_plan(n: int, size: int, overlap: int) -> list[Window]:
    """Full-length windows over n frames (see the module doc)."""
    if size < 1 or not 0 <= overlap < size:
        raise PainterError(f"animatediff windows: chunk {size} and overlap {overlap} need 0 <= overlap < chunk")
    if n <= 0:
        return []
    if n <= size:
        return [Window(0, n, size)]
    stride = size - overlap
    k = -(-(n - size) // stride) + 1  # windows needed
    starts = [(i * (n - size) + (k - 1) // 2) // (k - 1) for i in range(k)]
    out = []
    for i, a in enumerate(starts):
        shared = out[-1].stop - a if out else 0
        out.append(Window(a, a + size, size, tuple((shared - m) / (shared + 1) for m in range(shared))))
    return out


def load_motion_adapter(ref: str, dtype):
    """A motion adapter from a folder or a cached hub id, safetensors only, offline."""
    from diffusers import MotionAdapter

    from worldgen.diffusion.loading import load_or_explain, local_folder, resolve_source

    source = resolve_source(
        ref, "motion adapter", "a motion adapter folder (config.json, diffusion_pytorch_model.safetensors)"
    )
    if source.kind == "file":
        raise PainterError(f"motion adapter '{ref}': give its diffusers folder or hub id, not a single file")
    folder = local_folder(source, "motion adapter", pipeline=False)
    return load_or_explain(
        lambda: MotionAdapter.from_pretrained(
            str(folder), torch_dtype=dtype, use_safetensors=True, local_files_only=True
        ),
        "motion adapter",
        ref,
    )


def video_scheduler(base_scheduler):
    """A DDIM scheduler of its own for the video pipeline (`VIDEO_SCHEDULER` over the base's
    config: prediction type and the like carry over)."""
    from diffusers import DDIMScheduler

    return DDIMScheduler.from_config(base_scheduler.config, **VIDEO_SCHEDULER)


class VideoRefinePainter(BakedPainter):
    name = "baked+animatediff"
    sequential = True  # a shot is painted in order, in one task
    whole_shot = True  # a frame depends on the frames after it too (the windows that hold it)

    @classmethod
    def create(cls, world, raster, options: dict):
        """`baked+animatediff`: video refinement at DEFAULT_REFINE unless a strength is given."""
        return baked_family(world, raster, options, DEFAULT_REFINE, "animatediff")

    def __init__(self, world, raster, options: dict):
        super().__init__(world, raster, options)
        self.strength = float(self.o.get("refine") or DEFAULT_REFINE)
        if not self.o.get("motion_adapter"):
            raise PainterError(
                "the animatediff refine backend needs --motion-adapter PATH_OR_ID "
                "(e.g. guoyww/animatediff-motion-adapter-v1-5-2)"
            )
        steps = int(self.o.get("steps", 20))
        if int(steps * self.strength) < 1:  # diffusers denoises int(steps * strength) steps of a video
            raise PainterError(
                f"baked+animatediff: {steps} steps at refine strength {self.strength:g} leave no "
                f"denoising step; give at least {math.ceil(1 / self.strength)} steps or a higher --refine"
            )
        self.chunk_size = int(self.o.get("chunk", CHUNK))
        self.overlap = int(self.o.get("overlap", min(OVERLAP, self.chunk_size // 4)))
        window_plan(self.chunk_size + 1, self.chunk_size, self.overlap)  # a bad chunk/overlap fails here, not mid-film
        self._video = None
        self._counter = None
        self._frames_in_calls = 0
        self._style = ""
        self.windows = 0  # windows painted (stats)
        self._plan, self._next, self._held, self._shared = [], 0, {}, None

    def set_style(self, style: str):
        super().set_style(style)
        self._style = style

    def _pipe(self):
        if self._video is None:
            from worldgen.diffusion.counting import EvalCounter
            from worldgen.diffusion.devices import apply_memory_options
            from worldgen.diffusion.models import from_pipe

            if self.models is None:
                self.models = self.use_models(models_for(self.o))
            if self.models.loaded.family != "sd15":
                raise PainterError("the animatediff refine backend runs on SD1.5-class models")
            import diffusers

            loaded, settings = self.models.loaded, self.models.settings
            adapter = load_motion_adapter(self.o["motion_adapter"], loaded.dtype)
            video = from_pipe(
                diffusers.AnimateDiffVideoToVideoControlNetPipeline,
                loaded.pipe,
                loaded.dtype,
                motion_adapter=adapter,
                scheduler=video_scheduler(loaded.pipe.scheduler),
            )
            if not settings.cpu_offload:
                video.to(loaded.device)
            apply_memory_options(
                video, settings.attention_slicing, settings.cpu_offload, loaded.device if settings.cpu_offload else None
            )
            video.set_progress_bar_config(disable=True)
            self._video = video
            self._counter = EvalCounter(self._video)
            self._counter.attach()
        return self._video

    # ---- a shot, frame by frame ------------------------------------------------------------------
    def begin_shot(self, shot, near_far):
        from worldgen.camera import frame_count

        super().begin_shot(shot, near_far)
        self._plan = window_plan(frame_count(shot, self.spec.render.fps), self.chunk_size, self.overlap)
        self._next, self._held, self._shared = 0, {}, None

    def push_frame(self, fr) -> list:
        """Take the next frame of the shot; return (frame, image) for every frame now final."""
        self._held[fr.view.index] = (
            fr,
            BakedPainter.paint(self, fr.view),
            view_control_images(self.world, fr.view, self._kinds(), self.near_far),
        )
        out = []
        while self._next < len(self._plan) and all(
            i in self._held for i in range(self._plan[self._next].start, self._plan[self._next].stop)
        ):
            out += self._paint_window(self._next)
            self._next += 1
        return out

    def end_shot(self) -> list:
        if self._next < len(self._plan):
            w = self._plan[self._next]
            missing = [i for i in range(w.start, w.stop) if i not in self._held]
            raise PainterError(
                f"shot '{self.shot.id}': the animatediff backend paints whole shots, and frames "
                f"{missing[:5]} did not come"
            )
        return []

    def _kinds(self):
        self._pipe()
        return self.models.kinds

    def _paint_window(self, k: int) -> list:
        import torch
        from PIL import Image

        pipe = self._pipe()
        w = self._plan[k]
        nxt = self._plan[k + 1] if k + 1 < len(self._plan) else None
        held = [self._held[i] for i in range(w.start, w.stop)]
        held += [held[-1]] * w.pad  # a short shot holds its last frame
        kinds, weights = self.models.kinds, list(self.models.loaded.weights)
        cond = [[Image.fromarray(c[kind]) for _, _, c in held] for kind in kinds]
        latents = self._start_latents(pipe, w, [b for _, b, _ in held])
        shared_before, record = self._shared, []
        keep_from = nxt.start - w.start if nxt is not None else None

        def on_step(p, i, t, kw):
            x = kw["latents"]
            if shared_before is not None and w.blend:
                m = len(w.blend)
                wt = torch.tensor(w.blend, device=x.device, dtype=x.dtype).view(1, 1, m, 1, 1)
                x = torch.cat([wt * shared_before[i] + (1 - wt) * x[:, :, :m], x[:, :, m:]], dim=2)
            if keep_from is not None:
                record.append(x[:, :, keep_from : w.stop - w.start].clone())
            return {"latents": x}

        h, wd = held[0][1].shape[:2]
        before = self._counter.unet_calls
        out = pipe(
            latents=latents,
            height=h,
            width=wd,
            conditioning_frames=cond[0] if len(kinds) == 1 else cond,
            controlnet_conditioning_scale=weights[0] if len(kinds) == 1 else weights,
            prompt=frame_prompt(self.world, self.shot, self._style or self.spec.style),
            negative_prompt=NEGATIVE,
            num_inference_steps=self.models.settings.steps,
            guidance_scale=self.models.settings.guidance,
            strength=self.strength,
            generator=torch.Generator().manual_seed(self.spec.seed + 1009 * w.start),
            output_type="latent",
            callback_on_step_end=on_step,
            callback_on_step_end_tensor_inputs=["latents"],
        )
        self._frames_in_calls += (self._counter.unet_calls - before) * w.size
        self._shared = record if nxt is not None else None
        self.windows += 1
        end = nxt.start if nxt is not None else w.stop  # frames no later window holds are final now
        with torch.no_grad():
            video = pipe.decode_latents(out.frames[:, :, : end - w.start])
        frames = pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
        done = []
        for i, f in zip(range(w.start, end), frames):
            done.append((self._held.pop(i)[0], np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8)))
        return done

    def _start_latents(self, pipe, w: Window, baked: list):
        """The noisy latents a window starts from: each frame's encoded baked image, noised to
        the first timestep of the strength with its own noise (the same in every window)."""
        import torch

        loaded = self.models.loaded
        device, dtype = pipe._execution_device, loaded.dtype
        steps = self.models.settings.steps
        with torch.no_grad():
            z0 = encode_image(pipe.vae, np.stack(baked), device, dtype)
            shot = self.shot.id if self.shot is not None else ""
            frames = list(range(w.start, w.stop)) + [w.stop - 1] * w.pad
            noise = torch.stack(
                [
                    torch.randn(
                        z0.shape[1:], generator=torch.Generator().manual_seed(hash_seed(self.spec.seed, shot, i))
                    )
                    for i in frames
                ]
            ).to(device, dtype)
            pipe.scheduler.set_timesteps(steps, device=device)
            timesteps, _ = pipe.get_timesteps(steps, pipe.scheduler.timesteps, self.strength, device)
            z = pipe.scheduler.add_noise(z0, noise, timesteps[:1])
        return z.permute(1, 0, 2, 3)[None]  # (1, C, frames, h, w)

    def stats(self) -> dict:
        s = super().stats()
        if self._counter is not None:
            s["video_unet_calls"] = self._counter.unet_calls
            s["video_controlnet_calls"] = self._counter.controlnet_calls
            s["unet_evals"] += self._frames_in_calls  # image-equivalent: each call evaluates the window's frames
            s["controlnet_evals"] += self._frames_in_calls * len(self.models.kinds)
            s["windows"] = self.windows
        return s
