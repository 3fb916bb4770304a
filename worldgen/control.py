"""ControlNet conditioning images derived from the exact passes (never the other way round).

Every conditioning image worldgen makes comes from `control_images` here: the ones a render
writes next to a frame's passes, the ones the diffusion painters condition a frame on
(`view_control_images`), and the ones look development conditions an object's views on."""

from __future__ import annotations

import weakref

import numpy as np

# The conditioning images a render writes next to every frame's passes (`--control`), one
# folder each; openpose only where there are characters (it is drawn with the pose pass). The
# kinds a ControlNet may be loaded for are another list: worldgen.diffusion.loading.CONTROLNET_KINDS.
WRITTEN_CONTROL_KINDS = ("depth", "normal", "canny", "seg", "openpose")


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


_WORLD_COLOURS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # world -> its label colours


def world_label_colours(world) -> np.ndarray:
    """`label_colours` of a world's semantic values (its labels and their objects' appearances),
    computed once per world: every frame's seg image, the render's and the painters', reads it."""
    colours = _WORLD_COLOURS.get(world)
    if colours is None:
        colours = _WORLD_COLOURS[world] = _label_colours_of(world)
        colours.flags.writeable = False  # shared by every caller
    return colours


def _label_colours_of(world) -> np.ndarray:
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
    known = 0 if colours is None else len(colours)
    if known <= top:  # one table: the colours given, then the fallback for the values past them
        from worldgen import ade20k

        fallback = np.array([ade20k.SKY.rgb] + [ade20k.NEUTRAL.rgb] * top, np.uint8)
        colours = fallback if colours is None else np.concatenate([np.asarray(colours, np.uint8), fallback[known:]])
    return np.asarray(colours, np.uint8)[ids]


def canny_image(rgb: np.ndarray, low: int = 100, high: int = 200) -> np.ndarray:
    """Canny edges by OpenCV at the frame's own size, with the thresholds (100, 200) the Canny
    ControlNet was trained with. controlnet-aux's detector runs the same cv2.Canny, but first
    resamples the image to multiples of 64 px with its short side at the asked resolution and
    back: edges move and thicken, and it imports torch, which a plain install does not have."""
    import cv2

    edges = cv2.Canny(np.ascontiguousarray(rgb), low, high)
    return np.repeat(edges[..., None], 3, -1)


def control_images(
    kinds,
    depth: np.ndarray,
    normal_world: np.ndarray,
    world_to_camera: np.ndarray,
    hit: np.ndarray,
    semantic: np.ndarray,
    near_far: tuple[float, float],
    seg_colours: np.ndarray | None = None,
    openpose=None,
) -> dict:
    """The conditioning image of each kind in `kinds` (in that order) from one view's exact
    passes: metric depth, world-space normals and the camera they are seen from, the hit mask,
    the semantic values (drawn in `seg_colours`, see `segmentation_image`). `openpose` is a
    function drawing the view's skeletons; without it, and for a kind no pass gives, the image
    is blank (a ControlNet loaded for it sees nothing). canny is drawn on the normal image."""
    out, normal = {}, None
    for k in kinds:
        if k == "depth":
            out[k] = depth_image(depth, *near_far)
        elif k in ("normal", "canny"):
            normal = normal if normal is not None else normal_image(normal_world, world_to_camera, hit)
            out[k] = normal if k == "normal" else canny_image(normal)
        elif k == "seg":
            out[k] = segmentation_image(semantic, seg_colours)
        elif k == "openpose" and openpose is not None:
            out[k] = openpose()
        else:
            out[k] = np.zeros(depth.shape + (3,), np.uint8)
    return out


def view_control_images(world, view, kinds, near_far: tuple[float, float]) -> dict:
    """`control_images` of a rasterized frame of `world` (a worldgen.passes view): the images a
    diffusion painter conditions the frame on, openpose drawn from the world's characters."""

    def openpose():
        from worldgen.character.pose_pass import openpose_image, people_in_frame

        people = people_in_frame(world, view.time, view.cam, view.hits.depth, view.surf.instance_img)
        return openpose_image(people, view.cam.width, view.cam.height)

    seg = world_label_colours(world) if "seg" in kinds else None
    return control_images(
        kinds,
        view.hits.depth,
        view.surf.normal_img,
        view.cam.world_to_camera,
        view.hits.geom >= 0,
        view.surf.semantic_img,
        near_far,
        seg,
        openpose,
    )
