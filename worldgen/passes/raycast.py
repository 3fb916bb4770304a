"""Open3D RaycastingScene backend: CPU, no GL, exact ray/triangle hits. The default.

Open3D's scenes cannot move a mesh once built, so the world is split in two BVHs: what never
moves (built once per world) and what moves (characters, animated objects; rebuilt per instant,
small). Each frame casts both and keeps the nearer hit, so a walking actor in a 100k-triangle
set costs a small rebuild instead of rebuilding the whole set."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from worldgen.camera import CameraFrame
from worldgen.passes.snapshot import Hits, Snapshot, pixel_ray_array


class RaycastBackend:
    name = "raycast"

    KEEP = 3  # moving-part BVHs kept: the sliding window's three instants, so painting frame i
    # after rasterizing frame i+1 (and its shadow rays) rebuilds nothing

    def __init__(self, world):
        import open3d as o3d  # noqa: F401  (import cost paid once, here)
        self.world = world
        ids = list(world.nodes)
        self.static_geoms = np.array([g for g, oid in enumerate(ids) if oid in world.static_ids], np.int32)
        self.moving_geoms = np.array([g for g, oid in enumerate(ids) if oid not in world.static_ids], np.int32)
        self._static = None
        self._local_boxes = None
        self._corner_pick = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
        self.deforming = np.array([world.deforms(oid) for oid in ids], bool)
        self._moving: OrderedDict[bytes, object] = OrderedDict()

    @staticmethod
    def _build(snap: Snapshot, geoms: np.ndarray):
        import open3d as o3d
        scene = o3d.t.geometry.RaycastingScene()
        for g in geoms:
            v0, v1 = snap.vertex_offset[g], snap.vertex_offset[g + 1]
            f0, f1 = snap.face_offset[g], snap.face_offset[g + 1]
            verts = o3d.core.Tensor(np.ascontiguousarray(snap.vertices[v0:v1]))
            faces = o3d.core.Tensor(np.ascontiguousarray((snap.faces[f0:f1] - v0).astype(np.uint32)))
            scene.add_triangles(verts, faces)
        return scene

    def _scenes(self, snap: Snapshot) -> list:
        """(scene, global geometry index per scene geometry id) for the parts that exist."""
        out = []
        if len(self.static_geoms):
            if self._static is None:
                self._static = self._build(snap, self.static_geoms)
            out.append((self._static, self.static_geoms))
        if len(self.moving_geoms):
            key = snap.matrices[self.moving_geoms].tobytes()
            scene = self._moving.get(key)
            if scene is None:
                scene = self._moving[key] = self._build(snap, self.moving_geoms)
                if len(self._moving) > self.KEEP:
                    self._moving.popitem(last=False)
            else:
                self._moving.move_to_end(key)
            out.append((scene, self.moving_geoms))
        return out

    def hits(self, snap: Snapshot, cam: CameraFrame) -> Hits:
        import open3d as o3d

        from worldgen.passes.kernels import hits_from_raycast, merge_sparse_hits, nearer_hits
        ray_img = pixel_ray_array(cam)
        h, w = cam.height, cam.width
        merged = None
        for scene, geoms in self._scenes(snap):
            pixels = None
            if merged is not None and geoms is self.moving_geoms:
                pixels = self._footprint(snap, cam, geoms)
            if pixels is None:
                r = scene.cast_rays(o3d.core.Tensor.from_numpy(ray_img))
                hb = hits_from_raycast(r["t_hit"].numpy(), r["geometry_ids"].numpy(), r["primitive_ids"].numpy(),
                                       r["primitive_uvs"].numpy(), h, w, geoms)
                merged = hb if merged is None else nearer_hits(*merged, *hb)
            elif len(pixels):  # cast only the pixels the moving parts can cover
                r = scene.cast_rays(o3d.core.Tensor.from_numpy(np.ascontiguousarray(ray_img.reshape(-1, 6)[pixels])))
                merged = merge_sparse_hits(*merged, pixels, r["t_hit"].numpy(), r["geometry_ids"].numpy(),
                                           r["primitive_ids"].numpy(), r["primitive_uvs"].numpy(), geoms)
        return Hits(*merged)

    def _footprint(self, snap: Snapshot, cam: CameraFrame, geoms: np.ndarray):
        """Flat indices of the pixels inside the screen rectangles of the moving parts' boxes,
        or None when a box reaches behind the camera (then every pixel is cast)."""
        if self._local_boxes is None:
            lo = np.stack([snap.local[snap.vertex_offset[g]:snap.vertex_offset[g + 1]].min(0) for g in geoms])
            hi = np.stack([snap.local[snap.vertex_offset[g]:snap.vertex_offset[g + 1]].max(0) for g in geoms])
            pick = self._corner_pick
            self._local_boxes = np.where(pick[None, :, :] == 0, lo[:, None, :], hi[:, None, :])  # (G, 8, 3)
        m = snap.matrices[geoms]
        world = np.einsum("gij,gkj->gki", m[:, :3, :3], self._local_boxes) + m[:, None, :3, 3]
        for i, g in enumerate(geoms):
            if self.deforming[g]:  # a skinned body's box comes from its posed vertices
                v = snap.vertices[snap.vertex_offset[g]:snap.vertex_offset[g + 1]]
                lo, hi = v.min(0), v.max(0)
                world[i] = np.where(self._corner_pick == 0, lo, hi)
        cam_pts = world @ cam.world_to_camera[:3, :3].T + cam.world_to_camera[:3, 3]
        z = cam_pts[..., 2]
        if (z <= 1e-3).any():
            return None
        px = cam_pts[..., 0] / z * cam.K[0, 0] + cam.K[0, 2]
        py = cam_pts[..., 1] / z * cam.K[1, 1] + cam.K[1, 2]
        h, w = cam.height, cam.width
        mask = np.zeros((h, w), bool)
        x0 = np.clip(np.floor(px.min(1)) - 1, 0, w).astype(int)
        x1 = np.clip(np.ceil(px.max(1)) + 2, 0, w).astype(int)
        y0 = np.clip(np.floor(py.min(1)) - 1, 0, h).astype(int)
        y1 = np.clip(np.ceil(py.max(1)) + 2, 0, h).astype(int)
        for a, b, c, d in zip(y0, y1, x0, x1):
            if a < b and c < d:
                mask[a:b, c:d] = True
        return np.flatnonzero(mask)

    def occluded(self, points: np.ndarray, directions: np.ndarray, snap: Snapshot) -> np.ndarray:
        """Shadow test: does anything lie along each ray (unit direction, from points)?"""
        import open3d as o3d
        rays = o3d.core.Tensor(np.concatenate([points, directions], 1).astype(np.float32))
        out = None
        for scene, _ in self._scenes(snap):
            o = scene.test_occlusions(rays, tnear=1e-3).numpy()
            out = o if out is None else (out | o)
        return out

    def scene_for_timing(self, snap: Snapshot):
        """The single BVH of a world that never moves (what the benchmark times raw casts on)."""
        return self._scenes(snap)[0][0]
