"""Carrying a shot's latents from frame to frame: warping along the exact flow, and
cross-frame ('keyframe') attention.

Latent pixel convention: latent pixel (i, j) covers image pixels [factor*i, factor*i + factor)
x [factor*j, factor*j + factor) (rows, columns); image pixel centres are at integer coordinates
(as in the passes), so the latent pixel's centre is at image coordinates
(x, y) = (factor*j + (factor-1)/2, factor*i + (factor-1)/2), e.g. (3.5, 3.5) for (0, 0) at factor
8. An image displacement d is therefore a latent displacement d / factor, and the image border
(-0.5 .. W-0.5) is the latent border (-0.5 .. w-0.5).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F


# --- warping latents along the flow ------------------------------------------------------------


def footprints(image: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, ...) -> (h, w, factor*factor, ...): the image pixels of each latent pixel."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].reshape(h, factor, w, factor, *image.shape[2:])
    return np.moveaxis(blocks, 2, 1).reshape(h, w, factor * factor, *image.shape[2:])


def centre_pixels(factor: int) -> np.ndarray:
    """Indices, within a flattened footprint, of the pixel(s) nearest its centre (1 or 2x2)."""
    mid = [(factor - 1) // 2, factor // 2]
    rows, cols = np.meshgrid(sorted(set(mid)), sorted(set(mid)), indexing="ij")
    return (rows * factor + cols).ravel()


def latent_flow(
    flow: np.ndarray, occlusion: np.ndarray, factor: int, min_visible: float, surface: np.ndarray | None = None
):
    """Per latent pixel: the flow it moves with, and whether it can be carried over: its centre
    pixels and at least `min_visible` of its pixels were visible in the other frame.

    The flow is the mean over the visible pixels of the footprint's majority surface (`surface`:
    an (H, W) id per pixel, e.g. the instance pass; without it, of all visible pixels). A block
    on a silhouette holds two surfaces moving differently, and the mean of their flows is
    neither: the latent would sample the previous frame half-way between them (a ghost). The
    majority surface's flow moves it with what most of it shows. For a flow that is affine over
    the footprint the mean is the flow at its centre."""
    visible = footprints(occlusion == 0, factor)
    f = footprints(np.asarray(flow, np.float64), factor)
    member = (
        majority_members(footprints(surface, factor), visible) if surface is not None else np.ones(visible.shape, bool)
    )
    use = member & visible
    n_use = use.sum(-1)
    n_member = np.maximum(member.sum(-1), 1)
    mean_use = (f * use[..., None]).sum(-2) / np.maximum(n_use, 1)[..., None]
    mean_member = (f * member[..., None]).sum(-2) / n_member[..., None]
    mean_flow = np.where(n_use[..., None] > 0, mean_use, mean_member)
    n_visible = visible.sum(-1)
    carried = visible[..., centre_pixels(factor)].all(-1) & (n_visible >= min_visible * factor * factor)
    return mean_flow, carried


def majority_members(ids: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(h, w, k) ids and visibility of each footprint's pixels -> which pixels belong to the
    footprint's majority surface: the id most of its visible pixels have (ties: the id with
    more pixels overall, then the first in the footprint); of all its pixels if none is visible.
    Most footprints hold one surface, whose pixels are all members; only the mixed ones (on a
    silhouette) are scored, pixel against pixel ((m, k, k) for m mixed footprints)."""
    out = np.ones(ids.shape, bool)
    mixed = ids.min(-1) != ids.max(-1)
    if mixed.any():
        sub, vis = ids[mixed], visible[mixed]  # (m, k)
        same = sub[:, :, None] == sub[:, None, :]  # (m, k, k)
        k = ids.shape[-1]
        score = (same & vis[:, None, :]).sum(-1) * (k + 1) + same.sum(-1)
        lead = np.take_along_axis(sub, score.argmax(-1)[:, None], -1)
        out[mixed] = sub == lead
    return out


def bilinear(latents: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sample (B, C, h, w) at latent coordinates x, y (h', w'), edge pixels repeated outside."""
    b, c, h, w = latents.shape
    flat = latents.reshape(b, c, h * w).float()
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0

    def tap(yy, xx):
        index = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).long().reshape(-1)
        return flat[:, :, index].reshape(b, c, *x.shape)

    return (
        tap(y0, x0) * (1 - fx) * (1 - fy)
        + tap(y0, x0 + 1) * fx * (1 - fy)
        + tap(y0 + 1, x0) * (1 - fx) * fy
        + tap(y0 + 1, x0 + 1) * fx * fy
    )


def warp_latents(
    prev: torch.Tensor,
    flow_bwd: np.ndarray,
    occlusion_bwd: np.ndarray,
    factor: int = 8,
    min_visible: float = 0.5,
    surface: np.ndarray | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The previous frame's latents (B, C, h, w) carried into this frame: each latent pixel
    samples them (bilinearly) where its footprint was in the previous frame, moved by this
    frame's exact backward flow (H, W, 2) over the visible pixels of its majority surface
    (`surface`, an (H, W) id pass: see `latent_flow`), with the occlusion (H, W). Returns (warped, mask):
    mask (1, 1, h, w) is 1 where the latent pixel's surface was visible in the previous frame
    (centre pixels, and at least `min_visible` of the footprint) and lands inside it; elsewhere
    (disocclusions, background, points from outside the frame) warped holds an edge-clamped
    sample that should not be used."""
    _, _, h, w = prev.shape
    flow, carried = latent_flow(flow_bwd, occlusion_bwd, factor, min_visible, surface)
    if flow.shape[:2] != (h, w):
        raise ValueError(
            f"passes of {flow_bwd.shape[1]}x{flow_bwd.shape[0]} give {flow.shape[1]}x{flow.shape[0]} "
            f"latents at factor {factor}, but the latents are {w}x{h}"
        )
    rows, cols = np.indices((h, w), dtype=np.float64)
    x, y = cols + flow[..., 0] / factor, rows + flow[..., 1] / factor
    inside = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
    as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=prev.device)  # noqa: E731
    warped = bilinear(prev, as_tensor(x), as_tensor(y)).to(prev.dtype)
    mask = as_tensor(carried & inside)[None, None].to(prev.dtype)
    return warped, mask


def feather(mask: torch.Tensor, radius: int = 1) -> torch.Tensor:
    """A carry mask (B, 1, h, w) of 0/1 softened towards its edges: each latent pixel is
    weighted by the share of carried pixels in its (2 radius + 1)^2 neighbourhood (0 outside the
    mask), so carried and fresh latents meet over a latent pixel or two instead of along a hard
    seam. The image border is not an edge (the neighbourhood is padded by repetition)."""
    if radius <= 0:
        return mask
    m = mask.float()
    padded = F.pad(m, (radius,) * 4, mode="replicate")
    share = F.avg_pool2d(padded, 2 * radius + 1, stride=1)
    return (m * share).to(mask.dtype)


# --- keyframe attention --------------------------------------------------------------------------

MODES = ("off", "record", "attend")


class KeyframeAttention:
    """Controls the keyframe processors installed on a UNet's self-attention layers.

    * `record()`: paint the keyframe; every self-attention layer keeps its input hidden states
      at every timestep (a new recording replaces the old one).
    * `attend()`: paint a later frame; each layer attends to its own tokens and to the
      keyframe's tokens recorded at the nearest timestep, so the frame borrows the keyframe's
      appearance (consistency across a shot).
    * `off()`: plain self-attention (the original processors run, bit for bit).
    * `clear()`: drop the recording (it holds one hidden-state tensor per layer and timestep:
      about 45 MB per step for SD1.5 at 512x512 in fp16 with guidance).

    Guidance batches pair up: entry b of the current batch attends to entry b of the recorded
    one (so uncond attends to uncond, cond to cond); a recorded batch of 1 serves any batch, and
    a batch that is a multiple k of the recorded one pairs in blocks of k (diffusers orders a
    guided batch of n images per prompt as n uncond, then n cond)."""

    def __init__(self):
        self.mode = "off"
        self.recorded: dict[str, dict[float | None, torch.Tensor]] = {}
        self.timestep: float | None = None
        self.hook = None

    def record(self) -> "KeyframeAttention":
        self.clear()
        self.mode = "record"
        return self

    def attend(self) -> "KeyframeAttention":
        if not self.recorded:
            raise RuntimeError("no keyframe recorded: paint one in record() mode first")
        self.mode = "attend"
        return self

    def off(self) -> "KeyframeAttention":
        self.mode = "off"
        return self

    def clear(self) -> "KeyframeAttention":
        self.recorded = {}
        return self

    def note_timestep(self, module, args, kwargs) -> None:
        """UNet forward pre-hook: which timestep the following attention calls belong to."""
        t = args[1] if len(args) > 1 else kwargs.get("timestep")
        self.timestep = None if t is None else float(torch.as_tensor(t).reshape(-1)[0])

    def remember(self, layer: str, hidden_states: torch.Tensor) -> None:
        self.recorded.setdefault(layer, {})[self.timestep] = hidden_states.detach()

    def keyframe_tokens(self, layer: str, batch: int) -> torch.Tensor:
        by_time = self.recorded.get(layer)
        if not by_time:
            raise RuntimeError(f"no keyframe recorded for attention layer {layer}")
        times = list(by_time)
        if self.timestep is None or None in times:
            key = self.timestep if self.timestep in by_time else times[-1]
        else:
            key = min(times, key=lambda t: abs(t - self.timestep))
        return pair_batch(by_time[key], batch)


def pair_batch(tokens: torch.Tensor, batch: int) -> torch.Tensor:
    """Recorded tokens (b, N, C) arranged to pair with a batch of `batch` (see KeyframeAttention)."""
    b = tokens.shape[0]
    if b == batch:
        return tokens
    if batch % b == 0:
        return tokens.repeat_interleave(batch // b, dim=0)
    raise ValueError(f"a keyframe recorded with batch {b} cannot pair with batch {batch}")


class KeyframeProcessor:
    """Attention processor of one self-attention layer; the original processor does the work
    except in 'attend' mode."""

    def __init__(self, controller: KeyframeAttention, layer: str, original):
        self.controller, self.layer, self.original = controller, layer, original

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None):
        mode = self.controller.mode
        self_attention = encoder_hidden_states is None
        if mode == "record" and self_attention:
            self.controller.remember(self.layer, hidden_states)
        if mode != "attend" or not self_attention:
            extra = {} if temb is None else {"temb": temb}
            return self.original(
                attn, hidden_states, encoder_hidden_states=encoder_hidden_states, attention_mask=attention_mask, **extra
            )
        if (
            attention_mask is not None
            or hidden_states.ndim != 3
            or attn.group_norm is not None
            or attn.spatial_norm is not None
        ):
            raise ValueError(f"keyframe attention handles unmasked token self-attention only ({self.layer})")
        keyframe = self.controller.keyframe_tokens(self.layer, hidden_states.shape[0])
        return attention_over(attn, hidden_states, torch.cat([hidden_states, keyframe.to(hidden_states)], dim=1))


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(1, 2)


def attention_over(attn, queries: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Multi-head attention of `queries` tokens over `context` tokens with the layer's own
    projections: softmax(q k^T * scale) v per head, then the output projection."""
    q, k, v = attn.to_q(queries), attn.to_k(context), attn.to_v(context)
    heads = attn.heads
    q, k, v = split_heads(q, heads), split_heads(k, heads), split_heads(v, heads)
    if getattr(attn, "norm_q", None) is not None:
        q = attn.norm_q(q)
    if getattr(attn, "norm_k", None) is not None:
        k = attn.norm_k(k)
    out = F.scaled_dot_product_attention(q, k, v, scale=attn.scale)
    b, _, n, _ = out.shape
    out = out.transpose(1, 2).reshape(b, n, -1).to(q.dtype)
    out = attn.to_out[1](attn.to_out[0](out))
    if attn.residual_connection:
        out = out + queries
    return out / attn.rescale_output_factor


def is_self_attention_layer(name: str) -> bool:
    return name.endswith("attn1.processor")


def install_keyframe_attention(unet, controller: KeyframeAttention | None = None) -> KeyframeAttention:
    """Put keyframe processors on every transformer block's self-attention (`attn1`) of a
    diffusers UNet, driven by `controller` (a new one, in 'off' mode, if None: an existing one
    keeps its recording); `uninstall(unet)` puts the originals back. A UNet shared with other
    painters must not keep them: see `keyframe_attention`."""
    uninstall(unet, keep=controller)
    controller = controller if controller is not None else KeyframeAttention()
    processors = {
        name: KeyframeProcessor(controller, name, proc) if is_self_attention_layer(name) else proc
        for name, proc in unet.attn_processors.items()
    }
    unet.set_attn_processor(processors)
    controller.hook = unet.register_forward_pre_hook(controller.note_timestep, with_kwargs=True)
    unet._worldgen_keyframe_attention = controller
    return controller


def uninstall(unet, keep: KeyframeAttention | None = None) -> None:
    """Restore the processors that `install_keyframe_attention` replaced (no-op if none). The
    controller is switched off and its recording dropped, unless it is `keep`."""
    processors = unet.attn_processors
    if any(isinstance(p, KeyframeProcessor) for p in processors.values()):
        unet.set_attn_processor(
            {name: p.original if isinstance(p, KeyframeProcessor) else p for name, p in processors.items()}
        )
    controller = getattr(unet, "_worldgen_keyframe_attention", None)
    if controller is not None:
        if controller.hook is not None:
            controller.hook.remove()
            controller.hook = None
        if controller is not keep:
            controller.off().clear()
        del unet._worldgen_keyframe_attention


@contextmanager
def keyframe_attention(unet, controller: KeyframeAttention):
    """The keyframe processors installed on `unet` for the duration of a `with` block, and the
    original processors back afterwards whatever happens. The UNet is shared by every painter
    of a process (a bench paints several methods, look development paints textures): leaving
    the processors installed would make them attend to this shot's keyframe. The controller
    keeps the recording between blocks (from one frame of a shot to the next)."""
    install_keyframe_attention(unet, controller)
    try:
        yield controller
    finally:
        uninstall(unet, keep=controller)
