"""Computing frames: where each output file of a frame goes, the rasterizer and painter made only
when needed (`LazyTools`), the shot's depth range, how a shot's frames split into runs for other
processes (`task_runs`, `tools_from_spec`), and `compute_frames`, the one loop that rasterizes,
paints and writes frames; the local executor, its worker processes and every Ray task run it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from worldgen.camera import ShotCamera
from worldgen.io import write_exr, write_json, write_npz, write_png
from worldgen.render.options import RenderOptions
from worldgen.spec.models import Spec

if TYPE_CHECKING:  # the passes and their compiled kernels are imported when frames are computed
    from worldgen.passes.derive import PassFrame


def frame_paths(shot_id: str, i: int, opt: RenderOptions, people: bool = False) -> dict:
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


def _write_frame(
    out: Path, paths: dict, passes: PassFrame, painted, cam, near_far, opt: RenderOptions, seg_colours=None
):
    if "frame" in paths:
        write_png(out / paths["frame"], painted)
    if "passes" in paths:
        arrays = passes.arrays()
        (write_exr if opt.fmt == "exr" else write_npz)(out / paths["passes"], arrays)
    if opt.passes:
        from worldgen.control import control_images

        kinds = [k for k in opt.control if k != "openpose"]  # openpose: written with the pose pass
        images = control_images(
            kinds,
            passes.depth,
            passes.normal,
            cam.world_to_camera,
            np.isfinite(passes.depth),
            passes.semantic,
            near_far,
            seg_colours,
        )
        for k, img in images.items():
            write_png(out / paths[f"control_{k}"], img)


def depth_range(raster, rig: ShotCamera, fps: float, n: int) -> tuple[float, float]:
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


FRAMES_PER_TASK = 12  # a run of consecutive frames: one task for a Ray worker or a local worker process


def whole_runs(painter) -> bool:
    """Does a task take a whole shot? Yes for a painter whose frame needs the frame before it,
    or the shot's later frames too."""
    return painter is not None and (painter.sequential or painter.whole_shot)


def task_runs(plans, sequential: bool, per_task: int = FRAMES_PER_TASK) -> list:
    """(shot index, frame indices) per task: consecutive frames, a whole shot when `sequential`
    (a painter whose frame needs the frame before it, or the whole shot)."""
    runs = []
    for k, (shot, todo, _, _) in enumerate(plans):
        frames = sorted(todo)
        if not frames:
            continue
        if sequential:
            runs.append((k, frames))
            continue
        for a in range(0, len(frames), per_task):
            runs.append((k, frames[a : a + per_task]))
    return runs


def tools_from_spec(spec_json: str, base_dir: str, opt_fields: dict, backend: str):
    """(spec, options, world, tools) rebuilt in another process from the resolved spec: how a
    Ray task or a local worker process gets the same world the planning process has."""
    from worldgen.spec import load_spec_text
    from worldgen.world import World

    spec = load_spec_text(spec_json, "<spec.resolved.json>", base_dir=Path(base_dir), check=False)
    opt = RenderOptions(**opt_fields)
    world = World(spec)
    return spec, opt, world, LazyTools(world, backend, opt, opt.painter or spec.render.painter, spec.shots)


def shipped_options(opt: RenderOptions) -> dict:
    """The fields of `opt` that a task in another process renders with: no progress bar of its
    own, the local executor, and the output folder already claimed by the planning process."""
    from dataclasses import fields

    out = {f.name: getattr(opt, f.name) for f in fields(opt) if f.name != "progress"}
    out.update(progress=False, executor="local", overwrite=True, jobs=1)
    return out


def compute_frames(
    world,
    lazy,
    spec: Spec,
    shot,
    todo: set,
    near_far,
    keys: dict,
    out: Path,
    opt: RenderOptions,
    people: bool,
    store,
    on_frame,
) -> None:
    """Rasterize, paint and write the frames `todo` of one shot (and put them in the store).
    The local loop and every Ray task run this same code."""
    r = spec.render
    painter = lazy.painter() if opt.paint else None
    seg_colours = None
    if "seg" in opt.control:
        from worldgen.control import world_label_colours

        seg_colours = world_label_colours(world)

    def write(fr, painted):
        paths = frame_paths(shot.id, fr.view.index, opt, people)
        _write_frame(out, paths, fr.passes, painted, fr.view.cam, near_far, opt, seg_colours)
        if "pose" in paths:
            _write_pose(out, paths, world, fr.view, fr.passes)
        if store is not None:
            for name, (key, kind) in keys[fr.view.index].items():
                store.adopt(key, kind, out / paths[name])
        on_frame()

    with speaking(world, spec, shot, opt.voice_model, store):
        if painter is None:
            for fr in lazy.raster().shot_frames(shot, r.width, r.height, r.fps, only=todo):
                write(fr, None)
        else:
            for fr, img in painted_frames(lazy.raster(), painter, spec, shot, near_far, todo):
                write(fr, img)


def painted_frames(raster, painter, spec: Spec, shot, near_far, only=None):
    """(frame, image) of a shot's frames (`only` these), painted as a render paints them: the
    shot's style and depth range, then the frames one by one; the painter hands back each frame
    once it is final (at once, or, for painters of overlapping windows of frames, once every
    window holding it is). What a render writes and what the continuity measure bins."""
    r = spec.render
    painter.set_style(shot.style or spec.style)
    painter.begin_shot(shot, near_far)
    for fr in raster.shot_frames(shot, r.width, r.height, r.fps, only=only):
        yield from painter.push_frame(fr)
    yield from painter.end_shot()


@contextmanager
def speaking(world, spec: Spec, shot, voice_model: str | None = None, store=None):
    """Mouths move while this shot renders: each character with a mouth that speaks in it gets its
    mouth track (worldgen.sound.lipsync, timed by its voice); everything else keeps it shut."""
    from worldgen.character.rig import MouthTrack
    from worldgen.render.keys import speaking_mouths

    rigs = []
    for cid, (opening, width) in speaking_mouths(spec, world, voice_model, store).get(shot.id, {}).items():
        rig = world.characters[cid]  # a proxy, or a rigged asset with a jaw bone or mouth morph
        rig.speech = MouthTrack(shot.start, spec.render.fps, opening, width)
        rigs.append(rig)
    try:
        yield
    finally:
        for rig in rigs:
            rig.speech = None


class LazyTools:
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
