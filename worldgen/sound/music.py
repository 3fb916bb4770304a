"""A score composed from a cue's words: the mood sets tempo, mode, progression and which
instruments play; the key sets the tonic. With the 'midi' extra installed the notes are MIDI
(midi_score.py: pretty_midi, rendered by tinysoundfont with a General MIDI soundfont, and the
genre words pick the instruments); without it a small additive synthesiser in numpy renders the
same rules (pads, bass, a plucked melody, soft percussion). Either way the same cue and seed
give the same samples.

A cue spans whole shots; its tempo is nudged (a few percent at most) so that a whole number of
beats fills the span: the music starts on a shot boundary and its last beat lands on one."""

from __future__ import annotations

import numpy as np

from worldgen.sound import SAMPLE_RATE
from worldgen.sound.theory import MAJOR, MINOR, PITCH_NAMES, mood_of, parse_key


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _env(n: int, attack: float, release: float) -> np.ndarray:
    e = np.ones(n, np.float64)
    a, r = min(n, int(attack * SAMPLE_RATE)), min(n, int(release * SAMPLE_RATE))
    if a:
        e[:a] = np.linspace(0, 1, a)
    if r:
        e[n - r :] *= np.linspace(1, 0, r)
    return e


def _tone(freq: float, n: int, harmonics: int, tilt: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros(n)
    for h in range(1, harmonics + 1):
        if freq * h > SAMPLE_RATE / 2.2:
            break
        out += np.sin(2 * np.pi * freq * h * t + phase * h) / h ** (2.0 - tilt)
    return out


def compose(
    words: str | None, tempo: float | None, key: str | None, duration: float, seed: int, synth: str | None = None
) -> tuple[np.ndarray, dict]:
    """Stereo float32 (n, 2) of `duration` seconds, and what was composed (for the manifest;
    with the MIDI stack its "_midi" entry holds the cue's notes, a pretty_midi.PrettyMIDI).
    `synth` is "midi" or "numpy"; by default MIDI where its stack is installed."""
    from worldgen.sound import midi_score

    if synth == "midi" or (synth is None and midi_score.available()):
        pm, info = midi_score.notes(words, tempo, key, duration, seed)
        x = midi_score.render(pm, duration)
        x *= _env(len(x), 0.005, min(duration / 2, 0.25))[:, None].astype(np.float32)  # notes cut at the end fade out
        return x, {**info, "_midi": pm}
    name, mood = mood_of(words)
    root, minor = parse_key(key, mood)
    bpm = tempo or mood.tempo
    beats = max(1, round(duration * bpm / 60))
    bpm = beats * 60 / duration  # whole beats fill the cue
    beat = 60 / bpm
    n = int(round(duration * SAMPLE_RATE))
    out = np.zeros((n, 2))
    rng = np.random.default_rng([seed, 4242])
    scale = MINOR if minor else MAJOR
    base = 48 + root  # C3 + root

    def deg(d: int, octave: int = 0) -> int:
        return base + 12 * (octave + d // 7) + scale[d % 7]

    def put(x: np.ndarray, start: float, pan: float, gain: float):
        i = int(round(start * SAMPLE_RATE))
        if i >= n:
            return
        x = x[: n - i] * gain
        out[i : i + len(x), 0] += x * np.cos((pan + 1) * np.pi / 4)
        out[i : i + len(x), 1] += x * np.sin((pan + 1) * np.pi / 4)

    bars = int(np.ceil(beats / 4))
    for b in range(bars):
        chord = mood.progression[b % len(mood.progression)]
        t0 = b * 4 * beat
        length = min(4 * beat, duration - t0)
        m = int(length * SAMPLE_RATE)
        for k, d in enumerate((chord, chord + 2, chord + 4)):  # the triad as a soft pad, spread wide
            f = _hz(deg(d, 1))
            for side, detune in ((-0.6, 0.998), (0.6, 1.002)):
                put(_tone(f * detune, m, 6, mood.bright) * _env(m, 0.4 * beat, 0.5 * beat), t0, side, 0.05)
        fb = _hz(deg(chord, -1))  # bass: the root on each beat
        for q in range(4):
            tq = t0 + q * beat
            if tq >= duration:
                break
            mq = int(min(beat, duration - tq) * SAMPLE_RATE)
            put(
                _tone(fb, mq, 3, 0.2) * _env(mq, 0.01, 0.3 * beat) * np.exp(-np.arange(mq) / (SAMPLE_RATE * beat)),
                tq,
                0.0,
                0.22,
            )
        steps = max(1, int(round(4 * mood.density)))
        for q in range(steps):  # melody: chord tones on strong steps, scale steps between
            tq = t0 + q * 4 * beat / steps
            if tq >= duration or rng.random() < 0.2:
                continue
            d = chord + (int(rng.choice([0, 2, 4])) if q % 2 == 0 else int(rng.integers(0, 7)))
            mq = int(min(4 * beat / steps, duration - tq) * SAMPLE_RATE)
            tone = (
                _tone(_hz(deg(d, 2)), mq, 4, 0.3)
                * np.exp(-np.arange(mq) / (SAMPLE_RATE * 0.35))
                * _env(mq, 0.005, 0.05)
            )
            put(tone, tq, 0.3, 0.12 * mood.melody)
        if mood.drums:
            for q in range(4):
                tq = t0 + q * beat
                if tq >= duration:
                    break
                mq = int(min(0.25, duration - tq) * SAMPLE_RATE)
                if q % 2 == 0:  # kick: a falling sine
                    tt = np.arange(mq) / SAMPLE_RATE
                    kick = np.sin(2 * np.pi * (50 * tt + 60 * (1 - np.exp(-tt * 30)) / 30)) * np.exp(-tt * 12)
                    put(kick, tq, 0.0, 0.35 * mood.drums)
                hat = rng.standard_normal(mq) * np.exp(-np.arange(mq) / (SAMPLE_RATE * 0.03))
                hat = np.diff(hat, prepend=0.0)  # brighter: a first difference
                put(hat, tq + beat / 2 if tq + beat / 2 < duration else tq, -0.3, 0.05 * mood.drums)
    fade = _env(n, 0.05, min(duration / 2, beat))
    out *= fade[:, None]
    info = {
        "mood": name,
        "tempo": round(bpm, 3),
        "key": f"{PITCH_NAMES[root]} {'minor' if minor else 'major'}",
        "beats": beats,
        "synth": "numpy",
    }
    return out.astype(np.float32), info
