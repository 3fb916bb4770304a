"""OpenTimelineIO (.otio): the film's edit as an editor sees it, one video track with one clip
per shot in film order, each as long as its frames at the film's fps.

With a render folder the clips point at the rendered media: each shot's PNG sequence
(`shots/<id>/frames/`) or its range of film.mp4. Without one, or where a shot's media is not
there (not rendered, incomplete), the clip keeps a MissingReference that says what is expected,
so the edit still opens and relinks once the render exists."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from worldgen.errors import BackendError, WorldgenError
from worldgen.export.scene import ShotTiming, shot_timings
from worldgen.io import atomic_write_bytes
from worldgen.spec.models import Spec

MEDIA_KINDS = ("frames", "film")
FRAME_DIGITS = 6  # shots/<id>/frames/NNNNNN.png (see docs/MANIFEST.md)


def import_otio():
    try:
        import opentimelineio
    except ImportError:
        raise BackendError("exporting .otio needs OpenTimelineIO: pip install opentimelineio") from None
    return opentimelineio


@dataclass
class RenderedMedia:
    """What a render folder holds for this spec: complete frame folders and the film's cut."""

    root: Path
    frames: dict[str, Path] = field(default_factory=dict)  # shot id -> folder with all its frames
    film: Path | None = None
    film_cut: list[tuple[str, int]] = field(default_factory=list)  # (shot id, frames) in film order
    incomplete: dict[str, str] = field(default_factory=dict)  # shot id -> why its frames are not used


def _read_manifest(spec: Spec, root: Path) -> dict | None:
    path = root / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise WorldgenError(f"{path}: not a readable manifest ({type(e).__name__})") from None
    if not isinstance(manifest, dict):
        raise WorldgenError(f"{path}: not a worldgen manifest")
    from worldgen.spec.identity import spec_hash

    if manifest.get("spec_sha256") != spec_hash(spec):
        raise WorldgenError(
            f"{root}: holds a render of another spec; export with the spec it was rendered from, "
            f"or render this one there first"
        )
    return manifest


def find_rendered_media(spec: Spec, render_dir: Path) -> RenderedMedia:
    root = Path(render_dir)
    if not root.is_dir():
        raise WorldgenError(f"{root}: no such render folder (make one with: worldgen render SPEC -o {root})")
    manifest = _read_manifest(spec, root)
    media = RenderedMedia(root.resolve())
    for t in shot_timings(spec):
        folder = root / "shots" / t.shot.id / "frames"
        have = 0
        if folder.is_dir():
            have = sum((folder / f"{i:0{FRAME_DIGITS}d}.png").is_file() for i in range(t.frame_count))
        if have == t.frame_count:
            media.frames[t.shot.id] = folder.resolve()
        else:
            media.incomplete[t.shot.id] = f"{have} of {t.frame_count} frames in {folder}"
    film = root / "film.mp4"
    if manifest is not None and manifest.get("film") and film.is_file():
        media.film = film.resolve()
        media.film_cut = [(s["id"], int(s["frame_count"])) for s in manifest.get("shots", [])]
    return media


def _missing(otio, t: ShotTiming, why: str):
    return otio.schema.MissingReference(
        name=t.shot.id, metadata={"worldgen": {"expected": f"shots/{t.shot.id}/frames/ or film.mp4", "why": why}}
    )


def _frames_reference(otio, t: ShotTiming, folder: Path):
    rate = t.fps
    return otio.schema.ImageSequenceReference(
        target_url_base=folder.as_uri() + "/",
        name_prefix="",
        name_suffix=".png",
        start_frame=0,
        frame_step=1,
        rate=rate,
        frame_zero_padding=FRAME_DIGITS,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(t.frame_count, rate)
        ),
    )


def _clip(otio, t: ShotTiming, media: RenderedMedia | None, kind: str):
    """A shot's clip: its media reference and the range of that media it plays."""
    rate = t.fps
    start = 0
    if media is None:
        ref = _missing(otio, t, "no render folder given (--render DIR)")
    elif kind == "frames":
        folder = media.frames.get(t.shot.id)
        ref = _frames_reference(otio, t, folder) if folder else _missing(otio, t, media.incomplete[t.shot.id])
    else:
        cut = dict(media.film_cut)
        if media.film is None or t.shot.id not in cut or cut[t.shot.id] != t.frame_count:
            ref = _missing(otio, t, f"not in {media.root / 'film.mp4'}")
        else:
            start = sum(n for _, n in media.film_cut[: [s for s, _ in media.film_cut].index(t.shot.id)])
            total = sum(n for _, n in media.film_cut)
            ref = otio.schema.ExternalReference(
                target_url=media.film.as_uri(),
                available_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(total, rate)
                ),
            )
    shot = t.shot
    meta = {
        "worldgen": {
            "shot": shot.id,
            "world_start": shot.start,
            "duration": shot.duration,
            "frame_count": t.frame_count,
            "film_start_frame": t.film_start,
            "prompt": shot.prompt,
        }
    }
    source = otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(t.frame_count, rate)
    )
    return otio.schema.Clip(name=shot.id, media_reference=ref, source_range=source, metadata=meta)


def build_timeline(spec: Spec, render_dir: Path | None = None, media: str = "frames"):
    """The film's edit as an OTIO Timeline (shots cut in spec order, as film.mp4 is)."""
    if media not in MEDIA_KINDS:
        raise WorldgenError(f"--media: '{media}' is not one of {', '.join(MEDIA_KINDS)}")
    otio = import_otio()
    found = find_rendered_media(spec, render_dir) if render_dir is not None else None
    rate = spec.render.fps
    from worldgen.edit.cut import uses_edit

    if uses_edit(spec):  # title, transitions, credits and the sound: docs/FILM.md
        from worldgen.export.otio_edit import edited_timeline

        # shots link their frames either way: film.mp4 has the transitions and cards baked in
        return edited_timeline(otio, spec, shot_timings(spec), found, lambda t: _clip(otio, t, found, "frames"))
    track = otio.schema.Track(name="film", kind=otio.schema.TrackKind.Video)
    for t in shot_timings(spec):
        track.append(_clip(otio, t, found, media))
    return otio.schema.Timeline(
        name=spec.title,
        tracks=[track],
        global_start_time=otio.opentime.RationalTime(0, rate),
        metadata={"worldgen": {"fps": rate, "seed": spec.seed}},
    )


def write_otio(spec: Spec, path: Path, render_dir: Path | None = None, media: str = "frames") -> None:
    timeline = build_timeline(spec, render_dir, media)
    text = import_otio().adapters.write_to_string(timeline, "otio_json")
    atomic_write_bytes(Path(path), (text + "\n").encode("utf-8"))
