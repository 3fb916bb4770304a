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
    # everyday objects (the kinds compositional text-to-image prompts name)
    "stop_sign": Category((0.75, 2.2, 0.08), appearance="red"),
    "parking_meter": Category((0.3, 1.4, 0.25), shape="cylinder", appearance="grey metal"),
    "fire_hydrant": Category((0.4, 0.8, 0.4), shape="cylinder", appearance="red metal"),
    "traffic_light": Category((0.35, 3.2, 0.35), shape="cylinder", appearance="black metal"),
    "suitcase": Category((0.5, 0.7, 0.25), appearance="black fabric"),
    "backpack": Category((0.35, 0.5, 0.2), appearance="blue fabric"),
    "handbag": Category((0.35, 0.25, 0.12), appearance="brown"),
    "umbrella": Category((1.2, 1.1, 1.2), appearance="black fabric", clearance=0.95),
    "laptop": Category((0.34, 0.03, 0.24), appearance="grey metal"),
    "keyboard": Category((0.45, 0.03, 0.15), appearance="black plastic"),
    "microwave": Category((0.5, 0.3, 0.38), appearance="white"),
    "toaster": Category((0.3, 0.2, 0.2), appearance="silver metal"),
    "oven": Category((0.6, 0.9, 0.6), appearance="white"),
    "refrigerator": Category((0.8, 1.8, 0.7), appearance="white"),
    "sink": Category((0.6, 0.9, 0.5), appearance="white"),
    "toilet": Category((0.4, 0.8, 0.65), appearance="white"),
    "clock": Category((0.35, 0.35, 0.08), shape="cylinder", appearance="white"),
    "couch": Category((2.0, 0.85, 0.9), appearance="fabric"),
    "dining_table": Category((1.6, 0.75, 0.9), appearance="wood", clearance=0.7),
    "potted_plant": Category((0.4, 0.6, 0.4), shape="cone", appearance="green leaves"),
    "teddy_bear": Category((0.3, 0.4, 0.25), appearance="brown"),
    "skateboard": Category((0.8, 0.1, 0.2), appearance="wood"),
    "surfboard": Category((0.55, 2.0, 0.08), appearance="white"),
    "kite": Category((0.8, 0.8, 0.05), appearance="red"),
    "elephant": Category((3.2, 3.0, 1.4), appearance="grey"),
    "giraffe": Category((1.6, 4.8, 0.8), appearance="yellow with brown spots"),
    "zebra": Category((2.2, 1.4, 0.6), appearance="white with black stripes"),
    "sheep": Category((1.2, 0.9, 0.5), appearance="white"),
    "bear": Category((1.8, 1.1, 0.8), appearance="brown"),
    "train": Category((20.0, 3.8, 3.0), appearance="painted metal"),
    "airplane": Category((30.0, 8.0, 30.0), appearance="white"),
    "cake": Category((0.25, 0.12, 0.25), shape="cylinder", appearance="cream"),
    "pizza": Category((0.35, 0.03, 0.35), shape="cylinder", appearance="orange"),
    "orange": Category((0.08, 0.08, 0.08), shape="sphere", appearance="orange"),
    "banana": Category((0.2, 0.04, 0.04), appearance="yellow"),
    "bowl": Category((0.18, 0.08, 0.18), shape="cylinder", appearance="white"),
    "glass": Category((0.08, 0.12, 0.08), shape="cylinder", appearance="glass"),
    "wine_glass": Category((0.08, 0.2, 0.08), shape="cylinder", appearance="glass"),
    "cell_phone": Category((0.07, 0.01, 0.15), appearance="black"),
    "tennis_racket": Category((0.3, 0.03, 0.7), appearance="white"),
    "baseball_bat": Category((0.07, 0.07, 0.85), shape="cylinder", appearance="wood"),
    "hot_dog": Category((0.18, 0.05, 0.05), shape="capsule", appearance="brown"),
    "frisbee": Category((0.27, 0.03, 0.27), shape="cylinder", appearance="orange"),
}
# other words for the same thing: one entry each, so their sizes and looks cannot drift apart
ALIASES = {"fridge": "refrigerator", "phone": "cell_phone", "hydrant": "fire_hydrant"}
CATEGORIES.update({word: CATEGORIES[same] for word, same in ALIASES.items()})
DEFAULT = Category((1.0, 1.0, 1.0))
PLURALS = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "benches": "bench",
    "boxes": "box",
    "buses": "bus",
    "trees": "tree",
    "houses": "house",
    "cups": "cup",
    "glasses": "glass",
    "knives": "knife",
    "leaves": "leaf",
    "shelves": "shelf",
    "wolves": "wolf",
    "mice": "mouse",
    "geese": "goose",
    "feet": "foot",
    "teeth": "tooth",
    "sheep": "sheep",
    "deer": "deer",
    "fish": "fish",
}


def lookup(category: str) -> Category:
    c = category.strip().lower().replace(" ", "_")
    if c in CATEGORIES:
        return CATEGORIES[c]
    last = c.split("_")[-1]
    for cand in (last, PLURALS.get(last, ""), last[:-1] if last.endswith("s") else ""):
        if cand in CATEGORIES:
            return CATEGORIES[cand]
    return DEFAULT


def head(category: str) -> str:
    """The head noun of a category, its last word: stop_sign -> sign, 'parking meter' -> meter."""
    words = category.strip().lower().replace(" ", "_").split("_")
    return words[-1] if words else ""


def plural_to_singular(word: str) -> str:
    """A plural noun's singular, for words no table knows: giraffes -> giraffe, glasses -> glass."""
    w = word.lower()
    known = singular(w)
    if known:
        return known
    if w in PLURALS:
        return PLURALS[w]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us")) and w not in NOT_PLURAL and len(w) > 3:
        return w[:-1]
    return w


NOT_PLURAL = {
    "tennis",
    "axis",
    "iris",
    "chassis",
    "lens",
    "gas",
    "species",
    "series",
    "news",
    "canvas",
    "atlas",
    "bias",
    "oasis",
    "jeans",
    "pants",
    "glasses",
    "scissors",
    "trousers",
    "shorts",
    "binoculars",
}


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
