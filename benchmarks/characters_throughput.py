"""Passes throughput with 0, 1, 5 and 20 walking characters in the same set, at 512², CPU.

    python benchmarks/characters_throughput.py [--frames N]

The set is the passes benchmark's ~100k-triangle one (six spheres and a ground); characters
walk across it in rows. 'all passes' is what `worldgen passes` computes per frame (hits,
depth, normal, ids, uv, both flows with occlusion, keypoints with visibility), without writing
files. Target: 5 characters cost <= 1.5x the set without them. Writes
benchmarks/results/characters.{json,md,png}; medians over the timed frames, one run."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
SIZE = 512
COUNTS = (0, 1, 5, 20)
TARGET_RATIO_5 = 1.5


def scene(n_characters: int):
    from worldgen.spec import load_spec_text
    objs = ["    - {id: ground, shape: plane, size: [60, 60]}"]
    for k in range(6):
        objs.append(f"    - {{id: s{k}, shape: sphere, radius: 1, position: [{(k % 3 - 1) * 3.0}, 1, {-4 - (k // 3) * 3.0}]}}")
    chars = []
    for c in range(n_characters):
        z, x0 = -1 + (c % 5) * 0.9, -5 + (c // 5) * 0.7
        chars.append(f"    - {{id: c{c}, path: [{{t: 0, position: [{x0}, 0, {z}]}}, {{t: 10, position: [{x0 + 12}, 0, {z}]}}],"
                     f" actions: [{{action: wave, start: 2, end: 6}}]}}")
    text = f"""
worldgen: 1
render: {{width: {SIZE}, height: {SIZE}, fps: 24}}
world:
  objects:
{chr(10).join(objs)}
""" + (("  characters:\n" + "\n".join(chars) + "\n") if chars else "") + """
shots:
  - {id: a, duration: 10, camera: {move: static, position: [0, 3, 9], look_at: [0, 1, -1]}}
"""
    return load_spec_text(text, check=False)


def time_frames(n_characters: int, frames: int) -> tuple[list[float], int]:
    import worldgen.shapes as shapes
    from worldgen.character.pose_pass import people_in_frame
    from worldgen.passes.sequence import Rasterizer
    from worldgen.world import World
    old = shapes.SEGMENTS
    shapes.SEGMENTS = 128  # 16k triangles a sphere, as in the passes benchmark
    try:
        spec = scene(n_characters)
        world = World(spec)
    finally:
        shapes.SEGMENTS = old
    raster = Rasterizer(world, "raycast", with_local=False)
    it = raster.shot_frames(spec.shots[0], SIZE, SIZE, 24)
    for _ in range(3):  # warm-up: compile, the static BVH, the window
        next(it)
    times = []
    for _ in range(frames):
        a = time.perf_counter()
        fr = next(it)
        if world.characters:
            people_in_frame(world, fr.view.time, fr.view.cam, fr.passes.depth, fr.passes.instance)
        times.append(time.perf_counter() - a)
    return times, world.triangle_count


def main():
    from passes_throughput import machine
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=30)
    args = ap.parse_args()
    rows = []
    for n in COUNTS:
        times, tris = time_frames(n, args.frames)
        med = statistics.median(times)
        rows.append({"characters": n, "triangles": tris, "ms_per_frame": round(med * 1e3, 2), "fps": round(1 / med, 1)})
        print(rows[-1], flush=True)
    base = rows[0]["ms_per_frame"]
    for r in rows:
        r["cost_vs_none"] = round(r["ms_per_frame"] / base, 3)
    five = next(r for r in rows if r["characters"] == 5)["cost_vs_none"]
    result = {"machine": machine(), "size": SIZE, "frames_timed": args.frames, "rows": rows,
              "target": f"5 characters <= {TARGET_RATIO_5}x the set alone", "target_met": five <= TARGET_RATIO_5}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "characters.json").write_text(json.dumps(result, indent=1) + "\n")
    m = result["machine"]
    lines = ["# Passes throughput with characters\n",
             f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, Open3D {m['open3d']}; {m['date']}. "
             f"{SIZE}², raycast backend, all passes + keypoints, medians over {args.frames} frames, one run.\n",
             "| characters | triangles | ms / frame | fps | cost vs. no characters |", "|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['characters']} | {r['triangles']:,} | {r['ms_per_frame']} | {r['fps']} | {r['cost_vs_none']}x |")
    lines += ["", f"Target: {result['target']}: **{'met' if result['target_met'] else 'not met'}** ({five}x).", ""]
    (RESULTS / "characters.md").write_text("\n".join(lines))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.bar([str(r["characters"]) for r in rows], [r["ms_per_frame"] for r in rows], color="#4a7fb5")
    ax.axhline(base * TARGET_RATIO_5, color="#c44", ls="--", lw=1, label=f"{TARGET_RATIO_5}x no characters")
    ax.set_xlabel("walking characters"), ax.set_ylabel("ms per frame (512², all passes)")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(RESULTS / "characters.png", dpi=110)
    print(result)


if __name__ == "__main__":
    main()
