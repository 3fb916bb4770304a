"""The film blocks of the spec (dialogue, voices, sound, edit): located one-line errors, and
older specs that do not use them keep their exact bytes (hash, resolved spec, frame keys)."""

import json
import subprocess
import sys

import pytest

from worldgen.errors import SpecError
from worldgen.spec import load_spec, load_spec_text
from conftest import ROOT

PLAIN = """\
worldgen: 1
title: t
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
  characters:
    - {id: ana, position: [-0.6, 0, 0], facing: 90}
    - {id: ben, position: [0.6, 0, 0], facing: -90}
shots:
  - id: a
    duration: 2
    camera: {move: static, position: [0, 1.5, 5], look_at: [0, 1, 0]}
  - id: b
    duration: 2
    camera: {move: static, position: [1, 1.5, 5], look_at: [0, 1, 0]}
"""

FILM = (
    PLAIN.replace("facing: 90}", "facing: 90, voice: {name: slt}}").replace(
        "    camera: {move: static, position: [0, 1.5, 5], look_at: [0, 1, 0]}\n",
        "    camera: {move: static, position: [0, 1.5, 5], look_at: [0, 1, 0]}\n"
        "    dialogue:\n      - {character: ana, line: 'Hello Ben.', at: 0.4}\n",
    )
    + """\
    transition: {type: dissolve, duration: 0.5}
    dialogue:
      - {character: ben, line: "Hi Ana.", at: 0.2}
sound:
  loudness: -16
  music:
    - {from: a, to: b, mood: calm, tempo: 90, key: D minor}
  ambience:
    - {kind: wind}
edit:
  title: {duration: 1}
  lower_thirds: true
  credits: true
  grade: {look: warm}
  subtitles: {burn_in: true}
"""
)


def test_film_spec_validates_and_round_trips():
    spec = load_spec_text(FILM)
    assert spec.shots[1].transition.type == "dissolve" and spec.shots[0].dialogue[0].at == 0.4
    assert spec.sound.music[0].start == "a" and spec.sound.music[0].end == "b"
    # the resolved spec is what `reproduce` reads back: aliases ('from', 'to') must survive
    assert load_spec_text(spec.model_dump_json()) == spec


def test_older_specs_keep_their_bytes():
    """A spec without the film blocks dumps exactly the keys format 1 always had."""
    spec = load_spec_text(PLAIN)
    data = json.loads(spec.model_dump_json())
    assert "sound" not in data and "edit" not in data
    assert all(set(s) == {"id", "duration", "start", "prompt", "style", "camera"} for s in data["shots"])
    assert all("voice" not in c for c in data["world"]["characters"])


def _frame_keys(spec):
    """Every output's content key of two frames of each shot, built as render() builds them."""
    from worldgen.render.frames import frame_paths
    from worldgen.render.keys import frame_keys, mouth_key, shot_camera_path, speaking_mouths, world_digest
    from worldgen.render.options import RenderOptions
    from worldgen.world import World

    world = World(spec)
    wd, mouths = world_digest(spec, world), speaking_mouths(spec, world)
    return [
        frame_keys(
            wd,
            shot,
            shot_camera_path(shot),
            i,
            spec,
            "raycast",
            True,
            "painter",
            frame_paths(shot.id, i, RenderOptions(), people=True),
            mouth_key(mouths.get(shot.id), i),
        )
        for shot in spec.shots
        for i in (0, 7)
    ]


def test_a_new_hits_model_changes_every_frame_key(monkeypatch):
    """Frames stored by an older model of the primary hits are not handed back: every output's
    key (passes, poses, painted frame) changes with HITS_MODEL."""
    film = load_spec_text(FILM)
    before = _frame_keys(film)
    monkeypatch.setattr("worldgen.render.keys.HITS_MODEL", -1)
    after = _frame_keys(film)
    pairs = [(a[name][0], b[name][0]) for a, b in zip(before, after) for name in a]
    assert len(pairs) > 8 and all(x != y for x, y in pairs)


def test_a_new_hits_model_changes_the_remembered_depth_range(monkeypatch):
    """A shot's depth range, which scales its depth images, is not taken from a store that an
    older hits model filled either."""
    from worldgen.render.keys import world_digest
    from worldgen.render.store_link import depth_range_key
    from worldgen.world import World

    film = load_spec_text(FILM)
    wd, shot = world_digest(film, World(film)), film.shots[0]
    before = depth_range_key(wd, shot, film, "raycast")
    monkeypatch.setattr("worldgen.render.store_link.HITS_MODEL", -1)
    assert depth_range_key(wd, shot, film, "raycast") != before


def test_edit_fields_stay_out_of_frame_keys():
    """Frames, passes and poses depend on the world, the camera and (where a character speaks)
    its mouth; the sound and edit blocks reach the edit only, and a voice only through the mouth
    it times (here both specs resolve to the same voices: slt for Ana, rms for Ben): the render's
    own content keys of every output of a frame are the same with and without them, and change
    with the camera. (A transition moves where lines fall on the shots, so it may reach a
    speaking shot's mouths: it stays in both specs here.)"""
    film = load_spec_text(FILM)
    lines_only = load_spec_text(FILM.replace(", voice: {name: slt}", "").split("sound:\n")[0])
    assert film.world.characters[0].voice is not None and film.sound and film.edit
    assert lines_only.world.characters[0].voice is None and not lines_only.sound and not lines_only.edit
    assert _frame_keys(lines_only) == _frame_keys(film)
    moved = load_spec_text(FILM.replace("position: [1, 1.5, 5]", "position: [1.1, 1.5, 5]"))
    assert _frame_keys(moved) != _frame_keys(film)


BAD = [
    (
        ("character: ben,", "character: bem,"),
        20,
        "shots[1].dialogue[0].character: no character 'bem' (did you mean 'ben'?)",
    ),
    (("at: 0.4}", "at: 2.5}"), 14, "shots[0].dialogue[0].at: 2.5 s is past the shot's end"),
    (("line: 'Hello Ben.'", "line: '  '"), 14, "shots[0].dialogue[0].line: a line needs words"),
    (
        ("type: dissolve, duration: 0.5", "type: dissolve, duration: 3"),
        18,
        "shots[1].transition.duration: a dissolve of 3 s",
    ),
    (("type: dissolve", "type: swirl"), 18, "shots[1].transition.type: must be"),
    (("from: a, to: b", "from: a, to: c"), 24, "sound.music[0].to: no shot 'c'"),
    (("from: a, to: b", "from: b, to: a"), 24, "sound.music[0].to: shot 'a' comes before 'b'"),
    (("key: D minor", "key: H minor"), 24, "sound.music[0].key"),
    (("loudness: -16", "loudness: 3"), 22, "sound.loudness"),
    (("kind: wind", "kind: thunder"), 26, "sound.ambience[0].kind"),
    (("kind: wind", "kind: wind, file: x.wav"), 26, "give exactly one of 'kind' or 'file'"),
    (("kind: wind", "file: nowhere.wav"), 26, "sound.ambience[0].file: no such file: nowhere.wav"),
    (("look: warm", "look: warmer"), 31, "edit.grade.look"),
    (("look: warm", "lut: missing.cube"), 31, "edit.grade.lut: no such file: missing.cube"),
    (("look: warm", "lut: grade.png"), 31, "lut: a .cube file"),
    (("burn_in: true", "burnin: true"), 32, "edit.subtitles.burnin: unknown field (did you mean 'burn_in'?)"),
    (("voice: {name: slt}", "voice: {name: joe}"), 7, "world.characters[0].voice.name"),
    (("voice: {name: slt}", "voice: {engine: piper, name: slt}"), 7, "voice.name: 'name' picks a flite voice"),
]


@pytest.mark.parametrize("change,line,fragment", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_film_fields_are_one_located_line(change, line, fragment, tmp_path):
    text = FILM.replace(*change)
    assert text != FILM
    path = tmp_path / "film.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(path)
    msg = str(e.value)
    assert "\n" not in msg and fragment in msg and msg.startswith(f"{path}:{line}:"), msg


def test_cli_refuses_a_bad_film_field_without_traceback(tmp_path):
    path = tmp_path / "film.yaml"
    path.write_text(FILM.replace("character: ben,", "character: bem,"))
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "validate", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_schema_covers_the_film_blocks():
    from worldgen.spec.models import Spec

    schema = Spec.model_json_schema()
    assert {"sound", "edit"} <= set(schema["properties"])
    assert {"dialogue", "transition"} <= set(schema["$defs"]["Shot"]["properties"])
    assert "voice" in schema["$defs"]["CharacterSpec"]["properties"]
    assert "from" in schema["$defs"]["MusicCue"]["properties"]
