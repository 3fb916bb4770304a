"""Temporal-consistency and structure metrics over frames and exact passes (numpy + scipy only).

Everything here takes arrays, never files, so each metric can be checked on constructed cases
with known answers. Formulas, units, directions and the choices made are in docs/METRICS.md.

Conventions (those of `worldgen.passes.derive`): pixel centres at integer coordinates, x = column,
y = row; `flow_fwd[t]` moves frame t's pixel to its position in frame t+1; `occlusion_fwd[t]` is 1
where that point is hidden, outside or background in frame t+1. Colours are RGB in [0, 1]; uint8
frames are divided by 255, float frames are taken as already in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

import numpy as np
from scipy import ndimage

# a bilinear neighbour whose weight is at most this does not contribute (float32 flow round-off)
NEGLIGIBLE_WEIGHT = 1e-6
# a sample this close outside the image (float round-off of an in-image target) still counts as inside
EDGE_SLACK = 1e-4
REC709_LUMA = np.array([0.2126, 0.7152, 0.0722])


def to_unit_rgb(frame: np.ndarray) -> np.ndarray:
    """A frame as float64 in [0, 1]: uint8 is scaled by 1/255, floats are taken as they are."""
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame.astype(np.float64) / 255.0
    return frame.astype(np.float64, copy=False)


# ---------------------------------------------------------------- bilinear sampling and warping


class _Bilinear(NamedTuple):
    """The four neighbours and weights of bilinear sampling at sub-pixel points."""

    x0: np.ndarray
    x1: np.ndarray
    y0: np.ndarray
    y1: np.ndarray
    wx: np.ndarray  # weight of x1 (x0 gets 1 - wx)
    wy: np.ndarray  # weight of y1
    inside: np.ndarray  # bool: the point lies within the pixel-centre rectangle [0, W-1] x [0, H-1]


def _bilinear_stencil(x: np.ndarray, y: np.ndarray, height: int, width: int) -> _Bilinear:
    inside = (x >= -EDGE_SLACK) & (x <= width - 1 + EDGE_SLACK) & (y >= -EDGE_SLACK) & (y <= height - 1 + EDGE_SLACK)
    xc, yc = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
    x0 = np.clip(np.floor(xc).astype(np.int64), 0, max(width - 2, 0))
    y0 = np.clip(np.floor(yc).astype(np.int64), 0, max(height - 2, 0))
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    return _Bilinear(x0, x1, y0, y1, xc - x0, yc - y0, inside)


def _sample(image: np.ndarray, s: _Bilinear) -> np.ndarray:
    """Bilinear interpolation of `image` (H, W) or (H, W, C) at the stencil's points."""
    wx, wy = s.wx, s.wy
    if image.ndim == 3:
        wx, wy = wx[..., None], wy[..., None]
    top = image[s.y0, s.x0] * (1 - wx) + image[s.y0, s.x1] * wx
    bottom = image[s.y1, s.x0] * (1 - wx) + image[s.y1, s.x1] * wx
    return top * (1 - wy) + bottom * wy


def _any_contributing(mask: np.ndarray, s: _Bilinear) -> np.ndarray:
    """True where a bilinear neighbour with non-negligible weight is set in the bool `mask`:
    an interpolated value there would mix in a flagged pixel."""
    use_x0, use_x1 = s.wx < 1 - NEGLIGIBLE_WEIGHT, s.wx > NEGLIGIBLE_WEIGHT
    use_y0, use_y1 = s.wy < 1 - NEGLIGIBLE_WEIGHT, s.wy > NEGLIGIBLE_WEIGHT
    return (
        (mask[s.y0, s.x0] & use_y0 & use_x0)
        | (mask[s.y0, s.x1] & use_y0 & use_x1)
        | (mask[s.y1, s.x0] & use_y1 & use_x0)
        | (mask[s.y1, s.x1] & use_y1 & use_x1)
    )


def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width]
    return xs.astype(np.float64), ys.astype(np.float64)


def warp(image_next: np.ndarray, flow_fwd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward-warp the next frame onto this one: sample `image_next` at x + flow_fwd(x), bilinear.

    Returns (warped, valid): `warped` aligns with frame t (float64, same channels; [0, 1] if
    uint8 came in) and `valid` (H, W) bool is False where the sample point falls outside the
    next frame's pixel-centre rectangle (those pixels hold a clamped, meaningless value)."""
    image_next = to_unit_rgb(image_next)
    height, width = image_next.shape[:2]
    xs, ys = _pixel_grid(height, width)
    flow = np.asarray(flow_fwd, np.float64)
    stencil = _bilinear_stencil(xs + flow[..., 0], ys + flow[..., 1], height, width)
    return _sample(image_next, stencil), stencil.inside


def compose_forward_flow(
    flows_fwd: Sequence[np.ndarray], occlusions_fwd: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Chain k exact forward flows (frames t..t+k-1) into one flow from frame t to t+k.

    Each pixel of frame t is carried step by step: the first step is exact (pixel centre), later
    steps sample flow_{t+j} bilinearly at the carried point. The chain is cut (visible = False)
    where a step starts from an occluded point, i.e. where any bilinear neighbour that contributes
    to the sample is occluded (the occlusions are OR-ed along the chain), or where it lands
    outside the image. Returns (flow (H, W, 2) float64, visible (H, W) bool)."""
    if len(flows_fwd) == 0 or len(flows_fwd) != len(occlusions_fwd):
        raise ValueError("need k >= 1 forward flows and as many occlusion masks")
    first_flow = np.asarray(flows_fwd[0], np.float64)
    height, width = first_flow.shape[:2]
    xs, ys = _pixel_grid(height, width)
    visible = np.asarray(occlusions_fwd[0]) == 0
    x, y = xs + first_flow[..., 0], ys + first_flow[..., 1]
    for flow, occlusion in zip(flows_fwd[1:], occlusions_fwd[1:]):
        stencil = _bilinear_stencil(x, y, height, width)
        visible &= stencil.inside & ~_any_contributing(np.asarray(occlusion) != 0, stencil)
        step = _sample(np.asarray(flow, np.float64), stencil)
        x, y = x + step[..., 0], y + step[..., 1]
    visible &= _bilinear_stencil(x, y, height, width).inside
    return np.stack([x - xs, y - ys], axis=-1), visible


# ---------------------------------------------------------------- warping error (Lai et al. 2018)


@dataclass(frozen=True)
class WarpingError:
    """E_warp of a sequence at frame distance k.

    `per_pair[i]` is the error of pair (starts[i], starts[i] + k); pairs whose mask was empty are
    not in `per_pair` but in `skipped` (their start frames). `mean` is the unweighted mean over
    evaluated pairs (NaN only when every pair was skipped). `pixels[i]` is the mask size."""

    k: int
    per_pair: np.ndarray
    starts: np.ndarray
    pixels: np.ndarray
    skipped: tuple[int, ...]
    mean: float


def masked_squared_error(frame_t: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> float:
    """Σ_x M ‖I_t(x) − Î(x)‖² / Σ_x M, with ‖·‖² the squared L2 norm over channels (channel SUM)."""
    diff = to_unit_rgb(frame_t) - warped
    per_pixel = np.sum(diff**2, axis=-1) if diff.ndim == 3 else diff**2
    return float(per_pixel[mask].sum() / mask.sum())


def pair_warping_error(
    frame_t: np.ndarray, frame_tk: np.ndarray, flow: np.ndarray, visible: np.ndarray
) -> tuple[float | None, int]:
    """Error of one pair given the (possibly composed) flow t -> t+k and its visibility mask.
    Returns (error, mask size); error is None when no pixel is both visible and in-image."""
    warped, in_image = warp(frame_tk, flow)
    mask = np.asarray(visible, bool) & in_image
    count = int(mask.sum())
    if count == 0:
        return None, 0
    return masked_squared_error(frame_t, warped, mask), count


def warping_error(
    frames: Sequence[np.ndarray], flows_fwd: Sequence[np.ndarray], occlusions_fwd: Sequence[np.ndarray], k: int = 1
) -> WarpingError:
    """Warping error of every pair (t, t+k): how much a frame disagrees with the next (or k-th
    next) frame carried back along the exact flow, on points visible in both. Lower is better.

    `flows_fwd[t]`/`occlusions_fwd[t]` are frame t's forward passes (the last frame's are not
    needed). For k > 1 the forward flows are composed along the chain (`compose_forward_flow`),
    which exposes slow drift that each single step hides."""
    if k < 1:
        raise ValueError("k must be >= 1")
    if len(flows_fwd) < len(frames) - 1 or len(occlusions_fwd) < len(frames) - 1:
        raise ValueError("need a forward flow and occlusion for every frame but the last")
    values, starts, pixels, skipped = [], [], [], []
    for t in range(len(frames) - k):
        flow, visible = compose_forward_flow(flows_fwd[t : t + k], occlusions_fwd[t : t + k])
        error, count = pair_warping_error(frames[t], frames[t + k], flow, visible)
        if error is None:
            skipped.append(t)
            continue
        values.append(error), starts.append(t), pixels.append(count)
    mean = float(np.mean(values)) if values else float("nan")
    return WarpingError(
        k,
        np.asarray(values, np.float64),
        np.asarray(starts, np.int64),
        np.asarray(pixels, np.int64),
        tuple(skipped),
        mean,
    )


# ---------------------------------------------------------------- temporal flickering (VBench)

# exact flow is float32: a still surface point's flow is ~1e-7 px (round-off), a moving one's far more
STILL_FLOW_PX = 1e-3


def still_pixels(
    flow_fwd: np.ndarray,
    occlusion_fwd: np.ndarray,
    depth: np.ndarray,
    depth_next: np.ndarray,
    tol_px: float = STILL_FLOW_PX,
) -> np.ndarray:
    """Pixels whose content does not move between frame t and t+1, by the exact passes (bool (H, W)):
    a surface point whose forward flow is at most `tol_px` and that is still visible in frame
    t+1, or background (nothing hit) in both frames. Under a static camera these are the pixels
    where nothing in the world moved; everything else (moving objects, what they cover and
    uncover) is excluded."""
    hit, hit_next = np.isfinite(depth), np.isfinite(depth_next)
    flow = np.asarray(flow_fwd, np.float64)
    speed = np.hypot(flow[..., 0], flow[..., 1])
    return (hit & (speed <= tol_px) & (np.asarray(occlusion_fwd) == 0)) | (~hit & ~hit_next)


def pair_flicker(frame_a: np.ndarray, frame_b: np.ndarray, still: np.ndarray | None = None) -> float | None:
    """Mean absolute difference of two frames over all channels, in 0..255: over every pixel, or
    over the `still` pixels only (None when there are none)."""
    diff = np.abs(to_unit_rgb(frame_a) - to_unit_rgb(frame_b)) * 255.0
    if still is None:
        return float(np.mean(diff))
    still = np.asarray(still, bool)
    if not still.any():
        return None
    return float(np.mean(diff[still]))


def temporal_flickering(frames: Sequence[np.ndarray], still: Sequence[np.ndarray] | None = None) -> float:
    """VBench temporal-flickering score: (255 − mean over consecutive pairs of the mean absolute
    difference over all pixels and channels, in 0..255) / 255. Higher is steadier; 1 = identical
    frames. VBench defines it on static content (it does not compensate motion): pass `still`,
    one bool mask per consecutive pair (`still_pixels`), to average each pair over the pixels
    where nothing moved; pairs without such pixels are skipped (NaN when all are). With every
    pixel still the two agree exactly."""
    if len(frames) < 2:
        raise ValueError("need at least two frames")
    if still is not None and len(still) < len(frames) - 1:
        raise ValueError("need a still mask for every consecutive pair")
    score = flicker_score(
        pair_flicker(a, b, None if still is None else still[i]) for i, (a, b) in enumerate(zip(frames[:-1], frames[1:]))
    )
    return float("nan") if score is None else score


def flicker_score(pair_means: Iterable[float | None]) -> float | None:
    """VBench's temporal-flickering score from the pairs' mean absolute differences (0..255, as
    `pair_flicker` gives them): (255 − their mean) / 255. Pairs given as None (no still pixels)
    are skipped; None when none is left."""
    means = [m for m in pair_means if m is not None]
    return float((255.0 - np.mean(means)) / 255.0) if means else None


# ---------------------------------------------------------------- identity drift in uv space


class ShotView(NamedTuple):
    """What identity drift needs of a shot: its frames and, per frame, (instance, uv) layers.
    Any (frames, layers) pair works in its place."""

    frames: Sequence[np.ndarray]
    layers: Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class UvTexture:
    """Mean colour per texel of one instance over a shot; `counts` is pixels binned per texel."""

    colour: np.ndarray  # (tex_res, tex_res, 3) float64, 0 where unseen
    counts: np.ndarray  # (tex_res, tex_res) int64

    @property
    def seen(self) -> np.ndarray:
        return self.counts > 0


@dataclass(frozen=True)
class IdentityDrift:
    """Appearance difference of one instance between two shots, on texels both shots saw.
    `drift` is the mean absolute RGB difference in [0, 1] (NaN when `texels` is 0)."""

    instance: int
    drift: float
    texels: int
    texels_a: int
    texels_b: int


def _texel_index(uv: np.ndarray, tex_res: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat texel index (row = v, column = u) of each uv in [0, 1]² and which uvs were in range."""
    u, v = uv[..., 0].astype(np.float64), uv[..., 1].astype(np.float64)
    in_range = np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    col = np.clip(np.floor(np.where(in_range, u, 0) * tex_res).astype(np.int64), 0, tex_res - 1)
    row = np.clip(np.floor(np.where(in_range, v, 0) * tex_res).astype(np.int64), 0, tex_res - 1)
    return row * tex_res + col, in_range


def uv_texture(shot, instance_id: int, tex_res: int = 64) -> UvTexture:
    """Gather an instance's painted appearance into texture space: every pixel of the instance, in
    every frame of the shot, is binned by its uv into a tex_res x tex_res grid and the colours of a
    texel are averaged. uv outside [0, 1] is dropped (uv = 1 falls in the last texel)."""
    frames, layers = shot
    n_texels = tex_res * tex_res
    colour_sum, counts = np.zeros((n_texels, 3)), np.zeros(n_texels, np.int64)
    for frame, (instance, uv) in zip(frames, layers, strict=True):
        texel, in_range = _texel_index(np.asarray(uv), tex_res)
        pick = (np.asarray(instance) == instance_id) & in_range
        rgb = to_unit_rgb(frame)[pick][:, :3]
        counts += np.bincount(texel[pick], minlength=n_texels)
        for c in range(3):
            colour_sum[:, c] += np.bincount(texel[pick], weights=rgb[:, c], minlength=n_texels)
    colour = colour_sum / np.maximum(counts, 1)[:, None]
    return UvTexture(colour.reshape(tex_res, tex_res, 3), counts.reshape(tex_res, tex_res))


def texture_difference(a: UvTexture, b: UvTexture, instance_id: int = 0) -> IdentityDrift:
    """Mean absolute RGB difference of two textures over texels seen in both."""
    both = a.seen & b.seen
    texels = int(both.sum())
    drift = float(np.mean(np.abs(a.colour[both] - b.colour[both]))) if texels else float("nan")
    return IdentityDrift(int(instance_id), drift, texels, int(a.seen.sum()), int(b.seen.sum()))


def identity_drift(shot_a, shot_b, instance_id: int, tex_res: int = 64) -> IdentityDrift:
    """How much an object's look changed between two shots: its appearance is pulled back into its
    own texture space in each shot and compared texel by texel where both shots saw it, so
    different framings and poses compare like with like. Lower is better; 0 = identical."""
    return texture_difference(
        uv_texture(shot_a, instance_id, tex_res), uv_texture(shot_b, instance_id, tex_res), instance_id
    )


def instances_in(shot) -> set[int]:
    """Non-background instance values that appear in any frame of the shot."""
    _, layers = shot
    found: set[int] = set()
    for instance, _uv in layers:
        found.update(int(i) for i in np.unique(instance))
    found.discard(0)
    return found


def drift_all(shot_a, shot_b, tex_res: int = 64) -> dict[int, IdentityDrift]:
    """`identity_drift` for every instance present in both shots that shares at least one texel."""
    result = {}
    for instance_id in sorted(instances_in(shot_a) & instances_in(shot_b)):
        drift = identity_drift(shot_a, shot_b, instance_id, tex_res)
        if drift.texels:
            result[instance_id] = drift
    return result


# ---------------------------------------------------------------- structure F1


@dataclass(frozen=True)
class StructureF1:
    """Agreement of a frame's image edges with the geometric edges of its passes."""

    precision: float  # share of image-edge pixels within tol of a geometric edge
    recall: float  # share of geometric-edge pixels within tol of an image edge
    f1: float
    image_edges: int
    geometric_edges: int


def _neighbour_pairs(height: int, width: int):
    """(this, neighbour) slices for the right and the lower neighbour of every pixel."""
    return [
        ((slice(None), slice(0, width - 1)), (slice(None), slice(1, width))),
        ((slice(0, height - 1), slice(None)), (slice(1, height), slice(None))),
    ]


def geometric_edges(
    depth: np.ndarray, normal: np.ndarray, instance: np.ndarray, depth_rel: float = 0.05, crease_deg: float = 30.0
) -> np.ndarray:
    """Edges of the geometry, as a bool (H, W) mask marking both pixels of each edge pair.

    Between a pixel and its right or lower neighbour there is an edge where the instance changes,
    where depth jumps by more than `depth_rel` relative to the nearer one (hit vs. miss counts,
    miss vs. miss does not), or where the normals of two hit pixels differ by more than
    `crease_deg` degrees."""
    depth = np.asarray(depth, np.float64)
    normal = np.asarray(normal, np.float64)
    instance = np.asarray(instance)
    hit = np.isfinite(depth)
    cos_limit = np.cos(np.radians(crease_deg))
    edges = np.zeros(depth.shape, bool)
    for here, there in _neighbour_pairs(*depth.shape):
        d0, d1 = depth[here], depth[there]
        h0, h1 = hit[here], hit[there]
        both_hit = h0 & h1
        with np.errstate(invalid="ignore", divide="ignore"):
            jump = np.abs(d0 - d1) > depth_rel * np.minimum(d0, d1)
            n0, n1 = normal[here], normal[there]
            cos = np.sum(n0 * n1, -1) / (np.linalg.norm(n0, axis=-1) * np.linalg.norm(n1, axis=-1))
        crease = both_hit & np.isfinite(cos) & (cos < cos_limit)
        step = (instance[here] != instance[there]) | (h0 != h1) | (both_hit & jump) | crease
        edges[here] |= step
        edges[there] |= step
    return edges


def _non_maximum_suppression(magnitude: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Keep pixels whose gradient magnitude is a maximum across the edge (along the gradient
    direction quantised to 0/45/90/135 degrees; ties kept on both sides)."""
    angle = np.degrees(np.arctan2(gy, gx)) % 180.0
    sector = (np.round(angle / 45.0).astype(np.int64)) % 4
    padded = np.pad(magnitude, 1)
    height, width = magnitude.shape
    keep = np.zeros(magnitude.shape, bool)
    for s, (dy, dx) in enumerate([(0, 1), (1, 1), (1, 0), (1, -1)]):
        ahead = padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        behind = padded[1 - dy : 1 - dy + height, 1 - dx : 1 - dx + width]
        keep |= (sector == s) & (magnitude >= ahead) & (magnitude >= behind)
    return keep


def image_edges(frame: np.ndarray, sigma: float = 1.0, low: float = 0.02, high: float = 0.05) -> np.ndarray:
    """Canny-style edges of a frame (bool (H, W)), in scipy: Rec. 709 luma of the [0, 1] RGB,
    Gaussian blur `sigma`, Sobel gradient scaled to luma per pixel, non-maximum suppression and
    hysteresis (keep weak pixels > `low` connected, 8-neighbour, to a strong one > `high`).
    Thresholds are absolute, so a blank frame has no edges; with sigma 1 a luma step of
    contrast c peaks at about 0.4 c, so the defaults need steps of about 0.05 / 0.125."""
    rgb = to_unit_rgb(frame)
    luma = rgb[..., :3] @ REC709_LUMA if rgb.ndim == 3 else rgb
    smooth = ndimage.gaussian_filter(luma, sigma, mode="nearest")
    gx = ndimage.sobel(smooth, axis=1, mode="nearest") / 8.0
    gy = ndimage.sobel(smooth, axis=0, mode="nearest") / 8.0
    magnitude = np.hypot(gx, gy)
    thin = _non_maximum_suppression(magnitude, gx, gy)
    weak = thin & (magnitude > low)
    labels, count = ndimage.label(weak, structure=np.ones((3, 3), bool))
    if count == 0:
        return weak
    strong_labels = np.unique(labels[weak & (magnitude > high)])
    return np.isin(labels, strong_labels[strong_labels > 0])


def edge_f1(predicted: np.ndarray, reference: np.ndarray, tol_px: float = 2.0) -> StructureF1:
    """Precision / recall / F1 of one edge mask against another with a distance tolerance
    (Euclidean distance transform). Empty vs. empty is a perfect 1; an empty side otherwise
    scores 0 for the ratio that has no pixels to count."""
    predicted, reference = np.asarray(predicted, bool), np.asarray(reference, bool)
    n_pred, n_ref = int(predicted.sum()), int(reference.sum())
    if n_pred == 0 and n_ref == 0:
        return StructureF1(1.0, 1.0, 1.0, 0, 0)
    near_reference = ndimage.distance_transform_edt(~reference) <= tol_px if n_ref else np.zeros_like(reference)
    near_predicted = ndimage.distance_transform_edt(~predicted) <= tol_px if n_pred else np.zeros_like(predicted)
    precision = float(near_reference[predicted].mean()) if n_pred else 0.0
    recall = float(near_predicted[reference].mean()) if n_ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return StructureF1(precision, recall, float(f1), n_pred, n_ref)


def structure_f1(
    frame: np.ndarray,
    depth: np.ndarray,
    normal: np.ndarray,
    instance: np.ndarray,
    tol_px: float = 2.0,
    depth_rel: float = 0.05,
    crease_deg: float = 30.0,
    sigma: float = 1.0,
    low: float = 0.02,
    high: float = 0.05,
) -> StructureF1:
    """Whether the painted frame's edges sit on the world's geometric edges (and only there):
    precision is hurt by edges the geometry does not have (texture, hallucinated structure),
    recall by geometric edges the painting lost. Higher is better."""
    return edge_f1(
        image_edges(frame, sigma, low, high), geometric_edges(depth, normal, instance, depth_rel, crease_deg), tol_px
    )
