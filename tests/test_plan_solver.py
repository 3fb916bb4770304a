"""The solver on hand-made plans: every relation holds (view-dependent ones measured in the
main camera's rendered instance pass), nothing interpenetrates, everything rests on a support,
and the shots frame their subjects."""

import numpy as np
import pytest
import yaml

from worldgen.plan.check import first_frame, interpenetrations, relation_holds, unsupported
from worldgen.plan.schema import RELATIONS, Plan
from worldgen.plan.solver import solve
from worldgen.spec import load_spec_text
from worldgen.world_checks import check_geometry
from worldgen.world import World

PAIRS = {  # relation -> (subject category, object category)
    "left_of": ("bicycle", "car"),
    "right_of": ("dog", "bench"),
    "in_front_of": ("ball", "house"),
    "behind": ("tree", "car"),
    "on_top_of": ("cup", "table"),
    "under": ("cat", "table"),
    "inside": ("ball", "crate"),
    "next_to": ("chair", "table"),
    "facing": ("dog", "car"),
    "far_from": ("rock", "tower"),
}


def build(plan_data, **kw):
    spec_data, notes = solve(Plan.model_validate(plan_data), width=256, height=144, fps=12, **kw)
    text = yaml.safe_dump(spec_data, sort_keys=False)
    spec = load_spec_text(text, "<plan>")
    world = World(spec)
    check_geometry(spec, world)  # the spec's own gates: cameras clear of objects, targets in frame
    return spec, world, notes


def assert_holds(plan, skip=frozenset()):
    """Build the plan; every relation holds, nothing clashes, everything is supported."""
    spec, world, notes = build(plan)
    frame = first_frame(spec, world)
    for r in plan["relations"]:
        assert relation_holds(world, frame, r["subject"], r["relation"], r["object"]), r
    assert interpenetrations(world, skip=set(skip)) == []
    assert unsupported(world) == []
    return spec, world, notes


def two(cat_a, rel, cat_b, move="static"):
    return {
        "objects": [{"name": "a", "category": cat_a}, {"name": "b", "category": cat_b}],
        "relations": [{"subject": "a", "relation": rel, "object": "b"}],
        "shots": [{"move": move, "duration": 1}],
    }


@pytest.mark.parametrize("relation", RELATIONS)
def test_each_relation_holds(relation):
    cat_a, cat_b = PAIRS[relation]
    spec, world, notes = build(two(cat_a, relation, cat_b))
    assert notes == []
    frame = first_frame(spec, world)
    assert relation_holds(world, frame, "a", relation, "b") is True
    skip = {("a", "b")} if relation == "inside" else set()
    assert interpenetrations(world, skip=skip) == []
    assert unsupported(world) == []


def test_under_without_room_stacks_the_other_way():
    spec, world, _ = build(two("ball", "under", "box"))
    assert relation_holds(world, first_frame(spec, world), "a", "under", "b")
    assert world.nodes["b"].spec.parent == "a"  # the box rests on the ball


def test_view_dependent_relations_in_the_image():
    plan = {
        "objects": [
            {"name": n, "category": c}
            for n, c in [("car", "car"), ("bike", "bicycle"), ("tree", "tree"), ("dog", "dog"), ("bench", "bench")]
        ],
        "relations": [
            {"subject": "bike", "relation": "left_of", "object": "car"},
            {"subject": "tree", "relation": "behind", "object": "car"},
            {"subject": "dog", "relation": "in_front_of", "object": "car"},
            {"subject": "bench", "relation": "right_of", "object": "car"},
        ],
        "shots": [{"move": "orbit", "duration": 2}],
    }
    assert_holds(plan)


def test_stacks_rows_and_containers():
    plan = {
        "objects": [
            {"name": "table", "category": "table"},
            {"name": "cup", "category": "cup"},
            {"name": "book", "category": "book"},
            {"name": "vase", "category": "vase"},
            {"name": "crate", "category": "crate"},
            {"name": "apple", "category": "apple"},
            {"name": "cat", "category": "cat"},
        ],
        "relations": [
            {"subject": "cup", "relation": "on_top_of", "object": "table"},
            {"subject": "book", "relation": "on_top_of", "object": "table"},
            {"subject": "vase", "relation": "on_top_of", "object": "book"},
            {"subject": "apple", "relation": "inside", "object": "crate"},
            {"subject": "cat", "relation": "under", "object": "table"},
            {"subject": "crate", "relation": "next_to", "object": "table"},
        ],
        "shots": [{"move": "dolly_in", "duration": 1}],
    }
    assert_holds(plan, skip={("apple", "crate")})


def test_contradictions_are_reported_not_hidden():
    plan = two("bicycle", "left_of", "car")
    plan["relations"].append({"subject": "b", "relation": "left_of", "object": "a"})
    spec, world, notes = build(plan)
    assert any("could not satisfy" in n for n in notes)
    assert interpenetrations(world) == []


def test_motion_paths_stay_clear():
    plan = {
        "objects": [
            {"name": "car", "category": "car"},
            {"name": "house", "category": "house"},
            {"name": "tree", "category": "tree"},
        ],
        "relations": [{"subject": "tree", "relation": "right_of", "object": "house"}],
        "motions": [{"subject": "car", "direction": "right", "distance": 30}],
        "shots": [{"move": "track", "subjects": ["car"], "duration": 3}],
    }
    spec, world, notes = build(plan)
    times = np.linspace(0, 3, 13)
    assert interpenetrations(world, times=tuple(times)) == []
    assert world.nodes["car"].spec.motion is not None
    assert spec.shots[0].camera.move == "track" and spec.shots[0].camera.target == "car"


@pytest.mark.parametrize(
    "move",
    [
        "static",
        "orbit",
        "dolly_in",
        "dolly_out",
        "truck_left",
        "truck_right",
        "pedestal_up",
        "pedestal_down",
        "pan_left",
        "pan_right",
        "tilt_up",
        "tilt_down",
        "zoom_in",
        "zoom_out",
        "crane_up",
        "track",
    ],
)
def test_every_move_frames_its_subjects(move):
    spec, world, _ = build(two("car", "next_to", "tree", move))
    shot = spec.shots[0]
    from worldgen.camera import ShotCamera

    rig = ShotCamera(shot, world, 256, 144)
    for s in (0.0, shot.duration / 2, shot.duration):
        cam = rig.at(s)
        for oid in ("a", "b") if move != "track" else ("a",):
            uv, z = cam.project(world.position(oid, shot.start + s)[None])
            assert z[0] > 0 and 0 <= uv[0, 0] < 256 and 0 <= uv[0, 1] < 144, (move, oid, s)


def test_same_plan_same_spec():
    a, _ = solve(Plan.model_validate(two("bicycle", "left_of", "car", "orbit")), seed=3)
    b, _ = solve(Plan.model_validate(two("bicycle", "left_of", "car", "orbit")), seed=3)
    assert a == b


def test_several_objects_share_the_space_under_a_table():
    plan = {
        "objects": [
            {"name": "table", "category": "table"},
            {"name": "cat", "category": "cat"},
            {"name": "dog", "category": "dog"},
        ],
        "relations": [
            {"subject": "cat", "relation": "under", "object": "table"},
            {"subject": "dog", "relation": "under", "object": "table"},
        ],
        "shots": [{"move": "static", "duration": 1}],
    }
    assert_holds(plan)
