"""What a category looks like as proxy geometry: a typical size (width, height, depth in
metres), a shape (or a shipped mesh), and whether things fit under it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    size: tuple  # width (x), height (y), depth (z), metres
    shape: str = "box"  # a primitive, or mesh:<asset path>
    appearance: str = ""
    clearance: float = 0.0  # free height under it (tables, benches); 0 = solid to the ground


CATEGORIES = {
    "car": Category((4.2, 1.5, 1.8), appearance="painted metal"),
    "truck": Category((6.5, 2.8, 2.4), appearance="painted metal"),
    "bus": Category((10, 3.0, 2.5), appearance="painted metal"),
    "bicycle": Category((1.7, 1.0, 0.5), appearance="metal"),
    "motorcycle": Category((2.1, 1.1, 0.8), appearance="metal"),
    "boat": Category((4.0, 1.2, 1.6), appearance="wood"),
    "tree": Category((2.6, 4.2, 2.6), shape="mesh:assets/pine_tree.obj", appearance="green leaves"),
    "pine": Category((2.6, 4.2, 2.6), shape="mesh:assets/pine_tree.obj", appearance="green leaves"),
    "bush": Category((1.2, 0.9, 1.2), shape="sphere", appearance="green leaves"),
    "rock": Category((1.2, 0.8, 1.0), shape="box", appearance="grey stone"),
    "house": Category((8, 6, 7), appearance="brick"),
    "cabin": Category((5, 3.5, 4), appearance="wood"),
    "tower": Category((2.4, 10, 2.4), shape="cylinder", appearance="stone"),
    "lighthouse": Category((2.4, 10, 2.4), shape="cylinder", appearance="white with red stripes"),
    "wall": Category((4, 2, 0.3), appearance="brick"),
    "fence": Category((4, 1.1, 0.1), appearance="wood"),
    "table": Category((1.6, 0.75, 0.9), appearance="wood", clearance=0.7),
    "desk": Category((1.4, 0.75, 0.7), appearance="wood", clearance=0.7),
    "bench": Category((1.8, 0.45, 0.5), appearance="wood", clearance=0.4),
    "chair": Category((0.5, 0.9, 0.5), appearance="wood"),
    "sofa": Category((2.0, 0.85, 0.9), appearance="fabric"),
    "bed": Category((2.0, 0.6, 1.6), appearance="fabric"),
    "lamp": Category((0.4, 1.6, 0.4), shape="cylinder", appearance="glowing yellow"),
    "streetlight": Category((0.3, 4.5, 0.3), shape="cylinder", appearance="metal"),
    "person": Category((0.5, 1.75, 0.3), shape="capsule"),
    "man": Category((0.5, 1.8, 0.3), shape="capsule"),
    "woman": Category((0.5, 1.7, 0.3), shape="capsule"),
    "child": Category((0.4, 1.2, 0.25), shape="capsule"),
    "robot": Category((0.7, 1.6, 0.5), shape="capsule", appearance="metal"),
    "dog": Category((0.9, 0.6, 0.3), appearance="brown"),
    "cat": Category((0.5, 0.3, 0.2), appearance="grey"),
    "horse": Category((2.2, 1.7, 0.6), appearance="brown"),
    "cow": Category((2.2, 1.5, 0.8), appearance="black and white spots"),
    "bird": Category((0.3, 0.2, 0.2), shape="sphere"),
    "ball": Category((0.25, 0.25, 0.25), shape="sphere"),
    "box": Category((0.6, 0.6, 0.6), appearance="cardboard brown"),
    "crate": Category((0.8, 0.8, 0.8), appearance="wood"),
    "basket": Category((0.5, 0.35, 0.5), shape="cylinder", appearance="wood"),
    "barrel": Category((0.6, 0.9, 0.6), shape="cylinder", appearance="wood"),
    "cup": Category((0.09, 0.1, 0.09), shape="cylinder"),
    "mug": Category((0.09, 0.1, 0.09), shape="cylinder"),
    "bottle": Category((0.08, 0.3, 0.08), shape="cylinder", appearance="green glass"),
    "book": Category((0.2, 0.04, 0.27)),
    "vase": Category((0.2, 0.35, 0.2), shape="cylinder"),
    "apple": Category((0.08, 0.08, 0.08), shape="sphere", appearance="red"),
    "plant": Category((0.4, 0.6, 0.4), shape="cone", appearance="green leaves"),
    "sign": Category((1.0, 2.2, 0.1), appearance="white"),
    "statue": Category((0.8, 2.2, 0.8), shape="cylinder", appearance="marble"),
    "fountain": Category((3.0, 1.2, 3.0), shape="cylinder", appearance="stone"),
    "tent": Category((2.5, 1.6, 2.5), shape="cone", appearance="orange fabric"),
    "campfire": Category((0.9, 0.4, 0.9), shape="cone", appearance="glowing orange fire"),
    "pillar": Category((0.6, 3.0, 0.6), shape="cylinder", appearance="marble"),
    "snowman": Category((0.8, 1.6, 0.8), shape="sphere", appearance="white snow"),
    "piano": Category((1.5, 1.0, 0.6), appearance="black"),
    "tv": Category((1.2, 0.7, 0.1), appearance="black"),
    "door": Category((0.9, 2.0, 0.1), appearance="wood"),
    "window": Category((1.0, 1.2, 0.1), appearance="glass"),
    "ring": Category((1.0, 0.2, 1.0), shape="torus"),
    "donut": Category((0.12, 0.04, 0.12), shape="torus", appearance="brown"),
}
DEFAULT = Category((1.0, 1.0, 1.0))
PLURALS = {"people": "person", "men": "man", "women": "woman", "children": "child", "benches": "bench",
           "boxes": "box", "buses": "bus", "trees": "tree", "houses": "house", "cups": "cup"}


def lookup(category: str) -> Category:
    c = category.strip().lower().replace(" ", "_")
    if c in CATEGORIES:
        return CATEGORIES[c]
    last = c.split("_")[-1]
    for cand in (last, PLURALS.get(last, ""), last[:-1] if last.endswith("s") else ""):
        if cand in CATEGORIES:
            return CATEGORIES[cand]
    return DEFAULT


def singular(word: str) -> str | None:
    w = word.lower()
    if w in CATEGORIES:
        return w
    if w in PLURALS:
        return PLURALS[w]
    if w.endswith("es") and w[:-2] in CATEGORIES:
        return w[:-2]
    if w.endswith("s") and w[:-1] in CATEGORIES:
        return w[:-1]
    return None
