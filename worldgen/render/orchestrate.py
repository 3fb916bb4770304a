"""Render shots: passes, painted frames, the film and the contact sheet, resumably.

Every output file is written atomically, so a killed render leaves only whole files; a
restart with the same spec and settings skips the frames whose files are all present.
`render` plans (which frames are missing, their content keys, what the store holds) and hands
the rest to an executor (worldgen.render.local or worldgen.render.ray_executor)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from worldgen.camera import ShotCamera, frame_count
from worldgen.errors import SpecError, WorldgenError
from worldgen.io import write_json
from worldgen.render.frames import LazyTools, frame_paths
from worldgen.render.keys import frame_keys, mouth_key, shot_camera_path, speaking_mouths, world_digest
from worldgen.render.local import render_locally
from worldgen.render.manifest import build_manifest, merge_stats
from worldgen.render.options import RenderOptions, RenderResult
from worldgen.render.progress import FrameProgress
from worldgen.render.record import claim_output, run_record
from worldgen.render.store_link import link_from_store, shot_depth_range
from worldgen.spec.models import Spec

if TYPE_CHECKING:
    from worldgen.world import World


def render(
    spec: Spec,
    out_dir: str | Path,
    opt: RenderOptions | None = None,
    world: World | None = None,
    advance: Callable[[int], None] | None = None,
) -> RenderResult:
    """Render the selected shots of `spec` into `out_dir` and write its manifest. `world`: the
    spec's world when the caller has built it already (the CLI checks it first), else built here.
    `advance`: a progress counter to move by each frame finished (a film's bar over all its
    scenes) instead of this render's own bar."""
    from contextlib import ExitStack

    with ExitStack() as cleanup:  # what must end with the render (the mix thread)
        return _render(spec, out_dir, opt, world, advance, cleanup)


def _render(spec, out_dir, opt, world, advance, cleanup) -> RenderResult:
    import time

    from worldgen.world import World

    opt = opt or RenderOptions()
    if opt.jobs < 0 or opt.jobs > 1 and opt.executor == "ray":
        raise WorldgenError(f"jobs={opt.jobs}: 0 (as many as pay) or a number of local processes")
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
    if opt.paint and opt.film and opt.frames is None:
        from worldgen.edit.cut import check_before_frames
        from worldgen.spec.loader import base_dir_of

        check_before_frames(
            spec, world.base_dir if world is not None else base_dir_of(spec), opt.voice_model, opt.music_model
        )
    claim_output(out, run_record(spec, opt), opt.overwrite)
    t0 = time.perf_counter()
    world = World(spec) if world is None else world
    people = bool(world.characters)
    store = None
    if opt.use_store:
        from worldgen.store import FrameStore

        store = FrameStore(opt.store)
    painter_name = opt.painter or r.painter
    lazy = LazyTools(world, backend, opt, painter_name, shots)
    wd = world_digest(spec, world)
    painter_id = lazy.painter_identity() if (opt.paint and store is not None) else None
    result = RenderResult(out, {})
    manifest_shots, plans, remote_stats, workers = [], [], [], None
    total = sum(frame_count(s, r.fps) for s in shots)
    t_voices = time.perf_counter()
    mouths = speaking_mouths(spec, world, opt.voice_model, store)  # speaks the lines: their phones time the mouths
    result.timings["lip_sync_s"] = time.perf_counter() - t_voices
    with FrameProgress(opt.progress and advance is None, total, spec.title) as own:
        advance = advance or own
        for shot in shots:
            rig = ShotCamera(shot, world, r.width, r.height)
            n = frame_count(shot, r.fps)
            frames, todo, keys = [], set(), {}
            camera_path = shot_camera_path(shot)  # what frames depend on
            for i in range(n):
                paths = frame_paths(shot.id, i, opt, people)
                cam = rig.at(i / r.fps)
                keys[i] = frame_keys(
                    wd,
                    shot,
                    camera_path,
                    i,
                    spec,
                    backend,
                    people,
                    painter_id,
                    paths,
                    mouth_key(mouths.get(shot.id), i),
                )
                frames.append(
                    {
                        "index": i,
                        "time": round(shot.start + i / r.fps, 9),
                        "K": cam.K.round(9).tolist(),
                        "world_to_camera": cam.world_to_camera.round(9).tolist(),
                        **paths,
                        "keys": {k: v[0] for k, v in keys[i].items()},
                    }
                )
                if opt.frames is not None and i not in opt.frames.get(shot.id, ()):
                    continue
                if opt.force or not all((out / p).exists() for p in paths.values()):
                    todo.add(i)
            if store is not None and not opt.force:  # finished elsewhere before: link, don't compute
                linked = {i for i in todo if link_from_store(store, out, keys[i], frame_paths(shot.id, i, opt, people))}
                result.frames_from_store += len(linked)
                todo -= linked
            else:
                linked = set()
            painter = lazy.painter() if (opt.paint and todo) else None
            near_far = shot_depth_range(store, wd, shot, spec, backend, lazy, rig, n)
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
            manifest_shots.append(
                {
                    "id": shot.id,
                    "start": shot.start,
                    "duration": shot.duration,
                    "frame_count": n,
                    "prompt": shot.prompt,
                    "style": shot.style or spec.style,
                    "depth_range": list(near_far),
                    "frames": frames,
                }
            )
        ahead = None
        if not any(todo for _, todo, _, _ in plans):
            from worldgen.render.local import release_early

            release_early()  # workers the CLI started early: nothing is left to compute
        else:
            if opt.paint and opt.film and opt.frames is None:  # the sound needs the shots' lengths only
                from worldgen.edit.cut import mix_ahead

                ahead = mix_ahead(
                    spec,
                    manifest_shots,
                    store,
                    opt.voice_model,
                    world.base_dir,
                    opt.loudness,
                    opt.music_model,
                    opt.force,
                )
                if ahead is not None:
                    cleanup.callback(ahead.join)  # never outlives the render, whatever happens
            if opt.executor == "ray":
                from worldgen.render.ray_executor import render_on_ray

                remote_stats = render_on_ray(
                    spec, plans, out, opt, backend, people, store, advance, result, lazy.painter_if_made()
                )
            else:
                workers = render_locally(
                    world, lazy, spec, plans, out, opt, people, store, lambda: _count(result, advance)
                )
                remote_stats = workers.stats
    result.timings["frames_s"] = time.perf_counter() - t0
    manifest = build_manifest(spec, world, backend, opt, manifest_shots)
    if opt.paint:
        manifest["painter"] = painter_name
        p = lazy.painter_if_made()
        stats = p.stats() if p is not None else None
        if stats:
            manifest["painter_stats"] = stats
        if remote_stats:
            manifest["painter_stats"] = merge_stats(manifest.get("painter_stats"), remote_stats)
    if store is not None:
        manifest["store"] = str(store.root)
    # what this run computed and what it only linked or kept: a check that two renders agree
    # byte for byte proves something only where the second one computed its frames
    manifest["frames_this_run"] = {
        "rendered": result.frames_rendered,
        "from_store": result.frames_from_store,
        "already_there": result.frames_skipped,
    }
    if workers is not None and workers.workers:  # painted in worker processes beside this one
        manifest["frames_this_run"]["worker_processes"] = workers.workers
        manifest["frames_this_run"]["by_workers"] = workers.frames_by_workers
        manifest["frames_this_run"]["workers_started_early"] = workers.started_early
    if opt.paint and opt.film and opt.frames is None:
        t1 = time.perf_counter()
        from worldgen.edit.cut import cut_film

        manifest.update(
            cut_film(
                spec,
                out,
                manifest_shots,
                store,
                opt.force,
                opt.voice_model,
                world.base_dir,
                painter_name,
                loudness=opt.loudness,
                music_model=opt.music_model,
                ahead=ahead,
            )
        )
        result.timings["film_s"] = time.perf_counter() - t1
        if ahead is not None:  # the mix ran beside the frames: its own time, apart
            result.timings["mix_ahead_s"] = ahead.seconds
    (out / "spec.resolved.json").write_text(spec.model_dump_json(indent=1))
    write_json(out / "manifest.json", manifest)
    result.manifest = manifest
    return result


def _count(result: RenderResult, advance) -> None:
    result.frames_rendered += 1
    advance(1)


def render_film(spec: Spec, out_dir: str | Path, **kw: Any) -> RenderResult:
    """Frames, passes, control images, the film and the contact sheet; `kw`: RenderOptions fields."""
    return render(spec, out_dir, RenderOptions(**kw))


def render_passes(spec: Spec, out_dir: str | Path, **kw: Any) -> RenderResult:
    """Passes and control images without painting (unless `paint=True`); `kw`: RenderOptions fields."""
    kw.setdefault("paint", False)
    return render(spec, out_dir, RenderOptions(**kw))
