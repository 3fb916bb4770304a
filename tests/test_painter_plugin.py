"""A third-party painter: a package of its own, found through the `worldgen.painters` entry-point
group, renders a film through the CLI; a plugin that breaks the contract is refused in one line.

The plugin is "installed" the way pip leaves a package: its module and a `*.dist-info` folder
(METADATA, entry_points.txt) on the CLI's sys.path (PYTHONPATH), which importlib.metadata reads."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from PIL import Image

COLOUR = (12, 200, 34)

SPEC = """
worldgen: 1
title: plugin
seed: 1
render: {width: 32, height: 24, fps: 4}
world:
  objects:
    - {id: ground, shape: plane, size: [10, 10], appearance: "grass"}
    - {id: box, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "red"}
shots:
  - {id: a, duration: 0.5, camera: {move: orbit, target: box, radius: 5, height: 2, degrees: 20}}
"""

MODULE = f"""
import numpy as np

from worldgen.paint.base import Painter


class FlatPainter(Painter):
    name = "flat"

    def paint(self, view):
        h, w = view.hits.depth.shape
        return np.broadcast_to(np.array({COLOUR!r}, np.uint8), (h, w, 3)).copy()


def make_flat(world, raster, options):
    return FlatPainter(world, raster, options)


class NotAPainter:
    def __init__(self, world, raster, options):
        pass


def make_nothing(world, raster, options):
    return "a painter"
"""

ENTRY_POINTS = """
[worldgen.painters]
flat = flatpaint:FlatPainter
flat-factory = flatpaint:make_flat
not-a-painter = flatpaint:NotAPainter
makes-no-painter = flatpaint:make_nothing
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """A folder holding the plugin package as installed, and the spec to render."""
    d = tmp_path_factory.mktemp("plugin")
    site = d / "site"
    (site / "flatpaint-0.1.dist-info").mkdir(parents=True)
    (site / "flatpaint.py").write_text(MODULE)
    (site / "flatpaint-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: flatpaint\nVersion: 0.1\n")
    (site / "flatpaint-0.1.dist-info" / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS).lstrip())
    spec = d / "plugin.yaml"
    spec.write_text(SPEC)
    return site, spec


def render(plugin, out, painter):
    site, spec = plugin
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "worldgen",
            "render",
            str(spec),
            "-o",
            str(out),
            "-q",
            "--painter",
            painter,
            "--no-store",
        ],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("painter", ["flat", "flat-factory"])
def test_a_plugin_painter_renders_the_film(plugin, tmp_path, painter):
    r = render(plugin, tmp_path / "out", painter)
    assert r.returncode == 0, r.stderr
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["painter"] == painter and man["frames_this_run"]["rendered"] == 2
    frames = [np.asarray(Image.open(tmp_path / "out" / f["frame"]).convert("RGB")) for f in man["shots"][0]["frames"]]
    assert len(frames) == 2
    for img in frames:
        assert img.shape == (24, 32, 3) and (img == np.array(COLOUR, np.uint8)).all()


@pytest.mark.parametrize(
    "painter, words",
    [
        ("not-a-painter", "is not a worldgen.paint.base.Painter subclass"),
        ("makes-no-painter", "made str, not a worldgen.paint.base.Painter"),
    ],
)
def test_a_plugin_that_breaks_the_contract_gets_one_clear_line(plugin, tmp_path, painter, words):
    r = render(plugin, tmp_path / "out", painter)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"painter '{painter}'" in lines[0] and words in lines[0], lines[0]
