"""A character whose body is a rigged glTF/GLB: its skin is posed by the file's clips while the
path, heading and action timeline come from the same machinery as the proxy body.

The body is one deforming mesh (node `<id>/body`, bone 'root'). Its root frame follows the
path and heading; the clip for what the character is doing poses the skin inside it. Walk
and run clips are advanced by distance travelled, not time, so their stride follows the
path's speed (the stride per cycle is measured from the clip's ankle swing)."""

from __future__ import annotations

import math

import numpy as np


from worldgen.character.body import Part
from worldgen.character.gait import MOVING_SPEED
from worldgen.character.rig import KEYPOINTS, CharacterRig, Pose
from worldgen.shapes import make_mesh

CLIP_ACTIONS = ("idle", "walk", "run", "wave", "point", "sit")
DUTY = 0.6  # fraction of a walk cycle a foot is planted, to turn ankle swing into stride


class SkinnedRig(CharacterRig):
    deforms = True

    def __init__(self, spec, locate, asset):
        self.asset = asset
        v = asset.vertices
        self.scale = spec.height / max(float(np.ptp(v[:, 1])), 1e-6)
        self.lift = -float(v[:, 1].min())  # the asset's lowest point goes to the ground
        super().__init__(spec, locate)
        self.clip_of = {a: c for a, c in ((a, spec.clips.get(a) or self._named(a)) for a in CLIP_ACTIONS) if c}
        self.stride = {a: self._stride(self.clip_of[a]) for a in ("walk", "run") if a in self.clip_of}
        self._openpose = asset.openpose_joints()
        self._deformed: dict[tuple, tuple] = {}

    def _named(self, action: str):
        return next((c for c in self.asset.clips if c.lower() == action), None)

    def _make_parts(self):
        a = self.asset
        mesh = make_mesh(a.vertices, a.faces, a.normals, a.uv)
        return [Part("body", "root", mesh, "body", 0.08 * self.spec.height)]

    def _stride(self, clip: str) -> float:
        """Ground covered per cycle of an in-place walk clip: a planted foot sweeps back by its
        forward swing range while the body covers that distance during the stance fraction."""
        ankles = [j for j in (self._openpose_index("r_ankle"), self._openpose_index("l_ankle")) if j is not None]
        dur = self.asset.clips[clip].duration
        if not ankles or dur <= 0:
            return 0.8 * self.spec.height
        zs = np.array([self.asset.joint_matrices(clip, t)[ankles, 2, 3] for t in np.linspace(0, dur, 25)])
        swing = float(np.ptp(zs, axis=0).max()) * self.scale
        return max(swing / DUTY, 0.2 * self.spec.height)

    def _openpose_index(self, name: str):
        return self.asset.openpose_joints()[KEYPOINTS.index(name)]

    def clip_at(self, t: float) -> tuple[str | None, float]:
        """Which clip plays at t and at what clip time."""
        for kind in ("wave", "point"):
            for a in self.active(kind, t):
                if kind in self.clip_of:
                    return self.clip_of[kind], t - a.start
        for a in self.active("sit", t):
            if "sit" in self.clip_of:
                return self.clip_of["sit"], min(t - a.start, self.asset.clips[self.clip_of["sit"]].duration)
        if self.arc.speed(t) > MOVING_SPEED:
            gait = self.gait_at(t)
            clip = self.clip_of.get(gait) or self.clip_of.get("walk")
            if clip is not None:
                stride = self.stride.get(gait) or self.stride.get("walk")
                return clip, self.arc.s_at(t) / stride * self.asset.clips[clip].duration
        return self.clip_of.get("idle"), t

    def root_matrix(self, t: float) -> np.ndarray:
        h = self.heading(t)
        c, s = math.cos(h), math.sin(h)
        m = np.eye(4)
        m[:3, :3] = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]) * self.scale
        m[:3, 3] = self.root(t) + np.array([0.0, self.lift * self.scale, 0.0])
        return m

    @property
    def has_mouth(self) -> bool:
        """Speech moves this body's mouth only where the file has a jaw bone or a mouth morph."""
        return self.asset.has_mouth

    def deformed(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Posed vertices and normals in the asset's model space at time t, the jaw and the
        mouth morph opened by the speech track (if any)."""
        t = float(t)
        opening = self.mouth(t)[0] if self.asset.has_mouth else 0.0
        hit = self._deformed.get((t, opening))
        if hit is None:
            clip, ct = self.clip_at(t)
            joints = self.asset.joint_matrices(clip, ct, jaw_open=opening)
            hit = self._deformed[(t, opening)] = (*self.asset.skin(joints, mouth_open=opening), joints)
            if len(self._deformed) > 8:
                self._deformed.pop(next(iter(self._deformed)))
        return hit

    def _pose(self, t: float) -> Pose:
        root = self.root_matrix(t)
        _, _, joints = self.deformed(t)
        pos = joints[:, :3, 3] @ root[:3, :3].T + root[:3, 3]
        kp = np.full((len(KEYPOINTS), 3), np.nan)
        for k, j in enumerate(self._openpose):
            if j is not None:
                kp[k] = pos[j]
        head_j = self._openpose_index("nose") or self._head_joint()
        if head_j is not None:  # face points the file does not name: on the head, facing the body's way
            right, up, fwd = self.axes(t)
            r = 0.062 * self.spec.height
            head = pos[head_j] + up * r
            face = {
                "nose": fwd * r,
                "r_eye": fwd * 0.8 * r + up * 0.3 * r + right * 0.35 * r,
                "l_eye": fwd * 0.8 * r + up * 0.3 * r - right * 0.35 * r,
                "r_ear": right * 0.85 * r,
                "l_ear": -right * 0.85 * r,
            }
            for name, off in face.items():
                k = KEYPOINTS.index(name)
                if np.isnan(kp[k]).any():
                    kp[k] = head + off
        ank = [kp[KEYPOINTS.index("r_ankle")], kp[KEYPOINTS.index("l_ankle")]]
        return Pose({"root": root}, kp, np.stack(ank), np.array([False, False]))

    def mouth_keypoints(self, t: float) -> np.ndarray:
        """The 20 mouth keypoints (OpenPose face 48-67), on the front of the head as the face
        points the file does not name are (the mesh has no named lips to put them on)."""
        from worldgen.character.body import mouth_points

        pose = self.pose(t)
        right, up, fwd = self.axes(t)
        r = 0.062 * self.spec.height
        head = pose.keypoints[KEYPOINTS.index("nose")] - fwd * r  # the head's centre, behind the nose
        local = mouth_points(self.body, *self.mouth(t)) * (r / self.body.head_radius)
        return head + local @ np.stack([right, up, fwd])

    def _head_joint(self):
        names = [n.lower() for n in self.asset.joint_names]
        return next((j for j, n in enumerate(names) if n.endswith("head") or n == "head"), None)

    def head(self, t: float) -> np.ndarray:
        p = self.pose(t).keypoints[KEYPOINTS.index("nose")]
        return p if np.isfinite(p).all() else self.approx_head(t)

    def centre(self, t: float) -> np.ndarray:
        return self.root(t) + np.array([0.0, 0.55 * self.spec.height, 0.0])
