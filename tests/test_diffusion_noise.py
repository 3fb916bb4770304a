"""Surface-anchored latent noise: unit white Gaussian per latent pixel, and stuck to the world."""

import textwrap

import numpy as np
import pytest
from scipy import stats

from worldgen.diffusion.noise import SurfaceNoise, block_values, cube_map
from worldgen.passes.sequence import Rasterizer
from worldgen.spec import load_spec_text
from worldgen.world import World

SIGMAS = 5  # statistical checks allow this many standard errors


def affine_uv(h, w, scale, angle=0.4, stretch=1.0, offset=(0.3, 0.3), dx=0.0, dy=0.0):
    """uv of a plane seen head-on: `scale` uv per pixel, rotated, stretched along y."""
    y, x = np.indices((h, w), dtype=np.float64)
    x, y = x + dx, (y + dy) * stretch
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([(c * x - s * y) * scale + offset[0], (s * x + c * y) * scale + offset[1]], -1).astype(np.float32)


def mixed_passes(h=64, w=64):
    """Sky on top, a ground (object 0) below, a disc (object 1) over both: latent pixels that
    mix surfaces, and surfaces at different texel scales."""
    y, x = np.indices((h, w))
    geom = np.where(y < h // 4, -1, 0).astype(np.int32)
    geom[(x - w / 2) ** 2 + (y - h / 3) ** 2 < (h / 4) ** 2] = 1
    uv = np.where((geom == 1)[..., None], affine_uv(h, w, 3e-4, angle=1.0), affine_uv(h, w, 1e-4, stretch=3))
    yaw, pitch = (x - w / 2) / w, (h / 2 - y) / h
    dirs = np.stack([np.sin(yaw), pitch, -np.cos(yaw)], -1)
    return geom, uv, dirs


def neighbour_products(n):
    """Products of horizontally, vertically and diagonally adjacent latent values."""
    return (n[..., 1:] * n[..., :-1]).ravel(), (n[:, 1:] * n[:, :-1]).ravel(), (n[:, 1:, 1:] * n[:, :-1, :-1]).ravel()


def test_unit_gaussian_per_latent_pixel():
    geom, uv, dirs = mixed_passes()
    seeds, channels = 40, 4
    noise = np.stack([SurfaceNoise(s).latent_noise(geom, uv, dirs) for s in range(seeds)])  # (S, C, 8, 8)
    assert noise.shape == (seeds, channels, 8, 8) and noise.dtype == np.float32
    samples = noise.ravel()
    n = samples.size
    assert abs(samples.mean()) < SIGMAS / np.sqrt(n)
    assert abs(samples.var() - 1) < SIGMAS * np.sqrt(2 / n)
    assert stats.kstest(samples, "norm").pvalue > 1e-4
    per_pixel = noise.transpose(2, 3, 0, 1).reshape(64, seeds * channels)  # every latent pixel on its own
    m = per_pixel.shape[1]
    assert np.abs(per_pixel.mean(1)).max() < SIGMAS / np.sqrt(m)
    assert np.abs(per_pixel.var(1) - 1).max() < SIGMAS * np.sqrt(2 / m)


@pytest.mark.parametrize("scale, stretch", [(1 / 16384, 1.0), (2.9 / 16384, 1.0), (0.4 / 16384, 6.0)])
def test_spatially_white(scale, stretch):
    """Neighbouring latent pixels are uncorrelated, whether texels are finer or coarser than
    pixels and for stretched footprints (a ground plane at a grazing angle)."""
    uv = affine_uv(96, 96, scale, stretch=stretch)
    geom = np.zeros((96, 96), np.int32)
    noise = [SurfaceNoise(s).latent_noise(geom, uv) for s in range(12)]
    for products in zip(*[neighbour_products(n) for n in noise]):
        products = np.concatenate(products)
        assert abs(products.mean()) < SIGMAS / np.sqrt(products.size)


def test_deterministic_and_independent_across_seeds_and_objects():
    geom, uv, dirs = mixed_passes()
    a = SurfaceNoise(7).latent_noise(geom, uv, dirs)
    assert np.array_equal(a, SurfaceNoise(7).latent_noise(geom.copy(), uv.copy(), dirs.copy()))
    uv = affine_uv(128, 128, 1 / 16384)
    flat = np.zeros((128, 128), np.int32)
    base = SurfaceNoise(7).latent_noise(flat, uv)
    variants = {
        "another seed": SurfaceNoise(8).latent_noise(flat, uv),
        "another object": SurfaceNoise(7).latent_noise(flat + 1, uv),
        "uv one unit over": SurfaceNoise(7).latent_noise(flat, uv + 1),
    }
    for name, other in variants.items():
        products = (base * other).ravel()
        assert abs(products.mean()) < SIGMAS / np.sqrt(products.size), name


def test_objects_are_named_by_key_not_index():
    """An object keeps its noise when the scene gains objects before it."""
    geom, uv, dirs = mixed_passes()
    a = SurfaceNoise(1, keys=["ground", "ball"]).latent_noise(geom, uv, dirs)
    shifted = np.where(geom >= 0, geom + 2, -1).astype(np.int32)
    b = SurfaceNoise(1, keys=["tree", "rock", "ground", "ball"]).latent_noise(shifted, uv, dirs)
    assert np.array_equal(a, b)


def test_blocks_are_normalised_sums_of_their_halves():
    rng = np.random.default_rng(0)
    top, n = 6, 200
    keys = np.full(n, 12345, np.uint64)
    lu, lv = rng.integers(1, top + 1, n), rng.integers(1, top + 1, n)
    i, j = rng.integers(-50, 50, n), rng.integers(-50, 50, n)
    block = block_values(keys, lu, lv, i, j, top, 3)
    u_halves = [block_values(keys, lu - 1, lv, 2 * i + k, j, top, 3) for k in (0, 1)]
    v_halves = [block_values(keys, lu, lv - 1, i, 2 * j + k, top, 3) for k in (0, 1)]
    assert np.allclose(block, sum(u_halves) / np.sqrt(2), atol=1e-12)
    assert np.allclose(block, sum(v_halves) / np.sqrt(2), atol=1e-12)
    level = block_values(
        np.full(4000, 99, np.uint64),
        np.full(4000, 2),
        np.full(4000, 3),
        np.repeat(np.arange(40), 100),
        np.tile(np.arange(100), 40),
        top,
        1,
    ).ravel()
    assert abs(level.var() - 1) < SIGMAS * np.sqrt(2 / level.size)
    assert abs(np.mean(level[1:] * level[:-1])) < SIGMAS / np.sqrt(level.size)


def test_changing_the_block_size_keeps_the_noise():
    """A latent pixel that covers whole blocks has the same noise at any level: the pyramid is
    what keeps a dolly or zoom from re-rolling the noise when the level changes."""
    y, x = np.indices((64, 64))
    uv = np.stack([(x + 0.5) * 4 / 16384, (y + 0.5) * 4 / 16384], -1).astype(np.float32)  # 4 texels a pixel
    geom = np.zeros((64, 64), np.int32)
    one_pixel = SurfaceNoise(3, texel_pixels=1).latent_noise(geom, uv)
    two_pixels = SurfaceNoise(3, texel_pixels=2).latent_noise(geom, uv)
    assert np.allclose(one_pixel, two_pixels, atol=1e-5)


def test_sky_follows_direction_only():
    dirs = np.random.default_rng(1).normal(size=(32, 32, 3))
    geom = np.full((32, 32), -1, np.int32)
    uv = np.zeros((32, 32, 2), np.float32)
    a = SurfaceNoise(0).latent_noise(geom, uv, dirs)
    assert np.array_equal(a, SurfaceNoise(0).latent_noise(geom, uv, dirs * 3.0))  # length does not matter
    face, st = cube_map(np.eye(3))
    assert list(face) == [0, 2, 4] and np.allclose(st, 0.5)
    with pytest.raises(ValueError, match="dirs"):
        SurfaceNoise(0).latent_noise(geom, uv)


# --- on rendered shots ------------------------------------------------------------------------------


def render(camera: str, objects: str, w=128, h=96, fps=12):
    spec = load_spec_text(
        textwrap.dedent(f"""
    worldgen: 1
    world:
      objects: {objects}
    shots:
      - id: s
        duration: 1
        camera: {camera}
    """),
        check=False,
    )
    world = World(spec)
    return world, list(Rasterizer(world, with_local=False).shot_frames(spec.shots[0], w, h, fps))


GROUND_AND_BALL = (
    "[{id: ground, shape: plane, size: [40, 40]}, {id: ball, shape: sphere, radius: 1, position: [0, 1, 0]}]"
)
WALL = "[{id: wall, shape: box, size: [40, 20, 1], position: [0, 0, -1]}]"


def test_static_camera_gives_the_same_noise_every_frame():
    world, frames = render("{move: static, position: [0, 2, 6], look_at: [0, 1, 0], fov: 50}", GROUND_AND_BALL, fps=4)
    noise = SurfaceNoise.for_world(0, world)
    first = noise.for_view(frames[0].view)
    assert all(np.array_equal(first, noise.for_view(f.view)) for f in frames[1:])


def test_truck_by_one_latent_pixel_shifts_the_noise_exactly():
    """A fronto-parallel wall 10.5 m away, the camera trucking so that it flows exactly 8 px a
    frame to the left: latent pixel (i, j) of frame t+1 is latent pixel (i, j+1) of frame t."""
    _, probe = render("{move: static, position: [0, 0, 10], look_at: [0, 0, 0], fov: 50}", WALL, fps=1)
    fx = probe[0].view.cam.K[0, 0]
    distance = float(8 * 10.5 * 10 / fx)  # 8 px a frame at 10 fps over 1 s
    world, frames = render(
        f"{{move: truck, position: [0, 0, 10], look_at: [0, 0, 0], distance: {distance!r}, ease: linear, fov: 50}}",
        WALL,
        fps=10,
    )
    assert np.allclose(frames[3].passes.flow_fwd[..., 0], -8, atol=1e-3)
    noise = SurfaceNoise.for_world(5, world)
    latents = [noise.for_view(f.view) for f in frames]
    for before, after in zip(latents, latents[1:]):
        # columns next to content that enters or leaves the frame may own border blocks differently
        assert np.array_equal(after[:, :, 1:-2], before[:, :, 2:-1])
        assert np.corrcoef(after[:, :, :-1].ravel(), before[:, :, 1:].ravel())[0, 1] > 0.97


def test_sky_is_at_infinity_for_a_translating_camera():
    world, frames = render(
        "{move: truck, position: [0, 1, 6], look_at: [0, 1, 0], distance: 1, fov: 50}",
        "[{id: ball, shape: sphere, radius: 0.5, position: [0, 1, 0]}]",
        fps=4,
    )
    noise = SurfaceNoise.for_world(2, world)
    a, b = (noise.for_view(f.view) for f in (frames[0], frames[-1]))
    sky_only = lambda f: (f.view.hits.geom < 0).reshape(12, 8, 16, 8).all(axis=(1, 3))  # noqa: E731
    both = sky_only(frames[0]) & sky_only(frames[-1])
    assert both.sum() > 100
    assert np.array_equal(a[:, both], b[:, both])


def test_noise_follows_the_exact_flow_of_an_orbit():
    """Latent pixels whose backward flow is (nearly) a whole number of latent pixels find their
    noise in the previous frame there; fresh noise would be uncorrelated. (Pearson correlation:
    a slow orbit sees the same latent pixels in every frame, so raw products would mostly measure
    one realisation.)"""
    world, frames = render(
        "{move: orbit, look_at: [0, 1, 0], radius: 6, height: 2.5, degrees: 6, ease: linear, fov: 50}", GROUND_AND_BALL
    )
    noise, fresh = SurfaceNoise.for_world(0, world), SurfaceNoise.for_world(1, world)
    latents = [noise.for_view(f.view) for f in frames]
    now, before, other = [], [], []
    for k in range(1, len(frames)):
        passes = frames[k].passes
        visible = (passes.occlusion_bwd == 0).reshape(12, 8, 16, 8).all(axis=(1, 3))
        flow = passes.flow_bwd.reshape(12, 8, 16, 8, 2).mean(axis=(1, 3)) / 8  # in latent pixels
        rows, cols = np.indices((12, 16))
        y, x = rows + flow[..., 1], cols + flow[..., 0]
        yi, xi = np.rint(y).astype(int), np.rint(x).astype(int)
        near_whole = visible & (np.maximum(abs(y - yi), abs(x - xi)) < 1 / 16)
        near_whole &= (yi >= 0) & (yi < 12) & (xi >= 0) & (xi < 16)
        now.append(latents[k][:, near_whole].ravel())
        before.append(latents[k - 1][:, yi[near_whole], xi[near_whole]].ravel())
        other.append(fresh.for_view(frames[k].view)[:, near_whole].ravel())
    now, before, other = (np.concatenate(a) for a in (now, before, other))
    assert now.size > 2000
    assert np.corrcoef(now, before)[0, 1] > 0.9  # measured 0.94 (0.936 to 0.946 over seeds 0-9)
    distinct = now.size / (len(frames) - 1)  # the same latent pixels recur in every frame
    assert abs(np.corrcoef(other, before)[0, 1]) < SIGMAS / np.sqrt(distinct)
