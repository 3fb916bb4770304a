"""Write gpu.md from the records `benchmarks/gpu.sh` made: every figure only a GPU shows, from one
run of one script, with the device named as nvidia-smi names it.

    python benchmarks/gpu_report.py RESULTS_DIR [--dry-run] [--timed-out STEP ...]

Reads RESULTS_DIR/gpu_passes.json and RESULTS_DIR/diffusion_real.json (whichever exist: a step
that ran out of time is named instead) and writes RESULTS_DIR/gpu.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

STEPS = {"passes": "gpu_passes.json", "diffusion": "diffusion_real.json"}


def _load(folder: Path, name: str) -> dict | None:
    p = folder / name
    return json.loads(p.read_text()) if p.is_file() else None


def report(folder: Path, dry_run: bool = False, timed_out: tuple[str, ...] = ()) -> str:
    passes, diff = _load(folder, STEPS["passes"]), _load(folder, STEPS["diffusion"])
    first = passes or diff
    lines = ["# GPU figures (`benchmarks/gpu.sh`)", ""]
    if dry_run:
        lines += [
            "**Dry run on the CPU at the smallest sizes: these numbers only show that the script works; they are "
            "no GPU figures.**",
            "",
        ]
    if first:
        m = first["machine"]
        lines += [
            f"Device: **{m.get('gpu') or 'no NVIDIA GPU (nvidia-smi found none)'}**; torch device: "
            f"{(diff or {}).get('torch_device', 'n/a')}.",
            "",
            C.machine_line(first),
            "",
        ]
    for step in timed_out:
        lines += [f"- step `{step}` did not finish within its share of the 8-minute budget: no figures from it.", ""]
    if passes:
        r = passes.get("gl_renderer") or "none"
        on_gpu = "llvmpipe" not in r.lower() and "softpipe" not in r.lower() and r != "none"
        lines += [
            "## Passes on the GPU: pyrender over EGL",
            "",
            f"GL renderer: `{r}` ({'the GPU' if on_gpu else 'NOT the GPU: a software rasterizer'}). All passes "
            f"per frame (frames per second, median of {passes['params']['repeats']} rounds, range); raycast "
            "(Open3D on this machine's CPU) and the raw cast alongside.",
            "",
            "| triangles | size | gl (EGL) fps | raycast fps | raw cast_rays fps |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in passes["passes"]:
            f = lambda k: C.fmt(row[k], "", 1) if k in row else "n/a"  # noqa: E731
            lines.append(
                f"| {row['triangles']:,} | {row['width']}x{row['height']} | {f('gl_fps')} | "
                f"{f('raycast_fps')} | {f('raw_cast_rays_fps')} |"
            )
        lines.append("")
    if diff:
        sh, rows = diff["shoot"], {r["method"]: r for r in diff["rows"]}
        pf = rows.get("per-frame")
        lines += [
            "## Diffusion painters at real size (random-weight SD1.5 architecture)",
            "",
            f"Model: {diff['model']}; {diff['steps']} steps; random weights time the pipeline, not pictures. "
            f"Median of {diff['params']['repeats']} rounds (range). Full tables: `diffusion_real.md`.",
            "",
            "| figure | measured | target (one H100) |",
            "|---|---:|---:|",
            f"| look development, s per object ({sh['lookdev_units']} objects, {diff['views']} views) | "
            f"{C.fmt(sh['lookdev_seconds_per_object'], '', 2)} | |",
            f"| baked frames / s ({sh['baked_size'][0]}x{sh['baked_size'][1]}) | {C.fmt(sh['baked_fps'], '', 1)} | "
            ">= 100 |",
            f"| refined frames / s ({sh['refine_size'][0]}x{sh['refine_size'][1]}, strength "
            f"{diff['refine_strength']}) | {C.fmt(sh['refine_fps'], '', 2)} | >= 3 |",
        ]
        if pf:
            lines.append(
                f"| per-frame baseline, s / frame ({pf['width']}x{pf['height']}) | "
                f"{C.fmt(pf['seconds_per_frame'], '', 3)} | |"
            )
        lines.append(
            f"| peak GPU memory: look development / refining (MB) | "
            f"{sh['lookdev_peak_memory_mb']['median']:.0f} / {sh['refine_peak_memory_mb']['median']:.0f} | |"
        )
        for name, row in rows.items():
            lines.append(f"| peak memory, {name} render (MB) | {C.fmt(row['peak_memory_mb'], '', 0)} | |")
        fs = diff.get("full_shot")
        if fs:
            lines += [
                "",
                "One refined shot at the film's own size: "
                + (
                    f"{fs['width']}x{fs['height']}, {fs['frames']} frames, {fs['seconds']} s: "
                    f"**{'nothing broke' if fs['ok'] else 'BROKEN'}** ("
                    + "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in fs["checks"].items())
                    + ")"
                    if "checks" in fs
                    else f"**BROKEN**: {fs['error']}"
                )
                + ".",
            ]
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--timed-out", nargs="*", default=[])
    args = ap.parse_args()
    text = report(args.folder, args.dry_run, tuple(args.timed_out))
    (args.folder / "gpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
