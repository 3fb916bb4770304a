"""Mesh assets: find them (confined to trusted roots), load them, make them worldgen-ready.

A ready mesh is centred on its bounding-box centre (so `position` is its centre, as for
primitives), has vertex normals, and has uv (its own; an xatlas unwrap where it has none; a box projection for huge meshes)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import trimesh

from worldgen.errors import AssetError

MESH_SUFFIXES = {".glb", ".gltf", ".obj", ".ply", ".stl", ".off"}
MAX_ASSET_BYTES = 256 * 1024 * 1024
# the meshes worldgen ships (package data, so an installed worldgen has them too); a spec names
# them `assets/<file>`
PROJECT_ASSETS = Path(__file__).resolve().parent / "data" / "assets"


def asset_roots(spec_dir: Path) -> list[Path]:
    roots = [spec_dir.resolve()]
    for extra in os.environ.get("WORLDGEN_ASSET_ROOTS", "").split(os.pathsep):
        if extra:
            roots.append(Path(extra).resolve())
    roots.append(PROJECT_ASSETS)
    return roots


def resolve_asset(name: str, spec_dir: Path) -> Path:
    """Find `name` under the spec's folder or an asset root; refuse anything that escapes them."""
    rel = Path(name)
    if rel.is_absolute():
        candidates = [rel]
    else:
        candidates = [root / rel for root in asset_roots(spec_dir)]
        if rel.parts and rel.parts[0] == "assets":  # 'assets/x.glb' also means the project's assets/
            candidates.append(PROJECT_ASSETS / Path(*rel.parts[1:]))
    roots = asset_roots(spec_dir)
    for c in candidates:
        if not c.exists():
            continue
        real = c.resolve()
        if not any(real == r or r in real.parents for r in roots):
            raise AssetError(
                f"{name}: outside the spec's folder and the asset roots (set WORLDGEN_ASSET_ROOTS to allow)"
            )
        if real.suffix.lower() not in MESH_SUFFIXES:
            raise AssetError(f"{name}: unsupported mesh type (use one of {', '.join(sorted(MESH_SUFFIXES))})")
        if real.stat().st_size == 0:
            raise AssetError(f"{name}: empty file")
        if real.stat().st_size > MAX_ASSET_BYTES:
            raise AssetError(f"{name}: larger than {MAX_ASSET_BYTES >> 20} MB")
        return real
    raise AssetError(f"{name}: not found (looked in {', '.join(str(r) for r in roots)})")


def box_projection_uv(vertices: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """uv from the two axes across each vertex's dominant normal axis, scaled to the bounds."""
    lo, span = vertices.min(0), np.maximum(np.ptp(vertices, 0), 1e-9)
    q = (vertices - lo) / span
    axis = np.abs(normals).argmax(1)
    uv = np.where(axis[:, None] == 0, q[:, [2, 1]], np.where(axis[:, None] == 1, q[:, [0, 2]], q[:, [0, 1]]))
    return uv


UNWRAP_MAX_FACES = 100_000  # above this a mesh without uv gets a box projection (unwrapping takes minutes)


def load_mesh(path: Path) -> trimesh.Trimesh:
    try:
        loaded = trimesh.load(str(path), force="scene", process=False)
        meshes = [g for g in loaded.dump(concatenate=False) if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    except AssetError:
        raise
    except Exception as e:  # trimesh raises many types for malformed files
        raise AssetError(f"{path.name}: cannot read mesh ({type(e).__name__}: {str(e)[:120]})") from None
    if not meshes:
        raise AssetError(f"{path.name}: contains no triangles")
    uvs, has_uv = [], True
    for m in meshes:
        uv = getattr(m.visual, "uv", None)
        if uv is None or len(uv) != len(m.vertices):
            has_uv = False
        uvs.append(uv)
    vertices = np.concatenate([m.vertices for m in meshes])
    if not np.isfinite(vertices).all():
        raise AssetError(f"{path.name}: vertices are not finite numbers")
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    faces = np.concatenate([m.faces + o for m, o in zip(meshes, offsets)])
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    normals = np.asarray(mesh.vertex_normals, dtype=np.float64)
    from worldgen.shapes import make_mesh

    if not has_uv and len(faces) <= UNWRAP_MAX_FACES:
        return _unwrapped(vertices, faces, normals)
    uv = np.concatenate(uvs).astype(np.float64) if has_uv else box_projection_uv(vertices, normals)
    uv = np.nan_to_num(uv)
    return make_mesh(vertices, faces, normals, uv)


def _unwrapped(vertices, faces, normals) -> trimesh.Trimesh:
    """A mesh without uv gets a real atlas (xatlas: charts that never overlap), so look
    development can paint every part of it separately; vertices are split along chart seams."""
    import xatlas
    from worldgen.shapes import make_mesh

    vmap, new_faces, uv = xatlas.parametrize(
        np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(faces, np.uint32)
    )
    return make_mesh(vertices[vmap], new_faces.astype(np.int64), normals[vmap], uv.astype(np.float64))


def fit_mesh(mesh: trimesh.Trimesh, size=None) -> trimesh.Trimesh:
    """Centre on the bounding box; with `size`, scale uniformly to fit inside that box."""
    lo, hi = mesh.bounds
    v = mesh.vertices - (lo + hi) / 2
    if size is not None:
        ext = np.maximum(hi - lo, 1e-12)
        v = v * float(np.min(np.asarray(size, float) / ext))
    from worldgen.shapes import make_mesh

    return make_mesh(v, mesh.faces, mesh.vertex_normals, mesh.visual.uv)
