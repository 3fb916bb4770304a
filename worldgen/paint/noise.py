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


def fbm(p: np.ndarray, seed: int = 0, octaves: int = 3) -> np.ndarray:
    total, amp, norm = np.zeros(len(p), np.float32), 1.0, 0.0
    for o in range(octaves):
        total += amp * value_noise(p * (2.0 ** o), seed + o)
        norm += amp
        amp *= 0.5
    return total / norm
