"""The film from the rendered shots: for a spec without dialogue, sound or edit blocks, the
plain cut (film.mp4 silent, as format 1 always made it, byte for byte); otherwise the edit:
timeline, grade, cards, lower thirds, subtitles, the mix, and film.mp4 with AAC stereo 48 kHz.

The edit is keyed in the store apart from the frames (the frames' keys plus everything of the
spec the edit reads), so a re-cut with the same inputs links its outputs, and a changed title
or grade re-encodes without rendering a frame. Every output is written atomically; a killed
cut leaves only whole files, and the next run cuts again from the stored frames and voices."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from worldgen import __version__
from worldgen.io import atomic_write_bytes

STEMS = ("dialogue", "music", "ambience", "mix")
# everything a cut may write into a render folder (an --overwrite clears them with the frames)
EDIT_OUTPUTS = (
    "film.mp4",
    "contact_sheet.png",
    "film-edit.json",
    "film.srt",
    "film.vtt",
    "lipsync.json",
    "grade.cube",
    "stems",
)


def uses_edit(spec) -> bool:
    return bool(spec.sound or spec.edit or any(s.dialogue or s.transition for s in spec.shots))


@dataclass
class EditPlan:
    """What a film's cut is made from, decided once: the characters' voices, the music model
    actually used, the content key of the cut and the store kind of each of its outputs."""

    voices: dict
    music_model: str | None
    key: str
    kinds: dict


def edit_plan(spec, shots, voice_model, base_dir: Path, loudness=None, music_model=None) -> EditPlan:
    """The EditPlan of a film with an edit; `shots`: the manifest's shots (their frames' keys)."""
    from worldgen.sound.voices import cast_voices, voice_identity
    from worldgen.store import digest

    voices = cast_voices(spec, voice_model)
    composed = bool(spec.sound and any(c.file is None for c in spec.sound.music))
    music_model = music_model if composed else None  # nothing to generate: the model changes nothing
    midi_score = composed and not music_model and _midi_available()
    key = digest(
        {
            "frames": [f["keys"].get("frame") for s_ in shots for f in s_["frames"]],
            "fps": spec.render.fps,
            "spec": _edit_inputs(spec),
            "files": _file_digests(spec, base_dir),
            "voices": {c: voice_identity(v, voice_model) for c, v in voices.items()},
            "worldgen": __version__,
            "score_synth": "midi" if midi_score else ("musicgen" if music_model else "numpy"),
            "music_model": _music_identity(music_model),
            "loudness": loudness,
        }
    )
    names = ["film.mp4", "contact_sheet.png", "film-edit.json"] + [f"stems/{s}.wav" for s in STEMS]
    if midi_score:
        names.append("stems/score.mid")
    if any(s.dialogue for s in spec.shots):
        names += ["film.srt", "film.vtt", "lipsync.json"]
    user_lut = spec.edit is not None and spec.edit.grade is not None and spec.edit.grade.lut
    if not user_lut and built_in_look(spec) != "none":  # no LUT built here
        names.append("grade.cube")
    return EditPlan(voices, music_model, key, {n: "edit-" + n.replace("/", "-") for n in names})


def cut_film(
    spec,
    out: Path,
    shots: list,
    store,
    force: bool = False,
    voice_model: str | None = None,
    base_dir: Path | None = None,
    painter: str | None = None,
    loudness: float | None = None,
    music_model: str | None = None,
    ahead=None,
) -> dict:
    """Write the film (and its sidecars) into `out`; return the manifest's entries for them.
    `painter`: the painter that made the frames (the credits name it; default: the spec's).
    `loudness` (LUFS, the render's --loudness) overrides the spec's sound.loudness.
    `music_model`: a MusicGen folder (--music-model) that generates the composed cues.
    `ahead`: the mix started while the frames rendered (mix_ahead), used if the cut is made."""
    from worldgen.film import contact_sheet, encode_film
    from worldgen.store import digest

    r = spec.render
    frame_keys = [f["keys"].get("frame") for s_ in shots for f in s_["frames"]]
    if not uses_edit(spec):
        film_key = digest({"frames": frame_keys, "fps": r.fps, "title": spec.title, "worldgen": __version__})
        for name, make in (
            ("film.mp4", lambda p: encode_film(out, shots, p, r.fps)),
            ("contact_sheet.png", lambda p: contact_sheet(out, shots, p, spec.title)),
        ):
            if force or store is None or not store.link(film_key, name, out / name):
                make(out / name)
                if store is not None:
                    store.adopt(film_key, name, out / name)
        return {"film": "film.mp4", "contact_sheet": "contact_sheet.png"}
    base_dir = base_dir or Path.cwd()
    # the mix started beside the frames decided the same plan: its voices, key and outputs
    plan = ahead.plan if ahead is not None else edit_plan(spec, shots, voice_model, base_dir, loudness, music_model)
    voices, music_model, edit_key, kinds = plan.voices, plan.music_model, plan.key, plan.kinds
    if not force and store is not None and all(store.has(edit_key, k) for k in kinds.values()):
        (out / "stems").mkdir(exist_ok=True)
        for n, k in kinds.items():
            store.link(edit_key, k, out / n)
        return _entries(json.loads((out / "film-edit.json").read_text()))
    info = _cut(
        spec,
        out,
        shots,
        store,
        voices,
        voice_model,
        base_dir,
        painter or spec.render.painter,
        loudness=loudness,
        music_model=music_model,
        ahead=ahead,
    )
    contact_sheet(out, shots, out / "contact_sheet.png", spec.title)
    if store is not None:
        for n, k in kinds.items():
            store.adopt(edit_key, k, out / n)
    return _entries(info)


def film_mix(spec, frame_counts, voices, store, voice_model, base_dir, loudness, music_model):
    """(timeline, mix) of the film: what the sound needs is the shots' lengths, not their pixels."""
    from worldgen.edit.timeline import build_timeline
    from worldgen.sound.mix import mix_film
    from worldgen.sound.voices import speak

    tl = build_timeline(spec, frame_counts)
    mix = mix_film(
        spec,
        tl.duration,
        [tl.seconds(f) for f in tl.shot_start],
        [tl.seconds(f) for f in tl.shot_end],
        lambda cid, text: speak(voices[cid], text, store, voice_model),
        base_dir,
        loudness,
        music_model,
        store,
    )
    return tl, mix


class MixAhead:
    """The film's mix computed in a thread while the frames render: what the sound needs is the
    shots' lengths, and voices, score and ambience are mostly numpy, scipy and subprocess work
    that can overlap the frames' instead of adding to the wait at the end. `result()` gives
    film_mix's (timeline, mix), or raises its error, as if the cut had mixed; `seconds` is the
    thread's own time (what the sound cost). A daemon thread: an interrupted render does not
    wait for it; `render` joins it before it returns, so it never outlives the render."""

    def __init__(self, spec, plan: EditPlan, frame_counts, store, voice_model, base_dir: Path, loudness=None):
        import threading

        args = (spec, frame_counts, plan.voices, store, voice_model, base_dir, loudness, plan.music_model)
        self.plan = plan  # the cut reuses it (its voices, key and outputs) instead of deciding again
        self.seconds = 0.0
        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, args=args, name="worldgen-mix", daemon=True)
        self._thread.start()

    def _run(self, *args) -> None:
        import time

        t0 = time.perf_counter()
        try:
            self._value = film_mix(*args)
        except BaseException as e:  # noqa: BLE001 - raised again in result()
            self._error = e
        self.seconds = time.perf_counter() - t0

    def join(self) -> None:
        self._thread.join()

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def mix_ahead(spec, shots, store, voice_model, base_dir: Path, loudness=None, music_model=None, force=False):
    """A MixAhead for a film whose cut will be made, else None: no edit (the plain cut has no
    sound), or the store holds this cut already (it will be linked, not mixed)."""
    if not uses_edit(spec):
        return None
    plan = edit_plan(spec, shots, voice_model, base_dir, loudness, music_model)
    if not force and store is not None and all(store.has(plan.key, k) for k in plan.kinds.values()):
        return None
    return MixAhead(spec, plan, [len(s_["frames"]) for s_ in shots], store, voice_model, base_dir, loudness)


def check_before_frames(spec, base_dir: Path, voice_model: str | None = None, music_model: str | None = None) -> None:
    """What the cut will need, checked before any frame is rendered: every speaking character's
    voice, the music model's folder, the user's LUT and audio files. A missing voice or a
    malformed file then fails a render in its first second, in one line, instead of after its
    last frame."""
    if not uses_edit(spec):
        return
    from worldgen.sound.audio import probe
    from worldgen.sound.voices import cast_voices, check_voice

    voices = cast_voices(spec, voice_model)
    for c in _speakers(spec):
        check_voice(voices[c], voice_model)
    if music_model and spec.sound and any(c.file is None for c in spec.sound.music):
        from worldgen.sound.musicgen import check

        check(music_model)
    g = spec.edit.grade if spec.edit else None
    if g is not None and g.lut:  # a user .cube is read (and refused in one line) now; a built-in look needs no check
        from worldgen.edit.grade import read_cube

        read_cube(Path(g.lut) if Path(g.lut).is_absolute() else base_dir / g.lut)
    for cue in (spec.sound.music + spec.sound.ambience) if spec.sound else []:
        if cue.file:
            probe(Path(cue.file) if Path(cue.file).is_absolute() else base_dir / cue.file)


def _midi_available() -> bool:
    from worldgen.sound.midi_score import available

    return available()


def _music_identity(music_model: str | None) -> dict | None:
    if not music_model:
        return None
    from worldgen.sound.musicgen import identity

    return identity(music_model)


def _entries(info: dict) -> dict:
    return {"film": "film.mp4", "contact_sheet": "contact_sheet.png", "edit": info}


def _edit_inputs(spec) -> dict:
    data = spec.model_dump(mode="json")
    return {
        "title": spec.title,
        "seed": spec.seed,
        "style": spec.style,
        "sound": data.get("sound"),
        "edit": data.get("edit"),
        "shots": [{k: s.get(k) for k in ("id", "duration", "dialogue", "transition")} for s in data["shots"]],
        "characters": [{"id": c["id"], "voice": c.get("voice")} for c in data["world"]["characters"]],
        "size": [spec.render.width, spec.render.height],
    }


def _file_digests(spec, base_dir: Path) -> dict:
    from worldgen.store import file_digest

    refs = []
    if spec.sound:
        refs += [c.file for c in spec.sound.music + spec.sound.ambience if c.file]
    if spec.edit and spec.edit.grade and spec.edit.grade.lut:
        refs.append(spec.edit.grade.lut)
    return {ref: file_digest(Path(ref) if Path(ref).is_absolute() else base_dir / ref) for ref in refs}


def built_in_look(spec) -> str:
    """The named look the edit grades with ('none' for none), when no user LUT is given: the
    grade's own, else the one the style words choose."""
    from worldgen.edit.grade import look_from_style

    g = spec.edit.grade if spec.edit else None
    return g.look if g is not None and g.look else (look_from_style(spec.style) if spec.edit else "none")


def grade_of(spec, base_dir: Path):
    """(lut, domain min, domain max, strength, description) of the spec's grade, or None."""
    from worldgen.edit.grade import look_lut, read_cube

    g = spec.edit.grade if spec.edit else None
    if g is not None and g.lut:
        lut, lo, hi = read_cube(Path(g.lut) if Path(g.lut).is_absolute() else base_dir / g.lut)
        return lut, lo, hi, g.strength, f"LUT {g.lut}"
    look = built_in_look(spec)
    if look == "none":
        return None
    return look_lut(look), np.zeros(3), np.ones(3), g.strength if g is not None else 1.0, look


def _cut(
    spec,
    out: Path,
    shots: list,
    store,
    voices: dict,
    voice_model,
    base_dir: Path,
    painter: str,
    loudness: float | None = None,
    music_model: str | None = None,
    ahead=None,
) -> dict:
    from worldgen.edit import cards, subtitles
    from worldgen.edit.grade import GradedColours, write_cube
    from worldgen.sound.audio import write_wav
    from worldgen.sound.midi_score import write_midi

    r = spec.render
    if ahead is not None:
        tl, mix = ahead.result()
    else:
        tl, mix = film_mix(
            spec, [len(s_["frames"]) for s_ in shots], voices, store, voice_model, base_dir, loudness, music_model
        )
    (out / "stems").mkdir(exist_ok=True)
    for name in STEMS:
        write_wav(out / "stems" / f"{name}.wav", mix.stems[name])
    if mix.score is not None:  # the score's notes, for a composer's DAW
        write_midi(out / "stems" / "score.mid", mix.score)
    if mix.lines:
        subtitles.write(out / "film.srt", subtitles.srt(mix.lines))
        subtitles.write(out / "film.vtt", subtitles.vtt(mix.lines))
        _write_lipsync(out / "lipsync.json", spec, tl, mix.lines)
    grade = grade_of(spec, base_dir)
    if grade is not None and not (spec.edit.grade and spec.edit.grade.lut):
        write_cube(out / "grade.cube", grade[0], grade[4])  # the look as a LUT other tools can apply
    edit = spec.edit
    w, h = r.width, r.height
    title_img = credits_img = None
    if tl.title_frames:
        t = edit.title
        title_img = cards.card(
            w,
            h,
            cards.title_lines(
                t.text or spec.title if t is not True else spec.title, t.subtitle if t is not True else ""
            ),
        )
    if tl.credit_frames:
        c = edit.credits
        music_lines = [_music_credit(m) for m in mix.music]
        music_lines += [f"{a.kind} ambience" if a.kind else a.file for a in (spec.sound.ambience if spec.sound else [])]
        tools = [
            f"worldgen {__version__}, {painter} painter",
            "voices: flite (CMU)" if any(v.engine == "flite" for v in voices.values()) else "",
            "DejaVu fonts, ffmpeg",
        ]
        credits_img = cards.card(
            w,
            h,
            cards.credits_lines(
                spec,
                {k: voices[k] for k in _speakers(spec)},
                music_lines,
                [t for t in tools if t],
                c.extra if c is not True else [],
            ),
        )
    overlays = _overlays(spec, tl, mix.lines)

    lookup = GradedColours(*grade[:4]) if grade is not None else None

    def graded(key: tuple) -> np.ndarray:
        i, j = key
        img = np.asarray(Image.open(out / shots[i]["frames"][j]["frame"]).convert("RGB"))
        return lookup(img) if lookup is not None else img

    with ReadAhead(graded, _shot_frames_read(tl)) as shot_frames:

        def frames():
            for f, fr in enumerate(tl.frames):
                yield compose_frame(fr, shot_frames.get, title_img, credits_img, tl, overlays.get(f, ()))
                shot_frames.done_with(f)

        _encode_with_audio(frames(), out / "film.mp4", w, h, r.fps, out / "stems" / "mix.wav")
    info = {
        "duration": round(tl.duration, 6),
        "frames": len(tl.frames),
        "title_frames": tl.title_frames,
        "credit_frames": tl.credit_frames,
        "shot_start_frames": tl.shot_start,
        "lines": [{k: v for k, v in ln.items() if k != "phones"} | {"phones": len(ln["phones"])} for ln in mix.lines],
        "voices": {k: v.describe() for k, v in voices.items()},
        "music": mix.music,
        "loudness": mix.measured,
        "grade": grade[4] if grade else None,
        "stems": {s: f"stems/{s}.wav" for s in STEMS},
        "subtitles": ["film.srt", "film.vtt"] if mix.lines else [],
        "lipsync": "lipsync.json" if mix.lines else None,
    }
    atomic_write_bytes(out / "film-edit.json", json.dumps(info, indent=1).encode())
    return info


def _shot_frames_read(tl) -> list[tuple]:
    """(film frame, (shot, frame)) of every shot frame the cut reads, in the order it reads them."""
    return [
        (f, key)
        for f, fr in enumerate(tl.frames)
        if fr.kind not in ("title", "credits")
        for key in (fr.a, fr.b)
        if key is not None
    ]


class ReadAhead:
    """Shot frames decoded and graded a few film frames ahead, on two threads, while the cut
    composes and ffmpeg encodes: PNG decoding and the LUT's numpy work release the GIL, so the
    second core does them instead of idling at the end of a render. `get((shot, frame))` is
    `load` of it; `done_with(f)` lets go of what film frame f was the last to need."""

    AHEAD = 8  # film frames read ahead (memory: a few frames)

    def __init__(self, load, reads: list[tuple]):
        from concurrent.futures import ThreadPoolExecutor

        self.load, self.reads = load, reads
        self.last_use: dict = {}
        for f, key in reads:
            self.last_use[key] = f
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="worldgen-cut")
        self.pending: dict = {}
        self.next = 0  # index into reads of the next one to start

    def _start_until(self, film_frame: int) -> None:
        while self.next < len(self.reads) and self.reads[self.next][0] <= film_frame + self.AHEAD:
            key = self.reads[self.next][1]
            if key not in self.pending:
                self.pending[key] = self.pool.submit(self.load, key)
            self.next += 1

    def get(self, i: int, j: int) -> np.ndarray:
        key = (i, j)
        if key not in self.pending:  # not read ahead (the first frames, or a frame read again)
            self.pending[key] = self.pool.submit(self.load, key)
        return self.pending[key].result()

    def done_with(self, film_frame: int) -> None:
        for key in [k for k in self.pending if self.last_use.get(k, -1) <= film_frame]:
            del self.pending[key]
        self._start_until(film_frame + 1)

    def __enter__(self):
        self._start_until(0)
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _music_credit(m: dict) -> str:
    if "prompt" in m:
        return f"{m['prompt']} (generated by MusicGen, {m['model']})"
    if "mood" in m:
        return f"{m['mood']} score, {m['tempo']:g} bpm, {m['key']} (composed by worldgen)"
    return m["file"]


def _write_lipsync(path: Path, spec, tl, lines: list[dict]) -> None:
    """Mouth opening, width and viseme per film frame for each speaking character, and which
    shot frame each film frame shows (so a rig can take the mouth into world time)."""
    from worldgen.sound.visemes import mouth_curves

    shows = [[spec.shots[fr.a[0]].id, fr.a[1]] if fr.a is not None else None for fr in tl.frames]
    record = {
        "fps": tl.fps,
        "frames": len(tl.frames),
        "shows": shows,
        "characters": mouth_curves(lines, _speakers(spec), len(tl.frames), tl.fps),
    }
    atomic_write_bytes(path, json.dumps(record).encode())


def _speakers(spec) -> list[str]:
    seen = []
    for s in spec.shots:
        for ln in s.dialogue:
            if ln.character not in seen:
                seen.append(ln.character)
    return seen


def _overlays(spec, tl, lines: list[dict]) -> dict:
    """Film frame -> [(text, where)]: lower thirds for 2.5 s from a character's first line,
    burnt-in subtitles while a line is spoken."""
    out: dict = {}
    edit = spec.edit
    named = set()
    for ln in lines:
        a = int(round(ln["start"] * tl.fps))
        if edit is not None and edit.lower_thirds and ln["character"] not in named:
            named.add(ln["character"])
            for f in range(a, min(len(tl.frames), a + int(round(2.5 * tl.fps)))):
                out.setdefault(f, []).append((ln["character"].replace("_", " ").title(), "lower_third"))
        if edit is not None and edit.subtitles.burn_in:
            for f in range(a, min(len(tl.frames), int(round(ln["end"] * tl.fps)) + 1)):
                out.setdefault(f, []).append((ln["line"], "subtitle"))
    return out


def compose_frame(fr, shot_frame, title_img, credits_img, tl, overlays=()) -> np.ndarray:
    """One film frame from its sources: a card, a shot frame, or two blended (dissolve: the
    weighted mean; wipe: the incoming shot from the left), darkened by a fade, then text."""
    from worldgen.edit import cards

    if fr.kind in ("title", "credits"):
        img = (title_img if fr.kind == "title" else credits_img).astype(np.float32)
        n = tl.title_frames if fr.kind == "title" else tl.credit_frames
        black = cards.fade_level(fr.card, n, tl.fps)
    elif fr.b is None and not fr.black:  # a plain shot frame, as painted (most of a film)
        out = shot_frame(*fr.a)
        for text, where in overlays:
            out = cards.overlay_text(out, text, where)
        return out
    else:
        img = shot_frame(*fr.a).astype(np.float32)
        if fr.b is not None:
            b = shot_frame(*fr.b).astype(np.float32)
            if fr.kind == "wipe":
                edge = int(round(fr.w * img.shape[1]))
                img[:, :edge] = b[:, :edge]
            else:
                img = (1 - fr.w) * img + fr.w * b
        black = fr.black
    if black:
        img = img * (1 - black)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)
    for text, where in overlays:
        out = cards.overlay_text(out, text, where)
    return out


def _encode_with_audio(frames, path: Path, w: int, h: int, fps: float, wav: Path) -> None:
    """H.264 picture (the same bit-exact settings as the plain cut) and AAC stereo 48 kHz sound,
    muxed; the sound is exactly the picture's length."""
    from worldgen.film import h264_writer
    from worldgen.sound.audio import ffmpeg_exe

    video = path.with_name(f".{path.name}.video.tmp")  # '.tmp' last: a restart sweeps what a kill left
    writer = h264_writer(video, w, h, fps, ["-f", "mp4"])
    for img in frames:
        writer.send(np.ascontiguousarray(img))
    writer.close()
    tmp = path.with_name(f".{path.name}.tmp")
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-i",
        str(video),
        "-i",
        str(wav),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        "-ar",
        "48000",
        "-ac",
        "2",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(tmp),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    video.unlink(missing_ok=True)
    if r.returncode != 0:
        raise RuntimeError(f"ffmpeg could not mux the film: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    tmp.replace(path)
