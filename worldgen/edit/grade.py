"""The editorial grade: named looks as generated 3D LUTs, the user's .cube LUTs, and one
trilinear lookup that applies either to finished frames. (The procedural painter's in-camera
look, its tone curve, vignette and grain, is the painter's; this runs after it, at the edit.)"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from worldgen.errors import SpecError
from worldgen.io import atomic_write_bytes

# style words that choose a look when the spec asks for none
LOOK_WORDS = {
    "noir": ("noir", "black and white", "monochrome", "b&w"),
    "bleach_bypass": ("bleach", "gritty", "desaturated", "war", "harsh"),
    "teal_orange": ("teal", "blockbuster", "cinematic", "action"),
    "cool": ("cool", "cold", "winter", "night", "moonlit", "blue hour", "icy"),
    "warm": ("warm", "golden", "sunset", "dusk", "autumn", "afternoon", "candle"),
}


def look_from_style(style: str) -> str:
    """The first look one of whose words is in the style, as whole words ('warm' is not 'war')."""
    text = (style or "").lower()
    for look, words in LOOK_WORDS.items():
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text) for w in words):
            return look
    return "none"


def _luma(rgb):
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def look_function(look: str):
    """RGB in [0, 1] (..., 3) -> RGB in [0, 1]."""

    def warm(c):
        return c * np.array([1.06, 1.0, 0.88]) + np.array([0.02, 0.005, 0.0])

    def cool(c):
        return c * np.array([0.9, 0.98, 1.08]) + np.array([0.0, 0.005, 0.02])

    def teal_orange(c):
        y = _luma(c)[..., None]
        shadows, highs = np.clip(1 - 2 * y, 0, 1), np.clip(2 * y - 1, 0, 1)
        out = c + shadows * np.array([-0.06, 0.03, 0.06]) + highs * np.array([0.07, 0.02, -0.06])
        return y + (out - y) * 1.15  # a touch more saturation

    def noir(c):
        y = _luma(c)[..., None]
        y = np.clip((y - 0.5) * 1.3 + 0.5, 0, 1)  # harder contrast
        return np.repeat(y, 3, axis=-1)

    def bleach_bypass(c):
        y = _luma(c)[..., None]
        contrast = np.clip((y - 0.5) * 1.35 + 0.5, 0, 1)
        return 0.45 * c + 0.55 * contrast  # the silver left in: low saturation, high contrast

    table = {
        "none": lambda c: c,
        "warm": warm,
        "cool": cool,
        "teal_orange": teal_orange,
        "noir": noir,
        "bleach_bypass": bleach_bypass,
    }
    return table[look]


def look_lut(look: str, size: int = 33) -> np.ndarray:
    """A (size, size, size, 3) LUT indexed [r, g, b] for a named look."""
    g = np.linspace(0.0, 1.0, size)
    r_, g_, b_ = np.meshgrid(g, g, g, indexing="ij")
    return np.clip(look_function(look)(np.stack([r_, g_, b_], axis=-1)), 0, 1)


def write_cube(path: Path, lut: np.ndarray, title: str) -> None:
    n = lut.shape[0]
    lines = [f'TITLE "{title}"', f"LUT_3D_SIZE {n}", "DOMAIN_MIN 0 0 0", "DOMAIN_MAX 1 1 1"]
    for b in range(n):  # .cube order: red changes fastest
        for g in range(n):
            for r in range(n):
                lines.append("{:.6f} {:.6f} {:.6f}".format(*lut[r, g, b]))
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def read_cube(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(LUT [r, g, b, 3], domain min, domain max) of an Adobe/Resolve .cube 3D LUT; a problem is
    one line naming the file and line."""
    size, lo, hi, rows = None, np.zeros(3), np.ones(3), []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read LUT ({getattr(e, 'strerror', None) or e})", str(path)) from None
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word = line.split()[0].upper()
        try:
            if word == "TITLE":
                continue
            if word == "LUT_1D_SIZE":
                raise SpecError("a 1D LUT; give a 3D LUT (LUT_3D_SIZE)", str(path), no)
            if word == "LUT_3D_SIZE":
                size = int(line.split()[1])
                if not 2 <= size <= 256:
                    raise SpecError(f"LUT_3D_SIZE {size} is outside 2..256", str(path), no)
            elif word == "DOMAIN_MIN":
                lo = np.array([float(v) for v in line.split()[1:4]])
            elif word == "DOMAIN_MAX":
                hi = np.array([float(v) for v in line.split()[1:4]])
            elif word[0].isalpha():
                continue  # other keywords (LUT_3D_INPUT_RANGE, ...) carry nothing we use
            else:
                vals = [float(v) for v in line.split()]
                if len(vals) != 3 or not np.all(np.isfinite(vals)):
                    raise SpecError("a LUT row is three finite numbers", str(path), no)
                rows.append(vals)
        except (ValueError, IndexError):
            raise SpecError(f"not a .cube line: {raw.strip()[:60]}", str(path), no) from None
    if size is None:
        raise SpecError("no LUT_3D_SIZE line", str(path))
    if len(rows) != size**3:
        raise SpecError(f"{len(rows)} rows for LUT_3D_SIZE {size} (needs {size**3})", str(path))
    if np.any(hi <= lo):
        raise SpecError("DOMAIN_MAX must be above DOMAIN_MIN", str(path))
    lut = np.asarray(rows, np.float64).reshape(size, size, size, 3).transpose(2, 1, 0, 3)  # [b,g,r] -> [r,g,b]
    return lut, lo, hi


def apply_lut(
    img: np.ndarray, lut: np.ndarray, lo=None, hi=None, strength: float = 1.0, by_colour: bool = True
) -> np.ndarray:
    """uint8 RGB (h, w, 3) through a 3D LUT with trilinear interpolation; `strength` mixes the
    graded with the original frame."""
    lo = np.zeros(3) if lo is None else lo
    hi = np.ones(3) if hi is None else hi
    if by_colour and img.shape[0] * img.shape[1] > 4096:
        # a frame holds far fewer colours than pixels: look each colour up once
        packed = (img[..., 0].astype(np.int32) << 16) | (img[..., 1].astype(np.int32) << 8) | img[..., 2]
        colours, inverse = np.unique(packed.ravel(), return_inverse=True)
        rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=-1).astype(np.uint8)
        return apply_lut(rgb[None], lut, lo, hi, strength, by_colour=False)[0][inverse].reshape(img.shape)
    n = lut.shape[0]
    flat = lut.reshape(-1, 3).astype(np.float32)
    x = img.reshape(-1, 3).astype(np.float32) / np.float32(255.0)
    p = np.clip((x - lo.astype(np.float32)) / (hi - lo).astype(np.float32), 0, 1) * np.float32(n - 1)
    i0 = np.minimum(p.astype(np.int64), n - 2)  # p >= 0: truncation is floor
    f = p - i0
    base = (i0[:, 0] * n + i0[:, 1]) * n + i0[:, 2]
    out = np.zeros_like(x)
    for dr in (0, 1):
        wr = f[:, 0] if dr else 1 - f[:, 0]
        for dg in (0, 1):
            wg = wr * (f[:, 1] if dg else 1 - f[:, 1])
            for db in (0, 1):
                w = wg * (f[:, 2] if db else 1 - f[:, 2])
                out += w[:, None] * flat[base + (dr * n + dg) * n + db]
    out = out.reshape(img.shape)
    x = x.reshape(img.shape)
    if strength < 1:
        out = x + (out - x) * strength
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


class GradedColours:
    """`apply_lut` with a memory: every colour graded once for the whole film, not once a frame.

    A film's frames share most of their colours, and the trilinear lookup is elementwise, so a
    colour's graded value does not depend on the frame it came in. The table holds one entry per
    24-bit colour (64 MB of address space, pages touched only where colours fall): 0 for a colour
    not graded yet, else 1 << 24 | the graded RGB. A frame costs a gather from it plus the
    lookup of the colours it brings that no earlier frame had. Same bytes as `apply_lut`
    (tests/test_film_edit.py). Shared by the cut's reading threads: filling is locked, and a
    reader that sees a colour as missing grades it again to the same value."""

    def __init__(self, lut: np.ndarray, lo=None, hi=None, strength: float = 1.0):
        self.lut, self.lo, self.hi, self.strength = lut, lo, hi, strength
        self.table = np.zeros(1 << 24, np.uint32)
        self._fill = threading.Lock()

    def __call__(self, img: np.ndarray) -> np.ndarray:
        """uint8 RGB (h, w, 3), graded."""
        packed = (img[..., 0].astype(np.int32) << 16) | (img[..., 1].astype(np.int32) << 8) | img[..., 2]
        got = self.table[packed]
        missing = got == 0
        if missing.any():
            with self._fill:
                new = np.unique(packed[missing])
                rgb = np.stack([(new >> 16) & 255, (new >> 8) & 255, new & 255], axis=-1).astype(np.uint8)
                g = apply_lut(rgb[None], self.lut, self.lo, self.hi, self.strength, by_colour=False)[0]
                g = g.astype(np.uint32)
                self.table[new] = np.uint32(1 << 24) | (g[:, 0] << 16) | (g[:, 1] << 8) | g[:, 2]
            got = self.table[packed]
        # little-endian uint32 0x01RRGGBB is the bytes B, G, R, 1: R, G, B is bytes 2, 1, 0
        return np.ascontiguousarray(got.view(np.uint8).reshape(*img.shape[:2], 4)[..., 2::-1])
