"""`worldgen bench`: the runner, its report, the shotdrift judge and the command, on a tiny scene.

One render (64x48, two 12-frame shots of the same objects: a locked-off still and an orbit) is
shared by most tests, so the module stays well under a minute on two cores."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from worldgen.bench import metrics as M
from worldgen.bench import shotdrift_judge
from worldgen.bench.runner import (
    BenchOptions,
    EvalConfig,
    check_methods,
    evaluate_shot,
    plans_from_manifest,
    read_frame,
    run_bench,
    static_camera,
)
from worldgen.errors import WorldgenError

TINY = """
worldgen: 1
title: Bench tiny
seed: 3
render: {width: 64, height: 48, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "grey stone tiles"}
    - {id: box, shape: box, size: [1.2, 1.2, 1.2], position: [0, 0.6, 0], appearance: "red and white checkered"}
    - {id: ball, shape: sphere, radius: 0.5, position: [1.5, 0.5, 0.5], appearance: "blue with white spots"}
shots:
  - id: still
    duration: 1
    camera: {move: static, position: [0, 2, 6], look_at: [0, 0.5, 0]}
  - id: orbit
    duration: 1
    camera: {move: orbit, target: box, radius: 6, height: 2, degrees: 30}
"""
MISSING = "bench-test-missing"  # a painter that registers but cannot run here


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("spec") / "tiny.yaml"
    p.write_text(textwrap.dedent(TINY).lstrip())
    return p


@pytest.fixture(scope="module")
def missing_painter():
    from worldgen.paint import registry

    def make(world, raster, options):
        raise registry.PainterError("no weights on this machine")

    registry.register(MISSING, make, "test painter that is never available")
    yield MISSING
    registry.unregister(MISSING)


@pytest.fixture(scope="module")
def bench(tiny_spec, missing_painter, tmp_path_factory):
    """Render with procedural (metrics evaluated in a second process while it renders) plus one
    method that cannot run."""
    out = tmp_path_factory.mktemp("bench")
    results = run_bench([tiny_spec], ["procedural", missing_painter], out, BenchOptions(follow=True))
    return out, results


def _procedural(results) -> dict:
    return results["scenes"][0]["methods"]["procedural"]


def test_results_files_and_every_metric(bench):
    out, results = bench
    files = results["files"]
    for key in ("json", "markdown", "warp_curves", "metric_bars", "html"):
        assert (out / files[key]).is_file(), key
    assert (out / files["strips"]["tiny"]).is_file() and (out / files["videos"]["tiny"]).stat().st_size > 0
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["methods"] == ["procedural", MISSING]
    summary = on_disk["scenes"][0]["methods"]["procedural"]["summary"]
    for key in (
        "warp_1",
        "warp_5",
        "warp_10",
        "flicker",
        "identity_drift",
        "edge_f1",
        "edge_precision",
        "edge_recall",
        "seconds_per_frame",
        "unet_per_frame",
        "unet_per_film_second",
        "peak_memory_bytes",
    ):
        assert summary[key] is not None and math.isfinite(summary[key]), key
    assert summary["unet_per_frame"] == 0 and summary["peak_memory_bytes"] > 0
    assert summary["camera_judged"] >= 0
    page = (out / files["html"]).read_text()
    for rel in [files["warp_curves"], files["metric_bars"], files["strips"]["tiny"], files["videos"]["tiny"]]:
        assert f"'{rel}'" in page and not Path(rel).is_absolute()
    table = (out / files["markdown"]).read_text()
    assert "| tiny | procedural |" in table and "E_warp(10)" in table


def test_unavailable_method_is_reported_not_fatal(bench):
    _, results = bench
    entry = results["scenes"][0]["methods"][MISSING]
    assert entry == {"status": "unavailable", "reason": "no weights on this machine"}
    assert _procedural(results)["status"] == "ok"


def test_procedural_warping_error_zero_when_static_small_otherwise(bench):
    _, results = bench
    still, orbit = _procedural(results)["shots"]
    assert still["warp"]["1"]["pairs"] == 11 and orbit["warp"]["1"]["pairs"] == 11
    for k in ("1", "5", "10"):
        assert still["warp"][k]["mean"] < 1e-8  # nothing moves: the same pixels, exactly
    assert 0 < orbit["warp"]["1"]["mean"] < 0.01  # surface-anchored look: resampling error only
    assert orbit["warp"]["5"]["every"] == 5 and orbit["warp"]["5"]["starts"] == [0, 5]


def test_flicker_only_for_static_camera_shots(bench):
    _, results = bench
    still, orbit = _procedural(results)["shots"]
    assert still["static_camera"] and not orbit["static_camera"]
    assert still["flicker"] == pytest.approx(1.0, abs=1e-9) and orbit["flicker"] is None
    assert _procedural(results)["summary"]["flicker"] == still["flicker"]
    frames = [{"K": [[1, 0, 0]], "world_to_camera": [[1]]}, {"K": [[2, 0, 0]], "world_to_camera": [[1]]}]
    assert not static_camera(frames)  # a zoom: same pose, other K


def test_identity_drift_between_shots_sharing_objects(bench):
    _, results = bench
    proc = _procedural(results)
    rows = {r["object"]: r for r in proc["identity_drift"]}
    assert {"box", "ball", "ground"} <= set(rows)
    box = rows["box"]
    assert (box["shot_a"], box["shot_b"]) == ("still", "orbit") and box["texels"] > 0
    # the streaming accumulation equals the metrics library on whole shots
    render_dir = Path(proc["render_dir"])
    manifest = json.loads((render_dir / "manifest.json").read_text())
    from worldgen.io import read_passes

    views = []
    for shot in manifest["shots"]:
        frames = [read_frame(render_dir / f["frame"]) for f in shot["frames"]]
        passes = [read_passes(render_dir / f["passes"]) for f in shot["frames"]]
        views.append(M.ShotView(frames, [(p["instance"], p["uv"]) for p in passes]))
    direct = M.identity_drift(views[0], views[1], box["instance"], tex_res=64)
    assert box["drift"] == pytest.approx(direct.drift, abs=1e-12) and box["texels"] == direct.texels


def test_streaming_warping_error_equals_the_library(bench):
    _, results = bench
    render_dir = Path(_procedural(results)["render_dir"])
    manifest = json.loads((render_dir / "manifest.json").read_text())
    plan = plans_from_manifest(render_dir, manifest, {})[1]
    ev = evaluate_shot(plan, EvalConfig(ks=(1, 5), long_range_every=1, judge_camera=False))
    from worldgen.io import read_passes

    frames = [read_frame(p) for p in plan.frames]
    passes = [read_passes(Path(p)) for p in plan.passes]
    for k in (1, 5):
        whole = M.warping_error(frames, [p["flow_fwd"] for p in passes], [p["occlusion_fwd"] for p in passes], k=k)
        assert np.array_equal(ev.warp[k].per_pair, whole.per_pair) and ev.warp[k].mean == whole.mean


def test_streaming_flicker_equals_the_library(tmp_path):
    """Frames that flicker (alternating brightness) under a square that moves: the streaming
    evaluation and metrics.temporal_flickering over the same still pixels (the square, what it
    covers and uncovers left out) give the same VBench score, unlike the score over all pixels."""
    from PIL import Image

    from worldgen.bench.evaluate import ShotPlan
    from worldgen.io import write_npz

    h, w, n = 24, 32, 5
    rng = np.random.default_rng(7)
    backdrop = rng.integers(40, 200, (h, w, 3))
    frames, moves, plan = [], [], ShotPlan("s", [], [], {}, 12.0)
    for i in range(n):
        img = backdrop + (10 if i % 2 else -10)
        img[8:16, 4 + 4 * i : 12 + 4 * i] = 250  # the square moves 4 px a frame
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
        flow = np.zeros((h, w, 2), np.float32)
        flow[8:16, 4 + 4 * i : 12 + 4 * i, 0] = 4
        occlusion = np.zeros((h, w), np.uint8)
        occlusion[8:16, 4 + 4 * (i + 1) : 12 + 4 * (i + 1)] = 1  # what the square covers next
        moves.append((flow, occlusion))
        plan.frames.append(str(tmp_path / f"{i}.png"))
        plan.passes.append(str(tmp_path / f"{i}.npz"))
        Image.fromarray(frames[-1]).save(plan.frames[-1])
        write_npz(
            Path(plan.passes[-1]),
            {
                "flow_fwd": flow,
                "occlusion_fwd": occlusion,
                "depth": np.ones((h, w), np.float32),
                "normal": np.zeros((h, w, 3), np.float32),
                "instance": np.ones((h, w), np.int32),
                "uv": np.zeros((h, w, 2), np.float32),
            },
        )
    still = [M.still_pixels(flow, occlusion, np.ones((h, w)), np.ones((h, w))) for flow, occlusion in moves[:-1]]
    ev = evaluate_shot(plan, EvalConfig(ks=(1,), structure_every=n + 1, judge_camera=False))
    library = M.temporal_flickering(frames, still)
    assert ev.flicker == pytest.approx(library, abs=1e-12) and library != pytest.approx(M.temporal_flickering(frames))


def test_reading_a_rendered_folder_gives_the_same_numbers(bench, tmp_path):
    _, results = bench
    proc = _procedural(results)
    again = run_bench([proc["render_dir"]], None, tmp_path, BenchOptions(follow=False, report=False))
    assert again["methods"] == ["procedural"]
    read = again["scenes"][0]["methods"]["procedural"]
    for key in ("warp_1", "warp_5", "warp_10", "flicker", "identity_drift", "edge_f1", "camera_held"):
        assert read["summary"][key] == proc["summary"][key], key
    for a, b in zip(read["shots"], proc["shots"]):
        assert a["warp"] == b["warp"] and a["structure"] == b["structure"]
        assert a["camera_judge"]["verdict"] == b["camera_judge"]["verdict"]


def test_camera_moves_map_to_shotdrift_names():
    expect = shotdrift_judge.expected_move
    assert expect({"move": "static"})[0] == "static"
    assert expect({"move": "dolly", "distance": 3})[0] == "dolly-in"
    assert expect({"move": "dolly", "distance": -3})[0] == "dolly-out"
    assert expect({"move": "zoom", "fov": 45, "fov_end": 20})[0] == "zoom-in"
    assert expect({"move": "zoom", "lens_mm": 50, "lens_mm_end": 24})[0] == "zoom-out"
    assert expect({"move": "pan", "degrees": 30})[0] == "pan-right"
    assert expect({"move": "tilt", "degrees": -10})[0] == "tilt-down"
    assert expect({"move": "roll", "degrees": 15})[0] == "roll-cw"
    assert expect({"move": "truck", "distance": 2, "look_at": [0, 0, 0]})[0] == "pan-right"
    assert expect({"move": "pedestal", "distance": 1, "look_at": [0, 0, 0]})[0] == "tilt-up"
    for move in ("orbit", "crane", "track", "over_the_shoulder", "close_up"):
        name, why = expect({"move": move})
        assert name is None and why
    assert expect({"move": "truck", "distance": 2, "target": "x"})[0] is None
    assert expect({"keyframes": [{"t": 0}, {"t": 1}]})[0] is None


def test_camera_judge_never_crashes(monkeypatch, bench):
    _, results = bench
    still = _procedural(results)["shots"][0]
    assert still["camera_judge"]["expect"] == "static"
    assert still["camera_judge"]["verdict"] in ("HELD", "NOT HELD", "NOT MEASURABLE")
    monkeypatch.setattr(shotdrift_judge, "availability", lambda: (False, "shotdrift unavailable: test"))
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    judged = shotdrift_judge.judge(frames, {"move": "static"}, 12)
    assert judged["verdict"] == "unavailable" and judged["detail"] == "shotdrift unavailable: test"
    assert shotdrift_judge.judge(frames, {"move": "orbit"}, 12)["verdict"] == "not judged"


def test_static_move_that_turns_to_follow_is_not_judged():
    from worldgen.bench.evaluate import ShotEval
    from worldgen.bench.results import shot_result

    held = {"expect": "static", "verdict": "HELD", "detail": "locked off as asked"}
    ev = ShotEval("s", 2, {}, {}, 1.0, [], held, None, 0.0, 0.0)
    still = [{"K": [[1]], "world_to_camera": [[1]]}] * 2
    turning = [{"K": [[1]], "world_to_camera": [[1]]}, {"K": [[1]], "world_to_camera": [[0]]}]
    assert shot_result(ev, {"frames": still})["camera_judge"]["verdict"] == "HELD"
    assert shot_result(ev, {"frames": turning})["camera_judge"]["verdict"] == "not judged"


def test_painter_options_for_diffusion_methods(tmp_path):
    from worldgen.bench.runner import painter_options_for

    model = tmp_path / "tiny"
    for kind in ("depth", "normal"):
        (model / f"controlnet-{kind}").mkdir(parents=True)
        (model / f"controlnet-{kind}" / "config.json").write_text("{}")
    options = BenchOptions(model=str(model), painter_options={"steps": 2})
    assert painter_options_for("procedural", options, tmp_path) == {}
    per_frame = painter_options_for("per-frame", options, tmp_path / "r")
    assert per_frame == {
        "steps": 2,
        "base": str(model),
        "controlnets": {"depth": str(model / "controlnet-depth"), "normal": str(model / "controlnet-normal")},
    }
    assert painter_options_for("baked", options, tmp_path / "r")["cache"] == str(tmp_path / "r" / "texture-cache")


def test_bad_methods_are_one_line_usage_errors():
    with pytest.raises(WorldgenError, match="did you mean 'procedural'") as e:
        check_methods(["procedual"])
    assert e.value.exit_code == 2
    assert check_methods(["procedural", "baked+refine", "procedural"]) == ["procedural", "baked+refine"]


def test_baked_without_a_model_is_unavailable_and_says_why(tiny_spec, tmp_path):
    """No --model: the diffusion painter cannot run, and the report says why (with a model it
    runs: test_diffusion_methods_through_worldgen_bench)."""
    import importlib.util

    results = run_bench([tiny_spec], ["baked"], tmp_path, BenchOptions(video=False, progress=False))
    baked = results["scenes"][0]["methods"]["baked"]
    why = "need a base model" if importlib.util.find_spec("diffusers") else "no painter 'baked'"
    assert baked["status"] == "unavailable" and why in baked["reason"], baked


@pytest.mark.parametrize(
    "args, message",
    [
        (["--methods", "procedual"], "did you mean 'procedural'"),
        (["--size", "48by32"], "--size"),
        (["--painter-option", "steps"], "KEY=VALUE"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tiny_spec, tmp_path, args, message):
    from typer.testing import CliRunner

    from worldgen.bench.cli import app

    r = CliRunner().invoke(app, [str(tiny_spec), "-o", str(tmp_path / "o"), "-q", *args])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_cli_missing_input_exit_2(tmp_path):
    from typer.testing import CliRunner

    from worldgen.bench.cli import app

    r = CliRunner().invoke(app, [str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2 and "no such file" in r.output
    folder = tmp_path / "not_a_render"
    folder.mkdir()
    r = CliRunner().invoke(app, [str(folder), "-o", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2 and "not a worldgen render" in r.output


def test_diffusion_methods_through_worldgen_bench(tiny_spec, tmp_path):
    """The user's diffusion bench path, `worldgen bench SPEC --model M` with the default methods,
    on a tiny random-weight SD1.5 with a depth ControlNet on CPU (32x24, 4 fps, 2 steps): the
    same code a real model takes on a GPU, with cost read from the manifests' painter_stats.
    A pipeline check: random weights say nothing about how good a method is."""
    pytest.importorskip("diffusers")
    from worldgen.bench.cli import DEFAULT_METHODS
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_sd15

    model = build_tiny_sd15(tmp_path / "sd15", controlnets=("depth",))
    out = tmp_path / "out"
    options = [
        f"{k}={v}"
        for k, v in {"steps": 2, "views": 2, "view_size": 32, "texture_size": 32, "part_texture_size": 16}.items()
    ]
    cmd = [
        sys.executable,
        "-m",
        "worldgen",
        "bench",
        str(tiny_spec),
        "--model",
        str(model),
        "--size",
        "32x24",
        "--fps",
        "4",
        "-o",
        str(out),
        "--no-video",
        "-q",
        *[a for o in options for a in ("--painter-option", o)],
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)  # a hang, not a speed limit
    assert p.returncode == 0, p.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["scenes"][0]["width"] == 32 and results["options"]["size"] == [32, 24]
    for name in ("results.md", "index.html", "plots/warp_curves.png", "plots/metric_bars.png", "strips/tiny.png"):
        assert (out / name).is_file(), name
    methods = results["scenes"][0]["methods"]
    assert list(methods) == DEFAULT_METHODS.split(",")
    for name, m in methods.items():
        assert m["status"] == "ok", (name, m)
        summary = m["summary"]
        assert m["cost"]["frames"] == 8 and math.isfinite(summary["warp_1"]), (name, summary)
        if name == "procedural":
            continue
        cost, stats = m["cost"], m["cost"]["painter_stats"]
        assert cost["peak_memory_source"] == "painter_stats", (name, cost)
        # evaluations in the frames: the baselines 2 steps each; baked none (look development
        # only); refinement round(2 steps x 0.3) = 1 each. UNet/frame counts look development too.
        lookdev = stats["lookdev"]["unet_evals"] if "lookdev" in stats else 0
        assert stats["unet_evals"] - lookdev == 8 * {"baked": 0, "baked+refine": 1}.get(name, 2), (name, stats)
        assert name not in ("baked", "baked+refine") or lookdev > 0, (name, stats)
        assert summary["unet_per_frame"] == stats["unet_evals"] / 8, (name, summary)
        assert summary["unet_per_film_second"] == summary["unet_per_frame"] * 4, (name, summary)
