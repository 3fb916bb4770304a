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
    pass_arrays: bool = True  # with passes: the pass arrays too (False: control images only, --passes control)
    paint: bool = True
    control: tuple = CONTROL_KINDS
    film: bool = True
    overwrite: bool = False
    progress: bool = True
    painter: str | None = None  # default: the spec's render.painter
    painter_options: dict = field(default_factory=dict)  # passed to the painter (models, strength, ...)
    force: bool = False  # recompute every frame (ignore finished files and the store)
    frames: dict | None = None  # shot id -> frame indices: only these (reproducing single frames)
    store: str | None = None  # content-addressed frame store (default $WORLDGEN_CACHE/frames)
    use_store: bool = True
    executor: str = "local"  # local | ray
    ray_address: str | None = None  # a running Ray cluster ("auto", "ray://host:10001"); default: start one here
    ray_workers: int | None = None  # local Ray: worker processes (default: CPUs)


@dataclass
class RenderResult:
    out_dir: Path
    manifest: dict
    frames_rendered: int = 0
    frames_skipped: int = 0
    frames_from_store: int = 0
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
            for stale in out.rglob(".*.tmp"):  # half-written files of a run that was killed
                stale.unlink(missing_ok=True)
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
        if opt.pass_arrays:
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


def _write_frame(out: Path, paths: dict, passes: PassFrame, painted, cam, near_far, opt: RenderOptions,
                 seg_colours=None):
    if "frame" in paths:
        write_png(out / paths["frame"], painted)
    if "passes" in paths:
        arrays = passes.arrays()
        (write_exr if opt.fmt == "exr" else write_npz)(out / paths["passes"], arrays)
    from worldgen import control as ctl
    hit = np.isfinite(passes.depth)
    normal_img = None
    for k in opt.control if opt.passes else ():
        if k == "depth":
            img = ctl.depth_image(passes.depth, *near_far)
        elif k == "normal" or (k == "canny" and normal_img is None):
            normal_img = ctl.normal_image(passes.normal, cam.world_to_camera, hit)
            img = normal_img
        if k == "canny":
            img = ctl.canny_image(normal_img)
        elif k == "seg":
            img = ctl.segmentation_image(passes.semantic, seg_colours)
        elif k == "openpose":
            continue  # written with the pose pass
        write_png(out / paths[f"control_{k}"], img)


def render(spec: Spec, out_dir: str | Path, opt: RenderOptions | None = None, world=None) -> RenderResult:
    """Render the selected shots of `spec` into `out_dir` and write its manifest. `world`: the
    spec's world when the caller has built it already (the CLI checks it first), else built here."""
    import time

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
    world = World(spec) if world is None else world
    people = bool(world.characters)
    store = None
    if opt.use_store:
        from worldgen.store import FrameStore
        store = FrameStore(opt.store)
    painter_name = opt.painter or r.painter
    lazy = _Lazy(world, backend, opt, painter_name, shots)
    wd = world_digest(spec, world)
    painter_id = lazy.painter_identity() if (opt.paint and store is not None) else None
    result = RenderResult(out, {})
    manifest_shots, plans, remote_stats = [], [], []
    total = sum(frame_count(s, r.fps) for s in shots)
    with _progress(opt.progress, total, spec.title) as advance:
        for shot in shots:
            rig = ShotCamera(shot, world, r.width, r.height)
            n = frame_count(shot, r.fps)
            frames, todo, keys = [], set(), {}
            camera_path = shot.model_dump(mode="json", exclude={"id", "prompt", "style"})  # what frames depend on
            for i in range(n):
                paths = _frame_paths(shot.id, i, opt, people)
                cam = rig.at(i / r.fps)
                keys[i] = _frame_keys(wd, shot, camera_path, i, spec, backend, people, painter_id, paths)
                frames.append({"index": i, "time": round(shot.start + i / r.fps, 9),
                               "K": cam.K.round(9).tolist(), "world_to_camera": cam.world_to_camera.round(9).tolist(),
                               **paths, "keys": {k: v[0] for k, v in keys[i].items()}})
                if opt.frames is not None and i not in opt.frames.get(shot.id, ()):
                    continue
                if opt.force or not all((out / p).exists() for p in paths.values()):
                    todo.add(i)
            if store is not None and not opt.force:  # finished elsewhere before: link, don't compute
                linked = {i for i in todo if _link_from_store(store, out, keys[i], _frame_paths(shot.id, i, opt, people))}
                result.frames_from_store += len(linked)
                todo -= linked
            else:
                linked = set()
            painter = lazy.painter() if (opt.paint and todo) else None
            near_far = _shot_depth_range(store, wd, shot, spec, backend, lazy, rig, n)
            if painter is not None and painter.whole_shot:
                # a frame depends on frames after it too (overlapping windows of a video model)
                todo = set(range(n))
            elif painter is not None and painter.sequential:
                # each frame depends on the one before: resume by repainting the shot up to the
                # last frame needed, so a resumed film is byte-identical to an uninterrupted one
                todo = set(range(max(todo) + 1))
            selected = n if opt.frames is None else len(opt.frames.get(shot.id, ()))
            result.frames_skipped += selected - len(todo) - len(linked & set(range(n)) - todo)
            advance(n - len(todo))
            plans.append((shot, todo, near_far, keys))
            manifest_shots.append({"id": shot.id, "start": shot.start, "duration": shot.duration,
                                   "frame_count": n, "prompt": shot.prompt, "style": shot.style or spec.style,
                                   "depth_range": list(near_far), "frames": frames})
        if any(todo for _, todo, _, _ in plans):
            if opt.executor == "ray":
                from worldgen.executors import render_on_ray
                remote_stats = render_on_ray(spec, plans, out, opt, backend, people, store, advance, result,
                                             lazy.painter_if_made())
            else:
                for shot, todo, near_far, keys in plans:
                    compute_frames(world, lazy, spec, shot, todo, near_far, keys, out, opt, people, store,
                                   lambda: _count(result, advance))
    result.timings["frames_s"] = time.perf_counter() - t0
    manifest = _manifest(spec, world, backend, opt, manifest_shots)
    if opt.paint:
        manifest["painter"] = painter_name
        p = lazy.painter_if_made()
        stats = p.stats() if p is not None else None
        if stats:
            manifest["painter_stats"] = stats
        if remote_stats:
            manifest["painter_stats"] = _merge_stats(manifest.get("painter_stats"), remote_stats)
    if store is not None:
        manifest["store"] = str(store.root)
    # what this run computed and what it only linked or kept: a check that two renders agree
    # byte for byte proves something only where the second one computed its frames
    manifest["frames_this_run"] = {"rendered": result.frames_rendered, "from_store": result.frames_from_store,
                                   "already_there": result.frames_skipped}
    if opt.paint and opt.film and opt.frames is None:
        t1 = time.perf_counter()
        from worldgen.film import contact_sheet, encode_film
        from worldgen.store import digest
        film_key = digest({"frames": [f["keys"].get("frame") for s_ in manifest_shots for f in s_["frames"]],
                           "fps": r.fps, "title": spec.title, "worldgen": __version__})
        for name, make in (("film.mp4", lambda p: encode_film(out, manifest_shots, p, r.fps)),
                           ("contact_sheet.png", lambda p: contact_sheet(out, manifest_shots, p, spec.title))):
            if opt.force or store is None or not store.link(film_key, name, out / name):
                make(out / name)
                if store is not None:
                    store.adopt(film_key, name, out / name)
        manifest["film"], manifest["contact_sheet"] = "film.mp4", "contact_sheet.png"
        result.timings["film_s"] = time.perf_counter() - t1
    (out / "spec.resolved.json").write_text(spec.model_dump_json(indent=1))
    write_json(out / "manifest.json", manifest)
    result.manifest = manifest
    return result


def _count(result: RenderResult, advance) -> None:
    result.frames_rendered += 1
    advance(1)


def compute_frames(world, lazy, spec: Spec, shot, todo: set, near_far, keys: dict, out: Path, opt: RenderOptions,
                   people: bool, store, on_frame) -> None:
    """Rasterize, paint and write the frames `todo` of one shot (and put them in the store).
    The local loop and every Ray task run this same code."""
    r = spec.render
    painter = lazy.painter() if opt.paint else None
    if painter is not None:
        painter.set_style(shot.style or spec.style)
        painter.begin_shot(shot, near_far)
    seg_colours = None
    if "seg" in opt.control:
        from worldgen.control import world_label_colours
        seg_colours = world_label_colours(world)

    def write(fr, painted):
        paths = _frame_paths(shot.id, fr.view.index, opt, people)
        _write_frame(out, paths, fr.passes, painted, fr.view.cam, near_far, opt, seg_colours)
        if "pose" in paths:
            _write_pose(out, paths, world, fr.view, fr.passes)
        if store is not None:
            for name, (key, kind) in keys[fr.view.index].items():
                store.adopt(key, kind, out / paths[name])
        on_frame()

    # the painter takes the frames one by one and hands back each frame once it is final (at
    # once, or, for painters of overlapping windows of frames, once every window holding it is)
    for fr in lazy.raster().shot_frames(shot, r.width, r.height, r.fps, only=todo):
        for f, img in painter.push_frame(fr) if painter is not None else [(fr, None)]:
            write(f, img)
    if painter is not None:
        for f, img in painter.end_shot():
            write(f, img)


def _merge_stats(local: dict | None, remote: list[dict]) -> dict:
    """Painter counters of the tasks added up: counts summed, peak memory the largest, the
    rest kept from the first that has it."""
    out = dict(local or {})
    for st in remote:
        for k, v in (st or {}).items():
            if k == "peak_memory_bytes":
                out[k] = max(out.get(k, 0), v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = out.get(k, 0) + v
            else:
                out.setdefault(k, v)
    return out


class _Lazy:
    """The rasterizer and painter, made only when some frame must really be computed: a render
    that the store already holds costs no more than linking files."""

    def __init__(self, world, backend, opt, painter_name, shots):
        self.world, self.backend, self.opt, self.name, self.shots = world, backend, opt, painter_name, shots
        self._raster = self._painter = None

    def raster(self):
        if self._raster is None:
            from worldgen.passes.sequence import Rasterizer
            self._raster = Rasterizer(self.world, self.backend, with_local=self.opt.paint)
        return self._raster

    def painter(self):
        if self._painter is None:
            from worldgen.paint.registry import make_painter
            self._painter = make_painter(self.name, self.world, self.raster(), self.opt.painter_options)
            self._painter.prepare(self.shots)
        return self._painter

    def painter_if_made(self):
        return self._painter

    def painter_identity(self) -> dict:
        """What decides the painter's pixels, for the frame keys. The diffusion painters
        include their texture bytes, so that an edited texture repaints the frames."""
        from worldgen.paint.registry import painter_class
        cls = painter_class(self.name)
        known = cls.static_identity(self.world, self.opt.painter_options) if cls is not None else None
        return known if known is not None else self.painter().identity()


def world_digest(spec: Spec, world) -> tuple[str, str]:
    """(geometry digest, full digest) of everything of the world that reaches a pixel: the world
    block, the seed, and the bytes of every asset file it loads."""
    from worldgen.assets import resolve_asset
    from worldgen.store import digest, file_digest
    assets = {}
    refs = [o.mesh for o in spec.world.objects if o.mesh] + [c.asset for c in spec.world.characters if c.asset]
    for ref in refs:
        assets[ref] = file_digest(resolve_asset(ref, world.base_dir))
    full = spec.world.model_dump(mode="json")
    geometry = {"objects": [{k: v for k, v in o.items() if k != "appearance"} for o in full["objects"]],
                "characters": [{k: v for k, v in c.items() if k != "appearance"} for c in full["characters"]]}
    # passes depend on the geometry only; painted frames on everything (appearance, lights)
    return (digest({"world": geometry, "seed": spec.seed, "assets": assets, "worldgen": __version__}),
            digest({"world": full, "seed": spec.seed, "assets": assets, "worldgen": __version__}))


def _frame_keys(wd: tuple, shot, camera_path: dict, i: int, spec: Spec, backend: str, people: bool, painter_id,
                paths: dict) -> dict:
    """Output name -> (content key, store kind). Passes, control images and poses depend on the
    world and the camera; a painted frame also on the painter, the style and the prompt."""
    from worldgen.store import digest
    r = spec.render
    wd_geometry, wd_full = wd
    geometry = digest({"world": wd_geometry, "shot": camera_path,
                       "index": i, "size": [r.width, r.height], "fps": r.fps, "backend": backend, "people": people})
    out = {}
    for name, path in paths.items():
        kind = name.replace("_", "-") + "." + path.rsplit(".", 1)[1]
        if name == "frame":
            key = digest({"geometry": geometry, "world": wd_full, "painter": painter_id, "style": shot.style or spec.style,
                          "prompt": shot.prompt, "shot": shot.id})
        else:
            key = geometry
        out[name] = (key, kind)
    return out


def _shot_depth_range(store, wd: str, shot, spec: Spec, backend: str, lazy, rig, n: int) -> tuple[float, float]:
    """The shot's depth range (its depth images' near/far), remembered in the store so that a
    render the store already holds needs no rasterizer at all."""
    from worldgen.store import digest
    key = digest({"world": wd[0], "shot": shot.model_dump(mode="json", exclude={"id", "prompt", "style"}),
                  "size": [spec.render.width, spec.render.height], "fps": spec.render.fps, "backend": backend})
    if store is not None and store.has(key, "depth-range.json"):
        return tuple(json.loads(store.path(key, "depth-range.json").read_text()))
    near_far = _depth_range(lazy.raster(), rig, spec.render.fps, n)
    if store is not None:
        store.put(key, "depth-range.json", json.dumps(list(near_far)).encode())
    return near_far


def _link_from_store(store, out: Path, keys: dict, paths: dict) -> bool:
    if not all(store.has(key, kind) for key, kind in keys.values()):
        return False
    for name, (key, kind) in keys.items():
        store.link(key, kind, out / paths[name])
    return True


def _manifest(spec: Spec, world, backend: str, opt: RenderOptions, shots: list) -> dict:
    from worldgen.character.rig import KEYPOINTS
    from worldgen.passes.derive import __doc__ as layers_doc
    r = spec.render
    return {
        "manifest_version": 1,
        "title": spec.title, "seed": spec.seed, "spec_sha256": spec_hash(spec), "spec": "spec.resolved.json",
        "spec_base_dir": str(world.base_dir.resolve()),
        "painter_options": {k: v for k, v in opt.painter_options.items() if k != "cache"},
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
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        # on stderr: stdout carries only results (counts, paths), whole lines a program can read
        self.p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("frames"), TimeRemainingColumn(), transient=False, console=Console(stderr=True))
        self.p.start()
        task = self.p.add_task(self.title[:40], total=self.total)
        return lambda k=1: self.p.advance(task, k)

    def __exit__(self, *a):
        if self.enabled:
            self.p.stop()


def reproduce(manifest_path: str | Path, frames: dict, out_dir: str | Path, progress: bool = False) -> list[dict]:
    """Render frames again from a render's manifest (its resolved spec, backend, painter and
    options), without the store, and compare each with the original file: what a person
    runs to check that a frame is reproducible."""
    import hashlib

    from worldgen.spec import load_spec_text
    mp = Path(manifest_path)
    man = json.loads(mp.read_text())
    src = mp.parent
    spec = load_spec_text((src / man["spec"]).read_text(), str(src / man["spec"]), base_dir=Path(man["spec_base_dir"]))
    opt = RenderOptions(backend=man["backend"], shots=sorted(frames), fmt=man.get("passes_format") or "npz",
                        passes=man.get("passes_format") is not None, paint=man.get("painter") is not None,
                        film=False, painter=man.get("painter"), painter_options=man.get("painter_options") or {},
                        frames=frames, use_store=False, overwrite=True, progress=progress)
    res = render(spec, out_dir, opt)
    report = []
    for shot in res.manifest["shots"]:
        old = next(s_ for s_ in man["shots"] if s_["id"] == shot["id"])
        for i in sorted(frames[shot["id"]]):
            new_f, old_f = shot["frames"][i], old["frames"][i]
            for name in ("frame", "passes"):
                if name in new_f and name in old_f and (src / old_f[name]).exists():
                    a = hashlib.sha256((src / old_f[name]).read_bytes()).hexdigest()
                    b = hashlib.sha256((Path(out_dir) / new_f[name]).read_bytes()).hexdigest()
                    report.append({"shot": shot["id"], "index": i, "output": name, "identical": a == b,
                                   "path": str(Path(out_dir) / new_f[name])})
    return report


def render_film(spec: Spec, out_dir, **kw) -> RenderResult:
    return render(spec, out_dir, RenderOptions(**kw))


def render_passes(spec: Spec, out_dir, **kw) -> RenderResult:
    kw.setdefault("paint", False)
    return render(spec, out_dir, RenderOptions(**kw))
