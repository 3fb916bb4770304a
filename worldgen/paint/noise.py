"""Deterministic 3D value noise (integer hashing, no global RNG state), compiled with numba.

The same noise is reached two ways: the scalar functions (`vnoise`, `fbm1`), which compiled
pattern kernels (worldgen.paint.patterns) call per point, and the array wrappers
(`value_noise`, `fbm`) for numpy code. Band limiting: every octave fades to its mean where it
is finer than the pixel (`band_limit`), as a mip-map would, so distant texture never shimmers."""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit, prange

warnings.filterwarnings("ignore", message="The TBB threading layer requires")

# a feature keeps full contrast from 2 x BAND_LO pixels per period up and fades out at BAND_LO
# or fewer: wide enough that bilinear resampling of the picture (what E_warp measures) stays
# close to the surface's own colour
BAND_LO = 3.0


@njit(inline="always", cache=True)
def hash01(ix, iy, iz, seed):
    """A lattice point's value in [0, 1]: int64 arithmetic that wraps, the same everywhere."""
    h = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ (seed * 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFF) / 65535.0


@njit(inline="always", cache=True)
def vnoise(x, y, z, seed):
    """Smooth value noise in [0, 1] at one point."""
    fx, fy, fz = np.floor(x), np.floor(y), np.floor(z)
    ix, iy, iz = np.int64(fx), np.int64(fy), np.int64(fz)
    tx, ty, tz = x - fx, y - fy, z - fz
    ux, uy, uz = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty), tz * tz * (3 - 2 * tz)
    c000 = hash01(ix, iy, iz, seed)
    c100 = hash01(ix + 1, iy, iz, seed)
    c010 = hash01(ix, iy + 1, iz, seed)
    c110 = hash01(ix + 1, iy + 1, iz, seed)
    c001 = hash01(ix, iy, iz + 1, seed)
    c101 = hash01(ix + 1, iy, iz + 1, seed)
    c011 = hash01(ix, iy + 1, iz + 1, seed)
    c111 = hash01(ix + 1, iy + 1, iz + 1, seed)
    a = c000 + ux * (c100 - c000)
    b = c010 + ux * (c110 - c010)
    c = c001 + ux * (c101 - c001)
    d = c011 + ux * (c111 - c011)
    e = a + uy * (b - a)
    f = c + uy * (d - c)
    return e + uz * (f - e)


@njit(inline="always", cache=True)
def band(period, fp):
    """Weight (0..1) of a feature of `period` seen through pixels `fp` wide (same units): 1 from
    2 x BAND_LO pixels per period up, 0 at BAND_LO or fewer, where it would alias. fp < 0: no limit."""
    if fp < 0:
        return 1.0
    w = period / max(fp, 1e-9) / BAND_LO - 1.0
    return min(max(w, 0.0), 1.0)


@njit(inline="always", cache=True)
def fbm1(x, y, z, seed, octaves, fp):
    """Fractal value noise at one point, octaves finer than the pixel faded to their mean."""
    total, amp, norm, k = 0.0, 1.0, 0.0, 1.0
    for o in range(octaves):
        w = band(1.0 / k, fp)
        if w > 0:
            total += amp * (0.5 + w * (vnoise(x * k, y * k, z * k, seed + o) - 0.5))
        else:
            total += amp * 0.5
        norm += amp
        amp *= 0.5
        k *= 2.0
    return total / norm


@njit(parallel=True, cache=True)
def _value_noise(p, seed):
    out = np.empty(p.shape[0], np.float32)
    for i in prange(p.shape[0]):
        out[i] = vnoise(p[i, 0], p[i, 1], p[i, 2], seed)
    return out


@njit(parallel=True, cache=True)
def _fbm(p, seed, octaves, fp):
    out = np.empty(p.shape[0], np.float32)
    for i in prange(p.shape[0]):
        out[i] = fbm1(p[i, 0], p[i, 1], p[i, 2], seed, octaves, fp[i])
    return out


def value_noise(p: np.ndarray, seed: int = 0) -> np.ndarray:
    """Smooth noise in [0, 1] at points p (N, 3)."""
    return _value_noise(np.ascontiguousarray(p, np.float64), np.int64(seed))


def band_limit(period, footprint) -> np.ndarray:
    """`band` over arrays: the weight of a feature of `period` through pixels `footprint` wide."""
    if footprint is None:
        return np.float32(1.0)
    return np.clip(period / np.maximum(footprint, 1e-9) / BAND_LO - 1.0, 0.0, 1.0).astype(np.float32)


def fbm(p: np.ndarray, seed: int = 0, octaves: int = 3, footprint=None) -> np.ndarray:
    """Fractal value noise at points p (N, 3); with `footprint` (per point, in p's units)
    octaves too fine for the pixel fade to their mean."""
    n = len(p)
    fp = np.full(n, -1.0) if footprint is None else np.broadcast_to(np.asarray(footprint, np.float64), (n,))
    return _fbm(np.ascontiguousarray(p, np.float64), np.int64(seed), octaves, np.ascontiguousarray(fp))
