"""Checks that need the whole spec but no geometry: ids, references, parent cycles."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from worldgen.spec.models import Spec
from worldgen.spec.painters import BUILT_IN

if TYPE_CHECKING:  # the loader imports this module to run its checks: a name for annotations only
    from worldgen.spec.loader import LocatedSpec


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


MAX_FILM_FRAMES = 1_000_000  # 11.5 hours at 24 fps: more is a typo, and would only hang


def check_frame_counts(spec: Spec, located: LocatedSpec) -> None:
    """Every frame is rendered, so a duration that means millions of frames is refused up front
    (compared as floats first: 1e300 s x fps has no integer frame count worth computing)."""
    fps, total = spec.render.fps, 0
    for s, shot in enumerate(spec.shots):
        frames = shot.duration * fps
        if not frames <= MAX_FILM_FRAMES:
            raise located.error(
                ("shots", s, "duration"),
                f"{shot.duration:g} s at {fps:g} fps is more than "
                f"{MAX_FILM_FRAMES:,} frames (the most a film may have)",
            )
        total += max(1, round(frames))
    if total > MAX_FILM_FRAMES:
        raise located.error(
            ("shots",), f"the shots add up to {total:,} frames; a film may have at most {MAX_FILM_FRAMES:,}"
        )


def check_references(spec: Spec, located: LocatedSpec) -> None:
    check_frame_counts(spec, located)
    ids: dict[str, int] = {}
    for i, o in enumerate(spec.world.objects):
        if o.id in ids:
            raise located.error(("world", "objects", i, "id"), f"duplicate object id '{o.id}'")
        ids[o.id] = i
    chars: dict[str, int] = {}
    for i, c in enumerate(spec.world.characters):
        if c.id in ids or c.id in chars:
            raise located.error(
                ("world", "characters", i, "id"), f"duplicate id '{c.id}' (objects and characters share names)"
            )
        chars[c.id] = i
    known = list(ids)
    known_all = known + list(chars)

    def need(oid: str, path: tuple):
        if oid not in ids:
            raise located.error(path, f"no object '{oid}'{_did_you_mean(oid, known)}")

    def need_any(oid: str, path: tuple):
        if oid not in ids and oid not in chars:
            raise located.error(path, f"no object or character '{oid}'{_did_you_mean(oid, known_all)}")

    def need_character(oid: str, path: tuple):
        if oid not in chars:
            raise located.error(path, f"no character '{oid}'{_did_you_mean(oid, list(chars))}")

    for i, c in enumerate(spec.world.characters):
        for k, a in enumerate(c.actions):
            where = ("world", "characters", i, "actions", k, "target")
            if a.target is None:
                continue
            if a.action == "sit":
                need(a.target, where)
            else:
                need_any(a.target, where)
            if a.target == c.id:
                raise located.error(where, f"a character cannot {a.action.replace('_', ' ')} itself")

    for i, o in enumerate(spec.world.objects):
        if o.parent is not None:
            need(o.parent, ("world", "objects", i, "parent"))
            if o.parent == o.id:
                raise located.error(("world", "objects", i, "parent"), "an object cannot be its own parent")
    for i, o in enumerate(spec.world.objects):  # cycles
        seen, cur = {o.id}, o
        while cur.parent is not None:
            cur = spec.world.objects[ids[cur.parent]]
            if cur.id in seen:
                raise located.error(("world", "objects", i, "parent"), f"parent cycle through '{cur.id}'")
            seen.add(cur.id)
    if spec.render.painter not in BUILT_IN:
        raise located.error(
            ("render", "painter"),
            f"no painter '{spec.render.painter}'{_did_you_mean(spec.render.painter, list(BUILT_IN))} "
            f"(painters: {', '.join(BUILT_IN)})",
        )
    shot_ids: set[str] = set()
    for s, shot in enumerate(spec.shots):
        if shot.id in shot_ids:
            raise located.error(("shots", s, "id"), f"duplicate shot id '{shot.id}'")
        shot_ids.add(shot.id)
        cam = shot.camera
        if cam.target is not None:
            if cam.move in ("over_the_shoulder", "close_up"):
                need_character(cam.target, ("shots", s, "camera", "target"))
            else:
                need_any(cam.target, ("shots", s, "camera", "target"))
        if cam.over is not None:
            need_character(cam.over, ("shots", s, "camera", "over"))
            if cam.over == cam.target:
                raise located.error(("shots", s, "camera", "over"), "'over' and 'target' must be two characters")
        for k, key in enumerate(cam.keyframes or []):
            if key.target is not None:
                need_any(key.target, ("shots", s, "camera", "keyframes", k, "target"))
    from worldgen.spec.film_checks import check_film

    check_film(spec, located)
