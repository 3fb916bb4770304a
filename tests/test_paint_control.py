"""The procedural painter's reading of appearance text, motion-key semantics, and the
ControlNet images derived from passes."""

import numpy as np
import pytest

from worldgen import control
from worldgen.paint.materials import material_from_text, srgb_to_linear
from worldgen.passes.gl import decode_ids, encode_ids
from worldgen.transforms import euler_xyz_to_matrix, look_at_world_to_camera
from worldgen.world import World
from conftest import ROOT
from worldgen.spec import load_spec


def test_appearance_words():
    m = material_from_text("white lighthouse with red stripes")
    assert m.pattern == "stripes"
    assert m.base[0] > 0.7 and m.base[2] > 0.7  # white
    assert m.second[0] > 3 * m.second[1]  # red
    lamp = material_from_text("glowing yellow lamp")
    assert lamp.emission > 0 and lamp.base[0] > lamp.base[2]
    rock = material_from_text("dark granite rock")
    assert rock.pattern == "speckle" and rock.base.max() < srgb_to_linear([104])[0] * 0.6
    assert material_from_text("wet sand").wet
    boat = material_from_text("small red wooden fishing boat")
    assert boat.pattern == "planks" and boat.base[0] > 2 * boat.base[1]
    a, b = material_from_text("zorblax", key="x|1"), material_from_text("zorblax", key="x|1")
    assert np.array_equal(a.base, b.base)  # unknown words: stable, not random
    assert not np.array_equal(a.base, material_from_text("zorblax", key="y|1").base)


def test_motion_keys_fill_from_the_object_pose():
    world = World(load_spec(ROOT / "scenes" / "lighthouse.yaml"))
    m = world.world_matrix("boat", 2.0)
    assert np.allclose(m[:3, 3], [0, 0.5, 6])
    assert np.allclose(m[:3, :3], euler_xyz_to_matrix([0, 10, 0]))  # 0 -> 20 degrees, halfway
    assert np.allclose(world.world_matrix("boat", 9.0)[:3, 3], [10, 0.5, 6])  # holds after the last key
    lamp = world.world_matrix("lamp", 0.0)
    assert np.allclose(lamp[:3, 3], [0, 9.5, 0])  # child of the tower
    assert world.static_ids == {"ground", "tower", "lamp", "rock"}


def test_depth_image_near_is_bright_and_fixed_per_range():
    depth = np.array([[1.0, 2.0, np.inf]], np.float32)
    img = control.depth_image(depth, 1.0, 4.0)
    assert img.shape == (1, 3, 3) and img[0, 0, 0] == 255 and 0 < img[0, 1, 0] < 255 and img[0, 2, 0] == 0
    assert np.array_equal(control.depth_image(depth[:, :2], 1.0, 4.0), img[:, :2])  # no per-frame rescaling


def test_normal_image_facing_camera_is_blue():
    w2c = look_at_world_to_camera([0, 0, 5], [0, 0, 0])
    n = np.array([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]], np.float32)  # toward the camera; world right
    img = control.normal_image(n, w2c, np.array([[True, True]]))
    assert tuple(img[0, 0]) == (128, 128, 255)
    assert img[0, 1, 0] == 0 and img[0, 1, 2] == 128  # NormalBae's red is left: a right-facing normal has none


def test_segmentation_colours_are_stable_and_distinct():
    ids = np.array([[0, 1, 2, 3]], np.uint16)
    colours = control.label_colours(["tree", "person", "road"])
    a, b = control.segmentation_image(ids, colours), control.segmentation_image(ids[:, ::-1], colours)
    assert tuple(a[0, 0]) == (6, 230, 230)  # nothing hit: ADE20K's sky
    assert np.array_equal(a[0, ::-1], b[0])
    assert len({tuple(c) for c in a[0]}) == 4


@pytest.mark.parametrize("h,w", [(64, 64), (288, 512), (50, 70)])
def test_canny_edges_lie_on_the_square_at_the_frame_size(h, w):
    """A bright square on black: edges only on its border (one pixel either side of it, as
    OpenCV's Canny marks them), at the frame's own size, nowhere else."""
    img = np.zeros((h, w, 3), np.uint8)
    img[16:40, 16:40] = 200
    edges = control.canny_image(img)
    assert edges.shape == (h, w, 3)
    on = edges[..., 0] > 0
    ring = np.zeros((h, w), bool)
    ring[15:41, 15:41] = True
    ring[17:39, 17:39] = False
    assert on.any() and not (on & ~ring).any()
    assert on[27, 15:17].any() and on[27, 39:41].any()  # both vertical sides, mid-height


@pytest.mark.parametrize("ids", [np.arange(0, 5000), np.array([0, 1, 127, 128, 16383, 16384, (1 << 21) - 1])])
def test_gl_id_codes_survive_truncation(ids):
    rgb = encode_ids(ids).astype(np.int64)
    for delta in (-1, 0):  # exact, or one below where a driver truncates instead of rounding
        assert np.array_equal(decode_ids(np.clip(rgb + delta, 0, 255)), ids)
