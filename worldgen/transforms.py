"""Rigid-transform maths. One camera convention inside worldgen: OpenCV (x right, y down,
z forward); `world_to_camera` matrices map world points to that frame. Converters to other
conventions live here and nowhere else."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# OpenCV camera axes <-> OpenGL/glTF/pyrender camera axes (x right, y up, z backward)
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def euler_xyz_to_matrix(deg: ArrayLike) -> np.ndarray:
    """3x3 rotation for Euler XYZ degrees: rotate about X, then Y, then Z (extrinsic), R = Rz Ry Rx."""
    x, y, z = np.radians(np.asarray(deg, dtype=np.float64))
    cx, sx, cy, sy, cz, sz = np.cos(x), np.sin(x), np.cos(y), np.sin(y), np.cos(z), np.sin(z)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a rotation matrix."""
    m = np.asarray(r, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    unit = np.array(q)
    return unit / np.linalg.norm(unit)


def quat_to_matrix(q: ArrayLike) -> np.ndarray:
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def slerp(q0: ArrayLike, q1: ArrayLike, u: float) -> np.ndarray:
    """Shortest-arc spherical interpolation of unit quaternions."""
    q0, q1 = np.asarray(q0, float), np.asarray(q1, float)
    d = float(np.dot(q0, q1))
    if d < 0:
        q1, d = -q1, -d
    if d > 0.9995:
        q = q0 + u * (q1 - q0)
        return q / np.linalg.norm(q)
    th = np.arccos(np.clip(d, -1, 1))
    return (np.sin((1 - u) * th) * q0 + np.sin(u * th) * q1) / np.sin(th)


def compose(position: ArrayLike, rotation_matrix: ArrayLike, scale: ArrayLike) -> np.ndarray:
    """4x4 local-to-parent matrix T * R * S."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(rotation_matrix) @ np.diag(np.broadcast_to(np.asarray(scale, float), (3,)))
    m[:3, 3] = position
    return m


def decompose(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Translation, unit quaternion (w, x, y, z) and per-axis scale of an affine T*R*S matrix
    (what `compose` makes; scales are positive, so the split is exact). A scale within 1e-9 of
    one is returned as exactly one, so rigid poses keep an exact unit scale in exported files."""
    lin = np.asarray(m, float)[:3, :3]
    scale = np.linalg.norm(lin, axis=0)
    scale = np.where(np.abs(scale - 1.0) < 1e-9, 1.0, scale)
    return np.asarray(m, float)[:3, 3].copy(), matrix_to_quat(lin / scale), scale


def continuous_quats(quats: ArrayLike) -> np.ndarray:
    """Flip signs so consecutive quaternions are on the same side: interpolating readers then
    turn the short way between samples."""
    q = np.array(quats, float)
    for i in range(1, len(q)):
        if np.dot(q[i - 1], q[i]) < 0:
            q[i] = -q[i]
    return q


# ---------------------------------------------------------------------------------------------
# glTF order: files store quaternions as (x, y, z, w); everything above works in (w, x, y, z)


def quat_xyzw_to_matrix(q: ArrayLike) -> np.ndarray:
    """3x3 rotation of a glTF (x, y, z, w) quaternion."""
    x, y, z, w = np.asarray(q, dtype=np.float64)
    return quat_to_matrix([w, x, y, z])


def matrix_to_quat_xyzw(rotation: np.ndarray) -> np.ndarray:
    """glTF (x, y, z, w) quaternion of a 3x3 rotation."""
    w, x, y, z = matrix_to_quat(rotation)
    return np.array([x, y, z, w])


def slerp_xyzw(q0: ArrayLike, q1: ArrayLike, s: float) -> np.ndarray:
    """Shortest-arc slerp, renormalised (file quaternions are rarely exactly unit)."""
    q0 = np.asarray(q0, np.float64) / np.linalg.norm(q0)
    q1 = np.asarray(q1, np.float64) / np.linalg.norm(q1)
    q = slerp(q0, q1, s)  # the formula does not depend on the component order
    return q / np.linalg.norm(q)


def trs_matrix(translation: ArrayLike, rotation_xyzw: ArrayLike, scale: ArrayLike) -> np.ndarray:
    """4x4 T * R * S, the glTF node transform."""
    return compose(translation, quat_xyzw_to_matrix(rotation_xyzw), scale)


def decompose_trs(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Translation, xyzw rotation and scale of a shear-free 4x4, so an animation channel can
    replace one of the three and keep the other two (glTF nodes given as `matrix`). Unlike
    `decompose`, a mirrored matrix keeps its mirror (a negative x scale)."""
    linear = m[:3, :3]
    scale = np.linalg.norm(linear, axis=0)
    if np.linalg.det(linear) < 0:
        scale[0] = -scale[0]
    safe = np.where(np.abs(scale) > 1e-12, scale, 1.0)
    return m[:3, 3].copy(), matrix_to_quat_xyzw(linear / safe), scale


def look_at_world_to_camera(
    eye: ArrayLike, target: ArrayLike, up: ArrayLike = (0.0, 1.0, 0.0), roll_deg: float = 0.0
) -> np.ndarray:
    """4x4 world->camera (OpenCV) for a camera at `eye` aimed at `target`, world +Y up.
    Positive roll turns the camera clockwise (seen from behind it): the image turns counter-clockwise."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    f = target - eye
    n = np.linalg.norm(f)
    if n < 1e-9:
        raise ValueError("camera position and aim point coincide")
    f /= n
    return forward_world_to_camera(eye, f, up, roll_deg)


def forward_world_to_camera(
    eye: ArrayLike, forward: ArrayLike, up: ArrayLike = (0.0, 1.0, 0.0), roll_deg: float = 0.0
) -> np.ndarray:
    f = np.asarray(forward, float) / np.linalg.norm(forward)
    up = np.asarray(up, float)
    x = np.cross(f, up)
    if np.linalg.norm(x) < 1e-6:  # looking straight up/down: keep image 'up' along world -Z
        x = np.cross(f, np.array([0.0, 0.0, -1.0]))
    x /= np.linalg.norm(x)
    y = np.cross(f, x)
    if roll_deg:
        a = np.radians(roll_deg)
        x, y = np.cos(a) * x + np.sin(a) * y, -np.sin(a) * x + np.cos(a) * y
    r = np.stack([x, y, f])
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = -r @ np.asarray(eye, float)
    return m


def intrinsics(width: int, height: int, fov_deg: float) -> np.ndarray:
    """3x3 K for a vertical field of view; square pixels; pixel (i, j) has centre (j, i)."""
    fy = 0.5 * height / np.tan(np.radians(fov_deg) / 2)
    return np.array([[fy, 0.0, (width - 1) / 2.0], [0.0, fy, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def camera_center(world_to_camera: np.ndarray) -> np.ndarray:
    r, t = world_to_camera[:3, :3], world_to_camera[:3, 3]
    return -r.T @ t


def world_to_camera_to_gl_pose(world_to_camera: np.ndarray) -> np.ndarray:
    """camera->world pose in OpenGL axes (what pyrender and glTF cameras take)."""
    return np.linalg.inv(world_to_camera) @ CV_TO_GL
