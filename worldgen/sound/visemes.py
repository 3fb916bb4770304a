"""Lip sync's first half: a line's phone timings become visemes, and the visemes a mouth
opening and width per film frame for each speaking character (written as lipsync.json).

Phones are the ARPAbet set flite reports (piper's IPA is mapped onto it: IPA). Each maps to a viseme (the mouth shape an animator
would draw) with an opening (0 closed .. 1 wide open) and a width (0 rounded .. 1 spread).
The curve is sampled at the film's frames with a little co-articulation: each frame takes a
weighted mean of the phones overlapping a 60 ms window around it, so a mouth does not snap
shut on every consonant. The picture's half (worldgen.sound.lipsync) feeds the same curves
with phones estimated from the spec's words, so frames depend on the spec alone."""

from __future__ import annotations

import numpy as np

# viseme: (opening, width)
SHAPES = {
    "rest": (0.0, 0.5),
    "MBP": (0.0, 0.5),
    "FV": (0.12, 0.55),
    "TH": (0.22, 0.5),
    "DTN": (0.28, 0.55),
    "S": (0.18, 0.7),
    "CH": (0.3, 0.3),
    "KG": (0.35, 0.5),
    "L": (0.35, 0.5),
    "R": (0.3, 0.3),
    "WU": (0.25, 0.1),
    "O": (0.6, 0.2),
    "E": (0.55, 0.75),
    "I": (0.4, 0.85),
    "A": (0.95, 0.6),
}
PHONES = {
    "m": "MBP",
    "b": "MBP",
    "p": "MBP",
    "f": "FV",
    "v": "FV",
    "th": "TH",
    "dh": "TH",
    "t": "DTN",
    "d": "DTN",
    "n": "DTN",
    "s": "S",
    "z": "S",
    "ch": "CH",
    "jh": "CH",
    "sh": "CH",
    "zh": "CH",
    "k": "KG",
    "g": "KG",
    "ng": "KG",
    "hh": "KG",
    "y": "I",
    "l": "L",
    "r": "R",
    "er": "R",
    "w": "WU",
    "uw": "WU",
    "uh": "WU",
    "ow": "O",
    "ao": "O",
    "oy": "O",
    "aa": "A",
    "ae": "A",
    "ah": "A",
    "aw": "A",
    "ay": "A",
    "eh": "E",
    "ey": "E",
    "ax": "E",
    "ih": "I",
    "iy": "I",
}
# piper speaks IPA (espeak-ng's phonemes, one symbol each): the ARPAbet phone each stands for
IPA = {
    "i": "iy", "ɪ": "ih", "ᵻ": "ih", "e": "ey", "ɛ": "eh", "æ": "ae", "a": "aa", "ɑ": "aa", "ɒ": "aa",
    "ʌ": "ah", "ɐ": "ah", "ə": "ax", "ɚ": "er", "ɜ": "er", "ɔ": "ao", "o": "ow", "ɵ": "ow", "ʊ": "uh",
    "u": "uw", "p": "p", "b": "b", "m": "m", "f": "f", "v": "v", "θ": "th", "ð": "dh", "t": "t",
    "d": "d", "n": "n", "ɾ": "d", "ʔ": "t", "s": "s", "z": "z", "ʃ": "sh", "ʒ": "zh", "k": "k",
    "ɡ": "g", "g": "g", "ŋ": "ng", "h": "hh", "x": "hh", "l": "l", "ɹ": "r", "r": "r", "j": "y", "w": "w",
}  # fmt: skip
IPA_MARKS = set("ˈˌːˑ")  # stress and length: part of the phone before (or after) them
WINDOW = 0.06  # s of co-articulation around a frame


def viseme(phone: str) -> str:
    return PHONES.get(phone.lower().rstrip("012"), "DTN")


def mouth_curves(lines: list[dict], characters: list[str], n_frames: int, fps: float) -> dict:
    """character -> {'open': [...], 'wide': [...], 'viseme': [...]} per film frame. `lines`:
    {character, start (film s), phones [(phone, start, end) from the line's start]}."""
    out = {}
    centres = (np.arange(n_frames) + 0.5) / fps
    for cid in characters:
        weight = np.zeros(n_frames)
        open_, wide = np.zeros(n_frames), np.zeros(n_frames)
        best = np.zeros(n_frames)
        names = np.array(["rest"] * n_frames, dtype=object)
        for ln in lines:
            if ln["character"] != cid:
                continue
            for phone, a, b in ln["phones"]:
                a, b = ln["start"] + a, ln["start"] + b
                # overlap of [a, b] with each frame's window
                w = np.clip(np.minimum(b, centres + WINDOW) - np.maximum(a, centres - WINDOW), 0, None)
                if not w.any():
                    continue
                v = viseme(phone)
                shape_open, shape_wide = SHAPES[v]
                open_ += w * shape_open
                wide += w * shape_wide
                weight += w
                names = np.where(w > best, v, names)
                best = np.maximum(best, w)
        spoken = weight > 0
        o = np.where(spoken, open_ / np.maximum(weight, 1e-12), 0.0)
        wd = np.where(spoken, wide / np.maximum(weight, 1e-12), SHAPES["rest"][1])
        out[cid] = {
            "open": [round(float(x), 4) for x in o],
            "wide": [round(float(x), 4) for x in wd],
            "viseme": [str(x) for x in names],
        }
    return out
