"""ControlNet conditioning images derived from the exact passes (never the other way round)."""
from __future__ import annotations

import zlib

import numpy as np


def depth_image(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """Inverse depth mapped to 0..255, near = bright, nothing hit = black. `near`/`far` are
    fixed per shot so the conditioning does not flicker with the frame's own range."""
    inv = np.where(np.isfinite(depth), 1.0 / np.maximum(depth, 1e-6), 0.0)
    lo, hi = 1.0 / far, 1.0 / near
    x = np.clip((inv - lo) / max(hi - lo, 1e-9), 0, 1)
    return np.repeat((x * 255 + 0.5).astype(np.uint8)[..., None], 3, -1)


def normal_image(normal_world: np.ndarray, world_to_camera: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Camera-space normals as the normal ControlNets expect: x right, y up, z toward the
    viewer, colour = (n + 1) / 2; background = (128, 128, 255)-ish 'facing' colour."""
    r = world_to_camera[:3, :3]
    n = normal_world @ r.T  # OpenCV camera axes
    n = n * np.array([1.0, -1.0, -1.0])  # to x right, y up, z toward viewer
    img = ((n * 0.5 + 0.5) * 255 + 0.5).clip(0, 255).astype(np.uint8)
    img[~hit] = (128, 128, 255)
    return img


def label_colour(value: int) -> tuple:
    if value == 0:
        return (0, 0, 0)
    h = zlib.crc32(f"label{value}".encode())
    return (64 + (h & 0xBF), 64 + ((h >> 8) & 0xBF), 64 + ((h >> 16) & 0xBF))


def segmentation_image(ids: np.ndarray) -> np.ndarray:
    """A fixed colour per id value (stable across frames, shots and runs)."""
    top = int(ids.max()) if ids.size else 0
    lut = np.array([label_colour(v) for v in range(top + 1)], np.uint8)
    return lut[ids]


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
