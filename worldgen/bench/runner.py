"""`worldgen bench`: render each scene with each painting method (or read finished renders) and
measure how consistent the frames are, against the exact answers the world's passes give.

Why this shape:

* Frames stream. A 30 s shot at 512x288 is ~4 GB of passes, so a shot is evaluated frame by
  frame with a window of the last k_max + 1 frames, never loaded whole.
* Rendering is mostly one core, so while a method renders, a second process evaluates each
  frame as soon as its files land (`BenchOptions.follow`, worldgen.bench.follower).
* A method that cannot run here (no such painter, no model) is reported as "unavailable" and
  the run goes on; only the user's own mistakes (a missing file, an unknown method name) stop it.

This module orchestrates; the jobs live next to it: options (BenchOptions), inputs (specs,
folders, the suite, methods), evaluate (the per-shot metrics), follower (the second process),
cost (seconds, model evaluations, memory) and results (rows, summaries, means).

`run_bench(inputs, methods, out_dir, options)` returns the results dict that `report.py` writes
out (results.json, Markdown, plots, HTML). The metrics are those of `worldgen.bench.metrics`
(docs/METRICS.md); what each result field means is in docs/BENCHMARK.md.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Sequence

from worldgen.bench import shotdrift_judge
from worldgen.bench.cost import PeakRss, render_cost
from worldgen.bench.evaluate import EvalConfig, ShotEval, evaluate_shot, evaluate_shots, read_frame
from worldgen.bench.follower import Follower
from worldgen.bench.inputs import (
    SceneInput,
    cameras_of_render,
    check_methods,
    collect_inputs,
    no_model,
    painter_class,
    plans_for_render,
    plans_from_manifest,
    read_manifest,
    suite_specs,
    unavailable_reason,
)
from worldgen.bench.options import BENCH_METHODS, COST_FILE, RESULTS_VERSION, BenchError, BenchOptions
from worldgen.bench.results import identity_drift_rows, options_record, overall, shot_result, static_camera, summarize
from worldgen.errors import WorldgenError

# what scripts and docs import from here (the jobs' own modules are the homes)
__all__ = [
    "BENCH_METHODS",
    "BenchError",
    "BenchOptions",
    "EvalConfig",
    "ShotEval",
    "bench_scene_method",
    "check_methods",
    "collect_inputs",
    "evaluate_shot",
    "evaluate_shots",
    "overall",
    "painter_options_for",
    "plans_for_render",
    "plans_from_manifest",
    "read_frame",
    "run_bench",
    "static_camera",
    "suite_specs",
]


def _log(options: BenchOptions, text: str) -> None:
    if options.log:
        options.log(text)


def painter_options_for(method: str, options: BenchOptions, folder: Path | None = None) -> dict:
    """Options for a method's painter: none for one that takes no model (procedural: its class
    says `needs_model = False`); for diffusion painters `--model` is the base model, and a model
    folder's `controlnet-<kind>/` sub-folders (how the tiny test models are laid out) are its
    ControlNets unless some were given. Methods that paint textures once (look development, a
    class that says `uses_textures`) get a texture cache of their own inside their
    render folder, so each one's cost includes its look development instead of reusing another
    method's (`cache` in the painter options overrides)."""
    from worldgen.spec.painters import merge_painter_options

    if no_model(method):
        return {}
    defaults: dict = {}
    cls = painter_class(method)
    if cls is not None and cls.uses_textures and folder is not None:
        defaults["cache"] = str(folder / "texture-cache")
    if options.model:
        defaults["base"] = options.model
        model = Path(options.model)
        if model.is_dir():
            defaults["controlnets"] = {
                p.name.removeprefix("controlnet-"): str(p)
                for p in sorted(model.glob("controlnet-*"))
                if (p / "config.json").is_file()
            } or None
    return merge_painter_options(defaults, options.painter_options)


def _render_method(scene: SceneInput, method: str, folder: Path, options: BenchOptions, cfg: EvalConfig):
    """Render `scene` with `method` into `folder` (resuming what is there) while evaluating;
    returns (manifest, shot evals, rendered-cost dict)."""
    from worldgen.render import RUN_FILE, RenderOptions, render
    from worldgen.render.record import holds_other_render

    if options.fresh and (folder / RUN_FILE).exists():
        shutil.rmtree(folder)
    opt = RenderOptions(
        backend=options.backend,
        fmt="npz",
        passes=True,
        paint=True,
        control=(),
        film=False,
        overwrite=True,
        progress=options.progress,
        painter=method,
        painter_options=painter_options_for(method, options, folder),
    )
    if hasattr(opt, "use_store"):  # a cost benchmark computes its frames; never links finished ones
        opt.use_store = False
    if holds_other_render(folder, scene.spec, opt):
        shutil.rmtree(folder)  # render would clear it too, but only after the follower read stale frames
    plans = plans_for_render(scene.spec, folder, opt.fmt)
    # a half-finished folder may get frames repainted (painters that carry state from frame to
    # frame redo a whole shot), so only a fresh or a finished one is read while rendering
    present = [os.path.exists(f) and os.path.exists(q) for p in plans for f, q in zip(p.frames, p.passes)]
    follower = Follower(plans, cfg) if options.follow and (all(present) or not any(present)) else None
    cpu0 = time.process_time()
    try:
        with PeakRss() as rss:
            result = render(scene.spec, folder, opt)
    except BaseException:
        if follower:
            follower.cancel()
        run_marker = folder / RUN_FILE
        if run_marker.exists() and not (folder / "shots").exists() and len(list(folder.iterdir())) == 1:
            shutil.rmtree(folder)  # nothing but our own marker: leave no empty render behind
        raise
    manifest = result.manifest
    rendered = {
        "frames_rendered": result.frames_rendered,
        "render_s": result.timings.get("frames_s"),
        "render_cpu_s": round(time.process_time() - cpu0, 3),
        "peak_rss_bytes": rss.peak,
        "source": "this run",
    }
    total = sum(s["frame_count"] for s in manifest["shots"])
    cost_file = folder / COST_FILE
    if result.frames_rendered == total:
        from worldgen.io import write_json

        write_json(cost_file, {"rendered": rendered, "painter_stats": manifest.get("painter_stats")})
    elif result.frames_rendered == 0 and cost_file.exists():
        stored = json.loads(cost_file.read_text())
        rendered = stored["rendered"] | {"source": "earlier run (resumed)"}
        if stored.get("painter_stats"):
            manifest = manifest | {"painter_stats": stored["painter_stats"]}
    final_plans = plans_from_manifest(folder, manifest, {s.id: s.camera.model_dump() for s in scene.spec.shots})
    same = [(p.id, p.frames, p.passes) for p in plans] == [(p.id, p.frames, p.passes) for p in final_plans]
    evals = None
    if follower is not None and same:
        try:
            evals = follower.result()
        except RuntimeError as e:  # evaluate here instead; the numbers are the same
            _log(options, f"{scene.name} / {method}: {e}; evaluating in this process instead")
    elif follower is not None:
        follower.cancel()
    if evals is None:
        evals = evaluate_shots(final_plans, cfg)
    return manifest, evals, rendered


def _method_result(
    method: str, folder: Path, manifest: dict, evals: list[ShotEval], rendered: dict | None, options: BenchOptions
) -> dict:
    names = {v: k for k, v in (manifest.get("instances") or {}).items()}
    shots = [shot_result(ev, ms) for ev, ms in zip(evals, manifest["shots"], strict=True)]
    drift = identity_drift_rows(evals, names)
    total = sum(s["frame_count"] for s in manifest["shots"])
    cost = render_cost(method, manifest, total, rendered)
    cost["metrics_s"] = round(sum(ev.seconds for ev in evals), 3)  # wall, waits for frames included
    cost["metrics_cpu_s"] = round(sum(ev.cpu_seconds for ev in evals), 3)
    return {
        "status": "ok",
        "render_dir": str(folder),
        "painter": manifest.get("painter"),
        "width": manifest.get("width"),
        "height": manifest.get("height"),
        "fps": manifest.get("fps"),
        "shots": shots,
        "identity_drift": drift,
        "cost": cost,
        "summary": summarize(shots, drift, cost, options.ks),
    }


def _eval_config(options: BenchOptions, shot_count: int) -> EvalConfig:
    if any(k < 1 for k in options.ks):
        raise BenchError("warping error distances k must be >= 1")
    if options.structure_every < 1 or (options.long_range_every is not None and options.long_range_every < 1):
        raise BenchError("--structure-every / --long-range-every must be >= 1")
    return EvalConfig(
        tuple(options.ks),
        options.long_range_every,
        options.structure_every,
        options.tex_res,
        options.tol_px,
        textures=shot_count > 1,
        judge_camera=options.judge_camera,
    )


def bench_scene_method(scene: SceneInput, method: str, renders_dir: Path, options: BenchOptions) -> dict:
    """Results of one method on one scene; an unavailable painter or a failed render becomes a
    status line instead of an exception."""
    from worldgen.paint.registry import PainterError

    t0 = time.perf_counter()
    if scene.spec is not None:
        reason = unavailable_reason(method)
        if reason:
            return {"status": "unavailable", "reason": reason}
        folder = renders_dir / scene.name / method
        cfg = _eval_config(options, len(scene.spec.shots))
        try:
            manifest, evals, rendered = _render_method(scene, method, folder, options, cfg)
        except PainterError as e:
            return {"status": "unavailable", "reason": str(e)}
        except WorldgenError as e:
            return {"status": "failed", "reason": str(e)}
        except Exception as e:  # noqa: BLE001 - one method's crash must not lose the others' results
            return {"status": "failed", "reason": f"internal error: {type(e).__name__}: {e}"}
    else:
        folder = Path(scene.dirs[method])
        manifest = read_manifest(folder)
        cfg = _eval_config(options, len(manifest["shots"]))
        evals = evaluate_shots(plans_from_manifest(folder, manifest, cameras_of_render(folder)), cfg)
        rendered = None
        if (folder / COST_FILE).exists():
            rendered = json.loads((folder / COST_FILE).read_text())["rendered"] | {"source": "earlier bench run"}
        elif manifest.get("painter_stats"):
            rendered = {"source": "manifest"}
    elapsed = time.perf_counter() - t0
    render_s = (rendered or {}).get("render_s") if scene.spec is not None else 0.0
    out = _method_result(method, folder, manifest, evals, rendered, options)
    out["wall_s"] = round(elapsed, 3)
    _log(
        options,
        f"{scene.name} / {method}: {out['cost']['frames']} frames, "
        f"E_warp(1) {_fmt(out['summary'].get('warp_1'))}, wall {elapsed:.1f} s"
        + (f" (render {render_s:.1f} s)" if render_s else ""),
    )
    return out


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def run_bench(
    specs_or_dirs: Sequence[str | Path],
    methods: Sequence[str] | None,
    out_dir: str | Path,
    options: BenchOptions | None = None,
) -> dict:
    """Benchmark every scene with every method and return the results (also written to
    `out_dir` as results.json, results.md, plots and index.html unless options.report is off).
    Renders go to out_dir/renders/<scene>/<method>/ and resume on a re-run."""
    options = options or BenchOptions()
    t0 = time.perf_counter()
    _eval_config(options, 1)  # bad settings fail before any work
    films = [Path(p) for p in specs_or_dirs if _is_film_file(Path(p))]  # format 2: the continuity section
    others = [p for p in specs_or_dirs if Path(p) not in films]
    scenes_in = collect_inputs(others, options) if others or not films else []
    wanted = check_methods(methods if methods is not None else BENCH_METHODS)
    shotdrift_ok, shotdrift_note = shotdrift_judge.availability()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    renders = out / "renders"
    all_methods: list[str] = []
    scenes = []
    for scene in scenes_in:
        methods_here = wanted if scene.spec is not None else list(scene.dirs)
        entry = {"scene": scene.name, "source": scene.source, "methods": {}}
        if scene.spec is not None:
            r = scene.spec.render
            entry |= {
                "title": scene.spec.title,
                "width": r.width,
                "height": r.height,
                "fps": r.fps,
                "shots": [
                    {"id": s.id, "duration": s.duration, "camera_move": s.camera.move or "keyframes"}
                    for s in scene.spec.shots
                ],
            }
        for method in methods_here:
            if method not in all_methods:
                all_methods.append(method)
            result = bench_scene_method(scene, method, renders, options)
            if result["status"] != "ok":
                _log(options, f"{scene.name} / {method}: {result['status']}: {result['reason']}")
            entry["methods"][method] = result
            if "title" not in entry and result["status"] == "ok":
                manifest = read_manifest(Path(result["render_dir"]))
                entry |= {
                    "title": manifest.get("title"),
                    "width": result["width"],
                    "height": result["height"],
                    "fps": result["fps"],
                    "shots": [
                        {
                            "id": s["id"],
                            "duration": s["duration"],
                            "camera_move": (
                                cameras_of_render(Path(result["render_dir"])).get(s["id"], {}).get("move")
                                or "keyframes"
                            ),
                        }
                        for s in manifest["shots"]
                    ],
                }
        scenes.append(entry)
    from worldgen.render.record import machine_info

    results = {
        "results_version": RESULTS_VERSION,
        "worldgen": _worldgen_version(),
        "machine": machine_info(),
        "options": options_record(options),
        "methods": all_methods,
        "shotdrift": {"available": shotdrift_ok, "note": shotdrift_note},
        "scenes": scenes,
        "overall": overall(scenes, all_methods, options.ks),
    }
    if films:
        from worldgen.spec.film_loader import load_film

        results["continuity"] = [_film_continuity(load_film(p), wanted, options) for p in films]
    results["wall_s"] = round(time.perf_counter() - t0, 3)
    if options.report:
        from worldgen.bench.report import write_report

        write_report(results, out, video=options.video)  # adds results["files"]; results.json last
    return results


def _film_continuity(film, methods: Sequence[str], options: BenchOptions) -> dict:
    """A film's continuity report (with its own painter), and the pixel measure of every
    benchmarked method that paints pixels (the per-frame baselines: worldgen.bench.reprojection),
    each with the procedural lighting floor; a method that cannot run here says why."""
    from worldgen.bench.continuity import continuity, paints_surfaces
    from worldgen.bench.reprojection import film_texels, measure

    report = continuity(film).as_dict()
    extra: list[dict] = []
    floor = None  # the procedural painter's texels: every method's lighting floor, painted once
    for method in methods:
        if paints_surfaces(method) or method == report["painter"]:
            continue
        floor = floor if floor is not None else film_texels(film, "procedural")
        try:
            extra.append(measure(film, method, painter_options_for(method, options), reference=floor))
        except WorldgenError as e:
            extra.append({"painter": method, "error": str(e).splitlines()[0]})
            _log(options, f"continuity / {method}: {e}")
    if extra:
        report["pixel_methods"] = extra
    return report


def _is_film_file(path: Path) -> bool:
    """A film spec (format 2): the bench reports its continuity (its scenes are not rendered here)."""
    from worldgen.spec.film_loader import is_film_text

    if not path.is_file() or path.suffix.lower() not in (".yaml", ".yml", ".json"):
        return False
    try:
        return is_film_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def _worldgen_version() -> str:
    from worldgen import __version__

    return __version__
