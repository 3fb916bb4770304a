"""Rendering a film (format 2): every scene as a format 1 render of its own, then one cut.

A film is rendered scene by scene into `scenes/<scene id>/`, each folder exactly what
`render` writes for that scene's expanded spec (frames, passes, control images, its manifest),
so resume, the frame store and byte-for-byte determinism hold per scene by the same code that
gives them to a format 1 render. The film is then cut once from all scenes' shots with the
film's own sound and edit (`Film.edit`: every shot in film order, the whole cast), so music,
dialogue, subtitles, title, credits and transitions run across scene boundaries.

Look development is shared by the film, not repeated per scene. The procedural painter's
looks are functions of appearance words and object-frame points, so one outfit or one set
piece has the same albedo in every scene by construction. Painters that paint textures
(`uses_textures`: baked and its family) key each texture by what it depends on (appearance,
mesh, model, settings, seed) and, in a film, paint it with the film's style rather than the
scene's (a scene's style carries its time of day, which is light, not albedo): a texture is
painted by the first scene that shows it and every later scene reads it from the cache.

With `--executor ray` the scenes run in parallel as Ray tasks (each renders its scene locally);
texture look development is done first, here, in scene order, so that which scene paints a
texture does not depend on which task starts first."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from worldgen.camera import frame_count
from worldgen.errors import SpecError
from worldgen.io import write_json
from worldgen.render.options import RenderOptions, RenderResult
from worldgen.render.progress import FrameProgress
from worldgen.render.record import claim_output, run_record, versions

SCENES_DIR = "scenes"
RESOLVED = "film.resolved.yaml"  # the film spec with every default filled in (YAML: `worldgen: 2` reads as a film)
FILM_MANIFEST_VERSION = 1


@dataclass
class FilmResult:
    """What a film render did: per scene, and in all."""

    out_dir: Path
    manifest: dict
    scenes: list[RenderResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def frames_rendered(self) -> int:
        return sum(r.frames_rendered for r in self.scenes)

    @property
    def frames_skipped(self) -> int:
        return sum(r.frames_skipped for r in self.scenes)

    @property
    def frames_from_store(self) -> int:
        return sum(r.frames_from_store for r in self.scenes)


def film_hash(film) -> str:
    """sha256 of the film spec's canonical JSON (every default filled in)."""
    return hashlib.sha256(film.spec.model_dump_json().encode()).hexdigest()


def film_run_record(film, opt: RenderOptions) -> dict:
    """The run record of a film's output folder: the format 1 record of its settings, with the
    film spec's hash (a changed scene, cast or set is another film)."""
    return {**run_record(film.edit, opt), "spec_sha256": film_hash(film), "film": True}


def scene_options(film, opt: RenderOptions) -> RenderOptions:
    """A scene's render options: the film's, without the cut (the film is cut once) or a bar of
    its own; a texture painter paints with the film's style (see the module doc)."""
    po = film_painter_options(film, opt.painter or film.spec.render.painter, opt.painter_options)
    return replace(opt, film=False, progress=False, shots=None, painter_options=po)


def film_painter_options(film, painter: str, options: dict | None) -> dict:
    """The painter options every scene of `film` paints with: a texture painter paints with
    the film's style, not the scene's (which carries its time of day), so an outfit or a set
    is painted once per film. The one place this rule lives: the render and the continuity
    report (which must compare what the render paints) both ask it."""
    from worldgen.paint.registry import painter_class

    out = dict(options or {})
    cls = painter_class(painter)
    if cls is not None and getattr(cls, "uses_textures", False):
        out.setdefault("lookdev_style", film.spec.style)
    return out


def voiced_scenes(film, voice_model: str | None) -> list:
    """Every scene's spec with its voices written out as the film deals them over its whole cast
    (sound/voices.cast_voices of the film's edit spec, with this render's --voice-model): each
    character's `voice` and each voice over's line `voice` (sound/voices.written_voice). So a
    scene's spec, and the spec.resolved.json its render writes, times every speaking frame's
    mouth by the voice the film's audio speaks with, without the rest of the film. A film whose
    voices cannot be dealt here (an engine 'model' voice without --voice-model) keeps its scenes
    as expanded: the lip sync then estimates every line in the scene as in the film."""
    from worldgen.sound.voices import VoiceError, cast_voices, written_voice
    from worldgen.spec.models import Spec

    try:
        dealt = {cid: written_voice(v) for cid, v in cast_voices(film.edit, voice_model).items()}
    except VoiceError:
        return [e.spec for e in film.scenes]
    out = []
    for e in film.scenes:
        data = e.spec.model_dump(mode="json", by_alias=True)
        for c in data["world"]["characters"]:
            c["voice"] = dealt[c["id"]]
        for shot in data["shots"]:
            for ln in shot.get("dialogue", []):
                if ln.get("voice") is not None:
                    ln["voice"] = dealt[ln["character"]]
        spec = Spec.model_validate(data)
        for name in ("_located", "_base_dir"):
            if hasattr(e.spec, name):
                object.__setattr__(spec, name, getattr(e.spec, name))
        out.append(spec)
    return out


def _scene_dir(out: Path, scene) -> Path:
    return out / SCENES_DIR / scene.scene.id


def film_lookdev(film, opt: RenderOptions) -> list[dict]:
    """Every scene's textures painted (or found in the cache) in scene order, before scenes run
    in parallel: a texture is painted once, by the first scene that shows it. Returns each
    scene's look-development counters (empty for painters without textures)."""
    from worldgen.paint.registry import make_painter, painter_class
    from worldgen.passes.sequence import Rasterizer
    from worldgen.world import World

    sopt = scene_options(film, opt)
    name = sopt.painter or film.spec.render.painter
    cls = painter_class(name)
    if not (opt.paint and cls is not None and getattr(cls, "uses_textures", False)):
        return []
    out = []
    for e in film.scenes:
        world = World(e.spec)
        raster = Rasterizer(world, opt.backend or e.spec.render.backend, with_local=False)
        painter = make_painter(name, world, raster, sopt.painter_options)
        painter.prepare(e.spec.shots)
        info = getattr(painter, "lookdev_info", {})
        out.append({"scene": e.scene.id, **{k: v for k, v in info.items() if k != "textures"}})
    return out


def render_film_spec(film, out_dir: str | Path, opt: RenderOptions | None = None) -> FilmResult:
    """Render every scene of `film` (a `worldgen.spec.film_loader.Film`) into
    `out_dir/scenes/<id>/`, cut film.mp4 from all of them, and write the film's manifest."""
    from worldgen.render.orchestrate import render

    opt = opt or RenderOptions()
    out = Path(out_dir)
    if opt.shots:
        raise SpecError("--shot: a film renders whole scenes (render one scene's shots from its own spec)")
    if opt.frames is not None:
        raise SpecError("a film's frames are reproduced from a scene's manifest (scenes/<id>/manifest.json)")
    if opt.paint and opt.film:
        from worldgen.edit.cut import check_before_frames

        check_before_frames(film.edit, film.base_dir, opt.voice_model, opt.music_model)
    claim_output(out, film_run_record(film, opt), opt.overwrite, outputs=(SCENES_DIR,))
    t0 = time.perf_counter()
    # the folder is this film's render (claimed above): a scene folder whose record differs
    # was rendered with other voices (another --voice-model writes other voices into the
    # scene's spec), and its outputs are replaced
    sopt = replace(scene_options(film, opt), overwrite=True)
    specs = voiced_scenes(film, opt.voice_model)
    fps = film.spec.render.fps
    total = sum(frame_count(s, fps) for e in film.scenes for s in e.spec.shots)
    result = FilmResult(out, {})
    with FrameProgress(opt.progress, total, film.title) as advance:
        if opt.executor == "ray":
            film_lookdev(film, opt)
            result.scenes = render_scenes_on_ray(film, specs, out, sopt, advance)
        else:
            for e, spec in zip(film.scenes, specs):
                result.scenes.append(render(spec, _scene_dir(out, e), sopt, advance=advance))
    result.timings["frames_s"] = time.perf_counter() - t0
    manifest = film_manifest(film, out, opt, result)
    if opt.paint and opt.film:
        from worldgen.edit.cut import cut_film

        store = None
        if opt.use_store:
            from worldgen.store import FrameStore

            store = FrameStore(opt.store)
        t1 = time.perf_counter()
        manifest.update(
            cut_film(
                film.edit,
                out,
                film_shots(out, film),
                store,
                opt.force,
                opt.voice_model,
                film.base_dir,
                opt.painter or film.spec.render.painter,
                loudness=opt.loudness,
                music_model=opt.music_model,
            )
        )
        result.timings["film_s"] = time.perf_counter() - t1
    write_resolved(film, out / RESOLVED)
    write_json(out / "manifest.json", manifest)
    result.manifest = manifest
    return result


def write_resolved(film, path: Path) -> None:
    import yaml

    from worldgen.io import atomic_write_bytes

    data = film.spec.model_dump(mode="json", by_alias=True)
    atomic_write_bytes(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode())


def film_shots(out: Path, film) -> list[dict]:
    """Every scene's manifest shots in film order, their output paths made relative to the
    film's folder (scenes/<id>/shots/...): what the cut reads its frames from."""
    shots = []
    for e in film.scenes:
        rel = f"{SCENES_DIR}/{e.scene.id}/"
        man = json.loads((_scene_dir(out, e) / "manifest.json").read_text())
        for s in man["shots"]:
            frames = [
                {k: (rel + v if k in PATH_KEYS or k.startswith("control_") else v) for k, v in f.items()}
                for f in s["frames"]
            ]
            shots.append({**s, "scene": e.scene.id, "frames": frames})
    return shots


PATH_KEYS = ("frame", "passes", "pose")


def film_manifest(film, out: Path, opt: RenderOptions, result: FilmResult) -> dict:
    """The film's manifest (docs/FILM.md, "Rendering a film"): the scenes in order, each with
    its folder and manifest, what it wore and moved, and what this run computed."""
    r = film.spec.render
    scenes = []
    for e, res in zip(film.scenes, result.scenes):
        folder = f"{SCENES_DIR}/{e.scene.id}"
        man = res.manifest
        entry = {
            "id": e.scene.id,
            "heading": e.scene.heading,
            "set": e.scene.set,
            "time": e.scene.time,
            "folder": folder,
            "manifest": f"{folder}/manifest.json",
            "spec_sha256": man.get("spec_sha256"),
            "shots": [s["id"] for s in man["shots"]],
            "frames": sum(s["frame_count"] for s in man["shots"]),
            "wardrobe": dict(e.wardrobe),
            "wardrobe_changed": sorted(e.changed_wardrobe),
            "props_changed": sorted(e.moved_props),
            "frames_this_run": man.get("frames_this_run"),
        }
        if "painter_stats" in man:
            look = man["painter_stats"].get("lookdev")
            if look:
                entry["lookdev"] = look
        scenes.append(entry)
    looks = [s["lookdev"] for s in scenes if "lookdev" in s]
    manifest = {
        "manifest_version": FILM_MANIFEST_VERSION,
        "kind": "film",
        "title": film.title,
        "seed": film.spec.seed,
        "spec_sha256": film_hash(film),
        "spec": RESOLVED,
        "spec_base_dir": str(Path(film.base_dir).resolve()),
        "width": r.width,
        "height": r.height,
        "fps": r.fps,
        "painter": (opt.painter or r.painter) if opt.paint else None,
        "executor": opt.executor,
        "run": film_run_record(film, opt),
        "versions": versions(),
        "scenes": scenes,
        "shots": [{"id": s.id, "scene": e.scene.id} for e in film.scenes for s in e.spec.shots],
        "frames_this_run": {
            "rendered": result.frames_rendered,
            "from_store": result.frames_from_store,
            "already_there": result.frames_skipped,
        },
    }
    if looks:
        manifest["lookdev"] = {k: sum(x.get(k, 0) for x in looks) for k in ("units", "painted", "from_cache")}
    return manifest


def render_scene_task(spec_json: str, base_dir: str, out: str, opt_fields: dict) -> dict:
    """One Ray task: a whole scene rendered locally into its folder, as `render` does it (the
    scene's spec carries its voices: voiced_scenes)."""
    from worldgen.render.orchestrate import render
    from worldgen.spec import load_spec_text

    spec = load_spec_text(spec_json, "<scene spec>", base_dir=Path(base_dir), check=False)
    res = render(spec, out, RenderOptions(**opt_fields))
    return {
        "manifest": res.manifest,
        "rendered": res.frames_rendered,
        "skipped": res.frames_skipped,
        "from_store": res.frames_from_store,
    }


def render_scenes_on_ray(film, specs: list, out: Path, sopt: RenderOptions, advance) -> list[RenderResult]:
    """The scenes as parallel Ray tasks (a local instance, or the cluster at --address; the
    output folder and the store must then be on storage every node sees). A worker that dies
    loses only its unfinished frames: Ray retries the task and the scene's render resumes."""
    try:
        import ray
    except ImportError:
        from worldgen.errors import BackendError

        raise BackendError("--executor ray needs Ray: pip install 'worldgen[ray]' (or pip install ray)") from None
    from dataclasses import fields

    from worldgen.render.ray_executor import RETRIES, start_ray

    started = start_ray(sopt)
    opt_fields = {f.name: getattr(sopt, f.name) for f in fields(sopt)}
    opt_fields.update(progress=False, executor="local", jobs=1)  # Ray runs the scenes side by side
    task = ray.remote(max_retries=RETRIES, retry_exceptions=False)(render_scene_task)
    fps = film.spec.render.fps
    refs = {}
    for k, (e, spec) in enumerate(zip(film.scenes, specs)):
        ref = task.remote(
            spec.model_dump_json(), str(Path(film.base_dir).resolve()), str(_scene_dir(out, e)), opt_fields
        )
        refs[ref] = (k, sum(frame_count(s, fps) for s in spec.shots))
    results: list[RenderResult | None] = [None] * len(film.scenes)
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                got = ray.get(ref)
                k, n = refs[ref]
                results[k] = RenderResult(
                    _scene_dir(out, film.scenes[k]),
                    got["manifest"],
                    got["rendered"],
                    got["skipped"],
                    got["from_store"],
                )
                advance(n)
    finally:
        if started and not sopt.ray_address:
            ray.shutdown()
    return results
