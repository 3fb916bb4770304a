"""The score's rules, apart from how they are played: a cue's words give a mood (tempo, mode,
chord progression, tonic, how busy it is), its key words a tonic and mode. Both players read
them: music.py's numpy synthesiser and midi_score.py's MIDI notes."""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


@dataclass(frozen=True)
class Mood:
    tempo: float
    minor: bool
    progression: tuple  # scale degrees (0-based) of the bar chords
    tonic: str
    drums: float  # percussion level (0 = none)
    melody: float  # melody level
    density: float  # melody notes per beat
    bright: float  # harmonic richness of the pad (0..1)


MOODS = {
    "calm": Mood(80, False, (0, 5, 3, 4), "C", 0.0, 0.5, 0.5, 0.3),
    "happy": Mood(116, False, (0, 4, 5, 3), "G", 0.6, 0.8, 1.0, 0.6),
    "sad": Mood(66, True, (0, 5, 2, 6), "A", 0.0, 0.6, 0.5, 0.2),
    "tense": Mood(100, True, (0, 1, 0, 6), "D", 0.5, 0.4, 0.5, 0.7),
    "epic": Mood(92, True, (0, 5, 2, 6), "D", 0.9, 0.7, 0.5, 0.9),
    "mysterious": Mood(72, True, (0, 6, 5, 4), "E", 0.1, 0.4, 0.3, 0.4),
    "romantic": Mood(76, False, (0, 2, 5, 3), "F", 0.0, 0.7, 0.5, 0.4),
    "playful": Mood(124, False, (0, 3, 4, 0), "C", 0.5, 0.9, 1.0, 0.5),
}
ALIASES = {
    "peaceful": "calm",
    "gentle": "calm",
    "quiet": "calm",
    "warm": "calm",
    "joyful": "happy",
    "bright": "happy",
    "upbeat": "happy",
    "melancholy": "sad",
    "sombre": "sad",
    "somber": "sad",
    "dark": "tense",
    "suspense": "tense",
    "action": "epic",
    "heroic": "epic",
    "eerie": "mysterious",
    "dreamy": "mysterious",
    "love": "romantic",
    "tender": "romantic",
    "fun": "playful",
    "light": "playful",
}


def mood_of(words: str | None) -> tuple[str, Mood]:
    """The first mood word (or a synonym) in `words`; calm if there is none."""
    for w in re.findall(r"[a-z]+", (words or "").lower()):
        name = w if w in MOODS else ALIASES.get(w)
        if name:
            return name, MOODS[name]
    return "calm", MOODS["calm"]


def parse_key(key: str | None, mood: Mood) -> tuple[int, bool]:
    """'F# minor' -> (6, True); missing parts come from the mood."""
    if not key:
        return NOTE[mood.tonic], mood.minor
    m = re.match(r"^([A-G])([#b]?) ?(major|minor)?$", key)
    if m is None:  # the spec's pattern allows only what matches
        raise ValueError(f"not a key: {key}")
    pc = (NOTE[m.group(1)] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12
    return pc, (m.group(3) == "minor") if m.group(3) else mood.minor
