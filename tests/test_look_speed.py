"""The painter's fast paths (issue 16, speed) give what the plain computations give: the
one-pass develop (`lens.finish`) against the numpy steps, the compiled sky against its formula,
ray culling against the moving parts' box against casting every ray, and the per-object pixel
groups against boolean masks."""

import numpy as np
import pytest

from conftest import spec_from

from worldgen.world import World

MOVING = """
worldgen: 1
seed: 2
render: {width: 48, height: 32, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
    - {id: wall, shape: box, size: [3, 2, 0.3], position: [0, 1, -2]}
    - id: cart
      shape: box
      size: [1, 1, 1]
      motion:
        - {t: 0, position: [-2, 0.5, 0]}
        - {t: 1, position: [2, 0.5, 0.5], rotation: [0, 40, 0]}
shots:
  - {id: a, duration: 0.25, camera: {move: static, position: [3, 2, 4], look_at: [0, 0.5, 0]}}
"""


def hdr_frame(seed=0, h=37, w=53):
    rng = np.random.default_rng(seed)
    x = (rng.random((h, w, 3)) * 1.2).astype(np.float32)
    x[5:9, 10:16] = 30.0  # brighter than white: it blooms
    x[20, 30] = (0.0005, 0.002, 0.004)  # near black, where the 8-bit levels are closest
    return x


@pytest.mark.parametrize("tone", ["filmic", "linear"])
@pytest.mark.parametrize("bloom,vignette,grain", [(0.25, 0.25, 0.0), (0.0, 0.0, 0.0), (1.0, 0.6, 0.2)])
def test_finish_equals_the_develop_steps(tone, bloom, vignette, grain):
    """Exposure, bloom, vignette, tone and grain in one compiled pass equal the numpy steps up
    to float rounding: at most one 8-bit level, on a tiny share of the values."""
    from worldgen.paint import lens

    x = hdr_frame()
    h, w = x.shape[:2]
    noise = lens.grain_noise(3, "a", 1, h, w) if grain > 0 else None
    y = x * np.float32(1.3)
    y = lens.bloom(y, bloom)
    if vignette > 0:
        y = y * lens.vignette_weights(h, w, vignette)
    ref = lens.tone_and_grain(y, tone, grain, noise)
    got = lens.finish(x, 1.3, bloom, vignette, tone, grain, noise)
    diff = np.abs(ref.astype(int) - got.astype(int))
    assert got.dtype == np.uint8 and got.shape == ref.shape
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.002, (diff > 0).mean()


def test_srgb_levels_give_the_rounded_transfer():
    """The level table behind `finish`: every linear value gets the level that the sRGB transfer
    and rounding give (checked densely over 0..1, near black too)."""
    from worldgen.paint import lens

    v = np.concatenate([np.linspace(0, 1, 200_001), np.linspace(0, 0.01, 50_001)]).astype(np.float64)
    want = np.floor(np.clip(np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055), 0, 1) * 255 + 0.5)
    img = v.reshape(-1, 1, 1).repeat(3, 2).astype(np.float32)
    got = lens.finish(img, 1.0, 0.0, 0.0, "linear", 0.0, None)[:, 0, 0]
    want32 = np.floor(
        np.clip(
            np.where(
                img[:, 0, 0] <= 0.0031308,
                img[:, 0, 0].astype(np.float64) * 12.92,
                1.055 * img[:, 0, 0].astype(np.float64) ** (1 / 2.4) - 0.055,
            ),
            0,
            1,
        )
        * 255
        + 0.5
    )
    assert np.array_equal(got, want32.astype(np.uint8))
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1  # (float32 input)


def sky_formula(sky, dirs, disk=True):
    """The sky's radiance written out with numpy, term by term (float64)."""
    d = dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
    y = d[:, 1:2]
    t = np.clip((y + 0.03) / 0.04, 0, 1)
    blend = t * t * (3 - 2 * t)
    hor, zen, bounce = (np.asarray(c, np.float64) for c in (sky.horizon, sky.zenith, sky.bounce))
    col = hor + (zen - hor) * np.sqrt(np.clip(y, 0, 1))
    ground = hor * 0.6 + bounce * 0.4
    col = ground + (col - ground) * blend
    for to_sun, sun_col, size in sky.suns:
        c = np.clip(d @ to_sun.astype(np.float64), 0, 1)[:, None]
        tint = sun_col / max(float(sun_col.max()), 1e-6)
        low = 1.0 - float(np.clip(to_sun[1] * 2, 0, 1))
        col = col + c**8 * (0.12 + 0.4 * low) * hor * tint + c**200 * 0.8 * tint
        if disk and not sky.overcast:
            r = np.radians(max(size, 0.5) / 2)
            lo, hi = np.cos(r * 1.3), np.cos(r)
            s = np.clip((c - lo) / (hi - lo), 0, 1)
            col = col + s * s * (3 - 2 * s) * 40.0 * tint
    return col


@pytest.mark.parametrize("style", ["", "overcast", "dusk"])
def test_compiled_sky_equals_its_formula(style):
    from worldgen.paint.sky import Sky

    rng = np.random.default_rng(4)
    to_sun = np.float32([0.3, 0.4, 0.8]) / np.linalg.norm([0.3, 0.4, 0.8])
    sky = Sky([(to_sun.astype(np.float32), np.float32([3.0, 2.5, 2.0]), 2.0)], style)
    dirs = rng.normal(size=(4000, 3)).astype(np.float32) * 3
    dirs[:50] = to_sun + rng.normal(size=(50, 3)).astype(np.float32) * 0.01  # on and around the disk
    for disk in (True, False):
        got = sky.radiance(dirs, disk=disk)
        want = sky_formula(sky, dirs.astype(np.float64), disk)
        assert got.dtype == np.float32 and got.shape == (4000, 3)
        # on the disk's rim radiance climbs by 40 within 1e-4 of the cosine, so rounding
        # in the last bit of a dot product shows there: a looser bound on those few directions
        d = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        rim = np.abs(d @ to_sun - np.cos(np.radians(1.0) * 1.15)) < 2e-4
        assert np.allclose(got[~rim], want[~rim], rtol=1e-5, atol=1e-6), np.abs(got - want)[~rim].max()
        assert np.allclose(got[rim], want[rim], rtol=1e-2, atol=0.2)
    assert sky.radiance(dirs.reshape(40, 100, 3)).shape == (40, 100, 3)


@pytest.fixture(scope="module")
def moving_world(tmp_path_factory):
    spec = spec_from(MOVING, tmp_path_factory.mktemp("moving"))
    return World(spec)


def test_rays_skip_the_bvhs_they_cannot_reach_with_the_same_answers(moving_world, monkeypatch):
    """Shadow and occlusion rays cast against a BVH only where they can reach one of its object
    boxes (the static objects', the moving parts') give what casting every ray against
    everything gives."""
    import worldgen.passes.raycast as rc
    from worldgen.passes.snapshot import SnapshotMaker

    snap = SnapshotMaker(moving_world)(0.4)
    rng = np.random.default_rng(7)
    pts = np.concatenate(
        [rng.uniform([-4, 0, -3], [4, 2, 3], (3000, 3)), rng.uniform([-1.5, 0, -0.5], [0.5, 1.2, 1.0], (1000, 3))]
    ).astype(np.float32)
    dirs = rng.normal(size=pts.shape).astype(np.float32)
    dirs[:200, 1] = 0  # parallel to the box's slabs
    dirs[200:300, 0] = dirs[200:300, 2] = 0
    reach = dirs * np.float32(1.5)

    def answers():
        be = rc.RaycastBackend(moving_world)
        t = be.first_hit(pts, reach, snap, reach=1.0)
        return (
            np.clip(1 - t, 0, 1),
            be.occluded(pts, dirs, snap),
            be.occluded(pts, reach, snap, tfar=0.999),
        )

    fast = answers()
    rays = np.concatenate([pts, dirs], 1)
    mask = rc._may_reach(rays, rc.RaycastBackend(moving_world)._scenes(snap), np.inf)
    for bit in (1, 2):  # the static BVH, the moving one: some rays cast, some skipped
        assert 0.05 < ((mask & bit) != 0).mean() < 0.95
    monkeypatch.setattr(rc, "_may_reach", lambda rays, scenes, tfar: np.full(len(rays), 255, np.uint8))
    every = answers()
    for a, b in zip(fast, every):
        assert np.array_equal(a, b)
    assert every[1].any() and not every[1].all()


def test_object_groups_are_the_pixels_of_each_object_in_order():
    from worldgen.paint.procedural import object_groups

    geom = np.random.default_rng(0).integers(0, 6, 5000).astype(np.int32)
    geom[geom == 3] = 5  # an object that no pixel shows
    groups = object_groups(geom)
    assert [g for g, _ in groups] == [0, 1, 2, 4, 5]
    for g, idx in groups:
        assert np.array_equal(idx, np.flatnonzero(geom == g))
    assert object_groups(np.zeros(0, np.int32)) == []


def test_combining_pass_equals_the_numpy_sum_bit_for_bit():
    """The painter's one-pass combine (fill, lights, albedo, glow, highlights) gives the bytes
    of the numpy expression it replaced."""
    from worldgen.paint.light import combine_light as _combine
    from worldgen.paint.sky import Sky

    rng = np.random.default_rng(3)
    k, size = 3000, 4000
    sky = Sky([(np.float32([0, 0.6, 0.8]), np.float32([2.0, 1.8, 1.5]), 1.0)], "dusk")
    n = rng.normal(size=(k, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    albedo, spec = rng.random((k, 3), np.float32), rng.random((k, 3), np.float32) * np.float32(0.1)
    occ, emission = rng.random(k, np.float32), (rng.random(k) < 0.1).astype(np.float32)
    ambient = np.float32([0.05, 0.04, 0.06])
    terms = [
        (rng.random(k, np.float32), np.float32([3.0, 2.5, 2.0]), 0.45),
        (rng.random(k, np.float32), np.float32([1, 0.5, 0.2]), 1.0),
    ]
    idx = np.sort(rng.choice(size, k, replace=False))
    light = (sky.fill(n) * 0.55 + ambient) * occ[:, None]
    for w, c, s in terms:
        light = light + w[:, None] * c * s
    want = albedo * light + albedo * emission[:, None] * 2.0 + spec
    out = np.zeros((size, 3), np.float32)
    _combine(
        out,
        idx,
        albedo,
        n,
        occ,
        emission,
        spec,
        sky.zenith * np.float32(0.5),
        sky.bounce * np.float32(0.5),
        ambient,
        np.array([t[0] for t in terms]),
        np.array([t[1] for t in terms]),
        np.float32([t[2] for t in terms]),
    )
    assert np.array_equal(out[idx], want)
    assert not out[np.setdiff1d(np.arange(size), idx)].any()


def test_compiled_block_anchors_equal_the_numpy_rule():
    """Which pixels cast their own occlusion rays: the compiled pass against the rule written
    with numpy (same object, depth within 3%, normals within cos 0.95 of the block's top-left)."""
    from worldgen.paint.light import block_anchors

    rng = np.random.default_rng(5)
    for _ in range(5):
        h, w = rng.integers(3, 40, 2)
        flat = np.flatnonzero(rng.random(h * w) < 0.7)
        geom = rng.integers(0, 3, len(flat)).astype(np.int32)
        depth = (5 + rng.random(len(flat)) * 0.3).astype(np.float32)
        n = rng.normal(size=(len(flat), 3)).astype(np.float32) * np.float32(0.2) + np.float32([0, 1, 0])
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        a_flat = (flat // w & ~1) * w + (flat % w & ~1)
        pos = np.full(h * w, -1)
        pos[flat] = np.arange(len(flat))
        ap = pos[a_flat]
        safe = np.maximum(ap, 0)
        ok = (ap >= 0) & (geom[safe] == geom) & (np.abs(depth[safe] - depth) < 0.03 * depth)
        ok &= np.einsum("ij,ij->i", n[safe], n) > 0.95
        need, anchor = block_anchors(flat, (h, w), geom, depth, n)
        assert np.array_equal(need, (a_flat == flat) | ~ok) and np.array_equal(anchor, ap)
        assert 0 < need.mean() < 1


STILL = """
worldgen: 1
seed: 4
render: {width: 40, height: 24, fps: 12}
style: "painterly"
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "sand"}
    - id: crate
      shape: box
      size: [1, 1, 1]
      appearance: "wooden crate"
      motion:
        - {t: 0, position: [-1, 0.5, 0]}
        - {t: 0.4, position: [1, 0.5, 0]}
shots:
  - {id: still, duration: 1, camera: {move: static, position: [3, 2, 5], look_at: [0, 0.5, 0]}}
  - {id: dusk, start: 1, duration: 0.25, style: "dusk", camera: {move: static, position: [3, 2, 5], look_at: [0, 0.5, 0]}}
  - {id: turn, start: 1, duration: 0.5, camera: {move: orbit, look_at: [0, 0.5, 0], radius: 5, height: 2, degrees: 20}}
"""


def test_a_still_frame_reuses_the_last_light_and_gives_the_same_bytes(tmp_path, monkeypatch):
    """While the camera holds still over a world at rest, the painter lights a frame once and
    reuses it; the frames are byte for byte what lighting every frame gives. While the crate
    moves, or the camera, or after a change of style, every frame is lit anew."""
    from worldgen.paint.procedural import ProceduralPainter
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer

    spec = spec_from(STILL, tmp_path)
    world = World(spec)

    def film(reuse):
        monkeypatch.setattr(ProceduralPainter, "REUSE_STILL_FRAMES", reuse)
        raster = Rasterizer(world)
        painter = make_painter("procedural", world, raster, {})
        frames = []
        for shot in spec.shots:
            painter.set_style(shot.style or spec.style)
            painter.begin_shot(shot, (0.1, 50.0))
            for fr in raster.shot_frames(shot, 40, 24, 12):
                frames.append(painter.paint_frame(fr).tobytes())
        return frames, painter.frames_reused

    reused, n = film(True)
    every, none = film(False)
    assert none == 0 and reused == every
    # the crate moves over frames 0-5 (it stops at 0.4 s, between frames 4 and 5): frames 6-11 of
    # the still shot reuse frame 5's light; the dusk shot (same camera, new style) lights its
    # first frame and reuses it twice; the orbit reuses nothing
    assert n == 6 + 2, n
