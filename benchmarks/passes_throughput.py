"""Passes throughput per backend, resolution and triangle count, next to raw ray casting;
and the demo film end to end (time, peak memory).

    python benchmarks/passes_throughput.py [--quick]

Writes benchmarks/results/passes.json, passes.md and passes.png. 'all passes' means what
`worldgen passes` computes per frame (hits, depth, normal, ids, uv, forward + backward flow
with occlusion), without writing files; 'raw cast_rays' is Open3D's RaycastingScene.cast_rays
alone on the same scene and rays. Medians over the timed frames, one run, machine recorded."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def scene_yaml(tris: int, size: int) -> str:
    # a grid of spheres (128 x 64 segments = 16,128 triangles each) on a ground plane,
    # with the sphere tessellation chosen to hit the requested triangle count
    per = 16128
    n = max(1, round(tris / per))
    seg = 128
    if tris < per:
        seg = max(8, int(round((tris / 2) ** 0.5 * 2 / 2) * 2))
    side = int(np.ceil(np.sqrt(n)))
    objs = ["    - {id: ground, shape: plane, size: [60, 60]}"]
    for k in range(n):
        x, z = (k % side - side / 2) * 2.5, (k // side - side / 2) * 2.5
        objs.append(f"    - {{id: s{k}, shape: sphere, radius: 1, position: [{x:.2f}, 1, {z:.2f}]}}")
    return f"""
worldgen: 1
render: {{width: {size}, height: {size}, fps: 24}}
world:
  objects:
{chr(10).join(objs)}
shots:
  - {{id: orbit, duration: 10, camera: {{move: orbit, look_at: [0, 1, 0], radius: {side * 2.5 + 6:.1f}, height: 6, degrees: 40}}}}
""", seg


def build(tris: int, size: int):
    import worldgen.shapes as shapes
    from worldgen.spec import load_spec_text
    from worldgen.world import World
    text, seg = scene_yaml(tris, size)
    old = shapes.SEGMENTS
    shapes.SEGMENTS = seg
    try:
        spec = load_spec_text(text, "bench.yaml")
        import worldgen.world as wmod
        orig = wmod.primitive
        wmod.primitive = lambda *a, **k: shapes.primitive(*a, segments=seg, **k)
        world = World(spec)
        wmod.primitive = orig
    finally:
        shapes.SEGMENTS = old
    return spec, world


def time_passes(spec, world, backend: str, frames: int) -> list[float]:
    from worldgen.passes.sequence import Rasterizer
    r = Rasterizer(world, backend, with_local=False)  # what `worldgen passes` computes
    times, last = [], time.perf_counter()
    it = r.shot_frames(spec.shots[0], spec.render.width, spec.render.height, spec.render.fps,
                       only=set(range(frames + 1)))
    for k, _ in enumerate(it):
        now = time.perf_counter()
        if k > 0:  # the first frame pays for the window's extra neighbours and the BVH
            times.append(now - last)
        last = now
    return times


def time_raw(spec, world, frames: int) -> list[float]:
    from worldgen.camera import ShotCamera
    from worldgen.passes.raycast import RaycastBackend
    from worldgen.passes.snapshot import SnapshotMaker, pixel_rays
    be = RaycastBackend(world)
    snap = SnapshotMaker(world)(0.0)
    cam = ShotCamera(spec.shots[0], world, spec.render.width, spec.render.height).at(0.0)
    origin, dirs = pixel_rays(cam)
    import open3d as o3d
    rays = np.empty(dirs.shape[:-1] + (6,), np.float32)
    rays[..., :3], rays[..., 3:] = origin, dirs
    t = o3d.core.Tensor(rays)
    scene = be.scene_for_timing(snap)
    scene.cast_rays(t)
    out = []
    for _ in range(frames):
        a = time.perf_counter()
        scene.cast_rays(t)
        out.append(time.perf_counter() - a)
    return out


def gl_ok() -> bool:
    from worldgen.doctor import GL_PROBE
    return subprocess.run([sys.executable, "-c", GL_PROBE, os.environ.get("WORLDGEN_GL", "egl")],
                          capture_output=True).returncode == 0


def demo_film() -> dict:
    """Wall time and peak memory of `worldgen render` on the demo, as a user runs it.
    Peak = the largest summed RSS of the render process and its children (ffmpeg), polled
    every 50 ms (getrusage would count the memory of this benchmark process, copied at fork)."""
    import psutil
    with tempfile.TemporaryDirectory() as d:
        a = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "worldgen", "render", str(ROOT / "scenes/lighthouse.yaml"),
                              "-o", d, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc, peak = psutil.Process(p.pid), 0
        while p.poll() is None:
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
        secs = time.perf_counter() - a
        _, err = p.communicate()
        assert p.returncode == 0, err
        frames = sum(s["frame_count"] for s in json.loads((Path(d) / "manifest.json").read_text())["shots"])
        size = sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())
    return {"frames": frames, "seconds": round(secs, 2), "peak_memory_mb": round(peak / 2**20),
            "output_mb": round(size / 2**20), "film_seconds": frames / 24}


def machine() -> dict:
    import open3d
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
            "open3d": open3d.__version__, "gl": os.environ.get("WORLDGEN_GL", "egl") + " (Mesa llvmpipe, CPU)",
            "date": time.strftime("%Y-%m-%d")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer sizes and frames (CI smoke)")
    ap.add_argument("--frames", type=int, default=12)
    args = ap.parse_args()
    sizes = [256, 512] if args.quick else [256, 512, 1024]
    tris = [1_000, 100_000] if args.quick else [1_000, 100_000, 1_000_000]
    backends = ["raycast"] + (["gl"] if gl_ok() else [])
    rows = []
    for n in tris:
        for size in sizes:
            spec, world = build(n, size)
            raw = statistics.median(time_raw(spec, world, args.frames))
            row = {"triangles": world.triangle_count, "size": size, "raw_cast_rays_fps": round(1 / raw, 1)}
            for b in backends:
                frames = args.frames if (size < 1024 or b == "raycast") else max(4, args.frames // 3)
                med = statistics.median(time_passes(spec, world, b, frames))
                row[f"{b}_fps"] = round(1 / med, 1)
            row["raycast_vs_raw"] = round(row["raycast_fps"] / row["raw_cast_rays_fps"], 3)
            rows.append(row)
            print(row, flush=True)
    result = {"machine": machine(), "passes": rows, "demo_film": demo_film()}
    print(result["demo_film"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "passes.json").write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(result)
    plot(result)


def write_markdown(res: dict):
    m = res["machine"]
    lines = ["# Passes throughput\n", f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, Open3D {m['open3d']}, "
             f"GL {m['gl']}; {m['date']}. Medians per frame, one run.\n",
             "| triangles | size | raw cast_rays fps | all passes, raycast fps | raycast / raw | all passes, gl fps |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in res["passes"]:
        lines.append(f"| {r['triangles']:,} | {r['size']}² | {r['raw_cast_rays_fps']} | {r['raycast_fps']} | "
                     f"{r['raycast_vs_raw']} | {r.get('gl_fps', 'n/a')} |")
    d = res["demo_film"]
    lines += ["", "## Demo film (scenes/lighthouse.yaml, `worldgen render`, everything written)", "",
              "| frames | film length | wall time | peak memory | output on disk |", "|---:|---:|---:|---:|---:|",
              f"| {d['frames']} | {d['film_seconds']:.0f} s | {d['seconds']} s | {d['peak_memory_mb']} MB | {d['output_mb']} MB |", ""]
    (RESULTS / "passes.md").write_text("\n".join(lines))


def plot(res: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len({r["triangles"] for r in res["passes"]}), figsize=(12, 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, n in zip(axes, sorted({r["triangles"] for r in res["passes"]})):
        rows = [r for r in res["passes"] if r["triangles"] == n]
        x = np.arange(len(rows))
        keys = [k for k in ("raw_cast_rays_fps", "raycast_fps", "gl_fps") if k in rows[0]]
        for i, k in enumerate(keys):
            ax.bar(x + (i - 1) * 0.27, [r.get(k, 0) for r in rows], 0.27, label=k.replace("_fps", "").replace("_", " "))
        ax.set_xticks(x, [f"{r['size']}²" for r in rows])
        ax.set_title(f"{n:,} triangles")
        ax.set_yscale("log")
    axes[0].set_ylabel("frames / s")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "passes.png", dpi=110)


if __name__ == "__main__":
    main()
