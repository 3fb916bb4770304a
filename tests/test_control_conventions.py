"""The control images speak the conventions the ControlNets were trained on: normals as the
NormalBae ControlNet reads them (ControlNet 1.1: "blue is front, red is left, green is top"),
segmentation in the ADE20K palette with worldgen's labels mapped to ADE20K classes."""

import numpy as np
import pytest

from worldgen import ade20k, control
from worldgen.camera import ShotCamera
from worldgen.spec import load_spec_text
from worldgen.world import World

SCENE = """
worldgen: 1
seed: 3
render: {width: 64, height: 64, fps: 8}
world:
  objects:
    - {id: ball, shape: sphere, radius: 1.0, position: [0, 0, 0], appearance: "grey sphere"}
shots:
  - {id: a, duration: 0.125, camera: {move: static, position: [0, 0, 5], look_at: [0, 0, 0]}}
"""

LABELS = """
worldgen: 1
seed: 3
render: {width: 64, height: 48, fps: 8}
world:
  objects:
    - {id: tree, shape: box, size: [1, 2, 1], position: [-1.2, 0, 0], appearance: "tall thing"}
    - {id: zorblax_1, shape: box, size: [1, 1, 1], position: [1.2, 0, 0], appearance: "shiny zorblax"}
    - {id: thing, shape: sphere, radius: 0.4, position: [0, 1.5, 0], appearance: "white lighthouse with red stripes"}
shots:
  - {id: a, duration: 0.125, style: "pencil sketch", camera: {move: static, position: [0, 0.5, 6], look_at: [0, 0.5, 0]}}
"""


def first_view(text, w=None, h=None):
    from worldgen.passes.sequence import Rasterizer

    spec = load_spec_text(text, check=False)
    world = World(spec)
    raster = Rasterizer(world, "raycast")
    r = spec.render
    return world, raster, raster.view(ShotCamera(spec.shots[0], world, w or r.width, h or r.height), r.fps, 0)


def test_sphere_normals_in_the_normalbae_convention():
    """A sphere facing the camera: its left edge is red, its top green, its centre blue (and
    the right edge and bottom lack red and green), as the NormalBae preprocessor draws
    normals (its colour is (n + 1) / 2 of a normal whose x points left, y up, z at the viewer)."""
    world, _, view = first_view(SCENE)
    hit = view.hits.geom >= 0
    img = control.normal_image(view.surf.normal_img, view.cam.world_to_camera, hit).astype(int)
    rows, cols = np.nonzero(hit)
    mid_r, mid_c = int(round(rows.mean())), int(round(cols.mean()))
    row_hits, col_hits = np.nonzero(hit[mid_r])[0], np.nonzero(hit[:, mid_c])[0]
    left, right = img[mid_r, row_hits.min() + 1], img[mid_r, row_hits.max() - 1]
    top, bottom = img[col_hits.min() + 1, mid_c], img[col_hits.max() - 1, mid_c]
    centre = img[mid_r, mid_c]
    assert left[0] > 200 and right[0] < 55, (left, right)  # red is left
    assert top[1] > 200 and bottom[1] < 55, (top, bottom)  # green is top
    assert centre[2] > 245 and abs(centre[0] - 128) < 12 and abs(centre[1] - 128) < 12, centre  # blue is front
    assert abs(left[1] - 128) < 30 and abs(top[0] - 128) < 30  # the other axis stays neutral
    assert tuple(img[0, 0]) == (128, 128, 255)  # background: facing


def test_ade20k_table_matches_the_palette_tools_draw_with():
    from worldgen.compat import import_controlnet_aux

    import_controlnet_aux()
    from controlnet_aux.util import ade_palette

    palette = ade_palette()
    assert len(ade20k.CLASSES) == len(palette) == 150
    assert [c.rgb for c in ade20k.CLASSES] == [tuple(p) for p in palette]
    assert ade20k.BY_NAME["tree"].index == 4 and ade20k.BY_NAME["person"].index == 12


@pytest.mark.parametrize(
    "label, appearances, name",
    [
        ("tree", (), "tree"),
        ("pine", (), "tree"),
        ("person", (), "person"),
        ("street_lamp", (), "streetlight"),
        ("thing", ("white lighthouse with red stripes",), "tower"),
        ("zorblax", ("shiny zorblax",), "wall"),
        ("ground", ("green grass",), "earth"),
        ("blob", ("red ball on a stick",), "ball"),
        ("trees", (), "tree"),
        ("pot", (), "pot"),
    ],
)
def test_labels_name_ade20k_classes(label, appearances, name):
    assert ade20k.class_of(label, appearances).names[0] == name


def test_segmentation_control_images_use_ade20k_colours(tmp_path):
    """A 'tree' is drawn in ADE20K's tree colour, an object its label and appearance do not
    name in the neutral class's (wall), one whose appearance names a class in that class's, the
    background as sky: in the frames' control images (painters and the written control PNGs)
    and in look development's views."""
    from PIL import Image

    from worldgen.diffusion.lookdev import control_images, render_solo, units_of
    from worldgen.control import view_control_images
    from worldgen.render import RenderOptions, render

    world, _, view = first_view(LABELS)
    seg = view_control_images(world, view, ["seg"], (0.1, 100.0))["seg"]
    inst = view.surf.instance_img
    expect = {"tree": ade20k.BY_NAME["tree"].rgb, "zorblax_1": ade20k.NEUTRAL.rgb, "thing": ade20k.BY_NAME["tower"].rgb}
    for oid, rgb in expect.items():
        m = inst == world.nodes[oid].instance
        assert m.any() and (seg[m] == rgb).all(), (oid, np.unique(seg[m].reshape(-1, 3), axis=0))
    assert (seg[view.hits.geom < 0] == ade20k.SKY.rgb).all()
    res = render(
        load_spec_text(LABELS, check=False),
        tmp_path / "o",
        RenderOptions(painter="procedural", control=("seg",), progress=False, film=False),
    )
    f = res.manifest["shots"][0]["frames"][0]
    written = np.asarray(Image.open(tmp_path / "o" / f["control_seg"]).convert("RGB"))
    assert np.array_equal(written, seg)
    unit = next(u for u in units_of(world) if u.key == "tree")
    sv = render_solo(world, unit, 0.0, view.cam)
    img = control_images(["seg"], sv, world, unit)["seg"]
    assert (img[sv.part == 0] == ade20k.BY_NAME["tree"].rgb).all() and (img[sv.part < 0] == ade20k.SKY.rgb).all()


def test_label_colours_are_made_once_per_world():
    """Every frame's seg image (the render's and the painters') reads its world's label colours:
    made once per world and shared read-only; another world gets its own."""
    spec = load_spec_text(LABELS, check=False)
    world = World(spec)
    colours = control.world_label_colours(world)
    assert control.world_label_colours(world) is colours and not colours.flags.writeable
    other = World(spec)
    assert control.world_label_colours(other) is not colours
    assert np.array_equal(control.world_label_colours(other), colours)
