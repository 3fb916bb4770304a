"""The sky: a horizon gradient whose colours follow the sun's height (noon blue, golden hour,
sunset, night), a warm glow toward the sun, and the sun's disk itself, bright enough to bloom.

The style's words (dusk, dawn, overcast...) choose the palette when they name one: the author's
words win over the sun's height, while the disk and the glow stay where the sun is. The same
zenith and ground-bounce colours light the surfaces (sky and bounce fill), so sky and shading
agree."""

from __future__ import annotations

import numpy as np

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


def _smoothstep(a, b, x):
    t = np.clip((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


class Sky:
    """Sky radiance for view directions, from the suns (to-sun unit vector, linear colour,
    apparent diameter in degrees) and the style's words."""

    def __init__(self, suns: list, style: str = ""):
        self.suns = suns
        words = style.lower()
        named = next((v for k, v in SKIES.items() if k in words), None)
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
        d = dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
        y = d[..., 1:2]
        up = np.sqrt(np.clip(y, 0, 1))
        col = self.horizon + (self.zenith - self.horizon) * up
        ground = self.horizon * 0.6 + self.bounce * 0.4
        col = ground + (col - ground) * _smoothstep(-0.03, 0.01, y)
        for to_sun, sun_col, size in self.suns:
            c = np.clip(d @ to_sun, 0, 1)[..., None]
            tint = sun_col / max(float(sun_col.max()), 1e-6)
            low = 1.0 - float(np.clip(to_sun[1] * 2, 0, 1))  # a low sun lights the haze around it
            col = col + c**8 * (0.12 + 0.4 * low) * self.horizon * tint + c**200 * 0.8 * tint
            if disk and not self.overcast:
                r = np.radians(max(size, 0.5) / 2)
                col = col + _smoothstep(np.cos(r * 1.3), np.cos(r), c) * 40.0 * tint
        return col.astype(np.float32)

    def fill(self, normals: np.ndarray) -> np.ndarray:
        """Irradiance from sky above and ground bounce below for unit normals (N, 3)."""
        up = np.clip(normals[:, 1:2], -1, 1)
        return self.zenith * 0.5 * (1 + up) + self.bounce * 0.5 * (1 - up)
