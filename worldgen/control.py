"""ControlNet conditioning images derived from the exact passes (never the other way round)."""
from __future__ import annotations

import numpy as np


def depth_image(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """Inverse depth mapped to 0..255, near = bright, nothing hit = black. `near`/`far` are
    fixed per shot so the conditioning does not flicker with the frame's own range."""
    inv = np.where(np.isfinite(depth), 1.0 / np.maximum(depth, 1e-6), 0.0)
    lo, hi = 1.0 / far, 1.0 / near
    x = np.clip((inv - lo) / max(hi - lo, 1e-9), 0, 1)
    return np.repeat((x * 255 + 0.5).astype(np.uint8)[..., None], 3, -1)


def normal_image(normal_world: np.ndarray, world_to_camera: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Camera-space normals in the convention the NormalBae ControlNet was trained on (ControlNet
    1.1's normal model: the NYU-v2/ScanNet colours its NormalBae preprocessor draws, "blue is
    front, red is left, green is top"): x toward the image's left, y up, z toward the viewer,
    colour = (n + 1) / 2, exactly as the preprocessor maps its network's output. A normal
    pointing left is red, up is green, at the camera (128, 128, 255); so is the background."""
    r = world_to_camera[:3, :3]
    n = normal_world @ r.T  # OpenCV camera axes: x right, y down, z away from the viewer
    n = -n  # to x left, y up, z toward the viewer
    img = ((n * 0.5 + 0.5) * 255 + 0.5).clip(0, 255).astype(np.uint8)
    img[~hit] = (128, 128, 255)
    return img


def label_colours(labels, appearances=None, background=None) -> np.ndarray:
    """(L + 1, 3) uint8: row v is the ADE20K colour of semantic value v, whose label is
    labels[v - 1] (`appearances[v - 1]`: the appearance words of the objects with that label,
    read when the label names no class); row 0, nothing hit, is `background` (default: sky)."""
    from worldgen import ade20k
    appearances = appearances or [()] * len(labels)
    rows = [(background or ade20k.SKY).rgb] + [ade20k.class_of(lab, app).rgb for lab, app in zip(labels, appearances)]
    return np.array(rows, np.uint8).reshape(-1, 3)


def world_label_colours(world) -> np.ndarray:
    """`label_colours` of a world's semantic values (its labels and their objects' appearances)."""
    apps = {lab: [] for lab in world.labels}
    for node in world.nodes.values():
        text = node.spec.appearance
        if node.character is not None and node.character in world.characters:
            text = world.characters[node.character].spec.appearance
        if text and text not in apps.setdefault(node.label, []):
            apps[node.label].append(text)
    return label_colours(world.labels, [apps[lab] for lab in world.labels])


def segmentation_image(ids: np.ndarray, colours: np.ndarray | None = None) -> np.ndarray:
    """The semantic pass in the ADE20K palette the seg ControlNet reads: value v drawn in
    colours[v] (`label_colours`). Without `colours`, every label is the neutral class (wall) on
    the sky: stable, but it says nothing about what things are."""
    top = int(ids.max()) if ids.size else 0
    if colours is None or len(colours) <= top:
        from worldgen import ade20k
        known = 0 if colours is None else len(colours)
        extra = np.array([ade20k.SKY.rgb] + [ade20k.NEUTRAL.rgb] * top, np.uint8)[known:top + 1]
        colours = extra if colours is None else np.concatenate([colours, extra])
    return np.asarray(colours, np.uint8)[ids]


def canny_image(rgb: np.ndarray, low: int = 100, high: int = 200) -> np.ndarray:
    """Canny edges through controlnet-aux's detector, the one diffusion users already run."""
    h, w = rgb.shape[:2]
    if min(h, w) < 64:  # controlnet-aux resizes to a minimum size and fails below it: same detector, direct
        import cv2
        edges = cv2.Canny(rgb, low, high)
        return np.repeat(edges[..., None], 3, -1)
    from worldgen.compat import import_controlnet_aux
    det = import_controlnet_aux().CannyDetector()
    out = det(rgb, low_threshold=low, high_threshold=high, detect_resolution=max(h, w), image_resolution=max(h, w),
              output_type="np")
    if out.shape[:2] != (h, w):
        from PIL import Image
        out = np.asarray(Image.fromarray(out).resize((w, h), Image.NEAREST))
    return out
