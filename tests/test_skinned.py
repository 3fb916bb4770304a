"""Skinned glTF characters: the rig loads as written, poses match hand-computed answers for
every interpolation, and every broken file is one AssetError line that names the file."""

import struct

import numpy as np
import pygltflib
import pytest

from rigged_glb import ARMATURE_OFFSET, BOUNCE_SPINE_DEG, NOD, WAVE, build_rigged_glb, quat_xyzw
from worldgen.character.skinned import OPENPOSE_18, Channel, match_openpose
from worldgen.errors import AssetError
from worldgen.gltf_reader import load_skinned


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    path = tmp_path_factory.mktemp("rig") / "hero.glb"
    facts = build_rigged_glb(path)
    return path, facts, load_skinned(path)


def rotation(axis, degrees) -> np.ndarray:
    """Rodrigues' formula, independent of the module under test."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    a = np.radians(degrees)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * cross + (1 - np.cos(a)) * cross @ cross


def vertex_owned_by(facts, bone, partner=None) -> int:
    return next(i for i, owner in enumerate(facts.owner) if owner == (bone, partner))


def test_rig_tables_load_as_written(rig):
    _, facts, asset = rig
    assert asset.joint_names == facts.joint_names
    np.testing.assert_array_equal(asset.faces, facts.faces)
    np.testing.assert_array_equal(asset.joints, facts.joints)
    np.testing.assert_allclose(asset.weights, facts.weights)
    np.testing.assert_allclose(asset.uv, np.column_stack([facts.uv_file[:, 0], 1 - facts.uv_file[:, 1]]))
    assert asset.parents[facts.index["forearm_r"]] == facts.index["upper_arm_r"]
    assert asset.parents[facts.index["hips"]] == -1
    # the skinned mesh node's own translation (5, 0, 0) is ignored, as the spec requires
    np.testing.assert_allclose(asset.vertices, facts.vertices)


def test_bind_pose_skins_back_to_rest_vertices(rig):
    _, facts, asset = rig
    rest = asset.joint_matrices(None, 0.0)
    posed, normals = asset.skin(rest)
    assert np.abs(posed - facts.vertices).max() < 1e-6
    assert np.abs(normals - facts.normals).max() < 1e-6
    # the non-joint 'armature' parent (a matrix node) moves the skeleton
    hips = asset.joint_positions(rest)[facts.index["hips"]]
    np.testing.assert_allclose(hips, ARMATURE_OFFSET + [0, 1, 0], atol=1e-12)


@pytest.mark.parametrize("t, upper_deg, fore_deg", [(0.5, -60.0, -90.0), (0.75, -70.0, -60.0)])
def test_forearm_vertex_follows_analytic_rotation(rig, t, upper_deg, fore_deg):
    """Keyed (t=0.5) and between keys (t=0.75, slerp = the mean angle about one axis)."""
    _, facts, asset = rig
    assert WAVE["upper_arm_r"][0] == WAVE["forearm_r"][0] == (0, 0, 1)
    i = vertex_owned_by(facts, "forearm_r")
    shoulder, elbow = facts.rest_world["upper_arm_r"], facts.rest_world["forearm_r"]
    r_upper, r_fore = rotation((0, 0, 1), upper_deg), rotation((0, 0, 1), fore_deg)
    expected = shoulder + r_upper @ (elbow - shoulder + r_fore @ (facts.vertices[i] - elbow))
    posed, normals = asset.skin(asset.joint_matrices("wave", t))
    np.testing.assert_allclose(posed[i], expected, atol=1e-5)
    np.testing.assert_allclose(normals[i], r_upper @ r_fore @ facts.normals[i], atol=1e-5)


def test_blended_vertex_sits_between_its_two_rigid_images(rig):
    _, facts, asset = rig
    i = vertex_owned_by(facts, "upper_arm_r", "forearm_r")
    assert facts.weights[i][:2].tolist() == [0.5, 0.5]
    shoulder, elbow = facts.rest_world["upper_arm_r"], facts.rest_world["forearm_r"]
    r_upper, r_fore = rotation((0, 0, 1), -70.0), rotation((0, 0, 1), -60.0)
    v = facts.vertices[i]
    with_upper = shoulder + r_upper @ (v - shoulder)
    with_forearm = shoulder + r_upper @ (elbow - shoulder + r_fore @ (v - elbow))
    posed, _ = asset.skin(asset.joint_matrices("wave", 0.75))
    np.testing.assert_allclose(posed[i], (with_upper + with_forearm) / 2, atol=1e-5)
    assert np.linalg.norm(with_upper - with_forearm) > 0.01  # the two images differ: the test bites


@pytest.mark.parametrize("t, key", [(0.0, 0), (0.49, 0), (0.5, 1), (0.99, 1), (1.0, 2), (7.0, 2)])
def test_step_holds_each_key_until_the_next(rig, t, key):
    _, facts, asset = rig
    axis, degrees = NOD["head"]
    head = asset.joint_matrices("nod", t, loop=False)[facts.index["head"]]
    np.testing.assert_allclose(head[:3, :3], rotation(axis, degrees[key]), atol=1e-6)


@pytest.mark.parametrize("t, hips_y", [(0.0, 1.0), (0.5, 1.171875), (1.0, 1.325), (2.0, 1.2)])
def test_cubicspline_translation_matches_hand_computed_hermite(rig, t, hips_y):
    """Keys at 0 s and 2 s; values 1.0 -> 1.2, out-tangent 0.3, in-tangent -0.6 (per second,
    so scaled by the 2 s span): y(s) = h00 + 0.6 h10 + 1.2 h01 + 1.2 h11 by hand."""
    _, facts, asset = rig
    hips = asset.joint_positions(asset.joint_matrices("bounce", t, loop=False))[facts.index["hips"]]
    np.testing.assert_allclose(hips, ARMATURE_OFFSET + [0, hips_y, 0], atol=1e-6)


def test_cubicspline_rotation_is_renormalised(rig):
    """Zero tangents, identity -> 90 deg about y: halfway the blend (0.5 q0 + 0.5 q1) is not unit;
    normalised it is the 45 deg rotation."""
    _, facts, asset = rig
    assert BOUNCE_SPINE_DEG == [0.0, 90.0]
    spine = asset.joint_matrices("bounce", 1.0)[facts.index["spine"]]
    np.testing.assert_allclose(spine[:3, :3], rotation((0, 1, 0), 45.0), atol=1e-6)
    sampled = asset.clips["bounce"].channels[facts.index["spine"]]["rotation"].sample(1.0)
    assert np.linalg.norm(sampled) == pytest.approx(1.0, abs=1e-12)


def test_linear_rotation_takes_the_short_way_and_renormalises():
    q_end = -2.0 * quat_xyzw((0, 0, 1), 90.0)  # same rotation, opposite sign, not unit
    channel = Channel("rotation", np.array([0.0, 1.0]), np.array([quat_xyzw((0, 0, 1), 0.0), q_end]))
    q = channel.sample(0.5)
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert abs(np.dot(q, quat_xyzw((0, 0, 1), 45.0))) == pytest.approx(1.0)


def test_linear_translation_lerps_and_holds_outside_keys():
    channel = Channel("translation", np.array([1.0, 3.0]), np.array([[0.0, 0, 0], [4.0, 2, 0]]))
    np.testing.assert_allclose(channel.sample(2.5), [3.0, 1.5, 0])
    np.testing.assert_allclose(channel.sample(0.0), [0, 0, 0])
    np.testing.assert_allclose(channel.sample(9.0), [4.0, 2, 0])


def test_time_loops_or_clamps_by_clip_duration(rig):
    _, facts, asset = rig
    wave = asset.clips["wave"]
    assert wave.duration == pytest.approx(1.5)
    at = lambda t, loop=True: asset.joint_matrices("wave", t, loop)
    np.testing.assert_allclose(at(1.75), at(0.25), atol=1e-12)
    np.testing.assert_allclose(at(-0.25), at(1.25), atol=1e-12)
    np.testing.assert_allclose(at(10.0, loop=False), at(1.5, loop=False), atol=1e-12)
    np.testing.assert_allclose(at(-3.0, loop=False), at(0.0), atol=1e-12)
    assert np.abs(at(1.75) - at(1.75, loop=False)).max() > 0.1  # looping and clamping differ here


def test_channels_on_non_joint_nodes_are_ignored(rig):
    """'walk' also moves the armature node by z=9; only joint channels pose the skin."""
    _, facts, asset = rig
    hips = asset.joint_positions(asset.joint_matrices("walk", 0.25))[facts.index["hips"]]
    np.testing.assert_allclose(hips, ARMATURE_OFFSET + [0, 1, 0], atol=1e-12)
    thigh = asset.joint_matrices("walk", 0.25)[facts.index["thigh_l"]]
    np.testing.assert_allclose(thigh[:3, :3], rotation((1, 0, 0), -30.0), atol=1e-6)


def test_unknown_clip_names_the_file(rig):
    path, _, asset = rig
    with pytest.raises(AssetError, match="no animation clip 'dance'") as err:
        asset.joint_matrices("dance", 0.0)
    assert str(err.value).startswith(str(path))


def test_normals_use_the_inverse_transpose_under_scale_and_mirror(rig):
    _, facts, asset = rig
    rest = asset.joint_matrices(None)
    for diagonal in ([2.0, 1.0, 0.5], [-1.0, 1.0, 1.0]):
        stretch = np.diag([*diagonal, 1.0])
        _, normals = asset.skin(stretch @ rest)
        expected = facts.normals / np.asarray(diagonal)
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        np.testing.assert_allclose(normals, expected, atol=1e-6)


OPENPOSE_KEYS = [
    None,
    "neck",
    "upper_arm_r",
    "forearm_r",
    "hand_r",
    "upper_arm_l",
    "forearm_l",
    "hand_l",
    "thigh_r",
    "shin_r",
    "foot_r",
    "thigh_l",
    "shin_l",
    "foot_l",
    None,
    None,
    None,
    None,
]


@pytest.mark.parametrize("names", ["blender", "mixamo"])
def test_openpose_slots_from_builder_names(tmp_path, names):
    path = tmp_path / f"{names}.glb"
    facts = build_rigged_glb(path, with_clip=False, names=names)
    expected = [facts.index[k] if k else None for k in OPENPOSE_KEYS]
    assert load_skinned(path).openpose_joints() == expected


def test_openpose_prefers_the_upper_arm_over_a_collar_named_shoulder():
    names = [
        "mixamorig:Hips",
        "mixamorig:Neck",
        "mixamorig:LeftShoulder",
        "mixamorig:LeftArm",
        "mixamorig:LeftForeArm",
        "mixamorig:LeftHand",
        "mixamorig:LeftHandIndex1",
        "mixamorig:HeadTop_End",
    ]
    parents = [-1, 0, 1, 2, 3, 4, 5, 1]
    slots = match_openpose(names, parents)
    assert slots[5:8] == [3, 4, 5]
    assert slots[0] is None and slots[1] == 1 and slots[2] is None


@pytest.mark.parametrize(
    "names, expected",
    [
        (
            [
                "pelvis",
                "left_hip",
                "l_knee",
                "left_ankle",
                "neck",
                "head",
                "nose",
                "left_shoulder",
                "l_elbow",
                "left_wrist",
                "left_hand",
                "right_eye",
                "r_ear",
            ],
            {
                "nose": 6,
                "neck": 4,
                "l_hip": 1,
                "l_knee": 2,
                "l_ankle": 3,
                "l_shoulder": 7,
                "l_elbow": 8,
                "l_wrist": 9,
                "r_eye": 11,
                "r_ear": 12,
            },
        ),
        (
            [
                "pelvis",
                "spine_01",
                "neck_01",
                "neck_02",
                "head",
                "clavicle_r",
                "upperarm_r",
                "lowerarm_r",
                "hand_r",
                "thigh_r",
                "calf_r",
                "foot_r",
                "ball_r",
            ],
            {"neck": 2, "r_shoulder": 6, "r_elbow": 7, "r_wrist": 8, "r_hip": 9, "r_knee": 10, "r_ankle": 11},
        ),
        (
            [
                "Bip01",
                "Bip01 Pelvis",
                "Bip01 L Thigh",
                "Bip01 L Calf",
                "Bip01 L Foot",
                "Bip01 Neck",
                "Bip01 L UpperArm",
                "Bip01 L Forearm",
                "Bip01 L Hand",
            ],
            {"neck": 5, "l_hip": 2, "l_knee": 3, "l_ankle": 4, "l_shoulder": 6, "l_elbow": 7, "l_wrist": 8},
        ),
    ],
)
def test_openpose_recognises_other_naming_schemes(names, expected):
    chain = [-1] + list(range(len(names) - 1))  # a chain: depth rises with the index
    slots = dict(zip(OPENPOSE_18, match_openpose(names, chain)))
    assert {k: v for k, v in slots.items() if v is not None} == expected


@pytest.mark.parametrize("embed", [False, True])
def test_gltf_with_side_car_or_embedded_buffer_loads_like_the_glb(rig, tmp_path, embed):
    _, _, from_glb = rig
    path = tmp_path / "hero.gltf"
    build_rigged_glb(path, embed=embed)
    assert (tmp_path / "hero.bin").exists() != embed
    asset = load_skinned(path)
    for name in ("vertices", "normals", "faces", "uv", "joints", "weights", "inverse_bind", "rest_local"):
        np.testing.assert_array_equal(getattr(asset, name), getattr(from_glb, name))
    np.testing.assert_array_equal(
        asset.skin(asset.joint_matrices("walk", 0.3))[0], from_glb.skin(from_glb.joint_matrices("walk", 0.3))[0]
    )


def test_a_second_influence_set_keeps_the_four_strongest_joints(tmp_path):
    """JOINTS_1/WEIGHTS_1 (8 influences): the 4 strongest survive, renormalised to sum 1."""

    def edit(doc, blob):
        attributes = doc.meshes[0].primitives[0].attributes
        count = doc.accessors[attributes.POSITION].count
        joints, weights = np.zeros((count, 4), np.uint8), np.zeros((count, 4), np.float32)
        joints[0], weights[0] = [3, 4, 5, 6], [0.5, 0.2, 0.05, 0.02]
        for name, array, component in (
            ("JOINTS_1", joints, pygltflib.UNSIGNED_BYTE),
            ("WEIGHTS_1", weights, pygltflib.FLOAT),
        ):
            doc.accessors.append(
                pygltflib.Accessor(
                    bufferView=append_view(doc, blob, array), componentType=component, count=count, type=pygltflib.VEC4
                )
            )
            setattr(attributes, name, len(doc.accessors) - 1)

    asset = load_skinned(edited_glb(tmp_path, "eight.glb", edit))
    facts = build_rigged_glb(tmp_path / "plain.glb", with_clip=False)
    assert facts.weights[0].tolist() == [1, 0, 0, 0]
    assert asset.joints[0].tolist() == [facts.joints[0][0], 3, 4, 5]
    np.testing.assert_allclose(asset.weights[0], np.array([1, 0.5, 0.2, 0.05]) / 1.75, atol=1e-7)
    np.testing.assert_allclose(asset.weights[1:], facts.weights[1:])


# ---- broken files ------------------------------------------------------------------------------


def append_view(doc, blob, array) -> int:
    """Add `array` to the binary chunk as a new bufferView (4-byte aligned)."""
    blob.extend(b"\0" * (-len(blob) % 4))
    doc.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=array.nbytes))
    blob.extend(array.tobytes())
    doc.buffers[0].byteLength = len(blob)
    return len(doc.bufferViews) - 1


def test_sparse_accessor_values_replace_the_base_data(tmp_path):
    def edit(doc, blob):
        indices = append_view(doc, blob, np.array([2, 5], np.uint16))
        values = append_view(doc, blob, np.array([[1, 2, 3], [4, 5, 6]], np.float32))
        doc.accessors[doc.meshes[0].primitives[0].attributes.POSITION].sparse = pygltflib.Sparse(
            count=2,
            indices=pygltflib.AccessorSparseIndices(bufferView=indices, componentType=pygltflib.UNSIGNED_SHORT),
            values=pygltflib.AccessorSparseValues(bufferView=values),
        )

    asset = load_skinned(edited_glb(tmp_path, "sparse.glb", edit))
    np.testing.assert_array_equal(asset.vertices[[2, 5]], [[1, 2, 3], [4, 5, 6]])
    facts = build_rigged_glb(tmp_path / "plain.glb", with_clip=False)
    np.testing.assert_array_equal(np.delete(asset.vertices, [2, 5], 0), np.delete(facts.vertices, [2, 5], 0))


def edited_glb(tmp_path, name, edit):
    """The builder's GLB with `edit(doc, blob)` applied to its JSON and binary chunk."""
    source = tmp_path / "source.glb"
    build_rigged_glb(source)
    doc = pygltflib.GLTF2.load_binary(str(source))
    blob = bytearray(doc.binary_blob())
    edit(doc, blob)
    doc.set_binary_blob(bytes(blob))
    target = tmp_path / name
    doc.save_binary(str(target))
    return target


def first_primitive_bytes_at(doc, attribute):
    accessor = doc.accessors[getattr(doc.meshes[0].primitives[0].attributes, attribute)]
    return doc.bufferViews[accessor.bufferView].byteOffset + (accessor.byteOffset or 0)


def make_missing(tmp_path):
    return tmp_path / "nobody.glb"


def make_empty(tmp_path):
    (tmp_path / "empty.glb").write_bytes(b"")
    return tmp_path / "empty.glb"


def make_truncated(tmp_path):
    build_rigged_glb(tmp_path / "whole.glb")
    data = (tmp_path / "whole.glb").read_bytes()
    (tmp_path / "half.glb").write_bytes(data[: len(data) // 2])
    return tmp_path / "half.glb"


def make_not_gltf(tmp_path):
    (tmp_path / "config.gltf").write_text('{"hello": "world"}')
    return tmp_path / "config.gltf"


def make_unskinned(tmp_path):
    build_rigged_glb(tmp_path / "statue.glb", with_skin=False)
    return tmp_path / "statue.glb"


def make_accessor_out_of_range(tmp_path):
    def edit(doc, blob):
        doc.accessors[doc.meshes[0].primitives[0].attributes.POSITION].count = 10**6

    return edited_glb(tmp_path, "overrun.glb", edit)


def make_nan_positions(tmp_path):
    def edit(doc, blob):
        struct.pack_into("<f", blob, first_primitive_bytes_at(doc, "POSITION"), float("nan"))

    return edited_glb(tmp_path, "nan.glb", edit)


def make_zero_weights(tmp_path):
    def edit(doc, blob):
        struct.pack_into("<4f", blob, first_primitive_bytes_at(doc, "WEIGHTS_0"), 0, 0, 0, 0)

    return edited_glb(tmp_path, "weightless.glb", edit)


def make_missing_side_car(tmp_path):
    build_rigged_glb(tmp_path / "lost.gltf")
    (tmp_path / "lost.bin").unlink()
    return tmp_path / "lost.gltf"


def make_draco_required(tmp_path):
    def edit(doc, blob):
        doc.extensionsUsed = doc.extensionsRequired = ["KHR_draco_mesh_compression"]

    return edited_glb(tmp_path, "draco.glb", edit)


def make_escaping_side_car(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    build_rigged_glb(tmp_path / "outside.gltf")
    text = (tmp_path / "outside.gltf").read_text().replace('"outside.bin"', '"../outside.bin"')
    (inner / "sneaky.gltf").write_text(text)
    return inner / "sneaky.gltf"


@pytest.mark.parametrize(
    "make, says",
    [
        (make_missing, "not found"),
        (make_empty, "empty file"),
        (make_truncated, "truncated GLB"),
        (make_not_gltf, "not glTF 2.0"),
        (make_unskinned, "no skinned mesh (the file has meshes but no 'skins')"),
        (make_accessor_out_of_range, "out of range"),
        (make_nan_positions, "not finite"),
        (make_zero_weights, "all-zero skin weights"),
        (make_missing_side_car, "side-car file 'lost.bin' not found"),
        (make_escaping_side_car, "outside the file's folder"),
        (make_draco_required, "KHR_draco_mesh_compression"),
    ],
)
def test_broken_files_are_one_line_asset_errors_naming_the_file(tmp_path, make, says):
    path = make(tmp_path)
    with pytest.raises(AssetError) as err:
        load_skinned(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert says in message
    assert "\n" not in message


def test_no_raw_exception_from_cut_or_mangled_files(rig, tmp_path):
    """Cuts at many lengths and mangled JSON either load or raise AssetError, nothing else."""
    path, _, _ = rig
    data = path.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 40)):
        bad = tmp_path / f"cut{cut}.glb"
        bad.write_bytes(data[:cut])
        with pytest.raises(AssetError):
            load_skinned(bad)
    build_rigged_glb(tmp_path / "ok.gltf", embed=True)
    text = (tmp_path / "ok.gltf").read_text()
    mangles = [
        ('"nodes"', '"nodez"'),
        ('"count"', '"cuont"'),
        ('"joints"', '"joints_"'),
        ('"matrix"', '"matrx"'),
        ('"componentType": 5126', '"componentType": 9'),
        ('"type": "VEC3"', '"type": "VEC7"'),
        ('"children": [', '"children": [99, '),
        ('"skin": 0', '"skin": 3'),
        ('"mesh": 0', '"mesh": "0"'),
        ('"translation": [', '"translation": ["x", '),
        ('"uri": "data:', '"uri": "data:x'),
        ('"input": ', '"input": 1000 + '),
        ('"interpolation": "STEP"', '"interpolation": "SMOOTH"'),
        ('"asset": {', '"asset": 3, "x": {'),
    ]
    survived = 0
    for i, (old, new) in enumerate(mangles):
        assert old in text, old
        bad = tmp_path / f"mangled{i}.gltf"
        bad.write_text(text.replace(old, new, 1))
        try:
            load_skinned(bad)
            survived += 1
        except AssetError as e:
            assert str(e).startswith(str(bad))
    assert survived < len(mangles)  # most of these must be refused
