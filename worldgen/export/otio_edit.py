"""OpenTimelineIO of an edited film (a spec with dialogue, transitions, sound or an edit
block): the video track as the cut made it (a title gap, shots trimmed around their
dissolves and wipes with OTIO transitions between them, a credits gap) and audio tracks for
the dialogue (a clip per line) and the music (a clip per cue), pointing at the render's stems.

A dissolve of k frames in the film is the transition an editor would make around the cut:
k//2 frames before it and the rest after, the outgoing clip ending at the cut and the incoming
one starting there, each keeping the frames under the transition as handles. Line times
come from the render's film-edit.json (a line's length is its speech), so without a render the
dialogue track holds the lines' starts only as markers."""

from __future__ import annotations

import json
from pathlib import Path


def _rt(otio, frames: float, rate: float):
    return otio.opentime.RationalTime(frames, rate)


def _range(otio, start: float, length: float, rate: float):
    return otio.opentime.TimeRange(_rt(otio, start, rate), _rt(otio, length, rate))


def edited_timeline(otio, spec, timings, found, clip_for):
    """`clip_for(timing)`: the shot's clip as the plain export makes it (media and metadata)."""
    from worldgen.edit.timeline import build_timeline

    rate = spec.render.fps
    tl = build_timeline(spec, [t.frame_count for t in timings])
    video = otio.schema.Track(name="film", kind=otio.schema.TrackKind.Video)
    if tl.title_frames:
        video.append(otio.schema.Gap(name="title", source_range=_range(otio, 0, tl.title_frames, rate)))
    overlaps = []
    for i, t in enumerate(timings):  # frames each shot shares with the one before
        k = tl.shot_end[i - 1] - tl.shot_start[i] if i else 0
        overlaps.append(k)
    for i, t in enumerate(timings):
        k_in, k_out = overlaps[i], overlaps[i + 1] if i + 1 < len(timings) else 0
        # OTIO: a transition spans in_offset frames before the cut and out_offset after it; the
        # outgoing clip ends at the cut (its next out_offset frames are handles), the incoming
        # one starts there (its first in_offset frames are handles)
        head = k_in // 2
        tail = k_out - k_out // 2
        clip = clip_for(t)
        start = clip.source_range.start_time.value + head
        clip.source_range = _range(otio, start, t.frame_count - head - tail, rate)
        if k_in:
            kind = spec.shots[i].transition.type
            video.append(
                otio.schema.Transition(
                    name=f"{kind} {timings[i - 1].shot.id} -> {t.shot.id}",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve
                    if kind == "dissolve"
                    else "Custom_Transition",
                    in_offset=_rt(otio, k_in // 2, rate),
                    out_offset=_rt(otio, k_in - k_in // 2, rate),
                    metadata={"worldgen": {"type": kind, "frames": k_in}},
                )
            )
        tr = spec.shots[i].transition
        if tr is not None and tr.type == "fade":
            clip.metadata["worldgen"]["fade"] = {"duration": tr.duration, "through": "black"}
        video.append(clip)
    if tl.credit_frames:
        video.append(otio.schema.Gap(name="credits", source_range=_range(otio, 0, tl.credit_frames, rate)))
    tracks = [video]
    info = _edit_record(found)
    tracks.append(_dialogue_track(otio, spec, tl, info, found, rate))
    tracks.append(_music_track(otio, spec, tl, info, found, rate))
    return otio.schema.Timeline(
        name=spec.title,
        tracks=tracks,
        global_start_time=_rt(otio, 0, rate),
        metadata={"worldgen": {"fps": rate, "seed": spec.seed, "edited": True}},
    )


def _edit_record(found) -> dict | None:
    if found is None:
        return None
    path = Path(found.root) / "film-edit.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _stem(otio, found, name: str, total: int, rate: float):
    path = Path(found.root) / "stems" / f"{name}.wav" if found is not None else None
    if path is None or not path.is_file():
        return otio.schema.MissingReference(name=name, metadata={"worldgen": {"expected": f"stems/{name}.wav"}})
    return otio.schema.ExternalReference(
        target_url=path.resolve().as_uri(), available_range=_range(otio, 0, total, rate)
    )


def _place(otio, track, items, total: int, rate: float, ref_for) -> None:
    """Clips at film frames [(name, start, end, metadata)] with gaps between them."""
    cursor = 0
    for name, a, b, meta in sorted(items, key=lambda x: x[1]):
        a, b = max(a, cursor), min(b, total)
        if b <= a:
            continue
        if a > cursor:
            track.append(otio.schema.Gap(source_range=_range(otio, 0, a - cursor, rate)))
        track.append(
            otio.schema.Clip(
                name=name,
                media_reference=ref_for(),
                source_range=_range(otio, a, b - a, rate),
                metadata={"worldgen": meta},
            )
        )
        cursor = b


def _dialogue_track(otio, spec, tl, info, found, rate):
    track = otio.schema.Track(name="dialogue", kind=otio.schema.TrackKind.Audio)
    total = len(tl.frames)
    if info is not None:
        items = [
            (f"{ln['character']}: {ln['line']}", round(ln["start"] * rate), round(ln["end"] * rate), ln)
            for ln in info["lines"]
        ]
        _place(otio, track, items, total, rate, lambda: _stem(otio, found, "dialogue", total, rate))
    else:  # no render: where each line starts (its length is its speech, known once spoken)
        for i, shot in enumerate(spec.shots):
            for ln in shot.dialogue:
                if ln.at is not None:
                    track.markers.append(
                        otio.schema.Marker(
                            name=f"{ln.character}: {ln.line}",
                            marked_range=_range(otio, tl.shot_start[i] + round(ln.at * rate), 0, rate),
                        )
                    )
    return track


def _music_track(otio, spec, tl, info, found, rate):
    track = otio.schema.Track(name="music", kind=otio.schema.TrackKind.Audio)
    total = len(tl.frames)
    if info is not None:
        items = [
            (m.get("mood") or m.get("file", "music"), round(m["start"] * rate), round(m["end"] * rate), m)
            for m in info["music"]
        ]
    else:
        from worldgen.sound.mix import _span

        starts, ends = [tl.seconds(f) for f in tl.shot_start], [tl.seconds(f) for f in tl.shot_end]
        items = []
        for cue in spec.sound.music if spec.sound else []:
            t0, t1 = _span(spec, cue, starts, ends, tl.duration)
            items.append(
                (
                    cue.mood or cue.file or "music",
                    round(t0 * rate),
                    round(t1 * rate),
                    {"from": cue.start, "to": cue.end},
                )
            )
    _place(otio, track, items, total, rate, lambda: _stem(otio, found, "music", total, rate))
    return track
