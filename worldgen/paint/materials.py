"""Appearance text -> material: colour words, material words and pattern words, read
deterministically so the same text always gives the same look."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import numpy as np

COLOURS = {  # sRGB 0-255
    "red": (178, 42, 36),
    "crimson": (150, 22, 40),
    "maroon": (110, 30, 30),
    "orange": (222, 120, 40),
    "yellow": (236, 200, 60),
    "golden": (214, 168, 60),
    "gold": (214, 168, 60),
    "green": (70, 140, 60),
    "olive": (110, 115, 50),
    "teal": (40, 128, 128),
    "cyan": (70, 180, 200),
    "blue": (48, 92, 170),
    "navy": (28, 40, 90),
    "purple": (110, 60, 140),
    "violet": (130, 80, 170),
    "pink": (226, 140, 160),
    "brown": (120, 80, 50),
    "beige": (214, 196, 160),
    "tan": (190, 160, 115),
    "black": (28, 28, 30),
    "white": (236, 234, 228),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "silver": (190, 192, 196),
    "cream": (240, 228, 196),
    "ivory": (240, 236, 220),
}

# material word -> base colour, secondary colour, pattern, pattern scale (m), roughness
MATERIALS = {
    "brick": ((150, 66, 48), (196, 186, 170), "bricks", 0.25, 0.9),
    "wood": ((140, 96, 58), (100, 64, 38), "planks", 0.3, 0.7),
    "wooden": ((140, 96, 58), (100, 64, 38), "planks", 0.3, 0.7),
    "sand": ((212, 184, 138), (176, 146, 100), "sand", 0.12, 1.0),
    "stone": ((130, 126, 118), (86, 82, 76), "stone", 0.4, 0.9),
    "rock": ((112, 108, 102), (70, 66, 62), "stone", 0.5, 0.9),
    "granite": ((104, 100, 98), (60, 58, 58), "speckle", 0.08, 0.8),
    "concrete": ((160, 158, 152), (130, 128, 122), "grain", 0.3, 0.95),
    "marble": ((226, 224, 218), (150, 150, 156), "veins", 0.6, 0.4),
    "metal": ((150, 152, 158), (120, 122, 128), "brushed", 0.2, 0.35),
    "steel": ((150, 152, 158), (120, 122, 128), "brushed", 0.2, 0.35),
    "water": ((40, 90, 130), (70, 130, 165), "waves", 1.5, 0.1),
    "sea": ((40, 90, 130), (70, 130, 165), "waves", 1.5, 0.1),
    "glass": ((170, 200, 210), (140, 175, 190), "plain", 1.0, 0.05),
    "grass": ((82, 128, 52), (52, 92, 34), "grass", 0.1, 1.0),
    "leaves": ((70, 118, 48), (46, 86, 34), "mottle", 0.2, 1.0),
    "fabric": ((150, 140, 130), (120, 112, 104), "weave", 0.02, 1.0),
    "cloth": ((150, 140, 130), (120, 112, 104), "weave", 0.02, 1.0),
    "snow": ((240, 242, 246), (214, 220, 232), "grain", 0.3, 0.9),
    "dirt": ((110, 84, 60), (86, 64, 44), "mottle", 0.3, 1.0),
    "asphalt": ((60, 60, 64), (44, 44, 48), "speckle", 0.05, 0.9),
    "plastic": ((180, 180, 180), (160, 160, 160), "plain", 1.0, 0.4),
    "skin": ((198, 150, 120), (176, 120, 96), "skin", 0.05, 0.6),
    "chrome": ((200, 202, 206), (170, 172, 178), "brushed", 0.2, 0.15),
    "iron": ((110, 108, 106), (86, 70, 58), "painted", 0.3, 0.6),
    # coloured metals: brushed, and their highlights take the metal's colour
    "copper": ((184, 115, 80), (150, 88, 60), "brushed", 0.2, 0.3),
    "brass": ((190, 160, 90), (160, 130, 70), "brushed", 0.2, 0.3),
    "bronze": ((160, 110, 66), (126, 84, 50), "brushed", 0.2, 0.4),
    "gold": ((220, 180, 80), (196, 156, 64), "brushed", 0.2, 0.25),
    "silver": ((196, 198, 202), (170, 172, 178), "brushed", 0.2, 0.2),
    "aluminium": ((176, 178, 182), (150, 152, 156), "brushed", 0.2, 0.35),
    "aluminum": ((176, 178, 182), (150, 152, 156), "brushed", 0.2, 0.35),
    "tile": ((200, 196, 186), (150, 146, 140), "tiles", 0.4, 0.5),
    "tiles": ((200, 196, 186), (150, 146, 140), "tiles", 0.4, 0.5),
}
COLOUR_METALS = ("gold", "silver")
PATTERN_WORDS = {
    "stripes": "stripes",
    "striped": "stripes",
    "checkered": "checker",
    "checks": "checker",
    "spots": "spots",
    "spotted": "spots",
    "dotted": "spots",
    "tiles": "tiles",
    "tiled": "tiles",
}
# how far each pattern's height tilts the normal (bump mapping from the same pattern)
BUMP = {
    "bricks": 0.5,
    "planks": 0.25,
    "tiles": 0.6,
    "waves": 0.35,
    "weave": 0.3,
    "brushed": 0.15,
    "grain": 0.3,
    "sand": 0.35,
    "grass": 0.5,
    "stone": 0.6,
    "speckle": 0.2,
    "mottle": 0.2,
    "painted": 0.3,
    "spots": 0.1,
}
GLOW_WORDS = ("glowing", "glow", "emissive", "lit", "neon", "shining", "lamp", "light", "fire")


@dataclass(frozen=True)
class Material:
    base: np.ndarray  # linear RGB 0-1
    second: np.ndarray
    pattern: str = "plain"
    scale: float = 0.5
    roughness: float = 0.8
    emission: float = 0.0
    wet: bool = False
    seed: int = 0
    words: tuple = field(default=())
    bump: float = -1.0  # normal tilt per unit of pattern slope; < 0: the pattern's default (BUMP)

    @property
    def bump_strength(self) -> float:
        return BUMP.get(self.pattern, 0.0) if self.bump < 0 else self.bump


def srgb_to_linear(c) -> np.ndarray:
    c = np.asarray(c, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _shade(rgb, word):
    c = np.asarray(rgb, float)
    if word == "dark":
        return c * 0.45
    if word in ("light", "pale", "bright"):
        return c + (255 - c) * 0.45
    return c


def material_from_text(text: str, key: str = "") -> Material:
    """Read colours (with dark/light), a material word and a pattern word. The first colour
    paints the base; a colour after 'with'/'and' paints the pattern. Unknown text still gets a
    stable, pleasant colour hashed from the object id, never a debug colour."""
    words = re.findall(r"[a-z]+", text.lower())
    seed = zlib.crc32((key or text).encode())
    # gold and silver are colours too: metal only where no other material is named ("gold
    # cloth dress" is cloth, "gold ring" is metal)
    mat_word = next((w for w in words if w in MATERIALS and w not in COLOUR_METALS), None)
    mat_word = mat_word or next((w for w in words if w in COLOUR_METALS), None)
    base, second, pattern, scale, rough = MATERIALS.get(mat_word, (None, None, "mottle", 0.6, 0.8))
    colours, split = [], len(words)
    for i, w in enumerate(words):
        if w in ("with", "and") and split == len(words):
            split = i
        if w in COLOURS:
            prev = words[i - 1] if i else ""
            colours.append((i, _shade(COLOURS[w], prev)))
    before = [c for i, c in colours if i < split]
    after = [c for i, c in colours if i > split]
    pat = next((PATTERN_WORDS[w] for w in words if w in PATTERN_WORDS), None)
    if before:
        painted = before[0]
        # a coloured material ("red wooden boat") keeps the material's texture contrast
        if base is not None:
            ratio = np.asarray(second, float) / np.maximum(np.asarray(base, float), 1)
            base, second = painted, np.clip(painted * ratio, 0, 255)
        else:
            base, second = painted, np.asarray(painted) * 0.82
    if base is None:  # nothing recognised: a muted colour from the id, so it is stable
        rng = np.random.default_rng(seed)
        hue = rng.random()
        base = 255 * np.array(_hsv(hue, 0.35, 0.75))
        second = base * 0.85
    if after:
        second = after[0]
        pat = pat or "stripes"
    if pat:
        pattern = pat
        scale = {"stripes": 1.2, "checker": 0.5, "spots": 0.3, "tiles": 0.4}[pat]
    if pattern == "brushed" and "painted" in words:  # painted metal: paint over bare metal, chipped
        pattern, second = "painted", MATERIALS["metal"][0]
    if "dark" in words and not before:
        base, second = np.asarray(base) * 0.45, np.asarray(second) * 0.45
    emission = (
        2.5
        if any(w in GLOW_WORDS for w in words)
        and any(w in ("glowing", "glow", "emissive", "neon", "shining", "lit") for w in words)
        else 0.0
    )
    return Material(
        srgb_to_linear(base),
        srgb_to_linear(second),
        pattern,
        float(scale),
        float(rough),
        emission,
        wet="wet" in words,
        seed=seed % 100000,
        words=tuple(words),
    )


def _hsv(h, s, v):
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)
