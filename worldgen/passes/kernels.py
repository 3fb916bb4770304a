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

# Rows are dealt to threads in interleaved bands (band b: rows b, b + ROW_BANDS, ...): numba
# splits a prange into one contiguous block per thread, and a frame's top half (sky: misses,
# cheap) costs about half its bottom half, so contiguous halves left one core idle a third of
# the time. With 64 bands each thread's share spans the whole image for any thread count.
ROW_BANDS = 64

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
    for band in prange(ROW_BANDS):  # each thread's bands span the image: see ROW_BANDS
        for i in range(band, h, ROW_BANDS):
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
def hits_in_place(t_hit, geom, prim, bary, geom_of, remap):
    """`hits_from_raycast` without copies: Open3D's own output buffers become the hit buffer.
    `geom` and `prim` are int32 views of Open3D's uint32 ids (a miss's invalid id already reads
    -1); a miss gets depth inf, prim 0 and bary 0, and with `remap` a hit's scene geometry id
    becomes the world's object index. Same bytes as the copying kernel, a quarter of the memory
    traffic and no fresh pages."""
    h, w = geom.shape
    for band in prange(ROW_BANDS):  # each thread's bands span the image: see ROW_BANDS
        for i in range(band, h, ROW_BANDS):
            for j in range(w):
                if np.isfinite(t_hit[i, j]):
                    if remap:
                        geom[i, j] = geom_of[geom[i, j]]
                else:
                    t_hit[i, j] = np.inf
                    geom[i, j] = -1
                    prim[i, j] = 0
                    bary[i, j, 0] = 0.0
                    bary[i, j, 1] = 0.0
    return t_hit, geom, prim, bary


BANDS = 8  # rows i = band (mod BANDS) go to one thread: no two threads write one pixel


@njit(parallel=True, cache=True)
def raster_moving(depth, geom, prim, bary, rays, proj, verts, faces, face_list, face_geom, face_local):
    """Add the moving triangles to hit buffers that hold the static set's hits, in place.

    Each triangle is projected to its screen box and every pixel ray in the box is intersected
    with it exactly (Moller-Trumbore, float64), keeping the nearer hit. Moving geometry changes
    every instant, and a BVH rebuild costs ~350 ns a triangle; a few thousand small triangles
    are cheaper to visit directly."""
    h, w = depth.shape
    m = face_list.shape[0]
    boxes = np.empty((m, 4), np.int64)  # x0, x1, y0, y1 per triangle (x0 > x1: skip)
    edges = np.zeros((m, 3, 3))  # per edge a, b, c: a x + b y + c = signed pixel distance, > 0 inside
    for k in prange(m):
        boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3] = _screen_box(
            face_list[k], faces, verts, proj, w, h, edges[k]
        )
    for bi in prange(BANDS):  # rows interleaved across threads: figures share rows, so bands of
        for k in range(m):  # adjacent rows would leave most threads idle
            x0, x1, y0, y1 = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
            if x0 > x1 or y0 > y1:
                continue
            first = y0 + (bi - y0) % BANDS
            if first > y1:
                continue
            _hit_triangle(
                face_list[k],
                face_geom[k],
                face_local[k],
                x0,
                x1,
                first,
                y1,
                faces,
                verts,
                rays,
                depth,
                geom,
                prim,
                bary,
                edges[k],
            )
    return depth, geom, prim, bary


@njit(inline="always")
def _screen_box(f, faces, verts, proj, w, h, edge):
    """Pixel box of a triangle's projection, clipped to the image; the whole image when it
    crosses the camera plane, an empty box when it is behind the camera. Fills `edge` with the
    projected edges' line equations (a prefilter; all zero = test every pixel of the box)."""
    a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
    umin, umax, vmin, vmax = 1e30, -1e30, 1e30, -1e30
    behind = 0
    us = np.empty(3)
    vs = np.empty(3)
    n = 0
    for v in (a, b, c):
        qx = proj[0, 0] * verts[v, 0] + proj[0, 1] * verts[v, 1] + proj[0, 2] * verts[v, 2] + proj[0, 3]
        qy = proj[1, 0] * verts[v, 0] + proj[1, 1] * verts[v, 1] + proj[1, 2] * verts[v, 2] + proj[1, 3]
        qz = proj[2, 0] * verts[v, 0] + proj[2, 1] * verts[v, 1] + proj[2, 2] * verts[v, 2] + proj[2, 3]
        if qz <= 1e-6:
            behind += 1
            continue
        umin, umax = min(umin, qx / qz), max(umax, qx / qz)
        vmin, vmax = min(vmin, qy / qz), max(vmax, qy / qz)
        us[n], vs[n] = qx / qz, qy / qz
        n += 1
    if behind == 3:
        return 1, 0, 1, 0
    if behind > 0:  # crosses the camera plane: its screen box is unbounded
        return 0, w - 1, 0, h - 1
    area2 = (us[1] - us[0]) * (vs[2] - vs[0]) - (vs[1] - vs[0]) * (us[2] - us[0])
    if abs(area2) > 1e-9:
        sgn = 1.0 if area2 > 0 else -1.0
        for e in range(3):
            i0, i1 = e, (e + 1) % 3
            du, dv = us[i1] - us[i0], vs[i1] - vs[i0]
            ln = np.sqrt(du * du + dv * dv)
            edge[e, 0] = -sgn * dv / ln
            edge[e, 1] = sgn * du / ln
            edge[e, 2] = sgn * (dv * us[i0] - du * vs[i0]) / ln
    return (
        max(int(np.floor(umin)), 0),
        min(int(np.ceil(umax)), w - 1),
        max(int(np.floor(vmin)), 0),
        min(int(np.ceil(vmax)), h - 1),
    )


@njit(inline="always")
def _hit_triangle(f, g, local, x0, x1, y0, y1, faces, verts, rays, depth, geom, prim, bary, edge):
    """Intersect the pixel rays of a box with one triangle exactly; keep the nearer hit. Pixels
    more than half a pixel outside the projected triangle are skipped before the exact test."""
    a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
    ax, ay, az = np.float64(verts[a, 0]), np.float64(verts[a, 1]), np.float64(verts[a, 2])
    e1x, e1y, e1z = verts[b, 0] - ax, verts[b, 1] - ay, verts[b, 2] - az
    e2x, e2y, e2z = verts[c, 0] - ax, verts[c, 1] - ay, verts[c, 2] - az
    for i in range(y0, y1 + 1, BANDS):
        for j in range(x0, x1 + 1):
            if (
                edge[0, 0] * j + edge[0, 1] * i + edge[0, 2] < -0.5
                or edge[1, 0] * j + edge[1, 1] * i + edge[1, 2] < -0.5
                or edge[2, 0] * j + edge[2, 1] * i + edge[2, 2] < -0.5
            ):
                continue
            dx, dy, dz = np.float64(rays[i, j, 3]), np.float64(rays[i, j, 4]), np.float64(rays[i, j, 5])
            px, py, pz = dy * e2z - dz * e2y, dz * e2x - dx * e2z, dx * e2y - dy * e2x
            det = e1x * px + e1y * py + e1z * pz
            if abs(det) < 1e-20:
                continue
            inv = 1.0 / det
            sx, sy, sz = rays[i, j, 0] - ax, rays[i, j, 1] - ay, rays[i, j, 2] - az
            b1 = (sx * px + sy * py + sz * pz) * inv
            if b1 < 0.0 or b1 > 1.0:
                continue
            qx, qy, qz = sy * e1z - sz * e1y, sz * e1x - sx * e1z, sx * e1y - sy * e1x
            b2 = (dx * qx + dy * qy + dz * qz) * inv
            if b2 < 0.0 or b1 + b2 > 1.0:
                continue
            t = (e2x * qx + e2y * qy + e2z * qz) * inv
            if t > 1e-6 and t < depth[i, j]:
                depth[i, j] = t
                geom[i, j] = g
                prim[i, j] = local
                bary[i, j, 0] = b1
                bary[i, j, 1] = b2


@njit(parallel=True, cache=True)
def surface_images(
    depth, geom, prim, bary, rays, face_offset, faces, normals, uv, local, instance_lut, semantic_lut, with_local
):
    """World point, unit normal, uv, object-frame point (only `with_local`, for painters),
    instance and semantic per pixel."""
    h, w = depth.shape
    world = np.empty((h, w, 3), np.float32)
    normal = np.empty((h, w, 3), np.float32)
    uv_out = np.empty((h, w, 2), np.float32)
    loc = np.empty((h, w, 3) if with_local else (1, 1, 3), np.float32)
    inst = np.empty((h, w), np.uint16)
    sem = np.empty((h, w), np.uint16)
    for band in prange(ROW_BANDS):  # each thread's bands span the image: see ROW_BANDS
        for i in range(band, h, ROW_BANDS):
            for j in range(w):
                g = geom[i, j]
                for k in range(3):
                    world[i, j, k] = 0.0 if g < 0 else rays[i, j, k] + rays[i, j, 3 + k] * depth[i, j]
                _attributes_at(
                    i,
                    j,
                    g,
                    prim,
                    bary,
                    face_offset,
                    faces,
                    normals,
                    uv,
                    local,
                    instance_lut,
                    semantic_lut,
                    with_local,
                    normal,
                    uv_out,
                    loc,
                    inst,
                    sem,
                )
    return world, normal, uv_out, loc, inst, sem


@njit(inline="always")
def _attributes_at(
    i,
    j,
    g,
    prim,
    bary,
    face_offset,
    faces,
    normals,
    uv,
    local,
    instance_lut,
    semantic_lut,
    with_local,
    normal,
    uv_out,
    loc,
    inst,
    sem,
):
    """One pixel's unit normal, uv, object-frame point and ids from its triangle's vertices (the
    one formula `surface_images` and `pass_images` share, so both write the same bytes)."""
    if g < 0:
        for k in range(3):
            normal[i, j, k] = 0.0
            if with_local:
                loc[i, j, k] = 0.0
        uv_out[i, j, 0] = 0.0
        uv_out[i, j, 1] = 0.0
        inst[i, j] = 0
        sem[i, j] = 0
        return
    # unsigned indices: numba then skips its negative-index wraparound on every gather
    f = np.uint64(face_offset[g] + prim[i, j])
    a, b, c = np.uint64(faces[f, 0]), np.uint64(faces[f, 1]), np.uint64(faces[f, 2])
    b1, b2 = bary[i, j, 0], bary[i, j, 1]
    b0 = 1.0 - b1 - b2
    nn = 0.0
    for k in range(3):
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


@njit(parallel=True, cache=True)
def world_points(depth, geom, rays):
    """(H, W, 3) float32 world point of each pixel (origin + direction x depth; 0 where nothing
    is hit): what painters read, computed only when one asks."""
    h, w = depth.shape
    world = np.empty((h, w, 3), np.float32)
    for band in prange(ROW_BANDS):  # each thread's bands span the image: see ROW_BANDS
        for i in range(band, h, ROW_BANDS):
            for j in range(w):
                g = geom[i, j]
                for k in range(3):
                    world[i, j, k] = 0.0 if g < 0 else rays[i, j, k] + rays[i, j, 3 + k] * depth[i, j]
    return world


@njit(inline="always")
def _moved(g, x, y, z, motion, deform, f, b0, b1, b2, faces, verts):
    """A surface point carried to the other instant: by its object's rigid motion, or for a
    deforming body by its triangle's vertices there (same barycentrics: the same material point)."""
    if deform[g]:
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        return (
            b0 * verts[a, 0] + b1 * verts[b, 0] + b2 * verts[c, 0],
            b0 * verts[a, 1] + b1 * verts[b, 1] + b2 * verts[c, 1],
            b0 * verts[a, 2] + b1 * verts[b, 2] + b2 * verts[c, 2],
        )
    m = motion[g]
    return (
        m[0, 0] * x + m[0, 1] * y + m[0, 2] * z + m[0, 3],
        m[1, 0] * x + m[1, 1] * y + m[1, 2] * z + m[1, 3],
        m[2, 0] * x + m[2, 1] * y + m[2, 2] * z + m[2, 3],
    )


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
    ii, jj = np.uint64(ii), np.uint64(jj)  # in the image: no wraparound needed
    if geom_b[ii, jj] == g and qz <= depth_b[ii, jj] * (1.0 + OCC_REL) + OCC_ABS:
        occ[i, j] = 0


@njit(inline="always")
def _flows_at(
    i,
    j,
    g,
    x,
    y,
    z,
    prim,
    bary,
    face_offset,
    faces,
    deform,
    motion_f,
    verts_f,
    proj_f,
    depth_f,
    geom_f,
    motion_b,
    verts_b,
    proj_b,
    depth_b,
    geom_b,
    h,
    w,
    flow_f,
    occ_f,
    flow_b,
    occ_b,
):
    """One pixel's forward and backward flow and occlusion (world point x, y, z): the one
    formula `flow_images` and `pass_images` share."""
    flow_f[i, j, 0] = 0.0
    flow_f[i, j, 1] = 0.0
    flow_b[i, j, 0] = 0.0
    flow_b[i, j, 1] = 0.0
    occ_f[i, j] = 1
    occ_b[i, j] = 1
    if g < 0:
        return
    f = face_offset[g] + prim[i, j]
    b1, b2 = bary[i, j, 0], bary[i, j, 1]
    b0 = 1.0 - b1 - b2
    px, py, pz = _moved(g, x, y, z, motion_f, deform, f, b0, b1, b2, faces, verts_f)
    _flow_one(g, px, py, pz, i, j, proj_f, depth_f, geom_f, h, w, flow_f, occ_f)
    px, py, pz = _moved(g, x, y, z, motion_b, deform, f, b0, b1, b2, faces, verts_b)
    _flow_one(g, px, py, pz, i, j, proj_b, depth_b, geom_b, h, w, flow_b, occ_b)


@njit(parallel=True, cache=True)
def flow_images(
    geom,
    world,
    prim,
    bary,
    face_offset,
    faces,
    deform,
    motion_f,
    verts_f,
    proj_f,
    depth_f,
    geom_f,
    motion_b,
    verts_b,
    proj_b,
    depth_b,
    geom_b,
):
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
    for band in prange(ROW_BANDS):  # each thread's bands span the image: see ROW_BANDS
        for i in range(band, h, ROW_BANDS):
            for j in range(w):
                g = geom[i, j]
                _flows_at(
                    i,
                    j,
                    g,
                    world[i, j, 0],
                    world[i, j, 1],
                    world[i, j, 2],
                    prim,
                    bary,
                    face_offset,
                    faces,
                    deform,
                    motion_f,
                    verts_f,
                    proj_f,
                    depth_f,
                    geom_f,
                    motion_b,
                    verts_b,
                    proj_b,
                    depth_b,
                    geom_b,
                    h,
                    w,
                    flow_f,
                    occ_f,
                    flow_b,
                    occ_b,
                )
    return flow_f, occ_f, flow_b, occ_b


@njit(parallel=True, cache=True, error_model="numpy")
def pass_images(
    depth,
    geom,
    prim,
    bary,
    basis,
    origin,
    attributes,
    face_offset,
    faces,
    normals,
    uv,
    local,
    instance_lut,
    semantic_lut,
    with_local,
    still,
    deform,
    motion_f,
    verts_f,
    proj_f,
    depth_f,
    geom_f,
    motion_b,
    verts_b,
    proj_b,
    depth_b,
    geom_b,
):
    """Every pass of a frame in one sweep: the surface attributes of `surface_images` (only
    with `attributes`; 1x1 placeholders otherwise) and both flows of `flow_images`, the world
    point kept in registers instead of an image written and read back, and its ray rebuilt from
    the camera's `basis` and `origin` exactly as `make_rays` stores it instead of read from the
    (H, W, 6) ray array. The two kernels' memory traffic was most of a frame's cost beyond the
    ray cast.

    Each row first projects every pixel's point as if its object stood still (`still[g]`: the
    identity motion, under which m p is exactly p + 0.0) in a branch-free loop the compiler
    vectorizes; pixels of moving or deforming objects are then redone one by one with
    `_flows_at`, so every byte equals `flow_images`'. (error_model numpy: misses divide by
    whatever their garbage point gives instead of raising; their results are discarded.)
    Returns (normal, uv, local, instance, semantic, flow_f, occ_f, flow_b, occ_b)."""
    h, w = geom.shape
    ah, aw = (h, w) if attributes else (1, 1)
    normal = np.empty((ah, aw, 3), np.float32)
    uv_out = np.empty((ah, aw, 2), np.float32)
    loc = np.empty((ah, aw, 3) if with_local else (1, 1, 3), np.float32)
    inst = np.empty((ah, aw), np.uint16)
    sem = np.empty((ah, aw), np.uint16)
    flow_f = np.empty((h, w, 2), np.float32)
    occ_f = np.empty((h, w), np.uint8)
    flow_b = np.empty((h, w, 2), np.float32)
    occ_b = np.empty((h, w), np.uint8)
    f00, f01, f02, f03 = proj_f[0, 0], proj_f[0, 1], proj_f[0, 2], proj_f[0, 3]
    f10, f11, f12, f13 = proj_f[1, 0], proj_f[1, 1], proj_f[1, 2], proj_f[1, 3]
    f20, f21, f22, f23 = proj_f[2, 0], proj_f[2, 1], proj_f[2, 2], proj_f[2, 3]
    b00, b01, b02, b03 = proj_b[0, 0], proj_b[0, 1], proj_b[0, 2], proj_b[0, 3]
    b10, b11, b12, b13 = proj_b[1, 0], proj_b[1, 1], proj_b[1, 2], proj_b[1, 3]
    b20, b21, b22, b23 = proj_b[2, 0], proj_b[2, 1], proj_b[2, 2], proj_b[2, 3]
    m00, m01, m02 = basis[0, 0], basis[0, 1], basis[0, 2]
    m10, m11, m12 = basis[1, 0], basis[1, 1], basis[1, 2]
    m20, m21, m22 = basis[2, 0], basis[2, 1], basis[2, 2]
    o0, o1, o2 = np.float32(origin[0]), np.float32(origin[1]), np.float32(origin[2])
    for band in prange(ROW_BANDS):  # each thread's bands span the image: see ROW_BANDS
        uf, vf, zf = np.empty(w), np.empty(w), np.empty(w)
        ub, vb, zb = np.empty(w), np.empty(w), np.empty(w)
        for i in range(band, h, ROW_BANDS):
            for j in range(w):  # branch-free: vectorized
                d = depth[i, j]
                x = np.float32(o0 + np.float32(m00 * j + m01 * i + m02) * d) + 0.0
                y = np.float32(o1 + np.float32(m10 * j + m11 * i + m12) * d) + 0.0
                z = np.float32(o2 + np.float32(m20 * j + m21 * i + m22) * d) + 0.0
                qz = f20 * x + f21 * y + f22 * z + f23
                uf[j] = (f00 * x + f01 * y + f02 * z + f03) / qz
                vf[j] = (f10 * x + f11 * y + f12 * z + f13) / qz
                zf[j] = qz
                qz = b20 * x + b21 * y + b22 * z + b23
                ub[j] = (b00 * x + b01 * y + b02 * z + b03) / qz
                vb[j] = (b10 * x + b11 * y + b12 * z + b13) / qz
                zb[j] = qz
            for j in range(w):
                g = geom[i, j]
                if attributes:
                    _attributes_at(
                        i,
                        j,
                        g,
                        prim,
                        bary,
                        face_offset,
                        faces,
                        normals,
                        uv,
                        local,
                        instance_lut,
                        semantic_lut,
                        with_local,
                        normal,
                        uv_out,
                        loc,
                        inst,
                        sem,
                    )
                if g >= 0 and not still[g]:
                    d = depth[i, j]
                    _flows_at(
                        i,
                        j,
                        g,
                        np.float32(o0 + np.float32(m00 * j + m01 * i + m02) * d),
                        np.float32(o1 + np.float32(m10 * j + m11 * i + m12) * d),
                        np.float32(o2 + np.float32(m20 * j + m21 * i + m22) * d),
                        prim,
                        bary,
                        face_offset,
                        faces,
                        deform,
                        motion_f,
                        verts_f,
                        proj_f,
                        depth_f,
                        geom_f,
                        motion_b,
                        verts_b,
                        proj_b,
                        depth_b,
                        geom_b,
                        h,
                        w,
                        flow_f,
                        occ_f,
                        flow_b,
                        occ_b,
                    )
                    continue
                flow_f[i, j, 0] = 0.0
                flow_f[i, j, 1] = 0.0
                flow_b[i, j, 0] = 0.0
                flow_b[i, j, 1] = 0.0
                occ_f[i, j] = 1
                occ_b[i, j] = 1
                if g < 0:
                    continue
                _flow_at(g, uf[j], vf[j], zf[j], i, j, depth_f, geom_f, h, w, flow_f, occ_f)
                _flow_at(g, ub[j], vb[j], zb[j], i, j, depth_b, geom_b, h, w, flow_b, occ_b)
    return normal, uv_out, loc, inst, sem, flow_f, occ_f, flow_b, occ_b


@njit(inline="always")
def _flow_at(g, u, v, qz, i, j, depth_b, geom_b, h, w, flow, occ):
    """`_flow_one` after the projection: pixel (u, v) = (qx / qz, qy / qz) of camera depth qz."""
    if qz <= 0:
        return
    flow[i, j, 0] = u - j
    flow[i, j, 1] = v - i
    jj = int(np.floor(u + 0.5))
    ii = int(np.floor(v + 0.5))
    if jj < 0 or jj >= w or ii < 0 or ii >= h:
        return
    ii, jj = np.uint64(ii), np.uint64(jj)  # in the image: no wraparound needed
    if geom_b[ii, jj] == g and qz <= depth_b[ii, jj] * (1.0 + OCC_REL) + OCC_ABS:
        occ[i, j] = 0


@njit(parallel=True, cache=True)
def rays_meet_boxes(rays, lo, hi, owner, tfar):
    """(N,) uint8 bit masks: bit owner[b] is set where ray (origin, direction) = rays[k, :3],
    rays[k, 3:] meets box [lo[b], hi[b]] for some 0 <= t <= tfar (slab tests in float64). What
    lets shadow and occlusion rays skip the BVHs (owners) whose objects they cannot reach."""
    n = rays.shape[0]
    out = np.zeros(n, np.uint8)
    for k in prange(n):
        ox, oy, oz = float(rays[k, 0]), float(rays[k, 1]), float(rays[k, 2])
        dx, dy, dz = float(rays[k, 3]), float(rays[k, 4]), float(rays[k, 5])
        ix = 1.0 / dx if dx != 0.0 else 0.0
        iy = 1.0 / dy if dy != 0.0 else 0.0
        iz = 1.0 / dz if dz != 0.0 else 0.0
        bits = np.uint8(0)
        for b in range(lo.shape[0]):
            bit = np.uint8(1 << owner[b])
            if bits & bit:
                continue
            enter, leave = 0.0, tfar
            enter, leave = _slab(ox, dx, ix, lo[b, 0], hi[b, 0], enter, leave)
            enter, leave = _slab(oy, dy, iy, lo[b, 1], hi[b, 1], enter, leave)
            enter, leave = _slab(oz, dz, iz, lo[b, 2], hi[b, 2], enter, leave)
            if enter <= leave:
                bits |= bit
        out[k] = bits
    return out


@njit(inline="always", cache=True)
def _slab(o, d, inv, lo, hi, enter, leave):
    """The ray's parameter interval narrowed to one slab lo <= o + t d <= hi (empty: enter > leave)."""
    if d == 0.0:
        if o < lo or o > hi:
            return 1.0, 0.0
        return enter, leave
    t0, t1 = (lo - o) * inv, (hi - o) * inv
    if t0 > t1:
        t0, t1 = t1, t0
    return max(enter, t0), min(leave, t1)
