"""Builds the small mesh assets that ship in worldgen/data/assets/ (run: python scripts/make_assets.py);
specs name them `assets/<file>`.

pine_tree.obj: a low-poly pine (trunk + three stacked cones), 1 unit = 1 m, base at y = 0.
sailboat.obj: a hull, a mast and a sail. Both carry uv coordinates."""

from pathlib import Path

import numpy as np
import trimesh

from worldgen.shapes import primitive as _primitive

SEGMENTS = 16  # low-poly on purpose: small files, a stylised read


def primitive(shape, **kw):
    return _primitive(shape, segments=SEGMENTS, **kw)


HERE = Path(__file__).resolve().parent.parent / "worldgen" / "data" / "assets"


def moved(mesh, offset, scale=(1, 1, 1)):
    m = mesh.copy()
    m.vertices = m.vertices * np.asarray(scale) + np.asarray(offset)
    return m


def combine(parts):
    uv = np.concatenate([p.visual.uv for p in parts])
    m = trimesh.util.concatenate(parts)
    m.visual = trimesh.visual.TextureVisuals(uv=uv)
    return m


def pine_tree():
    parts = [moved(primitive("cylinder", radius=0.18, height=1.2), (0, 0.6, 0))]
    for y, r, h in ((1.3, 1.3, 1.8), (2.3, 1.0, 1.5), (3.2, 0.7, 1.3)):
        parts.append(moved(primitive("cone", radius=r, height=h), (0, y + h / 2 - 0.3, 0)))
    return combine(parts)


def sailboat():
    hull = moved(primitive("capsule", radius=0.5, height=4.0), (0, 0.35, 0), scale=(1.0, 0.7, 1.0))
    hull.vertices = hull.vertices[:, [1, 0, 2]] * [1, 1, 1]  # lay the capsule along x
    hull.vertices[:, 1] = np.minimum(hull.vertices[:, 1], 0.5)  # flat deck
    mast = moved(primitive("cylinder", radius=0.06, height=3.5), (0.2, 2.2, 0))
    sail = primitive("box", size=(1.6, 2.8, 0.04))
    sail.vertices[:, 0] *= 1.0 - (sail.vertices[:, 1] + 1.4) / 2.8 * 0.9  # taper to a triangle
    sail = moved(sail, (-0.55, 2.1, 0))
    return combine([hull, mast, sail])


def write_obj(path, mesh):
    """Plain OBJ with positions, uv and normals (no material files)."""
    # the header names the script's old place: kept, so that the files' bytes (and the content keys of
    # frames that show them) stay as they are
    lines = [f"# worldgen asset {path.name}: made by assets/make_assets.py"]
    lines += [f"v {x:.5f} {y:.5f} {z:.5f}" for x, y, z in mesh.vertices]
    lines += [f"vt {u:.5f} {v:.5f}" for u, v in mesh.visual.uv]
    lines += [f"vn {x:.4f} {y:.4f} {z:.4f}" for x, y, z in mesh.vertex_normals]
    lines += ["f " + " ".join(f"{i + 1}/{i + 1}/{i + 1}" for i in f) for f in mesh.faces]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    for name, mesh in (("pine_tree.obj", pine_tree()), ("sailboat.obj", sailboat())):
        write_obj(HERE / name, mesh)
        print(name, len(mesh.faces), "triangles", (HERE / name).stat().st_size, "bytes")
