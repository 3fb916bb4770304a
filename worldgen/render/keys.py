"""Content keys: a digest of exactly what decides each output of a frame (the world, the camera,
the size, the backend, and for a painted frame the painter, style and prompt), so that the
frame store can hand back what was computed before (see worldgen.store)."""

from __future__ import annotations

from worldgen import __version__
from worldgen.passes.hits_model import HITS_MODEL
from worldgen.spec.models import CHARACTER_EDIT_FIELDS, EDIT_FIELDS, Spec


def world_digest(spec: Spec, world) -> tuple[str, str]:
    """(geometry digest, full digest) of everything of the world that reaches a pixel: the world
    block, the seed, and the bytes of every asset file it loads."""
    from worldgen.assets import resolve_asset
    from worldgen.store import digest, file_digest

    assets = {}
    refs = [o.mesh for o in spec.world.objects if o.mesh] + [c.asset for c in spec.world.characters if c.asset]
    for ref in refs:
        assets[ref] = file_digest(resolve_asset(ref, world.base_dir))
    # a character's voice reaches the edit only: a new voice re-cuts the film, never a frame
    full = spec.world.model_dump(mode="json", exclude={"characters": {"__all__": set(CHARACTER_EDIT_FIELDS)}})
    geometry = {
        "objects": [{k: v for k, v in o.items() if k != "appearance"} for o in full["objects"]],
        "characters": [{k: v for k, v in c.items() if k != "appearance"} for c in full["characters"]],
    }
    # passes depend on the geometry only; painted frames on everything (appearance, lights)
    return (
        digest({"world": geometry, "seed": spec.seed, "assets": assets, "worldgen": __version__}),
        digest({"world": full, "seed": spec.seed, "assets": assets, "worldgen": __version__}),
    )


def shot_camera_path(shot) -> dict:
    """What a shot's frames depend on besides the world: its camera and timing, not its id, its
    words (prompt and style reach painted frames through their own key) or its edit fields."""
    return shot.model_dump(mode="json", exclude={"id", "prompt", "style", *EDIT_FIELDS})


def speaking_mouths(spec: Spec, world, voice_model: str | None = None, store=None) -> dict:
    """shot id -> {character: (opening, width) per frame} of the characters with a mouth (the
    proxy's, a rigged asset's jaw bone or mouth morph target) that speak in
    it (what the frames of that shot show of the dialogue, timed by the voices' phones:
    worldgen.sound.lipsync; `store` keeps the spoken lines for the cut)."""
    from worldgen.sound.lipsync import shot_mouths

    out = {}
    for sid, chars in shot_mouths(spec, voice_model, store).items():
        kept = {cid: v for cid, v in chars.items() if world.characters[cid].has_mouth}
        if kept:
            out[sid] = kept
    return out


def mouth_key(chars: dict | None, i: int) -> dict | None:
    """The mouths frame i depends on: its own and its neighbours' (the flow looks at both)."""
    if not chars:
        return None
    out = {}
    for cid, (opening, width) in sorted(chars.items()):
        js = [min(max(j, 0), len(opening) - 1) for j in (i - 1, i, i + 1)]
        out[cid] = [[opening[j], width[j]] for j in js]
    return out


def frame_keys(
    wd: tuple,
    shot,
    camera_path: dict,
    i: int,
    spec: Spec,
    backend: str,
    people: bool,
    painter_id,
    paths: dict,
    mouths: dict | None = None,
) -> dict:
    """Output name -> (content key, store kind). Passes, control images and poses depend on the
    world and the camera; a painted frame also on the painter, the style and the prompt. In a
    shot where a character speaks, all of them also depend on its mouth (`mouths`, mouth_key);
    frames of shots where nobody speaks keep the keys they had before lip sync."""
    from worldgen.store import digest

    r = spec.render
    wd_geometry, wd_full = wd
    what = {
        "world": wd_geometry,
        "shot": camera_path,
        "index": i,
        "size": [r.width, r.height],
        "fps": r.fps,
        "backend": backend,
        "hits_model": HITS_MODEL,
        "people": people,
    }
    if mouths:
        what["mouths"] = mouths
    geometry = digest(what)
    out = {}
    for name, path in paths.items():
        kind = name.replace("_", "-") + "." + path.rsplit(".", 1)[1]
        if name == "frame":
            key = digest(
                {
                    "geometry": geometry,
                    "world": wd_full,
                    "painter": painter_id,
                    "style": shot.style or spec.style,
                    "prompt": shot.prompt,
                    "shot": shot.id,
                }
            )
        else:
            key = geometry
        out[name] = (key, kind)
    return out
