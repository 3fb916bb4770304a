"""Camera maths, conventions and interpolation against hand-computed answers."""

import math

import numpy as np
import pytest

from worldgen.camera import ShotCamera, fov_to_lens, lens_to_fov
from worldgen.motion import Track, ease, rotation_track
from worldgen.transforms import (
    euler_xyz_to_matrix,
    intrinsics,
    look_at_world_to_camera,
    matrix_to_quat,
    quat_to_matrix,
    slerp,
    world_to_camera_to_gl_pose,
)
from worldgen.world import World
from conftest import spec_from


def project(w2c, K, p):
    c = w2c[:3, :3] @ p + w2c[:3, 3]
    return (K @ (c / c[2]))[:2], c[2]


def test_opencv_convention():
    K = intrinsics(640, 480, 60)
    w2c = look_at_world_to_camera([0, 0, 5], [0, 0, 0])
    uv, z = project(w2c, K, np.zeros(3))
    assert np.allclose(uv, [319.5, 239.5]) and z == pytest.approx(5)
    assert project(w2c, K, np.array([1.0, 0, 0]))[0][0] > 319.5  # world +X is image right
    assert project(w2c, K, np.array([0, 1.0, 0]))[0][1] < 239.5  # world +Y is image up (v smaller)
    assert K[1, 1] == pytest.approx(240 / math.tan(math.radians(30)))


def test_gl_pose_conversion():
    w2c = look_at_world_to_camera([1, 2, 3], [0, 0, 0])
    pose = world_to_camera_to_gl_pose(w2c)
    assert np.allclose(pose[:3, 3], [1, 2, 3])
    fwd_gl = -pose[:3, 2]  # GL cameras look down -Z
    assert np.allclose(fwd_gl, -np.array([1, 2, 3]) / np.linalg.norm([1, 2, 3]))


def test_positive_roll_turns_camera_clockwise():
    K = intrinsics(100, 100, 60)
    w2c = look_at_world_to_camera([0, 0, 5], [0, 0, 0], roll_deg=90)
    uv, _ = project(w2c, K, np.array([1.0, 0, 0]))  # the image turns counter-clockwise: right -> up
    assert uv[1] < 49.5 - 5 and abs(uv[0] - 49.5) < 1e-6


def test_euler_and_slerp():
    r = euler_xyz_to_matrix([0, 90, 0])
    assert np.allclose(r @ [0, 0, 1], [1, 0, 0])
    q0, q1 = matrix_to_quat(np.eye(3)), matrix_to_quat(r)
    half = quat_to_matrix(slerp(q0, q1, 0.5))
    assert np.allclose(half, euler_xyz_to_matrix([0, 45, 0]))
    assert np.allclose(
        quat_to_matrix(matrix_to_quat(euler_xyz_to_matrix([10, 20, 30]))), euler_xyz_to_matrix([10, 20, 30])
    )


def test_tracks_and_easing():
    lin = Track([0, 2], [[0, 0, 0], [2, 4, 0]])
    assert np.allclose(lin(1), [1, 2, 0]) and np.allclose(lin(-1), [0, 0, 0]) and np.allclose(lin(5), [2, 4, 0])
    assert ease(0.5, "in_out") == 0.5 and ease(0.25, "in") == 0.0625 and ease(0.25, "out") == pytest.approx(0.4375)
    spl = Track([0, 1, 2, 3], [[0, 0, 0], [1, 1, 0], [2, 0, 0], [3, 1, 0]], mode="spline")
    for t, v in [(0, [0, 0, 0]), (1, [1, 1, 0]), (2, [2, 0, 0]), (3, [3, 1, 0])]:
        assert np.allclose(spl(t), v)
    rot = rotation_track([0, 4], [[0, 0, 0], [0, 20, 0]])
    assert np.allclose(rot(2), euler_xyz_to_matrix([0, 10, 0]))


def test_lens_fov_roundtrip():
    assert lens_to_fov(50) == pytest.approx(26.99, abs=0.01)
    assert fov_to_lens(lens_to_fov(35)) == pytest.approx(35)


MOVES = """
worldgen: 1
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40]}
    - {id: tower, shape: cylinder, radius: 1, height: 4, position: [0, 2, 0]}
    - id: car
      shape: box
      size: [2, 1, 1]
      motion: [{t: 0, position: [-5, 0.5, 0]}, {t: 2, position: [5, 0.5, 0]}]
shots:
  - {id: orbit, duration: 2, camera: {move: orbit, target: tower, radius: 10, height: 3, degrees: 90}}
  - {id: dolly, duration: 2, camera: {move: dolly, position: [0, 2, 10], look_at: [0, 2, 0], distance: 4}}
  - {id: pan, duration: 2, camera: {move: pan, position: [0, 2, 10], look_at: [0, 2, 0], degrees: 30}}
  - {id: tilt, duration: 2, camera: {move: tilt, position: [0, 2, 10], look_at: [0, 2, 0], degrees: 20}}
  - {id: zoom, duration: 2, camera: {move: zoom, position: [0, 2, 10], look_at: [0, 2, 0], fov: 50, fov_end: 20}}
  - {id: truck, duration: 2, camera: {move: truck, position: [0, 2, 10], look_at: [0, 2, 0], distance: 3}}
  - {id: pedestal, duration: 2, camera: {move: pedestal, position: [0, 2, 10], look_at: [0, 2, 0], distance: 2}}
  - {id: crane, duration: 2, camera: {move: crane, position: [0, 2, 10], target: tower, rise: 4}}
  - {id: roll, duration: 2, camera: {move: roll, position: [0, 2, 10], look_at: [0, 2, 0], degrees: 45}}
  - {id: track, duration: 2, camera: {move: track, target: car, offset: [0, 1, 6]}}
  - {id: lens, duration: 2, camera: {move: static, position: [0, 2, 10], look_at: [0, 2, 0], lens_mm: 50}}
"""


@pytest.fixture(scope="module")
def moves(tmp_path_factory):
    spec = spec_from(MOVES, tmp_path_factory.mktemp("m"))
    world = World(spec)
    return {s.id: ShotCamera(s, world, 320, 180) for s in spec.shots}


def fwd(c):
    return c.world_to_camera[2, :3]


def test_orbit_keeps_radius_and_sweeps(moves):
    a, b = moves["orbit"].at(0), moves["orbit"].at(2)
    for c in (a, b, moves["orbit"].at(0.7)):
        assert np.hypot(c.center[0], c.center[2]) == pytest.approx(10) and c.center[1] == pytest.approx(3)
    assert np.allclose(a.center, [0, 3, 10]) and np.allclose(b.center, [10, 3, 0])  # +90 deg, CCW from above


def test_dolly_truck_pedestal_crane(moves):
    assert np.allclose(moves["dolly"].at(2).center, [0, 2, 6])
    assert np.allclose(moves["truck"].at(2).center, [3, 2, 10]) and np.allclose(fwd(moves["truck"].at(2)), [0, 0, -1])
    assert np.allclose(moves["pedestal"].at(2).center, [0, 4, 10])
    c = moves["crane"].at(2)
    assert np.allclose(c.center, [0, 6, 10])
    uv, _ = c.project(np.array([[0.0, 2.0, 0.0]]))
    assert np.allclose(uv[0], [159.5, 89.5], atol=1e-6)  # keeps the target centred


def test_pan_tilt_roll_zoom_lens(moves):
    f = fwd(moves["pan"].at(2))
    assert math.degrees(math.atan2(f[0], -f[2])) == pytest.approx(30)  # + = to the right
    f = fwd(moves["tilt"].at(2))
    assert math.degrees(math.asin(f[1])) == pytest.approx(20)  # + = up
    assert moves["zoom"].at(0).fov == pytest.approx(50) and moves["zoom"].at(2).fov == pytest.approx(20)
    assert moves["zoom"].at(1).fov < 35  # focal length moves linearly, so fov is below the midpoint
    r = moves["roll"].at(2).world_to_camera[0, :3]
    assert np.allclose(r, [np.cos(np.radians(45)), -np.sin(np.radians(45)), 0])
    assert moves["lens"].at(0).fov == pytest.approx(26.99, abs=0.01)


def test_track_follows_target(moves):
    for s in (0, 1, 2):
        c = moves["track"].at(s)
        car_x = -5 + 5 * s
        assert np.allclose(c.center, [car_x, 1.5, 6])
        uv, _ = c.project(np.array([[car_x, 0.5, 0.0]]))
        assert np.allclose(uv[0], [159.5, 89.5], atol=1e-6)


def test_moves_ease_in_out(moves):
    # default in_out: a quarter of the time covers less than a quarter of the way
    z = moves["dolly"].at(0.5).center[2]
    assert 10 - z < 1.0
