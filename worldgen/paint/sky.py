"""The sky: a horizon gradient whose colours follow the sun's height (noon blue, golden hour,
sunset, night), a warm glow toward the sun, and the sun's disk itself, bright enough to bloom.

The style's words (dusk, dawn, overcast...) choose the palette when they name one: the author's
words win over the sun's height, while the disk and the glow stay where the sun is. The same
zenith and ground-bounce colours light the surfaces (sky and bounce fill), so sky and shading
agree."""

from __future__ import annotations

import re

import numpy as np
from numba import njit, prange

from worldgen.paint.materials import srgb_to_linear

SKIES = {  # style word -> (zenith, horizon, ground bounce) sRGB
    "dusk": ((58, 64, 120), (246, 170, 120), (90, 70, 60)),
    "sunset": ((70, 70, 130), (250, 150, 90), (96, 72, 60)),
    "dawn": ((90, 110, 170), (250, 196, 160), (100, 90, 80)),
    "night": ((8, 12, 30), (30, 40, 70), (14, 14, 20)),
    "overcast": ((150, 156, 164), (196, 198, 200), (110, 110, 108)),
    "noon": ((70, 130, 220), (190, 215, 240), (120, 112, 100)),
}
DEFAULT_SKY = ((80, 135, 215), (200, 222, 240), (118, 110, 98))
# the palette by the sine of the sun's elevation: night, sunset, golden hour, day
ELEVATION_KNOTS = (-0.2, 0.0, 0.15, 0.45)
ELEVATION_SKIES = (SKIES["night"], SKIES["sunset"], ((80, 112, 180), (246, 204, 160), (120, 100, 82)), DEFAULT_SKY)


class Sky:
    """Sky radiance for view directions, from the suns (to-sun unit vector, linear colour,
    apparent diameter in degrees) and the style's words."""

    def __init__(self, suns: list, style: str = ""):
        self.suns = suns
        words = style.lower()
        # whole words ("afternoon" does not name "noon"), and the last one written wins: a film
        # scene's style is the film's words, then its time of day ("sunset film, night")
        named = next((SKIES[w] for w in reversed(re.findall(r"[a-z]+", words)) if w in SKIES), None)
        if named is not None:
            pal = [srgb_to_linear(c) for c in named]
        elif suns:
            e = float(suns[0][0][1])
            pal = self._by_elevation(e)
        else:
            pal = [srgb_to_linear(c) for c in DEFAULT_SKY]
        self.zenith, self.horizon, self.bounce = (np.asarray(c, np.float32) for c in pal)
        self.overcast = "overcast" in words or "fog" in words

    @staticmethod
    def _by_elevation(e: float) -> list:
        ks = ELEVATION_KNOTS
        cols = [[srgb_to_linear(c) for c in sky] for sky in ELEVATION_SKIES]
        if e <= ks[0]:
            return cols[0]
        for i in range(len(ks) - 1):
            if e <= ks[i + 1]:
                t = (e - ks[i]) / (ks[i + 1] - ks[i])
                return [a + (b - a) * t for a, b in zip(cols[i], cols[i + 1])]
        return cols[-1]

    def radiance(self, dirs: np.ndarray, disk: bool = True) -> np.ndarray:
        """Linear radiance (N, 3) seen along directions (N, 3). `disk`: include the sun's disk
        (off for reflections in rough gloss, where it would be a speck)."""
        flat = np.ascontiguousarray(dirs, np.float32).reshape(-1, 3)
        out = np.empty((len(flat), 3), np.float32)
        _radiance(flat, np.arange(len(flat)), out, *self._terms(disk))
        return out.reshape(dirs.shape[:-1] + (3,))

    def radiance_at(self, out: np.ndarray, dirs: np.ndarray, rows: np.ndarray, disk: bool = True) -> None:
        """out[rows] = the radiance along dirs[rows] (out: (N, 3), dirs: (N, 3), float32, dirs may
        be a strided view), written in place: the painter's sky pixels without gathering and
        scattering them."""
        _radiance(dirs.astype(np.float32, copy=False), rows, out, *self._terms(disk))

    def _terms(self, disk: bool) -> tuple:
        """Per sun: to-sun vector, tint, glow strength, the disk rim's cosines; and the palette."""
        k = len(self.suns)
        to_sun, tint = np.zeros((k, 3), np.float32), np.zeros((k, 3), np.float32)
        haze, lo, hi = np.zeros(k), np.zeros(k), np.zeros(k)
        for i, (ts, sun_col, size) in enumerate(self.suns):
            to_sun[i] = ts
            tint[i] = sun_col / max(float(sun_col.max()), 1e-6)
            haze[i] = 0.12 + 0.4 * (1.0 - float(np.clip(ts[1] * 2, 0, 1)))  # a low sun lights the haze around it
            r = np.radians(max(size, 0.5) / 2)
            lo[i], hi[i] = np.cos(r * 1.3), np.cos(r)
        show_disk = bool(disk and not self.overcast)
        return self.zenith, self.horizon, self.bounce, to_sun, tint, haze, lo, hi, show_disk

    def fill(self, normals: np.ndarray) -> np.ndarray:
        """Irradiance from sky above and ground bounce below for unit normals (N, 3). (The
        painter computes it per pixel inside its combining pass, light.combine_light.)"""
        up = np.clip(normals[:, 1:2], -1, 1)
        return self.zenith * 0.5 * (1 + up) + self.bounce * 0.5 * (1 - up)


@njit(inline="always", cache=True)
def _step(a, b, x):
    t = min(max((x - a) / (b - a), 0.0), 1.0)
    return t * t * (3 - 2 * t)


@njit(inline="always", cache=True)
def _gradient(zenith, horizon, bounce, up, blend):
    above = horizon + (zenith - horizon) * up
    ground = horizon * 0.6 + bounce * 0.4
    return ground + (above - ground) * blend


@njit(parallel=True, cache=True)
def _radiance(dirs, rows, out, zenith, horizon, bounce, to_sun, tint, haze, lo, hi, disk):
    """out[rows] = the sky along dirs[rows] (any length), one compiled pass, float64 inside: the gradient
    from the ground bounce through the horizon to the zenith, each sun's glow (c^8 wide, c^200
    tight) and, with `disk`, its disk (a smoothstep over the disk's rim)."""
    for r in prange(rows.shape[0]):
        i = rows[r]
        x, y, z = float(dirs[i, 0]), float(dirs[i, 1]), float(dirs[i, 2])
        norm = np.sqrt(x * x + y * y + z * z)
        x, y, z = x / norm, y / norm, z / norm
        up = np.sqrt(min(max(y, 0.0), 1.0))
        blend = _step(-0.03, 0.01, y)
        c0 = _gradient(float(zenith[0]), float(horizon[0]), float(bounce[0]), up, blend)
        c1 = _gradient(float(zenith[1]), float(horizon[1]), float(bounce[1]), up, blend)
        c2 = _gradient(float(zenith[2]), float(horizon[2]), float(bounce[2]), up, blend)
        for s in range(to_sun.shape[0]):
            c = min(max(x * to_sun[s, 0] + y * to_sun[s, 1] + z * to_sun[s, 2], 0.0), 1.0)
            sq = c * c
            wide = sq * sq * sq * sq * haze[s]  # c^8
            rest = c**200 * 0.8 + (_step(lo[s], hi[s], c) * 40.0 if disk else 0.0)
            c0 += (wide * float(horizon[0]) + rest) * float(tint[s, 0])
            c1 += (wide * float(horizon[1]) + rest) * float(tint[s, 1])
            c2 += (wide * float(horizon[2]) + rest) * float(tint[s, 2])
        out[i, 0], out[i, 1], out[i, 2] = c0, c1, c2
    return out
