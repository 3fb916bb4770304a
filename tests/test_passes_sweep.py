"""The per-frame sweep `worldgen passes` runs (in-place hit conversion, then one kernel for the
surface attributes and both flows) against the separate kernels it replaced, byte for byte:
the copying `hits_from_raycast`, `surface_images` and `flow_images` stay as the reference."""

import numpy as np
import pytest

from worldgen.camera import ShotCamera
from worldgen.passes import kernels
from worldgen.passes.derive import flows, flows_and_attributes, surface
from worldgen.passes.sequence import Rasterizer
from worldgen.passes.snapshot import pixel_ray_array, ray_basis
from worldgen.world import World
from conftest import spec_from
from rigged_glb import build_rigged_glb

# a moving object first in spec order (the static scene's geometry ids are then not the world's
# object indices), a rigid mover and a skinned body (deforming), under an orbiting camera
SCENE = """
worldgen: 1
render: {width: 96, height: 72, fps: 24}
world:
  objects:
    - id: cube
      shape: box
      size: [1, 1, 1]
      motion: [{t: 0, position: [-2, 0.5, 1]}, {t: 1, position: [2, 0.5, 1], rotation: [0, 90, 0]}]
    - {id: ground, shape: plane, size: [40, 40]}
    - {id: ball, shape: sphere, radius: 1, position: [0, 1, 0]}
  characters:
    - id: robot
      asset: rig.glb
      height: 1.8
      path: [{t: 0, position: [1.5, 0, -1]}, {t: 1, position: [0, 0, -1]}]
shots:
  - id: a
    duration: 0.5
    camera: {move: orbit, look_at: [0, 1, 0], radius: 6, height: 2, degrees: 30}
"""


@pytest.fixture(scope="module")
def world_spec(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    build_rigged_glb(d / "rig.glb")
    spec = spec_from(SCENE, d)
    return spec, World(spec)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_in_place_hits_equal_the_copying_conversion(world_spec):
    spec, world = world_spec
    r = Rasterizer(world, "raycast")
    be = r.backend
    assert not be._static_ids_are_indices  # the remapping path is the one tested
    cam = ShotCamera(spec.shots[0], world, 96, 72).at(0.2)
    snap = r.snapshot(spec.shots[0].start + 0.2)
    be.hits(snap, cam)  # builds the static BVH

    def cast():
        import open3d as o3d

        out = be._static.cast_rays(o3d.core.Tensor.from_numpy(pixel_ray_array(cam)))
        return [out[k].numpy() for k in ("t_hit", "geometry_ids", "primitive_ids", "primitive_uvs")]

    t, gid, pid, uvs = cast()
    ref = kernels.hits_from_raycast(t, gid, pid, uvs, 72, 96, be.static_geoms)
    t, gid, pid, uvs = cast()
    got = kernels.hits_in_place(t, gid.view(np.int32), pid.view(np.int32), uvs, be.static_geoms, True)
    assert (ref[1] == -1).any() and (ref[1] >= 0).any()
    for a, b in zip(ref, got):
        assert same(a, b)


@pytest.mark.parametrize("with_local", [False, True])
def test_sweep_equals_surface_then_flow_kernels(world_spec, with_local):
    spec, world = world_spec
    r = Rasterizer(world, "raycast", with_local=with_local)
    rig = ShotCamera(spec.shots[0], world, 96, 72)
    views = [r.view(rig, 24, i) for i in range(-1, 5)]
    assert r.moving.any() and r.snapshots.deforming.any()
    for prev, cur, nxt in zip(views, views[1:], views[2:]):
        args = ((nxt.snap, nxt.cam, nxt.hits), (prev.snap, prev.cam, prev.hits), r.moving, cur.hits)
        deform = r.snapshots.deforming
        # reference: a second surface of the same hits, its images from surface_images, flows
        # from flow_images over that kernel's world points
        ref = surface(cur.hits, cur.snap, cur.cam, r.instance_lut, r.semantic_lut, with_local)
        ref_attrs = ref.attributes()
        ref_fwd, ref_bwd = flows(ref, cur.snap, *args, deform)
        fwd, bwd = flows_and_attributes(cur.surf, cur.snap, *args, deform)
        got_attrs = cur.surf.attributes()
        assert got_attrs is not ref_attrs
        n = 5 if with_local else 2  # without local points, the placeholder after uv is left unset
        for a, b in zip(ref_attrs[:n] + ref_attrs[3:], got_attrs[:n] + got_attrs[3:]):
            assert same(a, b)
        for a, b in zip(ref_fwd + ref_bwd, fwd + bwd):
            assert same(a, b)
        assert (fwd[1] == 0).any() and (fwd[1] == 1).any()
        # world points on demand (painters) equal the ones surface_images wrote
        fresh = surface(cur.hits, cur.snap, cur.cam, r.instance_lut, r.semantic_lut, with_local)
        assert same(fresh.world_img, ref.world_img)
        # attributes read before the sweep are kept, and the flows do not change
        again = flows_and_attributes(ref, cur.snap, *args, deform)
        assert ref.attributes() is ref_attrs
        for a, b in zip(again[0] + again[1], fwd + bwd):
            assert same(a, b)


def test_ray_basis_rebuilds_the_stored_rays(world_spec):
    spec, world = world_spec
    cam = ShotCamera(spec.shots[0], world, 96, 72).at(0.3)
    m, o = ray_basis(cam)
    rays = pixel_ray_array(cam)
    assert same(kernels.make_rays(m, o, 72, 96), rays)


def _rigid_parts_by_numpy(local, local_normals, rows, owner, m, nm, v, n):
    """What the snapshot computed before `move_rigid_parts`: gathered matrices, two einsums, a norm."""
    v[rows] = np.einsum("vij,vj->vi", m[owner, :, :3], local[rows]) + m[owner, :, 3]
    nn = np.einsum("vij,vj->vi", nm[owner], local_normals[rows])
    n[rows] = nn / np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-12)


def test_rigid_parts_move_bit_for_bit_as_the_numpy_form():
    from worldgen.passes.snapshot import move_rigid_parts

    rng = np.random.default_rng(7)
    n_vertices, n_objects = 3000, 12
    local = (rng.normal(size=(n_vertices, 3)) * 40).astype(np.float32)
    local_normals = rng.normal(size=(n_vertices, 3)).astype(np.float32)
    local[::50] = 0.0  # a vertex at the origin and one with a negative zero: the signs of zero
    local[::70, 1] = -0.0
    local_normals[::60] = 0.0  # a zero normal stays zero
    rows = np.sort(rng.choice(n_vertices, 1200, replace=False))
    owner = rng.integers(0, n_objects, len(rows))
    mats = rng.normal(size=(n_objects, 4, 4)) * 300
    m = mats[:, :3, :].astype(np.float32)
    nm = np.linalg.inv(mats[:, :3, :3]).transpose(0, 2, 1).astype(np.float32)
    # object 0: every product with a zero is -0 and its translation is -0, so a sum that did not
    # start from +0 would give -0 where numpy gives +0
    m[0, :, :3], m[0, :, 3], nm[0] = -np.abs(m[0, :, :3]), -0.0, -np.abs(nm[0])
    owner[::5] = 0
    start_v, start_n = rng.normal(size=(2, n_vertices, 3)).astype(np.float32)  # rows not moved keep these
    want_v, want_n, got_v, got_n = start_v.copy(), start_n.copy(), start_v.copy(), start_n.copy()
    _rigid_parts_by_numpy(local, local_normals, rows, owner, m, nm, want_v, want_n)
    move_rigid_parts(local, local_normals, rows, owner, m, nm, got_v, got_n)
    assert same(got_v, want_v) and same(got_n, want_n)
    mine = rows[owner == 0]  # the cases were there: zero vertices and normals of object 0
    assert (local[mine] == 0).all(axis=1).any() and (local_normals[mine] == 0).all(axis=1).any()


def test_snapshot_moving_parts_equal_the_numpy_form(world_spec):
    """The snapshot's moving rigid part (the cube) through the kernel, against the numpy form."""
    _spec, world = world_spec
    from worldgen.passes.snapshot import SnapshotMaker

    maker = SnapshotMaker(world)
    snap = maker(0.3)
    ids = maker.ids
    rigid = [g for g, oid in enumerate(ids) if oid not in world.static_ids and not maker.deforming[g]]
    assert rigid
    rows, owner = maker._rows_and_owner(rigid)
    m = snap.matrices[:, :3, :].astype(np.float32)
    nm = np.zeros((len(ids), 3, 3), np.float32)
    nm[rigid] = np.linalg.inv(snap.matrices[rigid, :3, :3]).transpose(0, 2, 1).astype(np.float32)
    want_v, want_n = snap.vertices.copy(), snap.normals.copy()
    _rigid_parts_by_numpy(maker.local, maker.local_normals, rows, owner, m, nm, want_v, want_n)
    assert same(snap.vertices, want_v) and same(snap.normals, want_n)
