"""A character's pose at any time: gait, actions and look, resolved into bone frames.

`CharacterRig.pose(t)` gives every bone's world matrix (the frames the body parts ride on)
and the 18 OpenPose keypoints. Legs are solved by two-bone IK onto the footsteps of the gait,
arms and head are aimed by direction and blended between actions with smooth weights, so
poses change continuously and a foot in stance never moves."""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from worldgen.character.body import BUILD_WIDTH, Proportions, body_parts, mouth_matrix, mouth_points
from worldgen.character.gait import GAITS, MOVING_SPEED, RUN_SPEED, Footstep, PathArc, lay_footsteps
from worldgen.motion import Track, ease
from worldgen.spec.models import Action, CharacterSpec

KEYPOINTS = (
    "nose",
    "neck",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "r_eye",
    "l_eye",
    "r_ear",
    "l_ear",
)
SIT_SECONDS = 0.9  # time to sit down or stand up
TURN_RATE = math.radians(300)  # how fast the body turns toward its direction of travel
HEADING_HZ = 100.0
MAX_HEADING_SAMPLES = 100_000
WAVE_HZ = 1.6
LAYERS = {"idle": "body", "walk": "body", "run": "body", "turn": "body", "sit": "body", "look_at": "head"}


def action_layer(a: Action) -> str:
    return LAYERS.get(a.action) or f"arm_{a.hand}"


# A pose is a few hundred operations on single 3-vectors. On numpy arrays each costs a call
# into numpy; these helpers take their components out as Python floats and do the arithmetic
# there: 0.21 ms a pose against 0.31 ms (measured by hand, five walking characters). Their
# sums run left to right, one rounding per operation; numpy's dot product rounded otherwise for
# a third of 200,000 random 3-vectors (by hand), so the poses' last bits changed with them
# (passes/hits_model.py).


def _xyz(v) -> list:
    """A 3-vector's components as Python floats (3-vectors only: the pose has no others)."""
    return v.tolist() if isinstance(v, np.ndarray) else [float(v[0]), float(v[1]), float(v[2])]


def _cross(a, b) -> np.ndarray:
    """a x b; np.cross took 17 us against 0.7 us on single vectors (by hand), and a pose makes dozens."""
    a0, a1, a2 = _xyz(a)
    b0, b1, b2 = _xyz(b)
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def _norm(v) -> float:
    """|v|."""
    x, y, z = _xyz(v)
    return math.sqrt(x * x + y * y + z * z)


def _unit_xyz(x: float, y: float, z: float) -> tuple[float, float, float]:
    """(x, y, z) / its length; a vector too short to have a direction is returned as it is."""
    n = math.sqrt(x * x + y * y + z * z)
    return (x / n, y / n, z / n) if n > 1e-12 else (x, y, z)


def _unit(v) -> np.ndarray:
    """`_unit_xyz` of a 3-vector, as an array."""
    return np.array(_unit_xyz(*_xyz(v)))


def _frame(origin, y, ref) -> np.ndarray:
    """Rigid frame at `origin` with +Y along `y` and +Z as close to `ref` as it can be."""
    y0, y1, y2 = _unit_xyz(*_xyz(y))
    r0, r1, r2 = _xyz(ref)
    d = r0 * y0 + r1 * y1 + r2 * y2
    z0, z1, z2 = r0 - d * y0, r1 - d * y1, r2 - d * y2
    if math.sqrt(z0 * z0 + z1 * z1 + z2 * z2) < 1e-6:  # ref along y: any perpendicular will do
        r0, r1, r2 = (1.0, 0.0, 0.0) if abs(y0) < 0.9 else (0.0, 0.0, 1.0)
        d = r0 * y0 + r1 * y1 + r2 * y2
        z0, z1, z2 = r0 - d * y0, r1 - d * y1, r2 - d * y2
    z0, z1, z2 = _unit_xyz(z0, z1, z2)
    o0, o1, o2 = _xyz(origin)
    return np.array(
        [
            [y1 * z2 - y2 * z1, y0, z0, o0],
            [y2 * z0 - y0 * z2, y1, z1, o1],
            [y0 * z1 - y1 * z0, y2, z2, o2],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )


def _two_bone(root, target, l1, l2, pole):
    """Middle joint and end point of a two-bone chain reaching for `target`, bending toward `pole`."""
    r0, r1, r2 = _xyz(root)
    t0, t1, t2 = _xyz(target)
    v0, v1, v2 = t0 - r0, t1 - r1, t2 - r2
    d = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
    d_c = min(max(d, abs(l1 - l2) + 1e-6), l1 + l2 - 1e-9)
    u0, u1, u2 = (v0 / d, v1 / d, v2 / d) if d > 1e-12 else (0.0, -1.0, 0.0)
    x = (l1 * l1 - l2 * l2 + d_c * d_c) / (2 * d_c)
    h = math.sqrt(max(l1 * l1 - x * x, 0.0))
    p0, p1, p2 = _xyz(pole)
    k = p0 * u0 + p1 * u1 + p2 * u2
    p0, p1, p2 = p0 - k * u0, p1 - k * u1, p2 - k * u2
    if math.sqrt(p0 * p0 + p1 * p1 + p2 * p2) > 1e-9:
        p0, p1, p2 = _unit_xyz(p0, p1, p2)
    else:
        p0, p1, p2 = 0.0, 0.0, 1.0
    m0, m1, m2 = r0 + u0 * x + p0 * h, r1 + u1 * x + p1 * h, r2 + u2 * x + p2 * h
    e0, e1, e2 = _unit_xyz(r0 + u0 * d_c - m0, r1 + u1 * d_c - m1, r2 + u2 * d_c - m2)
    return np.array([m0, m1, m2]), np.array([m0 + e0 * l2, m1 + e1 * l2, m2 + e2 * l2])


def ramp(t: float, start: float, end: float | None, blend: float) -> float:
    """0 -> 1 over `blend` seconds from `start`, back to 0 over `blend` before `end`."""
    if t < start:
        return 0.0
    w = 1.0 if blend <= 0 else ease((t - start) / blend, "in_out")
    if end is not None:
        if t >= end:
            return 0.0
        if blend > 0:
            w = min(w, ease((end - t) / blend, "in_out"))
    return w


@dataclass
class Pose:
    bones: dict  # bone name -> (4, 4) world matrix
    keypoints: np.ndarray  # (18, 3) world positions, OpenPose-18 order
    feet: np.ndarray  # (2, 3) ankle positions (right, left)
    feet_down: np.ndarray  # (2,) bool: foot in stance (on its footstep)


@dataclass
class MouthTrack:
    """A speaking character's mouth over one shot: opening and width (0..1) per frame from
    `start` (world time) at `fps`, held at the ends (the flow's neighbour frames)."""

    start: float
    fps: float
    opening: list
    width: list

    def at(self, t: float) -> tuple[float, float]:
        i = min(max(int(round((t - self.start) * self.fps)), 0), len(self.opening) - 1)
        return float(self.opening[i]), float(self.width[i])


class CharacterRig:
    deforms = False  # the proxy body is rigid parts; a skinned asset deforms
    has_mouth = True  # the proxy head has a mouth part; a skinned asset needs a jaw bone or a mouth morph
    index: int = 0  # the character's place in the spec's list (the world sets it)
    speech: MouthTrack | None = None  # set while a shot in which it speaks renders; else the mouth is shut

    def _make_parts(self):
        return body_parts(self.body)

    def deformed(self, t: float):
        raise NotImplementedError

    def __init__(self, spec: CharacterSpec, locate=None):
        """`locate(id, t, what)` gives another object's or character's 'centre' or 'head' point,
        or its 'top' height (a seat), for look_at, point, turn and sit; the world supplies it."""
        self.spec = spec
        self.body = Proportions(spec.height, BUILD_WIDTH[spec.build])
        self.parts = self._make_parts()
        self.locate = locate
        keys = spec.path
        if keys:
            track = Track(
                [k.t for k in keys],
                [k.position for k in keys],
                [k.ease for k in keys],
                mode=spec.curve if len(keys) > 2 else "linear",
            )
            self.arc = PathArc(track, None, keys[0].t, keys[-1].t)
            self._track = track
        else:
            self.arc = PathArc(None, spec.position, 0.0, 0.0)
            self._track = None
        self.actions = sorted(spec.actions, key=lambda a: a.start)
        self.footsteps = lay_footsteps(self.arc, self.body, self.gait_at)
        self._by_foot = [[f for f in self.footsteps if f.foot == k] for k in (0, 1)]
        for fs in self._by_foot:
            fs.sort(key=lambda f: f.land)
        self._lands = [[f.land for f in fs] for fs in self._by_foot]
        self._h_t: np.ndarray | None = None  # the heading table, built on first use (see heading)
        self._cache: OrderedDict[float, Pose] = OrderedDict()

    # ---- timelines ------------------------------------------------------------------------
    def active(self, kind: str, t: float):
        return [a for a in self.actions if a.action == kind and a.start <= t and (a.end is None or t < a.end)]

    def gait_at(self, t: float) -> str:
        for a in self.actions:
            if a.action in ("walk", "run") and a.start <= t and (a.end is None or t < a.end):
                return a.action
        return "run" if self.arc.speed(t) > RUN_SPEED else "walk"

    def root(self, t: float) -> np.ndarray:
        """The point on the ground between the feet."""
        if self._track is None:
            return np.asarray(self.spec.position, float)
        return self._track(t)

    def _goal_heading(self, a: Action, t: float, h: float) -> float:
        if a.to is not None:
            return math.radians(a.to)
        p = np.asarray(a.at, float) if a.at is not None else self.locate(a.target, t, "centre")
        d = p - self.root(t)
        return math.atan2(d[0], d[2]) if np.hypot(d[0], d[2]) > 1e-6 else h

    def _heading_table(self):
        """Heading over time, integrated once: faces the way it walks, turns when told, and
        never snaps (a bounded turn rate)."""
        ends = (
            [k.t for k in self.spec.path or []]
            + [a.start for a in self.actions]
            + [a.end for a in self.actions if a.end is not None]
        )
        t_end = max(ends + [0.0]) + 2.0
        hz = min(HEADING_HZ, MAX_HEADING_SAMPLES / t_end)  # long films: a coarser table, same turns
        n = int(math.ceil(t_end * hz)) + 1
        ts = np.arange(n) / hz
        hs = np.empty(n)
        h = math.radians(self.spec.facing)
        turn_from = {}
        for i, t in enumerate(ts):
            rate = TURN_RATE
            goal = h
            if self.arc.speed(t) > MOVING_SPEED:
                g = self.arc.heading(self.arc.s_at(t))
                if not math.isnan(g):
                    goal = g
            else:
                for a in self.active("turn", t):
                    key = id(a)
                    if key not in turn_from:
                        turn_from[key] = (h, self._goal_heading(a, t, h))
                    h0, goal = turn_from[key]
                    span = (a.end - a.start) if a.end is not None else max(0.5, abs(goal - h0) / math.pi * 1.2)
                    rate = max(abs(math.remainder(goal - h0, 2 * math.pi)) / max(span, 1e-3), 1e-3)
            delta = math.remainder(goal - h, 2 * math.pi)
            step = rate / hz
            h += max(-step, min(step, delta))
            hs[i] = h
        self._h_t, self._h = ts, hs

    def heading(self, t: float) -> float:
        """Heading at time t. The table is built on first use, not in __init__: a turn toward
        another character asks where that character is, and it may not exist yet while the
        world is still adding characters in spec order."""
        if self._h_t is None:
            self._heading_table()
        return float(np.interp(t, self._h_t, self._h))

    def axes(self, t: float):
        """(right, up, forward) of the body at time t."""
        h = self.heading(t)
        fwd = np.array([math.sin(h), 0.0, math.cos(h)])
        up = np.array([0.0, 1.0, 0.0])
        return _cross(fwd, up), up, fwd

    # ---- feet -----------------------------------------------------------------------------
    def _placement(self, f: Footstep, t: float) -> tuple[np.ndarray, float]:
        """Ankle position and foot heading of a footstep (the end placements follow the body's
        heading while it stands, so a turn on the spot pivots the feet)."""
        if f.placed is not None:  # a walking footstep never moves: computed once
            return f.placed
        side = -1.0 if f.foot == 0 else 1.0
        w = self.body.hip_half_width * 0.95
        if f.terminal:
            base = self.arc.point(f.centre)
            standing_start = f.land == -math.inf and f.lift != math.inf
            h = self.heading(min(t, float(self.arc.times[0])) if standing_start else t)
        else:
            base = self.arc.point(f.centre)
            h = self.arc.heading(f.centre)
            if math.isnan(h):
                h = self.heading(self.arc.t_at(f.centre))
        right = np.array([-math.cos(h), 0.0, math.sin(h)])  # fwd x up
        p = base - right * side * w
        p[1] += self.body.ankle_height
        if not f.terminal:
            f.placed = (p, h)
        return p, h

    def foot(self, k: int, t: float):
        """(ankle position, foot heading, down?) of foot k (0 right, 1 left) at time t."""
        s = self.arc.s_at(t)
        fs = self._by_foot[k]
        i = max(bisect.bisect_right(self._lands[k], s) - 1, 0)
        cur = fs[i]
        if s <= cur.lift or i + 1 >= len(fs):
            p, h = self._placement(cur, t)
            return p, h, True
        nxt = fs[i + 1]
        p0, h0 = self._placement(cur, self.arc.t_at(cur.lift))
        p1, h1 = self._placement(nxt, t)
        u = (s - cur.lift) / max(nxt.land - cur.lift, 1e-9)
        e = ease(u, "in_out")
        p = p0 + (p1 - p0) * e
        p[1] += GAITS[nxt.gait].lift * self.body.height * math.sin(math.pi * u)
        return p, h0 + math.remainder(h1 - h0, 2 * math.pi) * e, False

    # ---- sitting --------------------------------------------------------------------------
    def sit_weight(self, t: float) -> tuple[float, Action | None]:
        for a in self.actions:
            if a.action == "sit" and a.start <= t and (a.end is None or t < a.end + SIT_SECONDS):
                blend = max(a.blend, SIT_SECONDS)
                w = ease((t - a.start) / blend, "in_out")
                if a.end is not None and t > a.end:
                    w = 1.0 - ease((t - a.end) / blend, "in_out")
                return w, a
        return 0.0, None

    def seat_point(self, a: Action, t: float, root: np.ndarray, fwd: np.ndarray) -> np.ndarray:
        """Where the pelvis rests when seated: on the target's top, over the part of it nearest
        to where the character stands (a little in from its edge); on the ground without one."""
        H = self.body.height
        p = root - fwd * 0.12 * H
        if a.target is None or self.locate is None:
            p[1] = root[1] + 0.055 * H
            return p
        lo, hi = self.locate(a.target, t, "box")
        inset = np.minimum(0.15 * H / 1.75, (hi - lo) / 2)
        for k in (0, 2):
            p[k] = min(max(p[k], lo[k] + inset[k]), hi[k] - inset[k])
        p[1] = hi[1] + 0.055 * H
        return p

    # ---- the pose -------------------------------------------------------------------------
    def pose(self, t: float) -> Pose:
        t = float(t)
        hit = self._cache.get(t)
        if hit is not None:
            return hit
        p = self._pose(t)
        self._cache[t] = p
        if len(self._cache) > 8:
            self._cache.popitem(last=False)
        return p

    def _pose(self, t: float) -> Pose:
        b, H = self.body, self.body.height
        right, up, fwd = self.axes(t)
        root = self.root(t)
        speed = self.arc.speed(t)
        gait = GAITS[self.gait_at(t)]
        feet = [self.foot(k, t) for k in (0, 1)]
        ankles = [f[0] for f in feet]
        sit_w, sit_a = self.sit_weight(t)
        # pelvis: as high as standing allows, low enough that both feet are reachable
        pelvis = root.copy()
        hip_off = [right * b.hip_half_width, -right * b.hip_half_width]
        reach = 0.995 * b.leg
        y = root[1] + b.standing_hip_height + 0.004 * H * math.sin(2 * math.pi * 0.25 * t)
        for k in (0, 1):
            hip_xz = pelvis + hip_off[k]
            dh = math.hypot(ankles[k][0] - hip_xz[0], ankles[k][2] - hip_xz[2])
            if dh < reach:
                y = min(y, ankles[k][1] + math.sqrt(reach * reach - dh * dh))
        pelvis[1] = y
        if sit_w > 0:
            seated = self.seat_point(sit_a, t, root, fwd)
            pelvis = pelvis + (seated - pelvis) * sit_w
            for k in (0, 1):
                sit_foot = seated + fwd * 0.92 * b.thigh + hip_off[k] * 1.15
                sit_foot[1] = root[1] + b.ankle_height
                ankles[k] = ankles[k] + (sit_foot - ankles[k]) * sit_w
        lean = math.radians(gait.lean * min(speed / (1.4 if gait is GAITS["walk"] else 3.5), 1.0)) * (1 - sit_w)
        spine_up = up * math.cos(lean) + fwd * math.sin(lean)
        fwd_lean = _unit(_cross(spine_up, right))
        bones = {"pelvis": _frame(pelvis, up, fwd)}
        bones["spine"] = _frame(pelvis + spine_up * 0.045 * H, spine_up, fwd)
        neck_base = pelvis + spine_up * (b.pelvis_to_chest + b.chest_to_neck)
        # head: look_at targets turn it, within what a neck can do
        look = fwd_lean
        for a in self.active("look_at", t):
            w = ramp(t, a.start, a.end, a.blend)
            tgt = np.asarray(a.at, float) if a.at is not None else self.locate(a.target, t, "head")
            d = _unit(tgt - (neck_base + up * b.neck))
            yaw = math.atan2(np.dot(d, right), np.dot(d, fwd))
            yaw = max(-math.radians(75), min(math.radians(75), yaw))
            pitch = max(-math.radians(40), min(math.radians(35), math.asin(max(-1.0, min(1.0, d[1])))))
            want = (
                right * math.sin(yaw) * math.cos(pitch) + fwd * math.cos(yaw) * math.cos(pitch) + up * math.sin(pitch)
            )
            look = _unit(look * (1 - w) + want * w)
        head_up = _unit(spine_up + (look - fwd_lean) * 0.35)
        neck_dir = _unit(spine_up + (head_up - spine_up) * 0.5)
        bones["neck"] = _frame(neck_base, neck_dir, look)
        head_base = neck_base + neck_dir * b.neck
        bones["head"] = _frame(head_base, head_up, look)
        # legs
        kp = {}
        for k, side in ((0, "r"), (1, "l")):
            hip = pelvis + hip_off[k]
            knee, ankle = _two_bone(hip, ankles[k], b.thigh, b.shin, fwd + up * 0.05)
            bones[f"thigh_{side}"] = _frame(hip, knee - hip, fwd)
            bones[f"shin_{side}"] = _frame(knee, ankle - knee, fwd)
            h = (
                feet[k][1]
                if sit_w == 0
                else feet[k][1] + math.remainder(self.heading(t) - feet[k][1], 2 * math.pi) * sit_w
            )
            bones[f"foot_{side}"] = _frame(ankle, up, np.array([math.sin(h), 0.0, math.cos(h)]))
            kp[f"{side}_hip"], kp[f"{side}_knee"], kp[f"{side}_ankle"] = hip, knee, ankle
        # arms
        for k, side in ((0, "r"), (1, "l")):
            out = right if side == "r" else -right
            shoulder = neck_base - spine_up * b.shoulder_drop + out * b.shoulder_half_width
            upper, fore = self._arm(
                t, k, side, out, right, up, fwd, spine_up, shoulder, ankles, pelvis, gait, speed, sit_w
            )
            elbow = shoulder + upper * b.upper_arm
            wrist = elbow + fore * b.forearm
            ref = _unit(fwd + up)
            bones[f"upper_arm_{side}"] = _frame(shoulder, upper, ref)
            bones[f"forearm_{side}"] = _frame(elbow, fore, ref)
            kp[f"{side}_shoulder"], kp[f"{side}_elbow"], kp[f"{side}_wrist"] = shoulder, elbow, wrist
        kp["neck"] = neck_base
        hm = bones["head"]
        r = b.head_radius
        face = {
            "nose": (0, 0.9 * r, 0.9 * r),
            "r_eye": (-0.34 * r, 1.15 * r, 0.78 * r),
            "l_eye": (0.34 * r, 1.15 * r, 0.78 * r),
            "r_ear": (-0.8 * r, 1.0 * r, 0.0),
            "l_ear": (0.8 * r, 1.0 * r, 0.0),
        }
        for name, q in face.items():
            kp[name] = hm[:3, :3] @ np.asarray(q, float) + hm[:3, 3]
        kps = np.stack([kp[n] for n in KEYPOINTS])
        return Pose(bones, kps, np.stack(ankles), np.array([feet[0][2], feet[1][2]]) & (sit_w == 0))

    def _arm(self, t, k, side, out, right, up, fwd, spine_up, shoulder, ankles, pelvis, gait, speed, sit_w):
        """Upper-arm and forearm directions: hanging or swinging with the gait, blended with
        sitting and with wave / point actions."""
        other = ankles[1 - k]
        stride = max(gait.step * self.body.height * 0.5, 1e-6)
        moving = min(speed / 0.6, 1.0)
        swing = math.radians(gait.arm_swing) * max(-1.0, min(1.0, np.dot(other - pelvis, fwd) / stride)) * moving
        breathe = 0.02 * math.sin(2 * math.pi * 0.25 * t + k)
        upper = _unit(-spine_up * math.cos(swing) + fwd * math.sin(swing) + out * (0.09 + breathe))
        bend = math.radians(12 + (gait.elbow - 12) * moving)
        fore = _unit(upper * math.cos(bend) + _unit(fwd + up * 0.2) * math.sin(bend) + out * 0.03)
        if sit_w > 0:
            upper = _unit(upper * (1 - sit_w) + _unit(-up * 0.9 + fwd * 0.4 + out * 0.1) * sit_w)
            fore = _unit(fore * (1 - sit_w) + _unit(fwd * 0.95 - up * 0.35) * sit_w)
        for a in self.actions:
            if a.action not in ("wave", "point") or a.hand[0] != side:
                continue
            end = a.end if a.end is not None else (a.start + 2.0 if a.action == "wave" else None)
            w = ramp(t, a.start, end, a.blend)
            if w <= 0:
                continue
            if a.action == "wave":
                u_w = _unit(out * 0.55 + up * 0.8 + fwd * 0.2)
                sway = math.sin(2 * math.pi * WAVE_HZ * (t - a.start)) * 0.45
                f_w = _unit(up + out * sway + fwd * 0.15)
            else:
                tgt = np.asarray(a.at, float) if a.at is not None else self.locate(a.target, t, "centre")
                d = _unit(tgt - shoulder)
                if np.dot(d, fwd) < -0.2:  # behind: point to the side instead of through the body
                    d = _unit(d + fwd * (0.2 - np.dot(d, fwd)) * 1.5)
                u_w, f_w = _unit(d - up * 0.08), d
            upper = _unit(upper * (1 - w) + u_w * w)
            fore = _unit(fore * (1 - w) + f_w * w)
        return upper, fore

    # ---- what the world asks --------------------------------------------------------------
    def bone_matrix(self, bone: str, t: float) -> np.ndarray:
        if bone == "mouth":  # the mouth rides on the head, scaled to its opening
            return self.pose(t).bones["head"] @ mouth_matrix(self.body, *self.mouth(t))
        return self.pose(t).bones[bone]

    def mouth(self, t: float) -> tuple[float, float]:
        """(opening, width) of the mouth at t: shut (0, 0.5) unless a speech track is set."""
        return self.speech.at(t) if self.speech is not None else (0.0, 0.5)

    def mouth_keypoints(self, t: float) -> np.ndarray:
        """World positions of the 20 mouth keypoints (OpenPose face points 48-67)."""
        hm = self.pose(t).bones["head"]
        return mouth_points(self.body, *self.mouth(t)) @ hm[:3, :3].T + hm[:3, 3]

    def centre(self, t: float) -> np.ndarray:
        """Mid-torso: what a camera tracking this character aims at."""
        return self.pose(t).bones["spine"][:3, 3] + np.array([0.0, 0.12 * self.body.height, 0.0])

    def head(self, t: float) -> np.ndarray:
        hm = self.pose(t).bones["head"]
        return hm[:3, :3] @ np.array([0.0, self.body.head_radius, 0.0]) + hm[:3, 3]

    def approx_head(self, t: float) -> np.ndarray:
        """Head height above the path point, without solving the pose (for other characters'
        look_at, which must not depend on each other's poses)."""
        return self.root(t) + np.array([0.0, 0.93 * self.body.height, 0.0])
