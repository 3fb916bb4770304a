"""Camera and film: what happens to the light after it leaves the world, in the camera.

`develop` takes a frame's linear radiance and makes the picture: haze by depth (atmospheric
perspective), depth of field from the depth pass, motion blur along the exact flow, bloom
around what is brighter than white, exposure and vignette, a filmic tone curve, and film grain.

Depth of field, motion blur and grain are the lens effects: the consistency benchmark measures
the image both before and after them. Each one is exact where it should be: a pixel in focus
with nothing out of focus over it keeps its value bit for bit, a shot where nothing moves has
no motion blur, and grain is seeded by the spec's seed, the shot and the frame index, so it
changes every frame (the temporal noise film has, intended) and is the same on every render.
The edit stage's grade (worldgen.film) works on finished frames; this is the in-camera look."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
from numba import njit, prange

warnings.filterwarnings("ignore", message="The TBB threading layer requires")

SENSOR_HEIGHT_M = 0.024  # the spec's lens_mm is on a 24 mm-high sensor
DOF_SAMPLES = 32
BLUR_SAMPLES = 9


def vogel_disk(n: int) -> np.ndarray:
    """n points spread evenly over the unit disk (a golden-angle spiral), fixed."""
    i = np.arange(n) + 0.5
    r, phi = np.sqrt(i / n), i * 2.399963229728653
    return np.stack([r * np.cos(phi), r * np.sin(phi)], 1)


@njit(parallel=True, cache=True)
def _dof(img, coc, depth, disk, rmax):
    """Scatter-as-gather blur: pixel q spreads over its circle of confusion (radius coc[q]); a
    pixel collects every sampled neighbour whose circle covers it, a farther one only up to its
    own circle (a blurred background never bleeds over a sharp foreground). A pixel that
    collects nothing from neighbours keeps its value exactly."""
    h, w = coc.shape
    out = img.copy()
    for i in prange(h):
        for j in range(w):
            rp = coc[i, j]
            wp = 1.0 / max(rp, 0.5) ** 2
            acc0, acc1, acc2, extra = 0.0, 0.0, 0.0, 0.0
            for k in range(disk.shape[0]):
                dx, dy = disk[k, 0] * rmax, disk[k, 1] * rmax
                qi, qj = int(np.round(i + dy)), int(np.round(j + dx))
                if qi < 0 or qi >= h or qj < 0 or qj >= w:
                    continue
                dist = np.sqrt(dy * dy + dx * dx)
                rq = coc[qi, qj]
                if depth[qi, qj] > depth[i, j]:
                    rq = min(rq, rp)
                cover = min(max(rq - dist + 0.5, 0.0), 1.0)
                if cover <= 0.0:
                    continue
                wq = cover / max(rq, 0.5) ** 2
                acc0 += wq * img[qi, qj, 0]
                acc1 += wq * img[qi, qj, 1]
                acc2 += wq * img[qi, qj, 2]
                extra += wq
            if extra > 0.0:
                tot = wp + extra
                out[i, j, 0] = (wp * img[i, j, 0] + acc0) / tot
                out[i, j, 1] = (wp * img[i, j, 1] + acc1) / tot
                out[i, j, 2] = (wp * img[i, j, 2] + acc2) / tot
    return out


@njit(inline="always", cache=True)
def _bilinear3(img, y, x, acc):
    """acc += the image at (y, x), bilinear (edges clamped): all three channels from one set
    of weights and corner indices."""
    h, w = img.shape[0], img.shape[1]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    for c in range(3):
        top = img[y0, x0, c] * (1 - fx) + img[y0, x1, c] * fx
        bot = img[y1, x0, c] * (1 - fx) + img[y1, x1, c] * fx
        acc[c] += top * (1 - fy) + bot * fy


@njit(parallel=True, cache=True)
def _motion_blur(img, fwd, bwd, half_open, n):
    """Average of the image along each pixel's own path over the open shutter: from where its
    surface point was half the shutter before (backward flow) to where it will be half after
    (forward flow), with samples about a pixel apart (at most `n`): a path under a pixel long
    is no blur, and the pixel keeps its value exactly, as one that does not move."""
    h, w = img.shape[0], img.shape[1]
    out = img.copy()
    for i in prange(h):
        acc = np.zeros(3)
        for j in range(w):
            fx, fy, bx, by = fwd[i, j, 0], fwd[i, j, 1], bwd[i, j, 0], bwd[i, j, 1]
            path = half_open * (np.sqrt(fx * fx + fy * fy) + np.sqrt(bx * bx + by * by))
            m = min(n, int(np.ceil(path)))
            if m < 2:
                continue
            acc[0], acc[1], acc[2] = 0.0, 0.0, 0.0
            for k in range(m):
                u = (k + 0.5) / m * 2.0 - 1.0  # -1..1 over the open shutter
                if u >= 0:
                    x, y = j + u * half_open * fx, i + u * half_open * fy
                else:
                    x, y = j - u * half_open * bx, i - u * half_open * by
                _bilinear3(img, y, x, acc)
            out[i, j, 0], out[i, j, 1], out[i, j, 2] = acc[0] / m, acc[1] / m, acc[2] / m
    return out


def circle_of_confusion(depth: np.ndarray, k_fy: float, focus: float, f_stop: float) -> np.ndarray:
    """Radius in pixels of the blur circle of each depth, for a thin lens focused at `focus`
    metres with the frame's focal length (from K's fy on a 24 mm-high sensor)."""
    h = depth.shape[0]
    f = k_fy / h * SENSOR_HEIGHT_M
    aperture = f / f_stop
    z = np.where(np.isfinite(depth), depth, 1e6).astype(np.float64)
    diam = aperture * f * np.abs(z - focus) / (z * max(focus - f, 1e-6))
    return (diam / SENSOR_HEIGHT_M * h / 2).astype(np.float32)


def depth_of_field(img: np.ndarray, depth: np.ndarray, k_fy: float, focus: float, f_stop: float) -> np.ndarray:
    h = img.shape[0]
    rmax = max(2.0, h / 24.0)
    coc = np.minimum(circle_of_confusion(depth, k_fy, focus, f_stop), rmax)
    if coc.max() < 0.5:
        return img
    d = np.where(np.isfinite(depth), depth, 1e30).astype(np.float32)
    return _dof(np.ascontiguousarray(img, np.float32), coc, d, vogel_disk(DOF_SAMPLES), float(coc.max()))


def motion_blur(img: np.ndarray, flow_fwd: np.ndarray, flow_bwd: np.ndarray, shutter_deg: float) -> np.ndarray:
    if shutter_deg <= 0:
        return img
    return _motion_blur(
        np.ascontiguousarray(img, np.float32),
        np.ascontiguousarray(flow_fwd, np.float32),
        np.ascontiguousarray(flow_bwd, np.float32),
        shutter_deg / 720.0,  # half the open fraction of a frame
        BLUR_SAMPLES,
    )


@njit(parallel=True, cache=True)
def _fog(img, depth, density, colour):
    h, w = depth.shape
    out = img.copy()
    for i in prange(h):
        for j in range(w):
            d = depth[i, j]
            if d < np.inf:
                t = np.exp(-density * d)
                for c in range(3):
                    out[i, j, c] = img[i, j, c] * t + colour[c] * (1 - t)
    return out


def fog(img: np.ndarray, depth: np.ndarray, density: float, colour: np.ndarray) -> np.ndarray:
    """Atmospheric perspective: light scattered out and the haze's colour scattered in, by
    depth (the sky itself is the haze's limit and is left as it is)."""
    if density <= 0:
        return img
    return _fog(
        np.ascontiguousarray(img, np.float32),
        np.ascontiguousarray(depth, np.float32),
        float(density),
        np.asarray(colour, np.float32),
    )


@njit(parallel=True, cache=True)
def _add_upsampled(img, glow, f, strength):
    """img + strength * glow brought up from 1/f size with bilinear weights (pixel centres)."""
    h, w = img.shape[0], img.shape[1]
    hs, ws = glow.shape[0], glow.shape[1]
    out = img.copy()
    for i in prange(h):
        y = (i + 0.5) / f - 0.5
        y0 = min(max(int(np.floor(y)), 0), hs - 1)
        y1 = min(y0 + 1, hs - 1)
        fy = min(max(y - y0, 0.0), 1.0)
        for j in range(w):
            x = (j + 0.5) / f - 0.5
            x0 = min(max(int(np.floor(x)), 0), ws - 1)
            x1 = min(x0 + 1, ws - 1)
            fx = min(max(x - x0, 0.0), 1.0)
            for c in range(3):
                g = (glow[y0, x0, c] * (1 - fx) + glow[y0, x1, c] * fx) * (1 - fy) + (
                    glow[y1, x0, c] * (1 - fx) + glow[y1, x1, c] * fx
                ) * fy
                out[i, j, c] += strength * g
    return out


def _blur_axis(x: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    r = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    xp = np.pad(x, pad, mode="edge")
    out = np.zeros_like(x)
    n = x.shape[axis]
    for i, kv in enumerate(k):
        sl = [slice(None)] * x.ndim
        sl[axis] = slice(i, i + n)
        out += kv * xp[tuple(sl)]
    return out


def bloom_glow(img: np.ndarray, strength: float) -> np.ndarray | None:
    """The glow of what is brighter than white, at a quarter of the size (two blur widths), or
    None where nothing is: `finish` brings it back up with bilinear weights."""
    if strength <= 0:
        return None
    bright = _bright_quarter(np.ascontiguousarray(img, np.float32), BLOOM_F)
    if not bright.any():
        return None
    glow = np.zeros_like(bright)
    for sigma in (1.5, 5.0):
        glow += _blur_axis(_blur_axis(bright, sigma, 0), sigma, 1)
    return glow.astype(np.float32)


def bloom(img: np.ndarray, strength: float) -> np.ndarray:
    """Glow: what is brighter than white spreads over its surroundings (two widths, computed
    at a quarter of the size and brought back with bilinear weights). Step by step, with numpy:
    the painter gets the same through `finish`, which is tested against this."""
    if strength <= 0:
        return img
    h, w = img.shape[:2]
    f = BLOOM_F
    hs, ws = -(-h // f), -(-w // f)
    padded = np.pad(img, ((0, hs * f - h), (0, ws * f - w), (0, 0)), mode="edge")
    small = padded.reshape(hs, f, ws, f, 3).mean((1, 3))
    lum = small @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    bright = small * (np.clip(lum - 1.0, 0, None) / np.maximum(lum, 1e-6))[..., None]
    if not bright.any():
        return img
    glow = np.zeros_like(bright)
    for sigma in (1.5, 5.0):
        glow += _blur_axis(_blur_axis(bright, sigma, 0), sigma, 1)
    return _add_upsampled(np.ascontiguousarray(img, np.float32), glow.astype(np.float32), f, float(strength))


BLOOM_F = 4  # bloom works at 1/BLOOM_F of the frame's size


@njit(parallel=True, cache=True)
def _bright_quarter(img, f):
    """The f x f block means of the image (edges repeated past the border), keeping only the
    part of each brighter than white (luminance above 1), in one pass."""
    h, w = img.shape[0], img.shape[1]
    hs, ws = -(-h // f), -(-w // f)
    out = np.zeros((hs, ws, 3), np.float32)
    for bi in prange(hs):
        for bj in range(ws):
            s0, s1, s2 = 0.0, 0.0, 0.0
            for a in range(f):
                i = min(bi * f + a, h - 1)
                for b in range(f):
                    j = min(bj * f + b, w - 1)
                    s0 += img[i, j, 0]
                    s1 += img[i, j, 1]
                    s2 += img[i, j, 2]
            s0, s1, s2 = s0 / (f * f), s1 / (f * f), s2 / (f * f)
            lum = 0.2126 * s0 + 0.7152 * s1 + 0.0722 * s2
            if lum > 1.0:
                k = (lum - 1.0) / max(lum, 1e-6)
                out[bi, bj, 0], out[bi, bj, 1], out[bi, bj, 2] = s0 * k, s1 * k, s2 * k
    return out


def vignette_weights(h: int, w: int, amount: float) -> np.ndarray:
    """Fall-off toward the corners: 1 at the centre, 1 - amount at the corners."""
    y = (np.arange(h) + 0.5) / h * 2 - 1
    x = (np.arange(w) + 0.5) / w * 2 - 1
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / 2
    return (1 - amount * r2**1.5).astype(np.float32)[..., None]


WHITE = 4.0  # linear light that the tone curve maps to white


def filmic(x: np.ndarray) -> np.ndarray:
    """The filmic tone curve, display transfer included: a shoulder that rolls highlights off
    toward a white point of WHITE instead of clipping them flat (Reinhard's extended operator),
    then the sRGB transfer. Linear near black, so shadows keep the contrast they have: a
    steeper toe would amplify every sub-pixel difference between frames (E_warp)."""
    x = np.maximum(x, 0)
    return encode_srgb(np.clip(x * (1 + x / (WHITE * WHITE)) / (1 + x), 0, 1))


def encode_srgb(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(np.maximum(x, 0.0031308), 1 / 2.4) - 0.055)


def _srgb_levels() -> np.ndarray:
    """levels[k]: the least linear value (0..1) that encodes to 8-bit level k or above (sRGB
    transfer, rounding to nearest); levels[0] = -inf."""
    s = (np.arange(256) - 0.5) / 255
    lin = np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)
    lin[0] = -np.inf
    return lin


SRGB_LEVELS = _srgb_levels()
LEVEL_BINS = 4096  # finer than the closest two levels (near black, 1 / (255 * 12.92) apart)
# the level of each bin's lower end: a pixel's level is at most a step or two above its bin's
LEVEL_START = (np.searchsorted(SRGB_LEVELS, np.arange(LEVEL_BINS) / LEVEL_BINS, side="right") - 1).astype(np.int64)


@njit(parallel=True, cache=True)
def _finish(img, gain, glow, f, strength, vignette, filmic_curve, grain, noise, levels, start):
    """Exposed, bloomed, vignetted, toned, grained and quantised in one pass over the frame
    (float64 inside): what `develop` does after the lens, without a full-frame temporary per
    step. `glow`: the bloom at 1/f size (0 x 0 for none); `noise`: (H, W, 1) or 0 x 0 x 0."""
    h, w = img.shape[0], img.shape[1]
    hs, ws = glow.shape[0], glow.shape[1]
    out = np.empty((h, w, 3), np.uint8)
    inv_white2 = 1.0 / (WHITE * WHITE)
    for i in prange(h):
        yy = (i + 0.5) / h * 2 - 1
        gy = (i + 0.5) / f - 0.5
        y0 = min(max(int(np.floor(gy)), 0), max(hs - 1, 0))
        y1 = min(y0 + 1, max(hs - 1, 0))
        fy = min(max(gy - y0, 0.0), 1.0)
        for j in range(w):
            wgt = 1.0
            if vignette > 0:
                xx = (j + 0.5) / w * 2 - 1
                r2 = (xx * xx + yy * yy) / 2
                wgt = 1 - vignette * r2 * np.sqrt(r2)
            gx = (j + 0.5) / f - 0.5
            x0 = min(max(int(np.floor(gx)), 0), max(ws - 1, 0))
            x1 = min(x0 + 1, max(ws - 1, 0))
            fx = min(max(gx - x0, 0.0), 1.0)
            for c in range(3):
                v = img[i, j, c] * gain
                if hs > 0:
                    g = (glow[y0, x0, c] * (1 - fx) + glow[y0, x1, c] * fx) * (1 - fy) + (
                        glow[y1, x0, c] * (1 - fx) + glow[y1, x1, c] * fx
                    ) * fy
                    v += strength * g
                v *= wgt
                if filmic_curve:
                    v = max(v, 0.0)
                    v = min(max(v * (1 + v * inv_white2) / (1 + v), 0.0), 1.0)
                else:
                    v = min(max(v, 0.0), 1.0)
                if grain > 0 and noise.shape[0] > 0:
                    v = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
                    v = v + grain * 0.25 * noise[i, j, 0] * np.sqrt(min(max(v * (1 - v), 0.0), 0.25)) * 2
                    out[i, j, c] = np.uint8(min(max(v, 0.0), 1.0) * 255 + 0.5)
                else:  # the 8-bit level from a table of its thresholds: no power per pixel
                    b = min(int(v * LEVEL_BINS), LEVEL_BINS - 1)
                    k = start[b]
                    while k < 255 and v >= levels[k + 1]:
                        k += 1
                    out[i, j, c] = np.uint8(k)
    return out


def finish(img, gain: float, bloom_strength: float, vignette: float, tone: str, grain: float, noise) -> np.ndarray:
    """Exposure gain, bloom, vignette, tone curve and grain, to uint8 sRGB: the same steps as
    `bloom`, `vignette_weights` and `tone_and_grain` in a row, in one compiled pass."""
    x = np.ascontiguousarray(img, np.float32)
    glow = bloom_glow(x * np.float32(gain), bloom_strength) if bloom_strength > 0 else None
    return _finish(
        x,
        float(gain),
        glow if glow is not None else np.zeros((0, 0, 3), np.float32),
        BLOOM_F,
        float(bloom_strength),
        float(vignette),
        tone == "filmic",
        float(grain),
        np.ascontiguousarray(noise, np.float32) if noise is not None else np.zeros((0, 0, 1), np.float32),
        SRGB_LEVELS,
        LEVEL_START,
    )


def grain_noise(seed: int, shot_id: str, index: int, h: int, w: int) -> np.ndarray:
    """Per-pixel unit noise for one frame: a new pattern every frame (film's own temporal noise,
    intended), the same pattern for the same seed, shot and frame."""
    rng = np.random.default_rng([int(seed), zlib.crc32(shot_id.encode()), int(index)])
    return rng.standard_normal((h, w, 1)).astype(np.float32)


def tone_and_grain(x: np.ndarray, tone: str, grain: float, noise: np.ndarray | None) -> np.ndarray:
    """Exposed linear light -> uint8 sRGB: tone curve, transfer function, grain in display space
    (strongest in the mid-tones, as in film), rounding. (Step by step, with numpy: the reference
    that the painter's one-pass `finish` is tested against.)"""
    y = filmic(x) if tone == "filmic" else encode_srgb(np.clip(x, 0, 1))
    if grain > 0 and noise is not None:
        y = y + grain * 0.25 * noise * np.sqrt(np.clip(y * (1 - y), 0, 0.25)) * 2
    return (np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)
