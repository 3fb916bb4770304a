"""The embedded look (issue 16): light, materials, lens and film, checked where an answer is
known exactly, and the render options that skip what a film does not need."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import spec_from

from worldgen.world import World

SCENE = """
worldgen: 1
seed: 5
render: {width: 48, height: 32, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40], appearance: "sand"}
    - {id: crate, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "wooden crate"}
shots:
  - {id: still, duration: 0.25, camera: {move: static, position: [3, 2, 4], look_at: [0, 0.5, 0]}}
"""


def run(*args):
    return subprocess.run([sys.executable, "-m", "worldgen", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def crate_world(tmp_path_factory):
    spec = spec_from(SCENE, tmp_path_factory.mktemp("look"))
    return spec, World(spec)


def test_ambient_occlusion_open_plane_is_one_and_a_corner_is_darker(crate_world):
    """Open ground sees the whole sky: exactly 1. Where the ground meets the crate half the
    hemisphere is a wall: clearly less. The result is a function of the point alone."""
    from worldgen.paint.light import ambient_occlusion
    from worldgen.passes.raycast import RaycastBackend
    from worldgen.passes.snapshot import SnapshotMaker

    _, world = crate_world
    snap = SnapshotMaker(world)(0.0)
    caster = RaycastBackend(world)
    up = np.tile(np.float32([0, 1, 0]), (3, 1))
    open_pts = np.float32([[8, 0, 8], [-6, 0, 3], [10, 0, -10]])
    corner = np.float32([[0.52, 0, 0.52], [0.55, 0, 0], [-0.52, 0, 0.2]])
    assert np.array_equal(ambient_occlusion(caster, snap, open_pts, up, 1.5), np.ones(3, np.float32))
    near = ambient_occlusion(caster, snap, corner, up, 1.5)
    assert (near < 0.85).all() and (near > 0.2).all(), near
    assert np.array_equal(near, ambient_occlusion(caster, snap, corner, up, 1.5))


def test_depth_of_field_keeps_pixels_in_focus():
    """Everything at the focus distance, or a blurred background behind: in-focus pixels keep
    their values bit for bit; a foreground out of focus is blurred."""
    from worldgen.paint.lens import circle_of_confusion, depth_of_field

    rng = np.random.default_rng(0)
    img = rng.random((40, 60, 3)).astype(np.float32)
    fy = 400.0  # a long lens (240 mm) on a 40-pixel frame: strong blur away from focus
    depth = np.full((40, 60), 5.0, np.float32)
    assert np.array_equal(depth_of_field(img, depth, fy, 5.0, 1.4), img)
    depth[:, 30:] = 50.0  # far background, blurred
    out = depth_of_field(img, depth, fy, 5.0, 1.4)
    assert circle_of_confusion(depth, fy, 5.0, 1.4)[:, 30:].min() > 2
    assert np.array_equal(out[:, :30], img[:, :30])
    assert np.abs(out[:, 34:] - img[:, 34:]).mean() > 0.05
    depth[:, 30:] = 1.0  # near foreground, blurred over the sharp pixels beside it
    out = depth_of_field(img, depth, fy, 5.0, 1.4)
    assert not np.array_equal(out[:, 26:30], img[:, 26:30])
    assert np.array_equal(out[:, :10], img[:, :10])


def test_motion_blur_of_a_still_shot_is_identity_and_follows_flow():
    from worldgen.paint.lens import motion_blur

    rng = np.random.default_rng(1)
    img = rng.random((20, 30, 3)).astype(np.float32)
    zero = np.zeros((20, 30, 2), np.float32)
    assert np.array_equal(motion_blur(img, zero, zero, 180), img)
    ramp = np.broadcast_to(np.arange(30, dtype=np.float32)[None, :, None], (20, 30, 3)).copy()
    flow = np.zeros((20, 30, 2), np.float32)
    flow[..., 0] = 8.0  # every pixel moves 8 px right a frame; backward flow 8 px left
    out = motion_blur(ramp, flow, -flow, 180)
    # a linear ramp averaged symmetrically along x keeps its value away from the borders
    assert np.allclose(out[:, 5:25], ramp[:, 5:25], atol=1e-4)
    stripes = ((np.arange(30) // 2) % 2).astype(np.float32)[None, :, None] * np.ones((20, 1, 3), np.float32)
    assert motion_blur(stripes, flow, -flow, 180)[:, 5:25].std() < 0.5 * stripes[:, 5:25].std()
    # samples about a pixel apart: a path under a pixel long (0.25 x (1.5 + 1.5) px) is no blur
    slow = np.zeros((20, 30, 2), np.float32)
    slow[..., 0] = 1.5
    assert np.array_equal(motion_blur(stripes, slow, -slow, 180), stripes)
    assert not np.array_equal(motion_blur(stripes, 2 * slow, -2 * slow, 180), stripes)


def test_still_render_with_shutter_equals_render_without(tmp_path):
    """Nothing moves: a 180-degree shutter changes no byte of any frame."""
    from worldgen.render import RenderOptions, render

    outs = []
    for shutter in (180, 0):
        (tmp_path / f"s{shutter}").mkdir()
        spec = spec_from(
            SCENE.replace("fps: 12}", f"fps: 12, look: {{shutter: {shutter}}}}}"), tmp_path / f"s{shutter}"
        )
        res = render(
            spec, tmp_path / f"out{shutter}", RenderOptions(passes=False, film=False, progress=False, use_store=False)
        )
        assert res.frames_rendered == 3
        outs.append(
            [(tmp_path / f"out{shutter}" / f["frame"]).read_bytes() for f in res.manifest["shots"][0]["frames"]]
        )
    assert outs[0] == outs[1]


def test_grain_is_new_every_frame_and_the_same_for_the_same_seed(tmp_path):
    from worldgen.paint.lens import grain_noise

    assert np.array_equal(grain_noise(5, "a", 3, 8, 8), grain_noise(5, "a", 3, 8, 8))
    assert not np.array_equal(grain_noise(5, "a", 3, 8, 8), grain_noise(5, "a", 4, 8, 8))
    assert not np.array_equal(grain_noise(5, "a", 3, 8, 8), grain_noise(6, "a", 3, 8, 8))
    from worldgen.render import RenderOptions, render

    spec = spec_from(SCENE.replace("fps: 12}", "fps: 12, look: {grain: 0.3}}"), tmp_path)
    frames = []
    for k in range(2):
        res = render(
            spec, tmp_path / f"out{k}", RenderOptions(passes=False, film=False, progress=False, use_store=False)
        )
        assert res.frames_rendered == 3
        frames.append([(tmp_path / f"out{k}" / f["frame"]).read_bytes() for f in res.manifest["shots"][0]["frames"]])
    assert frames[0] == frames[1]  # same spec and seed: same bytes
    assert frames[0][0] != frames[0][1]  # a still shot, yet the grain moves


def test_sky_follows_the_sun():
    """A low sun gives a warm horizon and a darker zenith than a high one; the disk sits where
    the sun is and is brighter than white (it blooms)."""
    from worldgen.paint.sky import Sky

    white = np.ones(3, np.float32)
    high = Sky([(np.float32([0, 1, 0.2]) / np.linalg.norm([0, 1, 0.2]), white, 1.0)])
    low_dir = np.float32([0, 0.05, 1]) / np.linalg.norm([0, 0.05, 1])
    low = Sky([(low_dir, white, 1.0)])
    assert low.horizon[0] / low.horizon[2] > 1.3 * high.horizon[0] / high.horizon[2]
    assert low.zenith.sum() < high.zenith.sum()
    at_sun, away = low.radiance(np.stack([low_dir, -low_dir]))
    assert at_sun.max() > 10 and away.max() < 1
    assert Sky([(low_dir, white, 1.0)], "noon").zenith.sum() > low.zenith.sum()  # the style's word wins
    # a palette is named by a whole word: "late afternoon" names none (it holds "noon"), so the sun decides
    assert np.array_equal(Sky([(low_dir, white, 1.0)], "late afternoon, warm light").zenith, low.zenith)
    # the last palette word wins (a film's "sunset" style, then a scene's "night")
    assert np.array_equal(Sky([], "sunset glow, night").zenith, Sky([], "night").zenith)


def test_point_and_spot_lights_fall_off():
    from worldgen.paint.light import local_light
    from worldgen.spec.models import Light

    pts = np.float32([[0, 0, 0], [0, 0, 1], [3, 0, 0]])
    up = np.tile(np.float32([0, 1, 0]), (3, 1))
    e, _, d = local_light(Light(type="point", position=(0, 1, 0), range=100), pts, up)
    assert np.allclose(d, [1, np.sqrt(2), np.sqrt(10)])
    assert e[0] > e[1] > e[2] > 0
    assert abs(e[0] * 1.01 / 1.0 - 1) < 1e-3  # 1 / (1 m^2 + 0.01) at 1 m, facing the light
    e_far, _, _ = local_light(Light(type="point", position=(0, 1, 0), range=2), pts, up)
    assert e_far[2] == 0  # beyond its range
    spot = Light(type="spot", position=(0, 1, 0), direction=(0, -1, 0), angle=40)
    e_spot, _, _ = local_light(spot, pts, up)
    assert e_spot[0] > 0.9 and e_spot[1] == 0 and e_spot[2] == 0


def test_appearance_words_choose_patterns():
    from worldgen.paint.materials import material_from_text

    cases = {
        "sand": "sand",
        "calm sea water": "waves",
        "old wooden boat": "planks",
        "grey stone wall": "stone",
        "green grass": "grass",
        "brushed steel": "brushed",
        "red painted metal": "painted",
        "blue cloth": "weave",
        "red and white stripes": "stripes",
        "copper kettle": "brushed",
        "gold ring": "brushed",
        "silver metal": "brushed",
        "gold cloth dress": "weave",
        "silver grey fabric jacket": "weave",
    }
    for text, pattern in cases.items():
        assert material_from_text(text).pattern == pattern, text
    # a coloured metal keeps its colour (its highlights take it: metal f0 is the albedo)
    r, g, b = material_from_text("copper kettle").base
    assert r > g > b and material_from_text("brass bell").roughness < 0.5
    assert material_from_text("sand").bump_strength > 0 and material_from_text("white").bump_strength > 0


def test_patterns_are_band_limited():
    """Seen from far enough (a footprint much larger than every period), every pattern is its
    mean: no detail left to alias."""
    from worldgen.paint.patterns import KINDS, evaluate

    rng = np.random.default_rng(2)
    p = rng.random((400, 3)) * 10
    for k, name in enumerate(KINDS):
        m, grad = evaluate(k, p, np.full(400, 1e4), np.int64(3), 0.01)
        if name != "mottle":
            assert m.std() < 1e-3, name
        assert np.abs(grad).max() < 1e-2, name
        near, _ = evaluate(k, p, np.full(400, -1.0), np.int64(3), 0.0)
        if name != "plain":
            assert near.std() > 1e-3, name


def test_spec_errors_are_one_located_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    cases = {
        "  lights: [{type: point, intensity: 5}]\nshots:": "position",
        "render: {width: 48, height: 32, fps: 12, look: {grain: 2}}": "grain",
    }
    for change, word in cases.items():
        old = "shots:" if change.endswith("shots:") else "render: {width: 48, height: 32, fps: 12}"
        bad.write_text(SCENE.lstrip().replace(old, change))
        r = run("validate", bad)
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        assert "bad.yaml:" in lines[0] and word in lines[0], lines[0]


def test_passes_none_and_control_write_only_what_is_asked(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SCENE.lstrip())
    for mode, want_passes, want_control in (("none", False, False), ("control", False, True), ("all", True, True)):
        out = tmp_path / mode
        r = run("render", spec, "-o", out, "-q", "--no-store", "--passes", mode)
        assert r.returncode == 0, r.stderr
        shot = out / "shots" / "still"
        assert (shot / "frames" / "000000.png").exists() and (out / "film.mp4").exists()
        assert (shot / "passes").exists() == want_passes, mode
        assert (shot / "control" / "depth" / "000000.png").exists() == want_control, mode
    r = run("render", spec, "-o", tmp_path / "x", "-q", "--passes", "some")
    assert r.returncode != 0 and "--passes" in r.stderr and "Traceback" not in r.stderr
