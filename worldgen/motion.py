"""Keyframe interpolation: easing curves, lerp / Catmull-Rom for positions, slerp for rotations."""

from __future__ import annotations

import bisect

import numpy as np

from worldgen.transforms import euler_xyz_to_matrix, matrix_to_quat, quat_to_matrix, slerp


def ease(u: float, kind: str) -> float:
    u = min(max(u, 0.0), 1.0)
    if kind == "in":
        return u * u
    if kind == "out":
        return 1 - (1 - u) * (1 - u)
    if kind == "in_out":
        return u * u * (3 - 2 * u)
    return u


def segment(times: list[float], t: float):
    """(i, u): t lies between times[i] and times[i+1] at fraction u; holds outside the range."""
    if t <= times[0] or len(times) == 1:
        return 0, 0.0
    if t >= times[-1]:
        return len(times) - 2, 1.0
    i = bisect.bisect_right(times, t) - 1
    return i, (t - times[i]) / (times[i + 1] - times[i])


def catmull_rom(p0, p1, p2, p3, u: float) -> np.ndarray:
    u2, u3 = u * u, u * u * u
    return 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u2 + (-p0 + 3 * p1 - 3 * p2 + p3) * u3)


class Track:
    """One interpolated channel: keys at increasing times, each segment with its own easing."""

    def __init__(self, times, values, eases=None, mode: str = "linear"):
        self.times = [float(t) for t in times]
        self.values = [np.asarray(v, dtype=np.float64) for v in values]
        self.eases = list(eases) if eases else ["linear"] * len(self.times)
        self.mode = mode

    def __call__(self, t: float) -> np.ndarray:
        if len(self.times) == 1:
            return self.values[0].copy()
        i, u = segment(self.times, t)
        u = ease(u, self.eases[i])
        v = self.values
        if self.mode == "spline":
            p0 = v[i - 1] if i > 0 else 2 * v[i] - v[i + 1]
            p3 = v[i + 2] if i + 2 < len(v) else 2 * v[i + 1] - v[i]
            return catmull_rom(p0, v[i], v[i + 1], p3, u)
        if self.mode == "slerp":
            return slerp(v[i], v[i + 1], u)
        return v[i] + (v[i + 1] - v[i]) * u


def rotation_track(times, euler_degs, eases=None) -> "RotationTrack":
    quats = [matrix_to_quat(euler_xyz_to_matrix(e)) for e in euler_degs]
    for k in range(1, len(quats)):  # keep consecutive keys on the same hemisphere
        if np.dot(quats[k - 1], quats[k]) < 0:
            quats[k] = -quats[k]
    return RotationTrack(Track(times, quats, eases, mode="slerp"))


class RotationTrack:
    def __init__(self, track: Track):
        self.track = track

    def __call__(self, t: float) -> np.ndarray:
        return quat_to_matrix(self.track(t))
