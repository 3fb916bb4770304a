"""Bench metrics on constructed cases whose answers are known in closed form (no rendering)."""

import numpy as np
import pytest

from worldgen.bench.metrics import (
    compose_forward_flow,
    drift_all,
    edge_f1,
    geometric_edges,
    identity_drift,
    image_edges,
    still_pixels,
    structure_f1,
    temporal_flickering,
    warp,
    warping_error,
)

H, W = 48, 64


# ---------------------------------------------------------------- constructed sequences


def smooth_texture(x, y):
    """Band-limited RGB pattern (a few low-frequency sinusoids), values within [0.2, 0.8]."""
    r = 0.5 + 0.15 * np.sin(2 * np.pi * x / 23.0) * np.cos(2 * np.pi * y / 31.0)
    g = 0.5 + 0.15 * np.cos(2 * np.pi * (x + y) / 37.0)
    b = 0.5 + 0.15 * np.sin(2 * np.pi * (x - 2 * y) / 41.0)
    return np.stack([r, g, b], axis=-1)


def rough_texture(x, y):
    """A deterministic high-frequency pattern (hash of the integer coordinates), within [0.2, 0.8]."""
    xi, yi = np.asarray(x, np.int64), np.asarray(y, np.int64)
    h = (xi * 73856093) ^ (yi * 19349663)
    return 0.2 + 0.6 * np.stack([(h >> s) % 251 / 250.0 for s in (0, 8, 16)], axis=-1)


def translating_sequence(n_frames, velocity, texture=smooth_texture, height=H, width=W):
    """Frames of a texture moving at a constant velocity (dx, dy) px/frame, with the exact flow and
    occlusion (a point is occluded in the next frame when it leaves the image)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    vx, vy = velocity
    frames = [texture(xs - vx * t, ys - vy * t) for t in range(n_frames)]
    flow = np.empty((height, width, 2), np.float32)
    flow[..., 0], flow[..., 1] = vx, vy
    nx, ny = xs + vx, ys + vy
    occlusion = (~((nx >= 0) & (nx <= width - 1) & (ny >= 0) & (ny <= height - 1))).astype(np.uint8)
    return frames, [flow] * n_frames, [occlusion] * n_frames


# ---------------------------------------------------------------- warp and E_warp


def test_warp_samples_next_frame_at_displaced_point_and_flags_outside():
    image = np.arange(H * W, dtype=np.float64).reshape(H, W)
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.5, -1.0
    warped, valid = warp(image, flow)
    ys, xs = np.mgrid[0:H, 0:W]
    expected = (ys - 1) * W + xs + 2.5  # the image is linear in x and y, so bilinear is exact
    assert np.allclose(warped[valid], expected[valid])
    assert not valid[0].any() and not valid[:, -3:].any()
    assert valid[1:, : W - 3].all()


def test_integer_translation_with_exact_flow_has_zero_error():
    frames, flows, occ = translating_sequence(6, (3, -2), texture=rough_texture)
    result = warping_error(frames, flows, occ)
    assert len(result.per_pair) == 5 and result.skipped == ()
    assert result.mean < 1e-10
    assert np.all(result.pixels == (W - 3) * (H - 2))
    # the same sequence with the flow off by one pixel is clearly not consistent
    wrong = [f + np.float32([1, 0]) for f in flows]
    assert warping_error(frames, wrong, occ).mean > 1e-2


def test_subpixel_translation_of_smooth_texture_has_tiny_error():
    frames, flows, occ = translating_sequence(5, (0.37, 0.81))
    result = warping_error(frames, flows, occ)
    assert 0 < result.mean < 1e-4


def test_iid_noise_gives_twice_three_sigma_squared():
    rng = np.random.default_rng(7)
    sigma = 0.02
    frames, flows, occ = translating_sequence(8, (1, 1), texture=rough_texture, height=96, width=96)
    noisy = [f + rng.normal(0, sigma, f.shape) for f in frames]
    assert min(n.min() for n in noisy) > 0 and max(n.max() for n in noisy) < 1  # no clipping
    result = warping_error(noisy, flows, occ)
    expected = 2 * 3 * sigma**2  # squared L2 over RGB, summed over the 3 channels
    assert result.mean == pytest.approx(expected, rel=0.03)


def test_uint8_frames_are_scaled_to_unit_range():
    frames = [np.full((H, W, 3), 100, np.uint8), np.full((H, W, 3), 110, np.uint8)]
    flow, occ = np.zeros((H, W, 2), np.float32), np.zeros((H, W), np.uint8)
    result = warping_error(frames, [flow], [occ])
    assert result.mean == pytest.approx(3 * (10 / 255) ** 2)


def occluder_case():
    """Frame 1 is frame 0 shifted by (2, 0), with a square occluder of garbage colour; frame 0's
    points that land on the occluder are marked occluded."""
    frames, flows, occ = translating_sequence(2, (2, 0), texture=rough_texture)
    occ = [o.copy() for o in occ]
    garbage_region = np.zeros((H, W), bool)
    garbage_region[10:30, 20:40] = True
    ys, xs = np.nonzero(garbage_region)
    occ[0][ys, xs - 2] = 1  # points of frame 0 that move onto the occluder in frame 1
    return frames, flows, occ, garbage_region


def test_occluded_pixels_never_count():
    frames, flows, occ, garbage_region = occluder_case()
    clean = warping_error(frames, flows, occ)
    garbage = [frames[0], frames[1].copy()]
    garbage[1][garbage_region] = np.array([1.0, 0.0, 1.0])
    dirty = warping_error(garbage, flows, occ)
    assert dirty.mean == clean.mean < 1e-10
    assert dirty.pixels[0] == (W - 2) * H - garbage_region.sum()
    # and without the occlusion mask the garbage is seen
    assert warping_error(garbage, flows, [np.zeros_like(o) for o in occ]).mean > 0.05


def test_fully_occluded_pair_is_skipped_not_nan():
    frames, flows, occ = translating_sequence(4, (1, 0), texture=rough_texture)
    occ = [o.copy() for o in occ]
    occ[1][:] = 1
    frames[2] = np.zeros_like(frames[2])  # would be a huge error if pair (1, 2) counted
    result = warping_error(frames, flows, occ)
    assert result.skipped == (1,)
    assert list(result.starts) == [0, 2]
    assert np.isfinite(result.mean)
    assert np.all(np.isfinite(result.per_pair))
    everything_occluded = warping_error(frames[:2], flows[:1], [np.ones((H, W), np.uint8)])
    assert everything_occluded.skipped == (0,) and len(everything_occluded.per_pair) == 0


def test_composed_flow_of_constant_velocity_is_k_times_velocity():
    _, flows, occ = translating_sequence(5, (0.6, -0.4))
    flow, visible = compose_forward_flow(flows, occ)
    assert np.allclose(flow[visible], [3.0, -2.0], atol=1e-5)
    # visible exactly where no step starts from an occluded point: at the start pixel itself, then
    # at the two-by-two bilinear neighbours of x + j v for j = 1..4; and the end lies inside
    ys, xs = np.mgrid[0:H, 0:W]
    expected = (occ[0] == 0) & (xs + 3.0 <= W - 1) & (ys - 2.0 >= 0)
    for j in range(1, 5):
        px, py = xs + 0.6 * j, ys - 0.4 * j
        for nx in (np.floor(px), np.ceil(px)):
            for ny in (np.floor(py), np.ceil(py)):
                nx_in, ny_in = np.clip(nx, 0, W - 1).astype(int), np.clip(ny, 0, H - 1).astype(int)
                expected &= (nx >= 0) & (nx <= W - 1) & (ny >= 0) & (ny <= H - 1) & (occ[j][ny_in, nx_in] == 0)
    assert np.array_equal(visible, expected)
    assert visible.sum() > 0.8 * (W - 5) * (H - 3)


def test_occlusion_in_the_middle_of_the_chain_cuts_it():
    _, flows, occ = translating_sequence(3, (2, 0))
    occ = [o.copy() for o in occ]
    occ[1][20, 30] = 1  # frame 1's point at (30, 20) is hidden in frame 2
    _, visible = compose_forward_flow(flows[:2], occ[:2])
    assert not visible[20, 28]  # frame 0's pixel that passes through it
    assert visible[20, 27] and visible[20, 29] and visible[21, 28]


def test_long_range_zero_on_consistent_sequence_and_catches_slow_drift():
    frames, flows, occ = translating_sequence(12, (1, 0), texture=rough_texture)
    assert warping_error(frames, flows, occ, k=5).mean < 1e-10
    assert warping_error(frames, flows, occ, k=10).mean < 1e-10
    drift = 0.004  # brightness added per frame
    drifting = [f + drift * t for t, f in enumerate(frames)]
    k1 = warping_error(drifting, flows, occ, k=1).mean
    k5 = warping_error(drifting, flows, occ, k=5).mean
    assert k1 == pytest.approx(3 * drift**2, rel=1e-6)
    assert k5 == pytest.approx(3 * (5 * drift) ** 2, rel=1e-6)
    assert k5 == pytest.approx(25 * k1, rel=1e-6)


def test_long_range_skips_pairs_that_leave_the_image():
    frames, flows, occ = translating_sequence(8, (10, 0), texture=rough_texture)
    result = warping_error(frames, flows, occ, k=7)  # 70 px > width: nothing survives
    assert result.skipped == (0,) and np.isnan(result.mean)


# ---------------------------------------------------------------- temporal flickering


def test_static_sequence_scores_one():
    frame = (rough_texture(*np.mgrid[0:H, 0:W][::-1]) * 255).astype(np.uint8)
    assert temporal_flickering([frame] * 5) == 1.0


def test_alternating_brightness_flicker_gives_vbench_score():
    delta_levels = 10
    base = (rough_texture(*np.mgrid[0:H, 0:W][::-1]) * 255).astype(np.int64)
    frames = [(base + (delta_levels if t % 2 == 0 else -delta_levels)).astype(np.uint8) for t in range(7)]
    delta = delta_levels / 255
    assert temporal_flickering(frames) == pytest.approx((255 - 2 * delta * 255) / 255, abs=1e-12)
    # float frames in [0, 1] give the same score
    assert temporal_flickering([f / 255.0 for f in frames]) == pytest.approx(1 - 2 * delta, abs=1e-12)


def test_flickering_averages_unequal_pair_differences():
    levels = [100, 100, 120, 110]  # pair differences 0, 20, 10 levels: mean 10
    frames = [np.full((8, 8, 3), level, np.uint8) for level in levels]
    assert temporal_flickering(frames) == pytest.approx((255 - 10) / 255, abs=1e-12)


def moving_square_sequence(n=5, step=2, size=10):
    """A still textured backdrop under a static camera and a white square sliding `step` px right
    per frame, with its exact passes: flow on the square, occlusion where it covers the backdrop."""
    ys, xs = np.mgrid[0:H, 0:W]
    backdrop = (rough_texture(xs, ys) * 255).astype(np.uint8)
    frames, flows, occs, depths = [], [], [], []
    for t in range(n):
        x0 = 5 + step * t
        square = (xs >= x0) & (xs < x0 + size) & (ys >= 20) & (ys < 20 + size)
        frame = backdrop.copy()
        frame[square] = 255
        depth = np.where(square, 2.0, 5.0).astype(np.float32)
        depth[:3] = np.inf  # a strip of sky: background in every frame
        flow = np.zeros((H, W, 2), np.float32)
        flow[square, 0] = step
        covered_next = (xs >= x0 + step) & (xs < x0 + step + size) & (ys >= 20) & (ys < 20 + size) & ~square
        occ = (covered_next | ~np.isfinite(depth)).astype(np.uint8)
        frames.append(frame), flows.append(flow), occs.append(occ), depths.append(depth)
    return frames, flows, occs, depths


def test_still_pixels_are_those_where_nothing_moved():
    frames, flows, occs, depths = moving_square_sequence()
    still = still_pixels(flows[0], occs[0], depths[0], depths[1])
    assert not still[20:30, 5:15].any()  # the square moves
    assert not still[20:30, 15:17].any()  # the backdrop it covers in the next frame
    assert still[20:30, 17:].all() and still[40:].all()  # the rest of the backdrop
    assert still[:3].all()  # background in both frames
    flows[0][0, 0] = (2e-4, 0)  # float32 round-off of an exact flow still counts as still
    assert still_pixels(flows[0], occs[0], depths[0], depths[1])[0, 0]
    hit_then_miss = depths[1].copy()
    hit_then_miss[40, 40] = np.inf
    occs[0][40, 40] = 1
    assert not still_pixels(flows[0], occs[0], depths[0], hit_then_miss)[40, 40]


def test_flicker_on_still_pixels_ignores_moving_objects():
    """VBench's flicker is defined on static content: a square moving over a still backdrop is
    motion, not flicker. Over all pixels it lowers the score; over the still pixels it does not."""
    frames, flows, occs, depths = moving_square_sequence()
    still = [still_pixels(flows[t], occs[t], depths[t], depths[t + 1]) for t in range(len(frames) - 1)]
    assert temporal_flickering(frames) < 0.995  # the unmasked score reads the motion as flicker
    assert temporal_flickering(frames, still) == 1.0
    # real flicker on the still pixels is still caught, with the unmasked score's value where all is still
    flickering = [
        np.clip(f.astype(np.int64) + (10 if t % 2 else -10), 0, 255).astype(np.uint8) for t, f in enumerate(frames)
    ]
    assert temporal_flickering(flickering, still) == pytest.approx((255 - 20) / 255, abs=1e-3)
    everything = [np.ones((H, W), bool)] * (len(frames) - 1)
    assert temporal_flickering(flickering, everything) == temporal_flickering(flickering)
    assert np.isnan(temporal_flickering(frames, [np.zeros((H, W), bool)] * (len(frames) - 1)))


# ---------------------------------------------------------------- identity drift

BLOCK_COLOURS = np.random.default_rng(3).uniform(0.1, 0.9, (8, 8, 3))


def block_texture(u, v):
    """An 8 x 8 texture image of random colours, sampled nearest: constant within every texel of a
    16 x 16 (or finer, multiple-of-8) grid, so binning it in texture space is exact."""
    col = np.clip(np.floor(u * 8).astype(int), 0, 7)
    row = np.clip(np.floor(v * 8).astype(int), 0, 7)
    return BLOCK_COLOURS[row, col]


def gentle_texture(u, v):
    """A smooth texture, about one period across the uv square."""
    return smooth_texture(u * 25.0, v * 25.0)


def textured_quad_shot(
    n_frames, origin, scale, u_range, colour_fn=block_texture, instance_id=3, height=H, width=W, step=(1, 0)
):
    """A flat quad whose uv spans `u_range` in u and [0, 1] in v, drawn at `origin` with `scale`
    px per uv unit, moving by `step` px per frame; frames are coloured from uv by `colour_fn`
    (evaluated at the float32 uv the pass stores)."""
    frames, layers = [], []
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    for t in range(n_frames):
        u = ((xs - origin[0] - step[0] * t) / scale + u_range[0]).astype(np.float32).astype(np.float64)
        v = ((ys - origin[1] - step[1] * t) / scale).astype(np.float32).astype(np.float64)
        inside = (u >= u_range[0]) & (u <= u_range[1]) & (v >= 0) & (v <= 1)
        instance = np.where(inside, instance_id, 0).astype(np.uint16)
        uv = np.where(inside[..., None], np.stack([u, v], -1), 0).astype(np.float32)
        frame = np.where(inside[..., None], colour_fn(u, v), 0.05)
        frames.append(frame)
        layers.append((instance, uv))
    return frames, layers


def test_same_texture_through_different_layouts_has_no_drift():
    layouts = [
        dict(n_frames=4, origin=(2, 3), scale=40.0, u_range=(0, 1), height=50, width=50),
        dict(n_frames=3, origin=(10, 1), scale=70.0, u_range=(0, 1), height=80, width=90, step=(0, 1)),
    ]
    exact = identity_drift(textured_quad_shot(**layouts[0]), textured_quad_shot(**layouts[1]), 3, tex_res=16)
    assert exact.texels == 16 * 16 and exact.drift < 1e-12
    smooth = identity_drift(
        textured_quad_shot(**layouts[0], colour_fn=gentle_texture),
        textured_quad_shot(**layouts[1], colour_fn=gentle_texture),
        3,
        tex_res=16,
    )
    assert smooth.texels == 16 * 16 and smooth.drift < 0.01


def test_swapped_colour_gives_expected_difference():
    red = lambda u, v: np.broadcast_to([0.7, 0.3, 0.2], u.shape + (3,))
    blue = lambda u, v: np.broadcast_to([0.2, 0.3, 0.8], u.shape + (3,))
    a = textured_quad_shot(2, (2, 2), 40.0, (0, 1), colour_fn=red)
    b = textured_quad_shot(2, (5, 4), 41.0, (0, 1), colour_fn=blue)
    result = identity_drift(a, b, 3, tex_res=16)
    assert result.drift == pytest.approx((0.5 + 0.0 + 0.6) / 3, abs=1e-12)
    # swapping the texture of half the object moves the drift in proportion
    half_swapped = lambda u, v: np.where((u >= 0.5)[..., None], blue(u, v), red(u, v))
    c = textured_quad_shot(2, (5, 4), 41.0, (0, 1), colour_fn=half_swapped)
    assert identity_drift(a, c, 3, tex_res=16).drift == pytest.approx((0.5 + 0.0 + 0.6) / 6, abs=1e-12)


def test_texels_seen_in_one_shot_only_are_excluded():
    tex_res = 16
    garbage = lambda u, v: np.where((u >= 0.5)[..., None], [1.0, 0.0, 1.0], block_texture(u, v))
    # shot a sees u in [0, 7/16] (texel columns 0..7); shot b sees all of it, garbage in columns 8..15
    a = textured_quad_shot(2, (2, 2), 80.0, (0.0, 7 / 16), height=90, width=50)
    b = textured_quad_shot(2, (3, 1), 60.0, (0.0, 1.0), colour_fn=garbage, height=70, width=70)
    result = identity_drift(a, b, 3, tex_res=tex_res)
    assert result.texels_a == tex_res * tex_res // 2
    assert result.texels_b == tex_res * tex_res
    assert result.texels == result.texels_a
    assert result.drift < 1e-12


def test_instance_absent_from_a_shot_compares_nothing():
    a = textured_quad_shot(2, (2, 2), 30.0, (0, 1), instance_id=3)
    b = textured_quad_shot(2, (4, 4), 35.0, (0, 1), instance_id=4)
    result = identity_drift(a, b, 3, tex_res=16)
    assert result.texels == 0 and result.texels_b == 0 and np.isnan(result.drift)
    assert drift_all(a, b, tex_res=16) == {}


def test_drift_all_covers_instances_in_both_shots():
    size = 24

    def two_objects(origin, colour_of_5):
        """Instance 3 (block texture) in the left half, instance 5 in the right half of the frame."""
        left = textured_quad_shot(2, origin, 20.0, (0, 1), instance_id=3, height=size, width=size)
        right = textured_quad_shot(
            2, origin, 20.0, (0, 1), colour_fn=colour_of_5, instance_id=5, height=size, width=size
        )
        frames = [np.concatenate([l, r], axis=1) for l, r in zip(left[0], right[0])]
        layers = [
            (np.concatenate([il, ir], axis=1), np.concatenate([ul, ur], axis=1))
            for (il, ul), (ir, ur) in zip(left[1], right[1])
        ]
        return frames, layers

    grey = lambda u, v: np.broadcast_to([0.5, 0.5, 0.5], u.shape + (3,))
    lighter = lambda u, v: np.broadcast_to([0.6, 0.6, 0.6], u.shape + (3,))
    a, b = two_objects((1, 1), grey), two_objects((3, 2), lighter)
    result = drift_all(a, b, tex_res=16)
    assert set(result) == {3, 5}
    assert result[3].drift < 1e-12
    assert result[5].drift == pytest.approx(0.1, abs=1e-12)
    assert result[3].texels == result[5].texels == 16 * 16


# ---------------------------------------------------------------- structure F1


def blocky_scene(height=64, width=80):
    """An instance image (two boxes and a disc over background) with depth and normals."""
    ys, xs = np.mgrid[0:height, 0:width]
    instance = np.zeros((height, width), np.uint16)
    instance[8:30, 10:35] = 1
    instance[35:58, 45:72] = 2
    instance[(xs - 25) ** 2 + (ys - 46) ** 2 <= 10**2] = 3
    depth = np.where(instance > 0, 2.0 + instance.astype(np.float64), np.inf).astype(np.float32)
    normal = np.zeros((height, width, 3), np.float32)
    normal[instance > 0] = [0, 0, -1]
    return depth, normal, instance


def paint_from_instance(instance):
    palette = np.array([[0.1, 0.1, 0.1], [0.9, 0.8, 0.7], [0.5, 0.6, 0.9], [0.7, 0.3, 0.2]])
    return palette[instance]


def test_frame_painted_from_geometry_has_f1_near_one():
    depth, normal, instance = blocky_scene()
    result = structure_f1(paint_from_instance(instance), depth, normal, instance)
    assert result.precision > 0.97 and result.recall > 0.97 and result.f1 > 0.97


def test_shifted_frame_has_much_lower_f1():
    depth, normal, instance = blocky_scene()
    shifted = np.roll(paint_from_instance(instance), (5, 5), axis=(0, 1))
    result = structure_f1(shifted, depth, normal, instance)
    assert result.f1 < 0.5


def test_blank_frame_has_zero_recall():
    depth, normal, instance = blocky_scene()
    result = structure_f1(np.full(instance.shape + (3,), 0.4), depth, normal, instance)
    assert result.image_edges == 0 and result.recall == 0.0 and result.f1 == 0.0
    assert result.geometric_edges > 0


def test_geometric_edges_from_depth_step_and_normal_crease_but_not_smooth_slope():
    height, width = 20, 30
    instance = np.ones((height, width), np.uint16)
    xs = np.arange(width, dtype=np.float64)
    depth = np.tile(5.0 + 0.01 * xs, (height, 1))  # smooth slope: 0.2% per pixel
    depth[:, 20:] += 2.0  # a depth step within one object
    normal = np.zeros((height, width, 3))
    normal[:, :10] = [0, 0, -1]
    normal[:, 10:] = [1, 0, 0]  # a 90 degree crease between columns 9 and 10
    edges = geometric_edges(depth, normal, instance)
    assert np.array_equal(np.flatnonzero(edges.any(axis=0)), [9, 10, 19, 20])
    assert edges[:, [9, 10, 19, 20]].all()
    # a 20 degree bend stays under the default 30 degree crease threshold
    normal[:, 10:] = [np.sin(np.radians(20)), 0, -np.cos(np.radians(20))]
    assert np.array_equal(np.flatnonzero(geometric_edges(depth, normal, instance).any(axis=0)), [19, 20])


def test_image_edges_are_thin_and_respect_threshold():
    frame = np.full((30, 40, 3), 0.3)
    frame[:, 20:] = 0.7
    edges = image_edges(frame)
    columns = np.flatnonzero(edges.any(axis=0))
    assert set(columns) <= {19, 20} and edges[5:25, columns[0]].all()
    faint = np.full((30, 40, 3), 0.3)
    faint[:, 20:] = 0.33  # contrast 0.03: under the hysteresis thresholds
    assert not image_edges(faint).any()


def test_edge_f1_tolerance():
    reference = np.zeros((20, 20), bool)
    reference[:, 10] = True
    assert edge_f1(np.roll(reference, 2, axis=1), reference, tol_px=2).f1 == 1.0
    assert edge_f1(np.roll(reference, 3, axis=1), reference, tol_px=2).f1 == 0.0
    empty = np.zeros_like(reference)
    assert edge_f1(empty, empty).f1 == 1.0
