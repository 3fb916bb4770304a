"""The world frozen at one instant, flattened into arrays that both rasterizers and the pass
derivation share: world-space vertices, normals and uv of every object, one global face table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from worldgen.camera import CameraFrame


@dataclass
class Snapshot:
    t: float
    matrices: np.ndarray  # (G, 4, 4) world transform per object (spec order)
    vertices: np.ndarray  # (V, 3) float32 world space, all objects concatenated
    normals: np.ndarray  # (V, 3) float32 world space, unit
    uv: np.ndarray  # (V, 2) float32
    local: np.ndarray  # (V, 3) float32 object-frame vertices (before the world transform; a skinned body's rest pose)
    faces: np.ndarray  # (F, 3) int32 into the global vertex table
    face_offset: np.ndarray  # (G+1,) first global face of each object
    vertex_offset: np.ndarray  # (G+1,)


class SnapshotMaker:
    """Builds snapshots fast: the static parts of the tables are made once per world."""

    def __init__(self, world):
        self.world = world
        meshes = [n.mesh for n in world.nodes.values()]
        self.ids = list(world.nodes)
        self.vertex_offset = np.cumsum([0] + [len(m.vertices) for m in meshes])
        self.face_offset = np.cumsum([0] + [len(m.faces) for m in meshes])
        self.local = np.concatenate([m.vertices for m in meshes]).astype(np.float32)
        self.local_normals = np.concatenate([m.vertex_normals for m in meshes]).astype(np.float32)
        self.uv = np.concatenate([m.visual.uv for m in meshes]).astype(np.float32)
        self.faces = np.concatenate([m.faces + o for m, o in zip(meshes, self.vertex_offset)]).astype(np.int32)
        self._fixed = None
        self._rows: dict = {}
        self.deforming = np.array([world.deforms(oid) for oid in self.ids], bool)

    def __call__(self, t: float) -> Snapshot:
        ids = self.ids
        mats = np.stack([self.world.world_matrix(oid, t) for oid in ids])
        if self._fixed is None:  # objects that never move are transformed once per world
            self._fixed = self._transform(mats, range(len(ids)))
        v, n = self._fixed[0].copy(), self._fixed[1].copy()
        rigid = [g for g, oid in enumerate(ids) if oid not in self.world.static_ids and not self.deforming[g]]
        if rigid:  # all moving rigid parts at once: each vertex by its own object's matrix
            rows, owner = self._rows_and_owner(rigid)
            m = mats[:, :3, :].astype(np.float32)
            nm = np.zeros((len(ids), 3, 3), np.float32)
            nm[rigid] = np.linalg.inv(mats[rigid, :3, :3]).transpose(0, 2, 1).astype(np.float32)
            move_rigid_parts(self.local, self.local_normals, rows, owner, m, nm, v, n)
        deforming = [g for g in range(len(ids)) if self.deforming[g]]
        if deforming:
            mv, mn = self._transform(mats, deforming, t)
            sel = self._rows_and_owner(deforming)[0]
            v[sel], n[sel] = mv[sel], mn[sel]
        return Snapshot(t, mats, v, n, self.uv, self.local, self.faces, self.face_offset, self.vertex_offset)

    def _rows_and_owner(self, geoms):
        """Vertex rows of these objects and the object each row belongs to (cached)."""
        key = tuple(geoms)
        hit = self._rows.get(key)
        if hit is None:
            rows = np.concatenate([np.arange(self.vertex_offset[g], self.vertex_offset[g + 1]) for g in geoms])
            owner = np.concatenate([np.full(self.vertex_offset[g + 1] - self.vertex_offset[g], g) for g in geoms])
            hit = self._rows[key] = (rows, owner)
        return hit

    def _transform(self, mats, geoms, t: float = 0.0):
        v = np.empty_like(self.local)
        n = np.empty_like(self.local_normals)
        for g in geoms:
            a, b = self.vertex_offset[g], self.vertex_offset[g + 1]
            m = mats[g]
            src, src_n = self.local[a:b], self.local_normals[a:b]
            if self.deforming[g]:  # a skinned body: its posed shape at t, then its root frame
                pv, pn = self.world.deformed(self.ids[g], t)
                src, src_n = pv.astype(np.float32), pn.astype(np.float32)
            v[a:b] = src @ m[:3, :3].T.astype(np.float32) + m[:3, 3].astype(np.float32)
            nm = np.linalg.inv(m[:3, :3]).T.astype(np.float32)
            nn = src_n @ nm.T
            n[a:b] = nn / np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-12)
        return v, n


@njit(cache=True)
def move_rigid_parts(local, local_normals, rows, owner, m, nm, v, n):
    """v[r] = m[g] (local[r], 1) and n[r] = unit(nm[g] local_normals[r]), g = owner[k], for each
    row r = rows[k], in float32. The numpy form of the same (gathered matrices, two einsums and a
    norm) took 0.86 ms a frame for five walking characters' 7,370 vertices; this loop takes
    0.08 ms for 8,000 (both measured by hand). Each product sum starts from +0, as einsum's do,
    and the squared length is summed in numpy's order, so the bits are the numpy form's, signs
    of zero included (tests/test_passes_sweep.py)."""
    zero = np.float32(0.0)
    eps = np.float32(1e-12)
    for k in range(rows.shape[0]):
        r, g = rows[k], owner[k]
        x, y, z = local[r, 0], local[r, 1], local[r, 2]
        a, b, c = local_normals[r, 0], local_normals[r, 1], local_normals[r, 2]
        for i in range(3):
            v[r, i] = (zero + m[g, i, 0] * x + m[g, i, 1] * y + m[g, i, 2] * z) + m[g, i, 3]
        n0 = zero + nm[g, 0, 0] * a + nm[g, 0, 1] * b + nm[g, 0, 2] * c
        n1 = zero + nm[g, 1, 0] * a + nm[g, 1, 1] * b + nm[g, 1, 2] * c
        n2 = zero + nm[g, 2, 0] * a + nm[g, 2, 1] * b + nm[g, 2, 2] * c
        length = max(np.sqrt(n0 * n0 + n1 * n1 + n2 * n2), eps)
        n[r, 0], n[r, 1], n[r, 2] = n0 / length, n1 / length, n2 / length


@dataclass
class Hits:
    """What a rasterizer returns per pixel: the nearest surface along each pixel's centre ray."""

    depth: np.ndarray  # (H, W) float32 metric z-depth, inf where nothing is hit
    geom: np.ndarray  # (H, W) int32 object index in spec order, -1 where nothing is hit
    prim: np.ndarray  # (H, W) int32 triangle index within that object
    bary: np.ndarray  # (H, W, 2) float32 barycentric (b1, b2): p = (1-b1-b2) v0 + b1 v1 + b2 v2


def empty_hits(h: int, w: int) -> tuple:
    """(depth, geom, prim, bary) hit buffers of a frame where nothing is hit: depth inf, geom
    -1, prim and bary 0 (what a miss holds in every backend's buffers)."""
    return (
        np.full((h, w), np.inf, np.float32),
        np.full((h, w), -1, np.int32),
        np.zeros((h, w), np.int32),
        np.zeros((h, w, 2), np.float32),
    )


def pixel_ray_array(cam: CameraFrame) -> np.ndarray:
    """The (H, W, 6) float32 rays (origin, direction) behind `pixel_rays`, what Open3D casts."""
    pixel_rays(cam)
    return cam.__dict__["_rays_array"]


def ray_basis(cam: CameraFrame) -> tuple[np.ndarray, np.ndarray]:
    """(M, origin) in float64 behind `pixel_ray_array`: pixel (i, j)'s ray is origin and
    M [j, i, 1], each rounded to float32. A kernel that rebuilds a ray from these with
    `make_rays`' expression gets the stored ray's exact bits without reading the array; a
    frame whose kernels all do (the scan-converted passes) never builds the array."""
    cached = cam.__dict__.get("_ray_basis")
    if cached is None:
        m = cam.world_to_camera[:3, :3].T @ np.linalg.inv(cam.K)
        cached = (m.astype(np.float64), cam.center.astype(np.float64))
        object.__setattr__(cam, "_ray_basis", cached)
    return cached


def pixel_rays(cam: CameraFrame) -> tuple[np.ndarray, np.ndarray]:
    """Origin (3,) and per-pixel world directions (H, W, 3) through pixel centres, scaled so
    that the camera-space z of each direction is 1: a ray parameter is then the z-depth.
    Cached on the camera frame: the rasterizer, the pass derivation and the painter share it;
    the (H, W, 6) ray array behind it is what Open3D casts."""
    cached = cam.__dict__.get("_rays")
    if cached is not None:
        return cached
    from worldgen.passes.kernels import make_rays

    rays = make_rays(*ray_basis(cam), cam.height, cam.width)
    out = (cam.center, rays[..., 3:])
    object.__setattr__(cam, "_rays_array", rays)
    object.__setattr__(cam, "_rays", out)
    return out


def ray_triangle(origin, dirs, v0, v1, v2):
    """Moller-Trumbore, vectorised, float64: (t, b1, b2) for rays against their own triangles."""
    e1, e2 = v1 - v0, v2 - v0
    p = np.cross(dirs, e2)
    det = np.einsum("ij,ij->i", e1, p)
    det = np.where(np.abs(det) < 1e-20, 1e-20, det)
    s = origin - v0
    b1 = np.einsum("ij,ij->i", s, p) / det
    q = np.cross(s, e1)
    b2 = np.einsum("ij,ij->i", dirs, q) / det
    t = np.einsum("ij,ij->i", e2, q) / det
    return t, b1, b2
