"""Textures in a mesh's uv atlas: where each texel lies on the surface, sampling, hole filling.

Convention: texture row 0 is v = 1 (top), column 0 is u = 0, texel centres at
((col + 0.5) / R, 1 - (row + 0.5) / R). Look development paints texels by projecting their
surface points into views (texel-centric, so a visible texel is never a hole); shooting samples
the texture at each pixel's uv."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass
class TexelMap:
    """For each texel of an R x R atlas: the object-frame point and normal it stands for."""

    size: int
    inside: np.ndarray  # (R, R) bool: the texel centre lies on some triangle's uv image
    points: np.ndarray  # (R, R, 3) float32 object-frame points (0 outside)
    normals: np.ndarray  # (R, R, 3) float32 unit normals (0 outside)
    face: np.ndarray  # (R, R) int64 triangle of each texel (-1 outside)
    bary: np.ndarray  # (R, R, 3) float32 its barycentrics: a deforming mesh's texel follows them

    def posed(self, vertices: np.ndarray, faces: np.ndarray, rows, cols) -> np.ndarray:
        """Points of the given texels on the mesh posed with `vertices` (same triangles)."""
        f = faces[self.face[rows, cols]]
        b = self.bary[rows, cols].astype(np.float64)
        return b[:, :1] * vertices[f[:, 0]] + b[:, 1:2] * vertices[f[:, 1]] + b[:, 2:] * vertices[f[:, 2]]


@njit(cache=True)
def _raster_uv(uv, faces, verts, norms, size, points, normals, inside, face_of, bary):
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        # texel space: x = u * R - 0.5, y = (1 - v) * R - 0.5 (texel centres at integers)
        xa, ya = uv[a, 0] * size - 0.5, (1.0 - uv[a, 1]) * size - 0.5
        xb, yb = uv[b, 0] * size - 0.5, (1.0 - uv[b, 1]) * size - 0.5
        xc, yc = uv[c, 0] * size - 0.5, (1.0 - uv[c, 1]) * size - 0.5
        det = (xb - xa) * (yc - ya) - (xc - xa) * (yb - ya)
        if abs(det) < 1e-12:
            continue
        x0, x1 = max(int(np.ceil(min(xa, xb, xc))), 0), min(int(np.floor(max(xa, xb, xc))), size - 1)
        y0, y1 = max(int(np.ceil(min(ya, yb, yc))), 0), min(int(np.floor(max(ya, yb, yc))), size - 1)
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                l1 = ((x - xa) * (yc - ya) - (xc - xa) * (y - ya)) / det
                l2 = ((xb - xa) * (y - ya) - (x - xa) * (yb - ya)) / det
                l0 = 1.0 - l1 - l2
                if l0 < -1e-9 or l1 < -1e-9 or l2 < -1e-9:
                    continue
                inside[y, x] = True
                face_of[y, x] = f
                bary[y, x, 0], bary[y, x, 1], bary[y, x, 2] = l0, l1, l2
                nn = 0.0
                for k in range(3):
                    points[y, x, k] = l0 * verts[a, k] + l1 * verts[b, k] + l2 * verts[c, k]
                    v = l0 * norms[a, k] + l1 * norms[b, k] + l2 * norms[c, k]
                    normals[y, x, k] = v
                    nn += v * v
                nn = np.sqrt(nn)
                if nn > 1e-12:
                    for k in range(3):
                        normals[y, x, k] /= nn


def texel_map(mesh, size: int) -> TexelMap:
    """Rasterise the mesh in its uv atlas: which texels it covers and where they are."""
    points = np.zeros((size, size, 3), np.float32)
    normals = np.zeros((size, size, 3), np.float32)
    inside = np.zeros((size, size), np.bool_)
    face = np.full((size, size), -1, np.int64)
    bary = np.zeros((size, size, 3), np.float32)
    _raster_uv(
        np.asarray(mesh.visual.uv, np.float64),
        np.asarray(mesh.faces, np.int64),
        np.asarray(mesh.vertices, np.float64),
        np.asarray(mesh.vertex_normals, np.float64),
        size,
        points,
        normals,
        inside,
        face,
        bary,
    )
    return TexelMap(size, inside, points, normals, face, bary)


def sample(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear texture lookup at uv (N, 2) -> (N, C) float32, clamped at the borders."""
    r = texture.shape[0]
    x = np.clip(uv[:, 0] * r - 0.5, 0, r - 1)
    y = np.clip((1.0 - uv[:, 1]) * r - 0.5, 0, r - 1)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, r - 1), np.minimum(y0 + 1, r - 1)
    fx, fy = (x - x0).astype(np.float32)[:, None], (y - y0).astype(np.float32)[:, None]  # float32 throughout:
    t = texture.astype(np.float32)  # a frame and a check of it then round the same way
    return t[y0, x0] * (1 - fx) * (1 - fy) + t[y0, x1] * fx * (1 - fy) + t[y1, x0] * (1 - fx) * fy + t[y1, x1] * fx * fy


def texel_of(uv: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest texel (row, col) of uv coordinates."""
    col = np.clip(np.floor(uv[:, 0] * size), 0, size - 1).astype(np.int64)
    row = np.clip(np.floor((1.0 - uv[:, 1]) * size), 0, size - 1).astype(np.int64)
    return row, col


def fill_holes(texture: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Pull-push fill: every unknown texel takes the average of the nearest known ones, at the
    coarsest scale needed; known texels are unchanged. Keeps bilinear lookups near chart edges
    and never-seen texels from showing black."""
    tex = texture.astype(np.float32)
    w = known.astype(np.float32)
    if w.all() or not w.any():
        return texture
    levels = [(tex * w[..., None], w)]
    while levels[-1][1].shape[0] > 1:
        c, ww = levels[-1]
        h = c.shape[0] // 2 * 2
        c, ww = c[:h, :h], ww[:h, :h]
        c2 = c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]
        w2 = ww[0::2, 0::2] + ww[1::2, 0::2] + ww[0::2, 1::2] + ww[1::2, 1::2]
        levels.append((c2, w2))
    col = levels[-1][0] / np.maximum(levels[-1][1], 1e-9)[..., None]
    for c, ww in reversed(levels[:-1]):
        up = np.repeat(np.repeat(col, 2, 0), 2, 1)
        up = np.pad(up, ((0, c.shape[0] - up.shape[0]), (0, c.shape[1] - up.shape[1]), (0, 0)), mode="edge")
        have = ww > 0
        col = np.where(have[..., None], c / np.maximum(ww, 1e-9)[..., None], up)
    out = np.where(known[..., None], tex, col)
    return out.astype(texture.dtype) if texture.dtype != np.uint8 else np.clip(out + 0.5, 0, 255).astype(np.uint8)
