"""Builds a small rigged humanoid (GLB or glTF) for the skinning tests; not a test file.

Everything is chosen so tests can compute answers by hand: rest joints carry no rotation,
limbs lie along axes, key times are exact in float32, and each clip turns about one axis.
Traps a loader must handle are built in: the skeleton hangs under a non-joint 'armature'
node (a `matrix`, not TRS), the skinned mesh node has a transform the spec says to ignore,
the skin lists joints children-first, and the mesh is two primitives (one indexed with
uint8 joints, one unindexed with uint16 joints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygltflib as gl

ARMATURE_OFFSET = np.array([0.0, 0.0, 0.3])  # the non-joint parent of 'hips'
MESH_NODE_OFFSET = [5.0, 0.0, 0.0]  # must be ignored (glTF: a skinned mesh's node transform is unused)
HALF_WIDTH = 0.04

# key -> (parent key, rest position in the armature's frame, far end of the bone's box, blend end with)
SKELETON = {
    "hips": (None, (0.0, 1.0, 0.0), (0.0, 1.2, 0.0), None),
    "spine": ("hips", (0.0, 1.2, 0.0), (0.0, 1.5, 0.0), None),
    "neck": ("spine", (0.0, 1.5, 0.0), (0.0, 1.6, 0.0), None),
    "head": ("neck", (0.0, 1.6, 0.0), (0.0, 1.85, 0.0), None),
}
for _side, _x in (("l", 1.0), ("r", -1.0)):  # glTF characters face +z, so their left is +x
    SKELETON |= {
        f"upper_arm_{_side}": ("spine", (0.2 * _x, 1.45, 0.0), (0.5 * _x, 1.45, 0.0), f"forearm_{_side}"),
        f"forearm_{_side}": (f"upper_arm_{_side}", (0.5 * _x, 1.45, 0.0), (0.75 * _x, 1.45, 0.0), None),
        f"hand_{_side}": (f"forearm_{_side}", (0.75 * _x, 1.45, 0.0), (0.9 * _x, 1.45, 0.0), None),
        f"thigh_{_side}": ("hips", (0.1 * _x, 0.95, 0.0), (0.1 * _x, 0.5, 0.0), f"shin_{_side}"),
        f"shin_{_side}": (f"thigh_{_side}", (0.1 * _x, 0.5, 0.0), (0.1 * _x, 0.08, 0.0), None),
        f"foot_{_side}": (f"shin_{_side}", (0.1 * _x, 0.08, 0.0), (0.1 * _x, 0.03, 0.2), None),
    }
ARM_KEYS = [k for k in SKELETON if k.split("_")[0] in ("upper", "forearm", "hand")]


BLENDER_NAMES = {"hips": "hips", "spine": "spine", "neck": "neck", "head": "head"} | {
    f"{part}_{s}": f"{blender}.{s.upper()}"
    for s in "lr"
    for part, blender in (
        ("upper_arm", "upper_arm"),
        ("forearm", "forearm"),
        ("hand", "hand"),
        ("thigh", "thigh"),
        ("shin", "shin"),
        ("foot", "foot"),
    )
}
MIXAMO_NAMES = {
    "hips": "mixamorig:Hips",
    "spine": "mixamorig:Spine",
    "neck": "mixamorig:Neck",
    "head": "mixamorig:Head",
} | {
    f"{part}_{s}": f"mixamorig:{side}{mixamo}"
    for s, side in (("l", "Left"), ("r", "Right"))
    for part, mixamo in (
        ("upper_arm", "Arm"),
        ("forearm", "ForeArm"),
        ("hand", "Hand"),
        ("thigh", "UpLeg"),
        ("shin", "Leg"),
        ("foot", "Foot"),
    )
}
NAME_SCHEMES = {"blender": BLENDER_NAMES, "mixamo": MIXAMO_NAMES}

# clips: key times (exact in float32) and per-joint angles in degrees about one axis
WAVE_TIMES = [0.0, 0.5, 1.0, 1.5]
WAVE = {"upper_arm_r": ((0, 0, 1), [0.0, -60.0, -80.0, 0.0]), "forearm_r": ((0, 0, 1), [0.0, -90.0, -30.0, 0.0])}
WALK_TIMES = [0.0, 0.25, 0.5, 0.75, 1.0]
WALK = {
    "thigh_l": ((1, 0, 0), [0.0, -30.0, 0.0, 30.0, 0.0]),
    "thigh_r": ((1, 0, 0), [0.0, 30.0, 0.0, -30.0, 0.0]),
    "shin_l": ((1, 0, 0), [0.0, 40.0, 0.0, 10.0, 0.0]),
    "shin_r": ((1, 0, 0), [0.0, 10.0, 0.0, 40.0, 0.0]),
}
NOD_TIMES = [0.0, 0.5, 1.0]
NOD = {"head": ((1, 0, 0), [0.0, 20.0, -10.0])}  # STEP
BOUNCE_TIMES = [0.0, 2.0]  # CUBICSPLINE, a 2 s span so tangent scaling matters
BOUNCE_HIPS = [(0, 0, 0), (0, 1.0, 0), (0, 0.3, 0), (0, -0.6, 0), (0, 1.2, 0), (0, 0, 0)]  # in, value, out per key
BOUNCE_SPINE_DEG = [0.0, 90.0]  # about y, zero tangents


def quat_xyzw(axis, degrees: float) -> np.ndarray:
    half = np.radians(degrees) / 2
    return np.array([*(np.asarray(axis, float) * np.sin(half)), np.cos(half)])


@dataclass
class RigFacts:
    """What the file holds, in the loader's order, for analytic test answers."""

    joint_names: list[str]  # skin order
    index: dict[str, int]  # builder key ('forearm_r') -> joint index
    rest_world: dict[str, np.ndarray]  # builder key -> joint origin in model space
    vertices: np.ndarray  # (V,3) as stored (float32 values)
    normals: np.ndarray
    uv_file: np.ndarray  # (V,2) as stored (glTF's top-left origin)
    joints: np.ndarray  # (V,4)
    weights: np.ndarray  # (V,4)
    faces: np.ndarray  # (F,3) merged
    owner: list[tuple[str, str | None]] = field(default_factory=list)  # per vertex: (bone, blend partner)


def _frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(d, u)


# a jaw for the face tests (build_rigged_glb(face=...)): hinged inside the head, reaching forward
JAW = {"jaw": ("head", (0.0, 1.68, 0.0), (0.0, 1.68, 0.14), None)}
MOUTH_MORPH_DROP = 0.06  # m: the 'mouthOpen' target moves the front of the head's bottom ring down and forward by this


def _bone_box(key: str, skeleton: dict = SKELETON):
    """8 corners (4 at the joint, 4 at the far end), 12 triangles, outward normals, uv, owners."""
    _, start, end, blend = skeleton[key]
    start, end = np.asarray(start) + ARMATURE_OFFSET, np.asarray(end) + ARMATURE_OFFSET
    u, v = _frame(end - start)
    ring = [(+1, +1), (-1, +1), (-1, -1), (+1, -1)]
    corners = [c + HALF_WIDTH * (a * u + b * v) for c in (start, end) for a, b in ring]
    centre = (start + end) / 2
    normals = [(p - centre) / np.linalg.norm(p - centre) for p in corners]
    uv = [(i / 4, float(end_ring)) for end_ring in (0, 1) for i in range(4)]
    owners = [(key, None)] * 4 + [(key, blend)] * 4
    quads = [(0, 1, 2, 3), (7, 6, 5, 4)] + [(i, (i + 1) % 4, 4 + (i + 1) % 4, 4 + i) for i in range(4)]
    tris = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return np.array(corners), np.array(normals), np.array(uv), owners, np.array(tris)


def _body_part(keys: list[str], index: dict[str, int], skeleton: dict = SKELETON):
    parts = [_bone_box(k, skeleton) for k in keys]
    offsets = np.cumsum([0] + [8] * (len(parts) - 1))
    vertices = np.concatenate([p[0] for p in parts])
    normals = np.concatenate([p[1] for p in parts])
    uv = np.concatenate([p[2] for p in parts])
    owners = [o for p in parts for o in p[3]]
    faces = np.concatenate([p[4] + off for p, off in zip(parts, offsets)])
    joints = np.array([[index[bone], index[blend] if blend else 0, 0, 0] for bone, blend in owners])
    weights = np.array([[0.5, 0.5, 0, 0] if blend else [1.0, 0, 0, 0] for _, blend in owners])
    return vertices, normals, uv, owners, faces, joints, weights


class _Blob:
    """Appends typed arrays to one buffer and describes them as accessors."""

    def __init__(self, doc: gl.GLTF2):
        self.doc, self.data = doc, bytearray()

    def add(
        self, array: np.ndarray, component: int, kind: str, target: int | None = None, with_bounds: bool = False
    ) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        self.doc.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw), target=target)
        )
        self.data += raw + b"\0" * (-len(raw) % 4)
        flat = np.asarray(array).reshape(len(array), -1)
        bounds = dict(min=flat.min(0).tolist(), max=flat.max(0).tolist()) if with_bounds else {}
        self.doc.accessors.append(
            gl.Accessor(
                bufferView=len(self.doc.bufferViews) - 1, componentType=component, count=len(array), type=kind, **bounds
            )
        )
        return len(self.doc.accessors) - 1


def _primitive(blob: _Blob, part, indexed: bool, joint_type: int, morph: np.ndarray | None = None) -> gl.Primitive:
    vertices, normals, uv, _, faces, joints, weights = part
    attributes = gl.Attributes(
        POSITION=blob.add(vertices.astype(np.float32), gl.FLOAT, gl.VEC3, gl.ARRAY_BUFFER, with_bounds=True),
        NORMAL=blob.add(normals.astype(np.float32), gl.FLOAT, gl.VEC3, gl.ARRAY_BUFFER),
        TEXCOORD_0=blob.add(uv.astype(np.float32), gl.FLOAT, gl.VEC2, gl.ARRAY_BUFFER),
        JOINTS_0=blob.add(
            joints.astype(np.uint8 if joint_type == gl.UNSIGNED_BYTE else np.uint16),
            joint_type,
            gl.VEC4,
            gl.ARRAY_BUFFER,
        ),
        WEIGHTS_0=blob.add(weights.astype(np.float32), gl.FLOAT, gl.VEC4, gl.ARRAY_BUFFER),
    )
    indices = (
        blob.add(faces.reshape(-1).astype(np.uint16), gl.UNSIGNED_SHORT, gl.SCALAR, gl.ELEMENT_ARRAY_BUFFER)
        if indexed
        else None
    )
    targets = (
        [{"POSITION": blob.add(morph.astype(np.float32), gl.FLOAT, gl.VEC3, with_bounds=True)}]
        if morph is not None
        else None
    )
    return gl.Primitive(attributes=attributes, indices=indices, mode=gl.TRIANGLES, targets=targets)


def _unindexed(part):
    """Every triangle its own three vertices (the glTF non-indexed layout)."""
    vertices, normals, uv, owners, faces, joints, weights = part
    flat = faces.reshape(-1)
    return (
        vertices[flat],
        normals[flat],
        uv[flat],
        [owners[i] for i in flat],
        np.arange(len(flat)).reshape(-1, 3),
        joints[flat],
        weights[flat],
    )


def _rotation_channels(blob, animation, times, tracks, node_of, interpolation="LINEAR"):
    t = blob.add(np.array(times, np.float32), gl.FLOAT, gl.SCALAR, with_bounds=True)
    for key, (axis, degrees) in tracks.items():
        quats = np.array([quat_xyzw(axis, d) for d in degrees], np.float32)
        _channel(blob, animation, t, quats, gl.VEC4, node_of[key], "rotation", interpolation)


def _channel(blob, animation, times_accessor, values, kind, node, path, interpolation):
    output = blob.add(np.asarray(values, np.float32), gl.FLOAT, kind)
    animation.samplers.append(gl.AnimationSampler(input=times_accessor, output=output, interpolation=interpolation))
    animation.channels.append(
        gl.AnimationChannel(sampler=len(animation.samplers) - 1, target=gl.AnimationChannelTarget(node=node, path=path))
    )


def _animations(blob: _Blob, node_of: dict[str, int], armature_node: int) -> list[gl.Animation]:
    wave, walk, nod, bounce = (gl.Animation(name=n) for n in ("wave", "walk", "nod", "bounce"))
    _rotation_channels(blob, wave, WAVE_TIMES, WAVE, node_of)
    _rotation_channels(blob, walk, WALK_TIMES, WALK, node_of)
    walk_t = blob.add(np.array(WALK_TIMES, np.float32), gl.FLOAT, gl.SCALAR, with_bounds=True)
    _channel(
        blob, walk, walk_t, [[0, 0, 9]] * len(WALK_TIMES), gl.VEC3, armature_node, "translation", "LINEAR"
    )  # on a non-joint node: a skin loader ignores it
    _rotation_channels(blob, nod, NOD_TIMES, NOD, node_of, "STEP")
    bounce_t = blob.add(np.array(BOUNCE_TIMES, np.float32), gl.FLOAT, gl.SCALAR, with_bounds=True)
    _channel(blob, bounce, bounce_t, BOUNCE_HIPS, gl.VEC3, node_of["hips"], "translation", "CUBICSPLINE")
    zero = np.zeros(4)
    spine = [
        zero,
        quat_xyzw((0, 1, 0), BOUNCE_SPINE_DEG[0]),
        zero,
        zero,
        quat_xyzw((0, 1, 0), BOUNCE_SPINE_DEG[1]),
        zero,
    ]
    _channel(blob, bounce, bounce_t, spine, gl.VEC4, node_of["spine"], "rotation", "CUBICSPLINE")
    return [wave, walk, nod, bounce]


def build_rigged_glb(
    path,
    with_clip: bool = True,
    with_skin: bool = True,
    names: str = "blender",
    embed: bool = False,
    face: tuple[str, ...] = (),
) -> RigFacts:
    """Write the humanoid to `path` (.glb; or .gltf with a side-car .bin, base64 if `embed`).
    `face` may add a 'jaw' bone (a box hinged in the head, reaching forward) and a 'morph': a
    'mouthOpen' morph target that moves the front of the head's bottom ring down and forward."""
    path = Path(path)
    skeleton = SKELETON | (JAW if "jaw" in face else {})
    naming = NAME_SCHEMES[names] | {"jaw": "jaw"}
    keys = list(skeleton)
    skin_order = keys[::-1]  # children before parents: a loader must not assume the reverse
    index = {k: j for j, k in enumerate(skin_order)}

    doc = gl.GLTF2(scene=0, scenes=[gl.Scene(nodes=[0, 1])])
    armature_matrix = np.eye(4)
    armature_matrix[:3, 3] = ARMATURE_OFFSET
    doc.nodes.append(gl.Node(name="armature", matrix=armature_matrix.T.reshape(-1).tolist()))  # column-major
    doc.nodes.append(gl.Node(name="body", mesh=0, skin=0 if with_skin else None, translation=MESH_NODE_OFFSET))
    node_of = {k: 2 + i for i, k in enumerate(keys)}
    for k in keys:
        parent, position, _, _ = skeleton[k]
        local = np.asarray(position) - (np.asarray(skeleton[parent][1]) if parent else 0.0)
        children = [node_of[c] for c in keys if skeleton[c][0] == k]
        doc.nodes.append(gl.Node(name=naming[k], translation=local.tolist(), children=children))
    doc.nodes[0].children = [node_of["hips"]]

    blob = _Blob(doc)
    body = _body_part([k for k in keys if k not in ARM_KEYS], index, skeleton)
    arms = _unindexed(_body_part(ARM_KEYS, index))
    morph = None
    if "morph" in face:  # the head box's bottom ring, front half: down
        owners, verts = body[3], body[0]
        head_bottom = [i for i, (bone, _) in enumerate(owners) if bone == "head"][:4]
        morph = np.zeros_like(verts)
        for i in head_bottom:
            if verts[i, 2] > ARMATURE_OFFSET[2]:
                morph[i, 1:] = -MOUTH_MORPH_DROP, MOUTH_MORPH_DROP  # down and out, past the neck
    doc.meshes.append(
        gl.Mesh(
            name="body",
            primitives=[
                _primitive(blob, body, True, gl.UNSIGNED_BYTE, morph),
                _primitive(
                    blob, arms, False, gl.UNSIGNED_SHORT, None if morph is None else np.zeros((len(arms[0]), 3))
                ),
            ],
            weights=[0.0] if morph is not None else None,
            extras={"targetNames": ["mouthOpen"]} if morph is not None else {},
        )
    )
    rest_world = {k: np.asarray(skeleton[k][1]) + ARMATURE_OFFSET for k in keys}
    if with_skin:
        inverse_bind = np.array([_translation(-rest_world[k]).T for k in skin_order], np.float32)  # column-major
        doc.skins.append(
            gl.Skin(
                joints=[node_of[k] for k in skin_order], inverseBindMatrices=blob.add(inverse_bind, gl.FLOAT, gl.MAT4)
            )
        )
    if with_clip:
        doc.animations = _animations(blob, node_of, armature_node=0)

    doc.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    doc.set_binary_blob(bytes(blob.data))
    _save(doc, path, embed)
    return _facts(naming, skin_order, index, rest_world, body, arms)


def _translation(offset) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = offset
    return m


def _save(doc: gl.GLTF2, path: Path, embed: bool) -> None:
    if path.suffix.lower() == ".glb":
        doc.save_binary(str(path))
        return
    if embed:
        doc.convert_buffers(gl.BufferFormat.DATAURI)
    doc.save_json(str(path))  # without `embed`: the blob goes to <stem>.bin beside it


def _facts(naming, skin_order, index, rest_world, *parts) -> RigFacts:
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    return RigFacts(
        joint_names=[naming[k] for k in skin_order],
        index=index,
        rest_world=rest_world,
        vertices=np.concatenate([p[0] for p in parts]).astype(np.float32).astype(np.float64),
        normals=np.concatenate([p[1] for p in parts]).astype(np.float32).astype(np.float64),
        uv_file=np.concatenate([p[2] for p in parts]),
        owner=[o for p in parts for o in p[3]],
        faces=np.concatenate([p[4] + off for p, off in zip(parts, offsets)]),
        joints=np.concatenate([p[5] for p in parts]),
        weights=np.concatenate([p[6] for p in parts]),
    )
