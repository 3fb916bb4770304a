"""Coverage of a dialogue scene (plan/coverage.py): establishing, two-shot, singles and
over-the-shoulders, every camera on one side of the line of action, every line on its speaker."""

import math

import numpy as np
import pytest
import yaml

from worldgen.camera import ShotCamera, frame_times
from worldgen.plan.coverage import MIN_LINE_SECONDS, WORDS_PER_SECOND, cover, plan_coverage
from worldgen.render.options import RenderOptions
from worldgen.render.orchestrate import render
from worldgen.spec import load_spec_text
from worldgen.spec.models import WorldSpec
from worldgen.world import World
from worldgen.world_checks import check_geometry

W, H, FPS = 64, 36, 6
WORLD = {
    "objects": [
        {"id": "ground", "shape": "plane", "size": [40, 40], "appearance": "sand"},
        {"id": "table", "shape": "box", "size": [1.0, 0.75, 0.8], "position": [0, 0.375, -0.9]},
        {"id": "tree", "shape": "cylinder", "radius": 0.4, "height": 4, "position": [3, 2, -4]},
    ],
    "characters": [
        {"id": "anna", "position": [-0.8, 0, 0], "facing": 90},
        {"id": "ben", "position": [0.8, 0, 0], "facing": -90},
    ],
}
LINES = [
    ("anna", "Did you see the boat come in?"),
    ("ben", "I did."),
    ("anna", "It was riding low in the water, like it was carrying something far heavier than fish tonight."),
    ("ben", "Then we should go down and look."),
]


def _spec(world, lines, **kw):
    data = {"worldgen": 1, "title": "talk", "render": {"width": W, "height": H, "fps": FPS}, "world": world}
    text = yaml.safe_dump(cover(data, lines, **kw), sort_keys=False)
    spec = load_spec_text(text, "<coverage>")
    return spec, World(spec)


@pytest.fixture(scope="module")
def two():
    return _spec(WORLD, LINES)


def _side(world, a, b, t, p):
    ha, hb = world.characters[a].head(t), world.characters[b].head(t)
    u = (hb - ha)[[0, 2]]
    d = (np.asarray(p) - ha)[[0, 2]]
    return u[0] * d[1] - u[1] * d[0]


def _all_on_one_side(spec, world, a, b):
    signs = set()
    for shot in spec.shots:
        rig = ShotCamera(shot, world, W, H)
        for s in frame_times(shot, FPS):
            side = _side(world, a, b, shot.start + s, rig.at(s).center)
            assert abs(side) > 1e-3, (shot.id, s, side)  # never on the line itself
            signs.add(side > 0)
    return signs


def test_every_camera_of_every_shot_stays_on_one_side_of_the_line_of_action(two):
    spec, world = two
    assert len(_all_on_one_side(spec, world, "anna", "ben")) == 1


def test_the_shots_are_establishing_two_shot_then_one_per_line_with_readable_ids(two):
    spec, _ = two
    assert [s.id for s in spec.shots] == [
        "establishing",
        "two_shot",
        "line02_ots_ben",
        "line03_close_up_anna",  # the long line gets a close-up
        "line04_ots_ben",
    ]
    moves = [s.camera.move for s in spec.shots]
    assert moves == ["static", "static", "over_the_shoulder", "close_up", "over_the_shoulder"]
    assert spec.shots[2].camera.over == "anna"
    # coverage runs in world time, shot after shot
    for a, b in zip(spec.shots, spec.shots[1:]):
        assert b.start == pytest.approx(a.start + a.duration, abs=1e-3)
    # deterministic: the same world and lines give the same shots
    data = {"worldgen": 1, "render": {"width": W, "height": H, "fps": FPS}, "world": WORLD}
    assert plan_coverage(data, LINES) == plan_coverage(WorldSpec.model_validate(WORLD), LINES, width=W, height=H)


def test_every_line_is_carried_by_a_shot_aimed_at_its_speaker(two):
    spec, _ = two
    carried = [(ln.character, ln.line, s) for s in spec.shots for ln in s.dialogue]
    assert [(c, t) for c, t, _ in carried] == LINES  # every line once, in order
    for who, _, shot in carried:
        assert shot.camera.target == who, shot.id


def test_the_subject_of_every_single_and_ots_is_inside_the_frame(two):
    spec, world = two
    singles = [s for s in spec.shots if s.camera.move in ("close_up", "over_the_shoulder")]
    assert len(singles) == 3
    for shot in singles:
        rig = ShotCamera(shot, world, W, H)
        for s in frame_times(shot, FPS):
            cam = rig.at(s)
            (u, v), z = (x[0] for x in cam.project(world.characters[shot.camera.target].head(shot.start + s)[None]))
            assert z > 0 and 0.1 * W < u < 0.9 * W and 0.05 * H < v < 0.95 * H, (shot.id, s, u, v)


def test_the_establishing_shot_and_the_two_shot_see_every_character(two):
    from worldgen.passes.visibility import VisibilityProbe

    spec, world = two
    probe = VisibilityProbe(world)
    for shot in spec.shots[:2]:
        rig = ShotCamera(shot, world, W, H)
        for s in frame_times(shot, FPS):
            cam = rig.at(s)
            for cid in ("anna", "ben"):
                uv, z = cam.project(world.characters[cid].pose(shot.start + s).keypoints)
                assert (z > 0).all() and (uv >= 0).all() and (uv[:, 0] < W).all() and (uv[:, 1] < H).all(), shot.id
                total, blocked, _ = probe.blocked(cid, shot.start + s, cam)
                assert total and blocked <= total / 2, (shot.id, cid)
    # and the establishing shot is the wide one: the tree at the edge of the set is in it too
    uv, z = ShotCamera(spec.shots[0], world, W, H).at(0).project(world.locate("tree", 0, "box")[1][None])
    assert z[0] > 0 and 0 <= uv[0, 0] < W


def test_the_expanded_spec_validates_and_renders(two, tmp_path):
    spec, world = two
    check_geometry(spec, world)
    res = render(
        spec,
        tmp_path / "out",
        RenderOptions(frames={s.id: [0] for s in spec.shots[:3]}, film=False, use_store=False, progress=False),
        world=world,
    )
    assert res.frames_rendered == 3
    assert len(list((tmp_path / "out").rglob("*.png"))) >= 3


def test_durations_come_from_the_words_with_a_minimum_and_a_given_estimate_wins():
    world = {"objects": WORLD["objects"], "characters": WORLD["characters"][:1]}
    shots = plan_coverage(
        world,
        [("anna", "one two three four five six seven eight nine ten"), {"speaker": "anna", "text": "Yes."},
         {"character": "anna", "line": "Well.", "duration": 4.0}],
        width=W, height=H,
    )  # fmt: skip
    d = [s["duration"] - 0.8 for s in shots[1:]]  # lead-in and tail
    assert d == pytest.approx([10 / WORDS_PER_SECOND, MIN_LINE_SECONDS, 4.0])


def test_one_character_gets_an_establishing_shot_and_close_ups_only():
    world = {"objects": WORLD["objects"], "characters": WORLD["characters"][:1]}
    spec, w = _spec(world, [("anna", "Hello?"), ("anna", "Is anyone there?")])
    assert [s.camera.move for s in spec.shots] == ["static", "close_up", "close_up"]
    assert [s.id for s in spec.shots] == ["establishing", "line01_close_up_anna", "line02_close_up_anna"]
    check_geometry(spec, w)


def test_three_characters_keep_the_axis_of_the_first_two_speakers():
    chars = WORLD["characters"] + [{"id": "cleo", "position": [0.2, 0, 1.3], "facing": 180}]
    lines = [("ben", "Who's there?"), ("cleo", "Only me."), ("anna", "Come and sit."), ("cleo", "Thank you.")]
    spec, world = _spec({**WORLD, "characters": chars}, lines, singles="ots")
    assert len(_all_on_one_side(spec, world, "ben", "cleo")) == 1
    for shot in spec.shots:
        for ln in shot.dialogue:
            assert shot.camera.target == ln.character
    check_geometry(spec, world)


def test_a_prefix_names_the_scene_and_a_start_places_it_in_world_time():
    shots = plan_coverage({"worldgen": 1, "world": WORLD}, LINES[:2], prefix="s2", start=12.5, width=W, height=H)
    assert [s["id"] for s in shots] == ["s2_establishing", "s2_two_shot", "s2_line02_ots_ben"]
    assert shots[0]["start"] == 12.5 and math.isclose(shots[1]["start"], 15.5)


def test_a_single_whose_face_an_object_hides_is_framed_another_way():
    """A post between the two hides each face from the over-the-shoulders: the singles turn to
    close-ups that keep to the side and show the face."""
    from worldgen.passes.visibility import spec_visibility

    post = {"id": "post", "shape": "cylinder", "radius": 0.1, "height": 2.0, "position": [0.3, 1.0, 0.15]}
    spec, world = _spec({**WORLD, "objects": WORLD["objects"] + [post]}, LINES, singles="ots")
    assert [s.camera.move for s in spec.shots[2:]] == ["close_up"] * 3
    assert [s.id for s in spec.shots[2:]] == ["line02_close_up_ben", "line03_close_up_anna", "line04_close_up_ben"]
    assert all(v.hidden == 0 for v in spec_visibility(spec, world))
    assert len(_all_on_one_side(spec, world, "anna", "ben")) == 1
