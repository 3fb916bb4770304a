"""A film's scene speaks as the film does: a voice-only line keeps its place in the scene's
spec (the mouths after it are timed as the film's audio places them), and the voices the film
deals over its whole cast are written into the scene's spec, so that the scene's resolved spec
alone renders the same speaking frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from worldgen.spec.film_loader import load_film_text

flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite (apt) is not installed")

FILM = """
worldgen: 2
title: Voices
seed: 5
render: {width: 64, height: 36, fps: 8}
cast:
  - {id: mara, appearance: "brown skin", wardrobe: {coat: "blue wool coat"}}
  - {id: tomas, appearance: "pale skin", wardrobe: {work: "green jumper"}}
  - {id: radio, voice_only: true, wardrobe: {unseen: "never seen on screen"}}
sets:
  - id: wall
    objects:
      - {id: ground, shape: plane, size: [10, 10], appearance: "grey stone"}
scenes:
  - id: s1
    set: wall
    time: day
    cast:
      - {id: mara, position: [0, 0, 0]}
      - {id: tomas, position: [1.5, 0, -1]}
    shots:
      - id: s1_two
        duration: 4
        camera: {move: static, position: [0, 1.6, 3], look_at: [0, 1.5, 0]}
        dialogue:
          - {character: radio, line: "Storm warning for the harbour."}
          - {character: mara, line: "The boat's still out."}
  - id: s2
    set: wall
    time: dusk
    cast:
      - {id: tomas, position: [0, 0, 0]}
    shots:
      - id: s2_close
        duration: 2
        camera: {move: static, position: [0, 1.62, 0.6], look_at: [0, 1.62, 0]}
        dialogue: [{character: tomas, line: "Open the door, quickly."}]
"""


def _film(tmp_path: Path):
    return load_film_text(FILM, str(tmp_path / "film.yaml"), base_dir=tmp_path)


@flite
def test_a_voice_only_line_keeps_its_place_before_a_spoken_line(tmp_path):
    """The radio's line (no `at`) comes first in the shot; Mara's mouth opens where the film's
    dialogue places her line (sound/mix.line_times over the film's edit spec, voices spoken by
    flite), after the radio's line, not 0.3 s into the shot as if the radio had not spoken."""
    from worldgen.camera import frame_count
    from worldgen.edit.timeline import build_timeline
    from worldgen.render.film_render import voiced_scenes
    from worldgen.sound.lipsync import shot_mouths
    from worldgen.sound.mix import line_times
    from worldgen.sound.visemes import mouth_curves
    from worldgen.sound.voices import cast_voices, speak

    film = _film(tmp_path)
    edit, fps = film.edit, film.edit.render.fps
    voices = cast_voices(edit)
    counts = [frame_count(s, fps) for s in edit.shots]
    tl = build_timeline(edit, counts)
    starts = [f / fps for f in tl.shot_start]
    spoken = {}

    def length(ln):
        spoken[ln.character] = speak(voices[ln.character], ln.line)
        return spoken[ln.character].duration

    placed = {
        ln.character: (start - starts[edit.shots.index(shot)], d)
        for shot, ln, start, d in line_times(edit, starts, length)
    }
    radio_end = placed["radio"][0] + placed["radio"][1]
    mara_at = placed["mara"][0]
    assert mara_at > radio_end > 1.0  # the film places Mara after the radio's line
    expected = mouth_curves(
        [{"character": "mara", "start": mara_at, "phones": spoken["mara"].phones}], ["mara"], counts[0], fps
    )["mara"]["open"]

    scene = voiced_scenes(film, None)[0]
    assert [ln.character for ln in scene.shots[0].dialogue] == ["radio", "mara"]  # the voice over kept
    mouths = shot_mouths(scene)["s1_two"]
    assert set(mouths) == {"mara"}  # the radio has no mouth to move
    opening = mouths["mara"][0]
    assert opening == expected
    first_open = next(i for i, v in enumerate(opening) if v > 0)
    assert first_open / fps >= radio_end - 0.1  # the 60 ms co-articulation window, within a frame


def test_the_scene_spec_carries_the_voices_the_film_deals(tmp_path):
    """Tomas alone in s2 keeps the voice the film deals him as its second cast member, with
    flite and with a --voice-model (a speaker and pitch of his own), read from the scene's spec
    alone: without the film's cast, a scene of one would deal him the first voice."""
    from worldgen.render.film_render import voiced_scenes
    from worldgen.sound.voices import cast_voices
    from worldgen.spec import load_spec_text

    film = _film(tmp_path)
    for model in (None, "/models/mms"):
        dealt = cast_voices(film.edit, model)
        assert len({dealt["mara"], dealt["tomas"], dealt["radio"]}) == 3
        for spec in voiced_scenes(film, model):
            alone = load_spec_text(spec.model_dump_json(), "scene.json", base_dir=tmp_path)  # its resolved spec
            got = cast_voices(alone, model)
            assert got and all(got[cid] == dealt[cid] for cid in got), (model, got)
        s1, s2 = voiced_scenes(film, model)
        assert set(cast_voices(s1, model)) == {"mara", "tomas", "radio"} and set(cast_voices(s2, model)) == {"tomas"}
    assert cast_voices(film.scenes[1].spec)["tomas"] != cast_voices(film.edit)["tomas"]  # as expanded: open


@flite
def test_a_scenes_resolved_spec_alone_renders_its_speaking_frames(tmp_path):
    """Render the film, then s2 again from scenes/s2/spec.resolved.json alone, computed without
    the store: every frame (Tomas speaks in most of them, his mouth on screen) has the same bytes."""
    from worldgen.render import RenderOptions
    from worldgen.render.film_render import render_film_spec
    from worldgen.render.keys import speaking_mouths
    from worldgen.render.orchestrate import render
    from worldgen.sound.voices import cast_voices
    from worldgen.spec import load_spec
    from worldgen.world import World

    film = _film(tmp_path)
    render_film_spec(film, tmp_path / "film", RenderOptions(progress=False, use_store=False, film=False))
    folder = tmp_path / "film" / "scenes" / "s2"
    spec = load_spec(folder / "spec.resolved.json")
    assert cast_voices(spec)["tomas"] == cast_voices(film.edit)["tomas"]
    opening = speaking_mouths(spec, World(spec))["s2_close"]["tomas"][0]
    assert sum(v > 0 for v in opening) >= 5  # speaking frames, not a silent shot
    again = render(spec, tmp_path / "again", RenderOptions(progress=False, use_store=False))
    assert again.frames_rendered == len(opening) == 16
    import json

    first = json.loads((folder / "manifest.json").read_text())["shots"][0]["frames"]
    second = again.manifest["shots"][0]["frames"]
    for a, b in zip(first, second):
        for name in ("frame", "passes"):
            assert (folder / a[name]).read_bytes() == (tmp_path / "again" / b[name]).read_bytes(), (a[name], name)


def test_a_voice_over_in_a_format_1_spec_and_its_errors():
    """A line with its own voice is a voice over: dealt a voice after the characters, no mouth;
    a voice over for a character of the world, or two voices for one speaker, is refused in
    one located line; a spec without voice overs dumps the keys it always had."""
    import json

    from worldgen.errors import SpecError
    from worldgen.sound.lipsync import shot_mouths
    from worldgen.sound.voices import cast_voices
    from worldgen.spec import load_spec_text

    from test_film_spec import FILM as ONE

    over = "      - {character: radio, line: 'Gale warning.', voice: {pitch: 2}}\n"
    text = ONE.replace("      - {character: ana, line: 'Hello Ben.', at: 0.4}\n", over)
    spec = load_spec_text(text)
    voices = cast_voices(spec)
    assert list(voices) == ["ana", "ben", "radio"] and voices["radio"].pitch == 2
    assert len({voices[c].name for c in voices}) == 3
    assert "radio" not in shot_mouths(spec, voiced=False).get(spec.shots[0].id, {})
    assert load_spec_text(spec.model_dump_json()) == spec  # the resolved spec reads back
    with pytest.raises(SpecError, match=r"dialogue\[0\]\.voice.*'ana' is a character of this world"):
        load_spec_text(text.replace("character: radio", "character: ana"))
    twice = text.replace('{character: ben, line: "Hi Ana.", at: 0.2}', "{character: radio, line: 'Ben.', voice: {}}")
    with pytest.raises(SpecError, match="'radio' speaks with another voice"):
        load_spec_text(twice)
    with pytest.raises(SpecError, match=r"voice\.speaker: 'speaker' picks a piper or model speaker"):
        load_spec_text(ONE.replace("voice: {name: slt}", "voice: {name: slt, speaker: 1}"))
    plain = json.loads(load_spec_text(ONE).model_dump_json())
    assert all("voice" not in ln for s in plain["shots"] for ln in s.get("dialogue", []))
    assert all("speaker" not in c["voice"] for c in plain["world"]["characters"] if c.get("voice"))


def test_another_voice_model_rerenders_into_the_films_folder(tmp_path):
    """The same film into its folder again with a --voice-model: the scenes' specs now carry
    the model's voices (another spec for each scene folder), and the render replaces their
    outputs instead of refusing a folder the film's own render claimed."""
    import json

    from test_film_voices import tiny_vits

    from worldgen.render import RenderOptions
    from worldgen.render.film_render import render_film_spec

    film = _film(tmp_path)
    opt = dict(progress=False, use_store=False, film=False, paint=False)
    render_film_spec(film, tmp_path / "out", RenderOptions(**opt))
    s2 = tmp_path / "out" / "scenes" / "s2"
    assert json.loads((s2 / "spec.resolved.json").read_text())["world"]["characters"][0]["voice"]["engine"] == "flite"
    tiny_vits(tmp_path / "vits")
    res = render_film_spec(film, tmp_path / "out", RenderOptions(**opt, voice_model=str(tmp_path / "vits")))
    voice = json.loads((s2 / "spec.resolved.json").read_text())["world"]["characters"][0]["voice"]
    assert voice["engine"] == "model" and voice["speaker"] == 1  # Tomas: the film's second model voice
    assert res.frames_rendered == 48  # every frame again (the folders were replaced), none refused
