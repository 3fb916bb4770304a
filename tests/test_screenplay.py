"""`worldgen plan --screenplay`: a Fountain script becomes a film spec (format 2) that validates,
keeps every spoken line, and keeps its cast's clothes where the script changes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worldgen.paint.character_look import region_texts
from worldgen.plan.fountain import parse_screenplay, read_screenplay
from worldgen.plan.screenplay import _line_shot_starts, _scene_shots, film_yaml, plan_film, plan_screenplay
from worldgen.spec.film_loader import load_film, load_film_text
from worldgen.world import World
from worldgen.world_checks import check_geometry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scenes" / "blue_coat.fountain"
FILM = ROOT / "scenes" / "blue_coat.yaml"
COMMAND = "worldgen plan --screenplay scenes/blue_coat.fountain -o scenes/blue_coat.yaml"


@pytest.fixture(scope="module")
def play():
    return read_screenplay(SCRIPT)


@pytest.fixture(scope="module")
def data(play):
    return plan_film(play)


@pytest.fixture(scope="module")
def film():
    return load_film(FILM)


def test_one_set_per_location_each_visited_twice(data):
    assert [s["id"] for s in data["sets"]] == ["harbour_wall", "boathouse"]
    assert [sc["set"] for sc in data["scenes"]] == ["harbour_wall", "boathouse", "boathouse", "harbour_wall"]
    interior = {s["id"]: s.get("interior", False) for s in data["sets"]}
    assert interior == {"harbour_wall": False, "boathouse": True}  # INT. / EXT. of the headings
    boathouse = next(s for s in data["sets"] if s["id"] == "boathouse")
    ids = [o["id"] for o in boathouse["objects"]]
    # props from the action lines (not the people, their clothes or the dust), a floor and walls
    assert {"floor", "workbench", "radio", "shelf", "hook", "wool_coat", "lamp"} <= set(ids)
    assert not {"dust", "light", "draught", "voice", "mara", "oilskin", "collar"} & set(ids)
    assert sum(o.get("label") == "wall" for o in boathouse["objects"]) == 3  # the front stays open


def test_cast_from_the_cues_with_the_radio_voice_never_on_screen(data, film):
    cast = {c["id"]: c for c in data["cast"]}
    assert list(cast) == ["mara", "tomas", "eli"]
    assert cast["eli"].get("voice_only") is True and not cast["mara"].get("voice_only")
    assert len({c["voice"]["name"] for c in cast.values()}) == 3  # distinct voices
    assert cast["mara"]["appearance"] == "in her 30s" and cast["tomas"]["appearance"] == "in his 60s"
    for e in film.scenes:  # no body for eli in any scene, while his lines reach the edit
        assert "eli" not in [c.id for c in e.spec.world.characters]
    assert [x.line for s in film.edit.shots for x in s.dialogue if x.character == "eli"] == [
        "Harbour, this is the Kestrel. Running late. Engine's coughing.",
        "Dark, maybe. Keep the lamp lit.",
    ]
    assert [[b["id"] for b in sc["cast"]] for sc in data["scenes"]] == [
        ["mara", "tomas"],
        ["mara"],
        ["mara", "tomas"],
        ["mara", "tomas"],
    ]


def test_the_coat_goes_on_where_the_script_says_and_stays_on(data, film):
    mara = next(c for c in data["cast"] if c["id"] == "mara")
    assert mara["wardrobe"] == {"oilskin": "yellow oilskin jacket", "coat": "blue wool coat"}
    # words the character painter routes to the torso: the oilskin is painted yellow
    assert "yellow" in region_texts(mara["wardrobe"]["oilskin"], "mara")["top"]
    declared = [{b["id"]: b["wardrobe"] for b in sc["cast"] if "wardrobe" in b} for sc in data["scenes"]]
    assert declared == [{}, {}, {"mara": "coat"}, {}]  # only the scene where she puts it on
    assert [e.wardrobe.get("mara") for e in film.scenes] == ["oilskin", "oilskin", "coat", "coat"]
    # the coat left its hook in that scene: the boathouse has it in scene 2, not in scene 3
    assert "wool_coat" in [o.id for o in film.scenes[1].spec.world.objects]
    assert "wool_coat" not in [o.id for o in film.scenes[2].spec.world.objects]


def test_times_of_day_from_the_headings(data):
    assert [sc["time"] for sc in data["scenes"]] == ["day", "day", "night", "night"]
    text = (
        "EXT. YARD - SUNSET\n\nA dog.\n\nINT. SHED - CONTINUOUS\n\nA box.\n\n"
        "EXT. YARD - DAWN\n\nA cat.\n\nINT. SHED - LATER\n\nA crate.\n\nINT. SHED - EVENING\n\nA cup.\n"
    )
    times = [sc["time"] for sc in plan_film(parse_screenplay(text, "t.fountain"))["scenes"]]
    assert times == ["dusk", "dusk", "dawn", "dawn", "evening"]


def test_every_line_once_in_order_by_its_speaker(play, data):
    written = [(line.speaker.lower(), " ".join(line.text.split())) for s in play.scenes for line in s.dialogue]
    assert len(written) == 12 and written[-1] == ("tomas", "Told you. When the tide lets it.")
    spoken = [
        (x["character"], x["line"]) for sc in data["scenes"] for shot in sc["shots"] for x in shot.get("dialogue", [])
    ]
    assert spoken == written


def test_the_committed_film_is_what_the_command_writes_and_it_validates(film):
    text = plan_screenplay(SCRIPT, command=COMMAND).replace(str(SCRIPT), "scenes/blue_coat.fountain")
    assert FILM.read_text() == text  # regenerate: the command in the file's first lines
    assert FILM.read_text().startswith(
        "# Generated by worldgen from the screenplay scenes/blue_coat.fountain\n#   " + COMMAND
    )
    for e in film.scenes:
        check_geometry(e.spec, World(e.spec))
    assert [e.scene.id for e in film.scenes] == ["s1_harbour_wall", "s2_boathouse", "s3_boathouse", "s4_harbour_wall"]
    assert film.spec.edit.title.text == "The Blue Coat" and film.spec.sound.music[0].mood


def test_same_script_same_bytes(tmp_path):
    """Two runs of the command in two processes (string hashing differs between them)."""
    outs = []
    for k, hashseed in enumerate(("1", "2")):
        out = tmp_path / f"film{k}.yaml"
        r = subprocess.run(
            [sys.executable, "-m", "worldgen", "plan", "--screenplay", str(SCRIPT), "-o", str(out)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hashseed},
        )
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes().replace(str(out).encode(), b"OUT"))
    assert outs[0] == outs[1]
    load_film_text(outs[0].decode(), "a.yaml")


def test_scene_shots_are_coverage_with_every_line_once_and_voices_given_back():
    ground = [{"id": "ground", "shape": "plane", "size": [20, 20]}]
    chars = [
        {"id": "a", "position": [-1.2, 0, 2], "facing": 90.0},
        {"id": "b", "position": [1.2, 0, 2], "facing": 270.0},
    ]
    lines = [
        {"character": "a", "line": "one two three four five six seven eight nine ten"},
        {"character": "b", "line": "Eleven twelve."},
        {"character": "v", "line": "Hi."},  # a voice with no body (V.O.)
    ]
    shots = _scene_shots("s1", ground, chars, lines, 24)
    assert [s["id"] for s in shots[:2]] == ["s1_establishing", "s1_two_shot"]
    spoken = [(d["character"], d["line"]) for s in shots for d in s.get("dialogue", [])]
    assert spoken == [(x["character"], x["line"]) for x in lines]  # each line once, in order, its speaker
    carrier = {d["line"]: s for s in shots for d in s.get("dialogue", [])}
    assert carrier["Eleven twelve."]["camera"]["target"] == "b"
    assert carrier["Hi."]["camera"]["target"] == "a"  # a voice's line frames the first person present
    for before, after in zip(shots, shots[1:]):  # one after another, on whole frames
        assert after["start"] == pytest.approx(before["start"] + before["duration"])
        assert abs(before["duration"] * 24 - round(before["duration"] * 24)) < 0.01
    # actions are timed by these starts: each line's shot starts where the blocking expects it
    starts = _line_shot_starts(lines)
    for k, x in enumerate(lines):
        assert carrier[x["line"]]["start"] == pytest.approx(starts[k], abs=1.5 / 24)
    alone = _scene_shots("s2", ground, [], lines[2:], 24)  # no one to frame: the set, with the voice
    assert [s["id"] for s in alone] == ["s2_establishing"] and alone[0]["dialogue"][0]["character"] == "v"


def test_a_bad_script_is_one_located_line(tmp_path):
    bad = tmp_path / "bad.fountain"
    bad.write_text("Title: Bad\n\nINT. ROOM - DAY\n\nANNA\n(unclosed\nHello.\n")
    out = tmp_path / "film.yaml"
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "plan", "--screenplay", str(bad), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and not out.exists()
    assert "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{bad}:6: parenthetical" in lines[0], r.stderr
    bad.write_text("INT. ROOM - FLASHBACK\n\nANNA\nHello.\n")
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "plan", "--screenplay", str(bad), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:1: scene heading time 'FLASHBACK'" in r.stderr


def test_every_scene_renders_a_frame(film, tmp_path):
    from worldgen.render import RenderOptions, render

    for e in film.scenes:
        spec = e.spec.model_copy(update={"render": e.spec.render.model_copy(update={"width": 32, "height": 18})})
        shot = spec.shots[-1].id  # a close-up: the cast is in the scene's world
        opt = RenderOptions(
            shots=[shot], frames={shot: [0]}, passes=False, control=(), film=False, use_store=False, progress=False
        )
        res = render(spec, tmp_path / e.scene.id, opt)
        assert res.frames_rendered == 1
        assert (tmp_path / e.scene.id / "shots" / shot / "frames" / "000000.png").is_file()


SECOND = """Title: Second

INT. KITCHEN - MORNING

A table, two chairs, a fridge and a kettle. MR. O'HARA (50s), tall, in a grey suit, reads. JUNE (20s) walks in.

JUNE
Morning.

She waves at Mr. O'Hara and sits on a chair.

DISPATCH (O.S.)
Car nine, respond.

INT. KITCHEN - LATER

June picks up the kettle. Mr. O'Hara turns to June.

MR. O'HARA
Tea?
"""


def test_reading_a_second_script(tmp_path):
    data = plan_film(parse_screenplay(SECOND, "second.fountain"))
    cast = {c["id"]: c for c in data["cast"]}
    assert list(cast) == ["june", "dispatch", "mr_o_hara"]  # in order of first cue
    assert cast["dispatch"].get("voice_only") is True  # an (O.S.) voice never named in an action line
    assert cast["mr_o_hara"]["height"] == 1.88 and cast["mr_o_hara"]["wardrobe"] == {"suit": "grey suit"}
    s1, s2 = data["scenes"]
    june = next(b for b in s1["cast"] if b["id"] == "june")
    # 'She waves ... and sits on a chair': june's actions, not Mr. O'Hara's
    assert {a["action"] for a in june["actions"]} >= {"wave", "sit"}
    assert next(a for a in june["actions"] if a["action"] == "sit")["target"] == "chair"
    assert [c["id"] for c in s2.get("changes", [])] == ["kettle"]  # picked up: leaves the set
    turn = next(a for b in s2["cast"] if b["id"] == "mr_o_hara" for a in b["actions"] if a["action"] == "turn")
    assert "to" in turn and "target" not in turn  # toward a person: a heading
    load_film_text(film_yaml(data, "second.fountain", "x"), "s.yaml")
    (tmp_path / "second.fountain").write_text(SECOND)
    plan_screenplay(tmp_path / "second.fountain")  # and what validate checks: the geometry of each scene


def test_a_voice_only_member_cannot_be_placed_in_a_scene():
    text = FILM.read_text().replace("  cast:\n  - id: mara\n", "  cast:\n  - id: eli\n  - id: mara\n", 1)
    with pytest.raises(Exception) as e:
        load_film_text(text, "f.yaml")
    assert "'eli' is a voice only" in str(e.value) and str(e.value).startswith("f.yaml:")


class _Model:
    """A stand-in model backend: answers with a fixed plan (a crate and a barrel) whatever it is asked."""

    name = "fake"
    model_id = "fake"

    def __init__(self):
        self.asked: list[str] = []

    def complete(self, idea: str, feedback: str = "") -> str:
        self.asked.append(idea)
        return (
            '{"title": "t", "objects": [{"name": "crate", "category": "crate"}, '
            '{"name": "net", "category": "net"}], "relations": [], "motions": [], "shots": [{}]}'
        )


def test_a_model_backend_plans_the_sets_props(play):
    model = _Model()
    data = plan_film(play, backend=model)
    assert len(model.asked) == 2  # one prompt per set: its scenes' action lines
    assert "crate" in model.asked[0] and "Mara" not in model.asked[0]  # names taken out
    wall = next(s for s in data["sets"] if s["id"] == "harbour_wall")
    ids = {o["id"] for o in wall["objects"]}
    assert {"crate", "net"} <= ids  # the model's objects, held to the words (grounding)
