"""Counting UNet and ControlNet evaluations and peak memory: what a film costs to paint.

Conventions (what one denoising step of a diffusers ControlNet pipeline adds):

* a *call* is one forward pass of one net. Classifier-free guidance is batched by diffusers:
  the unconditional and conditional halves go through the UNet in one call, so a guided
  step is 1 UNet call that evaluates 2 images per prompt.
* *images* count what was evaluated: the batch size of each call, summed. Without guidance,
  calls == images for one prompt and one image per prompt.
* each ControlNet is hooked on its own, so with k nets a step makes k ControlNet calls (a
  Multi-ControlNet runs its nets one after another). In guess mode the ControlNets see only
  the conditional half, which the image counts show and the call counts do not.

A step of a guided txt2img run with k ControlNets is therefore 1 UNet call (2 images) and k
ControlNet calls (2k images); img2img with strength s runs int(steps * s) steps.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass

import torch


@dataclass
class NetCount:
    calls: int = 0
    images: int = 0


class EvalCounter:
    """Forward pre-hooks on a pipeline's UNet and each of its ControlNets.

    `with EvalCounter(pipe) as counter: pipe(...)`, then read `counter.unet_calls` etc. The
    hooks only count; they never touch the tensors. `pipe` may also be a `LoadedBase`, whose
    ControlNet kinds then name the per-net counts in `counter.counts`."""

    def __init__(self, pipe):
        kinds = tuple(getattr(pipe, "kinds", ()))
        pipe = getattr(pipe, "pipe", pipe)
        self.device = getattr(pipe, "device", torch.device("cpu"))
        self.nets = {"unet": unet_of(pipe)} | dict(controlnets_of(pipe, kinds))
        self.handles = []
        self.counts: dict[str, NetCount] = {}
        self.reset()

    def __enter__(self) -> "EvalCounter":
        self.attach()
        return self

    def __exit__(self, *exc) -> None:
        self.detach()

    def attach(self) -> None:
        if self.handles:
            return
        for name, net in self.nets.items():
            self.handles.append(net.register_forward_pre_hook(self.counting_hook(name), with_kwargs=True))

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def reset(self) -> None:
        self.counts = {name: NetCount() for name in self.nets}

    def counting_hook(self, name: str):
        def hook(module, args, kwargs):
            sample = args[0] if args else kwargs.get("sample")
            self.counts[name].calls += 1
            self.counts[name].images += int(sample.shape[0]) if isinstance(sample, torch.Tensor) else 1

        return hook

    @property
    def unet_calls(self) -> int:
        return self.counts["unet"].calls

    @property
    def unet_images(self) -> int:
        return self.counts["unet"].images

    @property
    def controlnet_calls(self) -> int:
        return sum(c.calls for name, c in self.counts.items() if name != "unet")

    @property
    def controlnet_images(self) -> int:
        return sum(c.images for name, c in self.counts.items() if name != "unet")

    def totals(self) -> dict[str, int]:
        return {
            "unet_calls": self.unet_calls,
            "unet_images": self.unet_images,
            "controlnet_calls": self.controlnet_calls,
            "controlnet_images": self.controlnet_images,
        }

    def per_frame(self, n_frames: int) -> dict[str, float]:
        """Evaluations per painted frame, for `n_frames` frames painted while counting."""
        if n_frames <= 0:
            raise ValueError("n_frames must be positive")
        return {key: value / n_frames for key, value in self.totals().items()}

    def per_second(self, n_frames: int, fps: float) -> dict[str, float]:
        """Evaluations per second of finished film at `fps` frames per second."""
        if fps <= 0:
            raise ValueError("fps must be positive")
        return {key: value * fps for key, value in self.per_frame(n_frames).items()}

    def peak_memory_bytes(self) -> int:
        return peak_memory_bytes(self.device)


def unet_of(pipe):
    unet = getattr(pipe, "unet", None)
    if not isinstance(unet, torch.nn.Module):
        raise ValueError(f"{type(pipe).__name__} has no UNet to count")
    return unet


def controlnets_of(pipe, kinds: tuple[str, ...] = ()) -> list[tuple[str, torch.nn.Module]]:
    """(name, net) for each ControlNet; names are the kinds when known, else controlnet-<i>."""
    holder = getattr(pipe, "controlnet", None)
    if holder is None:
        return []
    nets = list(holder.nets) if hasattr(holder, "nets") else [holder]
    names = list(kinds) if len(kinds) == len(nets) else [f"controlnet-{i}" for i in range(len(nets))]
    return list(zip(names, nets))


def peak_memory_bytes(device: torch.device | str = "cpu") -> int:
    """Peak memory so far: allocated CUDA memory on a CUDA device (resettable with
    `reset_peak_memory`), else the process's resident-set high-water mark, which covers the
    whole process since it started and cannot be reset."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


def reset_peak_memory(device: torch.device | str = "cpu") -> None:
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
