"""The second refine backend: a video diffusion model (AnimateDiff motion adapter + ControlNet,
video-to-video) over chunks of baked frames. The motion modules attend across the frames of a
chunk, so refinement is shared by the frames it spans. Chunks are refined independently (each
from the same baked world, so they agree where the strength leaves the baked frame alone);
a change of refinement at a chunk border is possible and is what the consistency benchmark
measures.

Counted like every method: one UNet call here evaluates every frame of the chunk, so the
counts report image-equivalent evaluations (calls x frames)."""
from __future__ import annotations

import numpy as np

from worldgen.diffusion.models import NEGATIVE
from worldgen.diffusion.painters import BakedPainter, frame_controls, frame_prompt
from worldgen.paint.registry import PainterError

CHUNK = 16  # frames per video-diffusion call (AnimateDiff's trained context)


def load_motion_adapter(ref: str, dtype):
    """A motion adapter from a folder or a cached hub id, safetensors only, offline."""
    from diffusers import MotionAdapter

    from worldgen.diffusion.loading import load_or_explain, local_folder, resolve_source
    source = resolve_source(ref, "motion adapter", "a motion adapter folder (config.json, diffusion_pytorch_model.safetensors)")
    if source.kind == "file":
        raise PainterError(f"motion adapter '{ref}': give its diffusers folder or hub id, not a single file")
    folder = local_folder(source, "motion adapter", pipeline=False)
    return load_or_explain(lambda: MotionAdapter.from_pretrained(str(folder), torch_dtype=dtype, use_safetensors=True,
                                                                local_files_only=True), "motion adapter", ref)


class VideoRefinePainter(BakedPainter):
    name = "baked+animatediff"
    sequential = True
    chunk_size = CHUNK

    def __init__(self, world, raster, options: dict):
        super().__init__(world, raster, options)
        self.strength = float(self.o.get("refine") or 0.3)
        if not self.o.get("motion_adapter"):
            raise PainterError("the animatediff refine backend needs --motion-adapter PATH_OR_ID "
                               "(e.g. guoyww/animatediff-motion-adapter-v1-5-2)")
        self.chunk_size = int(self.o.get("chunk", CHUNK))
        self._video = None
        self._counter = None
        self._frames_in_calls = 0

    def _pipe(self):
        if self._video is None:
            from worldgen.diffusion.counting import EvalCounter
            from worldgen.diffusion.painters import models_for
            if self.models is None:
                self.models = self.use_models(models_for(self.o))
            if self.models.loaded.family != "sd15":
                raise PainterError("the animatediff refine backend runs on SD1.5-class models")
            import diffusers
            adapter = load_motion_adapter(self.o["motion_adapter"], self.models.loaded.dtype)
            self._video = diffusers.AnimateDiffVideoToVideoControlNetPipeline.from_pipe(self.models.loaded.pipe,
                                                                                       motion_adapter=adapter)
            self._video.to(self.models.loaded.device)
            self._video.set_progress_bar_config(disable=True)
            self._counter = EvalCounter(self._video)
            self._counter.attach()
        return self._video

    def paint_chunk(self, frames) -> list[np.ndarray]:
        """Refine a run of consecutive frames of one shot together."""
        import torch
        from PIL import Image
        pipe = self._pipe()
        baked = [BakedPainter.paint(self, fr.view) for fr in frames]
        controls = [frame_controls(self.world, fr.view, self.models.kinds, self.near_far) for fr in frames]
        kinds = self.models.kinds
        cond = [[Image.fromarray(c[k]) for c in controls] for k in kinds]
        weights = list(self.models.loaded.weights)
        seed = self.spec.seed + 1009 * frames[0].view.index
        before = self._counter.unet_calls
        h, w = baked[0].shape[:2]
        out = pipe(video=[Image.fromarray(b) for b in baked], height=h, width=w, conditioning_frames=cond[0] if len(kinds) == 1 else cond,
                   controlnet_conditioning_scale=weights[0] if len(kinds) == 1 else weights,
                   prompt=frame_prompt(self.world, self.shot, self.spec.style), negative_prompt=NEGATIVE,
                   num_inference_steps=self.models.settings.steps, guidance_scale=self.models.settings.guidance,
                   strength=self.strength, generator=torch.Generator().manual_seed(seed), output_type="np")
        self._frames_in_calls += (self._counter.unet_calls - before) * len(frames)
        video = np.asarray(out.frames)[0]
        return [np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8) for f in video]

    def stats(self) -> dict:
        s = super().stats()
        if self._counter is not None:
            s["video_unet_calls"] = self._counter.unet_calls
            s["video_controlnet_calls"] = self._counter.controlnet_calls
            s["unet_evals"] += self._frames_in_calls  # image-equivalent: each call evaluates the chunk's frames
            s["controlnet_evals"] += self._frames_in_calls * len(self.models.kinds)
        return s
