"""Primitive meshes with uv and smooth analytic normals, centred on their origin.

trimesh.creation builds these shapes but without uv coordinates or split seams, and worldgen
anchors appearance and diffusion noise in uv space, so the primitives are generated here."""

from __future__ import annotations

import numpy as np
import trimesh

SEGMENTS = 128  # around a circle; keeps a unit sphere's facet error near 6e-4 of its radius


def _grid(pos_fn, nu: int, nv: int, u_range=(0.0, 1.0), v_range=(0.0, 1.0)):
    """Vertices on a (nu+1) x (nv+1) parameter grid; pos_fn(u, v) -> (points, normals)."""
    u = np.linspace(*u_range, nu + 1)
    v = np.linspace(*v_range, nv + 1)
    uu, vv = np.meshgrid(u, v, indexing="xy")  # rows = v
    p, n = pos_fn(uu.ravel(), vv.ravel())
    uv = np.stack(
        [(uu.ravel() - u_range[0]) / (u_range[1] - u_range[0]), (vv.ravel() - v_range[0]) / (v_range[1] - v_range[0])],
        1,
    )
    i = np.arange(nv)[:, None] * (nu + 1) + np.arange(nu)[None, :]
    a, b, c, d = i, i + 1, i + nu + 1, i + nu + 2
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    return p, n, uv, faces


def _merge(parts):
    vs, ns, uvs, fs, off = [], [], [], [], 0
    for p, n, uv, f in parts:
        vs.append(p), ns.append(n), uvs.append(uv), fs.append(f + off)
        off += len(p)
    return np.concatenate(vs), np.concatenate(ns), np.concatenate(uvs), np.concatenate(fs)


def _drop_degenerate(v, f):
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    return f[area > 1e-12]


def _orient_outward(v, n, f):
    """Flip faces whose winding disagrees with the vertex normals (keeps every generator simple)."""
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    fn = np.cross(b - a, c - a)
    flip = np.einsum("ij,ij->i", fn, n[f].sum(1)) < 0
    f = f.copy()
    f[flip] = f[flip][:, [0, 2, 1]]
    return f


def _disc(radius, y, up: bool, seg):
    """A cap at height y: centre + ring, planar uv."""
    a = np.linspace(0, 2 * np.pi, seg + 1)
    ring = np.stack([radius * np.sin(a), np.full_like(a, y), radius * np.cos(a)], 1)
    p = np.concatenate([[[0.0, y, 0.0]], ring])
    n = np.tile([0.0, 1.0 if up else -1.0, 0.0], (len(p), 1))
    uv = np.stack([0.5 + p[:, 0] / (2 * radius), 0.5 + p[:, 2] / (2 * radius)], 1)
    f = np.stack([np.zeros(seg, int), np.arange(1, seg + 1), np.arange(2, seg + 2)], 1)
    return p, n, uv, f


def plane(size):
    sx, sz = size
    p = np.array([[-sx / 2, 0, -sz / 2], [sx / 2, 0, -sz / 2], [-sx / 2, 0, sz / 2], [sx / 2, 0, sz / 2]], float)
    n = np.tile([0.0, 1.0, 0.0], (4, 1))
    uv = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
    return p, n, uv, np.array([[0, 2, 1], [1, 2, 3]])


ATLAS_GUTTER = 0.02  # uv margin between atlas islands, so texture filtering never bleeds across


def _island(uv, u0, v0, du, dv):
    """Place a [0,1]^2 uv chart into the atlas cell (u0, v0, du, dv), inside a gutter."""
    g = ATLAS_GUTTER
    return np.stack([u0 + g + uv[:, 0] * (du - 2 * g), v0 + g + uv[:, 1] * (dv - 2 * g)], 1)


def box(size):
    """Six faces, each its own island of a 3 x 2 uv atlas: no two faces share texels, so a
    texture painted onto the box (look development) keeps each face's own look."""
    half = np.asarray(size, float) / 2
    parts = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            o1, o2 = [a for a in range(3) if a != axis]

            def fn(u, v, axis=axis, sign=sign, o1=o1, o2=o2):
                p = np.zeros((len(u), 3))
                p[:, axis] = sign * half[axis]
                p[:, o1] = (u - 0.5) * 2 * half[o1]
                p[:, o2] = (v - 0.5) * 2 * half[o2]
                n = np.zeros_like(p)
                n[:, axis] = sign
                return p, n

            p, n, uv, f = _grid(fn, 1, 1)
            k = len(parts)
            parts.append((p, n, _island(uv, (k % 3) / 3, (k // 3) / 2, 1 / 3, 1 / 2), f))
    return _merge(parts)


def sphere(radius, seg=SEGMENTS):
    def fn(u, v):
        th, ph = u * 2 * np.pi, (v - 0.5) * np.pi
        n = np.stack([np.cos(ph) * np.sin(th), np.sin(ph), np.cos(ph) * np.cos(th)], 1)
        return radius * n, n

    return _grid(fn, seg, seg // 2)


def _cap_island(part, u0):
    """A cap's planar uv moved into its own square of the atlas' top band."""
    p, n, uv, f = part
    return p, n, _island(uv, u0, 0.6, 0.4, 0.4), f


def cylinder(radius, height, seg=SEGMENTS):
    """Side in the atlas' bottom band, each cap in its own square above it."""

    def fn(u, v):
        th = u * 2 * np.pi
        n = np.stack([np.sin(th), np.zeros_like(th), np.cos(th)], 1)
        p = radius * n
        p[:, 1] = (v - 0.5) * height
        return p, n

    p, n, uv, f = _grid(fn, seg, 1)
    side = (p, n, np.stack([uv[:, 0], uv[:, 1] * 0.58], 1), f)
    return _merge(
        [
            side,
            _cap_island(_disc(radius, height / 2, True, seg), 0.05),
            _cap_island(_disc(radius, -height / 2, False, seg), 0.55),
        ]
    )


def capsule(radius, height, seg=SEGMENTS):
    half_body = height / 2 - radius

    def hemi(lo, hi, dy):
        def fn(u, v):
            th, ph = u * 2 * np.pi, v
            n = np.stack([np.cos(ph) * np.sin(th), np.sin(ph), np.cos(ph) * np.cos(th)], 1)
            p = radius * n
            p[:, 1] += dy
            return p, n

        return _grid(fn, seg, seg // 4, v_range=(lo, hi))

    parts = [hemi(-np.pi / 2, 0.0, -half_body), hemi(0.0, np.pi / 2, half_body)]
    if half_body > 1e-9:

        def body(u, v):
            th = u * 2 * np.pi
            n = np.stack([np.sin(th), np.zeros_like(th), np.cos(th)], 1)
            p = radius * n
            p[:, 1] = (v - 0.5) * 2 * half_body
            return p, n

        parts.append(_grid(body, seg, 1))
    p, n, uv, f = _merge(parts)
    uv[:, 1] = (p[:, 1] + height / 2) / height  # one continuous v from bottom to top
    return p, n, uv, f


def cone(radius, height, seg=SEGMENTS):
    slope = radius / height

    def fn(u, v):
        th = u * 2 * np.pi
        r = radius * (1 - v)
        p = np.stack([r * np.sin(th), (v - 0.5) * height, r * np.cos(th)], 1)
        n = np.stack([np.sin(th), np.full_like(th, slope), np.cos(th)], 1)
        return p, n / np.linalg.norm(n, axis=1, keepdims=True)

    p, n, uv, f = _grid(fn, seg, 8)
    side = (p, n, np.stack([uv[:, 0], uv[:, 1] * 0.58], 1), f)
    return _merge([side, _cap_island(_disc(radius, -height / 2, False, seg), 0.3)])


def torus(radius, tube, seg=SEGMENTS):
    def fn(u, v):
        th, ph = u * 2 * np.pi, v * 2 * np.pi
        c = np.stack([np.sin(th), np.zeros_like(th), np.cos(th)], 1)
        n = c * np.cos(ph)[:, None] + np.array([0.0, 1.0, 0.0]) * np.sin(ph)[:, None]
        return radius * c + tube * n, n

    return _grid(fn, seg, seg // 2)


def primitive(shape: str, size=None, radius=None, height=None, tube=None, segments: int = SEGMENTS) -> trimesh.Trimesh:
    """A primitive as a trimesh with `visual.uv` and analytic `vertex_normals`."""
    seg = segments
    builders = {
        "plane": lambda: plane(size),
        "box": lambda: box(size),
        "sphere": lambda: sphere(radius, seg),
        "cylinder": lambda: cylinder(radius, height, seg),
        "capsule": lambda: capsule(radius, height, seg),
        "cone": lambda: cone(radius, height, seg),
        "torus": lambda: torus(radius, tube, seg),
    }
    p, n, uv, f = builders[shape]()
    f = _orient_outward(p, n, _drop_degenerate(p, f))
    return make_mesh(p, f, n, uv)


def make_mesh(vertices, faces, normals, uv) -> trimesh.Trimesh:
    m = trimesh.Trimesh(
        vertices=vertices,
        faces=faces,
        vertex_normals=normals,
        process=False,
        visual=trimesh.visual.TextureVisuals(uv=uv),
    )
    return m
