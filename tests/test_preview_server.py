"""worldgen preview without a browser: what the server serves, what it refuses, and that the
scene it hands the page is the library's own (cameras sampled by worldgen.camera, ids of the
passes, spec lines), that a broken save keeps the last good world with validate's message, and
that "render this frame" is the renderer's frame."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from preview_support import TINY_SPEC

from worldgen.preview.files import Refused, ServedFiles
from worldgen.preview.server import PreviewServer

ROOT = Path(__file__).resolve().parents[1]
OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n"


def _get(server, path: str, host: str | None = None, method: str = "GET"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{server.port}")
    conn.endheaders()
    res = conn.getresponse()
    body = res.read()
    conn.close()
    return res.status, dict(res.getheaders()), body


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("preview")
    (d / "scene.yaml").write_text(TINY_SPEC)
    return d


@pytest.fixture(scope="module")
def server(scene_dir):
    with PreviewServer(scene_dir / "scene.yaml", port=0, watch=False) as s:
        yield s


# ---- the scene is the library's -------------------------------------------------------------


def test_cameras_are_the_library_samples(server):
    """Each shot's camera in the page's scene is worldgen.camera's pose and field of view at
    every frame (in glTF axes), and shots sit on the film's frame grid."""
    from worldgen.camera import ShotCamera
    from worldgen.transforms import decompose, world_to_camera_to_gl_pose

    good = server.state.good
    spec, world, meta = good.spec, good.world, good.meta
    r = spec.render
    film_start = 0
    for shot, m in zip(spec.shots, meta["shots"]):
        rig = ShotCamera(shot, world, r.width, r.height)
        assert m["film_start"] == film_start and m["frame_count"] == round(shot.duration * r.fps)
        film_start += m["frame_count"]
        for i in range(m["frame_count"]):
            cam = rig.at(i / r.fps)
            t, q, _ = decompose(world_to_camera_to_gl_pose(cam.world_to_camera))
            np.testing.assert_allclose(m["camera"]["position"][i], t, atol=1e-5)
            qm = np.asarray(m["camera"]["quaternion"][i])[[3, 0, 1, 2]]  # page order x, y, z, w
            assert abs(abs(float(qm @ q)) - 1.0) < 1e-6
            assert m["camera"]["yfov"][i] == pytest.approx(cam.fov, abs=1e-5)


def test_objects_carry_ids_and_their_spec_lines(server):
    good = server.state.good
    lines = TINY_SPEC.splitlines()
    for o in good.meta["objects"]:
        assert o["instance"] == good.world.nodes[o["id"]].instance
        assert f"id: {o['id']}" in lines[o["line"] - 1] and o["line_text"] == lines[o["line"] - 1]
    (walker,) = good.meta["characters"]
    assert walker["instance"] == good.world.character_instance["walker"]
    assert walker["parts"] and all(p.startswith("walker/") for p in walker["parts"])
    assert [o["moving"] for o in good.meta["objects"]] == [False, False, False, False, True]


def test_the_world_is_the_gltf_export(server, tmp_path):
    """/api/scene.glb is byte for byte what `worldgen export --to x.glb` writes."""
    from worldgen.export.formats import export_spec

    good = server.state.good
    export_spec(good.spec, tmp_path / "x.glb", world=good.world)
    status, headers, body = _get(server, f"/api/scene.glb?v={good.version}")
    assert status == 200 and headers["Content-Type"] == "model/gltf-binary"
    assert body == (tmp_path / "x.glb").read_bytes()
    assert _get(server, "/api/scene.glb?v=999")[0] == 410


# ---- what is served, and what is not -----------------------------------------------------------


def test_serves_the_page_the_spec_and_nothing_else(server, scene_dir):
    (scene_dir / "notes.txt").write_text("not named by the spec")
    (scene_dir.parent / "secret.txt").write_text("outside")
    status, headers, body = _get(server, "/")
    assert status == 200 and b'type="importmap"' in body
    assert "script-src 'self' 'sha256-" in headers["Content-Security-Policy"]
    assert _get(server, "/static/vendor/three/build/three.module.js")[0] == 200
    assert _get(server, "/files/scene.yaml")[2] == TINY_SPEC.encode()
    for path in [
        "/files/notes.txt",
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/x/../../secret.txt",
        "/files//etc/passwd",
        "/files/%2Fetc%2Fpasswd",
        "/files/..%5csecret.txt",
        "/files/scene.yaml%00",
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/vendor/../../files.py",
        "/static/%2e%2e/%2e%2e/__init__.py",
        "/etc/passwd",
        "/server.py",
    ]:
        status, _, body = _get(server, path)
        assert status == 404, path
        assert b"outside" not in body and b"import" not in body


def test_only_loopback_host_names_and_get(server):
    """A page elsewhere that rebinds its DNS name to 127.0.0.1 sends its own Host: refused."""
    assert _get(server, "/api/scene", host=f"evil.example:{server.port}")[0] == 403
    assert _get(server, "/api/scene", host="127.0.0.1:1")[0] == 403
    assert _get(server, "/api/scene", host=f"localhost:{server.port}")[0] == 200
    assert _get(server, "/api/scene", method="POST")[0] == 405
    assert server._httpd.server_address[0] == "127.0.0.1"


def test_assets_the_spec_names_inside_its_folder_only(tmp_path, monkeypatch):
    """A mesh the spec names is served by that name; one that leads out of the spec's folder
    (here through a symlink, allowed for rendering by WORLDGEN_ASSET_ROOTS) is not."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "rock.obj").write_text(OBJ)
    folder = tmp_path / "spec"
    (folder / "meshes").mkdir(parents=True)
    (folder / "meshes" / "cone.obj").write_text(OBJ)
    (folder / "meshes" / "link.obj").symlink_to(outside / "rock.obj")
    (folder / "out").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("WORLDGEN_ASSET_ROOTS", str(outside))
    text = TINY_SPEC.replace(
        "  characters:",
        "    - {id: cone, mesh: meshes/cone.obj, position: [6, 0.5, -6]}\n"
        "    - {id: rock, mesh: meshes/link.obj, position: [-6, 0.5, -6]}\n"
        "    - {id: rock2, mesh: out/rock.obj, position: [6, 0.5, -8]}\n"
        "  characters:",
    )
    (folder / "scene.yaml").write_text(text)
    with PreviewServer(folder / "scene.yaml", port=0, watch=False) as s:
        assert s.state.error is None
        assert _get(s, "/files/meshes/cone.obj")[2] == OBJ.encode()
        assert _get(s, "/files/meshes/./cone.obj")[0] == 200
        for path in ["/files/meshes/link.obj", "/files/out/rock.obj", "/files/meshes/../../outside/rock.obj"]:
            assert _get(s, path)[0] == 404, path


def test_served_files_refuse_symlinks_and_climbing(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("x")
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "s.yaml").write_text("worldgen: 1")
    (folder / "a.obj").symlink_to(outside)
    files = ServedFiles(folder / "s.yaml")
    files.allow_assets(["a.obj", "../outside.yaml", "/etc/passwd"])
    assert files.resolve("s.yaml") == (folder / "s.yaml").resolve()
    assert files.names == {"s.yaml", "a.obj"}
    for name in ["a.obj", "../outside.yaml", "/etc/passwd", "", ".", "..", "nope.yaml"]:
        with pytest.raises(Refused):
            files.resolve(name)


def test_other_hosts_need_the_flag_and_get_a_warning(scene_dir):
    """Default: 127.0.0.1. Any other address only by --host, and with a warning."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    spec = str(scene_dir / "scene.yaml")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "worldgen", "preview", spec, "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for extra in ([], ["--host", "0.0.0.0"])
    ]
    try:
        lines = [p.stdout.readline() for p in procs]
    finally:
        for p in procs:
            p.terminate()
    errs = [p.communicate(timeout=30)[1] for p in procs]
    assert "at http://127.0.0.1:" in lines[0] and "warning" not in errs[0]
    assert "at http://0.0.0.0:" in lines[1]
    assert "warning: serving on 0.0.0.0: other machines on the network can open the page" in errs[1]


# ---- live state ----------------------------------------------------------------------------------


def _validate_message(path: Path) -> str:
    from typer.testing import CliRunner

    from worldgen.cli import app

    res = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "300"})
    assert res.exit_code == 2
    (line,) = [s for s in res.output.splitlines() if s.startswith("error: ")]
    return line[len("error: ") :]


def test_a_broken_save_keeps_the_last_good_world(tmp_path):
    spec = tmp_path / "scene.yaml"
    spec.write_text(TINY_SPEC)
    with PreviewServer(spec, port=0, watch=False) as s:
        good = s.state.good
        spec.write_text(TINY_SPEC.replace("target: post", "target: pots"))
        state = s.state.reload()
        assert state["error"]["message"] == _validate_message(spec)
        assert (
            state["error"]["line"]
            == TINY_SPEC.splitlines().index(next(x for x in TINY_SPEC.splitlines() if "target: post" in x)) + 1
        )
        assert s.state.good is good and state["scene"]["version"] == good.version < state["version"]
        body = json.loads(_get(s, "/api/scene")[2])
        assert body["error"] == state["error"] and "'pots'" in body["error"]["message"]
        assert _get(s, f"/api/scene.glb?v={good.version}")[0] == 200
        spec.write_text(TINY_SPEC)
        state = s.state.reload()
        assert state["error"] is None and state["scene"]["version"] == state["version"]


def test_a_spec_broken_from_the_start_still_serves(tmp_path):
    spec = tmp_path / "scene.yaml"
    spec.write_text(TINY_SPEC.replace("shape: sphere", "shape: sphere3"))
    with PreviewServer(spec, port=0, watch=False) as s:
        body = json.loads(_get(s, "/api/scene")[2])
        assert body["scene"] is None and body["error"]["message"] == _validate_message(spec)
        assert _get(s, "/")[0] == 200


def test_saving_the_spec_reloads_and_tells_the_page(tmp_path):
    """The watcher sees a save and the event stream announces the new version."""
    spec = tmp_path / "scene.yaml"
    spec.write_text(TINY_SPEC)
    with PreviewServer(spec, port=0) as s:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        conn.request("GET", "/api/events", headers={"Host": f"127.0.0.1:{s.port}"})
        res = conn.getresponse()
        first = _read_event(res)
        assert first["version"] == 1 and first["scene_version"] == 1
        tmp = tmp_path / "scene.yaml.tmp"
        tmp.write_text(TINY_SPEC.replace("[2.0, 0.7, -0.5]", "[2.5, 0.7, -0.5]"))
        os.replace(tmp, spec)  # the way editors save
        event = _read_event(res)
        conn.close()
        assert event["scene_version"] == 2 and event["error"] is None
        ball = next(o for o in s.state.good.spec.world.objects if o.id == "ball")
        assert ball.position == (2.5, 0.7, -0.5)


def _read_event(res) -> dict:
    lines = []
    while True:
        line = res.fp.readline().decode()
        if line.startswith(":"):
            continue
        if line == "\n" and lines:
            break
        lines.append(line)
    assert lines[0] == "event: state\n"
    return json.loads(lines[1][len("data: ") :])


# ---- ground truth on demand ------------------------------------------------------------------------


def test_render_this_frame_is_the_renderers_frame(server, tmp_path):
    """The frame and segmentation the page shows are those `worldgen render` writes."""
    import base64

    from PIL import Image

    from worldgen.render import RenderOptions, render

    status, _, body = _get(server, "/api/render?shot=fixed&frame=2")
    assert status == 200
    out = json.loads(body)
    assert (out["shot"], out["frame"], out["painter"]) == ("fixed", 2, "procedural")
    assert out["time"] == pytest.approx(1.5 + 2 / 6)

    def image(url):
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))

    good = server.state.good
    res = render(
        good.spec,
        tmp_path / "r",
        RenderOptions(shots=["fixed"], frames={"fixed": {2}}, film=False, progress=False, use_store=False),
        world=good.world,
    )
    frame = next(s for s in res.manifest["shots"] if s["id"] == "fixed")["frames"][2]
    assert np.array_equal(image(out["images"]["frame"]), np.asarray(Image.open(tmp_path / "r" / frame["frame"])))
    assert np.array_equal(
        image(out["images"]["segmentation"]), np.asarray(Image.open(tmp_path / "r" / frame["control_seg"]))
    )
    depth = image(out["images"]["depth"])
    assert depth.shape == (108, 192, 3) and depth.max() == 255  # nearest surface: brightest
    for query in ["shot=nope&frame=0", "shot=fixed&frame=99", "shot=fixed&frame=x"]:
        status, _, body = _get(server, "/api/render?" + query)
        assert status == 400 and json.loads(body)["error"]
