"""A humanoid's proportions and its proxy body: rigid parts that ride on the rig's bones.

Rigid parts (not a skinned mesh) keep every pass exact: each part is a rigid object at each
instant, so depth, uv and flow follow the limbs with the same maths as any other object.
Proportions are fractions of standing height, after standard anthropometric tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from worldgen.shapes import make_mesh, primitive

BUILD_WIDTH = {"slim": 0.86, "average": 1.0, "athletic": 1.08, "heavy": 1.3}
PART_SEGMENTS = 10  # around a limb: ~100 triangles a limb, ~1.8k a body; moving geometry is re-indexed every frame


@dataclass(frozen=True)
class Proportions:
    """Lengths in metres for one character."""

    height: float
    width: float  # build multiplier for girths

    @property
    def ankle_height(self):
        return 0.045 * self.height

    @property
    def shin(self):
        return 0.245 * self.height

    @property
    def thigh(self):
        return 0.245 * self.height

    @property
    def leg(self):
        return self.thigh + self.shin

    @property
    def hip_half_width(self):
        return 0.052 * self.height * self.width

    @property
    def pelvis_to_chest(self):
        return 0.17 * self.height

    @property
    def chest_to_neck(self):
        return 0.115 * self.height

    @property
    def shoulder_half_width(self):
        return 0.118 * self.height * (0.6 + 0.4 * self.width)

    @property
    def shoulder_drop(self):
        return 0.02 * self.height  # shoulders sit a little below the neck base

    @property
    def upper_arm(self):
        return 0.17 * self.height

    @property
    def forearm(self):
        return 0.15 * self.height

    @property
    def hand(self):
        return 0.1 * self.height

    @property
    def neck(self):
        return 0.045 * self.height

    @property
    def head_radius(self):
        return 0.062 * self.height

    @property
    def foot_length(self):
        return 0.15 * self.height

    @property
    def limb_radius(self):
        return 0.028 * self.height * self.width

    @property
    def standing_hip_height(self):
        """Hip joint height when standing with a slight knee bend."""
        return self.ankle_height + 0.985 * self.leg


@dataclass
class Part:
    """One rigid piece of the body. `bone` names the rig frame it rides on; the mesh is in that
    frame. `region` picks its look (skin, top, bottom, shoes, hair); `radius` is how far inside
    the surface the bone's joints lie (the pose pass's depth tolerance)."""

    name: str
    bone: str
    mesh: trimesh.Trimesh
    region: str
    radius: float


def _capsule_between(length: float, r: float, squash=(1.0, 1.0)) -> trimesh.Trimesh:
    """A capsule from the bone's origin along +Y for `length` (round ends reach past both
    joints by r), optionally squashed in x/z."""
    h = max(length + 2 * r, 2 * r + 1e-4)
    m = primitive("capsule", radius=r, height=h, segments=PART_SEGMENTS)
    v = m.vertices.copy()
    v[:, 0] *= squash[0]
    v[:, 2] *= squash[1]
    v[:, 1] += length / 2
    return _remesh(m, v)


def _remesh(m: trimesh.Trimesh, v: np.ndarray, scale=(1.0, 1.0, 1.0)) -> trimesh.Trimesh:
    n = m.vertex_normals / np.asarray(scale)  # normals of a scaled surface: inverse-transpose
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    return make_mesh(v, m.faces, n, m.visual.uv)


def _ellipsoid(radii, centre=(0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    m = primitive("sphere", radius=1.0, segments=12)
    v = m.vertices * np.asarray(radii) + np.asarray(centre)
    return _remesh(m, v, radii)


def _box(size, centre) -> trimesh.Trimesh:
    m = primitive("box", size=size)
    return make_mesh(m.vertices + np.asarray(centre), m.faces, m.vertex_normals, m.visual.uv)


def body_parts(p: Proportions) -> list[Part]:
    """The proxy body in bone frames. Every bone frame has its origin at the joint it starts
    from, +Y along the bone, +Z the body's forward (for the torso, head and feet)."""
    w, r = p.width, p.limb_radius
    parts = [
        Part(
            "hips",
            "pelvis",
            _ellipsoid((p.hip_half_width + 1.4 * r, 0.07 * p.height, 0.075 * p.height * w), (0, 0.01 * p.height, 0)),
            "bottom",
            0.075 * p.height * w,
        ),
        Part(
            "torso",
            "spine",
            _capsule_between(
                p.pelvis_to_chest + p.chest_to_neck - 0.09 * p.height, 0.085 * p.height, (1.35 * w, 0.75 * w)
            ),
            "top",
            0.07 * p.height * w,
        ),
        Part("neck", "neck", _capsule_between(p.neck, 0.026 * p.height * w), "skin", 0.03 * p.height),
        Part(
            "head",
            "head",
            _ellipsoid(
                (0.86 * p.head_radius, p.head_radius, 0.95 * p.head_radius), (0, p.head_radius, 0.01 * p.height)
            ),
            "skin",
            p.head_radius,
        ),
        Part(
            "hair",
            "head",
            _ellipsoid(
                (0.95 * p.head_radius, 0.8 * p.head_radius, 0.97 * p.head_radius),
                (0, 1.26 * p.head_radius, -0.018 * p.height),
            ),
            "hair",
            p.head_radius,
        ),
        # a unit ball the rig scales each frame to the mouth's opening (see mouth_matrix)
        Part("mouth", "mouth", _ellipsoid((1.0, 1.0, 1.0)), "mouth", 0.35 * p.head_radius),
    ]
    for side in ("r", "l"):
        parts += [
            Part(f"upper_arm_{side}", f"upper_arm_{side}", _capsule_between(p.upper_arm, 1.05 * r), "top", 1.05 * r),
            Part(f"forearm_{side}", f"forearm_{side}", _capsule_between(p.forearm, 0.88 * r), "sleeve", 0.9 * r),
            Part(
                f"hand_{side}",
                f"forearm_{side}",
                _ellipsoid((0.8 * r, 0.45 * p.hand, 0.45 * r), (0, p.forearm + 0.42 * p.hand, 0)),
                "skin",
                r,
            ),
            Part(f"thigh_{side}", f"thigh_{side}", _capsule_between(p.thigh, 1.45 * r), "bottom", 1.5 * r),
            Part(f"shin_{side}", f"shin_{side}", _capsule_between(p.shin, 1.1 * r), "bottom", 1.2 * r),
            Part(
                f"foot_{side}",
                f"foot_{side}",
                _box((2.3 * r, p.ankle_height * 1.25, p.foot_length), (0, -0.4 * p.ankle_height, 0.3 * p.foot_length)),
                "shoes",
                p.ankle_height,
            ),
        ]
    return parts


# ---- the mouth ------------------------------------------------------------------------------
# The head is the ellipsoid above: radii (0.86, 1, 0.95) R about (0, R, 0.01 H) in the head
# bone's frame. The mouth sits at MOUTH_Y R above the chin; open, it is a dark flattened ball
# sunk into the face so that an ellipse of it shows in front (wider for spread visemes, taller
# for open ones). Shut, it shrinks to a point at the head's centre, inside the head: no ray
# reaches it, so a character that does not speak renders exactly as a head without a mouth.
MOUTH_Y = 0.5  # mouth height above the chin, in head radii
MOUTH_DEPTH = 0.25  # the ball's half-depth (R): it shows MOUTH_DEPTH - MOUTH_SINK in front of the skin
MOUTH_SINK = 0.15
LIP = 0.07  # lip thickness (R) around the opening, for the outer lip keypoints


def _head_front(p: Proportions, x, y):
    """z of the head's front surface at head-frame (x, y) (arrays)."""
    r = p.head_radius
    q = 1 - (np.asarray(x) / (0.86 * r)) ** 2 - ((np.asarray(y) - r) / r) ** 2
    return 0.01 * p.height + 0.95 * r * np.sqrt(np.clip(q, 0, None))


def mouth_size(p: Proportions, opening: float, width: float) -> tuple[float, float]:
    """Half-width and half-height (m) of the visible opening for a viseme's opening (0..1) and
    width (0 rounded .. 1 spread)."""
    r = p.head_radius
    return (0.2 + 0.14 * width) * r, (0.03 + 0.2 * opening) * r


def mouth_matrix(p: Proportions, opening: float, width: float) -> np.ndarray:
    """The mouth ball's transform in the head bone's frame (the unit ball of the 'mouth' part)."""
    r = p.head_radius
    m = np.eye(4)
    if opening <= 0:  # shut: a speck at the head's centre, hidden inside it (never singular)
        m[:3, :3] *= 1e-4 * r
        m[:3, 3] = (0.0, r, 0.01 * p.height)
        return m
    a, b = mouth_size(p, opening, width)
    # the ball's section at the skin (MOUTH_SINK behind its front) is the visible ellipse
    k = 1 / np.sqrt(1 - (MOUTH_SINK / MOUTH_DEPTH) ** 2)
    y = MOUTH_Y * r
    m[0, 0], m[1, 1], m[2, 2] = a * k, b * k, MOUTH_DEPTH * r
    m[:3, 3] = (0.0, y, float(_head_front(p, 0.0, y)) - MOUTH_SINK * r)
    return m


# OpenPose face points 48-59 (outer lip) and 60-67 (inner lip), as angles around the mouth:
# 48 and 60 at the person's right corner (-x), the upper lip first, then the lower lip back.
OUTER_ANGLES = np.radians([180, 150, 120, 90, 60, 30, 0, -30, -60, -90, -120, -150])
INNER_ANGLES = np.radians([180, 135, 90, 45, 0, -45, -90, -135])


def mouth_points(p: Proportions, opening: float, width: float) -> np.ndarray:
    """The 20 mouth keypoints (OpenPose face 48-67) in the head bone's frame, on the skin: the
    inner lip is the opening's outline, the outer lip LIP beyond it. Shut, the inner lips meet."""
    r = p.head_radius
    a, b = mouth_size(p, opening, width) if opening > 0 else (mouth_size(p, 0.0, width)[0], 0.0)
    rows = []
    for angles, (ax, by) in ((OUTER_ANGLES, (a + LIP * r, b + LIP * r)), (INNER_ANGLES, (a, b))):
        x = ax * np.cos(angles)
        y = MOUTH_Y * r + by * np.sin(angles)
        rows.append(np.stack([x, y, _head_front(p, x, y)], 1))
    return np.concatenate(rows)
