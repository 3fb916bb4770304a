"""Cost of the diffusion painters: evaluations per frame and per film second for every method,
seconds per look-development object, seconds per refined frame, baked frames per second.

    python benchmarks/diffusion_cost.py                 # tiny models (built from configs), this machine
    python benchmarks/diffusion_cost.py --real-size     # SD1.5-architecture UNet + ControlNet with random
                                                        # weights at 512^2, fp16 (meant for a GPU)

Compute does not depend on weight values, so random weights of the published architecture
time what a real checkpoint costs. Writes benchmarks/results/diffusion{,_real}.{json,md,png}."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
METHODS = ("per-frame", "fixed-seed", "anchored-noise", "baked", "baked+refine")
TARGETS = {"baked_fps": 100.0, "refine_fps": 3.0}  # on one H100, real size, 512^2, fp16


def scene_text(size: tuple[int, int], seconds: float, fps: int) -> str:
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


def run(method: str, spec, out: Path, options: dict):
    from worldgen.render import RenderOptions, render
    a = time.perf_counter()
    res = render(spec, out, RenderOptions(painter=method, painter_options=options, progress=False, film=False,
                                          passes=False))
    return time.perf_counter() - a, res.manifest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real-size", action="store_true")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    from worldgen.compat import torchvision_importable
    torchvision_importable()
    import torch

    from passes_throughput import machine
    from worldgen.diffusion import tiny
    from worldgen.spec import load_spec_text
    fps = 8
    tmp = Path(tempfile.mkdtemp())
    if args.real_size:
        model = tiny.build_sd15_real_size(tmp / "m", controlnets=("depth",))
        size, view, tex, steps = (512, 512), 512, 512, 20
        dtype = "fp16"
    else:
        model = tiny.build_tiny_sd15(tmp / "m", controlnets=("depth",))
        size, view, tex, steps = (64, 64), 64, 128, 20
        dtype = "auto"
    refs = tiny.tiny_controlnet_refs(model)
    opts = {"base": str(model), "controlnets": {"depth": refs["depth"]}, "steps": steps, "views": 4, "view_size": view,
            "texture_size": tex, "part_texture_size": tex // 2, "device": args.device, "dtype": dtype, "cache": str(tmp / "cache")}
    spec = load_spec_text(scene_text(size, args.seconds, fps), check=False)
    n_frames = int(round(args.seconds * fps))
    rows = []
    lookdev_s = None
    for method in METHODS:
        secs, man = run(method, spec, tmp / method.replace("+", "_"), dict(opts, refine=0.3 if "refine" in method else None))
        st = man["painter_stats"]
        if method == "baked":
            lookdev_s = secs
        look = st["unet_evals"] if method == "baked" else 0  # baked's evaluations are all look development
        shoot = (st["unet_evals"] - look) / n_frames
        rows.append({"method": method, "seconds": round(secs, 3), "frames": n_frames,
                     "lookdev_unet_evals": look, "unet_per_frame": round(shoot, 2),
                     "unet_per_film_second": round(shoot * fps, 2),
                     "unet_per_film_second_30s": round((look + shoot * 30 * fps) / 30, 2),
                     "controlnet_evals": st["controlnet_evals"],
                     "peak_memory_mb": round(st.get("peak_memory_bytes", 0) / 2**20)})
        print(rows[-1], flush=True)
    look_world = next(r["lookdev_unet_evals"] for r in rows if r["method"] == "baked")
    for r in rows:  # refinement stands on the same look development (here read from the cache)
        if r["method"] == "baked+refine":
            r["lookdev_unet_evals"] = look_world
            r["unet_per_film_second_30s"] = round((look_world + r["unet_per_frame"] * 30 * fps) / 30, 2)
    # shoot timings once the textures are cached: baked frames/s and refined frames/s
    _, man = run("baked", spec, tmp / "baked2", opts)
    baked_times, refine_times = [], []
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.world import World
    world = World(spec)
    raster = Rasterizer(world)
    refine = make_painter("baked+refine", world, raster, dict(opts, refine=0.3))
    refine.prepare(spec.shots)
    refine.begin_shot(spec.shots[0], (0.5, 20.0))
    for fr in raster.shot_frames(spec.shots[0], *size, fps):
        a = time.perf_counter()
        refine.paint_frame(fr)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        refine_times.append(time.perf_counter() - a)
    shoot_size = (512, 512) if args.real_size else (512, 288)  # baking does not depend on the model
    spec2 = load_spec_text(scene_text(shoot_size, args.seconds, fps), check=False)
    world2 = World(spec2)
    raster2 = Rasterizer(world2)
    baked = make_painter("baked", world2, raster2, opts)
    baked.prepare(spec2.shots)
    baked.begin_shot(spec2.shots[0], (0.5, 20.0))
    for fr in raster2.shot_frames(spec2.shots[0], *shoot_size, fps):
        a = time.perf_counter()
        baked.paint(fr.view)
        baked_times.append(time.perf_counter() - a)
    units = 4
    result = {"machine": machine(), "device": str(refine.models.loaded.device),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "model": "SD1.5 architecture, random weights, fp16" if args.real_size else "tiny SD1.5-class (built from configs)",
              "size": list(size), "shoot_size": list(shoot_size), "steps": steps, "refine_strength": 0.3, "rows": rows,
              "lookdev_seconds_per_object": round(lookdev_s / units, 3),
              "baked_fps": round(1 / statistics.median(baked_times[1:] or baked_times), 1),
              "refine_seconds_per_frame": round(statistics.median(refine_times[1:] or refine_times), 3)}
    result["refine_fps"] = round(1 / result["refine_seconds_per_frame"], 2)
    print(result)
    name = "diffusion_real" if args.real_size else "diffusion"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(result, RESULTS / f"{name}.md", args.real_size)
    plot(result, RESULTS / f"{name}.png")


def write_markdown(r: dict, path: Path, real: bool):
    m = r["machine"]
    dev = r["gpu"] or f"{m['cores']}-core CPU ({m['cpu']})"
    lines = [f"# Diffusion painters: cost ({'real-size architecture' if real else 'tiny models'})\n",
             f"Device: {dev}; model: {r['model']}; {r['size'][0]}x{r['size'][1]}, {r['steps']} steps, refine strength "
             f"{r['refine_strength']}; {m['date']}. One run.\n",
             "| method | look development UNet evals (once per world) | UNet evals / frame | UNet evals / film second "
             "| ... for a 30 s film, look development included | wall time (s) | peak memory (MB) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        lines.append(f"| {row['method']} | {row['lookdev_unet_evals']} | {row['unet_per_frame']} | {row['unet_per_film_second']} | "
                     f"{row['unet_per_film_second_30s']} | {row['seconds']} | {row['peak_memory_mb']} |")
    lines += ["", "Look development paints 4 objects x 4 views once per world (baked+refine reads the same textures "
              "from the cache; its look-development column counts them as its own). "
              "A ControlNet evaluation accompanies every UNet evaluation (one net loaded). Classifier-free guidance "
              "is batched: one evaluation = two images.", "",
              "| measure | value | target (one H100, real size, fp16) |", "|---|---:|---:|",
              f"| look development, s per object | {r['lookdev_seconds_per_object']} | |",
              f"| baked frames / s ({r['shoot_size'][0]}x{r['shoot_size'][1]}) | {r['baked_fps']} | >= {TARGETS['baked_fps']:g} |",
              f"| refined frames / s ({r['size'][0]}x{r['size'][1]}) | {r['refine_fps']} | >= {TARGETS['refine_fps']:g} |", ""]
    if not real:
        lines.append("Tiny models say nothing about real-size speed; `--real-size` on a GPU measures that.\n")
    path.write_text("\n".join(lines))


def plot(r: dict, path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = [row["method"] for row in r["rows"]]
    ax.bar(names, [row["unet_per_film_second_30s"] for row in r["rows"]], color="#4a7fb5")
    ax.set_ylabel("UNet evals per film second\n(30 s film, look dev included)")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
