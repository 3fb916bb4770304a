"""Subjects kept in view: a shot whose subject is hidden behind another object is measured
frame by frame, warned about by `worldgen validate` and re-framed by the planner."""

import yaml
from typer.testing import CliRunner

from worldgen.cli import app
from worldgen.passes.visibility import WARN_FRACTION, spec_visibility
from worldgen.plan.planner import PlanReport, _gate, to_yaml
from worldgen.spec import load_spec_text
from worldgen.world import World

WALL = "{id: wall, shape: box, size: [2, 2, 0.3], position: [%s, 1, 5], appearance: grey}"
SPEC = """worldgen: 1
title: hidden ball
render: {width: 64, height: 36, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [40, 40], appearance: sand}
    - {id: ball, shape: sphere, radius: 0.5, position: [0, 1, 0], appearance: red}
    - WALL
shots:
  - id: look
    duration: 1
    camera: {move: static, position: [0, 1, 10], target: ball, fov: 30}
"""


def _spec(wall_x: float) -> str:
    return SPEC.replace("WALL", WALL % wall_x)


def _validate(tmp_path, text, *args):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return CliRunner().invoke(app, ["validate", str(p), *args])


def test_a_box_in_front_of_the_subject_is_a_located_warning_and_exit_0(tmp_path):
    r = _validate(tmp_path, _spec(0))
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("warning:"))
    assert "s.yaml:12: shots[0].camera:" in line  # the shot's camera line
    assert "'ball' is hidden behind 'wall'" in line and "12 of 12 frames" in line and "100%" in line


def test_the_box_moved_aside_gives_no_warning(tmp_path):
    r = _validate(tmp_path, _spec(4), "-v")
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output
    assert "shots[0] 'look': 'ball' is in view in all 12 frames" in r.output  # -v prints each shot


def test_a_wall_crossing_the_view_hides_the_subject_for_the_analytic_share_of_frames():
    """A 9 m wall halfway between camera and ball slides across at 12 m/s: most of the ball's
    rays are blocked while the wall's edge is past the sight line, |x| < 4.5 m, i.e. for
    0.625 s < t < 1.375 s of the 2 s shot: 9 of its 24 frames (not a multiple of the measuring
    stride, so the frames between measured ones must be refined at each change)."""
    text = (
        _spec(0)
        .replace(
            WALL % 0,
            "{id: wall, shape: box, size: [9, 4, 0.3], position: [-12, 2, 5], appearance: grey, "
            "motion: [{t: 0, position: [-12, 2, 5]}, {t: 2, position: [12, 2, 5]}]}",
        )
        .replace("duration: 1", "duration: 2")
    )
    spec = load_spec_text(text)
    (v,) = spec_visibility(spec, World(spec))
    assert v.frames == 24 and v.occluder == "wall"
    assert abs(v.hidden - 9) <= 1, v
    assert all(0.625 - 1 / 12 <= s <= 1.375 + 1 / 12 for s in v.hidden_times), v.hidden_times


def test_the_planner_reframes_a_hidden_subject():
    data = yaml.safe_load(_spec(0))
    report = PlanReport("rules")
    text = _gate(to_yaml(data, "a ball behind a wall", report), data, "a ball behind a wall", report)
    spec = load_spec_text(text)
    (v,) = spec_visibility(spec, World(spec))
    assert v.fraction <= WARN_FRACTION, v
    assert spec.shots[0].camera.position != (0, 1, 10)
    assert any("hidden behind 'wall'" in n for n in report.notes), report.notes


def test_a_close_up_or_over_the_shoulder_is_about_the_face_not_the_legs_under_the_table():
    """In the shipped conversation the table hides most of Sam's body from the over-the-shoulder
    camera, but not the face that shot is about: no warning."""
    from pathlib import Path

    from worldgen.camera import ShotCamera
    from worldgen.passes.visibility import VisibilityProbe, occlusion_warnings, shot_visibility
    from worldgen.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "scenes" / "conversation.yaml")
    world = World(spec)
    shot = spec.shot("over_june")
    r = spec.render
    probe = VisibilityProbe(world)
    cam = ShotCamera(shot, world, r.width, r.height).at(0.0)
    total, blocked, who = probe.blocked("sam", shot.start, cam)  # the whole body
    assert blocked > total / 2 and who == "table"
    v = shot_visibility(world, shot, 1, r.width, r.height, r.fps, probe)
    assert v.face and v.hidden == 0
    assert occlusion_warnings(spec, world) == []
