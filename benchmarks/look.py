"""The embedded look (issue 16): is it still exact, and how fast is it?

    python benchmarks/look.py [--repeats 3] [--frames 24] [--film-repeats 1] [--baseline-code DIR]
                              [--skip-film] [--out DIR] [--name look]

Three measurements, after a warm-up (imports, numba compilation):

- **E_warp** of the procedural painter on the bench suite (worldgen/bench/suite/*.yaml) at the
  consistency benchmark's CPU settings (128x72, 12 fps, `worldgen bench` metrics), twice: the
  image *before the lens effects* (the suite's specs with depth of field, motion blur and grain
  off) and *with them* (f/2.8 focused on each shot's aim, a 180-degree shutter, grain 0.05).
  With `--baseline-code DIR` (a checkout of the code before the new look), the same suite is
  also measured with that code in a subprocess, as 'before'.
- **Painter speed** at 512x288 on the demo film's first shot: `--frames` frames rasterized with
  every pass (pass fps), then painted from those passes alone (painter-only fps), `--repeats`
  rounds in rotating order.
- **Demo film wall time**, film only (`worldgen render --passes none`) and with everything
  written (`--passes all`), through the CLI on an empty store, `--film-repeats` rounds.

Writes <name>.json and <name>.md to benchmarks/results/ (or --out). The machine record holds
the load average: on a shared 2-core machine a load above 2 means the timed work waited."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

SUITE = C.ROOT / "worldgen" / "bench" / "suite"  # the built-in suite, shipped with the package
DEMO = C.ROOT / "scenes" / "lighthouse.yaml"
SIZE, FPS = (128, 72), 12  # the consistency benchmark's CPU settings
LENS_OFF = {"f_stop": None, "shutter": 0.0, "grain": 0.0}
LENS_ON = {"f_stop": 2.8, "shutter": 180.0, "grain": 0.05}
KS = ("warp_1", "warp_5", "warp_10")


def suite_variant(folder: Path, look: dict | None) -> list[Path]:
    """The suite's specs with render.look set (None: as committed), written into `folder`;
    shot cameras' own lens settings are dropped so the variant holds for every shot."""
    import yaml

    out = []
    for src in sorted(SUITE.glob("*.yaml")):
        data = yaml.safe_load(src.read_text())
        if look is not None:
            data.setdefault("render", {}).setdefault("look", {}).update(look)
            for shot in data.get("shots", []):
                for k in ("f_stop", "shutter"):
                    shot.get("camera", {}).pop(k, None)
        dst = folder / src.name
        dst.write_text(yaml.safe_dump(data, sort_keys=False))
        out.append(dst)
    return out


def ewarp(look: dict | None) -> dict:
    """E_warp(1, 5, 10) per scene and their mean, procedural painter, fresh renders."""
    from worldgen.bench.runner import BenchOptions, run_bench

    with tempfile.TemporaryDirectory(prefix="worldgen-look-") as d, C.fresh_cache():
        specs = suite_variant(Path(d), look)
        opts = BenchOptions(size=SIZE, fps=FPS, judge_camera=False, follow=False, fresh=True, report=False, video=False)
        res = run_bench([str(s) for s in specs], ["procedural"], Path(d) / "bench", opts)
    scenes = {s["scene"]: {k: s["methods"]["procedural"]["summary"].get(k) for k in KS} for s in res["scenes"]}
    mean = {k: sum(v[k] for v in scenes.values()) / len(scenes) for k in KS}
    return {
        "scenes": scenes,
        "mean": mean,
        "width": res["scenes"][0]["width"],
        "height": res["scenes"][0]["height"],
        "fps": res["scenes"][0]["fps"],
    }


def painter_speed(frames: int, repeats: int) -> dict:
    """Pass fps and painter-only fps at 512x288 on the demo's first shot."""
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.spec import load_spec_text
    from worldgen.world import World

    spec = load_spec_text(DEMO.read_text(), str(DEMO))
    world = World(spec)
    shot = spec.shots[0]
    w, h = spec.render.width, spec.render.height
    raster = Rasterizer(world)
    painter = make_painter("procedural", world, raster, {})
    painter.set_style(shot.style or spec.style)
    painter.begin_shot(shot, (0.1, 100.0))
    held = []

    def passes():
        held.clear()
        a = time.perf_counter()
        for k, fr in enumerate(raster.shot_frames(shot, w, h, spec.render.fps)):
            held.append(fr)
            if k + 1 == frames:
                break
        return len(held) / (time.perf_counter() - a)

    def paint():
        if not held:
            passes()
        a = time.perf_counter()
        for fr in held:
            painter.paint_frame(fr)
        return len(held) / (time.perf_counter() - a)

    passes()
    paint()  # warm: numba kernels, BVHs
    runs, _ = C.alternating({"passes": passes, "painter": paint}, repeats)
    return {
        "width": w,
        "height": h,
        "frames": len(held),
        "pass_fps": C.spread(runs["passes"], 2),
        "painter_fps": C.spread(runs["painter"], 2),
        "threads": os.environ.get("NUMBA_NUM_THREADS"),
    }


def film(repeats: int) -> dict:
    """The demo film through the CLI on an empty store: film only, and everything written."""
    C.warm_up_cli()

    def once(mode):
        def run():
            with tempfile.TemporaryDirectory(prefix="worldgen-look-film-") as d, C.fresh_cache():
                r = C.run_cli(["render", DEMO, "-o", Path(d) / "out", "-q", "--passes", mode])
                r["labels"] = C.render_labels(Path(d) / "out")
                return r

        return run

    runs, order = C.alternating({"none": once("none"), "all": once("all")}, repeats)
    return {
        k: {
            "seconds": C.spread([r["seconds"] for r in v], 1),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in v),
            "frames_rendered": v[0]["frames_rendered"],
            "labels": v[0]["labels"],
        }
        for k, v in runs.items()
    }


def baseline(code: Path) -> dict:
    """E_warp of the suite as committed, measured with the code in `code` (a subprocess)."""
    env = dict(os.environ, PYTHONPATH=str(code))
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = Path(f.name)
    subprocess.run(
        [sys.executable, __file__, "--part", "ewarp-asis", "--part-out", str(path)], env=env, check=True, cwd=str(code)
    )
    return json.loads(path.read_text())


def markdown(rec: dict) -> str:
    lines = ["# The embedded look: consistency and speed", "", C.machine_line(rec), ""]
    ew = rec["ewarp"]
    cols = [c for c in ("before", "pre_lens", "with_lens") if c in ew]
    names = {
        "before": "before (old look)",
        "pre_lens": "new look, before lens effects",
        "with_lens": "new look, with lens effects",
    }
    first = ew[cols[0]]
    lines += [
        f"## E_warp of the procedural painter, bench suite at {first['width']}x{first['height']}, "
        f"{first['fps']:g} fps (lower is better)",
        "",
        "Before lens effects: depth of field, motion blur and grain off; with them: f/2.8 focused on each "
        "shot's aim, 180-degree shutter, grain 0.05 (grain is intended temporal noise and counts as error "
        "here)."
        + (f" 'Before' is the code at {rec['params']['before_label']}." if rec["params"].get("before_label") else ""),
        "",
        "| scene | " + " | ".join(f"{names[c]} E_warp(1) / (5) / (10)" for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for scene in first["scenes"]:
        cells = [" / ".join(f"{ew[c]['scenes'][scene][k]:.3g}" for k in KS) for c in cols]
        lines.append(f"| {scene} | " + " | ".join(cells) + " |")
    lines.append(
        "| **mean** | " + " | ".join(" / ".join(f"**{ew[c]['mean'][k]:.3g}**" for k in KS) for c in cols) + " |"
    )
    sp = rec.get("speed")
    if sp:
        lines += [
            "",
            f"## Painter speed, demo's first shot at {sp['width']}x{sp['height']} ({sp['frames']} frames, "
            f"{rec['params']['repeats']} rounds)",
            "",
            "| what | frames/s | target |",
            "|---|---:|---:|",
            f"| painter only (light, materials, camera and film, from the passes) | {C.fmt(sp['painter_fps'])} "
            "| ≥ 15 |",
            f"| all passes (rasterizer, flows) | {C.fmt(sp['pass_fps'])} | |",
        ]
    fm = rec.get("film")
    if fm:
        lab = fm["none"]["labels"]
        lines += [
            "",
            f"## Demo film, {lab['frames']} frames at {lab['width']}x{lab['height']}, CLI, empty store",
            "",
            "| what is written | wall time | peak memory | target |",
            "|---|---:|---:|---:|",
            f"| film only (`--passes none`) | {C.fmt(fm['none']['seconds'], 's', 1)} | {fm['none']['peak_rss_mb']} MB "
            "| ≤ 15 s |",
            f"| everything (`--passes all`) | {C.fmt(fm['all']['seconds'], 's', 1)} | {fm['all']['peak_rss_mb']} MB | |",
        ]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=C.REPEATS)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--film-repeats", type=int, default=1)
    ap.add_argument("--skip-film", action="store_true")
    ap.add_argument("--baseline-code", type=Path, default=None, help="a checkout of the code before the new look")
    ap.add_argument(
        "--baseline-json",
        type=Path,
        default=None,
        help="the baseline's E_warp as an earlier --baseline-code run's child wrote it (instead of measuring)",
    )
    ap.add_argument("--out", type=Path, default=C.RESULTS)
    ap.add_argument("--name", default="look")
    ap.add_argument(
        "--before-label",
        default=None,
        help="what 'before' was measured with (e.g. the commit of --baseline-code), for the report",
    )
    ap.add_argument("--report-only", action="store_true", help="rewrite <name>.md from <name>.json")
    ap.add_argument("--part", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--part-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part == "ewarp-asis":  # the baseline's child process: old code, suite as committed
        args.part_out.write_text(json.dumps(ewarp(None)))
        return
    if args.report_only:
        rec = json.loads((args.out / f"{args.name}.json").read_text())
        (args.out / f"{args.name}.md").write_text(markdown(rec))
        return
    rec = C.start_record(
        "look",
        repeats=args.repeats,
        frames=args.frames,
        film_repeats=args.film_repeats,
        baseline_code=str(args.baseline_code) if args.baseline_code else None,
        before_label=args.before_label,
    )
    rec["warm_up_s"] = round(C.warm_up(), 1)
    rec["ewarp"] = {}
    if args.baseline_json:
        rec["ewarp"]["before"] = json.loads(args.baseline_json.read_text())
    elif args.baseline_code:
        rec["ewarp"]["before"] = baseline(args.baseline_code)
    rec["ewarp"]["pre_lens"] = ewarp(LENS_OFF)
    rec["ewarp"]["with_lens"] = ewarp(LENS_ON)
    rec["speed"] = painter_speed(args.frames, args.repeats)
    if not args.skip_film:
        rec["film"] = film(args.film_repeats)
    C.finish_record(rec)
    C.write_json(rec, args.out / f"{args.name}.json")
    (args.out / f"{args.name}.md").write_text(markdown(rec))
    print(markdown(rec))


if __name__ == "__main__":
    main()
