"""Lip sync's picture half: the mouth (opening, width) of every speaking character at every
frame of every shot, timed by the phones the character's voice speaks.

Each line is spoken first (voices.speak, through the frame store, so the cut reuses it) and its
phone timings become the mouth: flite reports every phone's end (-psdur). A voice that reports
no phones (piper's shipped voice, a VITS model) gets phones estimated from the line's letters
(a few spelling rules give ARPAbet-like phones with typical durations, calibrated on flite's
voices) stretched to the length it really spoke; where a voice cannot speak at all here, the
estimate stands alone. Lines are placed as the mix places them (their shot's film start plus
`at`, or GAP after the shot's previous line ends), the visemes code turns them into a mouth
curve per film frame, and each shot frame takes the value of the film frame that shows it.

So a voice reaches the frames of the shots where its character speaks, through the mouth
alone: a frame's key holds the mouth values it shows (render.keys.mouth_key), so a new voice
re-renders exactly the speaking frames whose mouth it moves, and no other frame."""

from __future__ import annotations

import re

from worldgen.camera import frame_count
from worldgen.sound.visemes import mouth_curves

VOWEL_S, CONSONANT_S = 0.115, 0.072  # s: typical phone lengths (flite slt, rms, awb over 6 lines: total within 1 %)
PAUSE_S = {",": 0.2, ";": 0.24, ":": 0.24, ".": 0.33, "!": 0.33, "?": 0.33}  # within a line

# spelling -> phones, longest match first
_RULES = [
    ("tch", ["ch"]),
    ("igh", ["ay"]),
    ("th", ["th"]),
    ("sh", ["sh"]),
    ("ch", ["ch"]),
    ("ph", ["f"]),
    ("wh", ["w"]),
    ("ck", ["k"]),
    ("ng", ["ng"]),
    ("qu", ["k", "w"]),
    ("ee", ["iy"]),
    ("ea", ["iy"]),
    ("oo", ["uw"]),
    ("ou", ["aw"]),
    ("ow", ["ow"]),
    ("ai", ["ey"]),
    ("ay", ["ey"]),
    ("oa", ["ow"]),
    ("oi", ["oy"]),
    ("oy", ["oy"]),
    ("au", ["ao"]),
    ("aw", ["ao"]),
    ("er", ["er"]),
    ("ir", ["er"]),
    ("ur", ["er"]),
    ("ar", ["aa", "r"]),
    ("or", ["ao", "r"]),
    ("a", ["ae"]),
    ("e", ["eh"]),
    ("i", ["ih"]),
    ("o", ["aa"]),
    ("u", ["ah"]),
    ("y", ["iy"]),
    ("c", ["k"]),
    ("x", ["k", "s"]),
    ("j", ["jh"]),
    ("q", ["k"]),
    ("h", ["hh"]),
]
_VOWELS = {"iy", "ih", "eh", "ey", "ae", "aa", "ao", "ow", "uw", "ah", "aw", "ay", "oy", "er"}


def word_phones(word: str) -> list[str]:
    """A rough phone sequence for one word (letters only)."""
    w = word.lower()
    if len(w) > 2 and w.endswith("e") and w[-2] not in "aeiou":  # silent final e
        w = w[:-1]
    out: list[str] = []
    i = 0
    while i < len(w):
        for spelling, phones in _RULES:
            if w.startswith(spelling, i):
                if spelling == "y" and i == 0:  # 'yes': a consonant
                    phones = ["y"]
                out += phones
                i += len(spelling)
                break
        else:
            if not out or out[-1] != w[i]:  # doubled consonants are one phone
                out.append(w[i])
            i += 1
    return out


def text_phones(text: str, rate: float = 1.0) -> list[tuple[str, float, float]]:
    """[(phone, start s, end s)] of a line, from its spelling; punctuation inside it pauses."""
    out, t = [], 0.0
    tokens = re.findall(r"[A-Za-z']+|[,;:.!?]", text)
    for k, tok in enumerate(tokens):
        if tok in PAUSE_S:
            if k < len(tokens) - 1:
                t += PAUSE_S[tok] / rate
            continue
        for ph in word_phones(tok.replace("'", "")):
            d = (VOWEL_S if ph in _VOWELS else CONSONANT_S) / rate
            out.append((ph, round(t, 4), round(t + d, 4)))
            t += d
    return out


def _rates(spec) -> dict[str, float]:
    from worldgen.sound.voices import speakers

    return {cid: (v.rate if v is not None else 1.0) for cid, v in speakers(spec)}


def voice_timings(spec, voice_model: str | None = None, store=None) -> dict:
    """(character, line) -> (phones, length in s) as the character's voice speaks the line;
    lines whose voice cannot speak here are left out (their phones are estimated)."""
    from worldgen.sound.voices import VoiceError, cast_voices, check_voice, speak

    try:
        voices = cast_voices(spec, voice_model)
    except VoiceError:
        return {}
    out: dict = {}
    for shot in spec.shots:
        for ln in shot.dialogue:
            key = (ln.character, ln.line)
            if key in out:
                continue
            try:
                check_voice(voices[ln.character], voice_model)
            except VoiceError:
                continue
            sp = speak(voices[ln.character], ln.line, store, voice_model)
            out[key] = ([tuple(p) for p in sp.phones], sp.duration)
    return out


def line_phones(text: str, rate: float, timing: tuple | None) -> tuple[list, float]:
    """A line's phones and length: the voice's own, or the estimate from its spelling (stretched
    to the voice's length where the voice gave one without phones)."""
    if timing is not None and timing[0]:
        return list(timing[0]), timing[1]
    phones = text_phones(text, rate)
    length = phones[-1][2] if phones else 0.0
    if timing is not None and length > 0:
        k = timing[1] / length
        phones, length = [(p, round(a * k, 4), round(b * k, 4)) for p, a, b in phones], timing[1]
    return phones, length


def estimated_lines(spec, shot_start_s: list[float], timings: dict | None = None) -> list[dict]:
    """Every line with its film time and phones (`timings`: voice_timings'; estimated where a
    line has none), placed as the mix places lines."""
    from worldgen.sound.mix import line_times

    rates = _rates(spec)
    phones_of = {}

    def length(ln) -> float:
        timing = (timings or {}).get((ln.character, ln.line))
        phones_of[id(ln)], d = line_phones(ln.line, rates.get(ln.character, 1.0), timing)
        return d

    return [
        {"character": ln.character, "start": start, "phones": phones_of[id(ln)]}
        for _, ln, start, _ in line_times(spec, shot_start_s, length)
    ]


_LAST: list = [None, None, None]  # (spec, voice model, its mouths): a render asks for the keys and per shot


def shot_mouths(
    spec, voice_model: str | None = None, store=None, voiced: bool = True
) -> dict[str, dict[str, tuple[list, list]]]:
    """shot id -> {character: (opening per frame, width per frame)} for the characters whose
    mouth opens at some frame of that shot; shots where nobody speaks are left out. The lines
    are timed by their voices (`voice_model` as the render's --voice-model; `store` keeps the
    spoken lines); `voiced=False` times them from their spelling alone. A voice over's lines
    (`Line.voice`) are placed like any other and move no mouth."""
    if not any(s.dialogue for s in spec.shots):
        return {}
    if not voiced:
        return _shot_mouths(spec, None)
    if _LAST[0] is not spec or _LAST[1] != voice_model:  # specs are frozen: the same object, the same mouths
        _LAST[:] = [spec, voice_model, _shot_mouths(spec, voice_timings(spec, voice_model, store))]
    return _LAST[2]


def _shot_mouths(spec, timings: dict | None) -> dict:
    from worldgen.edit.timeline import build_timeline

    fps = spec.render.fps
    counts = [frame_count(s, fps) for s in spec.shots]
    tl = build_timeline(spec, counts)
    lines = estimated_lines(spec, [f / fps for f in tl.shot_start], timings)
    # every line takes its time (a voice over's too: the lines after it follow it), but only a
    # character of the world has a mouth to move
    bodies = {c.id for c in spec.world.characters}
    speakers = list(dict.fromkeys(ln["character"] for ln in lines if ln["character"] in bodies))
    curves = mouth_curves(lines, speakers, len(tl.frames), fps)
    shown = [[0] * n for n in counts]  # the film frame that shows each shot frame
    for f, fr in enumerate(tl.frames):
        for src in (fr.a, fr.b):
            if src is not None:
                shown[src[0]][src[1]] = f
    out: dict = {}
    for i, shot in enumerate(spec.shots):
        for cid in speakers:
            o = [curves[cid]["open"][f] for f in shown[i]]
            if any(v > 0 for v in o):
                out.setdefault(shot.id, {})[cid] = (o, [curves[cid]["wide"][f] for f in shown[i]])
    return out
