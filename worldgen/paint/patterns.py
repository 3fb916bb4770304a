"""Surface patterns of the procedural painter, compiled: one function of the object-frame point
per pattern, giving a mix value m (0 = the material's base colour, 1 = its second colour) and a
height h (what bump mapping tilts the normal by).

Every pattern is anchored in object space (it moves with its object and never swims) and
band-limited: detail finer than the pixel footprint `fp` fades to its mean, so a distant wall
does not shimmer. The bump comes from the same height, so light and colour agree. Water's
ripples are analytic sums of sines (a static sea: animated waves would move against the exact
flow, which only knows the geometry)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from worldgen.paint.noise import band, fbm1, hash01, vnoise

KINDS = (
    "plain",
    "mottle",
    "bricks",
    "planks",
    "stripes",
    "checker",
    "spots",
    "tiles",
    "veins",
    "speckle",
    "waves",
    "weave",
    "brushed",
    "grain",
    "sand",
    "grass",
    "stone",
    "skin",
    "painted",
)
KIND = {k: i for i, k in enumerate(KINDS)}


@njit(inline="always", cache=True)
def _keep(m, mean, period, fp):
    """A hard-edged pattern faded to its mean where its period would alias."""
    return mean + band(period, fp) * (m - mean)


@njit(inline="always", cache=True)
def _fract(x):
    return x - np.floor(x)


@njit(cache=True)
def _pattern(kind, x, y, z, s, fp):
    """(m, h) of pattern `kind` at object-frame point (x, y, z) already divided by the material's
    scale; fp is the pixel footprint in the same units (< 0: none)."""
    if kind == 0:  # plain
        return 0.0, 0.0
    if kind == 1:  # mottle
        m = fbm1(x, y, z, s, 3, fp)
        return m, m
    if kind == 2:  # bricks: courses of 0.5, staggered, mortar recessed
        row = np.floor(y / 0.5)
        u = x + z + 0.5 * (row % 2)
        dy = abs(y / 0.5 - np.round(y / 0.5))
        dx = abs(u - np.round(u))
        mortar = 1.0 if (dy < 0.07 or dx < 0.035) else 0.0
        face = _keep(0.15 * vnoise(np.floor(u), row, row, s), 0.075, 0.5, fp) + 0.1 * fbm1(
            x * 4, y * 4, z * 4, s + 3, 2, fp * 4
        )
        m = _keep(mortar + (1 - mortar) * face, 0.22, 0.07, fp)
        return m, _keep(1.0 - mortar, 0.8, 0.07, fp) + 0.3 * face
    if kind == 3:  # wood: boards along x, growth rings bent by noise, fine fibres, seams
        board = np.floor(y)
        off = hash01(np.int64(board), 7, 11, s) * 10.0
        warp = fbm1(x * 0.15 + off, y * 1.5, z * 1.5, s, 3, fp * 1.5)
        g = (y - board) * 3.0 + 2.5 * warp + off
        rings = _fract(g)
        rings = rings * rings * (3 - 2 * rings)
        fibre = vnoise(x * 0.6, y * 24.0, z * 24.0, s + 5)
        m = 0.55 * _keep(rings, 0.5, 1.0 / 3.0, fp) + 0.3 * _keep(fibre, 0.5, 1.0 / 24.0, fp)
        seam = 1.0 if abs(y - np.round(y)) < 0.02 else 0.0
        m = m + _keep(seam, 0.04, 0.04, fp) * 0.6
        return min(m, 1.0), 0.3 * _keep(rings, 0.5, 1.0 / 3.0, fp) - _keep(seam, 0.04, 0.04, fp)
    if kind == 4:  # stripes (painted): bands along y
        m = _keep(np.floor(y * 2) % 2, 0.5, 1.0, fp)
        return m, 0.0
    if kind == 5:  # checker
        m = _keep((np.floor(x) + np.floor(y) + np.floor(z)) % 2, 0.5, 2.0, fp)
        return m, 0.0
    if kind == 6:  # spots
        m = _keep(1.0 if vnoise(x * 2, y * 2, z * 2, s) > 0.72 else 0.0, 0.1, 0.3, fp)
        return m, m * 0.3
    if kind == 7:  # tiles: grout lines recessed
        fx, fy, fz = abs(x - np.round(x)), abs(y - np.round(y)), abs(z - np.round(z))
        a, b, c = fx, fy, fz  # the middle of the three distances: on a face, the nearer grout line
        mid = max(min(a, b), min(max(a, b), c))
        grout = 1.0 if mid < 0.04 else 0.0
        tone = _keep(0.15 * vnoise(np.floor(x), np.floor(y), np.floor(z), s), 0.075, 1.0, fp)
        return _keep(grout, 0.16, 0.08, fp) + tone, -_keep(grout, 0.16, 0.08, fp)
    if kind == 8:  # veins (marble)
        v = abs(np.sin(x * 3 + 4 * fbm1(x, y, z, s, 3, fp))) ** 8
        return _keep(v, 0.2, 0.5, fp), 0.0
    if kind == 9:  # speckle (granite, asphalt)
        sp = 0.8 if vnoise(x * 4, y * 4, z * 4, s) > 0.6 else 0.0
        m = _keep(sp, 0.2, 0.25, fp) + 0.2 * fbm1(x, y, z, s + 1, 2, fp)
        return m, m
    if kind == 10:  # water: analytic ripples (a few sines in the xz plane), sky-blue crests
        h = 0.0
        for i in range(5):
            a = hash01(i, 1, 2, s) * 6.2832
            k = 2.0 + 3.0 * hash01(i, 3, 4, s)
            ph = hash01(i, 5, 6, s) * 6.2832
            amp = 1.0 / k
            h += amp * band(6.2832 / k, fp) * np.sin(k * (np.cos(a) * x + np.sin(a) * z) + ph)
        m = 0.5 + 0.5 * h
        return min(max(m, 0.0), 1.0), h * 0.5
    if kind == 11:  # fabric weave: over-under threads
        cx, cz = np.floor(x), np.floor(z)
        over = (cx + cz) % 2
        tx, tz = _fract(x) - 0.5, _fract(z) - 0.5
        thread = (1 - 4 * tz * tz) if over > 0 else (1 - 4 * tx * tx)
        m = _keep(thread, 0.66, 1.0, fp) * 0.6 + 0.4 * fbm1(x * 0.1, y * 0.1, z * 0.1, s, 2, fp * 0.1)
        return m, _keep(thread, 0.66, 1.0, fp)
    if kind == 12:  # brushed metal: streaks along y
        m = fbm1(x * 0.2, y * 8.0, z * 0.2, s, 3, fp * 8.0)
        return 0.6 * m, 0.3 * m
    if kind == 13:  # grain (concrete, snow)
        m = fbm1(x * 2, y * 2, z * 2, s, 3, fp * 2) ** 1.5
        return m, m
    if kind == 14:  # sand: wind ripples (asymmetric, bent by noise) and fine grain
        w = x * 0.9 + 0.35 * 3.0 * fbm1(x * 0.4, y * 0.4, z * 0.4, s, 2, fp * 0.4)
        r = _fract(w)
        ripple = r / 0.7 if r < 0.7 else (1 - r) / 0.3  # long windward slope, short lee
        ripple = _keep(ripple, 0.5, 1.0 / 0.9, fp)
        grain = _keep(vnoise(x * 14, y * 14, z * 14, s + 9), 0.5, 1.0 / 14.0, fp)
        return 0.45 * ripple + 0.55 * grain * 0.8, ripple + 0.15 * grain
    if kind == 15:  # grass: clumps and blades
        clump = fbm1(x * 0.5, y * 0.5, z * 0.5, s, 3, fp * 0.5)
        blades = _keep(vnoise(x * 12, y * 3, z * 12, s + 2), 0.5, 1.0 / 12.0, fp)
        return 0.6 * clump + 0.4 * blades, blades
    if kind == 16:  # stone: mottled slabs with dark cracks along ridges of a second noise
        base = fbm1(x, y, z, s, 4, fp)
        rid = abs(fbm1(x * 0.7 + 3.1, y * 0.7, z * 0.7, s + 11, 3, fp * 0.7) - 0.5)
        crack = _keep(1.0 if rid < 0.015 else 0.0, 0.03, 0.05, fp)
        return min(0.8 * base + crack, 1.0), base - 2.0 * crack
    if kind == 17:  # skin: faint, low-contrast mottle
        m = 0.35 * fbm1(x * 3, y * 3, z * 3, s, 2, fp * 3)
        return m, 0.0
    if kind == 18:  # painted metal: paint chipped where noise runs high, showing the metal
        n = fbm1(x * 2, y * 2, z * 2, s, 4, fp * 2)
        chip = _keep(1.0 if n > 0.68 else 0.0, 0.08, 0.1, fp)
        return chip, 1.0 - chip
    return 0.0, 0.0


@njit(parallel=True, cache=True)
def evaluate(kind, p, fp, seed, bump_eps):
    """m (N,) and the object-frame gradient of h (N, 3) at points p (N, 3), footprints fp (N,).
    bump_eps <= 0: no gradient (zeros)."""
    n = p.shape[0]
    m = np.empty(n, np.float32)
    grad = np.zeros((n, 3), np.float32)
    for i in prange(n):
        x, y, z, f = p[i, 0], p[i, 1], p[i, 2], fp[i]
        mi, h = _pattern(kind, x, y, z, seed, f)
        m[i] = min(max(mi, 0.0), 1.0)
        if bump_eps > 0:
            _, hx = _pattern(kind, x + bump_eps, y, z, seed, f)
            _, hy = _pattern(kind, x, y + bump_eps, z, seed, f)
            _, hz = _pattern(kind, x, y, z + bump_eps, seed, f)
            grad[i, 0] = (hx - h) / bump_eps
            grad[i, 1] = (hy - h) / bump_eps
            grad[i, 2] = (hz - h) / bump_eps
    return m, grad
