"""Is a shot's subject in view, or hidden behind something? Measured with rays, frame by frame.

A camera can frame its target (the check in `world_checks` asks only that) and still film the
back of a lighthouse while the boat passes behind it. This module casts a ray from the camera
to sample points on the subject's surface at every frame of the shot (Open3D's
RaycastingScene, exact ray/triangle hits, as the raycast pass backend): a ray whose first hit
is another object is blocked by it. A frame *hides* the subject when most of its in-frame
sample rays are blocked; a subject out of frame is not "hidden" (that is the other check).

`worldgen validate` warns about a shot whose subject is hidden in more than a third of its
frames (`occlusion_warnings`), and the planner re-frames such a shot (`plan/planner.py`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worldgen.camera import ShotCamera, frame_count
from worldgen.spec.models import CHARACTER_MOVES
from worldgen.passes.snapshot import SnapshotMaker
from worldgen.spec.loader import located_of

HIDDEN_SHARE = 0.5  # a frame hides the subject when more than this share of its sample rays is blocked


def is_hidden(total: int, blocked: int) -> bool:
    """The rule for one frame: more than HIDDEN_SHARE of the subject's sample rays that land in
    frame are blocked (the validate warning and coverage's framing both ask it)."""
    return bool(total) and blocked > HIDDEN_SHARE * total


WARN_FRACTION = 1 / 3  # a shot is flagged when the subject is hidden in more than this share of frames
SAMPLES = 96  # surface points per subject
FACE_BONES = ("head", "neck")  # what a close-up or over-the-shoulder is about: the face, not the legs
STRIDE = 4  # frames between measured frames where nothing changes (refined to every frame at a change)


@dataclass(frozen=True)
class Visibility:
    """One shot's subject over its frames."""

    index: int  # the shot's place in the spec
    shot: str
    subject: str
    frames: int  # frames of the shot
    hidden: int  # frames in which the subject is hidden
    occluder: str | None  # what hid it most often (None when never hidden)
    hidden_times: tuple[float, ...] = ()  # shot-local times of the hidden frames
    face: bool = False  # only the character's head and neck count (close_up, over_the_shoulder)

    @property
    def fraction(self) -> float:
        """Share of the frames in which the subject is hidden."""
        return self.hidden / self.frames if self.frames else 0.0

    @property
    def visible(self) -> float:
        return 1.0 - self.fraction


class VisibilityProbe:
    """Rays against one world: the static objects in one BVH built once, what moves (animated
    objects, body parts) in a small BVH per instant."""

    def __init__(self, world):
        from worldgen.compat import import_open3d

        o3d = import_open3d()

        self.o3d, self.world = o3d, world
        self.snaps = SnapshotMaker(world)
        self.ids = list(world.nodes)
        self.owner = [world.nodes[oid].character or oid for oid in self.ids]  # body parts answer as their character
        static = [g for g, oid in enumerate(self.ids) if oid in world.static_ids]
        self.moving = np.array([g for g, oid in enumerate(self.ids) if oid not in world.static_ids], np.int64)
        snap = self.snaps(0.0)
        self.static_scene = o3d.t.geometry.RaycastingScene() if static else None
        self.static_geoms = np.array(static, np.int64)
        for g in static:
            v, f = self._mesh(snap, g)
            self.static_scene.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(f))
        self._local_samples: dict[tuple[str, bool], np.ndarray] = {}

    @staticmethod
    def _mesh(snap, g):
        v0, v1 = snap.vertex_offset[g], snap.vertex_offset[g + 1]
        f0, f1 = snap.face_offset[g], snap.face_offset[g + 1]
        verts = np.ascontiguousarray(snap.vertices[v0:v1], np.float32)
        return verts, np.ascontiguousarray((snap.faces[f0:f1] - v0).astype(np.uint32))

    def _samples(self, subject: str, snap, face: bool = False) -> np.ndarray:
        """Deterministic, area-weighted surface points of the subject at the snapshot's instant
        (a character: of all its body parts, or with `face` its head and neck), as barycentric
        picks on its triangles."""
        geoms = [g for g, o in enumerate(self.owner) if o == subject]
        if face:
            head = [g for g in geoms if self.world.nodes[self.ids[g]].bone in FACE_BONES]
            geoms = head or geoms  # a rig without such bones: the whole body
        fo = snap.face_offset
        faces = np.concatenate([np.arange(fo[g], fo[g + 1]) for g in geoms])
        key = (subject, face)
        if key not in self._local_samples:
            tri = snap.vertices[snap.faces[faces]].astype(np.float64)
            area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
            rng = np.random.default_rng(0)
            p = area / area.sum() if area.sum() > 0 else None
            pick = rng.choice(len(faces), SAMPLES, p=p)
            ab = rng.random((SAMPLES, 2))
            flip = ab.sum(1) > 1
            ab[flip] = 1 - ab[flip]
            self._local_samples[key] = np.column_stack([pick, ab])
        pick, a, b = self._local_samples[key].T
        tri = snap.vertices[snap.faces[faces[pick.astype(int)]]].astype(np.float64)
        return tri[:, 0] + a[:, None] * (tri[:, 1] - tri[:, 0]) + b[:, None] * (tri[:, 2] - tri[:, 0])

    def blocked(self, subject: str, t: float, cam, face: bool = False) -> tuple[int, int, str | None]:
        """(rays in frame, rays blocked, the object blocking most of them) at world time t;
        `face`: a character's head and neck only."""
        o3d = self.o3d
        snap = self.snaps(t)
        pts = self._samples(subject, snap, face)
        uv, z = cam.project(pts)
        ok = (z > 1e-6) & (uv[:, 0] >= 0) & (uv[:, 0] < cam.width) & (uv[:, 1] >= 0) & (uv[:, 1] < cam.height)
        pts = pts[ok]
        if not len(pts):
            return 0, 0, None
        eye = cam.center
        d = pts - eye
        dist = np.linalg.norm(d, axis=1)
        with np.errstate(all="ignore"):  # a point at the eye itself: a NaN ray, which hits nothing
            rays = np.hstack([np.broadcast_to(eye, d.shape), d / dist[:, None]]).astype(np.float32)
        best_t = np.full(len(pts), np.inf)
        best_g = np.full(len(pts), -1, np.int64)
        if self.static_scene is not None:
            r = self.static_scene.cast_rays(o3d.core.Tensor(rays))
            th, gid = r["t_hit"].numpy(), r["geometry_ids"].numpy()
            hit = np.isfinite(th)
            best_t[hit], best_g[hit] = th[hit], self.static_geoms[gid[hit].astype(np.int64)]
        if len(self.moving):
            scene = o3d.t.geometry.RaycastingScene()
            for g in self.moving:
                v, f = self._mesh(snap, g)
                scene.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(f))
            r = scene.cast_rays(o3d.core.Tensor(rays))
            th, gid = r["t_hit"].numpy(), r["geometry_ids"].numpy()
            nearer = np.isfinite(th) & (th < best_t)
            best_t[nearer], best_g[nearer] = th[nearer], self.moving[gid[nearer].astype(np.int64)]
        owners = np.array([self.owner[g] if g >= 0 else "" for g in best_g], object)
        # blocked: something that is not the subject is hit clearly before the sample point
        block = (best_g >= 0) & (owners != subject) & (best_t < dist - 1e-3 * (1 + dist))
        if not block.any():
            return len(pts), 0, None
        names, counts = np.unique(owners[block].astype(str), return_counts=True)
        return len(pts), int(block.sum()), str(names[np.argmax(counts)])


def subject_of(shot) -> str | None:
    """What a shot is about: its camera's target (an object or character), if it names one."""
    cam = shot.camera
    if cam.keyframes:
        targets = {k.target for k in cam.keyframes if k.target is not None}
        return targets.pop() if len(targets) == 1 else None
    return cam.target


def shot_visibility(world, shot, index: int, width: int, height: int, fps: float, probe=None) -> Visibility | None:
    """The subject's visibility over every frame of the shot; None for a shot without a
    subject. Frames are measured every STRIDE-th, and every frame between two measured ones
    that disagree, so each change of state is found to the frame; a frame between two that
    agree takes their state (a blip shorter than STRIDE frames between them can be missed)."""
    subject = subject_of(shot)
    if subject is None:
        return None
    probe = probe or VisibilityProbe(world)
    rig = ShotCamera(shot, world, width, height)
    n = frame_count(shot, fps)
    face = shot.camera.move in CHARACTER_MOVES
    state: dict[int, str | None] = {}  # frame -> the occluder hiding the subject, None when in view

    def measure(i: int) -> bool:
        if i not in state:
            with np.errstate(all="ignore"):
                cam = rig.at(i / fps)
            total, blocked, who = probe.blocked(subject, shot.start + i / fps, cam, face)
            state[i] = who if is_hidden(total, blocked) else None
        return state[i] is not None

    marks = sorted(set(range(0, n, STRIDE)) | {n - 1})
    measure(marks[0])
    for a, b in zip(marks, marks[1:]):
        if measure(a) != measure(b):
            for i in range(a + 1, b):
                measure(i)
    hidden_frames = []
    for a, b in zip(marks, marks[1:] + [n]):
        for i in range(a, b):
            if (state[i] if i in state else state[a]) is not None:
                hidden_frames.append(i)
    by: dict[str, int] = {}
    for who in state.values():
        if who is not None:
            by[who] = by.get(who, 0) + 1
    occluder = max(sorted(by), key=by.__getitem__) if by else None
    times = tuple(round(i / fps, 4) for i in hidden_frames)
    return Visibility(index, shot.id, subject, n, len(hidden_frames), occluder, times, face)


def spec_visibility(spec, world) -> list[Visibility]:
    """Visibility of every shot that has a subject, in shot order."""
    r = spec.render
    probe = None
    out = []
    for i, shot in enumerate(spec.shots):
        if subject_of(shot) is None:
            continue
        probe = probe or VisibilityProbe(world)
        v = shot_visibility(world, shot, i, r.width, r.height, r.fps, probe)
        if v is not None:
            out.append(v)
    return out


def describe(v: Visibility, fps: float) -> str:
    """The one-line account of a shot's subject: how long it is hidden, and by what."""
    who = f"the face of '{v.subject}'" if v.face else f"'{v.subject}'"
    if not v.hidden:
        return f"{who} is in view in all {v.frames} frames (visible 100%)"
    return (
        f"{who} is hidden behind '{v.occluder}' in {v.hidden} of {v.frames} frames "
        f"({100 * v.fraction:.0f}%, about {v.hidden / fps:.2f} s; visible {100 * v.visible:.0f}%)"
    )


def occlusion_warnings(spec, world, threshold: float = WARN_FRACTION, measured=None) -> list:
    """Located warnings (SpecError objects, to print, not raise) for shots whose subject is
    hidden in more than `threshold` of their frames."""
    located = located_of(spec)
    out = []
    for v in measured if measured is not None else spec_visibility(spec, world):
        if v.fraction > threshold:
            out.append(located.error(("shots", v.index, "camera"), describe(v, spec.render.fps)))
    return out
