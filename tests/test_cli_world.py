"""The CLI checks a spec's world and then renders that same world: one World per command."""

from typer.testing import CliRunner

import worldgen.world
from worldgen.cli import app

TINY = """
worldgen: 1
title: tiny
seed: 1
render: {width: 32, height: 18, fps: 4}
world:
  objects:
    - {id: ground, shape: plane, size: [10, 10], appearance: "grass"}
    - {id: box, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "red"}
shots:
  - {id: a, duration: 0.5, camera: {move: orbit, target: box, radius: 5, height: 2, degrees: 10}}
"""


def test_passes_builds_the_world_once(tmp_path, monkeypatch):
    built = []

    class Counted(worldgen.world.World):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(worldgen.world, "World", Counted)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    r = CliRunner().invoke(app, ["passes", str(spec), "-o", str(tmp_path / "out"), "--no-store", "-q", "--no-control"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert len(built) == 1  # checked by world_checks, then rendered
