"""What every 3D export shares, computed once from the world: each node's mesh, look and
motion sampled at the film's frame times, and each shot's camera in glTF/USD axes.

Sampling the world (rather than translating keyframes) keeps exports exact for everything
worldgen animates, splines, eased segments and character rigs included: at every sample time
a file holds the very matrix the passes were rendered with."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import trimesh

from worldgen.camera import ShotCamera, frame_count
from worldgen.paint.materials import Material, material_from_text
from worldgen.spec.models import SENSOR_HEIGHT_MM, Shot, Spec
from worldgen.transforms import world_to_camera_to_gl_pose

NEAR_CLIP = 0.05  # m; every camera in worldgen is at least this far from surfaces it films
TIME_TOLERANCE = 1e-7  # s; two sample times closer than this are one


@dataclass(frozen=True)
class ShotTiming:
    """Where a shot sits in world time and in the film (shots are cut in spec order)."""

    shot: Shot
    frame_count: int
    film_start: int  # index of the shot's first frame in the whole film
    fps: float

    def world_time(self, i: int) -> float:
        return self.shot.start + i / self.fps


@dataclass
class ExportNode:
    """One node of the exported hierarchy. `matrices` are local (parent-relative) 4x4s at the
    scene's sample times, or None when the node never moves relative to its parent."""

    id: str
    parent: str | None
    rest: np.ndarray  # local 4x4 when static (and the first sample when not)
    matrices: np.ndarray | None = None
    mesh: trimesh.Trimesh | None = None
    material: Material | None = None
    double_sided: bool = False
    label: str | None = None


@dataclass
class ExportCamera:
    timing: ShotTiming
    times: np.ndarray  # (n,) world seconds of the shot's frames
    poses: np.ndarray  # (n, 4, 4) camera->world, glTF/USD axes: looks down -Z, +Y up
    yfov: np.ndarray  # (n,) vertical field of view, radians
    width: int
    height: int

    @property
    def focal_mm(self) -> np.ndarray:
        """Focal length on worldgen's 24 mm-high sensor (what USD cameras take)."""
        return SENSOR_HEIGHT_MM / (2.0 * np.tan(self.yfov / 2.0))

    @property
    def zooms(self) -> bool:
        return float(np.ptp(self.yfov)) > 1e-9


@dataclass
class ExportScene:
    title: str
    fps: float
    times: np.ndarray  # world seconds at which moving nodes are sampled
    nodes: list[ExportNode]
    cameras: list[ExportCamera]
    near: float
    far: float


def shot_timings(spec: Spec) -> list[ShotTiming]:
    fps = spec.render.fps
    out, start = [], 0
    for shot in spec.shots:
        n = frame_count(shot, fps)
        out.append(ShotTiming(shot, n, start, fps))
        start += n
    return out


def sample_times(timings: list[ShotTiming], fps: float) -> np.ndarray:
    """World times at the film's fps from 0 to the last frame of any shot, plus every shot's
    own frame times (a shot may start between grid steps): motion is exact at each frame."""
    end = max(t.world_time(t.frame_count - 1) for t in timings)
    grid = np.arange(int(math.floor(end * fps + 1e-6)) + 1) / fps
    frames = [t.world_time(i) for t in timings for i in range(t.frame_count)]
    ts = np.sort(np.concatenate([grid, np.asarray(frames, float)]))
    keep = [ts[0]]
    for t in ts[1:]:
        if t - keep[-1] > TIME_TOLERANCE:
            keep.append(t)
    return np.asarray(keep)


def unit_normals(mesh) -> np.ndarray:
    """Vertex normals as float32 unit vectors (both formats require unit length)."""
    n = np.asarray(mesh.vertex_normals, np.float64)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-12, n / np.maximum(length, 1e-12), [0.0, 1.0, 0.0])
    return n.astype(np.float32)


def node_material(world, oid: str) -> Material:
    """The look the procedural painter gives a node: an object's appearance words, or a body
    part's clothing region of its character (keyed the same way, so colours match renders)."""
    node = world.nodes[oid]
    seed = world.spec.seed
    if node.character is None or node.region == "body":
        return material_from_text(node.spec.appearance or oid, key=f"{oid}|{seed}")
    from worldgen.paint.character_look import region_materials

    looks = region_materials(node.spec.appearance, f"{node.character}|{seed}")
    return looks[node.region]


def _drawable(mesh):
    """A mesh to write, or None: a primitive too small to keep any triangle has nothing to show
    (and glTF accessors may not be empty)."""
    return mesh if mesh is not None and len(mesh.faces) else None


def _object_nodes(world, times: np.ndarray) -> list[ExportNode]:
    out = []
    for oid in world.objects():
        node = world.nodes[oid]
        moving = bool(node.spec.motion)
        mats = np.stack([world.local_matrix(oid, float(t)) for t in times]) if moving else None
        out.append(
            ExportNode(
                oid,
                node.spec.parent,
                world.local_matrix(oid, 0.0),
                mats,
                _drawable(node.mesh),
                node_material(world, oid),
                node.spec.shape == "plane",
                node.label,
            )
        )
    return out


def _character_nodes(world, times: np.ndarray) -> list[ExportNode]:
    """A group per character; its body parts ride their bones, so they carry world matrices."""
    out = []
    for cid in world.characters:
        parts = world.parts_of(cid)
        out.append(ExportNode(cid, None, np.eye(4), label=world.nodes[parts[0]].label if parts else None))
        # time by time, so each pose is solved once for all its parts (the rig caches a few poses)
        per_time = [[world.world_matrix(pid, float(t)) for pid in parts] for t in times]
        for k, pid in enumerate(parts):
            mats = np.stack([row[k] for row in per_time])
            out.append(
                ExportNode(
                    pid,
                    cid,
                    mats[0],
                    mats,
                    _drawable(world.nodes[pid].mesh),
                    node_material(world, pid),
                    False,
                    world.nodes[pid].label,
                )
            )
    return out


def _camera(timing: ShotTiming, world, width: int, height: int) -> ExportCamera:
    rig = ShotCamera(timing.shot, world, width, height)
    poses, fovs, times = [], [], []
    for i in range(timing.frame_count):
        cam = rig.at(i / timing.fps)
        poses.append(world_to_camera_to_gl_pose(cam.world_to_camera))
        fovs.append(2.0 * math.atan(0.5 * height / cam.K[1, 1]))
        times.append(timing.world_time(i))
    return ExportCamera(timing, np.asarray(times), np.stack(poses), np.asarray(fovs), width, height)


def _far_clip(world, cameras: list[ExportCamera]) -> float:
    """Far enough to see the whole world (at its start) from every camera position, rounded up."""
    corners = [np.zeros((1, 3))]
    for oid, node in world.nodes.items():
        if _drawable(node.mesh) is not None:
            lo, hi = node.mesh.bounds
            box = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
            m = world.world_matrix(oid, 0.0)
            corners.append(box @ m[:3, :3].T + m[:3, 3])
    corners = np.concatenate(corners)
    eyes = np.concatenate([c.poses[:, :3, 3] for c in cameras])
    reach = float(np.max(np.linalg.norm(eyes[:, None, :] - corners[None, :, :], axis=-1)))
    return float(max(100.0, 10.0 * math.ceil(1.5 * reach / 10.0)))


def build_export_scene(spec: Spec, world) -> ExportScene:
    r = spec.render
    timings = shot_timings(spec)
    times = sample_times(timings, r.fps)
    nodes = _object_nodes(world, times) + _character_nodes(world, times)
    cameras = [_camera(t, world, r.width, r.height) for t in timings]
    return ExportScene(spec.title, float(r.fps), times, nodes, cameras, NEAR_CLIP, _far_clip(world, cameras))
