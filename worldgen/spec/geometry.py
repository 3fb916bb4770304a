"""Spec checks that need the world: cameras inside solid objects, targets that never show.

Run before any rendering, like a gate: an impossible shot is refused with its location."""
from __future__ import annotations

import numpy as np

from worldgen.camera import ShotCamera, frame_count
from worldgen.spec.loader import located_of

SAMPLES_PER_SHOT = 24
CLOSED_SHAPES = {"box", "sphere", "cylinder", "capsule", "cone", "torus"}


def _inside(world, oid: str, t: float, point: np.ndarray) -> bool:
    node = world.nodes[oid]
    if node.spec.shape not in CLOSED_SHAPES:
        return False
    local = np.linalg.inv(world.world_matrix(oid, t)) @ np.append(point, 1.0)
    p = local[:3]
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
    local = np.linalg.inv(world.world_matrix(oid, t)) @ np.append(point, 1.0)
    sx, sz = node.spec.size
    return bool(local[1] < 0 and abs(local[0]) < sx / 2 and abs(local[2]) < sz / 2)


def _target_points(world, target: str, t: float) -> np.ndarray:
    """Points that show whether a target is in frame: an object's box corners and centre, a
    character's keypoints."""
    if target in world.characters:
        return world.characters[target].pose(t).keypoints
    node = world.nodes[target]
    lo, hi = node.mesh.bounds
    box = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    m = world.world_matrix(target, t)
    return np.vstack([box @ m[:3, :3].T + m[:3, 3], m[:3, 3]])


def check_geometry(spec, world) -> None:
    located = located_of(spec)
    if spec.world.characters:
        from worldgen.character.checks import check_characters
        check_characters(spec, world, located, _inside, _below_plane)
    r = spec.render
    for s, shot in enumerate(spec.shots):
        rig = ShotCamera(shot, world, r.width, r.height)
        n = frame_count(shot, r.fps)
        idx = np.unique(np.linspace(0, n - 1, min(n, SAMPLES_PER_SHOT)).round().astype(int))
        seen = False
        for i in idx:
            s_t = i / r.fps
            t = shot.start + s_t
            cam = rig.at(s_t)
            eye = cam.center
            for oid in world.objects():
                if _inside(world, oid, t, eye):
                    raise located.error(("shots", s, "camera"),
                                        f"the camera is inside object '{oid}' at t={s_t:.2f}s of the shot")
                if _below_plane(world, oid, t, eye):
                    raise located.error(("shots", s, "camera"),
                                        f"the camera is below '{oid}' at t={s_t:.2f}s of the shot")
            target = shot.camera.target
            if target is not None and not seen:
                pts = _target_points(world, target, t)
                uv, z = cam.project(pts)
                ok = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < r.width) & (uv[:, 1] >= 0) & (uv[:, 1] < r.height)
                seen = bool(ok.any())
        if shot.camera.target is not None and not seen:
            raise located.error(("shots", s, "camera", "target"),
                                f"'{shot.camera.target}' never enters the frame in this shot")
