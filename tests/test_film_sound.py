"""The edited, scored film: one small render of a two-character scene with dialogue, a music
cue, an ambience bed, a dissolve, a title, lower thirds, credits and a grade, checked as a
viewer would hear and see it (ffmpeg's ebur128 on the film's own audio stream)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from test_film_spec import FILM

pytestmark = pytest.mark.skipif(not __import__("shutil").which("flite"), reason="flite (apt) is not installed")

SPEC = FILM.replace("title: t\n", "title: t\nrender: {width: 64, height: 36, fps: 12}\n")


def ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def render(spec_path, out, cache, *args):
    env = {**os.environ, "WORLDGEN_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "render", str(spec_path), "-o", str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("film")
    (d / "film.yaml").write_text(SPEC)
    man = render(d / "film.yaml", d / "out", d / "cache")
    return d, man


def probe_duration(path, stream):
    r = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path), "-map", f"0:{stream}", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", r.stderr)
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_film_has_sound_of_its_length(film):
    d, man = film
    edit = man["edit"]
    fps = 12
    assert edit["frames"] == 12 + (24 + 24 - 6) + 48  # title, shots less the dissolve's overlap, credits
    video, audio = probe_duration(d / "out" / "film.mp4", "v"), probe_duration(d / "out" / "film.mp4", "a")
    assert abs(video - edit["duration"]) <= 1 / fps
    assert abs(audio - video) <= 1 / fps, (audio, video)


def film_loudness(path):
    """Integrated loudness (LUFS) and true peak (dBTP) of a film's audio stream, by ffmpeg's ebur128."""
    r = subprocess.run(
        [
            ffmpeg(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-map",
            "0:a",
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
    )
    summary = r.stderr[r.stderr.rfind("Summary:") :]
    return (
        float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1)),
        float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1)),
    )


def test_loudness_on_target(film):
    d, man = film
    lufs, peak = film_loudness(d / "out" / "film.mp4")
    assert abs(lufs - (-16)) <= 0.5, lufs
    assert peak <= -1.0 + 0.3, peak  # the AAC encoder may lift the limiter's -1.5 dBTP a little


def test_speech_onsets_and_subtitles_match_the_lines(film):
    from worldgen.sound.audio import read_wav

    d, man = film
    lines = man["edit"]["lines"]
    assert [ln["start"] for ln in lines] == [
        pytest.approx(1 + 0.4),
        pytest.approx(1 + 1.5 + 0.2),
    ]  # title 1 s, dissolve 0.5 s
    x, rate = read_wav(d / "out" / "stems" / "dialogue.wav")
    loud = np.abs(x[:, 0]) > 0.01
    for ln in lines:
        a = int((ln["start"] - 0.3) * rate)
        onset = (a + np.argmax(loud[a:])) / rate
        assert abs(onset - ln["start"]) <= 0.05, (onset, ln["start"])
    srt = (d / "out" / "film.srt").read_text()
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", srt)
    for ln, st in zip(lines, stamps, strict=True):
        start = int(st[2]) + int(st[3]) / 1000 + 60 * int(st[1])
        end = int(st[6]) + int(st[7]) / 1000 + 60 * int(st[5])
        assert abs(start - ln["start"]) <= 0.0005 and abs(end - ln["end"]) <= 0.0005
    assert (d / "out" / "film.vtt").read_text().startswith("WEBVTT")


def test_music_ducks_under_speech(film):
    from worldgen.sound.audio import read_wav

    d, man = film
    x, rate = read_wav(d / "out" / "stems" / "music.wav")
    free = [
        ln
        for k, ln in enumerate(man["edit"]["lines"])  # lines with unducked music before them
        if k == 0 or man["edit"]["lines"][k - 1]["end"] + 0.4 < ln["start"] - 0.65
    ]
    assert free
    for ln in free:
        under = x[int(ln["start"] * rate) : int(ln["end"] * rate)]
        before = x[int((ln["start"] - 0.65) * rate) : int((ln["start"] - 0.15) * rate)]
        db = 20 * np.log10(np.sqrt(np.mean(before**2)) / np.sqrt(np.mean(under**2)))
        assert db >= 6, db


def test_characters_get_distinct_voices(film):
    d, man = film
    voices = man["edit"]["voices"]
    assert voices["ana"] == "flite slt" and voices["ben"] != voices["ana"]


def test_same_spec_same_bytes_and_a_recut_from_the_store(film, tmp_path):
    d, man = film
    again = render(d / "film.yaml", tmp_path / "again", tmp_path / "cache")  # a fresh store: computed again
    assert again["frames_this_run"]["rendered"] == 48
    for name in ("film.mp4", "film.srt", "stems/mix.wav", "stems/dialogue.wav"):
        assert (tmp_path / "again" / name).read_bytes() == (d / "out" / name).read_bytes(), name
    # a new grade re-cuts from the stored frames: no frame is rendered again
    (tmp_path / "graded.yaml").write_text(SPEC.replace("look: warm", "look: noir"))
    graded = render(tmp_path / "graded.yaml", tmp_path / "graded", tmp_path / "cache")
    assert graded["frames_this_run"]["rendered"] == 0 and graded["edit"]["grade"] == "noir"
    assert (tmp_path / "graded" / "film.mp4").read_bytes() != (d / "out" / "film.mp4").read_bytes()


def test_mouth_opening_follows_the_speech(film):
    """lipsync.json: the speakers' mouth opening per film frame correlates with the dialogue's
    energy in that frame (r >= 0.5), and is shut where nobody speaks."""
    from worldgen.sound.audio import read_wav

    d, man = film
    lip = json.loads((d / "out" / "lipsync.json").read_text())
    x, rate = read_wav(d / "out" / "stems" / "dialogue.wav")
    n, fps = lip["frames"], lip["fps"]
    per = int(rate / fps)
    energy = np.array([np.sqrt(np.mean(x[k * per : (k + 1) * per, 0] ** 2)) for k in range(n)])
    opening = np.sum([np.array(c["open"]) for c in lip["characters"].values()], axis=0)
    assert set(lip["characters"]) == {"ana", "ben"}
    r = np.corrcoef(opening, energy)[0, 1]
    assert r >= 0.5, r
    assert opening[:12].max() == 0  # the title: nobody speaks


def test_a_cut_killed_midway_resumes_to_the_same_film(film, tmp_path):
    """kill -9 while the edit is being cut (its stems are written, the film is not), then the
    same command again: the same bytes as the uninterrupted render, and no temp file left."""
    import signal
    import time

    d, _ = film
    env = {**os.environ, "WORLDGEN_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out"
    p = subprocess.Popen(
        [sys.executable, "-m", "worldgen", "render", str(d / "film.yaml"), "-o", str(out), "-q"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while p.poll() is None and not (out / "stems" / "mix.wav").exists():
        time.sleep(0.005)
    killed = p.poll() is None
    if killed:
        os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert killed and not (out / "film.mp4").exists()
    again = render(d / "film.yaml", out, tmp_path / "cache")
    assert again["frames_this_run"]["rendered"] == 0  # the frames were done before the kill
    assert (out / "film.mp4").read_bytes() == (d / "out" / "film.mp4").read_bytes()
    assert not list(out.rglob(".*.tmp"))


def test_loudness_flag_sets_the_films_loudness(film):
    """--loudness -23 (EBU R128) overrides the spec's -16: the frames come from the store, the
    edit is cut again and the film's audio measures -23."""
    d, man = film
    man23 = render(d / "film.yaml", d / "out23", d / "cache", "--loudness", "-23")
    assert man23["edit"]["loudness"]["target_lufs"] == -23
    lufs, peak = film_loudness(d / "out23" / "film.mp4")
    assert abs(lufs - (-23)) <= 0.5, lufs
    assert abs(film_loudness(d / "out" / "film.mp4")[0] - lufs) >= 6


def test_loudness_flag_out_of_range_is_one_line(tmp_path):
    (tmp_path / "film.yaml").write_text(SPEC)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "worldgen",
            "render",
            str(tmp_path / "film.yaml"),
            "-o",
            str(tmp_path / "o"),
            "--loudness",
            "3",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert r.returncode != 0 and "--loudness: 3 LUFS is outside -40..-5" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_score_midi_next_to_the_stems(film):
    """With the 'midi' extra the score's notes are written as stems/score.mid, and the manifest
    says which instruments played."""
    from worldgen.sound.midi_score import available

    if not available():
        pytest.skip("the 'midi' extra (pretty_midi, tinysoundfont) is not installed")
    import pretty_midi

    d, man = film
    (cue,) = man["edit"]["music"]
    assert cue["synth"] == "midi" and cue["tempo"] == pytest.approx(90, rel=0.07) and cue["key"] == "D minor"
    pm = pretty_midi.PrettyMIDI(str(d / "out" / "stems" / "score.mid"))
    starts = [n.start for i in pm.instruments for n in i.notes]
    assert min(starts) == pytest.approx(0.0, abs=2e-3) and max(starts) < man["edit"]["duration"]
