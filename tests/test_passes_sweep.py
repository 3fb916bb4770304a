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
