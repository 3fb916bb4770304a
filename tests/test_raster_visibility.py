"""The scan-converted primary visibility of static geometry (passes/rasterize.py) against the
Open3D cast, against the per-pixel reference kernel `raster_moving`, and against analytic
answers; and the cost model that chooses between the two paths."""

import numba
import numpy as np
import pytest

from worldgen.camera import ShotCamera
from worldgen.passes.kernels import raster_moving
from worldgen.passes.raycast import RASTER_MIN_PIXELS, RASTER_TRIANGLES_PER_PIXEL, RaycastBackend
from worldgen.passes.rasterize import rasterize
from worldgen.passes.snapshot import SnapshotMaker, empty_hits, pixel_ray_array, ray_basis
from worldgen.world import World
from conftest import spec_from

W, H = 96, 72

SPHERES = """
worldgen: 1
render: {width: 96, height: 72, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40]}
    - {id: a, shape: sphere, radius: 1, position: [0, 1, 0]}
    - {id: b, shape: sphere, radius: 0.7, position: [1.6, 0.7, -1.2]}
    - {id: c, shape: box, size: [1, 1.5, 1], position: [-1.8, 0.75, 0.5]}
    - {id: d, shape: cylinder, radius: 0.3, height: 2, position: [0.8, 1, 1.5]}
    - id: m
      shape: box
      size: [0.6, 0.6, 0.6]
      motion: [{t: 0, position: [-1, 0.3, 1.5]}, {t: 1, position: [1, 0.3, 1.5]}]
shots:
  - id: s
    duration: 1
    camera: {move: orbit, look_at: [0, 1, 0], radius: 7, height: 3, degrees: 90}
"""

# the camera stands on a plane that reaches behind it: the ground's triangles cross the camera
# plane, the path where the projected triangle is unbounded and the view cone bounds it
LOW = """
worldgen: 1
render: {width: 96, height: 72, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40]}
    - {id: a, shape: sphere, radius: 1, position: [0, 1, -3]}
shots:
  - id: s
    duration: 1
    camera: {move: static, position: [0.3, 0.4, 4], look_at: [0, 0.5, -3], fov: 70}
"""

# straight down at the ground from height 5: every pixel's z-depth is 5
DOWN = """
worldgen: 1
render: {width: 96, height: 72, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40]}
shots:
  - id: s
    duration: 1
    camera: {move: static, position: [0.2, 5, 0.1], look_at: [0.2, 0, 0.1001], fov: 60}
"""

ONE_SPHERE = """
worldgen: 1
render: {width: 96, height: 72, fps: 24}
world:
  objects:
    - {id: ball, shape: sphere, radius: 1, position: [0.1, 1, -0.2]}
shots:
  - id: s
    duration: 1
    camera: {move: static, position: [0.5, 1.8, 3.5], look_at: [0.1, 1, -0.2], fov: 45}
"""


ONE_BOX = """
worldgen: 1
render: {width: 96, height: 72, fps: 24}
world:
  objects:
    - {id: box, shape: box, size: [1, 1, 1]}
shots:
  - id: s
    duration: 1
    camera: {move: static, position: [2, 2, 3], look_at: [0, 0, 0], fov: 45}
"""


def _world(text, tmp_path):
    spec = spec_from(text, tmp_path)
    return spec, World(spec)


def _both(spec, world, t=0.0):
    """(raster hits, cast hits, camera, snapshot) of the shot's frame at time t (moving parts
    scan-converted into either path's static hits)."""
    be = RaycastBackend(world)
    snap = SnapshotMaker(world)(t)
    cam = ShotCamera(spec.shots[0], world, W, H).at(t)
    be.primary = "raster"
    r = be.hits(snap, cam)
    assert be.last_path == "raster"
    be.primary = "cast"
    c = be.hits(snap, cam)
    assert be.last_path == "cast"
    return r, c, cam, snap


def only_at_edges(differ, hit_a, bary_a, hit_b, bary_b, most=3):
    """Where the two answers differ, at most `most` pixels, each a ray through an edge in one
    of them (smallest barycentric under 1e-3): Embree's float32 test and the float64 one may
    take either triangle of a shared edge, or hit and miss a mesh's open border. (None differ
    on these scenes here; Embree's arithmetic varies with the CPU's vector width.)"""

    def near(hit, b):
        return hit & (np.minimum(np.minimum(b[..., 0], b[..., 1]), 1 - b[..., 0] - b[..., 1]) < 1e-3)

    return differ.sum() <= most and (near(hit_a, bary_a) | near(hit_b, bary_b))[differ].all()


def _tables(snap):
    nf = len(snap.faces)
    fl = np.arange(nf, dtype=np.int64)
    fg = np.repeat(np.arange(len(snap.face_offset) - 1, dtype=np.int32), np.diff(snap.face_offset))
    return fl, fg, (fl - snap.face_offset[fg]).astype(np.int32)


@pytest.mark.parametrize("scene", [SPHERES, LOW])
def test_raster_matches_the_cast(scene, tmp_path):
    spec, world = _world(scene, tmp_path)
    for t in (0.0, 0.5):
        r, c, _, _ = _both(spec, world, t)
        hit = c.geom >= 0
        assert 0.2 < hit.mean() < 1.0 and (
            scene is LOW or (c.geom == 5).sum() > 20
        )  # a frame with both hits and misses
        same = (r.geom == c.geom) & (r.prim == c.prim)
        assert only_at_edges(~same, r.geom >= 0, r.bary, hit, c.bary)  # none here; see only_at_edges
        both = hit & (r.geom >= 0) & same
        assert np.abs(r.depth[both] - c.depth[both]).max() <= 1e-5 * c.depth[both].max()
        assert np.abs(r.bary[both] - c.bary[both]).max() <= 2e-3  # Embree: float32 on a 40 m ground
        assert np.isinf(r.depth[~hit]).all() and (r.prim[~hit] == 0).all() and (r.bary[~hit] == 0).all()


@pytest.mark.parametrize("scene", [SPHERES, LOW])
def test_raster_is_the_per_pixel_reference_bit_for_bit(scene, tmp_path):
    """Every triangle tested at every pixel of its screen box by the moving parts' kernel (no
    culling beyond a half-pixel margin): the same bytes, so the culling dropped no hit."""
    spec, world = _world(scene, tmp_path)
    snap = SnapshotMaker(world)(0.0)
    cam = ShotCamera(spec.shots[0], world, W, H).at(0.3)
    rays = pixel_ray_array(cam)
    basis, origin = ray_basis(cam)
    proj = cam.K @ cam.world_to_camera[:3]
    tables = _tables(snap)
    got = rasterize(basis, origin, H, W, snap.vertices, snap.faces, *tables, max_overdraw=np.inf)
    empty = empty_hits(H, W)
    ref = raster_moving(*empty, rays, proj, snap.vertices, snap.faces, *tables)
    for a, b in zip(got, ref):
        assert a.tobytes() == b.tobytes()


def test_moving_parts_join_the_static_hits_as_the_per_pixel_kernel_adds_them(tmp_path):
    """The moving parts are scan-converted into the static set's hits: bit for bit what the
    per-pixel kernel `raster_moving` adds to the same static hits, on both static paths."""
    spec, world = _world(SPHERES, tmp_path)
    be = RaycastBackend(world)
    assert len(be.moving_geoms)
    for primary, t in (("raster", 0.0), ("raster", 0.5), ("cast", 0.5)):
        be.primary = primary
        snap = SnapshotMaker(world)(t)
        cam = ShotCamera(spec.shots[0], world, W, H).at(t)
        got = be.hits(snap, cam)
        assert np.isin(got.geom, be.moving_geoms).sum() > 20  # the moving box is in view
        proj = cam.K @ cam.world_to_camera[:3]
        if primary == "raster":
            static = rasterize(*ray_basis(cam), H, W, snap.vertices, snap.faces, *be._static_tables(snap))
        else:
            static = be._cast_static(snap, cam)
        moving = (be.face_list, be.face_geom, be.face_local)
        ref = raster_moving(*static, pixel_ray_array(cam), proj, snap.vertices, snap.faces, *moving)
        for a, b in zip((got.depth, got.geom, got.prim, got.bary), ref):
            assert a.tobytes() == b.tobytes()


def test_plane_depth_is_exact(tmp_path):
    spec, world = _world(DOWN, tmp_path)
    r, _, cam, snap = _both(spec, world)
    assert (r.geom == 0).all() and (snap.vertices[:, 1] == 0).all()
    # where each pixel's own float32 ray meets y = 0, in float64: the stored depth is that
    # value rounded to float32 (about 5: the camera looks almost straight down from 5)
    rays = pixel_ray_array(cam).astype(np.float64)
    t = -rays[..., 1] / rays[..., 4]
    assert np.abs(t - 5.0).max() < 1e-3
    assert (np.abs(r.depth - t) <= 4.8e-7 * t).all()


def test_closed_sphere_has_no_holes_and_the_right_silhouette(tmp_path):
    spec, world = _world(ONE_SPHERE, tmp_path)
    r, c, cam, _ = _both(spec, world)
    hit = r.geom == 0
    assert (hit == (c.geom == 0)).all()
    # a convex closed mesh: each row's hits are one unbroken run
    for row in hit:
        idx = np.flatnonzero(row)
        if len(idx):
            assert idx[-1] - idx[0] + 1 == len(idx)
    # silhouette: a ray passing the centre closer than the tessellation's inner radius hits,
    # one passing farther than the radius misses
    rays = pixel_ray_array(cam).astype(np.float64)
    o, d = rays[..., :3], rays[..., 3:]
    centre = np.array([0.1, 1.0, -0.2])
    tc = ((centre - o) * d).sum(-1) / (d * d).sum(-1)
    dist = np.linalg.norm(o + tc[..., None] * d - centre, axis=-1)
    inner = np.cos(np.pi / 64) ** 2  # both angular steps of the 128 x 64 tessellation
    assert hit.sum() > 1000
    assert hit[dist < inner - 1e-3].all() and not hit[dist > 1.0 + 1e-6].any()


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one kernel thread: nothing to compare")
def test_same_bytes_for_any_thread_count(tmp_path):
    spec, world = _world(SPHERES, tmp_path)
    before = numba.get_num_threads()
    outs = []
    try:
        for n in sorted({1, 2, min(3, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(n)
            r, _, _, _ = _both(spec, world, 0.2)
            outs.append(b"".join(a.tobytes() for a in (r.depth, r.geom, r.prim, r.bary)))
    finally:
        numba.set_num_threads(before)
    assert len(set(outs)) == 1


def test_the_cost_model_chooses_by_triangles_per_pixel(tmp_path):
    spec, world = _world(SPHERES, tmp_path)
    be = RaycastBackend(world)
    n = be.static_triangles
    assert 0 < n < world.triangle_count  # the moving box is not counted
    side = int(np.sqrt(n / RASTER_TRIANGLES_PER_PIXEL))
    assert side * side >= RASTER_MIN_PIXELS  # here the triangle count decides
    assert be.primary_path(side + 2, side + 2) == "raster"
    assert be.primary_path(side - 2, side - 2) == "cast"
    assert be.primary_path(side + 2, 10 * side) == "raster"
    (tmp_path / "box").mkdir()
    small = RaycastBackend(World(spec_from(ONE_BOX, tmp_path / "box")))  # 12 triangles
    assert small.primary_path(128, 128) == "raster" and small.primary_path(127, 128) == "cast"
    be.primary = "cast"
    assert be.primary_path(4096, 4096) == "cast"


def test_triangles_at_and_across_the_camera_plane_match_the_cast():
    """Triangles with a corner just in front of the camera plane (projected ~1e9 px out),
    exactly on it, or behind it, among ordinary ones: the same ids as Open3D on every pixel."""
    import open3d as o3d

    from worldgen.camera import CameraFrame

    rng = np.random.default_rng(7)
    k = np.array([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]])
    cam = CameraFrame(k, np.eye(4), 64, 48)  # at the origin, looking down +z
    tris = rng.uniform([-3, -3, 1], [3, 3, 6], (60, 3, 3))
    tris[:20, 0, 2] = [1e-9, 1e-13, 1e-16, 1e-18, 0.0] * 2 + [-1e-9, -2.0] * 5  # one corner at the camera plane
    tris[20:25, :2, 2] = -1.0  # two corners behind
    tris[25:28, :, 2] = -0.5  # wholly behind
    verts = tris.reshape(-1, 3).astype(np.float32)
    faces = np.arange(len(verts), dtype=np.int32).reshape(-1, 3)
    rays = pixel_ray_array(cam)
    basis, origin = ray_basis(cam)

    def check(faces):
        """Hit masks (prim ids) of the scan conversion and Open3D for these faces, compared."""
        fl = np.arange(len(faces), dtype=np.int64)
        got = rasterize(
            basis,
            origin,
            48,
            64,
            verts,
            faces,
            fl,
            np.zeros(len(faces), np.int32),
            fl.astype(np.int32),
            max_overdraw=np.inf,  # triangles this near the camera cover the frame many times over
        )
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(verts), o3d.core.Tensor(faces.astype(np.uint32)))
        ref = scene.cast_rays(o3d.core.Tensor.from_numpy(rays))
        ref_hit = np.isfinite(ref["t_hit"].numpy())
        ref_prim = np.where(ref_hit, ref["primitive_ids"].numpy().astype(np.int64), -1)
        got_prim = np.where(got[1] >= 0, got[2], -1)
        assert only_at_edges(got_prim != ref_prim, got[1] >= 0, got[3], ref_hit, ref["primitive_uvs"].numpy())
        return got_prim

    seen = 0
    for f in faces:  # each alone: its whole footprint
        seen += check(f[None]).max() >= 0
    assert seen >= 40
    assert len(np.unique(check(faces))) >= 3  # all together: the nearest of them


def _stack(n):
    planes = "\n".join(
        f"    - {{id: p{k}, shape: plane, size: [40, 40], position: [0, {k * 0.1:.1f}, 0]}}" for k in range(n)
    )
    return f"""
worldgen: 1
render: {{width: 128, height: 128, fps: 24}}
world:
  objects:
{planes}
shots:
  - id: s
    duration: 1
    camera: {{move: static, position: [0.3, 5, 0.2], look_at: [0.3, 0, 0.2001], fov: 40}}
"""


@pytest.mark.parametrize("planes, path", [(3, "raster"), (12, "cast")])
def test_deep_stacks_of_large_triangles_go_to_the_cast(planes, path, tmp_path):
    """Few triangles, but each covering the whole frame: 12 planes stack 24 boxes deep, past
    MAX_OVERDRAW, and the frame is cast instead (the cost model alone would scan it)."""
    spec, world = _world(_stack(planes), tmp_path)
    be = RaycastBackend(world)
    cam = ShotCamera(spec.shots[0], world, 128, 128).at(0.0)
    assert be.primary_path(128, 128) == "raster"
    hits = be.hits(SnapshotMaker(world)(0.0), cam)
    assert be.last_path == path
    assert (hits.geom == planes - 1).all()  # the top plane everywhere


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_shared_edges_far_from_the_world_origin_keep_every_hit(offset):
    """A mesh of triangles sharing edges half a metre in front of a camera 1 km from the world's
    origin, where the float32 rounding of the rays' origin moves a pixel by more than the
    culling's margin: the scan conversion is still the per-pixel kernel's answer bit for bit
    (no hole along a shared edge), in many views."""
    from worldgen.camera import CameraFrame
    from worldgen.transforms import look_at_world_to_camera

    rng = np.random.default_rng(11)
    n = 12  # a 12 x 12 grid of vertices: 242 triangles sharing edges
    gx, gy = np.meshgrid(np.linspace(-0.6, 0.6, n), np.linspace(-0.45, 0.45, n))
    centre = np.array([offset, offset * 0.3, -offset * 0.7])
    faces = []
    for r in range(n - 1):
        for c in range(n - 1):
            a = r * n + c
            faces += [(a, a + 1, a + n), (a + 1, a + n + 1, a + n)]
    faces = np.array(faces, np.int32)
    k = np.array([[600.0, 0, 47.5], [0, 600.0, 35.5], [0, 0, 1]])
    tables = (np.arange(len(faces), dtype=np.int64), np.zeros(len(faces), np.int32))
    tables = (*tables, tables[0].astype(np.int32))
    for _ in range(10):
        eye = centre + rng.normal(0, 0.02, 3)
        verts = (centre + np.stack([gx.ravel(), gy.ravel(), np.full(n * n, -0.5)], 1)).astype(np.float32)
        cam = CameraFrame(k, look_at_world_to_camera(eye, centre + [0, 0, -0.5] + rng.normal(0, 0.05, 3)), W, H)
        got = rasterize(*ray_basis(cam), H, W, verts, faces, *tables, max_overdraw=np.inf)
        empty = empty_hits(H, W)
        ref = raster_moving(*empty, pixel_ray_array(cam), cam.K @ cam.world_to_camera[:3], verts, faces, *tables)
        assert (ref[1] >= 0).mean() > 0.5
        for a, b in zip(got, ref):
            assert a.tobytes() == b.tobytes()
