"""The film's mix: dialogue placed at its lines' times, music cues over their shots, ambience
beds, music and ambience ducked under speech, the whole normalised to the spec's loudness
target with the true peak under -1 dBTP. Stems (dialogue, music, ambience, mix) are 48 kHz
stereo; the music and ambience stems are as they sit in the mix (ducked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from worldgen.sound import SAMPLE_RATE

GAP = 0.3  # s: default pause before a line that gives no time
DIALOGUE_RMS = 0.1  # each line's level before the mix is normalised
MUSIC_DB, AMBIENCE_DB = (
    -12.0,
    -13.0,
)  # gain on the composed music and generated beds: about 10 and 20 dB under the dialogue
TRUE_PEAK = -1.0
COMPOSED_LUFS, BED_LUFS = -18.5, -27.0  # about where the composed score and the generated beds come out


@dataclass
class Mix:
    stems: dict  # name -> float32 (n, 2)
    lines: list = field(default_factory=list)  # {character, line, shot, start, end, phones}
    music: list = field(default_factory=list)  # what each cue played
    measured: dict = field(default_factory=dict)
    score: object = None  # the composed cues as one pretty_midi.PrettyMIDI (with the MIDI stack), for score.mid


def line_times(spec, shot_start_s: list[float], length) -> list[tuple]:
    """Where every line starts in the film: its shot's start plus `at`, or GAP after the shot's
    line before ends. `length(line)` gives how long a line lasts. Returns (shot, line, start,
    its length) in film order. The one placement rule: the mix (voices' samples) and the lip
    sync (the mouths on screen) both place lines by it, so mouths move with the voice."""
    out = []
    for i, shot in enumerate(spec.shots):
        cursor = GAP
        for ln in shot.dialogue:
            d = length(ln)
            at = ln.at if ln.at is not None else cursor
            out.append((shot, ln, shot_start_s[i] + at, d))
            cursor = at + d + GAP
    return out


def place_lines(spec, shot_start_s: list[float], speak) -> list[dict]:
    """Every line with its film time (`line_times`). `speak(character, text)` gives its Speech."""
    spoken = {}

    def length(ln) -> float:
        spoken[id(ln)] = speak(ln.character, ln.line)
        return spoken[id(ln)].duration

    out = []
    for shot, ln, start, d in line_times(spec, shot_start_s, length):
        sp = spoken[id(ln)]
        out.append(
            {
                "character": ln.character,
                "line": ln.line,
                "shot": shot.id,
                "start": round(start, 6),
                "end": round(start + d, 6),
                "phones": sp.phones,
                "_samples": sp.samples,
            }
        )
    return out


def _span(spec, cue, starts: list[float], ends: list[float], total: float) -> tuple[float, float]:
    ids = [s.id for s in spec.shots]
    a = ids.index(cue.start) if cue.start is not None else 0
    b = ids.index(cue.end) if cue.end is not None else (a if hasattr(cue, "mood") else len(ids) - 1)
    t0 = 0.0 if a == 0 else starts[a]  # the first shot's music also plays under the title
    t1 = total if b == len(ids) - 1 else ends[b]  # and the last one's under the credits
    return t0, t1


def _loop(x: np.ndarray, n: int) -> np.ndarray:
    reps = int(np.ceil(n / max(1, len(x))))
    return np.tile(x, (reps, 1))[:n] if len(x) else np.zeros((n, 2), np.float32)


def _edges(x: np.ndarray, seconds: float = 0.05) -> np.ndarray:
    k = min(len(x) // 2, int(seconds * SAMPLE_RATE))
    if k:
        ramp = np.linspace(0, 1, k, dtype=np.float32)[:, None]
        x[:k] *= ramp
        x[-k:] *= ramp[::-1]
    return x


def duck_gain(lines: list[dict], n: int, duck_db: float) -> np.ndarray:
    """Gain of music and ambience: `duck_db` lower under each line, reached 0.15 s before it
    starts and released over 0.4 s after it ends."""
    g = np.ones(n, np.float32)
    low = 10 ** (-duck_db / 20)
    attack, release = int(0.15 * SAMPLE_RATE), int(0.4 * SAMPLE_RATE)
    for ln in lines:
        a, b = int(ln["start"] * SAMPLE_RATE), int(ln["end"] * SAMPLE_RATE)
        env = np.full(n, 1.0, np.float32)
        env[max(0, a) : min(n, b)] = low
        ra = np.arange(max(0, a - attack), max(0, a))
        env[ra] = 1 - (1 - low) * (ra - (a - attack)) / attack
        rb = np.arange(min(n, b), min(n, b + release))
        env[rb] = low + (1 - low) * (rb - b) / release
        g = np.minimum(g, env)
    return g


def mix_film(
    spec,
    duration: float,
    starts: list[float],
    ends: list[float],
    speak,
    base_dir: Path,
    loudness: float | None = None,
    music_model: str | None = None,
    store=None,
) -> Mix:
    """The mix and its stems; `loudness` (LUFS) overrides the spec's sound.loudness;
    `music_model`: a MusicGen folder that generates the composed cues (sound/musicgen.py), whose
    pieces `store` keeps."""
    from worldgen.sound.ambience import bed
    from worldgen.sound.audio import decode, normalise
    from worldgen.sound.music import compose

    n = int(round(duration * SAMPLE_RATE))
    dialogue = np.zeros((n, 2), np.float32)
    lines = place_lines(spec, starts, speak)
    for ln in lines:
        x = ln.pop("_samples")
        rms = float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
        x = x * (DIALOGUE_RMS / rms if rms > 0 else 0)
        a = int(round(ln["start"] * SAMPLE_RATE))
        m = max(0, min(len(x), n - a))
        dialogue[a : a + m] += x[:m, None]
    sound = spec.sound
    music = np.zeros((n, 2), np.float32)
    ambience = np.zeros((n, 2), np.float32)
    played, midi_cues = [], []
    for k, cue in enumerate(sound.music if sound else []):
        t0, t1 = _span(spec, cue, starts, ends, duration)
        a, b = int(round(t0 * SAMPLE_RATE)), int(round(t1 * SAMPLE_RATE))
        if cue.file is not None:
            x = _edges(_loop(_level(decode(_resolve(cue.file, base_dir)), COMPOSED_LUFS), b - a), 0.5)
            played.append({"file": cue.file, "start": t0, "end": t1})
        elif music_model:
            from worldgen.sound import musicgen

            x, info = musicgen.cue(
                music_model, cue.mood, cue.tempo, cue.key, (b - a) / SAMPLE_RATE, spec.seed + 1000 * k, store
            )
            x = _level(x, COMPOSED_LUFS)
            played.append({**info, "start": round(t0, 6), "end": round(t1, 6)})
        else:
            x, info = compose(cue.mood, cue.tempo, cue.key, (b - a) / SAMPLE_RATE, spec.seed + 1000 * k)
            if "_midi" in info:  # the soundfont's own level differs per instrument: bring it where the mix expects
                midi_cues.append((a / SAMPLE_RATE, info.pop("_midi"), info["tempo"]))
                x = _level(x, COMPOSED_LUFS)
            played.append({**info, "start": round(t0, 6), "end": round(t1, 6)})
        music[a : a + len(x)] += x[: n - a] * 10 ** ((MUSIC_DB + cue.gain) / 20)
    for k, amb in enumerate(sound.ambience if sound else []):
        t0, t1 = _span(spec, amb, starts, ends, duration)
        a, b = int(round(t0 * SAMPLE_RATE)), int(round(t1 * SAMPLE_RATE))
        x = (
            _edges(_loop(_level(decode(_resolve(amb.file, base_dir)), BED_LUFS), b - a), 0.3)
            if amb.file
            else bed(amb.kind, (b - a) / SAMPLE_RATE, spec.seed + 17 * k)
        )
        ambience[a : a + len(x)] += x[: n - a] * 10 ** ((AMBIENCE_DB + amb.gain) / 20)
    if lines:
        g = duck_gain(lines, n, sound.duck if sound else 10.0)[:, None]
        music *= g
        ambience *= g
    mix = dialogue + music + ambience
    target = loudness if loudness is not None else (sound.loudness if sound else -14.0)
    normed, measured = normalise(mix, target, TRUE_PEAK)
    scale = _scale(mix, normed)
    stems = {"dialogue": dialogue * scale, "music": music * scale, "ambience": ambience * scale, "mix": normed}
    measured = {**measured, "target_lufs": target, "scale_db": round(20 * np.log10(scale), 3) if scale > 0 else None}
    score = None
    if midi_cues:
        from worldgen.sound.midi_score import join

        score = join(midi_cues)
    return Mix(stems, lines, played, measured, score)


def _level(x: np.ndarray, lufs: float) -> np.ndarray:
    """A user's file at the level of what worldgen would have generated in its place, so that
    the cue's `gain` means the same for both."""
    from worldgen.sound.audio import measure

    m = measure(x)["integrated_lufs"]
    return (x * 10 ** ((lufs - m) / 20)).astype(np.float32) if np.isfinite(m) else x


def _scale(before: np.ndarray, after: np.ndarray) -> float:
    """The gain normalisation applied (the limiter aside): the stems get the same."""
    b = float(np.sqrt(np.mean(before.astype(np.float64) ** 2)))
    return float(np.sqrt(np.mean(after.astype(np.float64) ** 2))) / b if b > 0 else 1.0


def _resolve(ref: str, base_dir: Path) -> Path:
    p = Path(ref)
    return p if p.is_absolute() else base_dir / p
