"""Rigged, skinned characters posed over time by linear blend skinning.

A film needs a bought or exported character to move the same way in every frame and every
shot, so the rig is read once (joint tree, inverse bind matrices, per-vertex joints and
weights, animation clips) and the posed mesh is then a pure function of (clip, t).

This module is the rig and its maths; reading and checking a .glb/.gltf file into a
`SkinnedAsset` is `worldgen.gltf_reader`'s job."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from worldgen.character.rig import KEYPOINTS
from worldgen.errors import AssetError
from worldgen.transforms import decompose_trs, slerp_xyzw, trs_matrix


# ---------------------------------------------------------------------------------------------
# animation


@dataclass
class Channel:
    """One animated property of one joint: key times and values as the file stores them
    (CUBICSPLINE values are triples in-tangent, value, out-tangent per key)."""

    path: str  # 'translation' | 'rotation' (xyzw) | 'scale'
    times: np.ndarray  # (K,) seconds, non-decreasing
    values: np.ndarray  # (K, C), or (3K, C) for CUBICSPLINE
    interpolation: str = "LINEAR"

    def key_value(self, k: int) -> np.ndarray:
        v = self.values[3 * k + 1] if self.interpolation == "CUBICSPLINE" else self.values[k]
        return self._unit(v.copy())

    def sample(self, t: float) -> np.ndarray:
        """The property at time t; held at the first/last key outside the keyed range."""
        times = self.times
        if len(times) == 1 or t <= times[0]:
            return self.key_value(0)
        if t >= times[-1]:
            return self.key_value(len(times) - 1)
        k = int(np.searchsorted(times, t, side="right")) - 1
        span = times[k + 1] - times[k]
        if span <= 0:
            return self.key_value(k + 1)
        s = (t - times[k]) / span
        if self.interpolation == "STEP":
            return self.key_value(k)
        if self.interpolation == "CUBICSPLINE":
            return self._unit(self._hermite(k, s, span))
        if self.path == "rotation":
            return slerp_xyzw(self.values[k], self.values[k + 1], s)
        return (1.0 - s) * self.values[k] + s * self.values[k + 1]

    def _hermite(self, k: int, s: float, span: float) -> np.ndarray:
        """glTF cubic spline: tangents are per second, hence scaled by the key span."""
        v0, out0 = self.values[3 * k + 1], self.values[3 * k + 2]
        in1, v1 = self.values[3 * (k + 1)], self.values[3 * (k + 1) + 1]
        s2, s3 = s * s, s * s * s
        return (
            (2 * s3 - 3 * s2 + 1) * v0
            + (s3 - 2 * s2 + s) * span * out0
            + (-2 * s3 + 3 * s2) * v1
            + (s3 - s2) * span * in1
        )

    def _unit(self, v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v) if self.path == "rotation" else v


@dataclass
class Clip:
    """One glTF animation, restricted to channels that drive joints."""

    name: str
    duration: float
    channels: dict[int, dict[str, Channel]] = field(default_factory=dict)  # joint -> path -> channel


def clip_time(t: float, duration: float, loop: bool) -> float:
    """Wrap (loop) or clamp t into the clip's [0, duration]."""
    if duration <= 0:
        return 0.0
    return float(t % duration) if loop else float(np.clip(t, 0.0, duration))


# ---------------------------------------------------------------------------------------------
# the asset


@dataclass
class SkinnedAsset:
    """A skinned mesh in its bind pose, its joint tree and its clips."""

    vertices: np.ndarray  # (V,3) bind-pose positions in the mesh's model space
    normals: np.ndarray  # (V,3)
    faces: np.ndarray  # (F,3) int
    uv: np.ndarray  # (V,2), origin bottom-left like trimesh (glTF v flipped); zeros if absent
    joint_names: list[str]
    parents: np.ndarray  # (J,) int, -1 for roots
    rest_local: np.ndarray  # (J,4,4) each joint's local transform from its node
    inverse_bind: np.ndarray  # (J,4,4)
    joints: np.ndarray  # (V,4) int
    weights: np.ndarray  # (V,4) float, rows sum to 1
    clips: dict[str, Clip]
    parent_offset: np.ndarray | None = None  # (J,4,4) non-joint nodes between a joint and its joint parent
    source: str = ""  # the file, for error messages
    morphs: dict[str, np.ndarray] = field(default_factory=dict)  # morph target name -> (V,3) position deltas

    def __post_init__(self):
        count = len(self.joint_names)
        if self.parent_offset is None:
            self.parent_offset = np.tile(np.eye(4), (count, 1, 1))
        self._order = parents_first_order(self.parents)
        self._rest_trs = [decompose_trs(m) for m in self.rest_local]
        self.jaw = jaw_joint(self.joint_names)
        self.mouth_morph = mouth_morph(list(self.morphs))

    @property
    def has_mouth(self) -> bool:
        """Whether speech can move this body's mouth: a jaw bone or a mouth-open morph target."""
        return self.jaw is not None or self.mouth_morph is not None

    def joint_matrices(self, clip: str | None, t: float = 0.0, loop: bool = True, jaw_open: float = 0.0) -> np.ndarray:
        """(J,4,4) model-space joint transforms at time t of `clip` (the rest pose for None),
        the jaw (if any) opened by `jaw_open` (0..1) on top of the clip."""
        local = self._locals(clip, t, loop)
        world = self._globals(local)
        if jaw_open > 0 and self.jaw is not None:
            # a turn about the model's x axis (the body's left-right; glTF bodies face +z) through
            # the jaw joint, chin down, whatever way the joint's own axes point
            axis = np.linalg.solve(world[self.jaw][:3, :3], np.array([1.0, 0.0, 0.0]))
            turn = np.eye(4)
            turn[:3, :3] = rotation_about(axis, np.radians(JAW_DEGREES * jaw_open))
            local[self.jaw] = local[self.jaw] @ turn
            world = self._globals(local)
        return world

    def skin(self, joint_world: np.ndarray, mouth_open: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Linear blend skinning: posed (V,3) vertices and unit (V,3) normals; the mouth morph
        target (if any) weighted by `mouth_open` first, as glTF morphs before it skins."""
        blended = self._blended_skin_matrices(joint_world)
        linear = blended[:, :3, :3]
        rest = self.vertices
        if mouth_open > 0 and self.mouth_morph is not None:
            rest = rest + mouth_open * self.morphs[self.mouth_morph]
        posed = np.einsum("vij,vj->vi", linear, rest) + blended[:, :3, 3]
        return posed, skin_normals(linear, self.normals)

    def joint_positions(self, joint_world: np.ndarray) -> np.ndarray:
        """(J,3) joint origins: where a keypoint for that joint sits."""
        return np.asarray(joint_world)[:, :3, 3].copy()

    def openpose_joints(self) -> list[int | None]:
        """Joint index standing for each OpenPose-18 keypoint (None where no joint matches)."""
        return match_openpose(self.joint_names, self.parents)

    def _locals(self, clip: str | None, t: float, loop: bool) -> np.ndarray:
        local = self.rest_local.copy()
        if clip is None:
            return local
        if clip not in self.clips:
            raise AssetError(f"{self.source}: no animation clip '{clip}' (clips: {', '.join(self.clips) or 'none'})")
        chosen = self.clips[clip]
        at = clip_time(t, chosen.duration, loop)
        for j, by_path in chosen.channels.items():
            translation, rotation, scale = self._rest_trs[j]
            sampled = {path: channel.sample(at) for path, channel in by_path.items()}
            local[j] = trs_matrix(
                sampled.get("translation", translation), sampled.get("rotation", rotation), sampled.get("scale", scale)
            )
        return local

    def _globals(self, local: np.ndarray) -> np.ndarray:
        world = np.empty_like(local)
        for j in self._order:
            parent = self.parents[j]
            above = world[parent] if parent >= 0 else np.eye(4)
            world[j] = above @ self.parent_offset[j] @ local[j]
        return world

    def _blended_skin_matrices(self, joint_world: np.ndarray) -> np.ndarray:
        joint_world = np.asarray(joint_world, dtype=np.float64)
        if joint_world.shape != self.inverse_bind.shape:
            raise ValueError(f"joint_world must be {self.inverse_bind.shape}, got {joint_world.shape}")
        per_joint = joint_world @ self.inverse_bind
        return np.einsum("vk,vkij->vij", self.weights, per_joint[self.joints])


JAW_DEGREES = 22.0  # how far a jaw bone turns at a wide-open mouth (opening 1)
# morph target names that open a mouth (lower case, separators dropped): ARKit's jawOpen, the
# common mouthOpen, and the 'aa' viseme of Oculus/VRChat/Ready Player Me face rigs
MOUTH_MORPHS = ("mouthopen", "jawopen", "visemeaa", "vrcvaa", "openmouth", "mouthaa")


def jaw_joint(joint_names: list[str]) -> int | None:
    """The joint named for the jaw ('jaw', 'mixamorig:Jaw', 'DEF-jaw', 'Jaw_01'), if any."""
    for j, name in enumerate(joint_names):
        side, stem = name_side_and_stem(name)
        if side is None and stem in ("jaw", "lowerjaw", "jawbone", "mandible"):
            return j
    return None


def mouth_morph(names: list[str]) -> str | None:
    """The morph target that opens the mouth, by the names face rigs use, if any."""
    keyed = {re.sub(r"[^a-z]", "", n.lower()): n for n in names}
    return next((keyed[k] for k in MOUTH_MORPHS if k in keyed), None)


def rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """3x3 rotation by `angle` (radians) about `axis` (Rodrigues)."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def skin_normals(linear: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Normals through each vertex's blended 3x3 by its cofactor (inverse transpose up to
    det), which stays right under non-uniform scale and never divides by a zero det."""
    a, b, c = linear[:, :, 0], linear[:, :, 1], linear[:, :, 2]
    det = np.einsum("vi,vi->v", a, np.cross(b, c))
    n = np.cross(b, c) * normals[:, :1] + np.cross(c, a) * normals[:, 1:2] + np.cross(a, b) * normals[:, 2:3]
    n *= np.where(det < 0, -1.0, 1.0)[:, None]
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return n / np.where(length > 1e-20, length, 1.0)


def parents_first_order(parents: np.ndarray) -> list[int]:
    """Joint indices with every parent before its children (glTF does not promise that)."""
    depth = [joint_depth(parents, j) for j in range(len(parents))]
    return sorted(range(len(parents)), key=lambda j: (depth[j], j))


def joint_depth(parents: np.ndarray, j: int) -> int:
    depth = 0
    while parents[j] >= 0:
        j, depth = int(parents[j]), depth + 1
        if depth > len(parents):
            raise ValueError("joint parents form a cycle")
    return depth


# ---------------------------------------------------------------------------------------------
# OpenPose keypoints from joint names

OPENPOSE_18 = KEYPOINTS  # the 18 joints a rig's bones are matched to, in OpenPose's order (rig.py)

# keypoint part -> tiers of joint stems, best first. Mixamo's 'LeftShoulder' and Rigify's
# 'shoulder.L' are collar bones, so an upper-arm joint wins over a 'shoulder' one.
_PART_STEMS = {
    "nose": [{"nose"}],
    "neck": [{"neck"}],
    "shoulder": [{"upperarm", "arm", "uparm", "shldr", "humerus"}, {"shoulder"}],
    "elbow": [{"forearm", "lowerarm", "loarm", "elbow"}],
    "wrist": [{"wrist"}, {"hand"}],
    "hip": [{"upleg", "upperleg", "thigh", "hip", "femur"}],
    "knee": [{"leg", "lowerleg", "loleg", "shin", "calf", "knee"}],
    "ankle": [{"ankle"}, {"foot"}],
    "eye": [{"eye"}],
    "ear": [{"ear"}],
}
_SIDE_WORDS = {"l": "l", "left": "l", "r": "r", "right": "r"}
_NOISE_TOKEN = re.compile(r"^(mixamorig\d*|bip\d*|def|org|mch|cc|base|armature|rig|jnt|joint|bone|bn|\d+)$")
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def name_side_and_stem(name: str) -> tuple[str | None, str]:
    """('l' | 'r' | None, stem) of a joint name: 'mixamorig:LeftForeArm' -> ('l', 'forearm'),
    'upper_arm.R' -> ('r', 'upperarm'), 'Bip01 L Calf' -> ('l', 'calf'), 'neck_01' -> (None, 'neck')."""
    side, kept = None, []
    for token in (tok.lower() for tok in _TOKEN.findall(name)):
        if token in _SIDE_WORDS and side is None:
            side = _SIDE_WORDS[token]
        elif not _NOISE_TOKEN.match(token):
            kept.append(token)
    return side, "".join(kept)


def match_openpose(joint_names: list[str], parents) -> list[int | None]:
    """OpenPose-18 keypoint -> joint index by name; ties go to the joint nearest the root
    (the base of a multi-joint neck), then the lower index."""
    parents = np.asarray(parents, dtype=np.int64)
    keyed = [(name_side_and_stem(n), joint_depth(parents, j), j) for j, n in enumerate(joint_names)]
    slots: list[int | None] = []
    for keypoint in OPENPOSE_18:
        side, part = (keypoint[0], keypoint[2:]) if keypoint[1] == "_" else (None, keypoint)
        slots.append(_best_joint(keyed, side, _PART_STEMS[part]))
    return slots


def _best_joint(keyed, side: str | None, tiers: list[set[str]]) -> int | None:
    for stems in tiers:
        found = [(depth, j) for (s, stem), depth, j in keyed if s == side and stem in stems]
        if found:
            return min(found)[1]
    return None
