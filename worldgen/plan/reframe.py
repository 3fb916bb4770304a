"""Re-frame planned shots whose subject is hidden behind another object.

The solver frames subjects on their bounds but does not see what stands between the camera
and the subject over the shot (a boat passing behind a lighthouse). After the layout is
placed, every shot with a subject is measured (`passes/visibility.py`); a shot whose subject
is hidden in more than a third of its frames gets its camera moved by the smallest change
from a fixed list that clears the view: raise it, then swing it around the subject, then
both. Deterministic: the same spec gives the same candidates in the same order."""

from __future__ import annotations

import copy
import math

import numpy as np

from worldgen.passes.visibility import WARN_FRACTION, VisibilityProbe, shot_visibility, subject_of
from worldgen.spec.models import Shot

# (degrees around the subject, metres up), smallest change first
CANDIDATES = (
    (0, 1.5),
    (30, 0),
    (-30, 0),
    (0, 3.0),
    (30, 1.5),
    (-30, 1.5),
    (60, 0),
    (-60, 0),
    (60, 1.5),
    (-60, 1.5),
    (90, 0),
    (-90, 0),
    (0, 6.0),
    (120, 0),
    (-120, 0),
    (180, 0),
)


def _swing(p, pivot, deg: float, rise: float) -> list[float]:
    """Point p turned by deg about the vertical axis through pivot (from +Z toward +X), raised."""
    a = math.radians(deg)
    x, z = p[0] - pivot[0], p[2] - pivot[2]
    return [
        round(float(pivot[0] + x * math.cos(a) + z * math.sin(a)), 3),
        round(float(p[1] + rise), 3),
        round(float(pivot[2] - x * math.sin(a) + z * math.cos(a)), 3),
    ]


def moved_camera(cam: dict, pivot, deg: float, rise: float) -> dict | None:
    """The camera block swung `deg` around `pivot` and raised `rise` metres, in its own
    vocabulary; None when the move has no such variant."""
    c = copy.deepcopy(cam)
    move = c.get("move")
    if c.get("keyframes"):
        for k in c["keyframes"]:
            k["position"] = _swing(k["position"], pivot, deg, rise)
            if k.get("look_at") is not None:
                k["look_at"] = _swing(k["look_at"], pivot, deg, 0.0)
        return c
    if move == "orbit":
        c["start_angle"] = round(c.get("start_angle", 0.0) + deg, 3)
        if rise:
            c["height"] = round(float(c["height"] if c.get("height") is not None else pivot[1]) + rise, 3)
        return c
    if move == "track":
        off = c.get("offset") or [0.0, 2.0, 6.0]
        c["offset"] = _swing(off, (0.0, 0.0, 0.0), deg, rise)
        return c
    if move == "close_up":
        if rise:
            return None
        c["start_angle"] = round(c.get("start_angle", 0.0) + deg, 3)
        return c
    if move == "over_the_shoulder":
        if deg or rise:
            return None
        return c
    if c.get("position") is None:
        return None
    c["position"] = _swing(c["position"], pivot, deg, rise)
    if c.get("look_at") is not None:
        c["look_at"] = _swing(c["look_at"], pivot, deg, 0.0)
    return c


def reframe_hidden(data: dict, spec, world, threshold: float = WARN_FRACTION, skip=()) -> list[str]:
    """Move, in `data` (the spec as plain data, matching `spec`), the camera of every shot
    whose subject is hidden in more than `threshold` of its frames. Returns notes; shots in
    `skip` (indices) are left alone."""
    r = spec.render
    probe = None
    notes = []
    for i, shot in enumerate(spec.shots):
        subject = subject_of(shot)
        if subject is None or i in skip:
            continue
        probe = probe or VisibilityProbe(world)
        v = shot_visibility(world, shot, i, r.width, r.height, r.fps, probe)
        if v is None or v.fraction <= threshold:
            continue
        pivot = np.asarray(world.position(subject, shot.start), float)
        best = (v.fraction, None, None)
        for deg, rise in CANDIDATES:
            cam = moved_camera(data["shots"][i]["camera"], pivot, deg, rise)
            if cam is None:
                continue
            try:
                trial = Shot.model_validate({**data["shots"][i], "camera": cam})
            except ValueError:
                continue
            w = shot_visibility(world, trial, i, r.width, r.height, r.fps, probe)
            if w is not None and w.fraction < best[0]:
                best = (w.fraction, cam, (deg, rise))
            if w is not None and w.fraction <= threshold:
                break
        if best[1] is None:
            notes.append(
                f"shot {i + 1}: '{subject}' is hidden behind '{v.occluder}' in {100 * v.fraction:.0f}% of frames; "
                "no camera found that shows it"
            )
            continue
        data["shots"][i]["camera"] = best[1]
        deg, rise = best[2]
        notes.append(
            f"shot {i + 1}: '{subject}' was hidden behind '{v.occluder}' in {100 * v.fraction:.0f}% of frames; "
            f"camera swung {deg:+g} degrees and raised {rise:g} m (hidden {100 * best[0]:.0f}%)"
        )
    return notes
