"""The score as MIDI: a cue's notes written with pretty_midi (MIT) and rendered in-process by
tinysoundfont (MIT, TinySoundFont's C synth) with the General MIDI soundfont TimGM6mb.sf2
that pretty_midi's wheel carries (GPL-2, Tim Brechbill; see docs/FILM.md). It is the optional
'midi' extra; without it music.compose falls back to its numpy synthesiser.

The composition rules are music.py's (mood words -> tempo, mode, progression, tonic; the key
word sets the tonic; the cue's tempo nudged so whole beats fill its span); the genre words pick
the General MIDI instruments. Every note starts on the cue's beat grid (a beat or a fraction of
one), and the cue's grid starts at its first shot's boundary. The synth has no randomness: the
same notes give the same samples, and the notes are a pure function of the words and seed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from worldgen.sound import SAMPLE_RATE

# General MIDI programs (0-based) of (pad, bass, melody) for each mood, and genre words that
# replace them; drums are GM channel 10 (kick 36, snare 38, closed hat 42)
VOICES = {
    "calm": (89, 32, 0),
    "happy": (48, 33, 73),
    "sad": (49, 42, 0),
    "tense": (92, 43, 68),
    "epic": (48, 43, 60),
    "mysterious": (88, 32, 8),
    "romantic": (49, 42, 40),
    "playful": (0, 33, 12),
}
GENRES = {
    "orchestral": (48, 43, 60),
    "strings": (48, 42, 40),
    "piano": (0, 0, 0),
    "electronic": (81, 38, 80),
    "synth": (81, 38, 80),
    "ambient": (95, 38, 88),
    "jazz": (0, 32, 65),
    "folk": (24, 32, 73),
    "guitar": (24, 33, 25),
    "choir": (52, 42, 53),
    "brass": (61, 58, 56),
    "celesta": (89, 32, 8),
}
DRUM_CHANNEL = 9
RESOLUTION = 960  # ticks per beat of score.mid: a tick is under 1 ms at any cue tempo


def available() -> bool:
    """Whether the MIDI stack (pretty_midi and tinysoundfont) is importable and the soundfont is there."""
    try:
        import pretty_midi  # noqa: F401
        import tinysoundfont  # noqa: F401
    except ImportError:
        return False
    return soundfont().is_file()


def soundfont() -> Path:
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def programs(words: str | None, mood_name: str) -> tuple[int, int, int]:
    """The (pad, bass, melody) programs: the first genre word in `words`, else the mood's."""
    for w in re.findall(r"[a-z]+", (words or "").lower()):
        if w in GENRES:
            return GENRES[w]
    return VOICES[mood_name]


def notes(words: str | None, tempo: float | None, key: str | None, duration: float, seed: int):
    """The cue as a pretty_midi.PrettyMIDI (times in seconds from the cue's start) and what was
    composed (for the manifest)."""
    import pretty_midi

    from worldgen.sound.theory import MAJOR, MINOR, PITCH_NAMES, mood_of, parse_key

    name, mood = mood_of(words)
    root, minor = parse_key(key, mood)
    bpm = tempo or mood.tempo
    beats = max(1, round(duration * bpm / 60))
    bpm = beats * 60 / duration  # whole beats fill the cue
    beat = 60 / bpm
    rng = np.random.default_rng([seed, 4243])
    scale = MINOR if minor else MAJOR
    base = 48 + root

    def deg(d: int, octave: int = 0) -> int:
        return base + 12 * (octave + d // 7) + scale[d % 7]

    pad_p, bass_p, mel_p = programs(words, name)
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    pad, bass, mel = (
        pretty_midi.Instrument(p, name=n) for p, n in ((pad_p, "pad"), (bass_p, "bass"), (mel_p, "melody"))
    )
    drums = pretty_midi.Instrument(0, is_drum=True, name="drums")

    def note(inst, pitch: int, start: float, length: float, velocity: int):
        end = min(duration, start + length)
        if start < duration and end > start:
            inst.notes.append(
                pretty_midi.Note(velocity=int(np.clip(velocity, 1, 127)), pitch=int(pitch), start=start, end=end)
            )

    bars = int(np.ceil(beats / 4))
    for b in range(bars):
        chord = mood.progression[b % len(mood.progression)]
        t0 = b * 4 * beat
        for d in (chord, chord + 2, chord + 4):  # the triad held for the bar
            note(pad, deg(d, 1), t0, 4 * beat, 50 + int(30 * mood.bright))
        for q in range(4):  # the root on each beat
            note(bass, deg(chord, -1), t0 + q * beat, 0.9 * beat, 80)
        steps = max(1, int(round(4 * mood.density)))
        for q in range(steps):  # chord tones on strong steps, scale steps between
            if rng.random() < 0.2:
                continue
            d = chord + (int(rng.choice([0, 2, 4])) if q % 2 == 0 else int(rng.integers(0, 7)))
            note(mel, deg(d, 2), t0 + q * 4 * beat / steps, 4 * beat / steps, 60 + int(50 * mood.melody))
        if mood.drums:
            for q in range(4):
                tq = t0 + q * beat
                note(drums, 36 if q % 2 == 0 else 38, tq, 0.2 * beat, int(110 * mood.drums))
                note(drums, 42, tq + beat / 2, 0.1 * beat, int(70 * mood.drums))
    pm.instruments = [i for i in (pad, bass, mel, drums) if i.notes]
    gm = pretty_midi.program_to_instrument_name
    info = {
        "mood": name,
        "tempo": round(bpm, 3),
        "key": f"{PITCH_NAMES[root]} {'minor' if minor else 'major'}",
        "beats": beats,
        "instruments": [gm(p) for p in (pad_p, bass_p, mel_p)],
        "synth": "midi",
    }
    return pm, info


_SYNTH_CACHE: dict = {}


def render(pm, duration: float) -> np.ndarray:
    """Stereo float32 (n, 2) of `duration` seconds: the notes played through the soundfont,
    event by event at their sample (notes still sounding at the end are cut there)."""
    import tinysoundfont

    n = int(round(duration * SAMPLE_RATE))
    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE)
    sf = synth.sfload(_sf_bytes())
    events = []  # (sample, order, kind, channel, pitch, velocity): note-offs before note-ons at the same sample
    channel = 0
    for inst in pm.instruments:
        ch = DRUM_CHANNEL if inst.is_drum else channel
        if not inst.is_drum:
            channel += 1 + (channel + 1 == DRUM_CHANNEL)
        synth.program_select(
            ch, sf, 128 if inst.is_drum else 0, 0 if inst.is_drum else inst.program, is_drums=inst.is_drum
        )
        for nt in inst.notes:
            events.append((int(round(nt.start * SAMPLE_RATE)), 1, ch, nt.pitch, nt.velocity))
            events.append((int(round(nt.end * SAMPLE_RATE)), 0, ch, nt.pitch, 0))
    events.sort()
    out = np.zeros((n, 2), np.float32)
    pos = 0
    for at, on, ch, pitch, vel in events + [(n, 0, -1, 0, 0)]:
        at = min(at, n)
        if at > pos:
            out[pos:at] = np.frombuffer(synth.generate(at - pos), np.float32).reshape(-1, 2)
            pos = at
        if ch < 0:
            break
        if on:
            synth.noteon(ch, pitch, vel)
        else:
            synth.noteoff(ch, pitch)
    return out


def _sf_bytes() -> bytes:
    if "sf" not in _SYNTH_CACHE:  # read once per process (6 MB)
        _SYNTH_CACHE["sf"] = soundfont().read_bytes()
    return _SYNTH_CACHE["sf"]


def join(cues: list[tuple[float, object, float]]):
    """One PrettyMIDI of the film's score from (start, notes, tempo) per cue: each cue's notes
    shifted to its start (its first shot's boundary), its instruments on their own tracks, and
    a tempo change where a cue of another tempo starts (the film opens at the first cue's
    tempo), so that a DAW's bars follow each cue's beat. The notes keep their exact times."""
    import pretty_midi

    changes: list[tuple[float, float]] = []  # (seconds, bpm): where a cue brings another tempo
    for t0, _, bpm in sorted(cues, key=lambda c: c[0]):
        if changes and changes[-1][0] == t0:
            changes[-1] = (t0, bpm)  # two cues from one boundary: the later one's tempo
        elif not changes or changes[-1][1] != bpm:
            changes.append((t0, bpm))
    changes = [(0.0, changes[0][1])] + changes[1:] if changes else [(0.0, 120.0)]
    pm = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=changes[0][1])
    scales = pm._tick_scales  # [(tick, seconds per tick)]: pretty_midi's tempo map, which write() stores
    for (t_prev, _), (t, bpm) in zip(changes, changes[1:]):
        tick, per_tick = scales[-1]
        scales.append((tick + int(round((t - t_prev) / per_tick)), 60.0 / (bpm * RESOLUTION)))
    for k, (t0, cue, _) in enumerate(cues):
        for inst in cue.instruments:
            moved = pretty_midi.Instrument(inst.program, is_drum=inst.is_drum, name=f"cue {k + 1} {inst.name}")
            moved.notes = [
                pretty_midi.Note(velocity=x.velocity, pitch=x.pitch, start=x.start + t0, end=x.end + t0)
                for x in inst.notes
            ]
            pm.instruments.append(moved)
    pm._update_tick_to_time(scales[-1][0] + 1)  # note times become ticks through the new map
    return pm


def write_midi(path: Path, pm) -> None:
    """A standard MIDI file, written atomically (worldgen.io.atomic_write_bytes)."""
    import io

    from worldgen.io import atomic_write_bytes

    buf = io.BytesIO()
    pm.write(buf)
    atomic_write_bytes(path, buf.getvalue())
