"""The benchmark scripts' discipline, checked on their smallest runs: every timed render starts
from an empty store, cases repeat in rotating order, the record carries the machine and its load,
and the labels in the tables (size, frame count) are those of the run, not typed into a script.
benchmarks/gpu.sh fails in one line without CUDA, and its dry run exercises every step on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import _common as C  # noqa: E402
import consistency  # noqa: E402


def _script(name: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


# ---------------------------------------------------------------- the shared helper


def test_alternating_rotates_the_order_every_round():
    calls = []
    runs, order = C.alternating({k: (lambda k=k: calls.append(k) or len(calls)) for k in "abc"}, 3, log=None)
    assert order == [list("abc"), list("bca"), list("cab")]
    assert calls == list("abcbcacab")
    assert runs == {"a": [1, 6, 8], "b": [2, 4, 9], "c": [3, 5, 7]}


def test_spread_gives_median_and_range():
    s = C.spread([3.0, 1.0, 2.0, 10.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.5, 1.0, 10.0, 4)
    assert C.fmt(C.spread([1, 2, 3]), "s") == "2.00 s (1.00–3.00, n=3)"


def test_fresh_cache_is_new_empty_and_restored(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLDGEN_CACHE", str(tmp_path / "outer"))
    seen = []
    for _ in range(2):
        with C.fresh_cache() as cache:
            assert os.environ["WORLDGEN_CACHE"] == str(cache) and not any(cache.iterdir())
            (cache / "frames").mkdir()
            seen.append(cache)
        assert not cache.exists()
    assert seen[0] != seen[1] and os.environ["WORLDGEN_CACHE"] == str(tmp_path / "outer")


def test_record_names_machine_and_load():
    rec = C.finish_record(C.start_record("x", size=1))
    assert rec["machine"]["cores"] == os.cpu_count() and rec["machine"]["cpu"]
    assert len(rec["load_start"]) == 3 and len(rec["load_end"]) == 3 and rec["wall_s"] >= 0
    line = C.machine_line(rec)
    assert rec["machine"]["cpu"] in line and "Load average" in line


# ---------------------------------------------------------------- benchmarks in their smallest runs


def test_scripts_find_the_tiny_model_builders_outside_the_package(tmp_path):
    """The tiny test-model builders are test code (tests/support/tiny.py), not in the installed
    package: a benchmark script finds them from its checkout, run from the root or elsewhere."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import _common; t = _common.tiny_models(); "
        "print(t.__file__); import worldgen.diffusion as d, pkgutil; "
        "print(sorted(m.name for m in pkgutil.iter_modules(d.__path__)))"
    )
    for cwd in (ROOT, tmp_path):
        p = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "benchmarks")],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert p.returncode == 0, p.stderr
        where, modules = p.stdout.splitlines()
        assert Path(where) == ROOT / "tests" / "support" / "tiny.py"
        assert "tiny" not in modules


def test_production_cold_runs_are_cold_and_labels_come_from_the_render(tmp_path):
    p = _script("production.py", "--tiny", "--no-ray", "--repeats", "2", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads((tmp_path / "production.json").read_text())
    lab = r["labels"]
    assert (lab["frames"], lab["width"], lab["height"]) == (8, 64, 36)  # the tiny spec, as its manifest says
    assert r["order"] == [["cold", "store hit"], ["store hit", "cold"]]
    assert [x["frames_rendered"] for x in r["runs"]["cold"]] == [8, 8]  # each cold run on an empty store
    assert [(x["frames_rendered"], x["frames_from_store"]) for x in r["runs"]["store hit"]] == [(0, 8), (0, 8)]
    assert r["cold_rendered_every_frame"] and r["hits_rendered_nothing"]
    md = (tmp_path / "production.md").read_text()
    assert "8 frames, 64x36" in md and "Load average" in md and "n=2" in md


def test_characters_labels_come_from_the_world(tmp_path):
    p = _script("characters_throughput.py", "--tiny", "--repeats", "2", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads((tmp_path / "characters.json").read_text())
    rows = r["rows"]
    assert [x["characters"] for x in rows] == [0, 1] and rows[1]["triangles"] > rows[0]["triangles"]
    assert (rows[0]["width"], rows[0]["height"]) == (64, 64) and r["order"] == [["0", "1"], ["1", "0"]]
    md = (tmp_path / "characters.md").read_text()
    assert "64x64, raycast backend" in md and f"| 1 | {rows[1]['triangles']:,} |" in md


def test_long_take_section_is_labelled_by_its_own_runs():
    """The 30 s take is timed at the spec's own size, the suite at 128x72: the section's title
    must give the timed runs' size and frame count."""
    run = {
        "wall_s": 100.0,
        "load_before": 1.0,
        "load_after": 2.0,
        "width": 512,
        "height": 288,
        "fps": 24,
        "frames": 720,
        "frames_rendered": 720,
        "render_s": 90.0,
        "render_cpu_s": 88.0,
        "metrics_cpu_s": 80.0,
        "peak_memory_bytes": 9e8,
    }
    timing = {"runs": [run] * 3, "width": 512, "height": 288, "fps": 24, "frames": 720, "every_frame_rendered": True}
    for key in ("wall_s", "render_s", "render_cpu_s", "metrics_cpu_s"):
        timing[key] = C.spread([run[key]] * 3)
    timing["peak_memory_mb"] = C.spread([900] * 3)
    results = {
        "machine": {"cpu": "cpu", "cores": 2},
        "long_take_timing": timing,
        "scenes": [{"scene": "long_take", "width": 128, "height": 72, "methods": {}}],
    }
    text = consistency.long_take_section(results)
    assert "(512x288, 720 frames at 24 fps" in text and "128x72" not in text
    assert "**100.0 s (100.0–100.0, n=3)**" in text


def test_rounds_merge_cost_by_median_and_flag_unequal_metrics():
    def result(seconds, warp):
        summary = {
            "warp_1": warp,
            "warp_5": 0.1,
            "warp_10": 0.1,
            "flicker": None,
            "identity_drift": None,
            "edge_f1": 0.5,
            "camera_held": 0,
            "camera_judged": 0,
            "seconds_per_frame": seconds,
            "peak_memory_bytes": 1e8,
            "unet_per_frame": 0.0,
            "unet_per_film_second": 0.0,
        }
        return {
            "scenes": [{"scene": "s", "methods": {"procedural": {"status": "ok", "summary": summary}}}],
            "methods": ["procedural"],
            "options": {"ks": [1, 5, 10]},
            "wall_s": 1.0,
            "load_average": [1, 1],
        }

    merged = consistency.merge_rounds([result(3.0, 0.01), result(1.0, 0.01), result(2.0, 0.01)], [["procedural"]] * 3)
    summary = merged["scenes"][0]["methods"]["procedural"]["summary"]
    assert summary["seconds_per_frame"] == 2.0 and summary["seconds_per_frame_spread"]["max"] == 3.0
    assert merged["rounds"]["quality_identical"] and merged["overall"]["procedural"]["seconds_per_frame"] == 2.0
    unequal = consistency.merge_rounds([result(1.0, 0.01), result(1.0, 0.02)], [["procedural"]] * 2)
    assert not unequal["rounds"]["quality_identical"]
    assert unequal["rounds"]["mismatches"][0]["metric"] == "warp_1"


# ---------------------------------------------------------------- the GPU script


def _gpu_sh(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.mark.skipif(_cuda(), reason="a CUDA device is here: gpu.sh would measure")
def test_gpu_script_without_cuda_says_so_in_one_line():
    p = _gpu_sh()
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("gpu.sh: no CUDA device")


def test_gpu_script_dry_run_exercises_every_step(tmp_path):
    p = _gpu_sh("--dry-run", str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    md = (tmp_path / "gpu.md").read_text()
    passes = json.loads((tmp_path / "gpu_passes.json").read_text())
    diff = json.loads((tmp_path / "diffusion_real.json").read_text())
    assert "Dry run on the CPU" in md and "did not finish" not in md
    assert "## Passes on the GPU: pyrender over EGL" in md and "## Diffusion painters at real size" in md
    row = passes["passes"][0]
    assert f"| {row['triangles']:,} | {row['width']}x{row['height']} |" in md  # labels from the run
    sh = diff["shoot"]
    assert f"baked frames / s ({sh['baked_size'][0]}x{sh['baked_size'][1]})" in md
    assert diff["full_shot"]["ok"] and "nothing broke" in md
    assert diff["evaluations_identical_every_round"]


# ---------------------------------------------------------------- the README's figures


def test_readme_figures_are_the_committed_results():
    """Every figure block in README.md is what benchmarks/readme_figures.py writes from the
    committed benchmarks/results/*.json: no figure typed by hand, none left stale."""
    p = _script("readme_figures.py", "--check")
    assert p.returncode == 0, p.stderr
