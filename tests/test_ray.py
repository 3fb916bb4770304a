"""The render farm on a local Ray instance: the same bytes as a local render, and a worker
killed mid-render costs nothing (Ray retries its task; finished frames are kept)."""

import os
import signal
import threading
import time

import pytest

from conftest import output_digest

ray = pytest.importorskip("ray")

SPEC = """
worldgen: 1
title: farm
seed: 2
render: {width: 80, height: 48, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "grass"}
    - {id: hut, shape: box, size: [2, 2, 2], position: [0, 1, 0], appearance: "red brick"}
    - id: ball
      shape: sphere
      radius: 0.4
      appearance: "yellow"
      motion: [{t: 0, position: [-3, 0.4, 2]}, {t: 3, position: [3, 0.4, 2]}]
shots:
  - {id: wide, duration: 3, camera: {move: orbit, target: hut, radius: 9, height: 3, degrees: 60}}
  - {id: close, duration: 1, camera: {move: track, target: ball, offset: [0, 1, 4]}}
"""


digest = output_digest


def test_ray_render_survives_a_killed_worker_and_matches_local(tmp_path, monkeypatch):
    from worldgen.render import RenderOptions, render
    from worldgen.spec import load_spec_text

    spec = load_spec_text(SPEC, check=False)
    local = render(spec, tmp_path / "local", RenderOptions(progress=False, use_store=False))
    pids = tmp_path / "pids"
    monkeypatch.setenv("WORLDGEN_TASK_PIDS", str(pids))
    killed = []

    def kill_first_worker():
        deadline = time.time() + 180
        while time.time() < deadline and not killed:
            notes = sorted(pids.glob("*")) if pids.exists() else []
            if notes:
                pid = int(notes[0].read_text())
                time.sleep(0.5)  # let it get into its frames
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    t = threading.Thread(target=kill_first_worker, daemon=True)
    t.start()
    farm = render(
        spec, tmp_path / "farm", RenderOptions(progress=False, use_store=False, executor="ray", ray_workers=2)
    )
    t.join(5)
    assert killed, "no worker was killed"
    assert farm.frames_rendered == 48 and local.frames_rendered == 48
    assert len({p.read_text() for p in pids.glob("*")}) >= 2  # the killed task ran again elsewhere
    assert digest(tmp_path / "farm") == digest(tmp_path / "local")
