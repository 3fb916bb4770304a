"""Appearance drift of painted pixels in texture space (worldgen.bench.reprojection): computed
per body region, exactly 0 for the same frames, above 0 where one scene's frames are changed,
and for the per-frame baseline (a tiny random model: a pipeline check, not a figure) above the
procedural painter's floor, which is exactly 0 between scenes lit and framed alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from worldgen.bench.continuity import continuity, markdown
from worldgen.bench.reprojection import paint_scene, pixel_drift, regions, texels
from worldgen.spec.film_loader import load_film

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT / "tests" / "films" / "same_room.yaml"
BODY = {"head", "torso", "arms", "legs"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("torch")
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_sd15, tiny_controlnet_refs

    d = tmp_path_factory.mktemp("tiny")
    build_tiny_sd15(d / "m", controlnets=("depth",))
    refs = tiny_controlnet_refs(d / "m")
    return {"base": str(d / "m"), "controlnets": {"depth": refs["depth"]}, "steps": 2}


@pytest.fixture(scope="module")
def scene_a(tiny):
    """Scene a painted by the per-frame baseline: (entry, world, frames)."""
    e = load_film(FILM).scenes[0]
    world, frames = paint_scene(e, "per-frame", tiny)
    return e, world, frames


def _mara(rows):
    return {r["region"]: r for r in rows if r["kind"] == "character" and r["id"] == "mara"}


def test_the_same_frames_compared_with_themselves_drift_exactly_zero_per_region(scene_a):
    e, world, frames = scene_a
    t = texels(world, frames)
    rows = pixel_drift(SimpleNamespace(scenes=[e, e]), [(world, t), (world, t)])
    mara = _mara(rows)
    assert set(mara) == BODY  # one row per body region
    assert all(r["bins"] > 0 and r["drift"] == 0.0 and r["status"] == "same outfit" for r in mara.values())


def test_a_scene_whose_torso_pixels_are_changed_drifts_there_only(scene_a):
    e, world, frames = scene_a
    torso = [k for k, oid in enumerate(world.nodes) if oid in regions(world)[("character", "mara", "torso")]]
    changed = []
    for f in frames:  # the second scene: the same frames with mara's torso 20 levels darker
        img = f.image.astype(np.int16)
        img[np.isin(f.part, torso)] -= 20
        changed.append(replace(f, image=np.clip(img, 0, 255).astype(np.uint8)))
    rows = pixel_drift(
        SimpleNamespace(scenes=[e, e]), [(world, texels(world, frames)), (world, texels(world, changed))]
    )
    mara = _mara(rows)
    assert 0 < mara["torso"]["drift"] <= 20
    assert mara["head"]["drift"] == mara["arms"]["drift"] == mara["legs"]["drift"] == 0.0


def test_per_frame_baseline_drifts_where_procedural_pixels_agree(tiny):
    """Scenes a and b are lit and framed alike in the same outfit: the procedural painter's
    pixels (the floor) agree exactly, the per-frame baseline's fresh noise does not; c's new
    outfit is reported, not counted."""
    rep = continuity(load_film(FILM), "per-frame", tiny)
    assert rep.flags == [] and rep.appearance == []  # no albedo to sample: pixels only
    px = rep.pixels
    assert px["painter"] == "per-frame" and px["floor"]
    b = _mara(r for r in px["rows"] if r["scene"] == "b")
    assert set(b) == BODY
    assert all(r["light"] == "same" and r["floor"] == 0.0 and r["drift"] > 0 for r in b.values())
    c = _mara(r for r in px["rows"] if r["scene"] == "c")
    assert all(r["status"] == "declared change" and r["outfit"] == "coat" for r in c.values())
    assert {s["region"]: s["comparisons"] for s in px["summary"]} == {r: 1 for r in BODY}  # b only
    assert "## Appearance drift of painted pixels" in markdown(rep)


def test_procedural_pixels_drift_zero_between_alike_scenes():
    rep = continuity(load_film(FILM), "procedural", pixels=True)
    assert rep.pixels["floor"] is False  # procedural is its own floor
    b = _mara(r for r in rep.pixels["rows"] if r["scene"] == "b")
    assert set(b) == BODY and all(r["drift"] == 0.0 for r in b.values())
    c = _mara(r for r in rep.pixels["rows"] if r["scene"] == "c")
    assert c["torso"]["drift"] > 10  # night and a blue coat: reported as the declared change


def test_bench_of_a_film_measures_its_per_frame_method(tiny, tmp_path):
    from worldgen.bench.runner import BenchOptions, run_bench

    opts = BenchOptions(progress=False, video=False, model=tiny["base"], painter_options={"steps": 2})
    results = run_bench([FILM], ["procedural", "per-frame"], tmp_path, opts)
    rep = results["continuity"][0]
    assert rep["pixels"] is None  # the film's own painter (procedural) has its albedo measure
    (px,) = rep["pixel_methods"]
    assert px["painter"] == "per-frame" and {s["region"] for s in px["summary"]} == BODY
    text = (tmp_path / "results.md").read_text()
    assert "Painter per-frame: every frame's pixels" in text


def test_cli_pixels_flag(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "worldgen", "continuity", str(FILM), "--pixels", "-o", str(tmp_path)]
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "continuity.json").read_text())
    assert data["pixels"]["painter"] == "procedural" and data["pixels"]["rows"]
    assert "| mara | torso | b | a | same | oilskin |" in r.stdout
