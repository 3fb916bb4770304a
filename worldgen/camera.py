"""Shot cameras: the move vocabulary turned into a pose and intrinsics at any time.

`ShotCamera(shot, world, width, height).at(s)` gives a `CameraFrame` for shot-local time s:
`K` (3x3) and `world_to_camera` (4x4, OpenCV axes: x right, y down, z forward)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from worldgen.motion import Track, ease
from worldgen.spec.models import SENSOR_HEIGHT_MM, Camera, Shot
from worldgen.transforms import camera_center, forward_world_to_camera, intrinsics, look_at_world_to_camera

DEFAULT_FOV = 50.0
DEFAULT_TRACK_OFFSET = (0.0, 2.0, 6.0)
DEFAULT_ORBIT_DEGREES = 90.0
DEFAULT_CRANE_RISE = 3.0
CLOSE_UP_DISTANCE = 1.2  # m from the face
CLOSE_UP_FOV = 28.0
OTS_FOV = 40.0
OTS_BEHIND, OTS_BESIDE, OTS_ABOVE = 1.0, 0.5, 0.12  # m from the foreground character's head


def lens_to_fov(mm: float) -> float:
    return math.degrees(2 * math.atan(SENSOR_HEIGHT_MM / (2 * mm)))


def fov_to_lens(fov: float) -> float:
    return SENSOR_HEIGHT_MM / (2 * math.tan(math.radians(fov) / 2))


@dataclass(frozen=True)
class CameraFrame:
    K: np.ndarray
    world_to_camera: np.ndarray
    width: int
    height: int

    @property
    def center(self) -> np.ndarray:
        return camera_center(self.world_to_camera)

    @property
    def fov(self) -> float:
        return math.degrees(2 * math.atan(0.5 * self.height / self.K[1, 1]))

    def project(self, points: np.ndarray):
        """World points (N,3) -> pixel coords (N,2) and z-depth (N,)."""
        p = points @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3]
        z = p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (p[:, :2] / z[:, None]) * np.array([self.K[0, 0], self.K[1, 1]]) + self.K[:2, 2]
        return uv, z


def _rotate(v, axis, deg):
    """Rodrigues rotation of v about unit axis by deg (right-hand rule)."""
    a = math.radians(deg)
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return v * math.cos(a) + np.cross(axis, v) * math.sin(a) + axis * np.dot(axis, v) * (1 - math.cos(a))


class ShotCamera:
    def __init__(self, shot: Shot, world, width: int, height: int):
        self.shot, self.world, self.width, self.height = shot, world, width, height
        self.cam: Camera = shot.camera
        if self.cam.keyframes:
            keys = self.cam.keyframes
            es = [k.ease for k in keys]
            ts = [k.t for k in keys]
            self._pos = Track(ts, [k.position for k in keys], es)
            self._focal = Track(ts, [fov_to_lens(self._fov_of(k.fov, k.lens_mm)) for k in keys], es)
            self._roll = Track(ts, [k.roll for k in keys], es)
            self._keys = keys

    @staticmethod
    def _fov_of(fov, lens):
        if fov is not None:
            return fov
        return lens_to_fov(lens) if lens is not None else DEFAULT_FOV

    def _aim(self, look_at, target, t_world):
        if target is not None:
            return self.world.position(target, t_world)
        return np.asarray(look_at, float)

    def at(self, s: float) -> CameraFrame:
        """Camera at shot-local time s (seconds); holds its end pose outside [0, duration]."""
        t_world = self.shot.start + s
        eye, aim, fwd, roll, fov = self._pose(s, t_world)
        if fwd is None:
            w2c = look_at_world_to_camera(eye, aim, roll_deg=roll)
        else:
            w2c = forward_world_to_camera(eye, fwd, roll_deg=roll)
        return CameraFrame(intrinsics(self.width, self.height, fov), w2c, self.width, self.height)

    def aim_point(self, s: float) -> np.ndarray | None:
        """The world point the camera aims at at shot-local time s (its target or look_at), or
        None for moves that turn away from one (pan, tilt): where depth of field focuses."""
        _, aim, _, _, _ = self._pose(s, self.shot.start + s)
        return None if aim is None else np.asarray(aim, float)

    def _pose(self, s: float, t_world: float):
        c = self.cam
        if c.keyframes:
            keys = self._keys
            pos = self._pos(s)
            # aim points can follow moving targets, so interpolate the evaluated aims
            aims = [self._aim(k.look_at, k.target, t_world) for k in keys]
            aim = Track([k.t for k in keys], aims, [k.ease for k in keys])(s)
            return pos, aim, None, float(self._roll(s)), lens_to_fov(float(self._focal(s)))
        dur = self.shot.duration
        kind = c.ease or ("linear" if c.move == "track" else "in_out")
        u = ease(s / dur, kind)
        fov = self._fov_of(c.fov, c.lens_mm)
        roll = c.roll
        m = c.move
        if m == "track":
            aim = self.world.position(c.target, t_world)
            return aim + np.asarray(c.offset or DEFAULT_TRACK_OFFSET, float), aim, None, roll, fov
        if m == "close_up":
            return self._close_up(t_world, roll, c.fov or (None if c.lens_mm else CLOSE_UP_FOV) or fov)
        if m == "over_the_shoulder":
            return self._over_shoulder(t_world, roll, c.fov or (None if c.lens_mm else OTS_FOV) or fov)
        if m == "orbit":
            centre = self._aim(c.look_at, c.target, t_world)
            a = math.radians(c.start_angle + (c.degrees if c.degrees is not None else DEFAULT_ORBIT_DEGREES) * u)
            y = c.height if c.height is not None else centre[1]
            eye = np.array([centre[0] + c.radius * math.sin(a), y, centre[2] + c.radius * math.cos(a)])
            return eye, centre, None, roll, fov
        p0 = np.asarray(c.position, float)
        aim0 = self._aim(c.look_at, c.target, self.shot.start)
        f0 = aim0 - p0
        f0 = f0 / max(np.linalg.norm(f0), 1e-12)
        follow = c.target is not None
        aim = self._aim(c.look_at, c.target, t_world)
        right = np.cross(f0, [0.0, 1.0, 0.0])
        right = right / max(np.linalg.norm(right), 1e-12)
        if m == "static":
            return p0, aim, None, roll, fov
        if m == "dolly":
            return p0 + f0 * c.distance * u, aim, None, roll, fov
        if m in ("truck", "pedestal"):
            d = right if m == "truck" else np.array([0.0, 1.0, 0.0])
            eye = p0 + d * c.distance * u
            return (eye, aim, None, roll, fov) if follow else (eye, None, f0, roll, fov)
        if m == "pan":
            return p0, None, _rotate(f0, [0.0, 1.0, 0.0], -c.degrees * u), roll, fov
        if m == "tilt":
            return p0, None, _rotate(f0, right, c.degrees * u), roll, fov
        if m == "roll":
            return p0, None, f0, roll + c.degrees * u, fov
        if m == "zoom":
            end = c.fov_end if c.fov_end is not None else lens_to_fov(c.lens_mm_end)
            f = fov_to_lens(fov) + (fov_to_lens(end) - fov_to_lens(fov)) * u
            return p0, aim, None, roll, lens_to_fov(f)
        if m == "crane":
            flat = np.array([f0[0], 0.0, f0[2]])
            flat = flat / max(np.linalg.norm(flat), 1e-12)
            eye = (
                p0
                + np.array([0.0, 1.0, 0.0]) * (c.rise if c.rise is not None else DEFAULT_CRANE_RISE) * u
                + flat * (c.distance or 0.0) * u
            )
            return eye, aim, None, roll, fov
        raise ValueError(f"unknown move {m}")

    def _close_up(self, t_world, roll, fov):
        """In front of the face (turned by start_angle), following the head so it stays framed."""
        rig = self.world.characters[self.cam.target]
        head = rig.head(t_world)
        h = rig.heading(self.shot.start) + math.radians(self.cam.start_angle)
        d = self.cam.distance if self.cam.distance is not None else CLOSE_UP_DISTANCE
        eye = head + np.array([math.sin(h) * d, 0.02, math.cos(h) * d])
        return eye, head, None, roll, fov

    def _over_shoulder(self, t_world, roll, fov):
        """Behind and beside the foreground character's head, aimed at the other's face."""
        a = self.world.characters[self.cam.over].head(t_world)
        b = self.world.characters[self.cam.target].head(t_world)
        d = b - a
        d[1] = 0.0
        d = d / max(np.linalg.norm(d), 1e-9)
        right = np.cross(d, [0.0, 1.0, 0.0])
        side = 1.0 if self.cam.side == "right" else -1.0
        eye = a - d * OTS_BEHIND + right * side * OTS_BESIDE + np.array([0.0, OTS_ABOVE, 0.0])
        return eye, b + (a - b) * 0.12 - np.array([0.0, 0.08, 0.0]), None, roll, fov


def frame_count(shot: Shot, fps: float) -> int:
    return max(1, int(round(shot.duration * fps)))


def frame_times(shot: Shot, fps: float) -> np.ndarray:
    """Shot-local times of each frame."""
    return np.arange(frame_count(shot, fps)) / fps
