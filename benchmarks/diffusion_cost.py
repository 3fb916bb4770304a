"""Cost of the diffusion painters: evaluations per frame and per film second for every method,
look development per object, baked frames per second, refined frames per second, peak memory;
and (with --full-shot) one refined shot at the film's own size, checked for breakage.

    python benchmarks/diffusion_cost.py                 # tiny models (built from configs), this machine
    python benchmarks/diffusion_cost.py --real-size     # SD1.5-architecture UNet + ControlNet with random
                                                        # weights at 512^2, fp16 (meant for a GPU)
    python benchmarks/diffusion_cost.py --smoke         # the smallest run of every code path (tests)

Compute does not depend on weight values, so random weights of the published architecture time
what a real checkpoint costs; their pictures are noise, so nothing here says anything about image
quality. After a warm-up (model build and load, one untimed render), each method renders the
same scene `--repeats` times in rotating order, each time with an empty texture cache (so baked
and baked+refine pay for their look development every time); then look development, baked
frames and refined frames are timed alone, again in rotating order. Tables give the median and
the range; evaluation counts are checked to be identical in every round. Sizes, frame counts,
steps, device and memory come from the runs' manifests and painter statistics.
Writes benchmarks/results/<name>.{json,md,png} (name: diffusion, diffusion_real, or --name)."""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

METHODS = ("per-frame", "fixed-seed", "anchored-noise", "baked", "baked+refine")
TARGETS = {"baked_fps": 100.0, "refine_fps": 3.0}  # on one H100, real size, 512^2, fp16
FPS = 8
REFINE = 0.3


def scene_text(size: tuple[int, int], seconds: float, fps: int = FPS) -> str:
    w, h = size
    return f"""
worldgen: 1
seed: 3
render: {{width: {w}, height: {h}, fps: {fps}}}
style: "soft daylight"
world:
  objects:
    - {{id: ground, shape: plane, size: [20, 20], appearance: "green grass"}}
    - {{id: crate, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "wooden crate"}}
    - {{id: ball, shape: sphere, radius: 0.4, position: [1.2, 0.4, 0.5], appearance: "red ball"}}
    - {{id: post, shape: cylinder, radius: 0.15, height: 2, position: [-1.2, 1, -0.5], appearance: "grey stone"}}
shots:
  - {{id: orbit, duration: {seconds}, camera: {{move: orbit, target: crate, radius: 4, height: 1.6, degrees: 40}}}}
"""


class Setup:
    """The mode's sizes and the painter options every run shares."""

    def __init__(self, mode: str, work: Path, device: str, seconds: float | None):
        tiny = C.tiny_models()
        self.mode, self.work = mode, work
        a = time.perf_counter()
        if mode == "real":
            model = tiny.build_sd15_real_size(work / "model", controlnets=("depth",))
            self.size, view, tex, steps, dtype = (512, 512), 512, 512, 20, "fp16"
            self.shoot_size, self.full_size = (512, 512), (512, 288)
            self.model_name = "SD1.5 architecture, random weights, fp16"
        else:
            model = tiny.build_tiny_sd15(work / "model", controlnets=("depth",))
            small = mode == "smoke"
            self.size, view, tex, steps, dtype = (64, 64), 64, 64 if small else 128, 2 if small else 20, "auto"
            self.shoot_size = (64, 64) if small else (512, 288)  # baking does not depend on the model
            self.full_size = (128, 72) if small else (512, 288)
            self.model_name = "tiny SD1.5-class, random weights (built from configs)"
        self.build_s = round(time.perf_counter() - a, 1)
        self.seconds = seconds or (0.25 if mode == "smoke" else 1.0)
        self.steps = steps
        refs = tiny.tiny_controlnet_refs(model)
        self.options = {
            "base": str(model),
            "controlnets": {"depth": refs["depth"]},
            "steps": steps,
            "views": 1 if mode == "smoke" else 4,
            "view_size": view,
            "texture_size": tex,
            "part_texture_size": tex // 2,
            "device": device,
            "dtype": dtype,
        }
        self._n = 0

    def fresh_texture_cache(self) -> str:
        self._n += 1
        return str(self.work / f"textures-{self._n}")

    def spec(self, size, seconds=None):
        from worldgen.spec import load_spec_text

        return load_spec_text(scene_text(size, seconds or self.seconds), check=False)


def _sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _reset_peak():
    import torch

    from worldgen.diffusion.counting import reset_peak_memory

    reset_peak_memory("cuda" if torch.cuda.is_available() else "cpu")


def render_method(setup: Setup, method: str, spec, out: Path, cache: str | None = None) -> dict:
    """One `render()` of the scene with a method (frames only), on its own texture cache."""
    from worldgen.render import RenderOptions, render

    _reset_peak()
    opts = dict(
        setup.options, cache=cache or setup.fresh_texture_cache(), refine=REFINE if "refine" in method else None
    )
    a = time.perf_counter()
    res = render(
        spec,
        out,
        RenderOptions(painter=method, painter_options=opts, progress=False, film=False, passes=False, use_store=False),
    )
    _sync()
    secs = time.perf_counter() - a
    man = res.manifest
    st = man.get("painter_stats") or {}
    frames = sum(s["frame_count"] for s in man["shots"])
    look = (st.get("lookdev") or {}).get("unet_evals", 0)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "seconds": round(secs, 3),
        "frames": frames,
        "frames_rendered": res.frames_rendered,
        "width": man["width"],
        "height": man["height"],
        "fps": man["fps"],
        "unet_evals": st.get("unet_evals", 0),
        "lookdev_unet_evals": look,
        "controlnet_evals": st.get("controlnet_evals", 0),
        "device": st.get("device"),
        "dtype": st.get("dtype"),
        "peak_memory_mb": round((st.get("peak_memory_bytes") or 0) / 2**20),
        "lookdev_units_painted": (st.get("lookdev") or {}).get("painted"),
    }


def method_rows(setup: Setup, repeats: int, log) -> tuple[list[dict], list, bool]:
    spec = setup.spec(setup.size)
    counter = iter(range(10**6))
    cases = {m: (lambda m=m: render_method(setup, m, spec, setup.work / f"r{next(counter)}")) for m in METHODS}
    runs, order = C.alternating(cases, repeats, log)
    rows, same = [], True
    for m, rs in runs.items():
        first = rs[0]
        same &= all(
            (r["unet_evals"], r["lookdev_unet_evals"], r["controlnet_evals"])
            == (first["unet_evals"], first["lookdev_unet_evals"], first["controlnet_evals"])
            for r in rs
        )
        n, look = first["frames"], first["lookdev_unet_evals"]
        shoot = (first["unet_evals"] - look) / n
        rows.append(
            {
                "method": m,
                "frames": n,
                "width": first["width"],
                "height": first["height"],
                "fps": first["fps"],
                "device": first["device"],
                "dtype": first["dtype"],
                "lookdev_unet_evals": look,
                "unet_per_frame": round(shoot, 2),
                "unet_per_film_second": round(shoot * first["fps"], 2),
                "unet_per_film_second_30s": round((look + shoot * 30 * first["fps"]) / 30, 2),
                "controlnet_evals": first["controlnet_evals"],
                "seconds": C.spread([r["seconds"] for r in rs], 3),
                "seconds_per_frame": C.spread([r["seconds"] / n for r in rs], 3),
                "peak_memory_mb": C.spread([r["peak_memory_mb"] for r in rs], 0),
            }
        )
    return rows, order, same


def shoot_timings(setup: Setup, repeats: int, log) -> dict:
    """Look development alone, baked frames alone, refined frames alone, in rotating order."""
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.world import World

    filled = setup.fresh_texture_cache()  # the textures the baked and refined cases read
    spec = setup.spec(setup.size)
    world = World(spec)
    make_painter("baked", world, Rasterizer(world), dict(setup.options, cache=filled)).prepare(spec.shots)

    def lookdev():
        w = World(spec)
        painter = make_painter("baked", w, Rasterizer(w), dict(setup.options, cache=setup.fresh_texture_cache()))
        _reset_peak()
        a = time.perf_counter()
        painter.prepare(spec.shots)
        _sync()
        secs = time.perf_counter() - a
        units = painter.stats()["lookdev"]["painted"]
        return {
            "seconds": secs,
            "units": units,
            "seconds_per_unit": secs / max(units, 1),
            "peak_memory_mb": round(painter.stats().get("peak_memory_bytes", 0) / 2**20),
        }

    def frames(method: str, size):
        sp = setup.spec(size)
        w = World(sp)
        raster = Rasterizer(w)
        painter = make_painter(
            method, w, raster, dict(setup.options, cache=filled, refine=REFINE if "refine" in method else None)
        )
        painter.prepare(sp.shots)
        painter.begin_shot(sp.shots[0], (0.5, 20.0))
        _reset_peak()
        times = []
        for fr in raster.shot_frames(sp.shots[0], *size, sp.render.fps):
            a = time.perf_counter()
            painter.paint_frame(fr) if hasattr(painter, "paint_frame") else painter.paint(fr.view)
            _sync()
            times.append(time.perf_counter() - a)
        peak = round(painter.stats().get("peak_memory_bytes", 0) / 2**20)
        return {
            "seconds_per_frame": statistics.median(times[1:] or times),
            "frames": len(times),
            "width": size[0],
            "height": size[1],
            "peak_memory_mb": peak,
        }

    cases = {
        "look development": lookdev,
        "baked frames": lambda: frames("baked", setup.shoot_size),
        "refined frames": lambda: frames("baked+refine", setup.size),
    }
    runs, order = C.alternating(cases, repeats, log)
    ld, bk, rf = runs["look development"], runs["baked frames"], runs["refined frames"]
    return {
        "order": order,
        "lookdev_units": ld[0]["units"],
        "lookdev_seconds_per_object": C.spread([r["seconds_per_unit"] for r in ld], 3),
        "lookdev_peak_memory_mb": C.spread([r["peak_memory_mb"] for r in ld], 0),
        "baked_size": [bk[0]["width"], bk[0]["height"]],
        "baked_frames": bk[0]["frames"],
        "baked_fps": C.spread([1 / r["seconds_per_frame"] for r in bk], 1),
        "refine_size": [rf[0]["width"], rf[0]["height"]],
        "refine_frames": rf[0]["frames"],
        "refine_seconds_per_frame": C.spread([r["seconds_per_frame"] for r in rf], 3),
        "refine_fps": C.spread([1 / r["seconds_per_frame"] for r in rf], 2),
        "refine_peak_memory_mb": C.spread([r["peak_memory_mb"] for r in rf], 0),
    }


def full_shot(setup: Setup) -> dict:
    """One refined shot at the film's own size through `render()`: every frame written, finite,
    not blank, and its evaluation counts as expected (one ControlNet call per UNet call)."""
    import numpy as np
    from PIL import Image

    from worldgen.render import RenderOptions, render

    spec = setup.spec(setup.full_size)
    out = setup.work / "full-shot"
    _reset_peak()
    a = time.perf_counter()
    try:
        res = render(
            spec,
            out,
            RenderOptions(
                painter="baked+refine",
                progress=False,
                film=False,
                passes=False,
                use_store=False,
                painter_options=dict(setup.options, cache=setup.fresh_texture_cache(), refine=REFINE),
            ),
        )
    except Exception as e:  # noqa: BLE001 - the point of this check is to report a breakage, not to crash
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:500]}
    _sync()
    secs = time.perf_counter() - a
    man = res.manifest
    pngs = sorted(out.rglob("frames/*.png")) or sorted(p for p in out.rglob("*.png") if "control" not in p.parts)
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in pngs]
    expected = sum(s["frame_count"] for s in man["shots"])
    st = man.get("painter_stats") or {}
    checks = {
        "every frame written": len(frames) == expected,
        "frames at the film's size": all(f.shape[:2] == (man["height"], man["width"]) for f in frames),
        "no blank frame": all(float(f.std()) > 0 for f in frames),
        "refinement ran (UNet evaluations beyond look development)": st.get("unet_evals", 0)
        > (st.get("lookdev") or {}).get("unet_evals", 0),
    }
    shutil.rmtree(out, ignore_errors=True)
    return {
        "ok": all(checks.values()),
        "checks": checks,
        "width": man["width"],
        "height": man["height"],
        "frames": expected,
        "seconds": round(secs, 2),
        "unet_evals": st.get("unet_evals"),
        "peak_memory_mb": round((st.get("peak_memory_bytes") or 0) / 2**20),
        "device": st.get("device"),
    }


def measure(mode: str, repeats: int, device: str, seconds: float | None, with_full_shot: bool, log=print) -> dict:
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    import torch

    rec = C.start_record("diffusion", mode=mode, repeats=repeats, device_asked=device)
    rec["torch_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    with C.fresh_cache(), tempfile.TemporaryDirectory(prefix="worldgen-bench-diffusion-") as d:
        setup = Setup(mode, Path(d), device, seconds)
        a = time.perf_counter()  # warm-up: model load (kept for the process), first calls, numba
        C.warm_up()
        warm = setup.spec(setup.size, 0.25)
        render_method(setup, "baked+refine", warm, Path(d) / "warm")  # txt2img inpainting, img2img, VAE
        if mode != "smoke":
            render_method(setup, "per-frame", warm, Path(d) / "warm")  # txt2img at frame size
        rec["warm_up_s"] = round(time.perf_counter() - a, 1)
        rows, order, same = method_rows(setup, repeats, log)
        rec |= {
            "model": setup.model_name,
            "model_build_s": setup.build_s,
            "steps": setup.steps,
            "refine_strength": REFINE,
            "views": setup.options["views"],
            "rows": rows,
            "order": order,
            "evaluations_identical_every_round": same,
            "shoot": shoot_timings(setup, repeats, log),
        }
        if with_full_shot:
            rec["full_shot"] = full_shot(setup)
    return C.finish_record(rec)


def markdown(r: dict) -> str:
    real = r["params"]["mode"] == "real"
    row0, sh = r["rows"][0], r["shoot"]
    dev = r["torch_device"] if row0["device"] and row0["device"].startswith("cuda") else f"CPU ({row0['device']})"
    lines = [
        f"# Diffusion painters: cost ({'real-size architecture' if real else 'tiny models'})\n",
        C.machine_line(r) + "\n",
        f"Device: {dev}; model: {r['model']}; {row0['width']}x{row0['height']}, {row0['frames']} frames at "
        f"{row0['fps']:g} fps, {r['steps']} steps, refine strength {r['refine_strength']}, dtype {row0['dtype']}. "
        "**Random weights: these figures time the pipeline (evaluations, seconds, memory); they say nothing about "
        "pictures.** Each method "
        f"{r['params']['repeats']} times in rotating order after a warm-up (models loaded once), each run with an "
        "empty texture cache; median (min–max). Evaluation counts identical in every round: "
        f"{'yes' if r['evaluations_identical_every_round'] else 'NO'}.\n",
        "| method | look development UNet evals (once per world) | UNet evals / frame | UNet evals / film second "
        "| ... for a 30 s film, look development included | s / frame (look development included) "
        "| peak memory (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['method']} | {row['lookdev_unet_evals']} | {row['unet_per_frame']} | "
            f"{row['unet_per_film_second']} | {row['unet_per_film_second_30s']} | "
            f"{C.fmt(row['seconds_per_frame'], '', 3)} | {C.fmt(row['peak_memory_mb'], '', 0)} |"
        )
    lines += [
        "",
        f"Look development paints {sh['lookdev_units']} objects x {r['views']} views once per world. A ControlNet "
        "evaluation accompanies every UNet evaluation (one net loaded). Classifier-free guidance is batched: one "
        "evaluation = two images. Peak memory: CUDA max allocated on a GPU (reset before each run), the process's "
        "resident high-water mark on a CPU (which never goes down, so later runs inherit earlier peaks).",
        "",
        f"Timed alone ({' / '.join(sh['order'][0])} rotating; median (min–max)):",
        "",
        "| measure | value | target (one H100, real size, fp16) |",
        "|---|---:|---:|",
        f"| look development, s per object ({sh['lookdev_units']} objects, {r['views']} views each) | "
        f"{C.fmt(sh['lookdev_seconds_per_object'], '', 3)} | |",
        f"| baked frames / s ({sh['baked_size'][0]}x{sh['baked_size'][1]}) | {C.fmt(sh['baked_fps'], '', 1)} | "
        f">= {TARGETS['baked_fps']:g} |",
        f"| refined frames / s ({sh['refine_size'][0]}x{sh['refine_size'][1]}) | {C.fmt(sh['refine_fps'], '', 2)} | "
        f">= {TARGETS['refine_fps']:g} |",
        f"| refined frame, s / frame | {C.fmt(sh['refine_seconds_per_frame'], '', 3)} | |",
        f"| peak memory: look development / refining (MB) | {sh['lookdev_peak_memory_mb']['median']:.0f} / "
        f"{sh['refine_peak_memory_mb']['median']:.0f} | |",
        "",
    ]
    fs = r.get("full_shot")
    if fs:
        if "checks" in fs:
            lines += [
                f"One refined shot at the film's size ({fs['width']}x{fs['height']}, {fs['frames']} frames, "
                f"{fs['seconds']} s, {fs['unet_evals']} UNet evaluations, peak {fs['peak_memory_mb']} MB): "
                f"**{'nothing broke' if fs['ok'] else 'BROKEN'}** ("
                + "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in fs["checks"].items())
                + ").",
                "",
            ]
        else:
            lines += [f"One refined shot at the film's size: **BROKEN**: {fs['error']}", ""]
    if not real:
        lines.append(
            "Tiny models say nothing about real-size speed; `benchmarks/gpu.sh` (`--real-size` on a GPU) "
            "measures that.\n"
        )
    return "\n".join(lines)


def plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(
        [row["method"] for row in r["rows"]], [row["unet_per_film_second_30s"] for row in r["rows"]], color="#4a7fb5"
    )
    ax.set_ylabel("UNet evals per film second\n(30 s film, look dev included)")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--real-size", action="store_true", help="SD1.5 architecture at 512², fp16 (a GPU)")
    mode.add_argument("--smoke", action="store_true", help="every code path at the smallest size (tests)")
    ap.add_argument(
        "--seconds", type=float, default=None, help="film length of the timed scene (default 1; smoke 0.25)"
    )
    ap.add_argument("--repeats", type=int, default=C.REPEATS)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--full-shot", action="store_true", help="also one refined shot at the film's size (512x288)")
    ap.add_argument("--out", type=Path, default=C.RESULTS)
    ap.add_argument("--name", default=None)
    ap.add_argument("--report-only", action="store_true", help="rewrite the Markdown and plot from the JSON")
    args = ap.parse_args()
    mode_name = "real" if args.real_size else "smoke" if args.smoke else "tiny"
    name = args.name or {"real": "diffusion_real", "smoke": "diffusion_smoke", "tiny": "diffusion"}[mode_name]
    if args.report_only:
        r = C.json.loads((args.out / f"{name}.json").read_text())
    else:
        r = measure(mode_name, args.repeats, args.device, args.seconds, args.full_shot)
        C.write_json(r, args.out / f"{name}.json")
    (args.out / f"{name}.md").write_text(markdown(r))
    plot(r, args.out / f"{name}.png")
    print(markdown(r))
    ok = r["evaluations_identical_every_round"] and r.get("full_shot", {"ok": True})["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
