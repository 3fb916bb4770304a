"""Light that needs rays: ambient occlusion, soft sun shadows and point and spot lights; and
`combine_light`, the one compiled pass that adds them up with the sky's fill into the frame.

Every ray set here is a fixed function of the surface point and its normal, never of the pixel
or the frame: the ambient-occlusion rays leave in a fixed set of directions around the normal
and the shadow rays aim at fixed points of the sun's disk. A surface point therefore gets the
same occlusion in every frame and every shot (no noise that crawls as the camera moves), and an
open plane gets exactly 1. Occlusion is weighed by hit distance (a wall at half the reach
occludes half), so corners darken smoothly instead of in steps."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

AO_RAYS = 6
SUN_RAYS = 4
OFFSET = 2e-3  # m: rays start this far off the surface, clear of its own triangles


def _cosine_directions(k: int) -> np.ndarray:
    """k directions over the hemisphere around +z, cosine-distributed (a golden-angle spiral),
    so their plain mean is the cosine-weighted occlusion."""
    i = np.arange(k) + 0.5
    u = i / k
    r, phi = np.sqrt(u), i * 2.399963229728653
    return np.stack([r * np.cos(phi), r * np.sin(phi), np.sqrt(1 - u)], 1)


def tangent_frames(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit tangents per unit normal (Duff et al.'s branchless orthonormal basis): a fixed
    function of the normal, so a surface point's rays never change."""
    sign = np.where(n[:, 2] >= 0, 1.0, -1.0).astype(np.float32)
    a = -1.0 / (sign + n[:, 2])
    b = n[:, 0] * n[:, 1] * a
    t = np.stack([1 + sign * n[:, 0] ** 2 * a, sign * b, -sign * n[:, 0]], 1)
    bt = np.stack([b, sign + n[:, 1] ** 2 * a, -n[:, 1]], 1)
    return t.astype(np.float32), bt.astype(np.float32)


def ambient_occlusion(
    caster, snap, points: np.ndarray, normals: np.ndarray, reach: float, rays: int = AO_RAYS
) -> np.ndarray:
    """Unoccluded fraction (0..1) of the hemisphere over each point within `reach` metres."""
    if len(points) == 0:
        return np.ones(0, np.float32)
    t, b = tangent_frames(normals)
    dirs = _cosine_directions(rays).astype(np.float32)
    origin = (points + normals * OFFSET).astype(np.float32)
    all_dirs = (dirs[:, 0, None, None] * t + dirs[:, 1, None, None] * b + dirs[:, 2, None, None] * normals) * reach
    hit = caster.first_hit(np.tile(origin, (rays, 1)), all_dirs.reshape(-1, 3), snap, reach=1.0).reshape(rays, -1)
    occ = np.clip(1.0 - hit, 0.0, 1.0)  # t is in units of the reach: 0 = touching, >= 1 = open
    return (1.0 - occ.mean(0)).astype(np.float32)


def sun_visibility(
    caster, snap, points: np.ndarray, normals: np.ndarray, to_sun: np.ndarray, size_deg: float, rays: int = SUN_RAYS
) -> np.ndarray:
    """Fraction (0..1) of the sun's disk seen from each point: `rays` fixed points of a disk
    `size_deg` across (one ray to its centre for a point-like sun)."""
    if len(points) == 0:
        return np.ones(0, np.float32)
    origin = (points + normals * OFFSET).astype(np.float32)
    if size_deg <= 0 or rays <= 1:
        d = np.broadcast_to(to_sun.astype(np.float32), origin.shape)
        return np.where(caster.occluded(origin, d, snap), 0.0, 1.0).astype(np.float32)
    t, b = tangent_frames(to_sun[None].astype(np.float32))
    r = np.tan(np.radians(size_deg) / 2) * 0.7
    ang = np.arange(rays) * 2 * np.pi / rays + np.pi / 4
    dirs = [to_sun + r * (np.cos(a) * t[0] + np.sin(a) * b[0]) for a in ang]
    dirs = np.stack([d / np.linalg.norm(d) for d in dirs]).astype(np.float32)
    n = len(origin)
    all_dirs = np.repeat(dirs, n, 0)
    occ = caster.occluded(np.tile(origin, (rays, 1)), all_dirs, snap).reshape(rays, n)
    return (1.0 - occ.mean(0)).astype(np.float32)


def local_light(light, points: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(irradiance factor (N,), unit direction to the light (N, 3), distance (N,)) of a point or
    spot light: inverse-square falloff windowed to zero at its range, a spot's cone with a soft
    edge, Lambert's cosine. Shadows are left to the caller."""
    pos = np.asarray(light.position, np.float32)
    to = pos - points
    d = np.maximum(np.linalg.norm(to, axis=1), 1e-4)
    ldir = to / d[:, None]
    window = np.clip(1 - (d / light.range) ** 4, 0, 1) ** 2
    e = light.intensity / (d * d + 0.01) * window * np.clip(np.einsum("ij,ij->i", normals, ldir), 0, None)
    if light.type == "spot":
        axis = np.asarray(light.direction, np.float32)
        axis = axis / np.linalg.norm(axis)
        cos = -(ldir @ axis)
        outer = np.cos(np.radians(light.angle / 2))
        inner = np.cos(np.radians(light.angle / 2 * (1 - light.softness)))
        x = np.clip((cos - outer) / max(inner - outer, 1e-6), 0, 1)
        e = e * x * x * (3 - 2 * x)
    return e.astype(np.float32), ldir.astype(np.float32), d.astype(np.float32)


def light_visibility(caster, snap, points: np.ndarray, normals: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """1 where the segment from each point to a light's position is clear, else 0."""
    origin = (points + normals * OFFSET).astype(np.float32)
    seg = np.asarray(pos, np.float32) - origin
    return np.where(caster.occluded(origin, seg, snap, tfar=0.999), 0.0, 1.0).astype(np.float32)


def block_anchors(flat: np.ndarray, shape: tuple, geom: np.ndarray, depth: np.ndarray, normals: np.ndarray):
    """Which hit pixels need their own rays, and whom the rest copy: a pixel shares the result of
    the top-left pixel of its 2x2 block (its anchor) when that one sees the same object at about
    the same depth and facing. Occlusion varies slowly over a surface, so a quarter of the rays
    give nearly the same picture; edges and creases keep their own rays.
    Returns (need (K,) bool, anchor (K,) index into the hit pixels, -1 where none)."""
    h, w = shape
    return _anchors(
        np.ascontiguousarray(flat, np.int64),
        h,
        w,
        np.ascontiguousarray(geom),
        np.ascontiguousarray(depth, np.float32),
        np.ascontiguousarray(normals, np.float32),
    )


@njit(parallel=True, cache=True)
def _anchors(flat, h, w, geom, depth, normals):
    """block_anchors in one compiled pass (float32 comparisons, as numpy makes them)."""
    k = flat.shape[0]
    pos = np.full(h * w, -1, np.int64)
    for p in prange(k):
        pos[flat[p]] = p
    need = np.empty(k, np.bool_)
    anchor = np.empty(k, np.int64)
    rel, cos_min = np.float32(0.03), np.float32(0.95)
    for p in prange(k):
        f = flat[p]
        i, j = f // w, f % w
        a = (i & ~1) * w + (j & ~1)
        ap = pos[a]
        anchor[p] = ap
        if a == f or ap < 0:
            need[p] = True
            continue
        ok = geom[ap] == geom[p] and abs(depth[ap] - depth[p]) < rel * depth[p]
        dot = normals[ap, 0] * normals[p, 0] + normals[ap, 1] * normals[p, 1] + normals[ap, 2] * normals[p, 2]
        need[p] = not (ok and dot > cos_min)
    return need, anchor


def spread_from_anchors(values_need: np.ndarray, need: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    out = np.empty(len(need), np.float32)
    out[need] = values_need
    out[~need] = out[anchor[~need]]
    return out


def near_edges(mask: np.ndarray, valid: np.ndarray, radius: int) -> np.ndarray:
    """Pixels (H, W) within `radius` of a change of `mask` among `valid` pixels: where a shadow's
    edge is, so where a soft shadow needs more than one ray."""
    from scipy.ndimage import maximum_filter, minimum_filter

    lo = np.where(valid, mask, True).astype(np.uint8)  # invalid pixels never lower the minimum
    hi = np.where(valid, mask, False).astype(np.uint8)
    size = 2 * radius + 1  # a square window, edges repeated: exact on 0/1 images
    lo = minimum_filter(lo, size=size, mode="nearest")
    hi = maximum_filter(hi, size=size, mode="nearest")
    return valid & (lo != hi)


@njit(parallel=True, cache=True)
def combine_light(
    out, idx, albedo, n, occ, emission, spec, zenith_half, bounce_half, ambient, weights, colours, scales
):
    """out[idx] = albedo x light + albedo x glow x 2 + highlights, the light being the sky and
    bounce fill by the normal's height (x 0.55, plus ambient, x occlusion) and then each light's
    weight x colour x scale in order: numpy's float32 operations in numpy's order, one pass."""
    one, two, fill_k = np.float32(1.0), np.float32(2.0), np.float32(0.55)
    for p in prange(idx.shape[0]):
        up = min(max(n[p, 1], np.float32(-1.0)), one)
        q = idx[p]
        for c in range(3):
            fill = zenith_half[c] * (one + up) + bounce_half[c] * (one - up)
            light = (fill * fill_k + ambient[c]) * occ[p]
            for t in range(weights.shape[0]):
                light = light + weights[t, p] * colours[t, c] * scales[t]
            out[q, c] = albedo[p, c] * light + albedo[p, c] * emission[p] * two + spec[p, c]
