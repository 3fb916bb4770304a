"""Render shots: passes, painted frames, the film and the contact sheet, resumably.

Every output file is written atomically, so a killed render leaves only whole files; a
restart with the same spec and settings skips the frames whose files are all present."""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from worldgen import __version__
from worldgen.camera import ShotCamera, frame_count
from worldgen.errors import OutputExistsError, SpecError
from worldgen.io import write_exr, write_json, write_npz, write_png
from worldgen.passes.derive import PassFrame
from worldgen.spec.models import Spec

RUN_FILE = ".worldgen-run.json"
CONTROL_KINDS = ("depth", "normal", "canny", "seg", "openpose")  # openpose: only where there are characters


@dataclass
class RenderOptions:
    backend: str | None = None  # default: the spec's render.backend
    shots: list[str] | None = None  # default: every shot
    fmt: str = "npz"  # passes as npz or exr
    passes: bool = True
    paint: bool = True
    control: tuple = CONTROL_KINDS
    film: bool = True
    overwrite: bool = False
    progress: bool = True
    painter: str | None = None  # default: the spec's render.painter
    painter_options: dict = field(default_factory=dict)  # passed to the painter (models, strength, ...)


@dataclass
class RenderResult:
    out_dir: Path
    manifest: dict
    frames_rendered: int = 0
    frames_skipped: int = 0
    timings: dict = field(default_factory=dict)


def spec_hash(spec: Spec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()


def _versions() -> dict:
    import importlib.metadata as md
    out = {"worldgen": __version__}
    for p in ("numpy", "open3d", "trimesh", "pyrender", "PyOpenGL", "imageio-ffmpeg"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def _claim_output(out: Path, run: dict, overwrite: bool) -> None:
    """Refuse to mix two different renders in one folder; never delete what the user made."""
    marker = out / RUN_FILE
    if marker.exists():
        old = json.loads(marker.read_text())
        if old == run:
            return
        if not overwrite:
            raise OutputExistsError(f"{out}: holds a render of another spec or settings; use --overwrite or another folder")
        shutil.rmtree(out / "shots", ignore_errors=True)
    elif out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out}: folder exists and is not a worldgen render; use --overwrite or another folder")
    out.mkdir(parents=True, exist_ok=True)
    write_json(marker, run)


def _depth_range(raster, rig: ShotCamera, fps: float, n: int) -> tuple[float, float]:
    """Near/far of a whole shot for its depth conditioning images: depth percentiles of a few
    frames cast at low resolution. One range per shot keeps the images from flickering."""
    small = ShotCamera(rig.shot, rig.world, 96, max(8, int(96 * rig.height / rig.width)))
    depths = []
    for i in np.linspace(0, n - 1, min(n, 5)).round().astype(int):
        hits = raster.backend.hits(raster.snapshot(rig.shot.start + i / fps), small.at(i / fps))
        depths.append(hits.depth[np.isfinite(hits.depth)])
    d = np.concatenate(depths)
    if d.size == 0:
        return 0.1, 100.0
    near, far = float(np.percentile(d, 1)) * 0.9, float(np.percentile(d, 99)) * 1.1
    return max(near, 1e-3), max(far, near * 1.5)


def _frame_paths(shot_id: str, i: int, opt: RenderOptions, people: bool = False) -> dict:
    base = f"shots/{shot_id}"
    p = {}
    if opt.paint:
        p["frame"] = f"{base}/frames/{i:06d}.png"
    if opt.passes:
        p["passes"] = f"{base}/passes/{i:06d}.{opt.fmt}"
        if people:
            p["pose"] = f"{base}/pose/{i:06d}.json"
        for k in opt.control:
            if k != "openpose" or people:
                p[f"control_{k}"] = f"{base}/control/{k}/{i:06d}.png"
    return p


def _write_pose(out: Path, paths: dict, world, view, passes: PassFrame) -> None:
    from worldgen.character.pose_pass import openpose_image, people_in_frame, pose_json
    cam = view.cam
    people = people_in_frame(world, view.time, cam, passes.depth, passes.instance)
    write_json(out / paths["pose"], pose_json(people, cam.width, cam.height, view.index, view.time))
    if "control_openpose" in paths:
        write_png(out / paths["control_openpose"], openpose_image(people, cam.width, cam.height))


def _write_frame(out: Path, paths: dict, passes: PassFrame, painted, cam, near_far, opt: RenderOptions):
    if "frame" in paths:
        write_png(out / paths["frame"], painted)
    if "passes" in paths:
        arrays = passes.arrays()
        (write_exr if opt.fmt == "exr" else write_npz)(out / paths["passes"], arrays)
    from worldgen import control as ctl
    hit = np.isfinite(passes.depth)
    normal_img = None
    for k in opt.control if "passes" in paths else ():
        if k == "depth":
            img = ctl.depth_image(passes.depth, *near_far)
        elif k == "normal" or (k == "canny" and normal_img is None):
            normal_img = ctl.normal_image(passes.normal, cam.world_to_camera, hit)
            img = normal_img
        if k == "canny":
            img = ctl.canny_image(normal_img)
        elif k == "seg":
            img = ctl.segmentation_image(passes.semantic)
        elif k == "openpose":
            continue  # written with the pose pass
        write_png(out / paths[f"control_{k}"], img)


def render(spec: Spec, out_dir: str | Path, opt: RenderOptions | None = None) -> RenderResult:
    """Render the selected shots of `spec` into `out_dir` and write its manifest."""
    import time

    from worldgen.passes.sequence import Rasterizer
    from worldgen.world import World
    opt = opt or RenderOptions()
    out = Path(out_dir)
    backend = opt.backend or spec.render.backend
    shots = spec.shots
    if opt.shots:
        known = {s.id for s in spec.shots}
        for s in opt.shots:
            if s not in known:
                raise SpecError(f"--shot: no shot '{s}' (shots: {', '.join(sorted(known))})")
        shots = [s for s in spec.shots if s.id in opt.shots]
    r = spec.render
    run = {"spec_sha256": spec_hash(spec), "backend": backend, "format": opt.fmt, "passes": opt.passes,
           "paint": opt.paint, "control": list(opt.control), "worldgen": __version__}
    if opt.painter and opt.painter != spec.render.painter or opt.painter_options:
        run["painter"] = {"name": opt.painter or spec.render.painter, "options": opt.painter_options}
    _claim_output(out, run, opt.overwrite)
    t0 = time.perf_counter()
    world = World(spec)
    people = bool(world.characters)
    raster = Rasterizer(world, backend, with_local=opt.paint)
    painter = None
    painter_name = opt.painter or r.painter
    if opt.paint:
        from worldgen.paint.registry import make_painter
        painter = make_painter(painter_name, world, raster, opt.painter_options)
        if hasattr(painter, "prepare"):
            painter.prepare(shots)
    result = RenderResult(out, {})
    manifest_shots = []
    total = sum(frame_count(s, r.fps) for s in shots)
    with _progress(opt.progress, total, spec.title) as advance:
        for shot in shots:
            rig = ShotCamera(shot, world, r.width, r.height)
            n = frame_count(shot, r.fps)
            near_far = _depth_range(raster, rig, r.fps, n)
            frames, todo = [], set()
            for i in range(n):
                paths = _frame_paths(shot.id, i, opt, people)
                cam = rig.at(i / r.fps)
                frames.append({"index": i, "time": round(shot.start + i / r.fps, 9),
                               "K": cam.K.round(9).tolist(), "world_to_camera": cam.world_to_camera.round(9).tolist(),
                               **paths})
                if not all((out / p).exists() for p in paths.values()):
                    todo.add(i)
            if painter is not None:
                painter.set_style(shot.style or spec.style)
                if hasattr(painter, "begin_shot"):
                    painter.begin_shot(shot, near_far)
                if todo and getattr(painter, "sequential", False):
                    # each frame depends on the one before: resume by repainting the whole shot,
                    # so a resumed film is byte-identical to an uninterrupted one
                    todo = set(range(n))
            result.frames_skipped += n - len(todo)
            advance(n - len(todo))
            def write(fr, painted):
                paths = _frame_paths(shot.id, fr.view.index, opt, people)
                _write_frame(out, paths, fr.passes, painted, fr.view.cam, near_far, opt)
                if "pose" in paths:
                    _write_pose(out, paths, world, fr.view, fr.passes)
                result.frames_rendered += 1
                advance(1)

            chunk = getattr(painter, "chunk_size", 0) if hasattr(painter, "paint_chunk") else 0
            pending = []
            for fr in raster.shot_frames(shot, r.width, r.height, r.fps, only=todo):
                if chunk:  # painters that paint runs of frames together (video models)
                    pending.append(fr)
                    if len(pending) == chunk or fr.view.index == n - 1:
                        for f, img in zip(pending, painter.paint_chunk(pending)):
                            write(f, img)
                        pending = []
                    continue
                painted = None
                if painter is not None:
                    painted = painter.paint_frame(fr) if hasattr(painter, "paint_frame") else painter.paint(fr.view)
                write(fr, painted)
            if pending:
                for f, img in zip(pending, painter.paint_chunk(pending)):
                    write(f, img)
            manifest_shots.append({"id": shot.id, "start": shot.start, "duration": shot.duration,
                                   "frame_count": n, "prompt": shot.prompt, "style": shot.style or spec.style,
                                   "depth_range": list(near_far), "frames": frames})
    result.timings["frames_s"] = time.perf_counter() - t0
    manifest = _manifest(spec, world, backend, opt, manifest_shots)
    if painter is not None:
        manifest["painter"] = painter_name
        if hasattr(painter, "stats"):
            manifest["painter_stats"] = painter.stats()
    if opt.paint and opt.film:
        t1 = time.perf_counter()
        from worldgen.film import contact_sheet, encode_film
        encode_film(out, manifest_shots, out / "film.mp4", r.fps)
        contact_sheet(out, manifest_shots, out / "contact_sheet.png", spec.title)
        manifest["film"], manifest["contact_sheet"] = "film.mp4", "contact_sheet.png"
        result.timings["film_s"] = time.perf_counter() - t1
    (out / "spec.resolved.json").write_text(spec.model_dump_json(indent=1))
    write_json(out / "manifest.json", manifest)
    result.manifest = manifest
    return result


def _manifest(spec: Spec, world, backend: str, opt: RenderOptions, shots: list) -> dict:
    from worldgen.character.rig import KEYPOINTS
    from worldgen.passes.derive import __doc__ as layers_doc
    r = spec.render
    return {
        "manifest_version": 1,
        "title": spec.title, "seed": spec.seed, "spec_sha256": spec_hash(spec), "spec": "spec.resolved.json",
        "width": r.width, "height": r.height, "fps": r.fps, "backend": backend, "painter": r.painter if opt.paint else None,
        "passes_format": opt.fmt if opt.passes else None,
        "camera_convention": "OpenCV: x right, y down, z forward; world_to_camera maps world points to camera; "
                             "K pixel centres at integer coordinates",
        "units": "metres, seconds; depth is z-depth, inf where nothing is hit",
        "instances": world.instance_map(), "labels": world.semantic_map(),
        "characters": {cid: {"instance": world.character_instance[cid], "label": rig.spec.label,
                             "height": rig.spec.height, "parts": [p.name for p in rig.parts]}
                       for cid, rig in world.characters.items()},
        "keypoint_names": list(KEYPOINTS) if world.characters else None,
        "layers": _layer_table(layers_doc),
        "versions": _versions(),
        "shots": shots,
    }


def _layer_table(doc: str) -> dict:
    out = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("name", "---") and not cells[0].startswith("-") and cells[1]:
            out[cells[0]] = {"dtype": cells[1], "shape": cells[2], "meaning": cells[3]}
    return out


class _progress:
    def __init__(self, enabled: bool, total: int, title: str):
        self.enabled, self.total, self.title = enabled, total, title

    def __enter__(self):
        if not self.enabled:
            return lambda k=1: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        self.p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("frames"), TimeRemainingColumn(), transient=False)
        self.p.start()
        task = self.p.add_task(self.title[:40], total=self.total)
        return lambda k=1: self.p.advance(task, k)

    def __exit__(self, *a):
        if self.enabled:
            self.p.stop()


def render_film(spec: Spec, out_dir, **kw) -> RenderResult:
    return render(spec, out_dir, RenderOptions(**kw))


def render_passes(spec: Spec, out_dir, **kw) -> RenderResult:
    kw.setdefault("paint", False)
    return render(spec, out_dir, RenderOptions(**kw))
