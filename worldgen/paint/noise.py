"""Deterministic 3D value noise (integer hashing, no global RNG state), vectorised in numpy."""
from __future__ import annotations

import numpy as np


def _hash(ix, iy, iz, seed):
    h = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ (seed * 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFF).astype(np.float32) / 65535.0


def value_noise(p: np.ndarray, seed: int = 0) -> np.ndarray:
    """Smooth noise in [0, 1] at points p (N, 3)."""
    fl = np.floor(p)
    f = (p - fl).astype(np.float32)
    i = fl.astype(np.int64)
    u = f * f * (3 - 2 * f)
    x0, y0, z0 = i[:, 0], i[:, 1], i[:, 2]
    out = np.zeros(len(p), np.float32)
    for dx in (0, 1):
        wx = u[:, 0] if dx else 1 - u[:, 0]
        for dy in (0, 1):
            wy = u[:, 1] if dy else 1 - u[:, 1]
            for dz in (0, 1):
                wz = u[:, 2] if dz else 1 - u[:, 2]
                out += wx * wy * wz * _hash(x0 + dx, y0 + dy, z0 + dz, seed)
    return out


def band_limit(period, footprint) -> np.ndarray:
    """Weight (0..1) of a feature of `period` seen through pixels `footprint` wide (same
    units): 1 from 4 pixels per period up, 0 at 2 or fewer, where it would alias and shimmer."""
    if footprint is None:
        return np.float32(1.0)
    return np.clip(period / np.maximum(footprint, 1e-9) / 2.0 - 1.0, 0.0, 1.0).astype(np.float32)


def fbm(p: np.ndarray, seed: int = 0, octaves: int = 3, footprint=None) -> np.ndarray:
    """Fractal value noise; with `footprint` (per point, in p's units) octaves too fine for
    the pixel fade to their mean, as a mip-map would."""
    total, amp, norm = np.zeros(len(p), np.float32), 1.0, 0.0
    for o in range(octaves):
        k = 2.0 ** o
        wgt = band_limit(1.0 / k, footprint)
        if np.all(wgt == 0):
            total += amp * 0.5
        else:
            total += amp * (0.5 + wgt * (value_noise(p * k, seed + o) - 0.5))
        norm += amp
        amp *= 0.5
    return total / norm
