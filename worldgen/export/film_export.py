"""Exporting a film (format 2): its edit as one OpenTimelineIO timeline with a nested sequence
per scene, and its sets as 3D files: one USD layer per set under a root stage, or one glTF
per set.

The timeline is the film's own edit (`Film.edit`: every shot in film order, with the title,
transitions, credits and the dialogue and music tracks when the film has them, exactly as
worldgen.export.otio builds it for a format 1 spec), regrouped: each scene's run of clips
becomes a Stack holding one Track, named after the scene, so an editor sees scenes as nested
sequences and shots as clips. Clips link each shot's PNG sequence in `scenes/<id>/shots/` of a
film render folder (`--render DIR`).

A set is exported as its first scene shows it (that scene's props and lights, and its shots'
cameras; no cast: people belong to scenes, not places); each set's customData lists the scenes
that play there and what each changed, which `worldgen continuity` measures."""

from __future__ import annotations

import re
from pathlib import Path

from worldgen.errors import WorldgenError
from worldgen.io import atomic_write_bytes


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]", "_", name)


# ---- the timeline -------------------------------------------------------------------------------
def film_media(film, render_dir: Path):
    """The rendered media of a film folder as one RenderedMedia: every scene's complete frame
    folders (each scene's manifest must be of that scene's spec), the film's edit record."""
    from worldgen.export.otio import RenderedMedia, find_rendered_media
    from worldgen.render.film_render import SCENES_DIR, film_hash, voiced_scenes

    root = Path(render_dir)
    if not root.is_dir():
        raise WorldgenError(f"{root}: no such render folder (make one with: worldgen render FILM -o {root})")
    import json

    man = root / "manifest.json"
    if man.is_file() and json.loads(man.read_text()).get("spec_sha256") != film_hash(film):
        raise WorldgenError(f"{root}: holds a render of another spec; export with the film it was rendered from")
    merged = RenderedMedia(root.resolve())
    voiced: dict = {}  # a scene was rendered from its spec with the voices the film dealt it
    for k, e in enumerate(film.scenes):
        folder = root / SCENES_DIR / e.scene.id
        if folder.is_dir():
            scene_man = folder / "manifest.json"
            try:  # an unreadable manifest is reported by find_rendered_media, in one line
                model = json.loads(scene_man.read_text()).get("voice_model")
            except (OSError, ValueError, AttributeError):
                model = None
            if model not in voiced:
                voiced[model] = voiced_scenes(film, model)
            found = find_rendered_media(voiced[model][k], folder)
            merged.frames.update(found.frames)
            merged.incomplete.update(found.incomplete)
        else:
            for s in e.spec.shots:
                merged.incomplete[s.id] = f"scene '{e.scene.id}' not rendered in {folder}"
    return merged


def film_timeline(film, render_dir: Path | None = None):
    """The film's edit as an OTIO Timeline, each scene a nested sequence (Stack of one Track)."""
    from worldgen.edit.cut import uses_edit
    from worldgen.export.otio import _clip, import_otio
    from worldgen.export.scene import shot_timings

    otio = import_otio()
    spec = film.edit
    found = film_media(film, render_dir) if render_dir is not None else None
    timings = shot_timings(spec)
    scene_of = {s.id: e for e in film.scenes for s in e.spec.shots}

    def clip_for(t):
        c = _clip(otio, t, found, "frames")
        c.metadata["worldgen"]["scene"] = scene_of[t.shot.id].scene.id
        return c

    rate = spec.render.fps
    if uses_edit(spec):
        from worldgen.export.otio_edit import edited_timeline

        flat = edited_timeline(otio, spec, timings, found, clip_for)
    else:
        track = otio.schema.Track(name="film", kind=otio.schema.TrackKind.Video)
        for t in timings:
            track.append(clip_for(t))
        flat = otio.schema.Timeline(
            name=spec.title, tracks=[track], global_start_time=otio.opentime.RationalTime(0, rate)
        )
    tracks = list(flat.tracks)
    while len(flat.tracks):
        flat.tracks.pop()
    video = tracks[0]
    items = list(video)
    while len(video):
        video.pop()
    nested = otio.schema.Track(name="film", kind=otio.schema.TrackKind.Video)
    current, inner, pending = None, None, []
    for k, item in enumerate(items):
        scene = item.metadata.get("worldgen", {}).get("scene") if isinstance(item, otio.schema.Clip) else None
        if isinstance(item, otio.schema.Transition):
            nxt = next((i for i in items[k + 1 :] if isinstance(i, otio.schema.Clip)), None)
            same = nxt is not None and current is not None and nxt.metadata["worldgen"]["scene"] == current
            (inner if same else pending).append(item)
            continue
        if scene is None:  # title or credits
            current = None
            nested.extend(pending)
            pending = []
            nested.append(item)
            continue
        if scene != current:
            e = next(x for x in film.scenes if x.scene.id == scene)
            nested.extend(pending)
            pending = []
            inner = otio.schema.Track(name=scene, kind=otio.schema.TrackKind.Video)
            stack = otio.schema.Stack(
                name=scene,
                metadata={
                    "worldgen": {
                        "scene": scene,
                        "heading": e.scene.heading,
                        "set": e.scene.set,
                        "time": e.scene.time,
                        "wardrobe": dict(e.wardrobe),
                    }
                },
            )
            stack.append(inner)
            nested.append(stack)
            current = scene
        inner.append(item)
    nested.extend(pending)
    meta = dict(flat.metadata.get("worldgen", {}))
    meta.update(film=True, scenes=[e.scene.id for e in film.scenes])
    return otio.schema.Timeline(
        name=film.title,
        tracks=[nested] + tracks[1:],
        global_start_time=otio.opentime.RationalTime(0, rate),
        metadata={"worldgen": meta},
    )


# ---- the sets ----------------------------------------------------------------------------------
def set_specs(film) -> list[tuple[str, object, list]]:
    """(set id, the spec of its first scene without the cast, the scenes that play there)."""
    out = []
    for s in film.spec.sets:
        scenes = [e for e in film.scenes if e.scene.set == s.id]
        if not scenes:
            continue
        first = scenes[0].spec
        world = first.world.model_copy(update={"characters": []})
        out.append((s.id, first.model_copy(update={"world": world}), scenes))
    return out


def _scenes_record(scenes) -> list[dict]:
    return [{"scene": e.scene.id, "time": e.scene.time, "changed": sorted(e.moved_props)} for e in scenes]


def _export_scene(spec):
    from worldgen.export.scene import build_export_scene
    from worldgen.world import World

    return build_export_scene(spec, World(spec))


def write_film_usd(film, path: Path) -> list[Path]:
    """A root stage `path` with /Film/<set> referencing one layer per set, written beside it in
    `<stem>.sets/<set>.usda`. Returns the files written."""
    from worldgen.export.usd import import_pxr, usda_text

    Gf, Sdf, Tf, Usd, UsdGeom, UsdShade, Vt = import_pxr()
    path = Path(path)
    folder = path.with_name(f"{path.stem}.sets")
    folder.mkdir(parents=True, exist_ok=True)
    # the root layer is written with Sdf (no composition here): the references resolve, relative
    # to the root file, in whatever tool opens it
    layer = Sdf.Layer.CreateAnonymous(".usda")
    layer.pseudoRoot.SetInfo("upAxis", "Y")
    layer.pseudoRoot.SetInfo("metersPerUnit", 1.0)
    layer.defaultPrim = "Film"
    root = Sdf.PrimSpec(layer, "Film", Sdf.SpecifierDef, "Xform")
    scene_ids = Vt.StringArray([e.scene.id for e in film.scenes])
    root.customData = {"worldgen": {"title": film.title, "scenes": scene_ids}}
    written = []
    for sid, spec, scenes in set_specs(film):
        set_layer = folder / f"{_safe(sid)}.usda"
        atomic_write_bytes(set_layer, usda_text(_export_scene(spec)).encode("utf-8"))
        written.append(set_layer)
        prim = Sdf.PrimSpec(root, Tf.MakeValidIdentifier(sid), Sdf.SpecifierDef, "Xform")
        prim.referenceList.Prepend(Sdf.Reference(f"./{folder.name}/{set_layer.name}"))
        changed = {rec["scene"]: Vt.StringArray(rec["changed"]) for rec in _scenes_record(scenes)}
        ids = Vt.StringArray([e.scene.id for e in scenes])
        prim.customData = {"worldgen": {"set": sid, "scenes": ids, "changed": changed}}
    atomic_write_bytes(path, layer.ExportToString().encode("utf-8"))
    return [path] + written


def write_film_gltf(film, path: Path) -> list[Path]:
    """One glTF per set: `path` with the set's id before the extension (film.glb ->
    film.wall.glb, film.boathouse.glb). Returns the files written."""
    from worldgen.export.gltf import write_gltf

    path = Path(path)
    written = []
    for sid, spec, _ in set_specs(film):
        p = path.with_name(f"{path.stem}.{_safe(sid)}{path.suffix}")
        write_gltf(_export_scene(spec), p)
        written.append(p)
    return written


def export_film(film, path: Path, render_dir: Path | None = None) -> str:
    """Write `film` to `path` in the format its extension names; returns a one-line summary."""
    from worldgen.export.formats import format_of, require_library

    suffix = format_of(path)
    require_library(suffix)
    path = Path(path)
    try:
        if suffix == ".otio":
            from worldgen.export.otio import import_otio

            timeline = film_timeline(film, render_dir)
            text = import_otio().adapters.write_to_string(timeline, "otio_json")
            atomic_write_bytes(path, (text + "\n").encode("utf-8"))
            shots = sum(len(e.spec.shots) for e in film.scenes)
            return f"{len(film.scenes)} scenes, {shots} clips at {film.spec.render.fps:g} fps"
        files = write_film_usd(film, path) if suffix == ".usda" else write_film_gltf(film, path)
    except OSError as e:
        raise WorldgenError(f"{path}: cannot write ({e.strerror or type(e).__name__})") from None
    extra = " (--render applies to .otio only; ignored)" if render_dir is not None else ""
    return f"{len(set_specs(film))} sets: " + ", ".join(str(f) for f in files) + extra
