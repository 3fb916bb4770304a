"""End to end through the CLI: a small film, its manifest, determinism, resume and refusal."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import output_digest

from worldgen.io import read_passes

SMALL = """
worldgen: 1
title: small
seed: 3
render: {width: 96, height: 54, fps: 12}
style: dusk
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "grass"}
    - {id: hut, shape: box, size: [2, 2, 2], position: [0, 1, 0], appearance: "red brick"}
    - {id: roof, parent: hut, shape: cone, radius: 1.6, height: 1.2, position: [0, 1.6, 0], appearance: "dark wood"}
    - id: ball
      shape: sphere
      radius: 0.4
      appearance: "yellow"
      motion: [{t: 0, position: [-3, 0.4, 2]}, {t: 1, position: [3, 0.4, 2]}]
shots:
  - {id: wide, duration: 1, camera: {move: orbit, target: hut, radius: 9, height: 3, degrees: 40}}
  - {id: close, duration: 0.5, camera: {move: track, target: ball, offset: [0, 1, 4]}}
"""


def run(*args):
    return subprocess.run([sys.executable, "-m", "worldgen", *map(str, args)], capture_output=True, text=True)


digest = output_digest


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("film")
    spec = d / "small.yaml"
    spec.write_text(SMALL)
    r = run("render", spec, "-o", d / "out", "--quiet")
    assert r.returncode == 0, r.stderr
    return spec, d / "out"


def test_film_frame_count_size_duration(film):
    import imageio_ffmpeg

    _, out = film
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(out / "film.mp4"))
    assert n == 12 + 6
    assert secs == pytest.approx(18 / 12, abs=0.05)
    reader = imageio_ffmpeg.read_frames(str(out / "film.mp4"))
    meta = next(reader)
    assert tuple(meta["size"]) == (96, 54) and meta["fps"] == pytest.approx(12)
    from PIL import Image

    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.width > 4 * 200 and sheet.height > 2 * 100


def test_manifest_describes_every_frame(film):
    _, out = film
    m = json.loads((out / "manifest.json").read_text())
    assert m["instances"] == {"ground": 1, "hut": 2, "roof": 3, "ball": 4}
    assert [s["id"] for s in m["shots"]] == ["wide", "close"]
    fr = m["shots"][0]["frames"][5]
    assert fr["index"] == 5 and fr["time"] == pytest.approx(5 / 12)
    K, w2c = np.array(fr["K"]), np.array(fr["world_to_camera"])
    assert K.shape == (3, 3) and w2c.shape == (4, 4) and np.allclose(w2c[3], [0, 0, 0, 1])
    arrays = read_passes(out / fr["passes"])
    assert set(arrays) == set(m["layers"])
    assert arrays["depth"].dtype == np.float32 and arrays["depth"].shape == (54, 96)
    assert arrays["instance"].dtype == np.uint16 and set(np.unique(arrays["instance"])) <= {0, 1, 2, 3, 4}
    # the hut's centre projects where the instance pass shows the hut
    p = w2c[:3, :3] @ [0, 1, 0] + w2c[:3, 3]
    u, v = (K @ (p / p[2]))[:2]
    assert arrays["instance"][int(round(v)), int(round(u))] == 2
    assert arrays["depth"][int(round(v)), int(round(u))] == pytest.approx(p[2] - 1, rel=0.02)
    for k in ("depth", "normal", "canny", "seg"):
        assert (out / fr[f"control_{k}"]).exists()


def test_same_spec_same_bytes(film, tmp_path):
    """A second render computes every frame again (no store: it would only link the first
    render's files) and writes the same bytes."""
    spec, out = film
    r = run("render", spec, "-o", tmp_path / "again", "--quiet", "--no-store")
    assert r.returncode == 0, r.stderr
    assert "18 frames (18 rendered, 0 already there)" in r.stdout, r.stdout
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["frames_this_run"] == {
        "rendered": 18,
        "from_store": 0,
        "already_there": 0,
    }
    a, b = digest(out), digest(tmp_path / "again")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_resume_and_refuse(film, tmp_path):
    spec, out = film
    r = run("render", spec, "-o", out)
    assert r.returncode == 0 and "0 rendered, 18 already there" in r.stdout
    # a deleted frame is redone, and only it
    victim = out / "shots/wide/frames/000004.png"
    before = victim.read_bytes()
    victim.unlink()
    r = run("render", spec, "-o", out, "--quiet")
    assert "0 rendered, 17 already there, 1 from the store" in r.stdout and victim.read_bytes() == before
    victim.unlink()  # without the store it is recomputed, and only it, to the same bytes
    r = run("render", spec, "-o", out, "--quiet", "--no-store")
    assert "1 rendered, 17 already there" in r.stdout and victim.read_bytes() == before
    r = run("render", spec, "-o", out, "--quiet", "--force")
    assert "18 rendered, 0 already there" in r.stdout and victim.read_bytes() == before
    # another spec into the same folder is refused without --overwrite
    other = tmp_path / "other.yaml"
    other.write_text(SMALL.replace("seed: 3", "seed: 4"))
    r = run("render", other, "-o", out, "--quiet")
    assert r.returncode == 3 and "--overwrite" in r.stderr and "Traceback" not in r.stderr
    # a folder of the user's own is never touched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    r = run("render", spec, "-o", mine, "--quiet")
    assert r.returncode == 3 and (mine / "notes.txt").read_text() == "keep"


def test_run_record_is_what_the_folder_holds(film):
    """The run record the CLI's render wrote is `run_record` of its spec and settings, the one
    the benchmark compares before resuming in a folder; other settings are another render."""
    from worldgen.render import RUN_FILE, RenderOptions, run_record
    from worldgen.render.record import holds_other_render
    from worldgen.spec import load_spec

    spec_path, out = film
    spec = load_spec(spec_path)
    assert json.loads((out / RUN_FILE).read_text()) == run_record(spec, RenderOptions())
    assert not holds_other_render(out, spec, RenderOptions())
    assert holds_other_render(out, spec, RenderOptions(fmt="exr"))
    assert holds_other_render(out, spec, RenderOptions(painter="flat-test", painter_options={"x": 1}))


def test_passes_exr_and_single_shot(film, tmp_path):
    spec, out = film
    r = run("passes", spec, "-o", tmp_path / "p", "--format", "exr", "--shot", "close", "--no-control", "--quiet")
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "p/manifest.json").read_text())
    assert [s["id"] for s in m["shots"]] == ["close"] and "film" not in m
    fr = m["shots"][0]["frames"][2]
    exr = read_passes(tmp_path / "p" / fr["passes"])
    npz = read_passes(out / json.loads((out / "manifest.json").read_text())["shots"][1]["frames"][2]["passes"])
    for k in npz:
        assert np.array_equal(exr[k].astype(npz[k].dtype), npz[k]), k
    r = run("passes", spec, "-o", tmp_path / "q", "--shot", "nope")
    assert r.returncode == 2 and "no shot 'nope'" in r.stderr


def test_doctor_reports():
    r = run("doctor", "--json")
    assert r.returncode == 0
    names = {c["name"]: c for c in json.loads(r.stdout)}
    assert names["raycast backend (Open3D)"]["ok"]
    assert "gl backend via egl" in names and "fix" in names["gl backend via osmesa"]
    assert names["controlnet-aux"]["ok"], names["controlnet-aux"]
    assert "planner model (Gemma 3 270M)" in names and "planner runtime (llama.cpp)" in names
    # set-up installs the film's voice and title fonts: doctor finds them
    assert names["dialogue voice (flite)"]["ok"] and names["title fonts (DejaVu Sans)"]["ok"]
    assert "GB free on its disk" in names["frame store"]["detail"]


def test_doctor_says_when_the_frame_store_disk_is_short(tmp_path, monkeypatch):
    """The store's folder need not exist: its nearest existing parent's disk is asked. Under
    STORE_MIN_FREE_GB free the check fails and says how to make room."""
    import shutil

    from worldgen import doctor

    root, asked = tmp_path / "not" / "yet" / "frames", []
    for free_gb, ok in ((1.0, False), (doctor.STORE_MIN_FREE_GB, True), (50.0, True)):
        free = int(free_gb * 2**30)
        usage = shutil._ntuple_diskusage(free * 2, free, free)  # type: ignore[attr-defined]
        monkeypatch.setattr(doctor.shutil, "disk_usage", lambda p, u=usage: (asked.append(Path(p)), u)[1])
        c = doctor.store_check(root)
        assert c["ok"] is ok and c["detail"] == f"{root} ({free_gb:.1f} GB free on its disk)"
        assert "worldgen cache --prune" in c["fix"] and "WORLDGEN_CACHE" in c["fix"]
    assert asked == [tmp_path] * 3

    def refused(p):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(doctor.shutil, "disk_usage", refused)
    c = doctor.store_check(root)
    assert not c["ok"] and c["detail"] == f"{root}: Permission denied" and "WORLDGEN_CACHE" in c["fix"]


def test_render_options_name_the_control_images_the_control_module_makes():
    """render/options.py repeats the list so that options import without numpy: the two stay equal."""
    from worldgen.control import WRITTEN_CONTROL_KINDS
    from worldgen.render.options import WRITTEN_CONTROL_KINDS as IN_OPTIONS

    assert IN_OPTIONS == WRITTEN_CONTROL_KINDS
