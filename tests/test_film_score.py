"""The MIDI score (worldgen/sound/midi_score.py): notes that follow the mood and key words, cue
changes on the beat at the shot boundary, and the soundfont render, deterministic and of its
cue's length. Skips only where the 'midi' extra (pretty_midi, tinysoundfont) is not installed;
scripts/setup.sh installs it."""

import numpy as np
import pytest

from worldgen.sound import midi_score
from test_film_spec import FILM

pytestmark = pytest.mark.skipif(
    not midi_score.available(), reason="the 'midi' extra (pretty_midi, tinysoundfont) is not installed"
)


def _pitch_classes(pm):
    return {n.pitch % 12 for inst in pm.instruments if not inst.is_drum for n in inst.notes}


def test_tempo_key_and_instruments_follow_the_words():
    sad, info = midi_score.notes("a sad farewell", None, None, 8.0, 1)
    assert info["mood"] == "sad" and info["key"] == "A minor"
    assert info["tempo"] == pytest.approx(66, abs=66 * 0.07)  # nudged so whole beats fill 8 s
    assert sad.get_tempo_changes()[1][0] == pytest.approx(info["tempo"])
    assert _pitch_classes(sad) <= {9, 11, 0, 2, 4, 5, 7}  # A natural minor
    happy, info = midi_score.notes("happy", None, "Eb major", 8.0, 1)
    assert info["key"] == "Eb major" and info["tempo"] == pytest.approx(116, abs=116 * 0.07)
    assert _pitch_classes(happy) <= {3, 5, 7, 8, 10, 0, 2}  # Eb major
    assert any(i.is_drum for i in happy.instruments) and not any(i.is_drum for i in sad.instruments)
    _, orch = midi_score.notes("epic orchestral", None, None, 8.0, 1)
    assert orch["instruments"][2] == "French Horn" and info["instruments"][2] == "Flute"


def test_cue_change_lands_on_the_beat_at_the_shot_boundary(tmp_path):
    """Two cues, one per shot: the first one's notes end by the boundary, the second one's
    start on it, every note sits on its cue's beat grid (half beats), and the boundary is a
    whole number of the first cue's beats; score.mid keeps those times."""
    import pretty_midi

    from worldgen.sound.mix import mix_film
    from worldgen.sound.voices import Speech
    from worldgen.spec import load_spec_text

    spec = load_spec_text(
        FILM.replace(
            "    - {from: a, to: b, mood: calm, tempo: 90, key: D minor}",
            "    - {from: a, to: a, mood: calm}\n    - {from: b, to: b, mood: tense, key: F# minor}",
        )
    )
    speech = Speech(np.zeros(4800, np.float32), [])
    mix = mix_film(spec, 4.5, [0.0, 2.0], [2.0, 4.5], lambda cid, text: speech, tmp_path)
    (c1, c2) = mix.music
    assert (c1["mood"], c2["mood"], c2["key"]) == ("calm", "tense", "F# minor")
    midi_score.write_midi(tmp_path / "score.mid", mix.score)
    for pm, tol in ((mix.score, 1e-9), (pretty_midi.PrettyMIDI(str(tmp_path / "score.mid")), 2e-3)):
        cue = {k: [n for i in pm.instruments if i.name.startswith(f"cue {k} ") for n in i.notes] for k in (1, 2)}
        assert max(n.end for n in cue[1]) <= 2.0 + tol
        assert min(n.start for n in cue[2]) == pytest.approx(2.0, abs=tol)
        for k, t0, info in ((1, 0.0, c1), (2, 2.0, c2)):
            half = 30 / info["tempo"]
            grid = [(n.start - t0) / half for n in cue[k]]
            assert np.allclose(grid, np.round(grid), atol=tol / half), k
    assert 2.0 * c1["tempo"] / 60 == pytest.approx(round(2.0 * c1["tempo"] / 60))


def test_score_mid_carries_each_cues_tempo_from_its_start(tmp_path):
    """Cues of different tempos: score.mid, read back, changes tempo where each cue starts, to
    that cue's tempo (the spec's, nudged by whole beats), so a DAW's bars follow every cue."""
    import pretty_midi

    from worldgen.sound.mix import mix_film
    from worldgen.sound.voices import Speech
    from worldgen.spec import load_spec_text

    cues = "    - {from: a, to: a, mood: calm, tempo: 96}\n    - {from: b, to: b, mood: tense, tempo: 120}"
    spec = load_spec_text(FILM.replace("    - {from: a, to: b, mood: calm, tempo: 90, key: D minor}", cues))
    speech = Speech(np.zeros(4800, np.float32), [])
    mix = mix_film(spec, 5.0, [0.0, 2.5], [2.5, 5.0], lambda cid, text: speech, tmp_path)
    midi_score.write_midi(tmp_path / "score.mid", mix.score)
    times, tempi = pretty_midi.PrettyMIDI(str(tmp_path / "score.mid")).get_tempo_changes()
    assert times == pytest.approx([0.0, 2.5], abs=1e-3)
    assert tempi == pytest.approx([c["tempo"] for c in mix.music], rel=1e-4)
    assert tempi == pytest.approx([96, 120], rel=1e-4)  # whole beats fill 2.5 s at both: no nudge
    # the second cue's first downbeat is a beat of the file's own grid (where a DAW puts bar lines)
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "score.mid"))
    assert np.abs(pm.get_beats() - 2.5).min() < 1e-3


def test_rendered_cue_is_audible_for_its_whole_length():
    from worldgen.sound import SAMPLE_RATE
    from worldgen.sound.audio import measure
    from worldgen.sound.music import compose

    x, info = compose("epic", None, None, 3.0, 2, synth="midi")
    assert info["synth"] == "midi" and x.shape == (3 * SAMPLE_RATE, 2) and x.dtype == np.float32
    assert measure(x)["integrated_lufs"] > -30
    rms = np.sqrt(np.mean(x[: 3 * SAMPLE_RATE].reshape(6, -1, 2) ** 2, axis=(1, 2)))  # each half second
    assert (20 * np.log10(rms) > -45).all(), rms
