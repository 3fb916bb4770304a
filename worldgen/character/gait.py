"""Walking and running as a function of distance travelled, so feet never slide.

The path is re-parametrised by arc length s. Footsteps are laid along it ahead of time
(alternating feet, one step length apart, beside the path); a foot in stance sits exactly on
its footstep, and a foot in swing flies from one footstep to the next while s advances. Time
only enters through s(t): stopping freezes the cycle with both feet down, speeding up quickens
the cadence, and the stride always matches the speed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from worldgen.character.body import Proportions
from worldgen.motion import Track

SAMPLE_HZ = 240.0  # arc-length table resolution
RUN_SPEED = 2.2  # m/s above which a path is run unless an action says otherwise
MOVING_SPEED = 0.05  # m/s below which the character counts as standing
MAX_SAMPLES = 200_000  # the arc table's size at most (a long path is sampled more coarsely)


@dataclass(frozen=True)
class GaitStyle:
    step: float  # step length as a fraction of height
    duty: float  # fraction of a cycle a foot is on the ground
    lift: float  # swing height as a fraction of height
    arm_swing: float  # degrees
    elbow: float  # degrees of elbow bend
    lean: float  # degrees of forward lean at full speed


GAITS = {"walk": GaitStyle(0.36, 0.58, 0.05, 18.0, 14.0, 4.0), "run": GaitStyle(0.55, 0.36, 0.12, 38.0, 85.0, 11.0)}


@dataclass
class Footstep:
    foot: int  # 0 = right, 1 = left
    centre: float  # arc position the pelvis passes over it
    land: float  # arc at which the foot comes down (-inf: down from the start)
    lift: float  # arc at which it leaves (+inf: stays down to the end)
    gait: str
    terminal: bool = False  # the standing placements at the path's ends
    placed: tuple | None = None  # (ankle position, heading), cached once laid


class PathArc:
    """A path sampled densely in time, with its arc length, so time <-> distance <-> point."""

    def __init__(self, track: Track | None, position, t0: float, t1: float):
        if track is None or t1 <= t0:
            p = np.asarray(position if track is None else track(t0), float)
            self.times = np.array([t0, t0 + 1e-9])
            self.points = np.stack([p, p])
        else:
            n = min(max(2, int(math.ceil((t1 - t0) * SAMPLE_HZ)) + 1), MAX_SAMPLES)
            self.times = np.linspace(t0, t1, n)
            self.points = np.stack([track(t) for t in self.times])
        seg = np.linalg.norm(np.diff(self.points[:, [0, 2]], axis=0), axis=1)
        self.arc = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self.arc[-1])

    def s_at(self, t: float) -> float:
        return float(np.interp(t, self.times, self.arc))

    def t_at(self, s: float) -> float:
        return float(np.interp(s, self.arc, self.times))

    def point(self, s: float) -> np.ndarray:
        return np.array([np.interp(s, self.arc, self.points[:, k]) for k in range(3)])

    def speed(self, t: float) -> float:
        dt = 1.0 / SAMPLE_HZ
        return (self.s_at(t + dt) - self.s_at(t - dt)) / (2 * dt)

    def heading(self, s: float) -> float:
        """Direction of travel at arc s (radians, 0 = +Z, pi/2 = +X)."""
        d = 0.02
        a, b = self.point(max(s - d, 0.0)), self.point(min(s + d, self.length))
        v = b - a
        if np.hypot(v[0], v[2]) < 1e-9:
            return float("nan")
        return math.atan2(v[0], v[2])


def lay_footsteps(arc: PathArc, body: Proportions, gait_at) -> list[Footstep]:
    """Footsteps along the whole path. `gait_at(t)` names the gait ('walk'/'run') at time t.
    Both feet start and end side by side; the right foot steps first."""
    H = body.height
    steps = [Footstep(0, 0.0, -math.inf, 0.0, "walk", True), Footstep(1, 0.0, -math.inf, None, "walk", True)]
    end = arc.length
    if end < 0.05 * H:  # no walk: the feet stay where they are
        steps[0].lift = steps[1].lift = math.inf
        return steps
    c, foot = 0.0, 0
    regular = []
    while True:
        g = gait_at(arc.t_at(c))
        style = GAITS[g]
        step = style.step * H
        half = style.duty * step
        nxt = c + step
        if nxt + half > end - 0.15 * step:
            break
        regular.append(Footstep(foot, nxt, nxt - half, nxt + half, g))
        c, foot = nxt, 1 - foot
    g_first = gait_at(arc.t_at(0.0))
    steps[1].lift = GAITS[g_first].duty * GAITS[g_first].step * H  # the left foot holds while the right swings
    if regular and steps[1].lift >= next((f.land for f in regular if f.foot == 1), math.inf):
        steps[1].lift = 0.5 * next(f.land for f in regular if f.foot == 1)
    out = steps + regular
    # the two closing placements: both feet come down beside the path's end
    last = {0: steps[0], 1: steps[1]}
    for f in regular:
        last[f.foot] = f
    order = sorted((0, 1), key=lambda k: last[k].lift)  # the foot that left earliest lands first
    first_lands = min(max(end - 0.5 * (end - last[order[0]].lift), last[order[0]].lift + 1e-4), end)
    for k in order:
        prev = last[k]
        if prev.lift >= end:  # still down when the path ends: it stays
            prev.lift = math.inf
            continue
        land = end if k == order[1] else first_lands
        land = max(land, prev.lift + 1e-4)
        out.append(Footstep(k, end, min(land, end), math.inf, prev.gait, True))
    return out
