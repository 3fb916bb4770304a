"""What every benchmark in this folder shares, so that none of them re-implements (or forgets) it.

- **Isolation.** `fresh_cache()` points WORLDGEN_CACHE (frame store and texture cache) at a new
  empty folder for the duration of a block, so a timed render can never be a store hit by
  accident; CLI subprocesses inherit it through the environment.
- **Warm-up.** `warm_up()` pays the one-off costs (imports, numba compilation, which numba also
  writes to its on-disk cache for later processes, the first BVH, ffmpeg's first start) on a
  tiny scene before anything is timed; `warm_up_cli()` does the same through the CLI.
- **Repetition in alternating order.** `alternating()` runs each case `repeats` times, rotating
  the order every round (A B C, B C A, C A B), so a slow phase of a shared machine does not
  always land on the same case.
- **Median and spread.** `spread()` gives median, min, max and the values; `fmt()` prints them.
- **Machine record.** `start_record()` / `finish_record()` write the CPU model, cores, OS,
  versions and the load average at the start and at the end: the machine these ran on is shared,
  and a load above the core count means the figures include waiting.
- **Labels from the run.** Sizes, frame counts and memory in the tables are read from the run's
  record (a manifest, a world, a process), never typed into a script's text; `run_cli()` returns
  what the render itself reported (frames rendered, frames taken from the store).
- **Tiny models.** `tiny_models()` is the tests' model builder module (tests/support/tiny.py,
  test code that stays out of the installed package), found from this checkout wherever the
  script is run from.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REPEATS = 3

# a scene that touches every per-frame code path (static and moving geometry, both flows,
# a film) in a second of 64x36 frames: the warm-up render
TINY_SPEC = """
worldgen: 1
title: benchmark warm-up
seed: 1
render: {width: 64, height: 36, fps: 8}
world:
  objects:
    - {id: ground, shape: plane, size: [10, 10], appearance: "grey stone"}
    - {id: post, shape: cylinder, radius: 0.3, height: 1.5, position: [-1, 0.75, 0], appearance: "white"}
    - id: box
      shape: box
      size: [0.8, 0.8, 0.8]
      appearance: "red wood"
      motion:
        - {t: 0, position: [-2, 0.4, 1]}
        - {t: 1, position: [2, 0.4, 1]}
  lights:
    - {type: sun, direction: [-0.3, -1, -0.4], intensity: 3}
shots:
  - {id: a, duration: 1, camera: {move: orbit, look_at: [0, 0.5, 0], radius: 6, height: 2, degrees: 30}}
"""


# ---------------------------------------------------------------- isolation


@contextlib.contextmanager
def fresh_cache(prefix: str = "worldgen-bench-cache-") -> Iterator[Path]:
    """A new, empty WORLDGEN_CACHE for the block (removed afterwards); the previous value is restored."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    before = os.environ.get("WORLDGEN_CACHE")
    os.environ["WORLDGEN_CACHE"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("WORLDGEN_CACHE", None)
        else:
            os.environ["WORLDGEN_CACHE"] = before
        shutil.rmtree(folder, ignore_errors=True)


def write_tiny_spec(folder: Path) -> Path:
    path = Path(folder) / "warm_up.yaml"
    path.write_text(TINY_SPEC)
    return path


# ---------------------------------------------------------------- warm-up


def warm_up(backends: tuple[str, ...] = ("raycast",)) -> float:
    """In-process warm-up: import worldgen and compute every pass of the tiny scene on each
    backend (numba kernels compiled or loaded from numba's cache). Returns its seconds."""
    a = time.perf_counter()
    from worldgen.passes.sequence import Rasterizer
    from worldgen.spec import load_spec_text
    from worldgen.world import World

    spec = load_spec_text(TINY_SPEC, "warm_up.yaml")
    world = World(spec)
    for backend in backends:
        raster = Rasterizer(world, backend)
        for _ in raster.shot_frames(spec.shots[0], spec.render.width, spec.render.height, spec.render.fps):
            pass
    return time.perf_counter() - a


def warm_up_cli(extra: tuple[str, ...] = ()) -> float:
    """CLI warm-up: one untimed `worldgen render` of the tiny scene (frames, passes, film) on a
    throwaway cache, so the timed runs find numba's compiled kernels and a warm file cache."""
    with tempfile.TemporaryDirectory(prefix="worldgen-bench-warm-") as d, fresh_cache():
        spec = write_tiny_spec(Path(d))
        return run_cli(["render", spec, "-o", Path(d) / "out", "-q", *extra])["seconds"]


# ---------------------------------------------------------------- repetition and statistics


def rotations(names: list[str], repeats: int) -> list[list[str]]:
    """The order of each round: the case list rotated by one per round."""
    n = len(names)
    return [names[r % n :] + names[: r % n] for r in range(repeats)]


def alternating(
    cases: dict[str, Callable[[], object]], repeats: int = REPEATS, log: Callable[[str], None] | None = print
) -> tuple[dict[str, list], list[list[str]]]:
    """Run every case `repeats` times, rotating the order each round. Returns ({case: [results
    in round order]}, [the order of each round])."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    names = list(cases)
    out: dict[str, list] = {n: [] for n in names}
    order = rotations(names, repeats)
    for r, seq in enumerate(order):
        for name in seq:
            value = cases[name]()
            out[name].append(value)
            if log:
                log(f"round {r + 1}/{repeats} {name}: {value if not isinstance(value, dict) else _short(value)}")
    return out, order


def _short(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items() if isinstance(v, (int, float, str, bool)))


def spread(values, digits: int = 4) -> dict:
    """Median, min, max and the values themselves (rounded), of a non-empty list of numbers."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("no values")
    r = lambda x: round(x, digits)  # noqa: E731
    return {
        "median": r(statistics.median(vals)),
        "min": r(min(vals)),
        "max": r(max(vals)),
        "n": len(vals),
        "values": [r(v) for v in vals],
    }


def fmt(s: dict, unit: str = "", digits: int = 2, count: bool = True) -> str:
    """'40.20 s (39.81–41.03, n=3)': the median, then the range (and, with count, how many)."""
    u = f" {unit}" if unit else ""
    n = f", n={s['n']}" if count else ""
    return f"{s['median']:.{digits}f}{u} ({s['min']:.{digits}f}–{s['max']:.{digits}f}{n})"


# ---------------------------------------------------------------- machine record

# the libraries a benchmark record names (worldgen.render.record.versions reads them)
RECORD_PACKAGES = ("worldgen", "numpy", "numba", "open3d", "torch", "diffusers", "pyrender")


def gpu_name() -> str | None:
    """The first NVIDIA GPU's name from nvidia-smi, or None."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    p = subprocess.run(
        [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], capture_output=True, text=True
    )
    return p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else None


def machine() -> dict:
    """What the figures depend on: CPU model, cores usable here, OS, Python, library versions
    (from worldgen.render.record, which render manifests and bench results use too; the GPU is
    asked of nvidia-smi, so that a CPU benchmark never imports torch for it)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    from worldgen.render.record import machine_info, versions

    info = machine_info()  # the same CPU, cores, OS and Python that `worldgen bench` records
    return {
        "cpu": info["cpu"],
        "cores": info["cores"],
        "cores_usable": usable,
        "os": info["platform"],
        "python": info["python"],
        "versions": versions(RECORD_PACKAGES),
        "gpu": gpu_name(),
    }


def start_record(benchmark: str, **params) -> dict:
    """A result record opened with the machine and its load average (1, 5, 15 min) at the start."""
    return {
        "benchmark": benchmark,
        "params": params,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "code": code_version(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "_t0": time.perf_counter(),
    }


def code_version() -> str | None:
    """The commit the figures were measured on ('+changes' when the tree differs from it, results
    files apart: a run of several benchmarks rewrites them as it goes), or None outside a git
    checkout: a figure can then be tied to the code that made it."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except OSError:
        return None


def finish_record(record: dict) -> dict:
    """Close a record: load average at the end and the benchmark's total wall time."""
    record["load_end"] = [round(x, 2) for x in os.getloadavg()]
    record["ended"] = time.strftime("%Y-%m-%d %H:%M:%S")
    record["wall_s"] = round(time.perf_counter() - record.pop("_t0"), 1)
    return record


def machine_line(record: dict) -> str:
    """One Markdown line naming the machine, the date and the load (the shared-machine caveat)."""
    m = record["machine"]
    v = m.get("versions", {})
    libs = ", ".join(f"{k} {v[k]}" for k in ("numpy", "open3d", "torch") if k in v)
    gpu = f"GPU {m['gpu']}" if m.get("gpu") else "no GPU"
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {gpu}; {m['os']}; "
        f"Python {m['python']}, {libs}. Run {record['started']} to {record['ended']} ({record['wall_s']} s)"
        f"{', code ' + record['code'] if record.get('code') else ''}. "
        f"Load average (1/5/15 min) at start {fmt_load(record['load_start'])}, at end "
        f"{fmt_load(record['load_end'])}: the machine was shared, and a 1-minute load above "
        f"{m['cores_usable']} means timed work waited for a core."
    )


def fmt_load(load) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def write_json(record: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


# ---------------------------------------------------------------- running the CLI as a user does

_RENDERED = re.compile(r"\((\d+)\s+rendered")
_FROM_STORE = re.compile(r"(\d+)\s+from\s+the\s+store")


def run_cli(args, env: dict | None = None, poll_s: float = 0.25) -> dict:
    """Run `python -m worldgen ARGS` and time it as a user would. Returns seconds, the peak summed
    resident memory of the process and its children (ffmpeg, Ray workers started by it), polled
    every `poll_s` (getrusage would count this process, copied at fork), and what the render
    summary reported: frames rendered and frames linked from the store. Polled every quarter
    second: a render that uses every core (local worker processes) loses what the poller takes."""
    import psutil

    cmd = [sys.executable, "-m", "worldgen", *map(str, args)]
    a = time.perf_counter()
    p = subprocess.Popen(
        cmd, env=env if env is not None else dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc, peak = psutil.Process(p.pid), 0
    while p.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(poll_s)
    secs = time.perf_counter() - a
    out, err = p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {err.strip()[-2000:]}")
    rendered, stored = _RENDERED.search(out), _FROM_STORE.search(out)
    return {
        "seconds": round(secs, 3),
        "peak_rss_mb": round(peak / 2**20),
        "frames_rendered": int(rendered.group(1)) if rendered else None,
        "frames_from_store": int(stored.group(1)) if stored else 0,
    }


def render_labels(render_dir: Path) -> dict:
    """Size, frame rate, frame count and film length as the render's own manifest states them."""
    man = json.loads((Path(render_dir) / "manifest.json").read_text())
    frames = sum(s["frame_count"] for s in man["shots"])
    width, height, fps = man["width"], man["height"], man["fps"]
    return {
        "frames": frames,
        "width": width,
        "height": height,
        "fps": fps,
        "film_seconds": round(frames / fps, 3) if fps else None,
        "title": man.get("title"),
    }


def output_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20, 1)


def tiny_models():
    """tests/support/tiny.py of this checkout (the tiny test-model builders: SD1.5- and SDXL-class
    folders built from configs, random weights), imported as the tests import it."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from support import tiny

    return tiny
