"""The README's figures, written from the committed results (benchmarks/results/*.json) and
nowhere else: each block between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->` in
README.md is generated here.

    python benchmarks/readme_figures.py           # rewrite the blocks in README.md
    python benchmarks/readme_figures.py --check   # exit 1 if a block differs from the results

A test runs the check, so a figure typed into the README by hand, or results regenerated without
the README, fail the suite."""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

README = C.ROOT / "README.md"
BLOCK = re.compile(r"(<!-- figures:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)", re.S)
METHOD_ORDER = ("per-frame", "fixed-seed", "anchored-noise", "baked", "baked+refine", "procedural")


def load(results: Path, name: str) -> dict:
    return json.loads((results / f"{name}.json").read_text())


def _m(s: dict, digits: int = 1, unit: str = "") -> str:
    """A median with its range: '40.2 s (39.8–41.0)'."""
    return C.fmt(s, unit, digits, count=False)


def _load_range(*records: dict) -> str:
    loads = [x for r in records for x in (r["load_start"][0], r["load_end"][0])]
    return f"{min(loads):.1f}–{max(loads):.1f}"


def performance(results: Path) -> str:
    prod, passes, chars, cons = (load(results, n) for n in ("production", "passes", "characters", "consistency"))
    lab = prod["labels"]
    by = {(r["triangles_asked"], r["width"]): r for r in passes["passes"]}
    mid, big = by.get((100_000, 512)), by.get((1_000_000, 512))
    ch = {r["characters"]: r for r in chars["rows"]}
    lt = cons["long_take_timing"]
    m = prod["machine"]
    recs = [prod, passes, chars] + ([cons["record"]] if "record" in cons else [])
    rows = [
        f"| demo film, {lab['frames']} frames ({lab['film_seconds']:g} s) at {lab['width']}x{lab['height']}, everything "
        f"written, empty frame store | **{_m(prod['seconds']['cold'], 1, 's')}**, peak memory "
        f"{_m(prod['peak_rss_mb']['cold'], 0, 'MB')} | ≤ 60 s, ≤ 2 GB |",
        f"| the same film re-rendered into a new folder, held by the frame store | "
        f"**{_m(prod['seconds']['store hit'], 2, 's')}**, {prod['cache_hit_ratio']['median']:.1%} of cold | ≤ 5 % |",
    ]
    if "ray_vs_local" in prod:
        rows.append(
            f"| the same film on local Ray, 2 workers, byte-identical: "
            f"{'yes' if prod['ray_identical_to_local'] else 'NO'} | {_m(prod['seconds']['Ray x2'], 1, 's')} "
            f"({prod['ray_vs_local']['median']:.2f}x local) | |"
        )
    rows.append(
        f"| `worldgen bench` of a {lt['frames'] / lt['fps']:g} s film ({lt['frames']} frames) at "
        f"{lt['width']}x{lt['height']}, procedural, render + every metric | **{_m(lt['wall_s'], 1, 's')}** | "
        "≤ 180 s |"
    )
    if mid:
        rows += [
            f"| all passes, {mid['width']}², {mid['triangles']:,} triangles, raycast backend"
            + (
                f" (static hits by {'scan conversion' if mid['path'] == 'raster' else 'the cast'}; the other way "
                f"{mid['raycast_other_fps']['median']:.1f} frames/s)"
                if mid.get("path") and mid.get("raycast_other_fps")
                else ""
            )
            + f" | **{_m(mid['raycast_fps'], 1)} frames/s** | ≥ 60 |",
            f"| ... relative to Open3D's raw `cast_rays` on the same rays ({mid['raw_cast_rays_fps']['median']:.1f} "
            f"frames/s) | **{mid['raycast_vs_raw']['median']:.2f}x** | ≥ 0.75x |",
        ]
    if big:
        gl = f" / {big['gl_fps']['median']:.1f}" if "gl_fps" in big else ""
        rows.append(
            f"| all passes, {big['width']}², {big['triangles']:,} triangles, raycast"
            f"{' / gl (' + passes['gl_renderer'].split(' (')[0] + ')' if gl else ''} | "
            f"{big['raycast_fps']['median']:.1f}{gl} frames/s | |"
        )
    if 5 in ch:
        rows.append(
            f"| all passes + keypoints, {ch[0]['width']}², {ch[0]['triangles']:,}-triangle set with 5 walking "
            f"characters, vs. the set alone | **{ch[5]['cost_vs_none']['median']:.2f}x** the cost "
            f"({ch[5]['ms_per_frame']['median']:.1f} vs {ch[0]['ms_per_frame']['median']:.1f} ms) | ≤ 1.5x |"
        )
        if 1 in ch and 20 in ch:
            rows.append(
                f"| ... with 1 / 20 characters | {ch[1]['cost_vs_none']['median']:.2f}x / "
                f"{ch[20]['cost_vs_none']['median']:.2f}x | |"
            )
    lines = [
        f"Medians of 3 runs in rotating order, after a warm-up, each render on an empty store (range in "
        f"brackets), from `benchmarks/results/{{production,passes,characters,consistency}}.md`, each written by "
        f"the script of the same name in `benchmarks/`. Machine: {m['cpu']}, {m['cores']} cores, no GPU, shared "
        f"with other work while these ran (1-minute load average {_load_range(*recs)}; on {m['cores']} cores a "
        f"load above {m['cores']} means the timed work waited), so the times are upper bounds for this machine.",
        "",
        "| what | measured | target |",
        "|---|---|---|",
        *rows,
    ]
    st = passes.get("stages")
    if st:  # the static hits both ways: scan conversion and the cast
        ms, sums = st["ms"], st["sum_ms"]
        lines += [
            "",
            f"Per frame at {st['width']}², {st['triangles']:,} triangles (medians, `passes.md`): the static "
            f"set's primary hits by exact scan conversion take {ms['scan conversion (rasterize)']['median']:.1f} ms "
            f"against {ms['cast (Open3D)']['median']:.1f} ms for Open3D's cast (plus "
            f"{ms['ray generation']['median']:.1f} ms of ray generation and {ms['hit conversion']['median']:.1f} ms "
            f"of hit conversion, which scan conversion does not need); one sweep for the surface attributes and "
            f"both exact flows takes {ms['surface attributes + both flows']['median']:.1f} ms (a fused numba "
            f"kernel): {sums['raster']['median']:.1f} ms in all by scan conversion, {sums['cast']['median']:.1f} ms "
            f"by the cast. The cost model took the {st['path']} path here.",
        ]
    gl_r = passes.get("gl_renderer") or ""
    if "llvmpipe" in gl_r or "softpipe" in gl_r:
        lines.append(
            "The `gl` figures are Mesa's software rasterizer: no GPU was available to this build "
            "(`benchmarks/gpu.sh` measures pyrender on a GPU)."
        )
    return "\n".join(lines) + "\n"


def consistency(results: Path) -> str:
    cons = load(results, "consistency")
    overall = cons["overall"]
    methods = [m for m in METHOD_ORDER if m in overall]
    cols = [
        ("warp_1", "E_warp(1) ↓", "{:.3g}"),
        ("warp_10", "E_warp(10) ↓", "{:.3g}"),
        ("flicker", "flicker ↑", "{:.4f}"),
        ("identity_drift", "identity drift ↓", "{:.3g}"),
        ("edge_f1", "edge F1 ↑", "{:.2f}"),
        ("unet_per_film_second", "UNet evals / film s ↓", "{:.0f}"),
    ]
    opts = cons["options"]
    po = opts.get("painter_options") or {}
    size = opts.get("size") or [None, None]
    lines = [
        f"The committed results (`benchmarks/results/consistency.md`: the {len(cons['scenes'])} suite scenes, "
        f"{cons['rounds']['n']} fresh rounds, {cons['machine']['cores']} CPU cores, {size[0]}x{size[1]}, "
        f"{opts.get('fps')} fps, {po.get('steps', 'default')} steps). **The diffusion rows ran tiny models with "
        "random weights: they test the pipeline, not the methods** (random weights paint noise; real models "
        "are needed to compare the methods). Means over scenes:",
        "",
        "| method | " + " | ".join(t for _, t, _ in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for m in methods:
        row = overall[m]
        cells = ["—" if row.get(k) is None else f.format(row[k]) for k, _, f in cols]
        name = f"{m} (no model)" if m == "procedural" else f"{m} (random weights)"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    behind = overall[methods[0]]["scenes_behind"]
    groups: dict = {}
    for k, t, _ in cols:
        groups.setdefault(tuple(behind.get(k, ())), []).append(t.rstrip(" ↓↑"))

    def where(names: tuple) -> str:
        listed = ", ".join(names) or "no scene"
        return f"all {len(names)} ({listed})" if len(names) == len(cons["scenes"]) else listed

    lines += [
        "",
        "Scenes behind each mean: "
        + "; ".join(f"{', '.join(ts)}: {where(names)}" for names, ts in groups.items())
        + ".",
    ]
    if cons["rounds"]["quality_identical"]:
        same = f"Every quality number came out identical in the {cons['rounds']['n']} rounds."
    else:
        import consistency as K

        rel = K.relative_differences(cons["rounds"])
        equal = [m for m in methods if m not in rel]
        same = (
            f"Not every quality number came out identical in the {cons['rounds']['n']} rounds: "
            + ", ".join(f"{m} up to {v:.0e}" for m, v in rel.items())
            + " relative difference"
            + (f" ({', '.join(equal)} identical)" if equal else "")
            + "; docs/BENCHMARK.md says why."
        )
    lines.append(
        f"{same} Flicker is VBench's, on the still pixels of static-camera shots; the locked-off shot of "
        "crossing_occluders is not judged by shotdrift, whose locked-off test reads its moving objects as "
        "camera motion (`benchmarks/results/shotdrift_validity.md`)."
    )
    return "\n".join(lines) + "\n"


def diffusion(results: Path) -> str:
    d = load(results, "diffusion")
    rows = {r["method"]: r for r in d["rows"]}
    pf, bk, br = rows["per-frame"], rows["baked"], rows["baked+refine"]
    return (
        f"Measured with tiny random-weight models on {d['machine']['cores']} CPU cores "
        f"(`benchmarks/results/diffusion.md`, a pipeline check: evaluation counts, not pictures): per-frame "
        f"methods spend {pf['unet_per_film_second']:g} UNet evaluations per film second at {d['steps']} steps; "
        f"baked spends {bk['unet_per_film_second_30s']:.3g} (look development, amortised over a 30 s film) and "
        f"baked+refine {br['unet_per_film_second_30s']:.3g}.\n"
    )


def planner(results: Path) -> str:
    q = load(results, "plan_quality")
    m = q["machine"]
    lines = [
        f"Latest committed run (`benchmarks/results/plan_quality.md`, {m['date']}, {m['cores']} CPU cores shared "
        f"with other work, load {m['load_start'][0]:.1f} at the start):",
        "",
        "| prompt set | planner | valid specs | relations satisfied | hidden | L/R swapped | camera moves as asked "
        "| colours right | s/plan median |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    not_run = []
    for sname, st in q["sets"].items():
        for name, b in st["planners"].items():
            s = b["summary"]
            colours = f"{100 * s['colour_rate']:.0f} % of {s['colours']}" if s["colour_rate"] is not None else "n/a"
            lines.append(
                f"| {sname} ({st['prompts']}) | {name} | {100 * s['valid_rate']:.0f} % | "
                f"{100 * s['relation_rate']:.0f} % of {s['relations']} | {s['hidden']} | {s['swapped']} | "
                f"{100 * s['move_rate']:.0f} % | {colours} | {s['seconds_median']:.2f} |"
            )
        not_run += [f"{p} on {sname}" for p in st.get("not_run", [])]
    answers = q.get("model_answers")
    if answers:
        lines += [
            "",
            f"Model ({q['model']}) seconds are those its calls took when they were asked ({answers['first']} "
            f"to {answers['last']}, median load {answers['load_median']:.1f} on {m['cores']} cores), not a "
            "quiet machine's.",
        ]
    if not_run:
        lines += ["", "Not measured yet: " + ", ".join(not_run) + "."]
    return "\n".join(lines) + "\n"


BLOCKS = {"performance": performance, "consistency": consistency, "diffusion": diffusion, "planner": planner}


def wrap(block: str, width: int = 95) -> str:
    """Paragraph lines hard-wrapped like the rest of the README; table rows left as they are."""
    out = []
    for line in block.split("\n"):
        out.append(line if line.startswith("|") or not line else textwrap.fill(line, width, break_on_hyphens=False))
    return "\n".join(out)


def rewrite(text: str, results: Path) -> str:
    def sub(m: re.Match) -> str:
        return m.group(1) + wrap(BLOCKS[m.group("name")](results)) + m.group(4)

    return BLOCK.sub(sub, text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--results", type=Path, default=C.RESULTS)
    args = ap.parse_args()
    text = README.read_text()
    names = {m.group("name") for m in BLOCK.finditer(text)}
    if names != set(BLOCKS):
        print(f"README.md: figure blocks {sorted(names)}, expected {sorted(BLOCKS)}", file=sys.stderr)
        return 1
    new = rewrite(text, args.results)
    if args.check:
        if new != text:
            print(
                "README.md: figures differ from benchmarks/results (run python benchmarks/readme_figures.py)",
                file=sys.stderr,
            )
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
