"""Mesh assets: real third-party files load and render; hostile paths and files are refused."""

import shutil

import numpy as np
import pytest

from worldgen.errors import SpecError
from worldgen.passes.sequence import Rasterizer
from worldgen.world import World
from conftest import ROOT, SHARED_ASSETS, spec_from

ASSETS = ["Duck.glb", "CesiumMilkTruck.glb", "BoxTextured.glb", "fuze.obj", "bunny.ply", "teapot.stl"]


def mesh_spec(path, size=2.0):
    return f"""
    worldgen: 1
    render: {{width: 64, height: 48}}
    world:
      objects:
        - {{id: thing, mesh: "{path}", size: [{size}, {size}, {size}], position: [0, 1, 0]}}
    shots:
      - {{id: s, duration: 0.1, camera: {{move: static, position: [0, 1.5, 5], target: thing}}}}
    """


@pytest.mark.parametrize("name", ASSETS)
def test_shared_assets_load_and_render(tmp_path, name):
    src = SHARED_ASSETS / name
    if not src.exists():
        pytest.skip("../shared/assets absent")
    for f in SHARED_ASSETS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    spec = spec_from(mesh_spec(name), tmp_path)
    world = World(spec)
    mesh = world.nodes["thing"].mesh
    assert np.allclose(mesh.bounds.mean(0), 0, atol=1e-6)  # centred
    assert np.ptp(mesh.vertices, 0).max() == pytest.approx(2.0)  # fitted to size
    assert mesh.visual.uv.shape == (len(mesh.vertices), 2)
    fr = next(Rasterizer(world).shot_frames(spec.shots[0], 64, 48, 24))
    assert (fr.passes.instance == 1).sum() > 20


def test_project_asset_resolves():
    assets = sorted(p.name for p in (ROOT / "worldgen" / "data" / "assets").glob("*.obj"))
    assert assets, "the project ships at least one mesh asset"


@pytest.mark.parametrize(
    "content,fragment", [(b"", "empty file"), (b"solid x\nfacet broken", "cannot read mesh|no triangles")]
)
def test_bad_mesh_files(tmp_path, content, fragment):
    (tmp_path / "bad.stl").write_bytes(content)
    with pytest.raises(SpecError, match=fragment) as e:
        World(spec_from(mesh_spec("bad.stl"), tmp_path))
    assert "world.objects[0].mesh" in str(e.value)


def test_truncated_glb(tmp_path):
    if not (SHARED_ASSETS / "Duck.glb").exists():
        pytest.skip("../shared/assets absent")
    (tmp_path / "cut.glb").write_bytes((SHARED_ASSETS / "Duck.glb").read_bytes()[:5000])
    with pytest.raises(SpecError, match="cannot read mesh|no triangles"):
        World(spec_from(mesh_spec("cut.glb"), tmp_path))


def test_paths_cannot_escape(tmp_path):
    inner = tmp_path / "proj"
    inner.mkdir()
    (tmp_path / "secret.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    for path in ("../secret.obj", str(tmp_path / "secret.obj")):
        with pytest.raises(SpecError, match="outside the spec's folder"):
            World(spec_from(mesh_spec(path), inner))
    (inner / "link.obj").symlink_to(tmp_path / "secret.obj")
    with pytest.raises(SpecError, match="outside the spec's folder"):
        World(spec_from(mesh_spec("link.obj"), inner))
    with pytest.raises(SpecError, match="not found"):
        World(spec_from(mesh_spec("nope.obj"), inner))


@pytest.mark.parametrize("ext", ["glb", "obj", "ply", "stl"])
def test_empty_and_truncated_files_of_each_type(tmp_path, ext):
    import trimesh

    good = trimesh.creation.icosphere(subdivisions=2)
    data = good.export(file_type=ext)
    data = data.encode() if isinstance(data, str) else data
    (tmp_path / f"good.{ext}").write_bytes(data)
    assert len(World(spec_from(mesh_spec(f"good.{ext}"), tmp_path)).nodes["thing"].mesh.faces) > 0
    for name, content in (("empty", b""), ("cut", data[: len(data) // 3])):
        (tmp_path / f"{name}.{ext}").write_bytes(content)
        try:
            world = World(spec_from(mesh_spec(f"{name}.{ext}"), tmp_path))
        except SpecError as e:  # refused in one line naming the field
            assert "world.objects[0].mesh" in str(e) and "\n" not in str(e)
        else:  # text formats cut at a line end can still be a smaller valid mesh
            assert ext in ("obj", "ply") and name == "cut" and len(world.nodes["thing"].mesh.faces) > 0


def test_nan_vertices_and_missing_textures(tmp_path):
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    with pytest.raises(SpecError, match="not finite"):
        World(spec_from(mesh_spec("nan.obj"), tmp_path))
    # a material whose texture file is missing: the mesh still loads (worldgen paints from words)
    (tmp_path / "tex.mtl").write_text("newmtl m\nmap_Kd missing.png\n")
    (tmp_path / "tex.obj").write_text(
        "mtllib tex.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n"
    )
    w = World(spec_from(mesh_spec("tex.obj"), tmp_path))
    assert len(w.nodes["thing"].mesh.faces) == 1
