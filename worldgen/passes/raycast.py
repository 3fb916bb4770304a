"""Open3D RaycastingScene backend: CPU, no GL, exact ray/triangle hits. The default."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from worldgen.camera import CameraFrame
from worldgen.passes.snapshot import Hits, Snapshot, pixel_ray_array


class RaycastBackend:
    name = "raycast"

    KEEP = 3  # BVHs kept: the sliding window's three instants, so painting frame i after
    # rasterizing frame i+1 (and its shadow rays) rebuilds nothing

    def __init__(self, world):
        import open3d as o3d  # noqa: F401  (import cost paid once, here)
        self.world = world
        self._scenes: OrderedDict[bytes, object] = OrderedDict()

    def _scene_for(self, snap: Snapshot):
        import open3d as o3d
        # a world that never moves keeps one BVH; otherwise one per set of transforms
        key = snap.matrices.tobytes()
        if key in self._scenes:
            self._scenes.move_to_end(key)
            return self._scenes[key]
        scene = o3d.t.geometry.RaycastingScene()
        for g in range(len(snap.face_offset) - 1):
            v0, v1 = snap.vertex_offset[g], snap.vertex_offset[g + 1]
            f0, f1 = snap.face_offset[g], snap.face_offset[g + 1]
            verts = o3d.core.Tensor(np.ascontiguousarray(snap.vertices[v0:v1]))
            faces = o3d.core.Tensor(np.ascontiguousarray((snap.faces[f0:f1] - v0).astype(np.uint32)))
            gid = scene.add_triangles(verts, faces)
            assert gid == g
        self._scenes[key] = scene
        if len(self._scenes) > self.KEEP:
            self._scenes.popitem(last=False)
        return scene

    def hits(self, snap: Snapshot, cam: CameraFrame) -> Hits:
        import open3d as o3d

        from worldgen.passes.kernels import hits_from_raycast
        r = self._scene_for(snap).cast_rays(o3d.core.Tensor.from_numpy(pixel_ray_array(cam)))
        return Hits(*hits_from_raycast(r["t_hit"].numpy(), r["geometry_ids"].numpy(), r["primitive_ids"].numpy(),
                                       r["primitive_uvs"].numpy(), cam.height, cam.width))

    def occluded(self, points: np.ndarray, directions: np.ndarray, snap: Snapshot) -> np.ndarray:
        """Shadow test: does anything lie along each ray (unit direction, from points)?"""
        import open3d as o3d
        scene = self._scene_for(snap)
        rays = np.concatenate([points, directions], 1).astype(np.float32)
        return scene.test_occlusions(o3d.core.Tensor(rays), tnear=1e-3).numpy()
