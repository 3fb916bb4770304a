"""Audio in and out through the ffmpeg binary that imageio-ffmpeg ships: decode the user's
files, write WAV stems, measure loudness (EBU R128 by ffmpeg's ebur128 filter, volumedetect)
and normalise to a target. No audio library beyond numpy and scipy is needed."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np

from worldgen.errors import SpecError
from worldgen.sound import SAMPLE_RATE


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args], input=data, capture_output=True, check=False
    )


def decode(path: Path, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A WAV/FLAC/OGG/MP3 file as float32 stereo (n, 2) at `rate`."""
    r = _run(["-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(rate), "-"])
    if r.returncode != 0:
        first = (r.stderr.decode(errors="replace").strip().splitlines() or ["unreadable"])[-1]
        raise SpecError(f"cannot decode audio ({first})", str(path))
    return np.frombuffer(r.stdout, dtype="<f4").reshape(-1, 2).copy()


def probe(path: Path) -> None:
    """Refuse, in one located line, a file that is not audio ffmpeg can decode, reading only
    its first 50 ms: the check before the frames, which the mix then decodes once in full."""
    if not Path(path).is_file():
        raise SpecError("no such audio file", str(path))
    r = _run(["-v", "error", "-i", str(path), "-map", "0:a:0", "-t", "0.05", "-f", "null", "-"])
    if r.returncode != 0:
        first = (r.stderr.decode(errors="replace").strip().splitlines() or ["unreadable"])[-1]
        raise SpecError(f"cannot decode audio ({first})", str(path))


def to_int16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")


def write_wav(path: Path, x: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """16-bit PCM WAV, written atomically (temp file + rename)."""
    x = x if x.ndim == 2 else x[:, None]
    tmp = path.with_name(f".{path.name}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_int16(x).tobytes())
    tmp.replace(path)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        n, ch, rate = w.getnframes(), w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(n), dtype="<i2").reshape(-1, ch)
    return data.astype(np.float32) / 32767.0, rate


def _pcm_args(x: np.ndarray, rate: int) -> tuple[list[str], bytes]:
    x = x if x.ndim == 2 else x[:, None]
    return ["-f", "f32le", "-ar", str(rate), "-ac", str(x.shape[1]), "-i", "-"], np.ascontiguousarray(
        x, "<f4"
    ).tobytes()


def measure(x: np.ndarray, rate: int = SAMPLE_RATE) -> dict:
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) by ffmpeg's ebur128
    filter, and the mean/max volume by volumedetect."""
    args, data = _pcm_args(x, rate)
    r = _run([*args, "-af", "ebur128=peak=true,volumedetect", "-f", "null", "-"], data)
    text = r.stderr.decode(errors="replace")
    summary = text[text.rfind("Summary:") :]

    def num(pattern, src):
        m = re.search(pattern, src)
        return float(m.group(1)) if m else float("nan")

    return {
        "integrated_lufs": num(r"I:\s+(-?[\d.]+|-inf) LUFS", summary),
        "range_lu": num(r"LRA:\s+(-?[\d.]+) LU", summary),
        "true_peak_dbtp": num(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary),
        "mean_volume_db": num(r"mean_volume:\s+(-?[\d.]+) dB", text),
        "max_volume_db": num(r"max_volume:\s+(-?[\d.]+) dB", text),
    }


def limit(x: np.ndarray, ceiling_db: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A look-ahead peak limiter on the true (4x oversampled) peak: the gain dips smoothly
    (5 ms ahead, 50 ms release) wherever a peak would pass `ceiling_db`."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import resample_poly

    ceiling = 10 ** (ceiling_db / 20)
    up = np.abs(resample_poly(x, 4, 1, axis=0)).reshape(len(x), 4, -1).max(axis=(1, 2))
    need = np.minimum(1.0, ceiling / np.maximum(up, 1e-12))
    if need.min() >= 1.0:
        return x
    ahead = int(0.005 * rate)
    gain = minimum_filter1d(need, size=2 * ahead + 1)
    gain = np.minimum(gain, uniform_filter1d(minimum_filter1d(need, size=int(0.05 * rate)), size=2 * ahead + 1))
    return (x * gain[:, None]).astype(np.float32)


def normalise(
    x: np.ndarray, target: float, true_peak: float = -1.0, rate: int = SAMPLE_RATE
) -> tuple[np.ndarray, dict]:
    """Bring the mix to `target` LUFS integrated with its true peak at most `true_peak` dBTP:
    one gain from ffmpeg's ebur128 measurement, a limiter for the peaks, measured again (the
    limiter takes a little loudness, which the next round gives back). ffmpeg's loudnorm was
    the first choice, but on films of a few seconds its measurement window read 1.4 LU low
    (-25.8 against ebur128's -24.4 LUFS on a 6 s test tone), missing the target by as much.
    Returns the normalised samples and their final measurement."""
    y = x.astype(np.float32)
    m = measure(y, rate)
    for _ in range(4):
        if not np.isfinite(m["integrated_lufs"]):
            return y, m  # silence (or shorter than a measurement block) stays as it is
        if abs(m["integrated_lufs"] - target) <= 0.1 and m["true_peak_dbtp"] <= true_peak:
            break
        y = (y * 10 ** ((target - m["integrated_lufs"]) / 20)).astype(np.float32)
        y = limit(y, true_peak - 0.5, rate)
        m = measure(y, rate)
    return y, m
