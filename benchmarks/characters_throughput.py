"""Passes throughput with 0, 1, 5 and 20 walking characters in the same set, at 512², CPU.

    python benchmarks/characters_throughput.py [--frames N] [--repeats 3] [--tiny] [--out DIR]

The set is the passes benchmark's ~100k-triangle one (six spheres and a ground); characters
walk across it in rows. 'all passes' is what `worldgen passes` computes per frame (hits,
depth, normal, ids, uv, both flows with occlusion, keypoints with visibility), without writing
files. Target: 5 characters cost <= 1.5x the set without them. Writes
benchmarks/results/characters.{json,md,png} (or --out). After a warm-up, the character counts
run `--repeats` times in rotating order; a round's figure is the median over its frames, the
tables give the median of the rounds and their range."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

SIZE = 512
COUNTS = (0, 1, 5, 20)
TARGET_RATIO_5 = 1.5


def scene(n_characters: int, size: int = SIZE):
    from worldgen.spec import load_spec_text

    objs = ["    - {id: ground, shape: plane, size: [60, 60]}"]
    for k in range(6):
        objs.append(
            f"    - {{id: s{k}, shape: sphere, radius: 1, position: [{(k % 3 - 1) * 3.0}, 1, {-4 - (k // 3) * 3.0}]}}"
        )
    chars = []
    for c in range(n_characters):
        z, x0 = -1 + (c % 5) * 0.9, -5 + (c // 5) * 0.7
        chars.append(
            f"    - {{id: c{c}, path: [{{t: 0, position: [{x0}, 0, {z}]}}, {{t: 10, position: [{x0 + 12}, 0, {z}]}}],"
            f" actions: [{{action: wave, start: 2, end: 6}}]}}"
        )
    text = (
        f"""
worldgen: 1
render: {{width: {size}, height: {size}, fps: 24}}
world:
  objects:
{chr(10).join(objs)}
"""
        + (("  characters:\n" + "\n".join(chars) + "\n") if chars else "")
        + """
shots:
  - {id: a, duration: 10, camera: {move: static, position: [0, 3, 9], look_at: [0, 1, -1]}}
"""
    )
    return load_spec_text(text, check=False)


def build_world(n_characters: int, size: int):
    from worldgen.world import World

    spec = scene(n_characters, size)  # spheres at shapes.SEGMENTS = 128: 16k triangles, as in the passes benchmark
    return spec, World(spec)


def time_frames(spec, world, frames: int) -> list[float]:
    """Seconds per frame of all passes + keypoints, after 3 untimed frames (the static BVH, the window)."""
    from worldgen.character.pose_pass import people_in_frame
    from worldgen.passes.sequence import Rasterizer

    w, h, fps = spec.render.width, spec.render.height, spec.render.fps
    raster = Rasterizer(world, "raycast", with_local=False)
    it = raster.shot_frames(spec.shots[0], w, h, fps)
    for _ in range(3):
        next(it)
    times = []
    for _ in range(frames):
        a = time.perf_counter()
        fr = next(it)
        if world.characters:
            people_in_frame(world, fr.view.time, fr.view.cam, fr.passes.depth, fr.passes.instance)
        times.append(time.perf_counter() - a)
    return times


def measure(counts, size: int, frames: int, repeats: int, log=print) -> dict:
    rec = C.start_record("characters", counts=list(counts), size=size, frames=frames, repeats=repeats)
    with C.fresh_cache():
        rec["warm_up_s"] = round(C.warm_up(), 2)
        worlds = {n: build_world(n, size) for n in counts}
        time_frames(*worlds[counts[-1]], 1)  # and the character kernels (skinning, keypoints)
        cases = {str(n): (lambda n=n: statistics.median(time_frames(*worlds[n], frames))) for n in counts}
        runs, order = C.alternating(cases, repeats, log)
    rec["order"] = order
    base = runs[str(counts[0])]
    rows = []
    for n in counts:
        spec, world = worlds[n]
        secs = runs[str(n)]
        rows.append(
            {
                "characters": len(world.characters),
                "triangles": world.triangle_count,
                "width": spec.render.width,
                "height": spec.render.height,
                "ms_per_frame": C.spread([s * 1e3 for s in secs], 2),
                "fps": C.spread([1 / s for s in secs], 1),
                # round by round against the set alone, measured in the same round
                "cost_vs_none": C.spread([s / b for s, b in zip(secs, base)], 3),
            }
        )
    rec["rows"] = rows
    five = next((r for r in rows if r["characters"] == 5), None)
    rec["target"] = f"5 characters <= {TARGET_RATIO_5}x the set alone"
    rec["target_met"] = five["cost_vs_none"]["median"] <= TARGET_RATIO_5 if five else None
    return C.finish_record(rec)


def markdown(r: dict) -> str:
    row0 = r["rows"][0]
    lines = [
        "# Passes throughput with characters\n",
        C.machine_line(r) + "\n",
        f"{row0['width']}x{row0['height']}, raycast backend, all passes + keypoints. Per case, median of "
        f"{r['params']['repeats']} rounds in rotating order after a warm-up (range in brackets); a round is the "
        f"median over {r['params']['frames']} frames. The cost ratio is taken round by round.\n",
        "| characters | triangles | ms / frame | fps | cost vs. no characters |",
        "|---:|---:|---:|---:|---:|",
    ]
    for x in r["rows"]:
        lines.append(
            f"| {x['characters']} | {x['triangles']:,} | {C.fmt(x['ms_per_frame'])} | "
            f"{C.fmt(x['fps'], '', 1)} | {C.fmt(x['cost_vs_none'], '', 3)} |"
        )
    five = next((x for x in r["rows"] if x["characters"] == 5), None)
    if five:
        lines += [
            "",
            f"Target: {r['target']}: **{'met' if r['target_met'] else 'not met'}** "
            f"({five['cost_vs_none']['median']}x).",
            "",
        ]
    return "\n".join(lines)


def plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = r["rows"]
    med = [x["ms_per_frame"]["median"] for x in rows]
    err = [
        [m - x["ms_per_frame"]["min"] for m, x in zip(med, rows)],
        [x["ms_per_frame"]["max"] - m for m, x in zip(med, rows)],
    ]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.bar([str(x["characters"]) for x in rows], med, yerr=err, capsize=3, color="#4a7fb5")
    ax.axhline(med[0] * TARGET_RATIO_5, color="#c44", ls="--", lw=1, label=f"{TARGET_RATIO_5}x no characters")
    ax.set_xlabel("walking characters"), ax.set_ylabel(f"ms per frame ({rows[0]['width']}², all passes)")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=C.REPEATS)
    ap.add_argument("--tiny", action="store_true", help="64², 0 and 1 character, 3 frames (tests)")
    ap.add_argument("--out", type=Path, default=C.RESULTS)
    ap.add_argument("--report-only", action="store_true", help="rewrite the Markdown and plot from the JSON")
    args = ap.parse_args()
    counts, size, frames = ((0, 1), 64, 3) if args.tiny else (COUNTS, SIZE, args.frames)
    if args.report_only:
        r = C.json.loads((args.out / "characters.json").read_text())
    else:
        r = measure(counts, size, frames, args.repeats)
        C.write_json(r, args.out / "characters.json")
    (args.out / "characters.md").write_text(markdown(r))
    plot(r, args.out / "characters.png")
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
