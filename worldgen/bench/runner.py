"""`worldgen bench`: render each scene with each painting method (or read finished renders) and
measure how consistent the frames are, against the exact answers the world's passes give.

Why this shape:

* Frames stream. A 30 s shot at 512x288 is ~4 GB of passes, so a shot is evaluated frame by
  frame with a window of the last k_max + 1 frames, never loaded whole.
* Rendering is mostly one core, so while a method renders, a second process evaluates each
  frame as soon as its files land (`BenchOptions.follow`). Renders write every file atomically
  and in order, in the layout docs/MANIFEST.md documents, so a file that exists is whole.
* A method that cannot run here (no such painter, no model) is reported as "unavailable" and
  the run goes on; only the user's own mistakes (a missing file, an unknown method name) stop it.

`run_bench(inputs, methods, out_dir, options)` returns the results dict that `report.py` writes
out (results.json, Markdown, plots, HTML). The metrics are those of `worldgen.bench.metrics`
(docs/METRICS.md); what each result field means is in docs/BENCHMARK.md.
"""
from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from worldgen.bench import metrics as M
from worldgen.bench import shotdrift_judge
from worldgen.errors import WorldgenError
from worldgen.io import read_passes

# the painting methods, run by default; anything else must be a painter registered here
BENCH_METHODS = ("procedural", "per-frame", "fixed-seed", "anchored-noise", "baked", "baked+refine")
WARP_KS = (1, 5, 10)
RESULTS_VERSION = 1
COST_FILE = "bench-cost.json"  # cost of the render that made a folder, kept for resumed runs
SUITE_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "suite"


class BenchError(WorldgenError):
    """A bench input that needs fixing (a missing file, an unknown method, a bad size)."""


@dataclass
class BenchOptions:
    """How to run the benchmark. Defaults measure everything at the specs' own settings."""
    size: tuple[int, int] | None = None  # render width, height instead of the specs' own
    fps: float | None = None  # frames per second instead of the specs' own
    model: str | None = None  # diffusion painters: a model folder, hub id or tiny-model dir
    painter_options: dict = field(default_factory=dict)  # more options for diffusion painters
    backend: str | None = None  # rasterizer backend (default: the spec's)
    ks: tuple[int, ...] = WARP_KS  # warping-error frame distances
    long_range_every: int | None = None  # a k > 1 chain starts every this many frames; None = every k
    structure_every: int = 1  # edge F1 on every n-th frame
    tex_res: int = 64  # identity drift texture resolution
    tol_px: float = 2.0  # edge F1 tolerance
    judge_camera: bool = True  # camera-move adherence through shotdrift
    follow: bool = True  # evaluate in a second process while the frames render
    fresh: bool = False  # delete earlier renders first (a resumed render has no cost figure)
    progress: bool = False  # the render's progress bar
    report: bool = True  # write results.json, Markdown, plots and HTML into out_dir
    video: bool = True  # side-by-side MP4 per scene in the report
    log: Callable[[str], None] | None = None  # one line per step, e.g. print


# ---------------------------------------------------------------- what one shot's evaluation needs

@dataclass
class ShotPlan:
    """Where one shot's files are and what its camera was asked to do (picklable)."""
    id: str
    frames: list[str]  # painted frames, absolute paths, in order
    passes: list[str]  # pass files, same order
    camera: dict  # the spec's camera of this shot
    fps: float


@dataclass
class EvalConfig:
    ks: tuple[int, ...] = WARP_KS
    long_range_every: int | None = None
    structure_every: int = 1
    tex_res: int = 64
    tol_px: float = 2.0
    textures: bool = False  # accumulate uv textures (only when shots can be paired)
    judge_camera: bool = True

    def every(self, k: int) -> int:
        """Start frames of k-chains are this far apart: every frame for k = 1, else every
        `long_range_every` (default k: chains that tile the shot without overlapping)."""
        if k == 1:
            return 1
        return max(1, self.long_range_every or k)


@dataclass
class ShotEval:
    """Metrics of one shot, before they are assembled into results."""
    id: str
    frames: int
    warp: dict  # k -> metrics.WarpingError
    warp_every: dict  # k -> start spacing
    flicker: float | None  # VBench score over the still pixels of consecutive pairs (kept only for static shots)
    structure: list  # (frame index, metrics.StructureF1)
    camera: dict  # shotdrift_judge.judge output
    textures: dict | None  # instance -> (colour sum (R, R, 3), counts (R, R))
    seconds: float  # wall time, including any wait for frames still rendering
    cpu_seconds: float  # CPU time of the evaluating process
    still_share: float | None = None  # mean share of pixels still between consecutive frames (exact passes)
    moving_share_max: float | None = None  # largest share of pixels that moved between two frames


def read_frame(path: str | Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class _Slot:
    __slots__ = ("index", "frame", "flow", "occlusion", "depth")

    def __init__(self, index, frame, flow, occlusion, depth=None):
        self.index, self.frame, self.flow, self.occlusion, self.depth = index, frame, flow, occlusion, depth


def _accumulate_textures(acc: dict, frame: np.ndarray, instance: np.ndarray, uv: np.ndarray, tex_res: int) -> None:
    """Add one frame to each instance's uv texture (colour sums and counts). Pixels are grouped
    by instance once, so the cost is one pass over the frame however many objects it shows."""
    ids = instance.ravel()
    picked = np.flatnonzero(ids != 0)
    if picked.size == 0:
        return
    picked = picked[np.argsort(ids[picked], kind="stable")]
    values, starts = np.unique(ids[picked], return_index=True)
    ends = np.append(starts[1:], picked.size)
    rgb, uvs = frame.reshape(-1, frame.shape[-1]), uv.reshape(-1, 2)
    for value, a, b in zip(values, starts, ends):
        sel = picked[a:b]
        one_row = ([rgb[sel][None]], [(np.full((1, b - a), value), uvs[sel][None])])
        tex = M.uv_texture(one_row, int(value), tex_res)
        colour_sum, counts = acc.setdefault(int(value), (np.zeros((tex_res, tex_res, 3)),
                                                         np.zeros((tex_res, tex_res), np.int64)))
        colour_sum += tex.colour * tex.counts[..., None]
        counts += tex.counts


def texture_of(colour_sum: np.ndarray, counts: np.ndarray) -> M.UvTexture:
    return M.UvTexture(colour_sum / np.maximum(counts, 1)[..., None], counts)


def evaluate_shot(plan: ShotPlan, cfg: EvalConfig, wait: Callable | None = None) -> ShotEval:
    """Every per-shot metric in one pass over the frames; `wait(paths)` blocks until files exist
    (used while they are still rendering)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    ks = tuple(sorted(set(cfg.ks)))
    window: deque = deque(maxlen=max(ks) + 1)
    warp = {k: ([], [], [], []) for k in ks}  # values, starts, pixels, skipped
    flicker, structure, small, shares = [], [], [], []
    textures = {} if cfg.textures else None
    for i, (frame_path, passes_path) in enumerate(zip(plan.frames, plan.passes, strict=True)):
        if wait is not None:
            wait((frame_path, passes_path))
        frame = read_frame(frame_path)
        passes = read_passes(Path(passes_path))
        window.append(_Slot(i, frame, passes["flow_fwd"], passes["occlusion_fwd"], passes["depth"]))
        for k in ks:
            start = i - k
            if start < 0 or start % cfg.every(k):
                continue
            chain = list(window)[-(k + 1):]
            flow, visible = M.compose_forward_flow([s.flow for s in chain[:-1]], [s.occlusion for s in chain[:-1]])
            error, count = M.pair_warping_error(chain[0].frame, frame, flow, visible)
            values, starts, pixels, skipped = warp[k]
            if error is None:
                skipped.append(start)
            else:
                values.append(error), starts.append(start), pixels.append(count)
        if len(window) > 1:
            prev = window[-2]
            still = M.still_pixels(prev.flow, prev.occlusion, prev.depth, passes["depth"])
            shares.append(float(still.mean()))
            flicker.append(M.pair_flicker(prev.frame, frame, still))
        if i % cfg.structure_every == 0:
            structure.append((i, M.structure_f1(frame, passes["depth"], passes["normal"], passes["instance"],
                                                tol_px=cfg.tol_px)))
        if textures is not None:
            _accumulate_textures(textures, frame, passes["instance"], passes["uv"], cfg.tex_res)
        if cfg.judge_camera:
            small.append(shotdrift_judge.analysis_frame(frame))
    errors = {}
    for k, (values, starts, pixels, skipped) in warp.items():
        mean = float(np.mean(values)) if values else float("nan")
        errors[k] = M.WarpingError(k, np.asarray(values, np.float64), np.asarray(starts, np.int64),
                                   np.asarray(pixels, np.int64), tuple(skipped), mean)
    # VBench's score from the pair differences over still pixels (pairs with none are skipped)
    diffs = [d for d in flicker if d is not None]
    score = float((255.0 - np.mean(diffs)) / 255.0) if diffs else None
    moving = 1.0 - min(shares) if shares else None
    camera = shotdrift_judge.judge(small, plan.camera, plan.fps, moving_share=moving) if cfg.judge_camera else \
        {"verdict": shotdrift_judge.NOT_JUDGED, "detail": "camera judging switched off", "expect": None}
    return ShotEval(plan.id, len(plan.frames), errors, {k: cfg.every(k) for k in ks}, score, structure, camera,
                    textures, time.perf_counter() - t0, time.process_time() - cpu0,
                    float(np.mean(shares)) if shares else None, moving)


def evaluate_shots(plans: Sequence[ShotPlan], cfg: EvalConfig, wait: Callable | None = None) -> list[ShotEval]:
    return [evaluate_shot(p, cfg, wait) for p in plans]


# ---------------------------------------------------------------- evaluating while the frames render

class _Aborted(Exception):
    pass


class _FileWaiter:
    """Blocks until files exist; gives up when the render failed (an `abort` file appears) or
    finished (a `done` file appears) without writing them."""

    def __init__(self, signals: Path, poll_s: float = 0.02):
        self.done, self.abort, self.poll_s = signals / "done", signals / "abort", poll_s
        self.parent = os.getppid()  # if the parent dies, this process is re-parented: stop

    def __call__(self, paths) -> None:
        while True:
            if all(os.path.exists(p) for p in paths):
                return
            if self.abort.exists() or os.getppid() != self.parent:
                raise _Aborted()
            if self.done.exists():
                missing = [p for p in paths if not os.path.exists(p)]
                if missing:
                    raise FileNotFoundError(f"{missing[0]}: not written by the render")
            time.sleep(self.poll_s)


def follow_main() -> None:
    """Entry point of the metrics process: `python -c "...follow_main()" SIGNAL_DIR`. Reads the
    job (plans, config) from SIGNAL_DIR/job.pkl, evaluates frames as they land and writes
    (status, payload) to SIGNAL_DIR/result.pkl."""
    import pickle
    signals = Path(sys.argv[1])
    plans, cfg = pickle.loads((signals / "job.pkl").read_bytes())
    try:
        result = ("ok", evaluate_shots(plans, cfg, _FileWaiter(signals)))
    except _Aborted:
        result = ("aborted", None)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which decides
        result = ("error", f"{type(e).__name__}: {e}")
    tmp = signals / "result.pkl.tmp"
    tmp.write_bytes(pickle.dumps(result))
    tmp.replace(signals / "result.pkl")


class _Follower:
    """Evaluates a render's frames in a second Python process while the render runs.

    A plain subprocess (not multiprocessing) on purpose: spawned multiprocessing children
    re-import the caller's main script, which breaks any script that calls run_bench without
    an `if __name__ == "__main__"` guard; fork would copy a process full of ray-casting threads.
    The two sides talk through files in a private temporary folder."""

    def __init__(self, plans, cfg):
        import pickle
        import subprocess
        import tempfile
        self.signals = Path(tempfile.mkdtemp(prefix="worldgen-bench-"))
        (self.signals / "job.pkl").write_bytes(pickle.dumps((plans, cfg)))
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from worldgen.bench.runner import follow_main; follow_main()", str(self.signals)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)

    def _finish(self, signal: str, timeout: float | None) -> None:
        (self.signals / signal).touch()
        try:
            self.process.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - a stuck helper is killed, never waited on forever
            self.process.kill()
            self.process.wait()

    def cancel(self) -> None:
        self._finish("abort", 30)
        shutil.rmtree(self.signals, ignore_errors=True)

    def result(self) -> list[ShotEval]:
        """The evaluations, once the helper has caught up with the finished render."""
        import pickle
        self._finish("done", None)
        try:
            status, payload = pickle.loads((self.signals / "result.pkl").read_bytes())
        except OSError:
            status, payload = "error", f"the metrics process stopped (exit code {self.process.returncode})"
        finally:
            shutil.rmtree(self.signals, ignore_errors=True)
        if status != "ok":
            raise RuntimeError(f"metrics while rendering: {payload}")
        return payload


# ---------------------------------------------------------------- inputs: specs and rendered folders

@dataclass
class SceneInput:
    """One scene of the benchmark: a spec to render with each method, or finished renders."""
    name: str
    source: str
    spec: object | None = None  # a worldgen Spec when the scene is rendered here
    dirs: dict = field(default_factory=dict)  # method -> finished render folder


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_" else "_" for c in text.strip().lower())
    return out.strip("_") or "scene"


def _read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        raise BenchError(f"{folder}: not a worldgen render (no manifest.json) and not a spec file")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise BenchError(f"{path}: cannot be read ({e})") from None
    shots = manifest.get("shots") or []
    if not shots or not all(fr.get("frame") and fr.get("passes") for s in shots for fr in s.get("frames", [])):
        raise BenchError(f"{folder}: a render without painted frames and passes (render it with `worldgen render`)")
    return manifest


def _resized(spec, size: tuple[int, int] | None, fps: float | None):
    """The spec with other render settings; the loader's private context (base folder for
    mesh paths, YAML lines) is carried over."""
    if size is None and fps is None:
        return spec
    from pydantic import ValidationError

    from worldgen.spec.models import RenderSettings
    settings = spec.render.model_dump()
    if size is not None:
        settings["width"], settings["height"] = size
    if fps is not None:
        settings["fps"] = fps
    try:
        render = RenderSettings(**settings)
    except ValidationError as e:
        err = e.errors()[0]
        raise BenchError(f"--size/--fps: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    new = spec.model_copy(update={"render": render})
    for attr in ("_located", "_base_dir"):
        if hasattr(spec, attr):
            object.__setattr__(new, attr, getattr(spec, attr))
    return new


def collect_inputs(items: Sequence[str | Path], options: BenchOptions) -> list[SceneInput]:
    """Specs (YAML) become scenes to render; rendered folders are grouped into scenes by title,
    each folder one method (its manifest's painter). No items: the built-in suite."""
    from worldgen.spec import load_spec
    from worldgen.world_checks import check_geometry
    from worldgen.world import World
    paths = [Path(p) for p in items] or suite_specs()
    scenes: dict[str, SceneInput] = {}
    for path in paths:
        if not path.exists():
            raise BenchError(f"{path}: no such file or folder")
        if path.is_dir():
            manifest = _read_manifest(path)
            name = _slug(manifest.get("title") or path.name)
            scene = scenes.setdefault(name, SceneInput(name, str(path)))
            if scene.spec is not None:
                name = f"{name}_renders"
                scene = scenes.setdefault(name, SceneInput(name, str(path)))
            method = manifest.get("painter") or path.name
            if method in scene.dirs:
                method = f"{method} ({path.name})"
            scene.dirs[method] = path
            continue
        spec = load_spec(path)
        check_geometry(spec, World(spec))
        name = _slug(path.stem)
        while name in scenes:
            name += "_2"
        scenes[name] = SceneInput(name, str(path), spec=_resized(spec, options.size, options.fps))
    return list(scenes.values())


def suite_specs() -> list[Path]:
    """The built-in suite: benchmarks/suite/*.yaml of a worldgen checkout."""
    found = sorted(SUITE_DIR.glob("*.yaml"))
    if not found:
        raise BenchError(f"no SPEC given and the built-in suite ({SUITE_DIR}) is not here; "
                         "give spec files or render folders")
    return found


def check_methods(methods: Sequence[str]) -> list[str]:
    """Method names, checked: the issue's methods are always accepted (reported "unavailable"
    where they cannot run); any other must be a painter registered here."""
    from worldgen.paint import registry
    painters = registry.names()
    out = []
    for m in methods:
        m = m.strip()
        if not m:
            continue
        if m not in BENCH_METHODS and m not in painters:
            known = sorted(set(BENCH_METHODS) | set(painters))
            import difflib
            close = difflib.get_close_matches(m, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (methods: {', '.join(known)})"
            raise BenchError(f"--methods: no method '{m}'{hint}")
        if m not in out:
            out.append(m)
    if not out:
        raise BenchError("--methods: give at least one method")
    return out


def _unavailable_reason(method: str) -> str | None:
    from worldgen.paint import registry
    return registry.unavailable_reason(method)


def _painter_class(method: str):
    """The class of a method's painter, whose attributes (worldgen.paint.base.Painter) say
    whether it takes a model and paints textures; None when that is not known here (no such
    painter, one that cannot load, or a plugin's plain factory)."""
    from worldgen.paint import registry
    try:
        return registry.painter_class(method)
    except registry.PainterError:
        return None


def _no_model(method: str) -> bool:
    cls = _painter_class(method)
    return cls is not None and not cls.needs_model


# ---------------------------------------------------------------- plans from manifests and specs

def plans_from_manifest(folder: Path, manifest: dict, cameras: dict) -> list[ShotPlan]:
    fps = float(manifest.get("fps") or 0)
    return [ShotPlan(s["id"], [str(folder / fr["frame"]) for fr in s["frames"]],
                     [str(folder / fr["passes"]) for fr in s["frames"]], cameras.get(s["id"], {}), fps)
            for s in manifest["shots"]]


def plans_for_render(spec, folder: Path, fmt: str = "npz") -> list[ShotPlan]:
    """Where `render` will write each frame (the layout in docs/MANIFEST.md), so frames can be
    evaluated as they land; checked against the manifest afterwards."""
    from worldgen.camera import frame_count
    fps = spec.render.fps
    plans = []
    for shot in spec.shots:
        n = frame_count(shot, fps)
        base = folder / "shots" / shot.id
        plans.append(ShotPlan(shot.id, [str(base / "frames" / f"{i:06d}.png") for i in range(n)],
                              [str(base / "passes" / f"{i:06d}.{fmt}") for i in range(n)],
                              shot.camera.model_dump(), float(fps)))
    return plans


def _cameras_of_render(folder: Path) -> dict:
    """shot id -> camera dict, from the render's spec.resolved.json (empty if unreadable)."""
    try:
        spec = json.loads((folder / "spec.resolved.json").read_text())
        return {s["id"]: s.get("camera") or {} for s in spec.get("shots", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


# ---------------------------------------------------------------- cost

class _PeakRss:
    """Samples this process's resident memory while a render runs (the peak of one method,
    which the process-wide high-water mark cannot give after an earlier method)."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s, self.peak, self._stop = interval_s, 0, threading.Event()

    def __enter__(self):
        import psutil
        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def _cost(method: str, manifest: dict, frames_total: int, rendered: dict | None) -> dict:
    """Seconds per frame (of this run's render, when it rendered), UNet/ControlNet evaluations
    per frame and per film second (from the manifest's painter_stats; procedural paints with
    none), peak memory (the painter's own figure when it gives one, else sampled RSS)."""
    fps = float(manifest.get("fps") or 0)
    stats = manifest.get("painter_stats") or {}
    rendered = rendered or {}
    painted = rendered.get("frames_rendered") or 0
    cost = {"frames": frames_total, "frames_rendered": painted, "render_s": rendered.get("render_s"),
            "render_cpu_s": rendered.get("render_cpu_s"),
            "seconds_per_frame": rendered["render_s"] / painted if painted and rendered.get("render_s") else None,
            "unet_evals": stats.get("unet_evals"), "controlnet_evals": stats.get("controlnet_evals"),
            "painter_peak_memory_bytes": stats.get("peak_memory_bytes"),
            "peak_rss_bytes": rendered.get("peak_rss_bytes"), "painter_stats": stats or None}
    if _no_model(manifest.get("painter") or method) and cost["unet_evals"] is None:
        cost["unet_evals"], cost["controlnet_evals"] = 0, 0
    per = painted or (frames_total if rendered.get("source") == "manifest" else 0)
    for key in ("unet", "controlnet"):
        evals = cost[f"{key}_evals"]
        per_frame = evals / per if evals is not None and per else (0.0 if evals == 0 else None)
        cost[f"{key}_per_frame"] = per_frame
        cost[f"{key}_per_film_second"] = per_frame * fps if per_frame is not None and fps else None
    peak = cost["painter_peak_memory_bytes"] or cost["peak_rss_bytes"]
    cost["peak_memory_bytes"] = peak
    cost["peak_memory_source"] = ("painter_stats" if cost["painter_peak_memory_bytes"]
                                  else "sampled process RSS during the render" if peak else None)
    return cost


# ---------------------------------------------------------------- assembling results

def _finite(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def static_camera(frames: list[dict]) -> bool:
    """A shot whose camera never moves: every frame has the same world_to_camera and K (a zoom
    changes K alone, and is not static)."""
    first = frames[0]
    return all(fr["world_to_camera"] == first["world_to_camera"] and fr["K"] == first["K"] for fr in frames)


def _shot_result(ev: ShotEval, manifest_shot: dict) -> dict:
    static = static_camera(manifest_shot["frames"])
    warp = {}
    for k, err in ev.warp.items():
        warp[str(k)] = {"mean": _finite(err.mean), "pairs": int(err.per_pair.size), "every": ev.warp_every[k],
                        "skipped": list(err.skipped), "per_pair": [float(v) for v in err.per_pair],
                        "starts": [int(v) for v in err.starts]}
    f1s = [s for _, s in ev.structure]
    structure = {"precision": float(np.mean([s.precision for s in f1s])) if f1s else None,
                 "recall": float(np.mean([s.recall for s in f1s])) if f1s else None,
                 "f1": float(np.mean([s.f1 for s in f1s])) if f1s else None,
                 "frames_evaluated": len(f1s), "per_frame_f1": [float(s.f1) for s in f1s],
                 "frame_indices": [int(i) for i, _ in ev.structure]}
    camera = ev.camera
    if camera.get("expect") == "static" and not static:  # e.g. static with a moving target: it turns to follow
        camera = camera | {"expect": None, "verdict": shotdrift_judge.NOT_JUDGED,
                           "detail": "the camera stands still but turns to follow its target; no single 2D move"}
    return {"id": ev.id, "frames": ev.frames, "static_camera": static,
            "flicker": ev.flicker if static else None,
            "flicker_note": ("computed on the still pixels (exact flow zero, visible in both frames)" if static else
                             "moving camera: VBench flicker is defined on static content"),
            "still_share": ev.still_share, "moving_share_max": ev.moving_share_max,
            "warp": warp, "structure": structure, "camera_judge": camera,
            "metrics_s": round(ev.seconds, 3), "metrics_cpu_s": round(ev.cpu_seconds, 3)}


def identity_drift_rows(evals: list[ShotEval], names: dict[int, str]) -> list[dict]:
    """Identity drift for every pair of shots and every instance both show (with shared texels)."""
    rows = []
    for a in range(len(evals)):
        for b in range(a + 1, len(evals)):
            ta, tb = evals[a].textures or {}, evals[b].textures or {}
            for value in sorted(set(ta) & set(tb)):
                d = M.texture_difference(texture_of(*ta[value]), texture_of(*tb[value]), value)
                if d.texels:
                    rows.append({"shot_a": evals[a].id, "shot_b": evals[b].id, "instance": value,
                                 "object": names.get(value, str(value)), "drift": d.drift, "texels": d.texels,
                                 "texels_a": d.texels_a, "texels_b": d.texels_b})
    return rows


def _weighted(pairs) -> float | None:
    pairs = [(v, w) for v, w in pairs if v is not None and w]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def summarize(shots: list[dict], drift: list[dict], cost: dict, ks: Sequence[int]) -> dict:
    """One number per metric for a scene and method: E_warp(k) over all evaluated pairs of all
    shots; flicker over the static shots' pairs; drift weighted by shared texels; edge F1 over
    the evaluated frames; camera moves HELD out of those judged."""
    out = {}
    for k in ks:
        out[f"warp_{k}"] = _weighted((s["warp"][str(k)]["mean"], s["warp"][str(k)]["pairs"]) for s in shots)
    out["flicker"] = _weighted((s["flicker"], s["frames"] - 1) for s in shots if s["static_camera"])
    out["identity_drift"] = _weighted((r["drift"], r["texels"]) for r in drift)
    for key in ("f1", "precision", "recall"):
        out[f"edge_{key}"] = _weighted((s["structure"][key], s["structure"]["frames_evaluated"]) for s in shots)
    verdicts = [s["camera_judge"].get("verdict") for s in shots]
    judged = [v for v in verdicts if v in (shotdrift_judge.HELD, shotdrift_judge.NOT_HELD)]
    out["camera_held"] = sum(v == shotdrift_judge.HELD for v in judged)
    out["camera_judged"] = len(judged)
    for key in ("seconds_per_frame", "unet_per_frame", "unet_per_film_second", "peak_memory_bytes"):
        out[key] = cost.get(key)
    return out


# ---------------------------------------------------------------- one scene, one method

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
    if _no_model(method):
        return {}
    defaults: dict = {}
    cls = _painter_class(method)
    if cls is not None and cls.uses_textures and folder is not None:
        defaults["cache"] = str(folder / "texture-cache")
    if options.model:
        defaults["base"] = options.model
        model = Path(options.model)
        if model.is_dir():
            defaults["controlnets"] = {p.name.removeprefix("controlnet-"): str(p) for p in sorted(model.glob("controlnet-*"))
                                       if (p / "config.json").is_file()} or None
    return merge_painter_options(defaults, options.painter_options)


def _holds_other_render(folder: Path, spec, opt) -> bool:
    """Whether `folder` holds a render that `render(spec, folder, opt)` would not resume. The
    run record is rebuilt as render() builds it; should the two ever differ, the folder is
    cleared and re-rendered, which costs time but never reads stale frames."""
    from worldgen import __version__
    from worldgen.render import RUN_FILE, spec_hash
    marker = folder / RUN_FILE
    if not marker.exists():
        return False
    run = {"spec_sha256": spec_hash(spec), "backend": opt.backend or spec.render.backend, "format": opt.fmt,
           "passes": opt.passes, "paint": opt.paint, "control": list(opt.control), "worldgen": __version__}
    if opt.painter and opt.painter != spec.render.painter or opt.painter_options:
        run["painter"] = {"name": opt.painter or spec.render.painter, "options": opt.painter_options}
    try:
        return json.loads(marker.read_text()) != json.loads(json.dumps(run))
    except (OSError, ValueError):
        return True


def _render_method(scene: SceneInput, method: str, folder: Path, options: BenchOptions, cfg: EvalConfig):
    """Render `scene` with `method` into `folder` (resuming what is there) while evaluating;
    returns (manifest, shot evals, rendered-cost dict)."""
    from worldgen.render import RUN_FILE, RenderOptions, render
    if options.fresh and (folder / RUN_FILE).exists():
        shutil.rmtree(folder)
    opt = RenderOptions(backend=options.backend, fmt="npz", passes=True, paint=True, control=(), film=False,
                        overwrite=True, progress=options.progress, painter=method,
                        painter_options=painter_options_for(method, options, folder))
    if hasattr(opt, "use_store"):  # a cost benchmark computes its frames; never links finished ones
        opt.use_store = False
    if _holds_other_render(folder, scene.spec, opt):
        shutil.rmtree(folder)  # render would clear it too, but only after the follower read stale frames
    plans = plans_for_render(scene.spec, folder, opt.fmt)
    # a half-finished folder may get frames repainted (painters that carry state from frame to
    # frame redo a whole shot), so only a fresh or a finished one is read while rendering
    present = [os.path.exists(f) and os.path.exists(q) for p in plans for f, q in zip(p.frames, p.passes)]
    follower = _Follower(plans, cfg) if options.follow and (all(present) or not any(present)) else None
    cpu0 = time.process_time()
    try:
        with _PeakRss() as rss:
            result = render(scene.spec, folder, opt)
    except BaseException:
        if follower:
            follower.cancel()
        run_marker = folder / RUN_FILE
        if run_marker.exists() and not (folder / "shots").exists() and len(list(folder.iterdir())) == 1:
            shutil.rmtree(folder)  # nothing but our own marker: leave no empty render behind
        raise
    manifest = result.manifest
    rendered = {"frames_rendered": result.frames_rendered, "render_s": result.timings.get("frames_s"),
                "render_cpu_s": round(time.process_time() - cpu0, 3), "peak_rss_bytes": rss.peak,
                "source": "this run"}
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


def _method_result(method: str, folder: Path, manifest: dict, evals: list[ShotEval], rendered: dict | None,
                   options: BenchOptions) -> dict:
    names = {v: k for k, v in (manifest.get("instances") or {}).items()}
    shots = [_shot_result(ev, ms) for ev, ms in zip(evals, manifest["shots"], strict=True)]
    drift = identity_drift_rows(evals, names)
    total = sum(s["frame_count"] for s in manifest["shots"])
    cost = _cost(method, manifest, total, rendered)
    cost["metrics_s"] = round(sum(ev.seconds for ev in evals), 3)  # wall, waits for frames included
    cost["metrics_cpu_s"] = round(sum(ev.cpu_seconds for ev in evals), 3)
    return {"status": "ok", "render_dir": str(folder), "painter": manifest.get("painter"),
            "width": manifest.get("width"), "height": manifest.get("height"), "fps": manifest.get("fps"),
            "shots": shots, "identity_drift": drift, "cost": cost,
            "summary": summarize(shots, drift, cost, options.ks)}


def _eval_config(options: BenchOptions, shot_count: int) -> EvalConfig:
    if any(k < 1 for k in options.ks):
        raise BenchError("warping error distances k must be >= 1")
    if options.structure_every < 1 or (options.long_range_every is not None and options.long_range_every < 1):
        raise BenchError("--structure-every / --long-range-every must be >= 1")
    return EvalConfig(tuple(options.ks), options.long_range_every, options.structure_every, options.tex_res,
                      options.tol_px, textures=shot_count > 1, judge_camera=options.judge_camera)


def bench_scene_method(scene: SceneInput, method: str, renders_dir: Path, options: BenchOptions) -> dict:
    """Results of one method on one scene; an unavailable painter or a failed render becomes a
    status line instead of an exception."""
    from worldgen.paint.registry import PainterError
    t0 = time.perf_counter()
    if scene.spec is not None:
        reason = _unavailable_reason(method)
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
        manifest = _read_manifest(folder)
        cfg = _eval_config(options, len(manifest["shots"]))
        evals = evaluate_shots(plans_from_manifest(folder, manifest, _cameras_of_render(folder)), cfg)
        rendered = None
        if (folder / COST_FILE).exists():
            rendered = json.loads((folder / COST_FILE).read_text())["rendered"] | {"source": "earlier bench run"}
        elif manifest.get("painter_stats"):
            rendered = {"source": "manifest"}
    elapsed = time.perf_counter() - t0
    render_s = (rendered or {}).get("render_s") if scene.spec is not None else 0.0
    out = _method_result(method, folder, manifest, evals, rendered, options)
    out["wall_s"] = round(elapsed, 3)
    _log(options, f"{scene.name} / {method}: {out['cost']['frames']} frames, "
                  f"E_warp(1) {_fmt(out['summary'].get('warp_1'))}, wall {elapsed:.1f} s"
                  + (f" (render {render_s:.1f} s)" if render_s else ""))
    return out


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3g}"


# ---------------------------------------------------------------- the whole run

def machine_info() -> dict:
    """What the numbers were measured on (cost figures mean nothing without it)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "gpu": None}
    torch = sys.modules.get("torch")  # only if a painter already loaded it; never import it for this
    if torch is not None:
        try:
            if torch.cuda.is_available():
                info["gpu"] = torch.cuda.get_device_name(0)
        except Exception:  # noqa: BLE001
            pass
    return info


def _options_record(options: BenchOptions) -> dict:
    return {"size": list(options.size) if options.size else None, "fps": options.fps, "model": options.model,
            "painter_options": options.painter_options, "backend": options.backend, "ks": list(options.ks),
            "long_range_every": options.long_range_every, "structure_every": options.structure_every,
            "tex_res": options.tex_res, "tol_px": options.tol_px, "judge_camera": options.judge_camera}


def overall(scenes: list[dict], methods: list[str], ks: Sequence[int]) -> dict:
    """Per method, the unweighted mean over scenes of each summary number (where defined), and
    for each number the scenes behind it (`scenes_behind`: a mean is only read with its scenes)."""
    keys = [f"warp_{k}" for k in ks] + ["flicker", "identity_drift", "edge_f1", "seconds_per_frame",
                                         "unet_per_frame", "unet_per_film_second", "peak_memory_bytes"]
    out = {}
    for method in methods:
        done = [s["methods"][method]["summary"] for s in scenes
                if s["methods"].get(method, {}).get("status") == "ok"]
        if not done:
            continue
        names = [s["scene"] for s in scenes if s["methods"].get(method, {}).get("status") == "ok"]
        row = {"scenes": len(done), "scenes_behind": {}}
        for key in keys:
            vals = [d[key] for d in done if d.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
            row["scenes_behind"][key] = [n for n, d in zip(names, done) if d.get(key) is not None]
        row["camera_held"] = sum(d["camera_held"] for d in done)
        row["camera_judged"] = sum(d["camera_judged"] for d in done)
        row["scenes_behind"]["camera"] = [n for n, d in zip(names, done) if d["camera_judged"]]
        out[method] = row
    return out


def run_bench(specs_or_dirs: Sequence[str | Path], methods: Sequence[str] | None, out_dir: str | Path,
              options: BenchOptions | None = None) -> dict:
    """Benchmark every scene with every method and return the results (also written to
    `out_dir` as results.json, results.md, plots and index.html unless options.report is off).
    Renders go to out_dir/renders/<scene>/<method>/ and resume on a re-run."""
    options = options or BenchOptions()
    t0 = time.perf_counter()
    _eval_config(options, 1)  # bad settings fail before any work
    scenes_in = collect_inputs(specs_or_dirs, options)
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
            entry |= {"title": scene.spec.title, "width": r.width, "height": r.height, "fps": r.fps,
                      "shots": [{"id": s.id, "duration": s.duration,
                                 "camera_move": s.camera.move or "keyframes"} for s in scene.spec.shots]}
        for method in methods_here:
            if method not in all_methods:
                all_methods.append(method)
            result = bench_scene_method(scene, method, renders, options)
            if result["status"] != "ok":
                _log(options, f"{scene.name} / {method}: {result['status']}: {result['reason']}")
            entry["methods"][method] = result
            if "title" not in entry and result["status"] == "ok":
                manifest = _read_manifest(Path(result["render_dir"]))
                entry |= {"title": manifest.get("title"), "width": result["width"], "height": result["height"],
                          "fps": result["fps"],
                          "shots": [{"id": s["id"], "duration": s["duration"],
                                     "camera_move": (_cameras_of_render(Path(result["render_dir"])).get(s["id"], {})
                                                     .get("move") or "keyframes")} for s in manifest["shots"]]}
        scenes.append(entry)
    results = {"results_version": RESULTS_VERSION, "worldgen": _worldgen_version(), "machine": machine_info(),
               "options": _options_record(options), "methods": all_methods,
               "shotdrift": {"available": shotdrift_ok, "note": shotdrift_note},
               "scenes": scenes, "overall": overall(scenes, all_methods, options.ks)}
    results["wall_s"] = round(time.perf_counter() - t0, 3)
    if options.report:
        from worldgen.bench.report import write_report
        write_report(results, out, video=options.video)  # adds results["files"]; results.json last
    return results


def _worldgen_version() -> str:
    from worldgen import __version__
    return __version__
