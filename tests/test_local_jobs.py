"""The local executor's worker processes (`--jobs`): frames painted by workers are the same
bytes as frames painted in one process, and the counts say who painted them."""

import json
import os
import subprocess
import sys

from conftest import output_digest

from worldgen.render.local import MAX_AUTO_JOBS, MIN_PIXELS_FOR_WORKERS, worker_count
from worldgen.render.options import RenderOptions

SPEC = """
worldgen: 1
title: jobs
seed: 5
render: {width: 80, height: 45, fps: 12}
style: late afternoon, film grain
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "sand"}
    - {id: hut, shape: box, size: [2, 2, 2], position: [0, 1, 0], appearance: "red brick"}
    - id: ball
      shape: sphere
      radius: 0.4
      appearance: "yellow"
      motion: [{t: 0, position: [-3, 0.4, 2]}, {t: 2, position: [3, 0.4, 2]}]
shots:
  - {id: wide, duration: 2, camera: {move: orbit, target: hut, radius: 9, height: 3, degrees: 40}}
  - {id: close, duration: 1.5, camera: {move: track, target: ball, offset: [0, 1, 4]}}
sound: {ambience: [{kind: wind}]}
edit: {title: true}
"""
FRAMES = 42  # 24 + 18: four runs of at most 12 frames


def render(spec, out, *args, env=None):
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "render", str(spec), "-o", str(out), "-q", "--no-store", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert r.returncode == 0, r.stderr
    return json.loads((out / "manifest.json").read_text())


def test_workers_paint_the_same_bytes(tmp_path):
    """Two worker processes paint every frame (this process only plans and cuts); the frames,
    passes and film are byte for byte those of a render in one process."""
    spec = tmp_path / "jobs.yaml"
    spec.write_text(SPEC)
    one = render(spec, tmp_path / "one", "--jobs", "1")
    assert one["frames_this_run"] == {"rendered": FRAMES, "from_store": 0, "already_there": 0}
    three = render(spec, tmp_path / "three", "--jobs", "3", env={"WORLDGEN_JOBS_PARENT_IDLE": "1"})
    done = three["frames_this_run"]
    assert done["rendered"] == FRAMES and done["worker_processes"] == 2 and done["by_workers"] == FRAMES
    assert done["workers_started_early"] is True  # the CLI started them before planning
    a, b = output_digest(tmp_path / "one"), output_digest(tmp_path / "three")
    assert a.keys() == b.keys() and sum(k.endswith(".png") for k in a) > FRAMES
    assert [k for k in a if a[k] != b[k]] == []


def test_early_workers_the_render_does_not_take_are_stopped(tmp_path):
    """Workers started before planning and not taken (here: no render at all) end with the
    block; a CLI render with early workers whose frames are all in the store links every frame
    (that its early workers stop at once is the next test's)."""
    from worldgen.render import local
    from worldgen.spec import load_spec_text

    spec = load_spec_text(SPEC, str(tmp_path / "jobs.yaml"))
    with local.early_workers(spec, RenderOptions(jobs=2, use_store=False), tmp_path / "o"):
        workers = local._early
        assert len(workers.processes) == 1 and workers.processes[0].is_alive()
    assert local._early is None and all(w.exitcode is not None for w in workers.processes)
    spec_file = tmp_path / "jobs.yaml"
    spec_file.write_text(SPEC)
    store = {"WORLDGEN_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "worldgen", "render", str(spec_file), "-q", "--jobs", "2", "-o"]
    for out in ("a", "b"):
        r = subprocess.run([*cmd, str(tmp_path / out)], capture_output=True, text=True, env={**os.environ, **store})
        assert r.returncode == 0, r.stderr
    done = json.loads((tmp_path / "b" / "manifest.json").read_text())["frames_this_run"]
    assert done == {"rendered": 0, "from_store": FRAMES, "already_there": 0}


def test_a_render_that_computes_nothing_stops_the_early_workers_at_once(tmp_path, monkeypatch):
    """Early workers for a render whose frames are all in the store are stopped as soon as the
    render knows it (before the cut), not when the CLI's block ends."""
    from worldgen.render import local, render
    from worldgen.spec import load_spec_text

    monkeypatch.setenv("WORLDGEN_CACHE", str(tmp_path / "cache"))
    spec = load_spec_text(SPEC, str(tmp_path / "jobs.yaml"))
    render(spec, tmp_path / "a", RenderOptions(progress=False, film=False))  # fills the store
    opt = RenderOptions(jobs=2, progress=False, film=False)
    with local.early_workers(spec, opt, tmp_path / "b"):
        workers = local._early
        res = render(spec, tmp_path / "b", opt)
        assert res.frames_from_store == FRAMES and res.frames_rendered == 0
        assert local._early is None and all(w.exitcode is not None for w in workers.processes)


def test_runs_no_worker_read_do_not_keep_the_process_from_ending(tmp_path):
    """A worker that fails before it reads its runs, then stopped: a large message left in the
    queue must not keep this process waiting at exit for a reader."""
    code = """
from worldgen.render.local import Workers
if __name__ == "__main__":
    w = Workers(1, ("not json", ".", {}, "raycast", None, "out"))
    runs = [("s", list(range(12)), (0.1, 1.0), {i: str(n * 100 + i) * 500 for i in range(12)}) for n in range(20)]
    w.give(runs, False, 1)  # ~300 KB: more than a pipe holds
    w.stop(now=True)
    print("stopped")
"""
    script = tmp_path / "stop.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "stopped" in r.stdout, r.stderr[-2000:]


def test_the_mix_beside_the_frames_is_the_mix_after_them(tmp_path):
    """A render that computes frames mixes the sound in a thread beside them (edit/cut.MixAhead);
    a cut of frames already there mixes after them, in order: the same film."""
    from worldgen.render import RenderOptions, render
    from worldgen.spec import load_spec_text

    spec = load_spec_text(SPEC, str(tmp_path / "jobs.yaml"))
    out = tmp_path / "out"
    first = render(spec, out, RenderOptions(progress=False, use_store=False))
    assert first.frames_rendered == FRAMES and first.timings["mix_ahead_s"] > 0
    a = output_digest(out)
    for name in ("film.mp4", "film-edit.json", "stems/mix.wav"):
        (out / name).unlink()
    again = render(spec, out, RenderOptions(progress=False, use_store=False))
    assert again.frames_rendered == 0 and again.frames_skipped == FRAMES and "mix_ahead_s" not in again.timings
    assert output_digest(out) == a


def test_bad_jobs_is_one_line(tmp_path):
    spec = tmp_path / "jobs.yaml"
    spec.write_text(SPEC)
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "render", str(spec), "-o", str(tmp_path / "o"), "--jobs", "0"],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "--jobs: 0" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "worldgen",
            "render",
            str(spec),
            "-o",
            str(tmp_path / "o"),
            "-j",
            "2",
            "--executor",
            "ray",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "--jobs: for the local executor" in r.stderr and "Traceback" not in r.stderr


def test_bad_jobs_through_the_library(tmp_path):
    import pytest

    from worldgen.errors import WorldgenError
    from worldgen.render import RenderOptions, render
    from worldgen.spec import load_spec_text

    spec = load_spec_text(SPEC, str(tmp_path / "jobs.yaml"))
    with pytest.raises(WorldgenError, match="jobs=-1"):
        render(spec, tmp_path / "o", RenderOptions(jobs=-1, progress=False))
    assert not (tmp_path / "o").exists()


class _Painter:
    def __init__(self, needs_model=False, sequential=False):
        self.needs_model, self.sequential, self.whole_shot = needs_model, sequential, False


class _Spec:
    class render:  # noqa: N801 - stands in for spec.render
        width, height = 512, 288


def _plans(*lengths):
    return [(None, set(range(n)), (0.1, 10.0), {}) for n in lengths]


def test_how_many_workers(monkeypatch):
    """jobs=0 (the CLI's default): one per further CPU for a large render, none for a small one;
    jobs=N asks N processes, no more than there are runs of frames; the library's default and
    a painter with a model: one process."""
    monkeypatch.setattr("worldgen.render.local.usable_cpus", lambda: 4)
    big = _plans(120, 120)
    assert 240 * 512 * 288 >= MIN_PIXELS_FOR_WORKERS > 12 * 512 * 288
    assert worker_count(RenderOptions(jobs=0), big, _Spec, _Painter()) == 3
    assert worker_count(RenderOptions(jobs=0), _plans(12), _Spec, _Painter()) == 0
    assert worker_count(RenderOptions(), big, _Spec, _Painter()) == 0
    assert worker_count(RenderOptions(jobs=1), big, _Spec, _Painter()) == 0
    assert worker_count(RenderOptions(jobs=2), big, _Spec, _Painter()) == 1
    assert worker_count(RenderOptions(jobs=8), _plans(30), _Spec, _Painter()) == 2  # three runs of frames
    assert worker_count(RenderOptions(jobs=8), big, _Spec, _Painter(sequential=True)) == 1  # whole shots
    assert worker_count(RenderOptions(jobs=4), big, _Spec, _Painter(needs_model=True)) == 0
    monkeypatch.setattr("worldgen.render.local.usable_cpus", lambda: 64)
    assert worker_count(RenderOptions(jobs=0), _plans(600), _Spec, _Painter()) == MAX_AUTO_JOBS - 1


def test_usable_cpus_follow_a_cgroup_quota(monkeypatch, tmp_path):
    """`docker --cpus=2` on a large host: two CPUs, not the host's."""
    from pathlib import Path

    from worldgen.render import local

    quota = tmp_path / "cpu.max"
    quota.write_text("200000 100000\n")
    real = Path.read_text
    monkeypatch.setattr(
        Path,
        "read_text",
        lambda self, *a, **k: real(quota) if str(self) == "/sys/fs/cgroup/cpu.max" else real(self, *a, **k),
    )
    monkeypatch.setattr(local.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert local.usable_cpus() == 2
    quota.write_text("max 100000\n")
    assert local.usable_cpus() == 64
