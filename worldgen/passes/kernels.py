"""Fused per-pixel kernels (numba): every pass from the hit buffer in one sweep per frame.

The numpy formulation of the same maths made ~20 full-image temporaries per frame and cost
9x the ray cast itself; one compiled loop over pixels reads each input once. numba is used
rather than hand-written C because it is a well-kept package that compiles on install-free
machines and caches its machine code next to this file."""
from __future__ import annotations

import warnings

import numpy as np
from numba import njit, prange

# numba probes TBB first and warns when the system's is too old; it then uses OpenMP, as intended
warnings.filterwarnings("ignore", message="The TBB threading layer requires")

OCC_REL = 0.01
OCC_ABS = 1e-3


@njit(parallel=True, cache=True)
def make_rays(m, origin, h, w):
    """(H, W, 6) float32 rays: origin and direction R^T K^-1 [j, i, 1] (camera z = 1)."""
    out = np.empty((h, w, 6), np.float32)
    for i in prange(h):
        for j in range(w):
            for k in range(3):
                out[i, j, k] = origin[k]
                out[i, j, 3 + k] = m[k, 0] * j + m[k, 1] * i + m[k, 2]
    return out


@njit(parallel=True, cache=True)
def hits_from_raycast(t_hit, gid, pid, uvs, h, w, geom_of):
    """Open3D's raw arrays -> (depth, geom, prim, bary) with -1 / inf for misses; `geom_of` maps
    the scene's geometry ids to the world's object indices."""
    depth = np.empty((h, w), np.float32)
    geom = np.empty((h, w), np.int32)
    prim = np.empty((h, w), np.int32)
    bary = np.empty((h, w, 2), np.float32)
    for i in prange(h):
        for j in range(w):
            t = t_hit[i, j]
            if np.isfinite(t):
                depth[i, j] = t
                geom[i, j] = geom_of[gid[i, j]]
                prim[i, j] = np.int32(pid[i, j])
                bary[i, j, 0] = uvs[i, j, 0]
                bary[i, j, 1] = uvs[i, j, 1]
            else:
                depth[i, j] = np.inf
                geom[i, j] = -1
                prim[i, j] = 0
                bary[i, j, 0] = 0.0
                bary[i, j, 1] = 0.0
    return depth, geom, prim, bary


@njit(parallel=True, cache=True)
def nearer_hits(depth_a, geom_a, prim_a, bary_a, depth_b, geom_b, prim_b, bary_b):
    """Per pixel, the nearer of two hit buffers (in place into the first)."""
    h, w = depth_a.shape
    for i in prange(h):
        for j in range(w):
            if depth_b[i, j] < depth_a[i, j]:
                depth_a[i, j] = depth_b[i, j]
                geom_a[i, j] = geom_b[i, j]
                prim_a[i, j] = prim_b[i, j]
                bary_a[i, j, 0] = bary_b[i, j, 0]
                bary_a[i, j, 1] = bary_b[i, j, 1]
    return depth_a, geom_a, prim_a, bary_a


@njit(cache=True)
def merge_sparse_hits(depth, geom, prim, bary, pixels, t_hit, gid, pid, uvs, geom_of):
    """Fold hits cast for a subset of pixels (flat indices) into full hit buffers, keeping the
    nearer; in place. Serial: the subsets are small and this avoids threading overhead."""
    w = depth.shape[1]
    for n in range(pixels.shape[0]):
        t = t_hit[n]
        if not np.isfinite(t):
            continue
        i = pixels[n] // w
        j = pixels[n] - i * w
        if t < depth[i, j]:
            depth[i, j] = t
            geom[i, j] = geom_of[gid[n]]
            prim[i, j] = np.int32(pid[n])
            bary[i, j, 0] = uvs[n, 0]
            bary[i, j, 1] = uvs[n, 1]
    return depth, geom, prim, bary


@njit(parallel=True, cache=True)
def surface_images(depth, geom, prim, bary, rays, face_offset, faces, normals, uv, local,
                   instance_lut, semantic_lut, with_local):
    """World point, unit normal, uv, object-frame point (only `with_local`, for painters),
    instance and semantic per pixel."""
    h, w = depth.shape
    world = np.empty((h, w, 3), np.float32)
    normal = np.empty((h, w, 3), np.float32)
    uv_out = np.empty((h, w, 2), np.float32)
    loc = np.empty((h, w, 3) if with_local else (1, 1, 3), np.float32)
    inst = np.empty((h, w), np.uint16)
    sem = np.empty((h, w), np.uint16)
    for i in prange(h):
        for j in range(w):
            g = geom[i, j]
            if g < 0:
                for k in range(3):
                    world[i, j, k] = 0.0
                    normal[i, j, k] = 0.0
                    if with_local:
                        loc[i, j, k] = 0.0
                uv_out[i, j, 0] = 0.0
                uv_out[i, j, 1] = 0.0
                inst[i, j] = 0
                sem[i, j] = 0
                continue
            f = face_offset[g] + prim[i, j]
            a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
            b1, b2 = bary[i, j, 0], bary[i, j, 1]
            b0 = 1.0 - b1 - b2
            d = depth[i, j]
            nn = 0.0
            for k in range(3):
                world[i, j, k] = rays[i, j, k] + rays[i, j, 3 + k] * d
                v = normals[a, k] * b0 + normals[b, k] * b1 + normals[c, k] * b2
                normal[i, j, k] = v
                nn += v * v
                if with_local:
                    loc[i, j, k] = local[a, k] * b0 + local[b, k] * b1 + local[c, k] * b2
            nn = np.sqrt(nn)
            if nn > 1e-12:
                for k in range(3):
                    normal[i, j, k] /= nn
            for k in range(2):
                uv_out[i, j, k] = uv[a, k] * b0 + uv[b, k] * b1 + uv[c, k] * b2
            inst[i, j] = instance_lut[g]
            sem[i, j] = semantic_lut[g]
    return world, normal, uv_out, loc, inst, sem


@njit(inline="always")
def _moved(g, x, y, z, motion, deform, f, b0, b1, b2, faces, verts):
    """A surface point carried to the other instant: by its object's rigid motion, or for a
    deforming body by its triangle's vertices there (same barycentrics: the same material point)."""
    if deform[g]:
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        return (b0 * verts[a, 0] + b1 * verts[b, 0] + b2 * verts[c, 0],
                b0 * verts[a, 1] + b1 * verts[b, 1] + b2 * verts[c, 1],
                b0 * verts[a, 2] + b1 * verts[b, 2] + b2 * verts[c, 2])
    m = motion[g]
    return (m[0, 0] * x + m[0, 1] * y + m[0, 2] * z + m[0, 3],
            m[1, 0] * x + m[1, 1] * y + m[1, 2] * z + m[1, 3],
            m[2, 0] * x + m[2, 1] * y + m[2, 2] * z + m[2, 3])


@njit(inline="always")
def _flow_one(g, px, py, pz, i, j, proj, depth_b, geom_b, h, w, flow, occ):
    qx = proj[0, 0] * px + proj[0, 1] * py + proj[0, 2] * pz + proj[0, 3]
    qy = proj[1, 0] * px + proj[1, 1] * py + proj[1, 2] * pz + proj[1, 3]
    qz = proj[2, 0] * px + proj[2, 1] * py + proj[2, 2] * pz + proj[2, 3]
    if qz <= 0:
        return
    u = qx / qz
    v = qy / qz
    flow[i, j, 0] = u - j
    flow[i, j, 1] = v - i
    jj = int(np.floor(u + 0.5))
    ii = int(np.floor(v + 0.5))
    if jj < 0 or jj >= w or ii < 0 or ii >= h:
        return
    if geom_b[ii, jj] == g and qz <= depth_b[ii, jj] * (1.0 + OCC_REL) + OCC_ABS:
        occ[i, j] = 0


@njit(parallel=True, cache=True)
def flow_images(geom, world, prim, bary, face_offset, faces, deform,
                motion_f, verts_f, proj_f, depth_f, geom_f, motion_b, verts_b, proj_b, depth_b, geom_b):
    """Exact forward and backward flow, and occlusion in the next and previous frames.

    motion[g] (3x4) carries a point of rigid object g from this frame to the other (identity for
    static objects); a deforming body's points follow their triangle's vertices (verts_*, the
    other instant's world vertices). proj (3x4) = K [R | t] of the other frame. A point is
    visible there when it lands inside the image, where that frame sees the same object at
    (nearly) the same depth."""
    h, w = geom.shape
    flow_f = np.empty((h, w, 2), np.float32)
    occ_f = np.empty((h, w), np.uint8)
    flow_b = np.empty((h, w, 2), np.float32)
    occ_b = np.empty((h, w), np.uint8)
    for i in prange(h):
        for j in range(w):
            flow_f[i, j, 0] = 0.0
            flow_f[i, j, 1] = 0.0
            flow_b[i, j, 0] = 0.0
            flow_b[i, j, 1] = 0.0
            occ_f[i, j] = 1
            occ_b[i, j] = 1
            g = geom[i, j]
            if g < 0:
                continue
            x, y, z = world[i, j, 0], world[i, j, 1], world[i, j, 2]
            f = face_offset[g] + prim[i, j]
            b1, b2 = bary[i, j, 0], bary[i, j, 1]
            b0 = 1.0 - b1 - b2
            px, py, pz = _moved(g, x, y, z, motion_f, deform, f, b0, b1, b2, faces, verts_f)
            _flow_one(g, px, py, pz, i, j, proj_f, depth_f, geom_f, h, w, flow_f, occ_f)
            px, py, pz = _moved(g, x, y, z, motion_b, deform, f, b0, b1, b2, faces, verts_b)
            _flow_one(g, px, py, pz, i, j, proj_b, depth_b, geom_b, h, w, flow_b, occ_b)
    return flow_f, occ_f, flow_b, occ_b
