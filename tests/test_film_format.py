"""The film spec (format 2): how it unrolls into scenes, and where its errors point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from worldgen.errors import SpecError
from worldgen.spec.film_expand import TIME_LIGHTS, time_lights
from worldgen.spec.film_loader import Film, load_any, load_film, load_film_text
from worldgen.spec.models import Spec
from worldgen.world import World

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT / "tests" / "films" / "two_sets.yaml"
TEXT = FILM.read_text()


def _scene(film: Film, sid: str):
    return next(e for e in film.scenes if e.scene.id == sid)


def test_props_persist_within_a_set_and_never_leak_to_another():
    film = load_film(FILM)
    s2, s3, s4 = (_scene(film, s) for s in ("s2", "s3", "s4"))
    # s2 added the hook; s3 (same set, later) still has it, without saying so
    assert "coat_hook" in [o.id for o in s3.spec.world.objects]
    assert s3.spec.object("bench").position == (1, 0.45, -2)
    assert s2.spec.object("bench").position == (0, 0.45, -2)  # the move is not retroactive
    # the harbour wall in s4 is as s1 left it, untouched by what happened in the boathouse
    assert [o.id for o in s4.spec.world.objects] == ["ground", "crate", "post"]
    assert s3.moved_props == {"bench"} and s2.moved_props == {"coat_hook"} and not s4.moved_props


def test_a_later_scene_of_the_set_sees_the_change_unless_it_resets():
    extra = """
  - id: s5
    set: boathouse
    shots:
      - {id: s5_a, duration: 1, camera: {move: static, position: [0, 1.6, 4], look_at: [0, 1, -1]}}
"""
    film = load_film_text(TEXT + extra, "f.yaml")
    assert _scene(film, "s5").spec.object("bench").position == (1, 0.45, -2)
    reset = load_film_text(TEXT + extra.replace("set: boathouse", "set: boathouse\n    reset: true"), "f.yaml")
    objs = _scene(reset, "s5").spec.world.objects
    assert [o.id for o in objs] == ["floor", "bench", "lamp"]
    assert objs[1].position == (0, 0.45, -2)


def test_wardrobe_changes_only_where_a_scene_says_so():
    film = load_film(FILM)
    worn = [e.wardrobe.get("mara") for e in film.scenes]
    assert worn == ["oilskin", "oilskin", "coat", "coat"]  # s4 keeps the coat without restating it
    assert [sorted(e.changed_wardrobe) for e in film.scenes] == [[], [], ["mara"], []]
    s1, s4 = film.scenes[0].spec, film.scenes[3].spec
    mara = {e.scene.id: next(c for c in e.spec.world.characters if c.id == "mara") for e in film.scenes}
    assert "yellow oilskin" in mara["s1"].appearance and "blue wool coat" in mara["s4"].appearance
    assert mara["s1"].appearance.endswith("brown skin, black curly hair")  # the body never changes
    assert [c.id for c in s1.world.characters] == ["mara", "tomas"] and [c.id for c in s4.world.characters] == ["mara"]


def test_time_of_day_sets_the_sun_not_the_layout():
    film = load_film(FILM)
    s1, s4 = film.scenes[0].spec, film.scenes[3].spec
    assert [o.model_dump() for o in s1.world.objects] == [o.model_dump() for o in s4.world.objects]
    day, night = s1.world.lights[0], s4.world.lights[0]
    assert day.intensity > 5 * night.intensity and "night" in s4.style and "night" not in s1.style
    # the sun's elevation is the table's: direction travels down at sin(elevation)
    for time, (el, az, *_rest) in TIME_LIGHTS.items():
        sun = time_lights(time, interior=False)[0]
        d = np.array(sun["direction"])
        assert np.isclose(np.linalg.norm(d), 1, atol=1e-5)
        assert np.isclose(-d[1], np.sin(np.radians(el)), atol=1e-5)
        assert np.isclose(np.degrees(np.arctan2(-d[0], -d[2])) % 360, az, atol=1e-3)
    # interiors dim the sun
    assert time_lights("day", True)[0]["intensity"] < time_lights("day", False)[0]["intensity"]


def test_every_scene_is_a_world_that_builds():
    film = load_film(FILM)
    for e in film.scenes:
        world = World(e.spec)
        assert set(world.static_ids) >= {o.id for o in e.spec.world.objects if o.motion is None}
    assert [s.id for s in film.edit.shots] == ["s1_wide", "s2_wide", "s3_two", "s4_end"]
    assert [c.id for c in film.edit.world.characters] == ["mara", "tomas"]


def test_format_1_specs_load_unchanged():
    spec = load_any(ROOT / "scenes" / "lighthouse.yaml")
    assert isinstance(spec, Spec) and spec.worldgen == 1
    assert isinstance(load_any(FILM), Film)


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("look_at: [0, 1, -1]}", "target: nobody}", ":58: scenes[1].shots[0].camera.target: no object or character"),
        ("{id: bench, position", "{id: bnch, position", ":63: scenes[2].changes[0].id: no prop 'bnch' in set"),
        ("wardrobe: coat,", "wardrobe: coats,", ":65: scenes[2].cast[0].wardrobe: 'mara' has no outfit 'coats'"),
        ("radius: 0.15, height: 1.0", "radius: -0.15, height: 1.0", ":27: sets[0].objects[2].radius:"),
        ("set: boathouse\n    time: night", "set: boathose\n    time: night", ":60: scenes[2].set: no set 'boathose'"),
        ("id: s4_end", "id: s3_two", ":77: scenes[3].shots[0].id: duplicate shot id 's3_two'"),
        ("  - id: tomas\n    appearance", "  - id: tomas\n    apperance", ":18: cast[1].apperance: unknown field"),
        (
            "{id: tomas, position: [1, 0, 2]}",
            "{id: tomas, position: [1, 0, 2], actions: [{action: sit, target: chair}]}",
            ":66: scenes[2].cast[1].actions[0].target: no object 'chair'",
        ),
        (  # a line spoken by someone who is not in the scene
            "camera: {move: static, position: [0, 2, 6], look_at: [0, 1, 0]}",
            "camera: {move: static, position: [0, 2, 6], look_at: [0, 1, 0]}\n        dialogue: [{character: tomas, line: hi}]",
            ":80: scenes[3].shots[0].dialogue[0].character: no character 'tomas'",
        ),
        ("{id: bench, position: [1, 0.45, -2]}", "{id: bench}", ":63: scenes[2].changes[0]: give what changes"),
    ],
)
def test_errors_point_into_the_film_file(old, new, expected):
    assert old in TEXT
    with pytest.raises(SpecError) as e:
        load_film_text(TEXT.replace(old, new, 1), "film.yaml")
    assert str(e.value).startswith("film.yaml" + expected), str(e.value)


def test_a_moved_prop_error_points_at_the_change_not_the_set():
    bad = TEXT.replace("{id: bench, position: [1, 0.45, -2]}", "{id: bench, position: [0, 0.45, -1]}")
    bad = bad.replace("look_at: [0, 1, 0]}\n    cast", "look_at: [0, 1, 0]}")  # no-op guard
    # a camera inside the moved bench is reported at the scene's change of the bench
    bad = bad.replace("position: [-2, 1.6, 4], look_at: [0, 1, 0]", "position: [0, 0.45, -1], look_at: [0, 1, 0]")
    from worldgen.world_checks import check_geometry

    film = load_film_text(bad, "film.yaml")
    s3 = film.scenes[2].spec
    with pytest.raises(SpecError) as e:
        check_geometry(s3, World(s3))
    assert "scenes[2].shots[0].camera" in str(e.value) and "bench" in str(e.value)
    line = s3._located.line(("world", "objects", 1, "position"))
    assert TEXT.splitlines()[line - 1].strip().startswith("- {id: bench, position: [1, 0.45, -2]}")


def test_cli_validates_a_film_and_fails_on_a_bad_one(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "worldgen", "validate", str(FILM)], capture_output=True, text=True)
    assert ok.returncode == 0 and "4 scenes, 2 sets, 2 cast, 4 shots" in ok.stdout, ok.stdout + ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXT.replace("set: boathouse\n    time: night", "set: boathose\n    time: night"))
    r = subprocess.run([sys.executable, "-m", "worldgen", "validate", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "scenes[2].set: no set 'boathose'" in r.stderr and "Traceback" not in r.stderr
    schema = subprocess.run([sys.executable, "-m", "worldgen", "schema", "--film"], capture_output=True, text=True)
    assert '"scenes"' in schema.stdout and '"wardrobe"' in schema.stdout


def test_validate_warns_of_a_hidden_subject_inside_a_film_scene(tmp_path):
    """A crate between the camera and Mara in the last scene: the warning names that scene's
    shot in the film file, and the film still validates (exit 0)."""
    text = TEXT.replace(
        "camera: {move: static, position: [0, 2, 6], look_at: [0, 1, 0]}",
        "camera: {move: static, position: [0, 1, 6], target: mara}",
    ).replace(
        "{id: crate, shape: box, size: [0.6, 0.4, 0.4], position: [1.5, 0.2, 0]",
        "{id: crate, shape: box, size: [1.5, 2.5, 0.4], position: [0, 1.25, 3]",
    )
    film = tmp_path / "hidden.yaml"
    film.write_text(text)
    r = subprocess.run([sys.executable, "-m", "worldgen", "validate", str(film)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    warning = " ".join(r.stderr.split())
    assert "warning:" in warning and "scenes[3].shots[0].camera" in warning and "'crate'" in warning, r.stderr


def test_a_character_keeps_one_voice_in_every_scene():
    """Voices the spec leaves open are dealt over the whole cast: Tomas alone in a scene
    speaks (and moves his mouth) with the voice the film's audio gives him, not the first
    free voice that a scene of one would deal him (the film's render writes it into the
    scene's spec: tests/test_film_scene_voices.py)."""
    from worldgen.render.film_render import voiced_scenes
    from worldgen.sound.voices import cast_voices

    text = TEXT.replace(
        "      - {id: mara, position: [0, 0, 0]}\n    shots:\n      - id: s2_wide",
        "      - {id: tomas, position: [0, 0, 0]}\n    shots:\n      - id: s2_wide",
    )
    film = load_film_text(text, "f.yaml")
    alone = voiced_scenes(film, None)[1]
    assert [c.id for c in alone.world.characters] == ["tomas"]
    film_voices = cast_voices(film.edit)
    assert film_voices["tomas"] != film_voices["mara"]
    assert cast_voices(alone)["tomas"] == film_voices["tomas"]
