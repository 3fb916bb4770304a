"""Characters from rigged glTF/GLB files: the skin is posed by its clips along the path, flow
follows the deforming surface exactly, keypoints come from the joints, bad files are refused."""

import subprocess
import sys

import numpy as np
import pytest

from worldgen.camera import ShotCamera
from worldgen.character.pose_pass import keypoint_radii, people_in_frame
from worldgen.character.rig import KEYPOINTS
from worldgen.passes.sequence import Rasterizer
from worldgen.passes.snapshot import pixel_rays
from worldgen.world import World
from conftest import backends, spec_from
from rigged_glb import build_rigged_glb

SCENE = """
worldgen: 1
render: {width: 192, height: 144, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
  characters:
    - id: robot
      asset: rig.glb
      height: 1.8
      appearance: "silver metal"
      facing: 0
      path:
        - {t: 0, position: [-1.5, 0, 0]}
        - {t: 2, position: [0.5, 0, 0]}
      actions:
        - {action: wave, start: 2.2, end: 3.5}
shots:
  - id: a
    duration: 3
    camera: {move: static, position: [-0.5, 1.3, 4.5], look_at: [-0.5, 0.9, 0], fov: 45}
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("skin")
    build_rigged_glb(d / "rig.glb")
    spec = spec_from(SCENE, d)
    return spec, World(spec)


def test_asset_becomes_one_deforming_body(scene):
    _, world = scene
    rig = world.characters["robot"]
    assert rig.deforms and world.parts_of("robot") == ["robot/body"] and world.deforms("robot/body")
    assert rig.clip_of["walk"] == "walk" and rig.clip_of["wave"] == "wave"
    v0, _ = world.deformed("robot/body", 0.5)
    v1, _ = world.deformed("robot/body", 0.7)
    assert np.abs(v1 - v0).max() > 0.05  # the walk clip moves the legs
    assert rig.clip_at(2.5)[0] == "wave" and rig.clip_at(1.0)[0] == "walk"


def test_walk_clip_advances_with_distance(scene):
    """Stride follows speed: the clip's phase is distance travelled over the clip's stride."""
    _, world = scene
    rig = world.characters["robot"]
    dur = rig.asset.clips["walk"].duration
    for t in (0.3, 0.9, 1.6):
        clip, ct = rig.clip_at(t)
        assert clip == "walk"
        assert abs(ct / dur * rig.stride["walk"] - rig.arc.s_at(t)) < 1e-9
    assert 0.2 * 1.8 <= rig.stride["walk"] <= 3.0


def test_flow_follows_the_skin(scene):
    """Flow on the body equals the skin's finite difference: the same barycentric point of the
    same triangle, skinned at the next frame's clip time, projected by the next camera."""
    spec, world = scene
    shot = spec.shots[0]
    fr = list(Rasterizer(world).shot_frames(shot, 192, 144, 24, only={12}))[0]
    g = list(world.nodes).index("robot/body")
    mask = fr.view.hits.geom == g
    assert mask.sum() > 50
    rig = world.characters["robot"]
    t1 = fr.view.time + 1 / 24
    clip, ct = rig.clip_at(t1)
    v1, _ = rig.asset.skin(rig.asset.joint_matrices(clip, ct))
    m1 = rig.root_matrix(t1)
    v1 = v1 @ m1[:3, :3].T + m1[:3, 3]
    tri = rig.asset.faces[fr.view.hits.prim[mask]]
    b = fr.view.hits.bary[mask].astype(np.float64)
    p1 = (1 - b[:, :1] - b[:, 1:]) * v1[tri[:, 0]] + b[:, :1] * v1[tri[:, 1]] + b[:, 1:] * v1[tri[:, 2]]
    uv1, _ = ShotCamera(shot, world, 192, 144).at(13 / 24).project(p1)
    ii, jj = np.nonzero(mask)
    expected = uv1 - np.stack([jj, ii], 1)
    got = fr.passes.flow_fwd[mask]
    assert np.abs(expected).max() > 1.0
    assert np.abs(got - expected).max() < 1e-2 and np.median(np.abs(got - expected)) < 1e-3
    # and the hit point itself is the skinned surface at this frame
    o, d = pixel_rays(fr.view.cam)
    p0 = o + d[mask] * fr.passes.depth[mask][:, None]
    v0 = fr.view.snap.vertices[fr.view.snap.vertex_offset[g] :][tri]
    p0b = (1 - b[:, :1] - b[:, 1:]) * v0[:, 0] + b[:, :1] * v0[:, 1] + b[:, 1:] * v0[:, 2]
    assert np.abs(p0 - p0b).max() < 1e-4


def test_keypoints_from_joints_lie_on_the_body(scene):
    spec, world = scene
    fr = list(Rasterizer(world).shot_frames(spec.shots[0], 192, 144, 24, only={6}))[0]
    person = people_in_frame(world, fr.view.time, fr.view.cam, fr.passes.depth, fr.passes.instance)[0]
    inst = world.character_instance["robot"]
    tol = 1.6 * keypoint_radii(world.characters["robot"]) + 0.02
    vis = [k for k, r in enumerate(person["keypoints"]) if r[3]]
    assert len(vis) >= 6
    for k in vis:
        x, y, z, _ = person["keypoints"][k]
        i, j = int(np.floor(y + 0.5)), int(np.floor(x + 0.5))
        assert fr.passes.instance[i, j] == inst and z - fr.passes.depth[i, j] <= tol[k]
    # joints named in the file sit at the skinned joint positions
    rig = world.characters["robot"]
    clip, ct = rig.clip_at(fr.view.time)
    joints = rig.asset.joint_matrices(clip, ct)
    root = rig.root_matrix(fr.view.time)
    j = rig.asset.openpose_joints()[KEYPOINTS.index("r_knee")]
    want = root[:3, :3] @ joints[j, :3, 3] + root[:3, 3]
    assert np.allclose(rig.pose(fr.view.time).keypoints[KEYPOINTS.index("r_knee")], want)


@pytest.mark.parametrize("backend", backends())
def test_backends_agree_on_the_skin(scene, backend):
    spec, world = scene
    ref = list(Rasterizer(world, "raycast").shot_frames(spec.shots[0], 192, 144, 24, only={20}))[0]
    fr = list(Rasterizer(world, backend).shot_frames(spec.shots[0], 192, 144, 24, only={20}))[0]
    same = ref.view.hits.geom == fr.view.hits.geom
    assert same.mean() > 0.995
    both = same & (ref.view.hits.geom >= 0)
    assert np.abs(ref.passes.depth[both] - fr.passes.depth[both]).max() < 1e-4


@pytest.mark.parametrize(
    "edit,expect",
    [
        (("      actions:", "      clips: {walk: stroll}\n      actions:"), "asset: no clip 'stroll' for walk"),
        (("asset: rig.glb", "asset: plain.glb"), "asset: "),
        (("asset: rig.glb", "asset: missing.glb"), "asset: "),
        (("asset: rig.glb", "asset: rig.glb\n      clips: {dance: wave}"), "clips: 'dance' is not an action"),
    ],
)
def test_bad_assets_are_one_line_errors(edit, expect, tmp_path):
    build_rigged_glb(tmp_path / "rig.glb")
    build_rigged_glb(tmp_path / "plain.glb", with_skin=False)
    p = tmp_path / "s.yaml"
    p.write_text(SCENE.replace(*edit))
    r = subprocess.run([sys.executable, "-m", "worldgen", "validate", p], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert "world.characters[0]" in line and expect in line, line
