"""Spec checks for characters that need the world: actions that cannot happen, paths through
solid objects, feet below the ground. Each failure names the field it comes from."""

from __future__ import annotations

import numpy as np

from worldgen.character.gait import MOVING_SPEED
from worldgen.character.rig import action_layer

PATH_STEP = 0.1  # m between the points checked along a path
MAX_PATH_SAMPLES = 5_000  # a very long path is checked at this many points
BODY_RADIUS = 0.12  # m around the path line that must be clear (a torso's half depth)
HEIGHTS = (0.03, 0.5, 0.85)  # fractions of the character's height checked for clearance


def check_characters(spec, world, located, inside, below_plane) -> None:
    """`inside(world, oid, t, p)` and `below_plane(world, oid, t, p)` are the solid tests the
    camera checks use, so 'solid' means the same thing everywhere."""
    for i, c in enumerate(spec.world.characters):
        rig = world.characters[c.id]
        _check_actions(c, rig, located, i)
        seats = {a.target for a in c.actions if a.action == "sit" and a.target}
        for t, p, key in _path_samples(c, rig):
            for oid in world.objects():
                if oid in seats:
                    continue
                for frac in HEIGHTS:
                    for off in _ring(frac):
                        q = p + off + np.array([0.0, frac * c.height, 0.0])
                        if below_plane(world, oid, t, q):
                            raise located.error(
                                key,
                                f"feet below the ground '{oid}' at t={t:.2f}s "
                                f"(x={p[0]:.2f}, y={p[1]:.2f}, z={p[2]:.2f}); raise the path to its surface",
                            )
                        if inside(world, oid, t, q):
                            what = "feet are inside" if frac < 0.1 else "path passes through"
                            raise located.error(key, f"{what} '{oid}' at t={t:.2f}s (x={p[0]:.2f}, z={p[2]:.2f})")


def _ring(frac):
    if frac < 0.1:  # at the feet only the centre: a foot may stand right next to a wall
        return [np.zeros(3)]
    return [np.zeros(3)] + [
        BODY_RADIUS * np.array([np.cos(a), 0.0, np.sin(a)]) for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)
    ]


def _path_samples(c, rig):
    if not c.path:
        yield 0.0, np.asarray(c.position, float), ("world", "characters", rig.index, "position")
        return
    arc = rig.arc
    n = min(max(2, int(arc.length / PATH_STEP) + 1), MAX_PATH_SAMPLES)
    ks = [k.t for k in c.path]
    for s in np.linspace(0, arc.length, n):
        t = arc.t_at(s)
        key = int(np.clip(np.searchsorted(ks, t, side="right") - 1, 0, len(ks) - 1))
        yield t, rig.root(t), ("world", "characters", rig.index, "path", key)


def _check_actions(c, rig, located, i) -> None:
    spans: dict[str, list] = {}
    for k, a in enumerate(c.actions):
        where = ("world", "characters", i, "actions", k)
        end = a.end if a.end is not None else float("inf")
        if a.action in ("walk", "run"):
            probe = np.linspace(a.start, min(end, a.start + 60.0), 50)
            if not any(rig.arc.speed(t) > MOVING_SPEED for t in probe):
                raise located.error(
                    where,
                    f"{a.action} from t={a.start:g}s but the path does not move then (give 'path' keys over that time)",
                )
        layer = action_layer(a)
        for k2, s2, e2 in spans.get(layer, []):
            if a.start < e2 and s2 < end:
                raise located.error(
                    where,
                    f"overlaps action {k2} ('{c.actions[k2].action}'): one {layer.replace('_', ' ')} action at a time",
                )
        spans.setdefault(layer, []).append((k, a.start, end))
