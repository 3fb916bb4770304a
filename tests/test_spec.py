"""Spec validation: the example validates; every kind of bad input is one located line."""

import json
import subprocess
import sys

import pytest

from worldgen.errors import SpecError
from worldgen.spec import load_spec
from worldgen.world_checks import check_geometry
from worldgen.world import World
from conftest import ROOT

GOOD = """
worldgen: 1
title: t
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
    - {id: boat, shape: box, size: [3, 1, 1], position: [0, 0.5, 0]}
shots:
  - id: a
    duration: 1
    camera: {move: static, position: [0, 2, 10], target: boat}
"""


def load_checked(path):
    spec = load_spec(path)
    check_geometry(spec, World(spec))
    return spec


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "scenes").glob("*.yaml")))
def test_example_scenes_validate(name):
    from worldgen.spec.film_loader import Film, load_any

    loaded = load_any(ROOT / "scenes" / name)
    if isinstance(loaded, Film):  # a film (format 2): every scene's world is checked
        assert loaded.spec.worldgen == 2 and loaded.scenes
        for scene in loaded.scenes:
            check_geometry(scene.spec, World(scene.spec))
        return
    spec = load_checked(ROOT / "scenes" / name)
    assert spec.worldgen == 1 and spec.shots


def test_lighthouse_matches_issue_example():
    spec = load_checked(ROOT / "scenes" / "lighthouse.yaml")
    assert [s.id for s in spec.shots] == ["establishing", "boat_pass", "push_in", "still"]
    assert spec.object("lamp").parent == "tower"
    assert spec.object("boat").motion[1].rotation == (0, 20, 0)
    assert sum(s.duration for s in spec.shots) == 10


BAD = [
    # (replacement of GOOD text, expected line, expected fragment)
    (
        (
            "camera: {move: static, position: [0, 2, 10], target: boat}",
            "camera: {move: static, position: [0, 2, 10], target: boaat}",
        ),
        10,
        "shots[0].camera.target: no object or character 'boaat' (did you mean 'boat'?)",
    ),
    (("size: [3, 1, 1]", "size: [3, -1, 1]"), 6, "world.objects[1]"),
    (("title: t", "titel: t"), 2, "titel: unknown field (did you mean 'title'?)"),
    (("duration: 1", "duration: 0"), 9, "shots[0].duration"),
    (("shape: box", "shape: blob"), 6, "world.objects[1].shape"),
    (("worldgen: 1", "worldgen: 9"), 1, "worldgen"),
    (("{id: boat,", "{id: ground,"), 6, "duplicate object id 'ground'"),
    (("position: [0, 2, 10], target", "position: [0, 0.5, 0.2], target"), 10, "inside object 'boat'"),
    (("position: [0, 2, 10], target", "position: [0, -2, 10], target"), 10, "below 'ground'"),
    (("position: [0, 2, 10], target: boat}", "position: [0, 2, 10], look_at: [0, 2, 20], fov: 20}"), 0, ""),
]


@pytest.mark.parametrize("repl,line,fragment", BAD)
def test_bad_specs_are_located(tmp_path, repl, line, fragment):
    text = GOOD.replace(*repl)
    assert text != GOOD
    p = tmp_path / "x.yaml"
    p.write_text(text.lstrip())
    if not fragment:  # looking away from everything is allowed when nothing is targeted
        load_checked(p)
        return
    with pytest.raises(SpecError) as e:
        load_checked(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}: "), msg
    assert fragment in msg
    assert "\n" not in msg


def test_parent_cycle(tmp_path):
    text = GOOD.replace("{id: boat, shape: box,", "{id: boat, parent: mast, shape: box,").replace(
        "shots:", "    - {id: mast, parent: boat, shape: box, size: [1, 1, 1]}\nshots:"
    )
    p = tmp_path / "c.yaml"
    p.write_text(text.lstrip())
    with pytest.raises(SpecError, match="parent cycle"):
        load_spec(p)


def test_target_never_in_frame(tmp_path):
    text = GOOD.replace(
        "camera: {move: static, position: [0, 2, 10], target: boat}",
        "camera: {move: pan, position: [0, 2, 10], look_at: [0, 2, 20], degrees: 10}",
    )
    text = text.replace("duration: 1\n", "duration: 1\n    prompt: p\n")
    p = tmp_path / "t.yaml"
    p.write_text(text.lstrip())
    load_checked(p)  # a pan with no target is fine
    text2 = GOOD.replace(
        "camera: {move: static, position: [0, 2, 10], target: boat}",
        "camera: {move: track, target: boat, offset: [0, 0.2, 0.1]}",
    )
    p.write_text(text2.lstrip())
    with pytest.raises(SpecError, match="inside object 'boat'"):
        load_checked(p)


def test_target_behind_camera_never_enters_frame(tmp_path):
    text = GOOD.replace(
        "- {id: boat, shape: box, size: [3, 1, 1], position: [0, 0.5, 0]}",
        "- {id: boat, shape: box, size: [3, 1, 1], position: [0, 0.5, 0]}\n"
        "    - {id: buoy, shape: sphere, radius: 0.3, position: [0, 0.3, 30]}",
    )
    text = text.replace(
        "camera: {move: static, position: [0, 2, 10], target: boat}",
        "camera: {move: orbit, target: buoy, radius: 2, height: 1, degrees: 30, fov: 20, look_at: null}",
    )
    text = text.replace(", look_at: null", "")
    p = tmp_path / "o.yaml"
    p.write_text(text.lstrip())
    load_checked(p)  # an orbit always frames its target


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "a spec is a mapping"),
        ("worldgen: 1\nworld: {objects: [\n", "not valid YAML"),
        ("worldgen: 1\nworldgen: 1\n", "duplicate key 'worldgen'"),
        ("worldgen: 1\nworld: {objects: []}\nshots: []\n", "world.objects"),
    ],
)
def test_malformed_files(tmp_path, text, fragment):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert fragment in str(e.value) and str(e.value).startswith(str(p))


def test_cli_validate_bad_spec_one_line_exit_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(GOOD.replace("target: boat}", "target: boaat}").lstrip())
    r = subprocess.run([sys.executable, "-m", "worldgen", "validate", str(p)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"{p}:10: shots[0].camera.target: no object or character 'boaat'" in lines[0]


def test_cli_schema_is_json_schema():
    r = subprocess.run([sys.executable, "-m", "worldgen", "schema"], capture_output=True, text=True)
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert set(schema["required"]) >= {"worldgen", "world", "shots"}
    assert schema["additionalProperties"] is False
    assert "Camera" in schema["$defs"] and "orbit" in json.dumps(schema["$defs"]["Camera"])
