"""Rigged GLB actors speak with their own face: a jaw bone turns chin-down, or a mouth-open
morph target is weighted, by the same mouth track that opens the proxy's mouth. A file with
neither keeps rendering as before (speech does not reach its frames)."""

import shutil

import numpy as np
import pytest

from worldgen.character.skinned import JAW_DEGREES
from worldgen.character.pose_pass import people_in_frame
from worldgen.gltf_reader import load_skinned
from worldgen.passes.sequence import Rasterizer
from worldgen.render.frames import speaking
from worldgen.render.keys import speaking_mouths
from worldgen.world import World
from conftest import spec_from
from rigged_glb import ARMATURE_OFFSET, JAW, MOUTH_MORPH_DROP, build_rigged_glb

SCENE = """
worldgen: 1
render: {width: 96, height: 96, fps: 24}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
  characters:
    - {id: ana, asset: rig.glb, height: 1.8, facing: 0}
shots:
  - id: talk
    duration: 1.5
    camera: {move: static, position: [0.3, 1.7, 1.2], look_at: [0, 1.6, 0], fov: 35}
    dialogue:
      - {character: ana, line: "Aah, ma.", at: 0.5}
"""


def test_jaw_bone_and_mouth_morph_are_found(tmp_path):
    build_rigged_glb(tmp_path / "plain.glb")
    build_rigged_glb(tmp_path / "jaw.glb", face=("jaw", "morph"))
    plain, face = load_skinned(tmp_path / "plain.glb"), load_skinned(tmp_path / "jaw.glb")
    assert not plain.has_mouth and plain.morphs == {}
    assert face.joint_names[face.jaw] == "jaw" and face.mouth_morph == "mouthOpen"
    assert face.morphs["mouthOpen"][:, 1].min() == pytest.approx(-MOUTH_MORPH_DROP)


def test_jaw_turns_chin_down_about_its_hinge(tmp_path):
    build_rigged_glb(tmp_path / "jaw.glb", face=("jaw",))
    a = load_skinned(tmp_path / "jaw.glb")
    shut, _ = a.skin(a.joint_matrices(None))
    wide, _ = a.skin(a.joint_matrices(None, jaw_open=1.0))
    moved = np.linalg.norm(wide - shut, axis=1) > 1e-9
    assert moved.sum() == 8 and np.allclose(a.joints[moved, 0], a.jaw)  # the jaw's box, nothing else
    far = moved & (shut[:, 2] > shut[moved, 2].mean())  # the four corners at the jaw's tip
    assert far.sum() == 4
    hinge = np.asarray(JAW["jaw"][1]) + ARMATURE_OFFSET
    reach, turn = JAW["jaw"][2][2] - JAW["jaw"][1][2], np.radians(JAW_DEGREES)
    expected = hinge + reach * np.array([0.0, -np.sin(turn), np.cos(turn)])  # chin down about the hinge
    assert wide[far].mean(0) == pytest.approx(expected, abs=1e-6)


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite (apt) is not installed")
@pytest.mark.parametrize("face", [("jaw",), ("morph",), ()])
def test_mouth_region_moves_with_speech(face, tmp_path):
    """Rendered depth of the same still actor at a shut and a wide-open frame of her line:
    with a jaw or a mouth morph the face changes (and only the face), without either the
    frames are the same and the render keys no mouth for her."""
    build_rigged_glb(tmp_path / "rig.glb", face=face)
    spec = spec_from(SCENE, tmp_path)
    world = World(spec)
    mouths = speaking_mouths(spec, world)
    if not face:
        assert mouths == {}
    opening = (mouths or {"talk": {"ana": [[0.0]]}})["talk"]["ana"][0]
    loud = int(np.argmax(opening)) if face else 20
    hush = 2
    assert not face or (opening[hush] == 0 and opening[loud] > 0.8)
    shot = spec.shot("talk")
    with speaking(world, spec, shot):
        frames = {f.view.index: f for f in Rasterizer(world).shot_frames(shot, 96, 96, 24, only={loud, hush})}
        f = frames[loud]
        people = people_in_frame(world, f.view.time, f.view.cam, f.passes.depth, f.passes.instance)
    if face:  # the pose output gains her mouth keypoints, on the front of her head
        (person,) = people
        assert person["mouth"]["opening"] > 0.8 and len(person["mouth"]["keypoints"]) == 20
    a, b = frames[hush].passes.depth, frames[loud].passes.depth
    differ = ~((a == b) | (np.isinf(a) & np.isinf(b)))
    if not face:
        assert not differ.any()
        return
    assert differ.sum() >= 4
    ana = world.characters["ana"]
    head = ana.pose(shot.start + loud / 24).keypoints[0]  # the nose keypoint
    uv, _ = frames[loud].view.cam.project(head[None])
    ys, xs = np.nonzero(differ)
    assert np.hypot(xs - uv[0, 0], ys - uv[0, 1]).max() < 30, "only the face moves"
