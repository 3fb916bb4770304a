"""Ambience beds generated from seeded noise: filtered and slowly modulated so that wind
gusts, the sea swells and rain patters, with a few seeded events (bird calls) on top."""

from __future__ import annotations

import numpy as np

from worldgen.sound import SAMPLE_RATE


def _filtered(rng, n: int, kind: str, lo: float | None, hi: float | None) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    x = rng.standard_normal(n + SAMPLE_RATE)  # a second of run-in: the filter settles before the bed starts
    if lo and hi:
        sos = butter(2, [lo, hi], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    elif hi:
        sos = butter(2, hi, btype="lowpass", fs=SAMPLE_RATE, output="sos")
    else:
        sos = butter(2, lo, btype="highpass", fs=SAMPLE_RATE, output="sos")
    y = sosfilt(sos, x)[SAMPLE_RATE:]
    return y / (np.std(y) + 1e-12)


def _swell(rng, n: int, period: float, depth: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    phase = rng.uniform(0, 2 * np.pi)
    return (
        1
        - depth
        + depth * 0.5 * (1 + np.sin(2 * np.pi * t / period + phase) * np.sin(2 * np.pi * t / (period * 2.7) + phase))
    )


def _birds(rng, n: int, per_second: float) -> np.ndarray:
    out = np.zeros(n)
    for _ in range(rng.poisson(per_second * n / SAMPLE_RATE)):
        m = int(rng.uniform(0.05, 0.15) * SAMPLE_RATE)
        i = int(rng.integers(0, max(1, n - m)))
        t = np.arange(m) / SAMPLE_RATE
        f0, f1 = rng.uniform(2500, 4500), rng.uniform(2000, 6000)
        chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * t[-1]))) * np.sin(np.pi * t / t[-1]) ** 2
        out[i : i + m] += chirp * rng.uniform(0.5, 1.0)
    return out


def bed(kind: str, duration: float, seed: int) -> np.ndarray:
    """Stereo float32 (n, 2): two decorrelated channels of the bed, at a modest level (the mix
    sets the final one)."""
    n = int(round(duration * SAMPLE_RATE))
    chans = []
    for ch in range(2):
        rng = np.random.default_rng([seed, 777, ch, sum(map(ord, kind))])
        if kind == "wind":
            x = _filtered(rng, n, kind, None, 400) * _swell(rng, n, 5.0, 0.7)
        elif kind == "sea":
            x = _filtered(rng, n, kind, 80, 1500) * _swell(rng, n, 7.0, 0.85)
        elif kind == "rain":
            x = _filtered(rng, n, kind, 1500, None) * 0.7 + _filtered(rng, n, kind, 200, 1200) * 0.3
        elif kind == "birds":
            x = _filtered(rng, n, kind, None, 300) * 0.2 + _birds(rng, n, 1.2) * 0.6
        elif kind == "city":
            x = _filtered(rng, n, kind, None, 150) * 0.8 + _filtered(rng, n, kind, 300, 2000) * 0.25 * _swell(
                rng, n, 9.0, 0.5
            )
        elif kind == "forest":
            x = _filtered(rng, n, kind, None, 500) * 0.5 * _swell(rng, n, 6.0, 0.6) + _birds(rng, n, 0.6) * 0.4
        else:  # room tone
            x = _filtered(rng, n, kind, 40, 600) * 0.5
        chans.append(x)
    out = np.stack(chans, axis=1) * 0.05
    fade = min(n, int(0.3 * SAMPLE_RATE))
    if fade:
        ramp = np.linspace(0, 1, fade)[:, None]
        out[:fade] *= ramp
        out[n - fade :] *= ramp[::-1]
    return out.astype(np.float32)
