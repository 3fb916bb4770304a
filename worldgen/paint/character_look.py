"""A character's look from its appearance text: one material per body region.

Clauses of the text ("red coat, blue jeans, dark skin") are routed to the region their
clothing word names; regions the text leaves out get colours picked from the character's id,
so two characters differ and each stays the same in every shot and every run."""

from __future__ import annotations

import re
import zlib

import numpy as np

from worldgen.paint.materials import Material, material_from_text, srgb_to_linear

REGION_WORDS = {
    "top": (
        "shirt",
        "t-shirt",
        "tshirt",
        "coat",
        "jacket",
        "sweater",
        "jumper",
        "hoodie",
        "blouse",
        "top",
        "vest",
        "uniform",
        "robe",
        "suit",
        "cardigan",
        "tunic",
        "dress",
        "parka",
        "blazer",
        "overalls",
        "sweatshirt",
    ),
    "bottom": ("jeans", "trousers", "pants", "skirt", "shorts", "leggings", "dress", "overalls", "kilt"),
    "shoes": ("shoes", "boots", "sneakers", "sandals", "trainers", "heels", "loafers", "slippers"),
    "hair": ("hair", "bald", "blonde", "blond", "ponytail", "braids", "curly"),
    "skin": ("skin", "complexion", "skinned"),
}
SHORT_SLEEVES = ("t-shirt", "tshirt", "vest", "tank", "short-sleeved", "sleeveless", "dress")
SKIN_TONES = {
    "pale": (240, 208, 186),
    "fair": (236, 196, 170),
    "light": (228, 186, 156),
    "olive": (196, 152, 110),
    "tan": (198, 150, 108),
    "brown": (150, 102, 70),
    "dark": (98, 64, 44),
    "black": (80, 52, 38),
    "deep": (84, 56, 40),
}
HAIR_COLOURS = {
    "blonde": (222, 190, 120),
    "blond": (222, 190, 120),
    "red": (150, 62, 30),
    "ginger": (170, 80, 34),
    "auburn": (120, 50, 30),
    "brown": (90, 60, 36),
    "black": (24, 20, 18),
    "grey": (150, 150, 150),
    "gray": (150, 150, 150),
    "white": (226, 224, 218),
    "silver": (196, 198, 204),
}
DEFAULT_SKIN = [(236, 196, 170), (198, 150, 108), (150, 102, 70), (98, 64, 44), (228, 186, 156)]
DEFAULT_HAIR = [(24, 20, 18), (90, 60, 36), (222, 190, 120), (120, 50, 30), (60, 40, 28)]
DEFAULT_TOP = [
    "blue shirt",
    "green sweater",
    "orange jacket",
    "white shirt",
    "purple hoodie",
    "yellow coat",
    "grey coat",
    "red sweater",
]
DEFAULT_BOTTOM = ["blue jeans", "black trousers", "brown trousers", "grey trousers", "navy trousers", "beige trousers"]
DEFAULT_SHOES = ["black shoes", "brown boots", "white sneakers", "grey shoes"]


def clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r",|;|\band\b|\bwith\b|\bwearing\b", text.lower()) if c.strip()]


def region_texts(text: str, key: str) -> dict[str, str]:
    """Which words describe which region; defaults chosen from `key` where the text is silent."""
    out: dict[str, str] = {}
    for c in clauses(text):
        words = re.findall(r"[a-z\-]+", c)
        for region, names in REGION_WORDS.items():
            if any(w in names for w in words) and region not in out:
                out[region] = c
                if region == "top" and "dress" in words and "bottom" not in out:
                    out["bottom"] = c
                break
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    for region, choices in (("top", DEFAULT_TOP), ("bottom", DEFAULT_BOTTOM), ("shoes", DEFAULT_SHOES)):
        pick = choices[int(rng.integers(len(choices)))]
        out.setdefault(region, pick)
    out["_skin_default"] = str(int(rng.integers(len(DEFAULT_SKIN))))
    out["_hair_default"] = str(int(rng.integers(len(DEFAULT_HAIR))))
    return out


def _plain(rgb, roughness=0.9, seed=0, pattern="mottle", scale=0.05) -> Material:
    base = srgb_to_linear(rgb)
    return Material(base, base * 0.9, pattern, scale, roughness, 0.0, False, seed)


def region_materials(text: str, key: str) -> dict[str, Material]:
    """Material per region: skin, hair, top, sleeve (skin under short sleeves), bottom, shoes."""
    texts = region_texts(text, key)
    seed = zlib.crc32(key.encode()) % 100000
    skin_words = re.findall(r"[a-z]+", texts.get("skin", ""))
    skin = next((SKIN_TONES[w] for w in skin_words if w in SKIN_TONES), DEFAULT_SKIN[int(texts["_skin_default"])])
    hair_words = re.findall(r"[a-z]+", texts.get("hair", ""))
    bald = "bald" in hair_words
    hair = next((HAIR_COLOURS[w] for w in hair_words if w in HAIR_COLOURS), DEFAULT_HAIR[int(texts["_hair_default"])])
    mats = {
        "skin": _plain(skin, 0.6, seed, "skin", 0.05),
        "hair": _plain(skin if bald else hair, 0.8, seed + 1, "grain", 0.02),
    }
    for region in ("top", "bottom", "shoes"):
        m = material_from_text(texts[region], key=f"{key}|{region}")
        if m.pattern == "mottle":  # cloth reads as fine weave, not stone-like mottle
            m = Material(m.base, m.second, "weave", 0.03, 0.95, m.emission, m.wet, m.seed, m.words)
        mats[region] = m
    short = any(w in texts["top"] for w in SHORT_SLEEVES)
    mats["sleeve"] = mats["skin"] if short else mats["top"]
    mats["mouth"] = _plain((52, 18, 20), 0.5, seed + 2, "plain")  # the open mouth: dark red shadow
    return mats
