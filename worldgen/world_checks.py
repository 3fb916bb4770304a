"""Spec checks that need the world: cameras inside solid objects, targets that never show.

Run before any rendering, like a gate: an impossible shot is refused with its location (the
spec's own line). They ask the built world and its cameras, so they sit above `world.py` and
`camera.py`, not in `spec/`: the checks the spec can make alone live in `spec/references.py`."""

from __future__ import annotations

import weakref

import numpy as np

from worldgen.camera import ShotCamera, frame_count
from worldgen.spec.loader import located_of

SAMPLES_PER_SHOT = 24
CLOSED_SHAPES = {"box", "sphere", "cylinder", "capsule", "cone", "torus"}
_STATIC_INVERSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # world -> {id: inverse or None}


def _to_local(world, oid: str, t: float, point: np.ndarray) -> np.ndarray | None:
    """`point` in the object's own frame at time t; None when the object has collapsed to no
    volume (a scale that underflows), which nothing can be inside or below. Static objects
    are inverted once per world: the checks ask about them thousands of times."""
    static = oid in world.static_ids
    cache = _STATIC_INVERSES.setdefault(world, {}) if static else {}
    if oid not in cache:
        try:
            cache[oid] = np.linalg.inv(world.world_matrix(oid, t))
        except np.linalg.LinAlgError:
            cache[oid] = None
    inv = cache[oid]
    return None if inv is None else inv[:3, :3] @ np.asarray(point, float) + inv[:3, 3]


def _inside(world, oid: str, t: float, point: np.ndarray) -> bool:
    node = world.nodes[oid]
    if node.spec.shape not in CLOSED_SHAPES:
        return False
    p = _to_local(world, oid, t, point)
    if p is None:
        return False
    o = node.spec
    if o.shape == "box":
        return bool(np.all(np.abs(p) < np.asarray(o.size) / 2))
    if o.shape == "sphere":
        return bool(np.linalg.norm(p) < o.radius)
    if o.shape in ("cylinder", "cone"):
        if abs(p[1]) >= o.height / 2:
            return False
        r = o.radius if o.shape == "cylinder" else o.radius * (0.5 - p[1] / o.height)
        return bool(np.hypot(p[0], p[2]) < r)
    if o.shape == "capsule":
        y = np.clip(p[1], -(o.height / 2 - o.radius), o.height / 2 - o.radius)
        return bool(np.linalg.norm(p - [0, y, 0]) < o.radius)
    if o.shape == "torus":
        return bool(np.hypot(np.hypot(p[0], p[2]) - o.radius, p[1]) < o.tube)
    return False


def _below_plane(world, oid: str, t: float, point: np.ndarray) -> bool:
    node = world.nodes[oid]
    if node.spec.shape != "plane":
        return False
    local = _to_local(world, oid, t, point)
    if local is None:
        return False
    sx, sz = node.spec.size
    return bool(local[1] < 0 and abs(local[0]) < sx / 2 and abs(local[2]) < sz / 2)


def _half_extents(o) -> np.ndarray:
    """Half-size of a closed primitive's box in its own frame (before its scale)."""
    if o.shape == "box":
        return np.asarray(o.size, float) / 2
    if o.shape == "torus":
        return np.array([o.radius + o.tube, o.tube, o.radius + o.tube])
    if o.shape == "sphere":
        return np.full(3, o.radius)
    return np.array([o.radius, o.height / 2, o.radius])  # cylinder, cone, capsule


class _Obstacles:
    """The objects a camera may be inside or below, in spec order. Static closed shapes get a
    world-axis box once, so each camera sample tests them all in one numpy call and only the
    few whose box holds the eye get the exact test (thousands of objects x thousands of
    samples would otherwise take hours)."""

    def __init__(self, world):
        self.order = {oid: i for i, oid in enumerate(world.objects())}
        self.boxed, self.always, lo, hi = [], [], [], []
        unit = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
        for oid in world.objects():
            node = world.nodes[oid]
            if node.spec.shape not in CLOSED_SHAPES and node.spec.shape != "plane":
                continue  # meshes: no inside test
            if node.spec.shape == "plane" or oid not in world.static_ids:
                self.always.append(oid)
                continue
            m = world.world_matrix(oid, 0.0)
            corners = (unit * _half_extents(node.spec)) @ m[:3, :3].T + m[:3, 3]
            pad = 1e-6 * (1.0 + np.abs(corners).max())
            self.boxed.append(oid)
            lo.append(corners.min(0) - pad)
            hi.append(corners.max(0) + pad)
        self.lo, self.hi = np.reshape(lo, (-1, 3)), np.reshape(hi, (-1, 3))

    def near(self, eye: np.ndarray) -> list[str]:
        hit = np.all((self.lo <= eye) & (eye <= self.hi), axis=1)
        ids = [self.boxed[i] for i in np.flatnonzero(hit)] + self.always
        return sorted(ids, key=self.order.__getitem__)


def _check_finite_poses(world, located, objects, t: float) -> None:
    """Sizes, scales and positions that overflow (1e308 x 1e308) leave nothing to render."""
    for oid in objects:
        node = world.nodes[oid]
        if not (np.isfinite(world.world_matrix(oid, t)).all() and np.isfinite(node.mesh.vertices).all()):
            raise located.error(
                ("world", "objects", node.index),
                f"'{oid}' is too large to compute (its size, scale or position overflows)",
            )


def _target_points(world, target: str, t: float) -> np.ndarray:
    """Points that show whether a target is in frame: an object's box corners and centre, a
    character's keypoints."""
    if target in world.characters:
        return world.characters[target].pose(t).keypoints
    node = world.nodes[target]
    m = world.world_matrix(target, t)
    if node.mesh.bounds is None:  # a primitive too small to keep a triangle: only its centre
        return m[None, :3, 3]
    lo, hi = node.mesh.bounds
    box = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return np.vstack([box @ m[:3, :3].T + m[:3, 3], m[:3, 3]])


def _camera_at(rig, located, s: int, s_t: float):
    """The shot's camera at shot time s_t, or a located error when there is no such camera:
    at the point it aims at, or a lens or position that leaves no finite projection."""
    where = ("shots", s, "camera")
    try:
        with np.errstate(all="ignore"):
            cam = rig.at(s_t)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        raise located.error(where, f"no camera pose at t={s_t:.2f}s of the shot ({e})") from None
    if not (np.isfinite(cam.world_to_camera).all() and np.isfinite(cam.K).all() and cam.K[1, 1] > 0):
        raise located.error(
            where,
            f"the camera has no finite pose or lens at t={s_t:.2f}s of the shot "
            f"(is it at the point it aims at, or its lens out of range?)",
        )
    return cam


def check_geometry(spec, world) -> None:
    located = located_of(spec)
    moving = [oid for oid in world.objects() if oid not in world.static_ids]
    _check_finite_poses(world, located, [oid for oid in world.objects() if oid in world.static_ids], 0.0)
    if spec.world.characters:
        from worldgen.character.checks import check_characters

        check_characters(spec, world, located, _inside, _below_plane)
    obstacles = _Obstacles(world)
    r = spec.render
    for s, shot in enumerate(spec.shots):
        rig = ShotCamera(shot, world, r.width, r.height)
        n = frame_count(shot, r.fps)
        idx = np.unique(np.linspace(0, n - 1, min(n, SAMPLES_PER_SHOT)).round().astype(int))
        seen = False
        for i in idx:
            s_t = i / r.fps
            t = shot.start + s_t
            _check_finite_poses(world, located, moving, t)
            cam = _camera_at(rig, located, s, s_t)
            eye = cam.center
            for oid in obstacles.near(eye):
                if _inside(world, oid, t, eye):
                    raise located.error(
                        ("shots", s, "camera"), f"the camera is inside object '{oid}' at t={s_t:.2f}s of the shot"
                    )
                if _below_plane(world, oid, t, eye):
                    raise located.error(
                        ("shots", s, "camera"), f"the camera is below '{oid}' at t={s_t:.2f}s of the shot"
                    )
            target = shot.camera.target
            if target is not None and not seen:
                pts = _target_points(world, target, t)
                uv, z = cam.project(pts)
                ok = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < r.width) & (uv[:, 1] >= 0) & (uv[:, 1] < r.height)
                seen = bool(ok.any())
        if shot.camera.target is not None and not seen:
            raise located.error(
                ("shots", s, "camera", "target"), f"'{shot.camera.target}' never enters the frame in this shot"
            )
