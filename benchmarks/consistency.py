"""Consistency benchmark over the built-in suite (worldgen/bench/suite/*.yaml), every method that can
run here, and the cost of the 30 s long take on this machine.

    python benchmarks/consistency.py [--tiny] [--repeats 3] [--methods procedural,baked,...] [--model PATH]
                                     [--time-long-take] [--quick] [--report-only]

After a warm-up (imports, numba), the suite is rendered `--repeats` times, each round from
scratch (fresh renders, a fresh WORLDGEN_CACHE), with the methods in rotating order; the quality metrics must come out identical
in every round (the record says whether they did) and the cost columns (s/frame, peak memory)
give the median and the range over the rounds. `--time-long-take` times a fresh `worldgen bench`
of the 30 s long take alone, `--repeats` times, at the spec's own size; its labels (size, frame
count, memory) are read from those runs. Renders go to out/bench-consistency/round-N/; results
to benchmarks/results/consistency.{json,md,png,html} with plots, strips and side-by-side videos
under benchmarks/results/consistency/. --quick renders at 128x72, 12 fps, one round, and writes
to out/bench-consistency-quick/ only, leaving the committed results alone.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ROOT = C.ROOT
RESULTS = Path("benchmarks/results")
LONG_TAKE = "long_take"
TARGET_S = 180.0
QUALITY_KEYS = ("warp_1", "warp_5", "warp_10", "flicker", "identity_drift", "edge_f1", "camera_held", "camera_judged")
COST_KEYS = ("seconds_per_frame", "peak_memory_bytes")
PIPELINE_NOTE = (
    "**The diffusion methods here (per-frame, fixed-seed, anchored-noise, baked, baked+refine) ran tiny "
    "models with random weights: their rows test the pipeline (evaluation counts, masks, noise "
    "anchoring, caching, the metrics), not the methods. Random weights paint noise, so these numbers "
    "say nothing about how the methods compare with real models.**"
)


def _s(value) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


# ---------------------------------------------------------------- the 30 s long take alone


def time_long_take(work: Path, repeats: int) -> dict:
    """Fresh runs of `worldgen bench` on the 30 s long take with the procedural painter, at the
    spec's own size: render, every metric and its own report, timed end to end. Labels (size,
    frames, memory) come from the runs' results."""
    from worldgen.bench.inputs import SUITE_DIR
    from worldgen.bench.runner import BenchOptions, run_bench

    spec = SUITE_DIR / f"{LONG_TAKE}.yaml"
    n = iter(range(10**6))

    def once() -> dict:
        # Each run writes over 3 GB of frames (four runs had left 13 GB: du -sh, by hand); only its results
        # are read, so a run's folder is removed once read, whatever happens, and the benchmark
        # never holds more than one on disk. The load is read before that removal.
        run_dir = work / f"run-{next(n)}"
        try:
            with C.fresh_cache():
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                results = run_bench([spec], ["procedural"], run_dir, BenchOptions(fresh=True))
                wall = time.perf_counter() - t0
            load_after = os.getloadavg()[0]
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        scene = results["scenes"][0]
        cost = scene["methods"]["procedural"]["cost"]
        return {
            "wall_s": round(wall, 1),
            "load_before": load,
            "load_after": load_after,
            "width": scene["width"],
            "height": scene["height"],
            "fps": scene["fps"],
            "frames": cost["frames"],
            "frames_rendered": cost["frames_rendered"],
            "render_s": cost["render_s"],
            "render_cpu_s": cost["render_cpu_s"],
            "metrics_cpu_s": cost["metrics_cpu_s"],
            "peak_memory_bytes": cost["peak_memory_bytes"],
        }

    runs, _ = C.alternating({"long take": once}, repeats)
    runs = runs["long take"]
    first = runs[0]
    return {
        "runs": runs,
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "width": first["width"],
        "height": first["height"],
        "fps": first["fps"],
        "frames": first["frames"],
        "every_frame_rendered": all(r["frames_rendered"] == r["frames"] for r in runs),
        "wall_s": C.spread([r["wall_s"] for r in runs], 1),
        "render_s": C.spread([r["render_s"] for r in runs], 1),
        "render_cpu_s": C.spread([r["render_cpu_s"] for r in runs], 1),
        "metrics_cpu_s": C.spread([r["metrics_cpu_s"] for r in runs], 1),
        "peak_memory_mb": C.spread([(r["peak_memory_bytes"] or 0) / 1e6 for r in runs], 0),
    }


def long_take_section(results: dict) -> str:
    """The cost figure of the 30 s film: render + every metric, labelled from its own runs."""
    timing = results.get("long_take_timing")
    if not timing or "runs" not in timing:
        return ""
    verdict = "met" if timing["wall_s"]["median"] <= TARGET_S else "NOT met"
    n = len(timing["runs"])
    loads = ", ".join(f"{r['load_before']:.1f} / {r['load_after']:.1f}" for r in timing["runs"])
    rows = [
        f"| `worldgen bench` of the long take alone, fresh: render + every metric + report, wall | "
        f"**{C.fmt(timing['wall_s'], 's', 1)}** | ≤ {TARGET_S:.0f} s ({verdict}) |",
        f"| ... its render: wall | {C.fmt(timing['render_s'], 's', 1)} | |",
        f"| ... its render: CPU time of the rendering process | {C.fmt(timing['render_cpu_s'], 's', 1)} | |",
        f"| ... its metrics: CPU time of the evaluating process (alongside the render) | "
        f"{C.fmt(timing['metrics_cpu_s'], 's', 1)} | |",
        f"| peak memory of the rendering process | {C.fmt(timing['peak_memory_mb'], 'MB', 0)} | |",
        f"| load average (1 min) before / after each run | {loads} | |",
    ]
    m = results["machine"]
    return "\n".join(
        [
            "",
            f"## The 30 s film on CPU ({timing['width']}x{timing['height']}, {timing['frames']} frames at "
            f"{timing['fps']:g} fps, procedural painter)",
            "",
            f"{n} fresh runs (empty store, every frame rendered: {'yes' if timing['every_frame_rendered'] else 'NO'}); "
            "median (min–max). Size and frame count are the runs' own, the spec's (the suite table above runs the "
            "same scene smaller).",
            "",
            "| what | measured | target |",
            "|---|---:|---:|",
            *rows,
            "",
            f"Machine: {m['cpu']}, {m['cores']} cores, no GPU, shared with other work (hence the load averages: a load "
            "above the core count means other processes took part of the cores). The render runs in one process and "
            "the metrics in a second one that follows it frame by frame, so on an idle 2-core machine the wall time is "
            "about the larger of the two CPU times plus start-up and report. E_warp(5) and E_warp(10) start a chain "
            "every k frames (chains that tile the shot); edge F1 on every frame; the long take is keyframed, so "
            "shotdrift does not judge it.",
            "",
        ]
    )


# ---------------------------------------------------------------- rounds


def merge_rounds(rounds: list[dict], orders: list[list[str]]) -> dict:
    """One results dict from several rounds of the same suite: round 1's numbers, with the cost
    columns replaced by the median over the rounds (and their range in `<key>_spread`), and a
    record of whether every quality metric came out identical in every round."""
    from worldgen.bench.runner import overall

    merged = copy.deepcopy(rounds[0])
    mismatches = []
    for i, scene in enumerate(merged["scenes"]):
        for method, res in scene["methods"].items():
            others = [r["scenes"][i]["methods"].get(method, {}) for r in rounds]
            if res.get("status") != "ok" or any(o.get("status") != "ok" for o in others):
                continue
            for key in QUALITY_KEYS:
                values = [o["summary"].get(key) for o in others]
                if any(v != values[0] for v in values):
                    mismatches.append({"scene": scene["scene"], "method": method, "metric": key, "values": values})
            for key in COST_KEYS:
                values = [o["summary"].get(key) for o in others]
                if all(v is not None for v in values):
                    spread = C.spread(values, 6)
                    res["summary"][key] = spread["median"]
                    res["summary"][f"{key}_spread"] = spread
    merged["overall"] = overall(merged["scenes"], merged["methods"], merged["options"]["ks"])
    merged["rounds"] = {
        "n": len(rounds),
        "order": orders,
        "wall_s": [r["wall_s"] for r in rounds],
        "load_average": [r["load_average"] for r in rounds],
        "quality_identical": not mismatches,
        "mismatches": mismatches,
    }
    return merged


def relative_differences(rounds: dict) -> dict[str, float]:
    """Per method, the largest (max − min) / |median| of a quality metric over the rounds."""
    import statistics

    out: dict[str, float] = {}
    for m in rounds["mismatches"]:
        vals = [v for v in m["values"] if v is not None]
        if len(vals) < len(m["values"]):
            rel = float("inf")  # defined in one round, not in another
        else:
            mid = abs(statistics.median(vals))
            rel = (max(vals) - min(vals)) / mid if mid else float("inf")
        out[m["method"]] = max(out.get(m["method"], 0.0), rel)
    return out


def rounds_section(results: dict) -> str:
    r = results.get("rounds")
    if not r:
        return ""
    same = "identical in every round"
    if not r["quality_identical"]:
        rel = relative_differences(r)
        same = (
            f"NOT identical in every round ({len(r['mismatches'])} differences, listed in the JSON; largest "
            "relative difference per method: "
            + ", ".join(f"{m} {v:.1e}" for m, v in rel.items())
            + "; every other method identical)"
        )
    loads = "; ".join(f"{a:.1f} → {b:.1f}" for a, b in r["load_average"])
    record = results.get("record")
    return "\n".join(
        [
            "",
            "## Rounds",
            "",
            *([C.machine_line(record), ""] if record else []),
            f"The suite ran {r['n']} times from scratch, the methods in rotating order (round 1: "
            f"{', '.join(r['order'][0])}). Quality metrics: **{same}**. s/frame and peak MB are the median "
            f"over the rounds (range in brackets). Round wall times: "
            f"{', '.join(f'{w:.0f} s' for w in r['wall_s'])}; load average (1 min) before → after each "
            f"round: {loads}.",
            "",
        ]
    )


TINY_OPTIONS = {"steps": 4, "views": 3, "view_size": 64, "texture_size": 128, "part_texture_size": 64}


def tiny_model(folder: Path) -> str:
    """A tiny SD1.5-class model with a depth ControlNet, built once from configs (random weights)."""
    if not (folder / "model_index.json").exists():
        from worldgen.compat import torchvision_importable

        torchvision_importable()
        C.tiny_models().build_tiny_sd15(folder, controlnets=("depth",))
    return str(folder)


# ---------------------------------------------------------------- appearance drift across a film

# film, (width, height, fps) or None for the film's own: the blue-coat film sees each set by day
# and by night (no two scenes lit alike); the test film same_room has two scenes lit and framed
# alike, where the pixel measure's lighting floor is exactly 0
DRIFT_FILMS = {"scenes/blue_coat.yaml": (128, 72, 4), "tests/films/same_room.yaml": None}
DRIFT_QUICK = (64, 40, 2)
DRIFT_NOTE = (
    "**The diffusion methods ran tiny models with random weights: their figures check the pipeline "
    "(every method painted, reprojected by the part and uv passes, compared per region), not the "
    "methods.**"
)


def _drift_film(rel: str, size: tuple | None):
    import yaml

    from worldgen.spec.film_loader import load_film_text

    path = ROOT / rel
    data = yaml.safe_load(path.read_text())
    if size is not None:
        data["render"] = {**data.get("render", {}), "width": size[0], "height": size[1], "fps": size[2]}
    return load_film_text(yaml.safe_dump(data, sort_keys=False), str(path), base_dir=path.parent)


def film_drift(methods: list[str], model: str | None, painter_options: dict, quick: bool) -> dict:
    """Appearance drift of every method over the scenes of each DRIFT_FILMS film, at a small
    size (no timing: the figures are drifts). Per method: the albedo measure (painters that
    paint surfaces) and the pixel measure, with the procedural painter's pixel drift as the
    lighting floor (painted once a film). Same-outfit comparisons only; each method runs with a
    fresh texture cache."""
    from worldgen.bench.continuity import continuity, paints_surfaces
    from worldgen.bench.reprojection import film_texels, measure
    from worldgen.bench.runner import BenchOptions, painter_options_for
    from worldgen.render.film_render import film_painter_options

    opts = BenchOptions(model=model, painter_options=painter_options)
    out = []
    for rel, size in DRIFT_FILMS.items():
        film = _drift_film(rel, DRIFT_QUICK if quick and size else size)
        r = film.scenes[0].spec.render
        floor = film_texels(film, "procedural")
        d: dict = {"film": rel, "width": r.width, "height": r.height, "fps": r.fps, "methods": []}
        for m in methods:
            with C.fresh_cache():
                t0 = time.perf_counter()
                po = film_painter_options(film, m, painter_options_for(m, opts))
                row: dict = {"method": m}
                if paints_surfaces(m):
                    rep = continuity(film, m, po)
                    same = [
                        r["drift"]
                        for r in rep.appearance
                        if r["kind"] == "character" and r["outfit"] == r["previous_outfit"]
                    ]
                    row["albedo_drift"] = max(same) if same else None
                    row["albedo_comparisons"] = len(same)
                px = measure(film, m, po, reference=False if m == "procedural" else floor)
                row["pixels"] = px["summary"]
                row["wall_s"] = round(time.perf_counter() - t0, 1)
            d["methods"].append(row)
            print(f"film drift / {rel} / {m}: {row['wall_s']} s", flush=True)
        out.append(d)
    return {"films": out}


def _film_drift_section(d: dict) -> list[str]:
    lines = [
        f"## {d['film']} at {d['width']}x{d['height']}, {d['fps']:g} fps",
        "",
        "| method | albedo drift (max) | pixel drift (mean of regions) | lighting floor | region comparisons |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in d["methods"]:
        px = r["pixels"]

        def mean(key: str) -> float:
            vals = [s[key] for s in px if s[key] is not None]
            return sum(vals) / len(vals) if vals else float("nan")

        albedo = "—" if r.get("albedo_drift") is None else f"{r['albedo_drift']:.3g}"
        floor = "—" if r["method"] == "procedural" else f"{mean('floor'):.3g}"
        lines.append(
            f"| {r['method']} | {albedo} | {mean('drift'):.3g} | {floor} | {sum(s['comparisons'] for s in px)} |"
        )
    lines += ["", "| method | character | region | comparisons | pixel drift | floor |", "|---|---|---|---:|---:|---:|"]
    for r in d["methods"]:
        for s in r["pixels"]:
            fl = "—" if s["floor"] is None else f"{s['floor']:.3g}"
            lines.append(
                f"| {r['method']} | {s['id']} | {s['region']} | {s['comparisons']} | {s['drift']:.3g} | {fl} |"
            )
    return lines + [""]


def film_drift_markdown(d: dict) -> str:
    lines = [
        "# Appearance drift across a film's scenes, per method",
        "",
        "`python benchmarks/consistency.py --film-drift --tiny`. Same-outfit comparisons of each character's "
        "body regions between the scenes that show them (docs/FILM.md, 'Continuity'). Albedo: the painter's "
        "unlit colour at texel centres, largest drift (painters that paint surfaces only). Pixels: each frame's "
        "pixels binned by part and uv, mean |difference| of the bins' mean colours seen in both scenes (sRGB "
        "0-255), which includes light and view; the floor is the procedural painter's pixel drift on the same "
        "comparisons (its albedo is the same by construction, so the floor is light and view alone). The "
        "blue-coat film sees each set by day and by night, so its pixel drift is mostly light (a painter that "
        "ignores light can drift less than the floor); same_room's two alike scenes have a floor of exactly 0.",
        "",
        DRIFT_NOTE,
        "",
    ]
    for f in d["films"]:
        lines += _film_drift_section(f)
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="CI-sized: 128x72 at 12 fps, one round, results under out/ only"
    )
    ap.add_argument("--methods", default="procedural,per-frame,fixed-seed,anchored-noise,baked,baked+refine")
    ap.add_argument("--model", default=None, help="base model for the diffusion methods")
    ap.add_argument(
        "--tiny",
        action="store_true",
        help="CPU run of every method: tiny random-weight models built from configs (4 steps, small look "
        "development), every method at 128x72, 12 fps; results committed like a full run",
    )
    ap.add_argument("--repeats", type=int, default=C.REPEATS, help="rounds of the whole suite (and of the long take)")
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the tables, plots and page from the results JSON (renders must still be there)",
    )
    ap.add_argument(
        "--time-long-take",
        action="store_true",
        help="also time fresh `worldgen bench` runs of the 30 s long take alone (the cost target)",
    )
    ap.add_argument(
        "--film-drift",
        action="store_true",
        help="instead: appearance drift of every method across the scenes of the blue-coat film at 128x72, "
        "4 fps, and of tests/films/same_room.yaml (continuity_drift.*; --quick: 64x40, 2 fps, under out/)",
    )
    args = ap.parse_args()
    os.chdir(ROOT)  # relative paths in the results
    sys.path.insert(0, str(ROOT))
    if args.film_drift:
        model, painter_options = args.model, {}
        if args.tiny:
            model, painter_options = tiny_model(Path("out/tiny-sd15")), TINY_OPTIONS
        rec = C.start_record("continuity_drift", methods=args.methods, tiny=args.tiny)
        d = film_drift(args.methods.split(","), model, painter_options, args.quick)
        d["record"] = C.finish_record(rec)
        folder = Path("out/bench-consistency-quick") if args.quick else RESULTS
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "continuity_drift.json").write_text(json.dumps(d, indent=1))
        (folder / "continuity_drift.md").write_text(film_drift_markdown(d))
        print(f"wrote {folder / 'continuity_drift.md'}")
        return 0
    from worldgen.bench.report import write_report
    from worldgen.bench.runner import BenchOptions, run_bench, suite_specs

    work = Path("out/bench-consistency-quick" if args.quick else "out/bench-consistency")
    target = work if args.quick else RESULTS
    stem = "results" if args.quick else "consistency"
    if args.report_only:
        results = json.loads((target / f"{stem}.json").read_text())
    else:
        rec = C.start_record("consistency", methods=args.methods, tiny=args.tiny, repeats=args.repeats)
        specs = [p.relative_to(ROOT) if p.is_relative_to(ROOT) else p for p in suite_specs()]
        small = args.quick or args.tiny
        model, painter_options = args.model, {}
        if args.tiny:
            model, painter_options = tiny_model(Path("out/tiny-sd15")), TINY_OPTIONS
        methods = args.methods.split(",")
        repeats = 1 if args.quick else args.repeats
        rec["warm_up_s"] = round(C.warm_up(), 1)  # imports, numba; the models load in round 1's first use
        rounds, orders = [], C.rotations(methods, repeats)
        for r, order in enumerate(orders):
            options = BenchOptions(
                size=(128, 72) if small else None,
                fps=12 if small else None,
                model=model,
                painter_options=painter_options,
                fresh=True,
                report=False,
                log=print,
            )
            with C.fresh_cache():
                load_before = os.getloadavg()[0]
                t0 = time.perf_counter()
                res = run_bench(specs, order, work / f"round-{r + 1}", options)
                print(f"round {r + 1}/{repeats}: {time.perf_counter() - t0:.1f} s", flush=True)
                res["load_average"] = [load_before, os.getloadavg()[0]]  # 1-minute, before and after
            res["methods"] = methods  # table order, whatever order the round ran in
            rounds.append(res)
        results = merge_rounds(rounds, orders)
        if args.tiny:
            results["notes"] = [PIPELINE_NOTE]
        if args.time_long_take and not args.quick:
            results["long_take_timing"] = time_long_take(Path("out/bench-long-take"), args.repeats)
            print(f"long take alone: {results['long_take_timing']['wall_s']}")
        results["record"] = {k: v for k, v in C.finish_record(rec).items() if k not in ("benchmark",)}
    files = write_report(
        results, target, video=not args.no_video, stem=stem, assets="" if args.quick else "consistency"
    )
    md = target / files["markdown"]
    md.write_text(md.read_text() + rounds_section(results) + long_take_section(results))
    if not args.quick:
        shutil.copyfile(target / files["metric_bars"], RESULTS / "consistency.png")
    print(f"wrote {md} and {target / files['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
