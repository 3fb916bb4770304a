"""Every pass derived from a hit buffer, the same way for every backend.

Layers of a `PassFrame` (H x W = render height x width):

| name | dtype | shape | meaning |
|---|---|---|---|
| depth | float32 | H,W | metric z-depth along the camera's forward axis; inf where nothing is hit |
| normal | float32 | H,W,3 | world-space unit normal (smooth, interpolated); 0 where nothing is hit |
| instance | uint16 | H,W | object value from manifest `instances` (1..N); 0 = background |
| semantic | uint16 | H,W | label value from manifest `labels` (1..L); 0 = background |
| uv | float32 | H,W,2 | surface texture coordinate; 0 where nothing is hit |
| flow_fwd | float32 | H,W,2 | pixel displacement (dx, dy) of this pixel's surface point in the next frame |
| occlusion_fwd | uint8 | H,W | 1 where that point is hidden or outside the next frame (or background) |
| flow_bwd | float32 | H,W,2 | pixel displacement (dx, dy) of this pixel's surface point in the previous frame |
| occlusion_bwd | uint8 | H,W | 1 where that point is hidden or outside the previous frame (or background) |
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worldgen.camera import CameraFrame
from worldgen.passes.snapshot import Hits, Snapshot, pixel_rays

OCCLUSION_REL_TOL = 0.01  # a point counts as visible if within 1% (+1 mm) of the depth seen there
OCCLUSION_ABS_TOL = 1e-3


@dataclass
class Surface:
    """Per-hit-pixel surface attributes (flattened over hit pixels `idx`)."""
    idx: np.ndarray  # (N,) flat pixel indices that hit something
    geom: np.ndarray  # (N,) object index
    world: np.ndarray  # (N,3) world point
    normal: np.ndarray  # (N,3) world unit normal
    uv: np.ndarray  # (N,2)
    local: np.ndarray  # (N,3) object-frame point (what procedural patterns are anchored to)


def surface(hits: Hits, snap: Snapshot, cam: CameraFrame) -> Surface:
    idx = np.flatnonzero(hits.geom.ravel() >= 0)
    g = hits.geom.ravel()[idx]
    gf = snap.face_offset[g] + hits.prim.ravel()[idx]
    tri = snap.faces[gf]
    b = hits.bary.reshape(-1, 2)[idx]
    w = np.empty((len(idx), 3), np.float32)
    w[:, 1:] = b
    w[:, 0] = 1.0 - b[:, 0] - b[:, 1]

    def interp(table):
        return (table[tri[:, 0]] * w[:, 0:1] + table[tri[:, 1]] * w[:, 1:2] + table[tri[:, 2]] * w[:, 2:3])

    n = interp(snap.normals)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    origin, dirs = pixel_rays(cam)
    world = origin.astype(np.float32) + dirs.reshape(-1, 3)[idx] * hits.depth.ravel()[idx, None]
    return Surface(idx, g, world, n, interp(snap.uv), interp(snap.local))


def flow_to(surf: Surface, snap_a: Snapshot, snap_b: Snapshot, cam_b: CameraFrame, hits_b: Hits,
            moving: np.ndarray, shape) -> tuple[np.ndarray, np.ndarray]:
    """Exact flow of frame a's visible surface points into frame b, and their occlusion in b.

    A point on object g moves with g: p_b = M_g(b) M_g(a)^-1 p_a (identity for static objects),
    then is projected by camera b. It is visible in b if it lands inside the image and b sees
    the same object there at (nearly) the same depth."""
    h, w = shape
    p = surf.world.astype(np.float64)
    for g in np.flatnonzero(moving):
        sel = surf.geom == g
        if sel.any():
            rel = snap_b.matrices[g] @ np.linalg.inv(snap_a.matrices[g])
            p[sel] = p[sel] @ rel[:3, :3].T + rel[:3, 3]
    uv_b, z_b = cam_b.project(p)
    j, i = np.divmod(surf.idx, w)[1], np.divmod(surf.idx, w)[0]
    flow = np.zeros((h * w, 2), np.float32)
    flow[surf.idx, 0] = uv_b[:, 0] - j
    flow[surf.idx, 1] = uv_b[:, 1] - i
    occ = np.ones(h * w, np.uint8)
    jj, ii = np.rint(uv_b[:, 0]), np.rint(uv_b[:, 1])
    inside = (z_b > 0) & (jj >= 0) & (jj < w) & (ii >= 0) & (ii < h)
    q = np.where(inside, ii * w + jj, 0).astype(np.int64)
    seen_depth = hits_b.depth.ravel()[q]
    same = hits_b.geom.ravel()[q] == surf.geom
    visible = inside & same & (z_b <= seen_depth * (1 + OCCLUSION_REL_TOL) + OCCLUSION_ABS_TOL)
    occ[surf.idx] = np.where(visible, 0, 1)
    return flow.reshape(h, w, 2), occ.reshape(h, w)


@dataclass
class PassFrame:
    depth: np.ndarray
    normal: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    uv: np.ndarray
    flow_fwd: np.ndarray
    occlusion_fwd: np.ndarray
    flow_bwd: np.ndarray
    occlusion_bwd: np.ndarray

    LAYERS = ("depth", "normal", "instance", "semantic", "uv", "flow_fwd", "occlusion_fwd", "flow_bwd",
              "occlusion_bwd")

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.LAYERS}


def scatter(surf: Surface, values: np.ndarray, shape, fill=0, dtype=np.float32) -> np.ndarray:
    h, w = shape
    extra = values.shape[1:]
    out = np.full((h * w,) + extra, fill, dtype)
    out[surf.idx] = values
    return out.reshape((h, w) + extra)


def make_pass_frame(hits: Hits, surf: Surface, instance_lut: np.ndarray, semantic_lut: np.ndarray,
                    fwd, bwd) -> PassFrame:
    shape = hits.depth.shape
    g = hits.geom
    return PassFrame(
        depth=hits.depth,
        normal=scatter(surf, surf.normal, shape),
        instance=np.where(g >= 0, instance_lut[np.maximum(g, 0)], 0).astype(np.uint16),
        semantic=np.where(g >= 0, semantic_lut[np.maximum(g, 0)], 0).astype(np.uint16),
        uv=scatter(surf, surf.uv, shape),
        flow_fwd=fwd[0], occlusion_fwd=fwd[1], flow_bwd=bwd[0], occlusion_bwd=bwd[1],
    )
