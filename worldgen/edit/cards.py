"""Text on the film: the title card, end credits generated from the spec, lower thirds that
name a character at its first line, and burnt-in subtitles. Fonts: DejaVu Sans (Debian's
fonts-dejavu-core), else Pillow's own scalable default font."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEJAVU = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False):
    try:
        return ImageFont.truetype(DEJAVU[1 if bold else 0], size)
    except OSError:
        return ImageFont.load_default(size)


def _centred(draw: ImageDraw.ImageDraw, y: float, text: str, f, w: int, fill) -> None:
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
    draw.text(((w - (x1 - x0)) / 2 - x0, y - y0), text, font=f, fill=fill)


def _fit(text: str, size: int, width: int, bold: bool) -> ImageFont.FreeTypeFont:
    while size > 4 and font(size, bold).getlength(text) > width * 0.9:
        size -= 1
    return font(size, bold)


def card(w: int, h: int, lines: list[tuple[str, float, bool]]) -> np.ndarray:
    """White text centred on black; `lines` are (text, size as a fraction of the height, bold)."""
    img = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    total = sum(rel for _, rel, _ in lines) * 1.35
    shrink = min(1.0, 0.92 / total) if total else 1.0  # many credits: smaller type, all on the card
    while True:
        fonts = [_fit(t, max(4, int(rel * shrink * h)), w, bold) for t, rel, bold in lines]
        heights = [f.size * 1.35 for f in fonts]
        if sum(heights) <= 0.96 * h or shrink < 0.2:
            break
        shrink *= 0.9
    y = (h - sum(heights)) / 2
    for (text, _, _), f, lh in zip(lines, fonts, heights):
        _centred(draw, y, text, f, w, (235, 235, 235))
        y += lh
    return np.asarray(img)


def title_lines(text: str, subtitle: str) -> list:
    return [(text, 0.11, True)] + ([(subtitle, 0.055, False)] if subtitle else [])


def credits_lines(spec, voices: dict, music: list, tools: list[str], extra: list[str]) -> list:
    """Title, cast with their voices, music, tools: all from the spec and what the render used."""
    out = [(spec.title, 0.075, True), ("", 0.03, False)]
    if voices:
        out.append(("Cast", 0.05, True))
        out += [(f"{cid}  -  voice: {v.describe()}", 0.04, False) for cid, v in voices.items()]
        out.append(("", 0.03, False))
    if music:
        out.append(("Music and sound", 0.05, True))
        out += [(m, 0.04, False) for m in music]
        out.append(("", 0.03, False))
    out.append(("Made with", 0.05, True))
    out += [(t, 0.04, False) for t in tools]
    out += [(t, 0.04, False) for t in extra]
    return out


def fade_level(j: int, n: int, fps: float) -> float:
    """A card's black level at frame j of n: half a second (or a third of the card) in and out."""
    k = max(1, min(int(round(0.5 * fps)), n // 3))
    return max(0.0, 1 - (j + 1) / (k + 1), 1 - (n - j) / (k + 1))


def overlay_text(frame: np.ndarray, text: str, where: str) -> np.ndarray:
    """A lower third (name, bottom left, on a dark band) or a subtitle (bottom centre, outlined)."""
    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img, "RGBA")
    w, h = img.size
    if where == "lower_third":
        f = _fit(text, max(8, int(h * 0.06)), w // 2, True)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
        x, y = int(w * 0.05), int(h * 0.72)
        draw.rectangle([x - 6, y - 4, x + (x1 - x0) + 8, y + (y1 - y0) + 8], fill=(0, 0, 0, 150))
        draw.text((x - x0, y - y0 + 2), text, font=f, fill=(255, 255, 255, 255))
    else:
        f = _fit(text, max(8, int(h * 0.055)), w, False)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
        sx, sy = (w - (x1 - x0)) / 2 - x0, h * 0.9 - (y1 - y0) - y0
        draw.text(
            (sx, sy),
            text,
            font=f,
            fill=(255, 255, 255, 255),
            stroke_width=max(1, f.size // 12),
            stroke_fill=(0, 0, 0, 255),
        )
    return np.asarray(img.convert("RGB"))
