"""Coverage of a dialogue scene: which shots film an exchange, and where their cameras stand.

A scene of people talking is filmed the way editors expect to cut it: an establishing shot
(the whole set and everyone in it), a two-shot (the two who talk), then one shot per line,
a single (`close_up` of the speaker) or an over-the-shoulder (`over` = the listener, `target`
= the speaker). Each line is carried by a shot that shows its speaker, so its sound and
mouth land on a face in frame.

Every camera stays on one side of the line of action, the axis between the first two
speakers (the 180-degree rule): cut to cut, who looks left keeps looking left. The side is
measured on the actual camera paths (`camera.ShotCamera`, sampled over each shot), not on the
spec's numbers, so moves that follow a walking character are held to it too. Which side:
away from the set's objects, so the set is behind the actors (deterministic; ties take +).

Input is a format-1 world (a `Spec`, its dict, or the `world` block alone) and the lines in
order; output is format-1 shot data (`worldgen/spec/models.py: Shot`), in world time from
`start`, so a film scene can expand into a format-1 spec and call this per scene."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from worldgen.camera import ShotCamera
from worldgen.spec.models import Shot, Spec

WORDS_PER_SECOND = 2.5  # ~150 words a minute, conversational speech
MIN_LINE_SECONDS = 1.2  # even "Yes." holds the screen this long
LEAD_IN, TAIL = 0.3, 0.5  # s of a line's shot before the line starts and after it ends
ESTABLISH_SECONDS = 3.0
CLOSE_UP_WORDS = 12  # "mixed" coverage: a line this long gets a close-up, shorter ones an OTS
SIDE_MARGIN = 0.05  # m a camera keeps clear of the line of action
ESTABLISH_FOV, TWO_SHOT_FOV = 50.0, 40.0
BIG_OBJECT = 30.0  # m: an object this large (a ground plane, the sky) is not framed by the establishing shot
SIDE_SAMPLES = 9  # camera samples per shot for the side test
_DUMMY_SHOT = {"id": "_", "duration": 1.0, "camera": {"move": "static", "position": [0, 1, 10], "look_at": [0, 0, 0]}}


@dataclass(frozen=True)
class DialogueLine:
    """One line of the exchange: who says it, the words, and (optionally) how long it takes."""

    speaker: str
    text: str
    duration: Optional[float] = None

    @property
    def seconds(self) -> float:
        """Speaking time: the given estimate, else the words at WORDS_PER_SECOND, at least
        MIN_LINE_SECONDS."""
        if self.duration is not None:
            return max(float(self.duration), 0.1)
        return max(MIN_LINE_SECONDS, len(self.text.split()) / WORDS_PER_SECOND)


class CoverageError(ValueError):
    """The exchange cannot be covered in this world (a speaker who is not in it, no lines)."""


def _lines(lines: Iterable) -> list[DialogueLine]:
    out = []
    for k, x in enumerate(lines):
        if isinstance(x, DialogueLine):
            out.append(x)
        elif isinstance(x, dict):
            speaker, text = x.get("speaker") or x.get("character"), x.get("text") or x.get("line")
            out.append(DialogueLine(speaker, text, x.get("duration")))
        elif hasattr(x, "speaker") and hasattr(x, "text"):  # a screenplay's line (plan/fountain.py Line)
            out.append(DialogueLine(x.speaker, x.text, getattr(x, "duration", None)))
        else:
            out.append(DialogueLine(*x))
        if not out[-1].speaker or not out[-1].text or not str(out[-1].text).strip():
            raise CoverageError(f"line {k + 1}: give a speaker and the words")
    if not out:
        raise CoverageError("no lines to cover")
    return out


def _spec_of(world_or_spec) -> Spec:
    """A Spec to build the world from: a Spec as is; a spec dict or a `world` block (dict or
    model) with a placeholder shot (coverage writes the shots)."""
    if isinstance(world_or_spec, Spec):
        return world_or_spec
    if hasattr(world_or_spec, "model_dump"):
        world_or_spec = world_or_spec.model_dump(exclude_none=True)
    data = dict(world_or_spec)
    if "worldgen" not in data:
        data = {"worldgen": 1, "world": data}
    data["shots"] = [_DUMMY_SHOT]
    return Spec.model_validate(data)


class _Axis:
    """The line of action through two heads, in the ground plane, and the camera's side."""

    def __init__(self, a: np.ndarray, b: np.ndarray, sign: float = 1.0):
        self.a = np.array([a[0], 0.0, a[2]])
        u = np.array([b[0] - a[0], 0.0, b[2] - a[2]])
        if np.linalg.norm(u) < 1e-6:  # two characters in one spot: any axis through them
            u = np.array([1.0, 0.0, 0.0])
        self.u = u / np.linalg.norm(u)
        self.n = np.array([self.u[2], 0.0, -self.u[0]]) * sign  # horizontal normal toward the camera side

    def side(self, p) -> float:
        """Signed distance of p from the axis: > 0 on the cameras' side."""
        return float(np.dot(np.asarray(p, float) - self.a, self.n))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")


class _Coverage:
    def __init__(self, world, width: int, height: int):
        from worldgen.passes.visibility import VisibilityProbe

        self.world, self.width, self.height = world, width, height
        self.aspect = width / height
        self.probe = VisibilityProbe(world)

    # -- geometry ------------------------------------------------------------------------------
    def head(self, cid: str, t: float) -> np.ndarray:
        return np.asarray(self.world.characters[cid].head(t), float)

    def camera_centres(self, shot: dict) -> list[np.ndarray]:
        rig = ShotCamera(Shot.model_validate(shot), self.world, self.width, self.height)
        return [rig.at(s).center for s in np.linspace(0, shot["duration"], SIDE_SAMPLES)]

    def on_side(self, shot: dict, axis: _Axis) -> bool:
        return all(axis.side(c) > SIDE_MARGIN for c in self.camera_centres(shot))

    def in_view(self, shot: dict, who: list[str]) -> bool:
        """Every character in `who` is in frame (its keypoints) and not hidden behind an
        object, at the shot's start, middle and end."""
        from worldgen.passes.visibility import is_hidden

        sh = Shot.model_validate(shot)
        rig = ShotCamera(sh, self.world, self.width, self.height)
        for s in (0.0, sh.duration / 2, sh.duration):
            cam = rig.at(s)
            for cid in who:
                pts = self.world.characters[cid].pose(sh.start + s).keypoints
                uv, z = cam.project(pts)
                ok = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < self.width) & (uv[:, 1] >= 0) & (uv[:, 1] < self.height)
                if not ok.all():
                    return False
                total, blocked, _ = self.probe.blocked(cid, sh.start + s, cam)
                if is_hidden(total, blocked):
                    return False
        return True

    def _framed(self, oid: str, t: float = 0.0) -> bool:
        """Is this object part of the set an establishing shot frames (not the ground)?"""
        lo, hi = self.world.locate(oid, t, "box")
        return float((hi - lo).max()) < BIG_OBJECT

    def choose_side(self, axis: _Axis) -> float:
        """+1 or -1: the side of the axis away from the set's objects (the set behind the actors)."""
        pts = [self.world.position(oid, 0.0) for oid in self.world.objects() if self._framed(oid)]
        s = sum(axis.side(p) for p in pts)
        return -1.0 if s > 1e-6 else 1.0

    # -- shots ---------------------------------------------------------------------------------
    def establishing(self, sid: str, t0: float, dur: float, cast: list[str], axis: _Axis) -> dict:
        """Wide and static, from the cameras' side: the set (objects smaller than BIG_OBJECT)
        and every character. Falls back to framing the characters alone, and to higher
        angles, when the set would hide one of them."""
        chars = np.concatenate([self.world.characters[c].pose(t0).keypoints for c in cast])
        set_pts = [chars]
        for oid in self.world.objects():
            if self._framed(oid, t0):
                set_pts.append(np.array(self.world.locate(oid, t0, "box")))
        half_v = math.radians(ESTABLISH_FOV) / 2
        half = min(half_v, math.atan(math.tan(half_v) * self.aspect))
        last = None
        for with_set, elev in ((True, 15), (True, 30), (False, 15), (False, 30), (False, 50)):
            pts = np.concatenate(set_pts if with_set else [chars])
            lo, hi = pts.min(0), pts.max(0)
            c = (lo + hi) / 2
            radius = max(float(np.linalg.norm(hi - lo)) / 2, 1.0)
            dist = radius / math.sin(half) * 1.05
            e = math.radians(elev)
            d = axis.n * math.cos(e) + np.array([0.0, math.sin(e), 0.0])
            eye = c + d * dist
            while axis.side(eye) <= SIDE_MARGIN + 0.5:  # the set's centre lies behind the axis: step back
                eye = eye + d
            shot = {
                "id": sid,
                "duration": dur,
                "start": t0,
                "prompt": "establishing shot: the whole set, " + ", ".join(cast),
                "camera": {"move": "static", "position": _r(eye), "look_at": _r(c), "fov": ESTABLISH_FOV},
            }
            last = shot
            if self.in_view(shot, cast):
                return shot
        return last

    def two_shot(self, sid: str, t0: float, dur: float, a: str, b: str, speaker: str, axis: _Axis) -> dict:
        """Both talkers, from the cameras' side of the axis, aimed at the speaker (who carries
        the shot's line) with the listener in frame beside them."""
        ha, hb = self.head(a, t0), self.head(b, t0)
        sep = float(np.linalg.norm((hb - ha)[[0, 2]]))
        half_v = math.radians(TWO_SHOT_FOV) / 2
        half_h = math.atan(math.tan(half_v) * self.aspect)
        dist = max(2.0, (sep / 2 + 0.4) / math.tan(0.4 * half_h))
        mid = (ha + hb) / 2
        last = None
        for k in range(6):
            eye = mid + axis.n * dist * (1 + 0.25 * k) + np.array([0.0, -0.1 + 0.2 * k, 0.0])
            shot = {
                "id": sid,
                "duration": dur,
                "start": t0,
                "prompt": f"two-shot of {a} and {b}",
                "camera": {"move": "static", "position": _r(eye), "target": speaker, "fov": TWO_SHOT_FOV},
            }
            last = shot
            if self.in_view(shot, [a, b]):
                return shot
        return last

    def face_clear(self, shot: dict) -> bool:
        """The shot's subject (a face) is not hidden behind an object at its start, middle and end."""
        from worldgen.passes.visibility import is_hidden

        sh = Shot.model_validate(shot)
        rig = ShotCamera(sh, self.world, self.width, self.height)
        for s in (0.0, sh.duration / 2, sh.duration):
            total, blocked, _ = self.probe.blocked(sh.camera.target, sh.start + s, rig.at(s), face=True)
            if is_hidden(total, blocked):
                return False
        return True

    def single(self, sid: str, t0: float, dur: float, speaker: str, listener: str | None, ots: bool, axis: _Axis):
        """An over-the-shoulder on the cameras' side, or else a close-up turned toward that
        side: the first candidate that keeps to the side and shows the face; if an object
        hides the face from every one, the first that keeps to the side."""
        candidates = []
        if ots and listener is not None:
            for side in ("right", "left"):
                candidates.append(
                    {
                        "id": sid,
                        "duration": dur,
                        "start": t0,
                        "prompt": f"over {listener}'s shoulder onto {speaker}",
                        "camera": {"move": "over_the_shoulder", "target": speaker, "over": listener, "side": side},
                    }
                )
        h = self.head(speaker, t0)
        toward = self.head(listener, t0) - h if listener is not None else None
        heading = self.world.characters[speaker].heading(t0)
        phi0 = (
            math.atan2(toward[0], toward[2])
            if toward is not None and np.linalg.norm(toward[[0, 2]]) > 1e-6
            else heading
        )
        for dist in (None, 2.0, 3.0):
            for delta in (30, 40, 50, 65, 80, 95, 110):
                for sign in (1, -1):
                    phi = phi0 + math.radians(sign * delta)
                    angle = (math.degrees(phi - heading) + 180.0) % 360.0 - 180.0
                    cam = {"move": "close_up", "target": speaker, "start_angle": round(angle, 2)}
                    if dist is not None:
                        cam["distance"] = dist
                    candidates.append(
                        {"id": sid, "duration": dur, "start": t0, "prompt": f"close-up of {speaker}", "camera": cam}
                    )
        first = None
        for shot in candidates:
            if self.on_side(shot, axis):
                if self.face_clear(shot):
                    return shot
                first = first or shot
        if first is None:
            raise CoverageError(f"no close-up of '{speaker}' keeps to the camera side of the line of action")
        return first


def _r(v) -> list[float]:
    return [round(float(x), 3) for x in v]


def plan_coverage(
    world_or_spec,
    lines: Iterable,
    *,
    start: float = 0.0,
    prefix: str = "",
    singles: str = "mixed",
    establish: float = ESTABLISH_SECONDS,
    width: int | None = None,
    height: int | None = None,
    base_dir=None,
) -> list[dict]:
    """The shots (format-1 shot dicts, in order, world time from `start`) that cover `lines`
    in this world: establishing, two-shot (carrying the first line), then one single or
    over-the-shoulder per further line. `singles`: 'ots', 'close_up' or 'mixed' (OTS for
    short lines, a close-up for lines of CLOSE_UP_WORDS or more). Ids are `prefix` +
    establishing, two_shot, lineNN_ots_SPEAKER or lineNN_close_up_SPEAKER."""
    from worldgen.world import World

    if singles not in ("mixed", "ots", "close_up"):
        raise CoverageError(f"singles: 'mixed', 'ots' or 'close_up', not '{singles}'")
    spec = _spec_of(world_or_spec)
    r = spec.render
    width, height = width or r.width, height or r.height
    world = World(spec, base_dir)
    cov = _Coverage(world, width, height)
    todo = _lines(lines)
    for k, ln in enumerate(todo):
        if ln.speaker not in world.characters:
            raise CoverageError(f"line {k + 1}: '{ln.speaker}' is not a character of the world")
    speakers = list(dict.fromkeys(ln.speaker for ln in todo))
    a = speakers[0]
    others = [c for c in world.characters if c != a]
    b = speakers[1] if len(speakers) > 1 else None
    if b is None and others:  # one speaker: the nearest other character listens
        b = min(others, key=lambda c: float(np.linalg.norm(cov.head(c, start) - cov.head(a, start))))
    if b is not None:
        axis = _Axis(cov.head(a, start), cov.head(b, start))
    else:  # one character alone: the "axis" runs across the way they face
        h = world.characters[a].heading(start)
        ha = cov.head(a, start)
        axis = _Axis(ha, ha + np.array([math.cos(h), 0.0, -math.sin(h)]))
    axis = _Axis(axis.a, axis.a + axis.u, cov.choose_side(axis))
    pre = _slug(prefix) + "_" if _slug(prefix) else ""
    cast = list(world.characters)
    shots = [cov.establishing(pre + "establishing", round(start, 3), establish, cast, axis)]
    t = start + establish
    rest = todo
    if b is not None:
        first = todo[0]
        dur = round(LEAD_IN + first.seconds + TAIL, 2)
        two = cov.two_shot(pre + "two_shot", round(t, 3), dur, a, b, first.speaker, axis)
        two["dialogue"] = [{"character": first.speaker, "line": first.text, "at": LEAD_IN}]
        shots.append(two)
        t += dur
        rest = todo[1:]
    for j, ln in enumerate(rest):
        k = len(todo) - len(rest) + j
        prev = todo[k - 1].speaker if k > 0 else None
        nxt = next((x.speaker for x in todo[k + 1 :] if x.speaker != ln.speaker), None)
        listener = prev if prev not in (None, ln.speaker) else nxt or (b if ln.speaker != b else a)
        if listener == ln.speaker:
            listener = None
        words = len(ln.text.split())
        ots = listener is not None and (singles == "ots" or (singles == "mixed" and words < CLOSE_UP_WORDS))
        dur = round(LEAD_IN + ln.seconds + TAIL, 2)
        kind = "ots" if ots else "close_up"
        sid = f"{pre}line{k + 1:02d}_{kind}_{_slug(ln.speaker)}"[:64]
        shot = cov.single(sid, round(t, 3), dur, ln.speaker, listener, ots, axis)
        if shot["camera"]["move"] != ("over_the_shoulder" if ots else "close_up"):
            shot["id"] = f"{pre}line{k + 1:02d}_close_up_{_slug(ln.speaker)}"[:64]
        shot["dialogue"] = [{"character": ln.speaker, "line": ln.text, "at": LEAD_IN}]
        shots.append(shot)
        t += dur
    return shots


def cover(spec_data: dict, lines: Iterable, keep_shots: bool = False, **kw) -> dict:
    """A spec dict whose shots are the coverage of `lines` (after its own shots with
    `keep_shots`); `kw` as for plan_coverage."""
    shots = plan_coverage(spec_data, lines, **kw)
    out = dict(spec_data)
    out["shots"] = (list(spec_data.get("shots", [])) if keep_shots else []) + shots
    return out
