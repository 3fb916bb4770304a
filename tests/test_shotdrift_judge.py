"""The shotdrift judge where it is valid: a truly still shot is HELD; a locked-off shot in which
objects move is not judged (shotdrift reads moving subjects as camera motion; see
worldgen/bench/shotdrift_judge.py), and the exact passes say how much of it moved."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from worldgen.bench import shotdrift_judge
from worldgen.bench.runner import BenchOptions, run_bench

pytest.importorskip("shotdrift")

# one static camera, two shots: the box crosses during the first second; the second shot starts
# after it stopped
SPEC = """
worldgen: 1
title: Judge validity
seed: 5
render: {width: 96, height: 64, fps: 12}
world:
  objects:
    - {id: floor, shape: plane, size: [20, 20], appearance: "grey and white checkered tiles"}
    - {id: wall, shape: box, size: [10, 4, 0.3], position: [0, 2, -3], appearance: "yellow and white stripes"}
    - id: box
      shape: box
      size: [1.4, 1.4, 1.4]
      appearance: "red and white checkered"
      motion:
        - {t: 0, position: [-3, 0.7, 0]}
        - {t: 1, position: [3, 0.7, 0]}
shots:
  - id: crossing
    duration: 1
    camera: {move: static, position: [0, 1.8, 6], look_at: [0, 1, -1], fov: 50}
  - id: still
    start: 1.2
    duration: 1
    camera: {move: static, position: [0, 1.8, 6], look_at: [0, 1, -1], fov: 50}
"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    spec = tmp_path_factory.mktemp("judge") / "judge.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip())
    results = run_bench([spec], ["procedural"], spec.parent / "out", BenchOptions(follow=False, report=False))
    crossing, still = results["scenes"][0]["methods"]["procedural"]["shots"]
    return crossing, still


def test_truly_static_shot_is_held(shots):
    _, still = shots
    assert still["static_camera"] and still["moving_share_max"] == 0.0 and still["still_share"] == 1.0
    assert still["camera_judge"]["verdict"] == shotdrift_judge.HELD, still["camera_judge"]
    assert still["flicker"] == 1.0  # nothing moves: VBench's flicker over every pixel, exactly 1


def test_locked_off_shot_with_moving_objects_is_not_judged(shots):
    crossing, _ = shots
    assert crossing["static_camera"] and crossing["moving_share_max"] > 0.05
    judged = crossing["camera_judge"]
    assert judged["expect"] == "static" and judged["verdict"] == shotdrift_judge.NOT_JUDGED, judged
    assert "moves on its own" in judged["detail"] and judged["moving_share"] == crossing["moving_share_max"]
    # flicker is still measured there, on the pixels where nothing moved
    assert crossing["flicker"] is not None and 0 < crossing["still_share"] < 1


def test_validity_rule():
    limit = shotdrift_judge.STATIC_MAX_MOVING_SHARE
    assert shotdrift_judge.valid_for("static", 0.0)[0] and shotdrift_judge.valid_for("static", limit)[0]
    assert not shotdrift_judge.valid_for("static", limit + 0.01)[0]
    assert not shotdrift_judge.valid_for("static", None)[0]  # unknown: a locked-off camera is not judged
    assert shotdrift_judge.valid_for("dolly-in", 0.9)[0]  # directional moves are judged everywhere
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    out = shotdrift_judge.judge(frames, {"move": "static"}, 12, moving_share=0.3)
    assert out["verdict"] == shotdrift_judge.NOT_JUDGED and "30.0%" in out["detail"]
