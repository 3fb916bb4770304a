"""Exact primary visibility of the static geometry by scan conversion (numba), an alternative to
the Open3D cast where a frame has few pixels per triangle's worth of BVH traversal to spare.

Every pixel's answer is the float64 Moller-Trumbore intersection of that pixel's own float32 ray
(the bits `make_rays` stores and Open3D casts) with each triangle that may contain it, the
nearest kept: the same test `kernels.raster_moving` makes for moving parts. What is new is only
which (pixel, triangle) pairs are tested, and every cut is conservative:

- a triangle wholly behind the camera plane, or whose screen box holds no pixel centre (it lies
  outside the image, or falls between pixel centres), is dropped before any pixel is visited;
- a pixel is visited only inside the row span where the triangle's three edge functions are
  >= -MARGIN pixels. The edge functions are the planes through the camera centre and each edge
  (the triangle's view cone), written as affine functions of the pixel coordinates: a ray
  meets the triangle at t > 0 exactly when its direction is on the inner side of all three,
  for triangles that cross the camera plane too. The cone and the projection start at the
  rays' own float32-rounded origin, and MARGIN (0.01 px) is ~100x the shift that a direction's
  float32 rounding makes, so no pixel the exact test would accept is skipped.

Rows are cut into bands of BAND_ROWS; each triangle is filed once into the bands its box spans
(in face order), and each band, its rows' hit buffers included, belongs to one thread, which
visits its triangles in face order: no two threads write one pixel, ties resolve the same way
for any thread count, and the bytes do not depend on scheduling."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

MARGIN = 0.01  # pixels: see the module docstring
BAND_ROWS = 8
# A frame whose triangles' screen boxes add up to more than MAX_OVERDRAW times its pixels is
# left to the cast (`rasterize` returns None): scanning costs ~4 ns a box pixel on 2 cores, the
# cast ~35-45 ns a pixel, so past ~8 layers of boxes the cast is the cheaper (many large
# triangles stacked in view; a triangle that crosses the camera plane counts the whole frame)
MAX_OVERDRAW = 8
BIN_CHUNKS = 64  # runs of triangles filed in parallel (any count gives the same bytes)
FAR = 1e6  # pixels: projected corners farther out take the view-cone edges (see _triangle_setup)


@njit(parallel=True, cache=True)
def _project(verts, proj, out):
    """(V, 3) float64 screen u, v and camera z of every vertex (u, v meaningless where z <= 0)."""
    n = verts.shape[0]
    for v in prange(n):
        x, y, z = np.float64(verts[v, 0]), np.float64(verts[v, 1]), np.float64(verts[v, 2])
        qz = proj[2, 0] * x + proj[2, 1] * y + proj[2, 2] * z + proj[2, 3]
        out[v, 2] = qz
        if qz > 0.0:
            out[v, 0] = (proj[0, 0] * x + proj[0, 1] * y + proj[0, 2] * z + proj[0, 3]) / qz
            out[v, 1] = (proj[1, 0] * x + proj[1, 1] * y + proj[1, 2] * z + proj[1, 3]) / qz
        else:
            out[v, 0] = 0.0
            out[v, 1] = 0.0
    return out


@njit(parallel=True, cache=True)
def _triangle_setup(verts, faces, face_list, uvz, basis, origin, h, w, boxes, edges):
    """Per triangle: its pixel box (x0, x1, y0, y1; x0 > x1 when it covers no pixel centre)
    and its three edge functions (a, b, c), pixel (j, i) inside edge e when a j + b i + c >= 0
    (already widened by MARGIN)."""
    m = face_list.shape[0]
    for k in prange(m):
        f = face_list[k]
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        z0, z1, z2 = uvz[i0, 2], uvz[i1, 2], uvz[i2, 2]
        if z0 <= 0.0 and z1 <= 0.0 and z2 <= 0.0:  # every point has camera z <= 0: no hit at t > 0
            boxes[k, 0], boxes[k, 1] = 1, 0
            continue
        if z0 > 0.0 and z1 > 0.0 and z2 > 0.0:
            u0, u1, u2 = uvz[i0, 0], uvz[i1, 0], uvz[i2, 0]
            v0, v1, v2 = uvz[i0, 1], uvz[i1, 1], uvz[i2, 1]
            # pixel centres are the integer points; clamp before converting (a vertex just in
            # front of the camera plane projects far away)
            x0 = max(int(np.ceil(max(min(u0, u1, u2) - MARGIN, -1.0))), 0)
            x1 = min(int(np.floor(min(max(u0, u1, u2) + MARGIN, float(w)))), w - 1)
            y0 = max(int(np.ceil(max(min(v0, v1, v2) - MARGIN, -1.0))), 0)
            y1 = min(int(np.floor(min(max(v0, v1, v2) + MARGIN, float(h)))), h - 1)
            if x0 > x1 or y0 > y1:
                boxes[k, 0], boxes[k, 1] = 1, 0
                continue
            boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3] = x0, x1, y0, y1
            if max(abs(u0), abs(u1), abs(u2), abs(v0), abs(v1), abs(v2)) > FAR:
                # a corner just in front of the camera plane projects so far out that its line
                # equations would lose digits: the view cone's need no division
                _cone_edges(verts, i0, i1, i2, basis, origin, edges, k)
                _spans(edges, k)
                continue
            # in front of the camera the triangle projects to the triangle of its projected
            # corners: its edges' lines, as signed pixel distances (> 0 inside)
            area = (u1 - u0) * (v2 - v0) - (v1 - v0) * (u2 - u0)
            if abs(area) <= 1e-9:  # seen edge-on: test the whole (thin) box
                for e in range(3):
                    edges[k, e, 0], edges[k, e, 1], edges[k, e, 2] = 0.0, 0.0, 1.0
                continue
            s = 1.0 if area > 0 else -1.0
            _edge2(edges, k, 0, u0, v0, u1, v1, s)
            _edge2(edges, k, 1, u1, v1, u2, v2, s)
            _edge2(edges, k, 2, u2, v2, u0, v0, s)
            _spans(edges, k)
            continue
        # crosses the camera plane: its projection is unbounded; the view-cone planes bound it
        boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3] = 0, w - 1, 0, h - 1
        _cone_edges(verts, i0, i1, i2, basis, origin, edges, k)
        _spans(edges, k)


@njit(inline="always")
def _edge2(edges, k, e, ua, va, ub, vb, s):
    du, dv = ub - ua, vb - va
    ln = np.sqrt(du * du + dv * dv)
    if ln == 0.0:
        edges[k, e, 0], edges[k, e, 1], edges[k, e, 2] = 0.0, 0.0, 1.0
        return
    edges[k, e, 0] = -s * dv / ln
    edges[k, e, 1] = s * du / ln
    edges[k, e, 2] = s * (dv * ua - du * va) / ln + MARGIN


@njit(cache=True)
def _cone_edges(verts, i0, i1, i2, basis, origin, edges, k):
    """Edge functions from the triangle's view cone, for triangles that cross the camera plane
    or have a corner projected far out: n_e = (v_e - o) x (v_e+1 - o); a direction d = sum l_c (v_c - o) with all l_c >= 0 (a hit
    at t > 0) gives n_e . d = l_(e+2) * vol, vol = n_0 . (v_2 - o)."""
    p = np.empty((3, 3))
    idx = (i0, i1, i2)
    for c in range(3):
        for r in range(3):
            p[c, r] = np.float64(verts[idx[c], r]) - origin[r]
    n = np.empty((3, 3))
    for e in range(3):
        a, b = p[e], p[(e + 1) % 3]
        n[e, 0] = a[1] * b[2] - a[2] * b[1]
        n[e, 1] = a[2] * b[0] - a[0] * b[2]
        n[e, 2] = a[0] * b[1] - a[1] * b[0]
    vol = n[0, 0] * p[2, 0] + n[0, 1] * p[2, 1] + n[0, 2] * p[2, 2]
    scale = np.sqrt(
        (p[0, 0] ** 2 + p[0, 1] ** 2 + p[0, 2] ** 2)
        * (p[1, 0] ** 2 + p[1, 1] ** 2 + p[1, 2] ** 2)
        * (p[2, 0] ** 2 + p[2, 1] ** 2 + p[2, 2] ** 2)
    )
    if abs(vol) <= 1e-9 * scale:  # its plane passes through the camera: test every pixel
        for e in range(3):
            edges[k, e, 0], edges[k, e, 1], edges[k, e, 2] = 0.0, 0.0, 1.0
        return
    s = 1.0 if vol > 0 else -1.0
    for e in range(3):
        # d(j, i) = basis @ (j, i, 1): n . d = a j + b i + c
        a = s * (n[e, 0] * basis[0, 0] + n[e, 1] * basis[1, 0] + n[e, 2] * basis[2, 0])
        b = s * (n[e, 0] * basis[0, 1] + n[e, 1] * basis[1, 1] + n[e, 2] * basis[2, 1])
        c = s * (n[e, 0] * basis[0, 2] + n[e, 1] * basis[1, 2] + n[e, 2] * basis[2, 2])
        ln = np.sqrt(a * a + b * b)
        if ln > 0.0:
            edges[k, e, 0], edges[k, e, 1], edges[k, e, 2] = a / ln, b / ln, c / ln + MARGIN
        else:  # the plane holds every pixel's direction's component off the image plane
            edges[k, e, 0], edges[k, e, 1], edges[k, e, 2] = 0.0, 0.0, 1.0 if c >= 0 else -1.0


@njit(inline="always")
def _spans(edges, k):
    """Edge functions a j + b i + c >= 0 -> per edge (kind, slope, intercept): for kind 1,
    j >= slope i + intercept; for kind -1, j <= slope i + intercept; for kind 0 (a = 0), the
    row is inside when slope i + intercept >= 0 (then slope = b, intercept = c)."""
    for e in range(3):
        a, b, c = edges[k, e, 0], edges[k, e, 1], edges[k, e, 2]
        if a != 0.0:
            edges[k, e, 0], edges[k, e, 1], edges[k, e, 2] = 1.0 if a > 0 else -1.0, -b / a, -c / a


@njit(parallel=True, cache=True)
def _bin(boxes, nb, chunks, max_area):
    """Triangles filed by row band, in face order: (start (nb + 1,), items, True). The
    triangles are cut into `chunks` runs counted and filed in parallel, each run writing its own
    slots. (empty, empty, False) when their boxes' pixels add up to more than `max_area`."""
    m = boxes.shape[0]
    size = (m + chunks - 1) // chunks
    count = np.zeros((chunks, nb), np.int64)
    area = np.zeros(chunks, np.int64)
    for ch in prange(chunks):
        for k in range(ch * size, min(m, ch * size + size)):
            if boxes[k, 0] <= boxes[k, 1]:
                area[ch] += np.int64(boxes[k, 1] - boxes[k, 0] + 1) * np.int64(boxes[k, 3] - boxes[k, 2] + 1)
                for b in range(boxes[k, 2] // BAND_ROWS, boxes[k, 3] // BAND_ROWS + 1):
                    count[ch, b] += 1
    if area.sum() > max_area:
        return np.zeros(1, np.int64), np.zeros(0, np.int32), False
    start = np.zeros(nb + 1, np.int64)
    fill = np.empty((chunks, nb), np.int64)
    n = 0
    for b in range(nb):  # band by band, chunk by chunk: face order within each band
        start[b] = n
        for ch in range(chunks):
            fill[ch, b] = n
            n += count[ch, b]
    start[nb] = n
    items = np.empty(n, np.int32)
    for ch in prange(chunks):
        for k in range(ch * size, min(m, ch * size + size)):
            if boxes[k, 0] <= boxes[k, 1]:
                for b in range(boxes[k, 2] // BAND_ROWS, boxes[k, 3] // BAND_ROWS + 1):
                    items[fill[ch, b]] = k
                    fill[ch, b] += 1
    return start, items, True


@njit(parallel=True, cache=True)
def _scan(
    order,
    start,
    items,
    boxes,
    edges,
    face_list,
    face_geom,
    face_local,
    faces,
    verts,
    m,
    origin,
    depth,
    geom,
    prim,
    bary,
    fresh,
):
    h, w = depth.shape
    # every pixel's ray starts at the float32 origin; its direction is rebuilt per pixel with
    # `make_rays`' expression, rounded to float32 as it stores it: the same bits, not read
    ox, oy, oz = np.float64(np.float32(origin[0])), np.float64(np.float32(origin[1])), np.float64(np.float32(origin[2]))
    for q in prange(order.shape[0]):
        band = order[q]
        r0, r1 = band * BAND_ROWS, min(band * BAND_ROWS + BAND_ROWS, h) - 1
        if fresh:  # new buffers start as misses (buffers that hold hits keep them)
            for i in range(r0, r1 + 1):
                for j in range(w):
                    depth[i, j] = np.inf
                    geom[i, j] = -1
                    prim[i, j] = 0
                    bary[i, j, 0] = 0.0
                    bary[i, j, 1] = 0.0
        for it in range(start[band], start[band + 1]):
            k = items[it]
            g, local = face_geom[k], face_local[k]
            # Moller-Trumbore's terms that do not depend on the direction (all rays share one
            # origin), each computed as `kernels._hit_triangle` computes it per pixel: same bits
            f = face_list[k]
            a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
            ax, ay, az = np.float64(verts[a, 0]), np.float64(verts[a, 1]), np.float64(verts[a, 2])
            e1x, e1y, e1z = verts[b, 0] - ax, verts[b, 1] - ay, verts[b, 2] - az
            e2x, e2y, e2z = verts[c, 0] - ax, verts[c, 1] - ay, verts[c, 2] - az
            sx, sy, sz = ox - ax, oy - ay, oz - az
            qx, qy, qz = sy * e1z - sz * e1y, sz * e1x - sx * e1z, sx * e1y - sy * e1x
            tn = e2x * qx + e2y * qy + e2z * qz
            for i in range(max(boxes[k, 2], r0), min(boxes[k, 3], r1) + 1):
                lo, hi = np.float64(boxes[k, 0]), np.float64(boxes[k, 1])
                for e in range(3):
                    bound = edges[k, e, 1] * i + edges[k, e, 2]
                    kind = edges[k, e, 0]
                    if kind > 0.0:
                        lo = max(lo, bound)
                    elif kind < 0.0:
                        hi = min(hi, bound)
                    elif bound < 0.0:
                        hi = -1.0
                if lo > hi:
                    continue
                rx, ry, rz = m[0, 1] * i, m[1, 1] * i, m[2, 1] * i
                for j in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
                    dx = np.float64(np.float32(m[0, 0] * j + rx + m[0, 2]))
                    dy = np.float64(np.float32(m[1, 0] * j + ry + m[1, 2]))
                    dz = np.float64(np.float32(m[2, 0] * j + rz + m[2, 2]))
                    px, py, pz = dy * e2z - dz * e2y, dz * e2x - dx * e2z, dx * e2y - dy * e2x
                    det = e1x * px + e1y * py + e1z * pz
                    if abs(det) < 1e-20:
                        continue
                    inv = 1.0 / det
                    t = tn * inv
                    if not (t > 1e-6 and t < depth[i, j]):  # behind the camera, or hidden
                        continue
                    b1 = (sx * px + sy * py + sz * pz) * inv
                    if b1 < 0.0 or b1 > 1.0:
                        continue
                    b2 = (dx * qx + dy * qy + dz * qz) * inv
                    if b2 < 0.0 or b1 + b2 > 1.0:
                        continue
                    depth[i, j] = t
                    geom[i, j] = g
                    prim[i, j] = local
                    bary[i, j, 0] = b1
                    bary[i, j, 1] = b2
    return depth, geom, prim, bary


def band_order(nb: int) -> np.ndarray:
    """Bands in bit-reversed order: numba hands each thread one contiguous run of a prange, and
    a run of this order spreads over the whole image (the sky's cheap rows and the ground's dear
    ones shared out), for any power-of-two thread count."""
    bits = max(1, int(np.ceil(np.log2(nb))))
    rev = [int(format(k, f"0{bits}b")[::-1], 2) for k in range(1 << bits)]
    return np.array([r for r in rev if r < nb], np.int64)


def _rounded(basis, origin) -> tuple[np.ndarray, np.ndarray]:
    """The directions' basis in float64 and the rays' float32-rounded origin: the rays start at
    that rounded point, so the culling projects from it too (far from the world's origin its
    rounding shifts a pixel by more than MARGIN)."""
    return np.asarray(basis, np.float64), np.asarray(origin, np.float32).astype(np.float64)


def projection(basis, origin, verts, work: dict) -> np.ndarray:
    """(V, 3) screen u, v and camera z of every vertex as the rays see them: from their
    float32-rounded origin, through the inverse of the directions' basis (K R: pixel (j, i)
    looks along basis @ (j, i, 1)). Into a buffer kept in `work` from one frame to the next."""
    basis, origin = _rounded(basis, origin)
    to_pixels = np.linalg.inv(basis)
    proj = np.concatenate([to_pixels, -(to_pixels @ origin)[:, None]], 1)
    if work.get("v") != len(verts):
        work.update(v=len(verts), uvz=np.empty((len(verts), 3)))
    return _project(verts, proj, work["uvz"])


def rasterize(
    basis,
    origin,
    h,
    w,
    verts,
    faces,
    face_list,
    face_geom,
    face_local,
    work=None,
    max_overdraw=MAX_OVERDRAW,
    into=None,
    uvz=None,
):
    """(depth, geom, prim, bary) hit buffers of the triangles `face_list` (global face indices;
    `face_geom` / `face_local` their object index and index within it) for the pixel rays of an
    h x w frame: at pixel (i, j) the direction `basis` @ (j, i, 1) and the origin `origin`, each
    rounded to float32 as `make_rays` stores them (`snapshot.ray_basis`). `work`, a dict kept by
    the caller, holds the per-triangle tables from one call to the next (~90 bytes a triangle:
    fresh pages every frame cost more than filling them); `uvz`, the vertices' `projection`
    when the caller has it already (one a frame serves the static set and the moving parts).
    None, after the triangles' set-up only, where the boxes overlap more than `max_overdraw` deep.
    With `into`, hit buffers that already hold hits (the static set's), the triangles are added
    to them in place, the nearer hit kept: how the moving parts join the static set's hits."""
    m = len(face_list)
    work = {} if work is None else work
    if work.get("m") != m:
        work.update(m=m, boxes=np.empty((m, 4), np.int32), edges=np.empty((m, 3, 3)))
    boxes, edges = work["boxes"], work["edges"]
    if uvz is None:
        uvz = projection(basis, origin, verts, work)
    basis, origin = _rounded(basis, origin)
    _triangle_setup(verts, faces, face_list, uvz, basis, origin, h, w, boxes, edges)
    nb = (h + BAND_ROWS - 1) // BAND_ROWS
    start, items, ok = _bin(boxes, nb, BIN_CHUNKS, int(min(max_overdraw * h * w, 2**62)))
    if not ok:
        return None
    fresh = into is None
    if fresh:  # (filled with misses band by band, by the thread that owns the band)
        into = (
            np.empty((h, w), np.float32),
            np.empty((h, w), np.int32),
            np.empty((h, w), np.int32),
            np.empty((h, w, 2), np.float32),
        )
    depth, geom, prim, bary = into
    return _scan(
        band_order(nb),
        start,
        items,
        boxes,
        edges,
        face_list,
        face_geom,
        face_local,
        faces,
        verts,
        basis,
        origin,
        depth,
        geom,
        prim,
        bary,
        fresh,
    )
