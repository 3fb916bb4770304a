"""Passes throughput per backend, resolution and triangle count, next to raw ray casting, and
where a frame's time goes (per stage, at 512² and ~100k triangles).

    python benchmarks/passes_throughput.py [--repeats 3] [--frames 12] [--quick | --tiny]
        [--backends raycast,gl] [--sizes 256,512,1024] [--triangles 1000,100000,1000000]
        [--out DIR] [--name passes]

Writes <name>.json, .md and .png to benchmarks/results/ (or --out). 'all passes' means what
`worldgen passes` computes per frame (hits, depth, normal, ids, uv, forward + backward flow
with occlusion), without writing files; 'raw cast_rays' is Open3D's RaycastingScene.cast_rays
alone on the same scene and rays. The raycast backend finds the static set's primary hits by
Open3D's cast or by scan conversion, by a cost model (RaycastBackend.primary_path); the table
says which path each configuration took and, unless --no-other-path, times the other path too
(forced), which shows where the cost model's line lies. After a warm-up (imports, numba, GL context), each
configuration runs its cases (raw, each backend) `--repeats` times in rotating order; a round's
figure is the median over its timed frames, and the tables give the median of the rounds with
their range. Triangle counts come from the built world, the GL renderer string from the GL
context itself. (The demo film end to end is timed by benchmarks/production.py.)"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

STAGE_CONFIG = (100_000, 512)  # where the per-stage breakdown is measured
STAGES = (
    "ray generation",
    "cast (Open3D)",
    "hit conversion",
    "scan conversion (rasterize)",
    "surface attributes + both flows",
)
# the stages each path of the static set's primary visibility runs (RaycastBackend.primary_path)
PATH_STAGES = {
    "cast": ("ray generation", "cast (Open3D)", "hit conversion", "surface attributes + both flows"),
    "raster": ("scan conversion (rasterize)", "surface attributes + both flows"),  # rays rebuilt, not stored
}


def scene_yaml(tris: int, size: int) -> tuple[str, int]:
    """A grid of spheres on a ground plane, the sphere tessellation chosen to hit the requested
    triangle count (128 x 64 segments = 16,128 triangles a sphere)."""
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
    return (
        f"""
worldgen: 1
render: {{width: {size}, height: {size}, fps: 24}}
world:
  objects:
{chr(10).join(objs)}
shots:
  - {{id: orbit, duration: 10, camera: {{move: orbit, look_at: [0, 1, 0], radius: {side * 2.5 + 6:.1f}, height: 6, degrees: 40}}}}
""",
        seg,
    )


def build(tris: int, size: int):
    import worldgen.shapes as shapes
    import worldgen.world as wmod
    from worldgen.spec import load_spec_text
    from worldgen.world import World

    text, seg = scene_yaml(tris, size)
    spec = load_spec_text(text, "bench.yaml")
    orig = wmod.primitive
    wmod.primitive = lambda *a, **k: shapes.primitive(*a, segments=seg, **k)
    try:
        world = World(spec)
    finally:
        wmod.primitive = orig
    return spec, world


def time_passes(spec, world, backend: str, frames: int, primary: str = "auto", paths: set | None = None) -> list[float]:
    """Seconds per frame of all passes; the first frame (BVH build, window fill) is not counted.
    `primary` forces the raycast backend's path for the static set's primary hits ('cast',
    'raster'; 'auto': its cost model); the paths taken are added to `paths`."""
    from worldgen.passes.sequence import Rasterizer

    r = Rasterizer(world, backend, with_local=False)  # what `worldgen passes` computes
    if backend == "raycast":
        r.backend.primary = primary
    times, last = [], time.perf_counter()
    it = r.shot_frames(
        spec.shots[0], spec.render.width, spec.render.height, spec.render.fps, only=set(range(frames + 1))
    )
    for k, _ in enumerate(it):
        now = time.perf_counter()
        if k > 0:
            times.append(now - last)
        last = now
        if paths is not None and backend == "raycast":
            paths.add(r.backend.last_path)
    return times


def time_raw(spec, world, frames: int) -> list[float]:
    """Seconds per Open3D cast_rays on the same BVH and rays (the floor for the raycast backend)."""
    import open3d as o3d

    from worldgen.camera import ShotCamera
    from worldgen.passes.raycast import RaycastBackend
    from worldgen.passes.snapshot import SnapshotMaker, pixel_ray_array

    be = RaycastBackend(world)
    snap = SnapshotMaker(world)(0.0)
    cam = ShotCamera(spec.shots[0], world, spec.render.width, spec.render.height).at(0.0)
    t = o3d.core.Tensor(pixel_ray_array(cam))
    scene = be.scene_for_timing(snap)
    scene.cast_rays(t)
    out = []
    for _ in range(frames):
        a = time.perf_counter()
        scene.cast_rays(t)
        out.append(time.perf_counter() - a)
    return out


def time_stages(spec, world, frames: int) -> dict[str, list[float]]:
    """The raycast backend's per-frame work, stage by stage, on a world that does not move:
    the same calls `Rasterizer.view` and `passes_of` make, timed one by one. The scan
    conversion stage is the other path to the same hits, on the same rays (the cost model takes
    one per world and frame size); the last stage is the one sweep that computes the surface
    attributes and both flows with occlusion."""
    import open3d as o3d

    from worldgen.camera import ShotCamera
    from worldgen.passes.derive import flows_and_attributes, surface
    from worldgen.passes.kernels import hits_in_place
    from worldgen.passes.rasterize import rasterize
    from worldgen.passes.sequence import Rasterizer
    from worldgen.passes.snapshot import Hits, pixel_ray_array, ray_basis

    raster = Rasterizer(world, "raycast", with_local=False)
    be, snap = raster.backend, raster.snapshot(0.0)
    scene = be.scene_for_timing(snap)
    w, h, fps = spec.render.width, spec.render.height, spec.render.fps
    rig = ShotCamera(spec.shots[0], world, w, h)
    times = {s: [] for s in STAGES}
    views = []
    work: dict = {}  # the scan conversion's tables, kept between frames as the backend keeps them
    for i in range(frames + 2):
        cam = rig.at(i / fps)  # a new camera frame: its rays are not cached yet
        a = time.perf_counter()
        rays = pixel_ray_array(cam)
        b = time.perf_counter()
        r = scene.cast_rays(o3d.core.Tensor.from_numpy(rays))
        c = time.perf_counter()
        hits = Hits(
            *hits_in_place(
                r["t_hit"].numpy(),
                r["geometry_ids"].numpy().view(np.int32),
                r["primitive_ids"].numpy().view(np.int32),
                r["primitive_uvs"].numpy(),
                be.static_geoms,
                not be._static_ids_are_indices,
            )
        )
        d = time.perf_counter()
        rasterize(*ray_basis(cam), h, w, snap.vertices, snap.faces, *be._static_tables(snap), work)
        e = time.perf_counter()
        views.append((cam, hits))
        if i > 0:  # the first cast warms the BVH's caches
            for s, v in zip(STAGES[:4], (b - a, c - b, d - c, e - d)):
                times[s].append(v)
    for i in range(1, frames + 1):
        (cam_p, hits_p), (cam, hits), (cam_n, hits_n) = views[i - 1], views[i], views[i + 1]
        surf = surface(hits, snap, cam, raster.instance_lut, raster.semantic_lut, False)  # lazy: no work yet
        a = time.perf_counter()
        flows_and_attributes(
            surf, snap, (snap, cam_n, hits_n), (snap, cam_p, hits_p), raster.moving, hits, raster.snapshots.deforming
        )
        times[STAGES[4]].append(time.perf_counter() - a)
    return times


def gl_renderer() -> str | None:
    """The GL renderer string of the platform worldgen would use (e.g. 'llvmpipe ...' for Mesa's
    software rasterizer, the GPU's name on a GPU), or None when GL does not start here."""
    from worldgen.doctor import GL_PROBE, run_probe

    ok, line = run_probe(GL_PROBE, os.environ.get("WORLDGEN_GL", "egl"))
    return line if ok and line else None


def measure(
    tris_list, sizes, backends, frames: int, repeats: int, stages: bool, other_path: bool = True, log=print
) -> dict:
    renderer = gl_renderer() if "gl" in backends else None
    if "gl" in backends and renderer is None:
        log("gl: no GL context here, left out")
        backends = [b for b in backends if b != "gl"]
    rec = C.start_record(
        "passes", triangles=list(tris_list), sizes=list(sizes), backends=list(backends), frames=frames, repeats=repeats
    )
    rec["gl_platform"] = os.environ.get("WORLDGEN_GL", "egl")
    rec["gl_renderer"] = renderer
    with C.fresh_cache():
        rec["warm_up_s"] = round(C.warm_up(tuple(backends)), 2)
        rows = []
        for n in tris_list:
            for size in sizes:
                spec, world = build(n, size)
                row = {
                    "triangles_asked": n,
                    "triangles": world.triangle_count,
                    "width": spec.render.width,
                    "height": spec.render.height,
                }
                cases = {"raw_cast_rays": lambda: statistics.median(time_raw(spec, world, frames))}
                paths: set = set()
                for b in backends:
                    k = frames if (size < 1024 or b == "raycast") else max(4, frames // 3)
                    cases[b] = lambda b=b, k=k: statistics.median(time_passes(spec, world, b, k, paths=paths))
                if "raycast" in backends and other_path:  # the path the cost model did not take
                    other = "cast" if _chosen(world, size) == "raster" else "raster"
                    row["other_path"] = other
                    cases["raycast_other"] = lambda o=other: statistics.median(
                        time_passes(spec, world, "raycast", frames, primary=o)
                    )
                runs, order = C.alternating(cases, repeats, log=None)
                row["order"] = order
                if paths:
                    row["path"] = "+".join(sorted(p for p in paths if p))
                for name, secs in runs.items():
                    row[f"{name}_ms"] = C.spread([s * 1e3 for s in secs], 3)
                    row[f"{name}_fps"] = C.spread([1 / s for s in secs], 1)
                if "raycast" in runs:  # round by round: both measured under the same load
                    row["raycast_vs_raw"] = C.spread([r / p for r, p in zip(runs["raw_cast_rays"], runs["raycast"])], 3)
                rows.append(row)
                log(
                    f"{row['triangles']:,} triangles, {size}²: "
                    + ", ".join(f"{k[:-4]} {row[k]['median']} fps" for k in row if k.endswith("_fps"))
                )
        rec["passes"] = rows
        if stages:
            spec, world = build(*STAGE_CONFIG)
            rounds = []
            for _ in range(repeats):
                rounds.append({s: statistics.median(v) * 1e3 for s, v in time_stages(spec, world, frames).items()})
            rec["stages"] = {
                "triangles": world.triangle_count,
                "width": spec.render.width,
                "height": spec.render.height,
                "frames": frames,
                "ms": {s: C.spread([r[s] for r in rounds], 3) for s in STAGES},
                "sum_ms": {p: C.spread([sum(r[s] for s in ss) for r in rounds], 3) for p, ss in PATH_STAGES.items()},
                "path": _chosen(world, STAGE_CONFIG[1]),
            }
    return C.finish_record(rec)


def _chosen(world, size: int) -> str:
    """The path the raycast backend's cost model takes for a size x size frame of `world`."""
    from worldgen.passes.raycast import RaycastBackend

    return RaycastBackend(world).primary_path(size, size)


def _f(s: dict | None, digits: int = 1) -> str:
    return "n/a" if s is None else C.fmt(s, digits=digits, count=False)


def markdown(res: dict) -> str:
    backends = [b for b in res["params"]["backends"] if b != "raycast"]
    gl = f"GL via {res['gl_platform']}, renderer: {res['gl_renderer']}" if res.get("gl_renderer") else "GL not measured"
    lines = [
        "# Passes throughput\n",
        C.machine_line(res) + "\n",
        f"{gl}. Frames per second, median of {res['params']['repeats']} rounds (range in brackets); a round is "
        f"the median over {res['params']['frames']} timed frames (1024² GL: a third of them, at least 4). "
        "Cases in rotating order after a warm-up.\n",
    ]
    titles = ["triangles", "size", "raw cast_rays fps"]
    other = any("raycast_other_fps" in r for r in res["passes"])
    if "raycast" in res["params"]["backends"]:
        titles += ["static visibility", "all passes, raycast fps", "raycast / raw"]
        titles += ["other path fps"] if other else []
    titles += [f"all passes, {b} fps" for b in backends]
    lines += ["| " + " | ".join(titles) + " |", "|" + "---:|" * len(titles)]
    for r in res["passes"]:
        cells = [f"{r['triangles']:,}", f"{r['width']}x{r['height']}", _f(r["raw_cast_rays_fps"])]
        if "raycast_fps" in r:
            cells += [r.get("path", "cast"), _f(r["raycast_fps"]), _f(r.get("raycast_vs_raw"), 3)]
            cells += [f"{_f(r.get('raycast_other_fps'))} ({r.get('other_path')})"] if other else []
        cells += [_f(r.get(f"{b}_fps")) for b in backends]
        lines.append("| " + " | ".join(cells) + " |")
    st = res.get("stages")
    if st:
        lines += [
            "",
            f"## Where a frame's time goes (raycast, {st['triangles']:,} triangles, {st['width']}x{st['height']})",
            "",
            f"Milliseconds per frame, median of {res['params']['repeats']} rounds of {st['frames']} frames "
            "(range), each stage timed alone with the calls the rasterizer makes. The static set's primary hits "
            "come either from Open3D's cast of the stored rays plus the conversion of its output, or from the "
            "scan conversion, which rebuilds each ray's bits from the camera's basis and needs no ray array "
            f"(same rays, same hits); the cost model takes the {st['path']} path here. The last stage "
            "is one sweep over the pixels: normals, uv and ids, and both flows, which project every visible "
            "point into the next and the previous frame and test its visibility there.",
            "",
            "| stage | ms / frame |",
            "|---|---:|",
        ]
        for s in STAGES:
            lines.append(f"| {s} | {_f(st['ms'][s], 2)} |")
        for p, v in st["sum_ms"].items():
            lines.append(f"| sum, {p} path | {_f(v, 2)} |")
    return "\n".join(lines) + "\n"


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tris = sorted({r["triangles"] for r in res["passes"]})
    fig, axes = plt.subplots(1, len(tris), figsize=(4 * len(tris), 3.6), sharey=True, squeeze=False)
    keys = ["raw_cast_rays_fps"] + [f"{b}_fps" for b in res["params"]["backends"]]
    for ax, n in zip(axes[0], tris):
        rows = [r for r in res["passes"] if r["triangles"] == n]
        x = np.arange(len(rows))
        width = 0.8 / len(keys)
        for i, k in enumerate(keys):
            med = [r[k]["median"] if k in r else 0 for r in rows]
            lo = [m - r[k]["min"] if k in r else 0 for m, r in zip(med, rows)]
            hi = [r[k]["max"] - m if k in r else 0 for m, r in zip(med, rows)]
            ax.bar(
                x + (i - (len(keys) - 1) / 2) * width,
                med,
                width,
                yerr=[lo, hi],
                capsize=2,
                label=k.replace("_fps", "").replace("_", " "),
            )
        ax.set_xticks(x, [f"{r['width']}²" for r in rows])
        ax.set_title(f"{n:,} triangles")
        ax.set_yscale("log")
    axes[0, 0].set_ylabel("frames / s (median, range)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="256 and 512², 1k and 100k triangles")
    ap.add_argument("--tiny", action="store_true", help="64², 1k triangles, 3 frames (tests)")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=C.REPEATS)
    ap.add_argument("--backends", default=None, help="default: raycast, and gl when a GL context starts here")
    ap.add_argument("--sizes", type=_ints, default=None)
    ap.add_argument("--triangles", type=_ints, default=None)
    ap.add_argument("--no-stages", action="store_true", help="leave out the per-stage breakdown")
    ap.add_argument("--no-other-path", action="store_true", help="do not time the path the cost model did not take")
    ap.add_argument("--out", type=Path, default=C.RESULTS)
    ap.add_argument("--name", default="passes", help="results file stem")
    ap.add_argument("--report-only", action="store_true", help="rewrite the Markdown and plot from the JSON")
    args = ap.parse_args()
    sizes = args.sizes or ([64] if args.tiny else [256, 512] if args.quick else [256, 512, 1024])
    tris = args.triangles or ([1_000] if args.tiny else [1_000, 100_000] if args.quick else [1_000, 100_000, 1_000_000])
    frames = 3 if args.tiny and args.frames == 12 else args.frames
    backends = args.backends.split(",") if args.backends else ["raycast", "gl"]
    if args.report_only:
        res = C.json.loads((args.out / f"{args.name}.json").read_text())
    else:
        res = measure(
            tris,
            sizes,
            backends,
            frames,
            args.repeats,
            stages=not (args.no_stages or args.tiny),
            other_path=not args.no_other_path,
        )
        C.write_json(res, args.out / f"{args.name}.json")
    (args.out / f"{args.name}.md").write_text(markdown(res))
    plot(res, args.out / f"{args.name}.png")
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
