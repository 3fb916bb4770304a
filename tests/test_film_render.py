"""Rendering a film (format 2): every scene into scenes/<id>/ by the format 1 render, one film
cut from all of them, and resume, the frame store and determinism at film level."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import output_digest

from worldgen.render import RenderOptions
from worldgen.render.film_render import render_film_spec
from worldgen.spec.film_loader import load_film, load_film_text

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT / "tests" / "films" / "two_sets.yaml"
FRAMES = 24  # four scenes of one 1 s shot at 6 fps


def opts(store: Path | None, **kw) -> RenderOptions:
    return RenderOptions(progress=False, store=str(store) if store else None, use_store=store is not None, **kw)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("film")
    res = render_film_spec(load_film(FILM), d / "out", opts(d / "store"))
    return d, res


def test_every_scene_renders_into_its_folder_and_one_film_is_cut(rendered):
    d, res = rendered
    out, man = d / "out", res.manifest
    assert [s["id"] for s in man["scenes"]] == ["s1", "s2", "s3", "s4"]
    assert res.frames_rendered == FRAMES
    for s in man["scenes"]:
        scene_man = json.loads((out / s["manifest"]).read_text())
        assert [x["id"] for x in scene_man["shots"]] == s["shots"]
        for f in scene_man["shots"][0]["frames"]:
            assert (out / s["folder"] / f["frame"]).is_file() and (out / s["folder"] / f["passes"]).is_file()
    # the scene manifest says what it wore; s3 declared mara's change of outfit
    assert man["scenes"][2]["wardrobe"] == {"mara": "coat", "tomas": "work"}
    assert man["scenes"][2]["wardrobe_changed"] == ["mara"] and man["scenes"][2]["props_changed"] == ["bench"]
    # one film of every shot in order, with the film's dialogue (s1's line) cut across scenes
    edit = json.loads((out / "film-edit.json").read_text())
    assert edit["frames"] == FRAMES and edit["shot_start_frames"] == [0, 6, 12, 18]
    assert [ln["line"] for ln in edit["lines"]] == ["The boat's still out."]
    assert (out / "film.mp4").stat().st_size > 0 and man["film"] == "film.mp4"
    from worldgen.spec.film_loader import load_any

    assert load_any(out / "film.resolved.yaml").spec.model_dump() == load_film(FILM).spec.model_dump()


def test_same_film_same_bytes_computed_twice_and_the_store_links_it(rendered, tmp_path):
    d, _ = rendered
    again = render_film_spec(load_film(FILM), tmp_path / "again", opts(None))
    assert again.frames_rendered == FRAMES  # computed, not linked: the comparison means something
    assert output_digest(tmp_path / "again") == output_digest(d / "out")
    linked = render_film_spec(load_film(FILM), tmp_path / "linked", opts(d / "store"))
    assert linked.frames_rendered == 0 and linked.frames_from_store == FRAMES
    assert linked.manifest["frames_this_run"] == {"rendered": 0, "from_store": FRAMES, "already_there": 0}
    assert output_digest(tmp_path / "linked") == output_digest(d / "out")


def test_a_film_killed_mid_scene_resumes_to_the_same_bytes(rendered, tmp_path):
    """kill -9 once the second scene has frames, then the same command: the finished scenes
    and frames are kept, the rest computed, and the bytes are the uninterrupted film's."""
    d, _ = rendered
    out = tmp_path / "out"
    env = {**os.environ, "WORLDGEN_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "worldgen", "render", str(FILM), "-o", str(out), "-q"]
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    frames = out / "scenes" / "s2" / "shots" / "s2_wide" / "frames"
    deadline = time.time() + 300
    while p.poll() is None and not (frames.is_dir() and any(frames.iterdir())) and time.time() < deadline:
        time.sleep(0.005)
    killed = p.poll() is None
    if killed:
        os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert killed and not (out / "film.mp4").exists()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    man = json.loads((out / "manifest.json").read_text())
    done = man["frames_this_run"]
    assert done["already_there"] >= 6 and done["rendered"] > 0 and sum(done.values()) == FRAMES
    assert output_digest(out) == output_digest(d / "out")
    assert not list(out.rglob(".*.tmp"))


def test_overwrite_replaces_the_films_outputs_and_keeps_the_users_files(rendered, tmp_path):
    d, _ = rendered
    out = tmp_path / "out"
    render_film_spec(load_film(FILM), out, opts(d / "store"))
    (out / "notes.txt").write_text("mine")
    text = FILM.read_text()
    shorter = text[: text.index("  - id: s4\n")]  # the film without its last scene
    other = load_film_text(shorter, str(FILM), base_dir=FILM.parent)
    from worldgen.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        render_film_spec(other, out, opts(d / "store"))
    res = render_film_spec(other, out, opts(d / "store", overwrite=True))
    assert sorted(p.name for p in (out / "scenes").iterdir()) == ["s1", "s2", "s3"]  # s4 went with the old film
    assert (out / "notes.txt").read_text() == "mine" and res.frames_from_store == 18


def test_cli_renders_a_film_and_refuses_shot(rendered, tmp_path):
    d, _ = rendered
    env = {**os.environ, "WORLDGEN_CACHE": str(d), "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "worldgen", "render", str(FILM), "-q", "--store", str(d / "store")]
    r = subprocess.run(base + ["-o", str(tmp_path / "o")], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"{FRAMES} frames (0 rendered, 0 already there, {FRAMES} from the store)" in r.stdout
    assert "film.mp4" in r.stdout
    r = subprocess.run(
        base + ["-o", str(tmp_path / "p"), "--shot", "s1_wide"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode != 0 and "--shot: a film renders whole scenes" in r.stderr
    assert "Traceback" not in r.stderr


def test_scenes_run_in_parallel_on_ray_with_the_same_bytes(rendered, tmp_path):
    pytest.importorskip("ray")
    d, _ = rendered
    res = render_film_spec(load_film(FILM), tmp_path / "farm", opts(None, executor="ray", ray_workers=2))
    assert res.frames_rendered == FRAMES and res.manifest["executor"] == "ray"
    assert output_digest(tmp_path / "farm") == output_digest(d / "out")


def test_the_feature_benchmark_generates_a_valid_ten_minute_film():
    """benchmarks/feature.py's film of 10 minutes: 50 scenes, 250 shots, a valid film spec
    whose sets are revisited, outfits changed and props moved by declared changes."""
    import yaml

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import feature

    film = load_film_text(yaml.safe_dump(feature.film_spec(10, 24), sort_keys=False), "feature.yaml")
    assert len(film.scenes) == 50 and len(film.edit.shots) == 250
    assert sum(s.duration for s in film.edit.shots) == pytest.approx(600)
    assert (
        sum(bool(e.changed_wardrobe) for e in film.scenes) >= 5 and sum(bool(e.moved_props) for e in film.scenes) >= 9
    )


def test_a_contact_sheet_of_hundreds_of_shots_stays_small(tmp_path):
    """A feature's contact sheet (one row per shot) gets smaller tiles past 40 shots, so its
    size (and the memory it takes) does not grow to hundreds of megapixels."""
    import numpy as np
    from PIL import Image

    from worldgen.film import SHEET_MIN_TILE, contact_sheet

    Image.fromarray(np.zeros((144, 256, 3), np.uint8)).save(tmp_path / "f.png")
    shots = [{"id": f"s{k}", "frames": [{"frame": "f.png", "time": 0.0}] * 4} for k in range(250)]
    contact_sheet(tmp_path, shots[:10], tmp_path / "small.png", "t")
    contact_sheet(tmp_path, shots, tmp_path / "big.png", "t")
    small, big = Image.open(tmp_path / "small.png"), Image.open(tmp_path / "big.png")
    assert small.width == 6 + 4 * (256 + 6)  # a short film's sheet is as it was
    assert big.width == 6 + 4 * (SHEET_MIN_TILE + 6) and big.width * big.height < 10_000_000
