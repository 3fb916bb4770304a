"""Interchange exports read back by their own libraries: cameras, motion, meshes and frame
ranges must agree with the world and ShotCamera, and the bytes must not change between runs."""

from __future__ import annotations

import textwrap
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from worldgen.camera import ShotCamera, frame_count
from worldgen.export.cli import export
from worldgen.export.formats import export_spec
from worldgen.export.scene import node_material
from worldgen.spec import load_spec
from worldgen.transforms import quat_to_matrix
from worldgen.world import World

TOL = 1e-4
SPEC = """
worldgen: 1
title: Export test
seed: 3
render: {width: 64, height: 36, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "green grass"}
    - id: crate
      shape: box
      size: [1, 1, 1]
      position: [-3, 0.5, 0]
      appearance: "red wooden crate"
      path: spline
      motion:
        - {t: 0, position: [-3, 0.5, 0]}
        - {t: 1, position: [0, 0.5, 1], rotation: [0, 45, 0], ease: in_out}
        - {t: 2, position: [3, 0.5, 0], rotation: [0, 90, 10], scale: [1, 1.5, 1]}
    - {id: flag, parent: crate, shape: sphere, radius: 0.2, position: [0, 0.8, 0], appearance: "yellow"}
    - {id: ball, shape: sphere, radius: 0.5, position: [2, 0.5, -2], appearance: "blue metal"}
shots:
  - id: orbit
    duration: 1.5
    camera: {move: orbit, target: crate, radius: 8, height: 3, degrees: 90}
  - id: zoom_in
    start: 0.7
    duration: 1.25
    camera: {move: zoom, position: [0, 2, 9], look_at: [0, 0.5, 0], fov: 50, fov_end: 30}
"""
MOVING = ("crate", "flag")  # flag rides on the crate through the hierarchy


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    path = d / "scene.yaml"
    path.write_text(textwrap.dedent(SPEC).lstrip())
    spec = load_spec(path)
    return spec, World(spec), d


def _frames_to_check(shot, fps):
    n = frame_count(shot, fps)
    return sorted({0, 1, n // 2, n - 1}), n


def _expected_camera(spec, world, shot, i):
    cam = ShotCamera(shot, world, spec.render.width, spec.render.height).at(i / spec.render.fps)
    return cam.center, cam.world_to_camera[2, :3], cam.fov


# ---- glTF --------------------------------------------------------------------------------
class Gltf:
    """A .glb read back with pygltflib: accessors as arrays, nodes' local poses at any key time."""

    def __init__(self, path: Path):
        import pygltflib

        self.doc = pygltflib.GLTF2().load(str(path))
        self.blob = self.doc.binary_blob()
        self.by_name = {n.name: i for i, n in enumerate(self.doc.nodes)}
        self.parent = {c: i for i, n in enumerate(self.doc.nodes) for c in n.children}
        self.channels = {}
        for anim in self.doc.animations:
            for ch in anim.channels:
                s = anim.samplers[ch.sampler]
                key = (ch.target.node, ch.target.path)
                if ch.target.path == "pointer":
                    key = ("pointer", ch.target.extensions["KHR_animation_pointer"]["pointer"])
                self.channels[key] = (self.array(s.input).ravel(), self.array(s.output))

    def array(self, index: int) -> np.ndarray:
        acc = self.doc.accessors[index]
        view = self.doc.bufferViews[acc.bufferView]
        dtype = {5126: np.float32, 5125: np.uint32}[acc.componentType]
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
        start = view.byteOffset + (acc.byteOffset or 0)
        return np.frombuffer(self.blob, dtype, acc.count * width, start).reshape(acc.count, width)

    def keyed(self, key, t: float):
        times, values = self.channels[key]
        k = int(np.argmin(np.abs(times - t)))
        assert abs(times[k] - t) < 1e-5, f"no key at t={t} for {key}"
        return values[k].astype(float)

    def local(self, ni: int, t: float) -> np.ndarray:
        node = self.doc.nodes[ni]
        tr = self.keyed((ni, "translation"), t) if (ni, "translation") in self.channels else node.translation
        q = self.keyed((ni, "rotation"), t) if (ni, "rotation") in self.channels else node.rotation
        s = self.keyed((ni, "scale"), t) if (ni, "scale") in self.channels else node.scale
        m = np.eye(4)
        x, y, z, w = q if q is not None else (0, 0, 0, 1)
        m[:3, :3] = quat_to_matrix([w, x, y, z]) @ np.diag(s if s is not None else [1, 1, 1])
        m[:3, 3] = tr if tr is not None else 0
        return m

    def world(self, name: str, t: float) -> np.ndarray:
        ni = self.by_name[name]
        m = self.local(ni, t)
        while ni in self.parent:
            ni = self.parent[ni]
            m = self.local(ni, t) @ m
        return m


@pytest.fixture(scope="module")
def glb(scene):
    spec, world, d = scene
    path = d / "scene.glb"
    export_spec(spec, path, world=world)
    return Gltf(path)


def test_glb_cameras_follow_shot_cameras(scene, glb):
    spec, world, _ = scene
    fps = spec.render.fps
    for shot in spec.shots:
        ni = glb.by_name[f"camera_{shot.id}"]
        cam = glb.doc.cameras[glb.doc.nodes[ni].camera]
        assert cam.perspective.aspectRatio == pytest.approx(spec.render.width / spec.render.height)
        frames, n = _frames_to_check(shot, fps)
        times, _ = glb.channels[(ni, "translation")]
        assert len(times) == n
        for i in frames:
            t = shot.start + i / fps
            pose = glb.world(f"camera_{shot.id}", t)
            centre, forward, fov = _expected_camera(spec, world, shot, i)
            np.testing.assert_allclose(pose[:3, 3], centre, atol=TOL)
            np.testing.assert_allclose(pose[:3, :3] @ [0, 0, -1], forward, atol=TOL)  # glTF looks down -Z
            np.testing.assert_allclose(
                pose[:3, :3] @ [0, 1, 0],
                -ShotCamera(shot, world, spec.render.width, spec.render.height).at(i / fps).world_to_camera[1, :3],
                atol=TOL,
            )
            pointer = ("pointer", f"/cameras/{glb.doc.nodes[ni].camera}/perspective/yfov")
            yfov = glb.keyed(pointer, t)[0] if pointer in glb.channels else cam.perspective.yfov
            assert np.degrees(yfov) == pytest.approx(fov, abs=TOL)
    assert ("pointer", "/cameras/1/perspective/yfov") in glb.channels  # the zoom animates its lens
    assert ("pointer", "/cameras/0/perspective/yfov") not in glb.channels


def test_glb_motion_matches_world(scene, glb):
    spec, world, _ = scene
    fps = spec.render.fps
    times = [0.0, 0.5, 1.0, 19 / fps, 0.7 + 3 / fps, 0.7 + 14 / fps]  # grid and off-grid frame times
    for oid in MOVING + ("ball",):
        for t in times:
            np.testing.assert_allclose(glb.world(oid, t), world.world_matrix(oid, t), atol=TOL)
    assert (glb.by_name["ball"], "translation") not in glb.channels  # static nodes carry no channels
    assert (glb.by_name["flag"], "translation") not in glb.channels  # the child moves through its parent


def test_glb_meshes_and_materials(scene, glb):
    spec, world, d = scene
    import trimesh

    for oid in world.objects():
        node = glb.doc.nodes[glb.by_name[oid]]
        prim = glb.doc.meshes[node.mesh].primitives[0]
        assert glb.doc.accessors[prim.indices].count == 3 * len(world.nodes[oid].mesh.faces)
        colour = glb.doc.materials[prim.material].pbrMetallicRoughness.baseColorFactor
        np.testing.assert_allclose(colour[:3], node_material(world, oid).base, atol=1e-6)
    loaded = trimesh.load(d / "scene.glb", force="scene")
    assert sum(len(g.faces) for g in loaded.geometry.values()) == world.triangle_count


def test_gltf_json_holds_the_same_document(scene, tmp_path):
    spec, world, d = scene
    import pygltflib

    export_spec(spec, tmp_path / "scene.gltf", world=world)
    doc = pygltflib.GLTF2().load(str(tmp_path / "scene.gltf"))
    assert doc.buffers[0].uri.startswith("data:application/octet-stream;base64,")
    assert [n.name for n in doc.nodes] == [n.name for n in Gltf(d / "scene.glb").doc.nodes]


CHARACTER_SPEC = """
worldgen: 1
render: {width: 64, height: 36, fps: 10}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20]}
  characters:
    - id: ana
      path:
        - {t: 0, position: [-2, 0, 0]}
        - {t: 1.5, position: [1, 0, 0]}
shots:
  - id: walk
    duration: 1.5
    camera: {move: track, target: ana, offset: [0, 1.5, 5]}
"""


def test_glb_character_parts_ride_their_bones(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(textwrap.dedent(CHARACTER_SPEC).lstrip())
    spec = load_spec(p)
    world = World(spec)
    export_spec(spec, tmp_path / "c.glb", world=world)
    g = Gltf(tmp_path / "c.glb")
    parts = world.parts_of("ana")
    assert parts and all(pid in g.by_name for pid in parts)
    for pid in (parts[0], "ana/torso", parts[-1]):
        for t in (0.0, 0.7, 1.4):
            np.testing.assert_allclose(g.world(pid, t), world.world_matrix(pid, t), atol=TOL)


# ---- OpenUSD -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stage(scene):
    pytest.importorskip("pxr")
    from pxr import Usd

    spec, world, d = scene
    export_spec(spec, d / "scene.usda", world=world)
    return Usd.Stage.Open(str(d / "scene.usda"))


def _usd_matrix(m) -> np.ndarray:
    return np.array(m, float).T  # USD matrices act on row vectors


def test_usd_stage_timing(scene, stage):
    from pxr import UsdGeom

    spec, _, _ = scene
    assert stage.GetTimeCodesPerSecond() == spec.render.fps
    assert UsdGeom.GetStageUpAxis(stage) == "Y" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    last = max(s.start + (frame_count(s, spec.render.fps) - 1) / spec.render.fps for s in spec.shots)
    assert stage.GetEndTimeCode() == pytest.approx(last * spec.render.fps)


def test_usd_cameras_follow_shot_cameras(scene, stage):
    from pxr import Gf, Usd, UsdGeom

    spec, world, _ = scene
    fps = spec.render.fps
    for shot in spec.shots:
        cam = UsdGeom.Camera(stage.GetPrimAtPath(f"/World/cameras/{shot.id}"))
        assert cam.GetPrim().GetCustomDataByKey("worldgen:frame_count") == frame_count(shot, fps)
        frames, _ = _frames_to_check(shot, fps)
        for i in frames:
            code = Usd.TimeCode((shot.start + i / fps) * fps)
            pose = _usd_matrix(cam.ComputeLocalToWorldTransform(code))
            centre, forward, fov = _expected_camera(spec, world, shot, i)
            np.testing.assert_allclose(pose[:3, 3], centre, atol=TOL)
            np.testing.assert_allclose(pose[:3, :3] @ [0, 0, -1], forward, atol=TOL)
            gf = cam.GetCamera(code)
            assert gf.GetFieldOfView(Gf.Camera.FOVVertical) == pytest.approx(fov, abs=TOL)
            assert gf.aspectRatio == pytest.approx(spec.render.width / spec.render.height, abs=1e-6)


def test_usd_motion_and_meshes_match_world(scene, stage):
    from pxr import Usd, UsdGeom

    spec, world, _ = scene
    fps = spec.render.fps
    geoms = {p.GetParent().GetCustomDataByKey("worldgen:id"): p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)}
    assert set(geoms) == set(world.objects())
    for oid, prim in geoms.items():
        assert len(UsdGeom.Mesh(prim).GetFaceVertexCountsAttr().Get()) == len(world.nodes[oid].mesh.faces)
        for t in (0.0, 0.5, 1.0, 19 / fps, 0.7 + 3 / fps):
            m = _usd_matrix(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode(t * fps)))
            np.testing.assert_allclose(m, world.world_matrix(oid, t), atol=TOL)


# ---- OpenTimelineIO ----------------------------------------------------------------------
def _film_layout(spec):
    fps, start, out = spec.render.fps, 0, []
    for s in spec.shots:
        n = frame_count(s, fps)
        assert n == round(s.duration * fps)
        out.append((s.id, start, n))
        start += n
    return out


def test_otio_clips_cut_the_film_without_media(scene, tmp_path):
    otio = pytest.importorskip("opentimelineio")
    spec, _, _ = scene
    export_spec(spec, tmp_path / "film.otio")
    tl = otio.adapters.read_from_file(str(tmp_path / "film.otio"))
    (track,) = tl.tracks
    layout = _film_layout(spec)
    assert [c.name for c in track] == [sid for sid, _, _ in layout]
    for k, (clip, (sid, start, n)) in enumerate(zip(track, layout)):
        assert clip.source_range.duration.rate == spec.render.fps
        assert clip.source_range.duration.value == n
        assert track.range_of_child_at_index(k).start_time.value == start
        assert isinstance(clip.media_reference, otio.schema.MissingReference)
    assert tl.duration().value == sum(n for _, _, n in layout)


def _url_path(url: str) -> Path:
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))


def test_otio_links_rendered_frames_and_film(scene, tmp_path):
    otio = pytest.importorskip("opentimelineio")
    from worldgen.render import RenderOptions, render

    spec, world, _ = scene
    out = tmp_path / "render"
    render(spec, out, RenderOptions(passes=False, control=(), progress=False))
    layout = _film_layout(spec)
    export_spec(spec, tmp_path / "frames.otio", render_dir=out)
    (track,) = otio.adapters.read_from_file(str(tmp_path / "frames.otio")).tracks
    for clip, (sid, _, n) in zip(track, layout):
        ref = clip.media_reference
        assert isinstance(ref, otio.schema.ImageSequenceReference) and ref.number_of_images_in_sequence() == n
        last = _url_path(ref.target_url_for_image_number(n - 1))
        assert last == (out / "shots" / sid / "frames" / f"{n - 1:06d}.png").resolve() and last.is_file()
        assert clip.source_range.start_time.value == 0 and clip.source_range.duration.value == n
    export_spec(spec, tmp_path / "film.otio", render_dir=out, media="film")
    (track,) = otio.adapters.read_from_file(str(tmp_path / "film.otio")).tracks
    for clip, (sid, start, n) in zip(track, layout):
        ref = clip.media_reference
        assert isinstance(ref, otio.schema.ExternalReference)
        assert _url_path(ref.target_url) == (out / "film.mp4").resolve()
        assert (clip.source_range.start_time.value, clip.source_range.duration.value) == (start, n)
        assert ref.available_range.duration.value == sum(k for _, _, k in layout)


# ---- determinism and the command ----------------------------------------------------------
@pytest.mark.parametrize("ext", [".glb", ".gltf", ".usda", ".otio"])
def test_reexport_is_byte_identical(scene, tmp_path, ext):
    if ext == ".usda":
        pytest.importorskip("pxr")
    if ext == ".otio":
        pytest.importorskip("opentimelineio")
    spec, _, d = scene
    a, b = tmp_path / f"a{ext}", tmp_path / f"b{ext}"
    export_spec(spec, a)  # fresh worlds each time: nothing may depend on state or order
    export_spec(load_spec(d / "scene.yaml"), b)
    assert a.read_bytes() == b.read_bytes()


def _cli():
    app = typer.Typer()
    app.command()(export)
    app.command("noop")(lambda: None)  # two commands, so 'export' is addressed by name as in worldgen
    return app


def test_cli_writes_and_refuses_unknown_formats(scene, tmp_path):
    spec, _, d = scene
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["export", str(d / "scene.yaml"), "--to", str(tmp_path / "x.glb")])
    assert ok.exit_code == 0 and (tmp_path / "x.glb").is_file(), ok.output
    bad = runner.invoke(_cli(), ["export", str(d / "scene.yaml"), "--to", str(tmp_path / "x.fbx")])
    assert bad.exit_code == 2
    assert "'.fbx' is not an export format" in bad.output and ".glb" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    (tmp_path / "taken.glb").mkdir()  # a folder where the file should go
    blocked = runner.invoke(_cli(), ["export", str(d / "scene.yaml"), "--to", str(tmp_path / "taken.glb")])
    assert blocked.exit_code == 2 and "cannot write" in blocked.output, blocked.output


def test_cli_names_the_missing_library(scene, tmp_path, monkeypatch):
    import sys

    spec, _, d = scene
    monkeypatch.setitem(sys.modules, "pxr", None)  # import pxr now fails as if usd-core were absent
    monkeypatch.setitem(sys.modules, "opentimelineio", None)
    for ext, fix in ((".usda", "pip install usd-core"), (".otio", "pip install opentimelineio")):
        res = CliRunner().invoke(_cli(), ["export", str(d / "scene.yaml"), "--to", str(tmp_path / f"x{ext}")])
        assert res.exit_code == 4 and fix in res.output, res.output
        assert not (tmp_path / f"x{ext}").exists()
