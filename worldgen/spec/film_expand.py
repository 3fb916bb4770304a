"""A film spec (format 2) unrolled into one ordinary format 1 `Spec` per scene.

Continuity is decided here, once: which outfit each cast member wears in each scene, where
each prop of each set stands, which lights a time of day gives. The renderer then sees plain
scenes and cannot drift, because nothing it receives was left for it to guess.

Errors keep pointing at the film file: each expanded scene carries a `SceneLocated` that maps
a path in the scene (`world.objects[3].position`) back to where that value was written in the
film (`scenes[2].changes[0].position`, or `sets[0].objects[5].position` if no scene moved it).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from worldgen.spec.film import FilmSpec, Scene
from worldgen.spec.loader import LocatedSpec, format_path, spec_error
from worldgen.spec.models import ObjectSpec, Spec

# time of day -> (sun elevation deg, azimuth deg [0 = +Z, 90 = +X], sun colour, intensity,
# sky fill colour, fill intensity, style word for the sky palette). Morning sun in the east
# (+X), evening sun in the west; night is a cool, weak moon (the style word 'night' picks the
# night sky, since the moon stands high).
TIME_LIGHTS: dict[str, tuple[float, float, str, float, str, float, str]] = {
    "dawn": (5.0, 80.0, "#ffb98a", 1.6, "#8a94b8", 0.35, "dawn"),
    "morning": (25.0, 110.0, "#fff0d8", 2.6, "#b4c6e0", 0.4, ""),
    "day": (60.0, 160.0, "#fffaf0", 3.0, "#c0d4ec", 0.45, ""),
    "afternoon": (35.0, 230.0, "#ffeed6", 2.8, "#bccde6", 0.4, ""),
    "dusk": (6.0, 275.0, "#ff9d5c", 1.5, "#8c7fa8", 0.3, "dusk"),
    "evening": (2.0, 285.0, "#ff7f50", 0.9, "#5a5f8c", 0.3, ""),
    "night": (35.0, 200.0, "#9db4ff", 0.45, "#1c2440", 0.25, "night"),
}
INTERIOR_SUN = 0.35  # indoors the sun reaches in through windows, dimmed
INTERIOR_FILL = 1.6
BLOCKING_FIELDS = ("position", "facing", "path", "curve", "actions")


def time_lights(time: str, interior: bool) -> list[dict]:
    """The sun (or moon) and sky fill of a time of day, as spec light data."""
    el, az, colour, power, fill, fill_power, _ = TIME_LIGHTS[time]
    e, a = math.radians(el), math.radians(az)
    to_sun = (math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a))
    sun = {
        "type": "sun",
        "direction": [round(-c, 6) for c in to_sun],
        "color": colour,
        "intensity": round(power * (INTERIOR_SUN if interior else 1.0), 4),
    }
    ambient = {
        "type": "ambient",
        "color": fill,
        "intensity": round(fill_power * (INTERIOR_FILL if interior else 1.0), 4),
    }
    return [sun, ambient]


class SceneLocated(LocatedSpec):
    """The located data of one expanded scene: paths in the scene, lines and names in the film."""

    def __init__(self, data: Any, film: LocatedSpec, translate):
        super().__init__(data, {}, film.file)
        self.film, self.translate = film, translate

    def line(self, path) -> int | None:
        return self.film.line(self.translate(tuple(path)))

    def error(self, path, message: str):
        film_path = self.translate(tuple(path))
        return spec_error(message, self.file, self.film.line(film_path), format_path(film_path) or None)


@dataclass
class _Prop:
    obj: ObjectSpec
    origin: tuple  # where the object was defined in the film
    overrides: dict = field(default_factory=dict)  # field -> film path of the change that set it


@dataclass
class ExpandedScene:
    """One scene as the renderer sees it, and what continuity needs to know about it."""

    index: int
    scene: Scene
    spec: Spec
    wardrobe: dict[str, str]  # cast id -> outfit worn in this scene
    changed_wardrobe: set[str]  # cast ids whose outfit this scene changed (declared)
    moved_props: set[str]  # prop ids this scene (not an earlier one) changed, added or removed


def _close(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _descendants(props: dict[str, _Prop], root: str) -> list[str]:
    out, frontier = [root], [root]
    while frontier:
        kids = [pid for pid, p in props.items() if p.obj.parent in frontier and pid not in out]
        out += kids
        frontier = kids
    return out


def check_film_ids(film: FilmSpec, located: LocatedSpec) -> None:
    """Names the film refers to, before any scene is expanded."""
    seen: dict[str, str] = {}
    for i, s in enumerate(film.sets):
        if s.id in seen:
            raise located.error(("sets", i, "id"), f"duplicate set id '{s.id}'")
        seen[s.id] = "set"
    cast_ids: set[str] = set()
    for i, c in enumerate(film.cast):
        if c.id in cast_ids:
            raise located.error(("cast", i, "id"), f"duplicate cast id '{c.id}'")
        cast_ids.add(c.id)
    for i, s in enumerate(film.sets):
        for j, o in enumerate(s.objects):
            if o.id in cast_ids:
                raise located.error(("sets", i, "objects", j, "id"), f"'{o.id}' is a cast member's id")
    scene_ids: set[str] = set()
    shot_ids: dict[str, int] = {}
    sets = [s.id for s in film.sets]
    for n, scene in enumerate(film.scenes):
        if scene.id in scene_ids:
            raise located.error(("scenes", n, "id"), f"duplicate scene id '{scene.id}'")
        scene_ids.add(scene.id)
        if scene.set not in sets:
            raise located.error(("scenes", n, "set"), f"no set '{scene.set}'{_close(scene.set, sets)}")
        present: set[str] = set()
        for j, b in enumerate(scene.cast):
            if b.id not in cast_ids:
                raise located.error(("scenes", n, "cast", j, "id"), f"no cast member '{b.id}'{_close(b.id, cast_ids)}")
            if b.id in present:
                raise located.error(("scenes", n, "cast", j, "id"), f"'{b.id}' is already in this scene")
            present.add(b.id)
            if film.member(b.id).voice_only:
                raise located.error(
                    ("scenes", n, "cast", j, "id"),
                    f"'{b.id}' is a voice only (voice_only: true) and has no body to place in a scene",
                )
            if b.wardrobe is not None:
                outfits = film.member(b.id).wardrobe
                if b.wardrobe not in outfits:
                    raise located.error(
                        ("scenes", n, "cast", j, "wardrobe"),
                        f"'{b.id}' has no outfit '{b.wardrobe}'{_close(b.wardrobe, outfits)} "
                        f"(outfits: {', '.join(outfits)})",
                    )
        for k, shot in enumerate(scene.shots):
            if shot.id in shot_ids:
                raise located.error(
                    ("scenes", n, "shots", k, "id"),
                    f"duplicate shot id '{shot.id}' (shot ids are unique across the film; music cues name them)",
                )
            shot_ids[shot.id] = n


def expand_film(film: FilmSpec, located: LocatedSpec | None = None, base_dir: Path | None = None, check: bool = True):
    """Every scene of the film as an `ExpandedScene`, in film order. With `check`, each scene's
    spec passes the same reference checks a format 1 spec does, with errors placed in the film."""
    located = located or LocatedSpec({}, {}, "<film>")
    check_film_ids(film, located)
    set_index = {s.id: i for i, s in enumerate(film.sets)}
    cast_index = {c.id: i for i, c in enumerate(film.cast)}

    def initial(sid: str) -> dict[str, _Prop]:
        k = set_index[sid]
        return {o.id: _Prop(o, ("sets", k, "objects", j)) for j, o in enumerate(film.sets[k].objects)}

    layouts: dict[str, dict[str, _Prop]] = {}
    outfits = {c.id: next(iter(c.wardrobe)) for c in film.cast}
    out: list[ExpandedScene] = []
    for n, scene in enumerate(film.scenes):
        props = initial(scene.set) if scene.reset or scene.set not in layouts else dict(layouts[scene.set])
        moved: set[str] = set()
        for j, o in enumerate(scene.add):
            if o.id in props or o.id in cast_index:
                raise located.error(("scenes", n, "add", j, "id"), f"'{o.id}' is already in set '{scene.set}'")
            props[o.id] = _Prop(o, ("scenes", n, "add", j))
            moved.add(o.id)
        for j, change in enumerate(scene.changes):
            where = ("scenes", n, "changes", j)
            if change.id not in props:
                raise located.error(
                    where + ("id",), f"no prop '{change.id}' in set '{scene.set}' here{_close(change.id, props)}"
                )
            if change.remove:
                for pid in _descendants(props, change.id):
                    props.pop(pid)
                    moved.add(pid)
                continue
            old = props[change.id]
            update = {
                f: getattr(change, f)
                for f in ("position", "rotation", "scale", "appearance")
                if getattr(change, f) is not None
            }
            props[change.id] = _Prop(
                old.obj.model_copy(update=update), old.origin, {**old.overrides, **{f: where + (f,) for f in update}}
            )
            moved.add(change.id)
        layouts[scene.set] = props
        changed: set[str] = set()
        for b in scene.cast:
            if b.wardrobe is not None and b.wardrobe != outfits[b.id]:
                outfits[b.id] = b.wardrobe
                changed.add(b.id)
        worn = {b.id: outfits[b.id] for b in scene.cast}
        spec = _scene_spec(film, n, scene, props, worn, located, base_dir, check)
        out.append(ExpandedScene(n, scene, spec, worn, changed, moved))
    return out


def _dump(model) -> dict:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _voice_overs(shot: dict, voices: dict) -> dict:
    """A scene's shot whose voice-only cast's lines are voice overs: they have no body in the
    scene's world (nothing for a mouth to move), so each line carries its speaker's voice
    (`Line.voice`), and it keeps its place, so that the lip sync times the lines after it as
    the film's sound does (both place lines by sound/mix.line_times). `voices`: voice-only
    cast id -> its voice as spec data ({} where the film leaves it open; the film's render
    writes the voice it deals, render/film_render.voiced_scenes)."""
    for ln in shot.get("dialogue", []):
        if ln.get("character") in voices:
            ln["voice"] = voices[ln["character"]]
    return shot


def _scene_spec(film: FilmSpec, n: int, scene: Scene, props: dict[str, _Prop], worn, located, base_dir, check) -> Spec:
    the_set = film.set_(scene.set)
    voices = {c.id: _dump(c.voice) if c.voice is not None else {} for c in film.cast if c.voice_only}
    set_k = film.sets.index(the_set)
    prop_list = list(props.values())
    characters, blocking_of = [], []
    for j, b in enumerate(scene.cast):
        member = film.member(b.id)
        words = ", ".join(w for w in (member.wardrobe[worn[b.id]], member.appearance) if w.strip())
        c = {"id": member.id, "height": member.height, "build": member.build, "appearance": words}
        if member.label != "person":
            c["label"] = member.label
        for f in ("voice", "asset"):
            if getattr(member, f) is not None:
                c[f] = _dump(getattr(member, f))
        if member.clips:
            c["clips"] = dict(member.clips)
        c.update({k: v for k, v in _dump(b).items() if k in BLOCKING_FIELDS})
        characters.append(c)
        blocking_of.append(j)
    lights = time_lights(scene.time, the_set.interior)
    light_origin = [("scenes", n, "time")] * len(lights)
    lights += [_dump(x) for x in the_set.lights]
    light_origin += [("sets", set_k, "lights", j) for j in range(len(the_set.lights))]
    lights += [_dump(x) for x in scene.lights]
    light_origin += [("scenes", n, "lights", j) for j in range(len(scene.lights))]
    word = TIME_LIGHTS[scene.time][6]
    style = ", ".join(w for w in (film.style, word, scene.style) if w.strip())
    data: dict[str, Any] = {
        "worldgen": 1,
        "title": film.title,
        "seed": film.seed,
        "render": _dump(film.render),
        "style": style,
        "world": {"objects": [_dump(p.obj) for p in prop_list], "characters": characters, "lights": lights},
        "shots": [_voice_overs(_dump(s), voices) for s in scene.shots],
    }
    cast_index = {c.id: i for i, c in enumerate(film.cast)}

    def translate(path: tuple) -> tuple:
        if not path:
            return ("scenes", n)
        head = path[0]
        if head == "shots":
            return ("scenes", n) + path
        if head != "world" or len(path) < 2:
            return path if head in ("render", "style", "seed", "title") else ("scenes", n)
        group, rest = path[1], path[2:]
        if not rest or not isinstance(rest[0], int):
            return ("scenes", n)
        i, tail = rest[0], rest[1:]
        if group == "objects" and i < len(prop_list):
            p = prop_list[i]
            if tail and tail[0] in p.overrides:
                return p.overrides[tail[0]] + tail[1:]
            return p.origin + tail
        if group == "characters" and i < len(characters):
            j = blocking_of[i]
            b = scene.cast[j]
            if tail and tail[0] in BLOCKING_FIELDS + ("id",):
                return ("scenes", n, "cast", j) + tail
            if tail and tail[0] == "appearance":
                if b.wardrobe is not None:
                    return ("scenes", n, "cast", j, "wardrobe")
                return ("cast", cast_index[b.id], "wardrobe")
            return ("cast", cast_index[b.id]) + tail
        if group == "lights" and i < len(light_origin):
            return light_origin[i] + tail
        return ("scenes", n)

    scene_located = SceneLocated(data, located, translate)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(p for p in err["loc"] if isinstance(p, (int, str)) and not str(p).startswith("function"))
        raise scene_located.error(loc, err.get("msg", "not valid").removeprefix("Value error, ")) from None
    object.__setattr__(spec, "_located", scene_located)
    object.__setattr__(spec, "_base_dir", base_dir or Path.cwd())
    if check:
        from worldgen.spec.references import check_references

        check_references(spec, scene_located)
    return spec


def edit_spec(film: FilmSpec, scenes: list[ExpandedScene], located: LocatedSpec | None = None) -> Spec:
    """The whole film as one format 1 spec for the edit and the sound: every shot in film
    order, the whole cast (for voices, lower thirds and credits), the film's sound and edit.
    Its world is the first scene's, only so that it is a valid spec: nothing renders it."""
    located = located or LocatedSpec({}, {}, "<film>")
    first = scenes[0].spec
    cast = [
        {
            **({"voice": _dump(c.voice)} if c.voice is not None else {}),
            "id": c.id,
            "height": c.height,
            "build": c.build,
            "appearance": c.appearance,
        }
        for c in film.cast
    ]
    data: dict[str, Any] = {
        "worldgen": 1,
        "title": film.title,
        "seed": film.seed,
        "render": _dump(film.render),
        "style": film.style,
        "world": {"objects": [_dump(o) for o in first.world.objects if o.id not in {c.id for c in film.cast}]},
        "shots": [_dump(s) for e in scenes for s in e.scene.shots],
    }
    data["world"]["characters"] = cast
    if film.sound is not None:
        data["sound"] = _dump(film.sound)
    if film.edit is not None:
        data["edit"] = _dump(film.edit)
    owner = [(e.index, k) for e in scenes for k in range(len(e.scene.shots))]

    def translate(path: tuple) -> tuple:
        if path and path[0] == "shots" and len(path) > 1 and isinstance(path[1], int) and path[1] < len(owner):
            n, k = owner[path[1]]
            return ("scenes", n, "shots", k) + path[2:]
        if path[:2] == ("world", "characters") and len(path) > 2:
            return ("cast",) + path[2:]
        return path

    spec = Spec.model_validate(data)
    edit_located = SceneLocated(data, located, translate)
    object.__setattr__(spec, "_located", edit_located)
    object.__setattr__(spec, "_base_dir", getattr(first, "_base_dir", None) or Path.cwd())
    from worldgen.spec.film_checks import check_film

    check_film(spec, edit_located)
    return spec
