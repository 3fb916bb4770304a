"""The score from a transformers MusicGen model instead of composed notes: `--music-model` names
a local folder loaded with `from_pretrained` (nothing is downloaded), and every composed cue
(one without a `file`) is generated from its words.

The prompt is the cue's mood and genre words with its tempo and key where the spec gives them
("tense strings, 100 bpm, D minor"): MusicGen reads text, not numbers, so the tempo is asked
for, not imposed. Sampling is seeded from the spec's seed and the cue's place, so the same
spec gives the same samples. The generated audio is resampled to 48 kHz, looped where the
model's longest piece is shorter than the cue, and faded in and out on its span, which starts
and ends on shot boundaries as the MIDI score's does (mix._span). A generated cue is kept in
the frame store under (model files, prompt, length, seed): a re-cut does not generate again."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from worldgen.errors import WorldgenError
from worldgen.sound import SAMPLE_RATE

MAX_PIECE_S = 30.0  # MusicGen was trained on 30 s pieces; longer cues loop the piece
EDGE_S = 0.25  # fade in and out on the cue's span


class MusicModelError(WorldgenError):
    pass


def prompt(words: str | None, tempo: float | None, key: str | None) -> str:
    """What the model is asked for: the cue's words, then its tempo and key where given."""
    parts = [(words or "calm").strip()]
    if tempo:
        parts.append(f"{tempo:g} bpm")
    if key:
        parts.append(key if " " in key else f"{key} major")
    return ", ".join(parts)


def check(folder: str | None) -> None:
    """A missing folder, or one whose config is not MusicGen's, is refused before the first
    frame, in one line (loading the weights waits for the cut)."""
    import json

    if not (folder and Path(folder).is_dir()):
        raise MusicModelError(f"--music-model: no such folder: {folder}")
    try:
        kind = json.loads((Path(folder) / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind != "musicgen":
        raise MusicModelError(f"--music-model {folder}: not a MusicGen model (config.json model_type: {kind})")


def identity(folder: str) -> dict:
    """What decides a cue's samples besides its prompt, length and seed (for the store key)."""
    from worldgen.sound.voices import _folder_digests

    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    return {"musicgen": _folder_digests(folder, tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))}


@functools.lru_cache(maxsize=2)
def _load(folder: str):
    from worldgen.compat import torchvision_importable

    torchvision_importable()  # transformers imports torchvision where it is installed
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    try:
        model = MusicgenForConditionalGeneration.from_pretrained(folder, local_files_only=True).eval()
        tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as e:
        raise MusicModelError(f"--music-model {folder}: not a MusicGen model ({str(e).splitlines()[0]})") from None
    return model, tok


def generate(folder: str, text: str, seconds: float, seed: int) -> np.ndarray:
    """A piece of at most MAX_PIECE_S seconds for `text`, float32 stereo (n, 2) at 48 kHz."""
    import torch

    model, tok = _load(folder)
    enc = model.config.audio_encoder
    frame_rate = enc.frame_rate
    tokens = max(2, int(np.ceil(min(seconds, MAX_PIECE_S) * frame_rate)) + model.decoder.num_codebooks)
    inputs = tok([text], return_tensors="pt", padding=True)
    inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        wav = model.generate(**inputs, do_sample=True, max_new_tokens=tokens, guidance_scale=3.0)
    x = wav[0].float().numpy().T  # (n, channels)
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    return _resample(x[:, :2], int(enc.sampling_rate))


def _resample(x: np.ndarray, rate_in: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(SAMPLE_RATE, rate_in)
    return resample_poly(x.astype(np.float64), SAMPLE_RATE // g, rate_in // g, axis=0).astype(np.float32)


def fit(piece: np.ndarray, n: int) -> np.ndarray:
    """The piece on a span of n samples: cut, or looped with a short crossfade, and faded in and
    out so that the cue starts and ends quietly on its shot boundaries."""
    if len(piece) == 0:
        return np.zeros((n, 2), np.float32)
    out = piece[:n].copy()
    xf = min(len(piece) // 4, int(0.5 * SAMPLE_RATE))
    while len(out) < n:  # loop: the next pass fades in over the end of the last
        nxt = piece.copy()
        if xf:
            ramp = np.linspace(0, 1, xf, dtype=np.float32)[:, None]
            out[-xf:] = out[-xf:] * (1 - ramp) + nxt[:xf] * ramp
            nxt = nxt[xf:]
        out = np.concatenate([out, nxt])[:n]
    k = min(n // 2, int(EDGE_S * SAMPLE_RATE))
    if k:
        ramp = np.linspace(0, 1, k, dtype=np.float32)[:, None]
        out[:k] *= ramp
        out[n - k :] *= ramp[::-1]
    return out.astype(np.float32)


def cue(folder: str, words, tempo, key, seconds: float, seed: int, store=None) -> tuple[np.ndarray, dict]:
    """The cue's samples (float32 (n, 2), `seconds` long) and what was played, for the manifest."""
    text = prompt(words, tempo, key)
    n = int(round(seconds * SAMPLE_RATE))
    piece = _stored_piece(folder, text, seconds, seed, store)
    name = Path(folder).name
    return fit(piece, n), {"model": name, "prompt": text, "synth": "musicgen"}


def _stored_piece(folder: str, text: str, seconds: float, seed: int, store) -> np.ndarray:
    from worldgen.sound.audio import read_wav, to_int16, write_wav

    if store is None:  # the 16-bit samples a stored piece would give
        return to_int16(generate(folder, text, seconds, seed)).astype(np.float32) / 32767.0
    import tempfile

    from worldgen.store import digest

    key = digest({**identity(folder), "prompt": text, "seconds": min(seconds, MAX_PIECE_S), "seed": seed})
    if not store.has(key, "music.wav"):
        with tempfile.TemporaryDirectory() as d:
            wav = Path(d) / "piece.wav"
            write_wav(wav, generate(folder, text, seconds, seed))
            store.adopt(key, "music.wav", wav)
    return read_wav(store.path(key, "music.wav"))[0]  # the stored (16-bit) samples, as a re-cut reads them
