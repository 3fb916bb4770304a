"""The rule reader on wording its word classes cover but no phrase list spelled out (degree
words, synonyms, inverted sentences, other motion and camera verbs), words it must not
misread, and what the solver makes of everyday pairs as seen from the camera."""

import pytest
import yaml

from worldgen.plan.rules import plan_from_text


def rels(prompt):
    return {(r.subject, r.relation, r.object) for r in plan_from_text(prompt).relations}


@pytest.mark.parametrize(
    "prompt,expect",
    [
        ("a bicycle parked just to the left-hand side of a car", ("bicycle", "left_of", "car")),
        ("a horse waiting a little to the right of a barrel", ("horse", "right_of", "barrel")),
        ("to the left of a house stands a tree", ("tree", "left_of", "house")),  # inverted
        ("a ball lying just ahead of a house", ("ball", "in_front_of", "house")),
        ("a cat at the very front of the piano", ("cat", "in_front_of", "piano")),  # a degree word inside the phrase
        ("a cow grazing on the far side of the fence", ("cow", "behind", "fence")),
        ("a tower rising beyond a wall", ("tower", "behind", "wall")),
        ("a cup sitting on the very top of a table", ("cup", "on_top_of", "table")),
        ("a bench with a dog lying below it", ("dog", "under", "bench")),  # 'it' refers back
        ("an apple tucked into a basket", ("apple", "inside", "basket")),
        ("a dog resting at the side of a tree", ("dog", "next_to", "tree")),
        ("a bicycle leaning right against a streetlight", ("bicycle", "next_to", "streetlight")),
        ("a dog turned to face a cat", ("dog", "facing", "cat")),
        ("a tent pitched a long way from a campfire", ("tent", "far_from", "campfire")),
        ("a house standing distant from a tower", ("house", "far_from", "tower")),  # 'standing' is a verb here
    ],
)
def test_relations_in_other_words(prompt, expect):
    assert rels(prompt) == {expect}


@pytest.mark.parametrize(
    "prompt,move",
    [
        ("a car while the camera revolves around it", "orbit"),
        ("a cabin as the camera glides closer", "dolly_in"),
        ("a boat, and the camera backs away from it", "dolly_out"),
        ("a statue; the camera sidesteps to the left", "truck_left"),
        ("a tower as the camera ascends", "pedestal_up"),
        ("a bench while the camera drops lower", "pedestal_down"),
        ("a lighthouse, the camera swivels to the right", "pan_right"),
        ("a fountain and the camera looks downward", "tilt_down"),
        ("a red car and the lens punches in", "zoom_in"),
        ("a cabin, the view widens out", "zoom_out"),
        ("a dog trots along and the camera keeps pace with it", "track"),
    ],
)
def test_camera_moves_in_other_words(prompt, move):
    assert plan_from_text(prompt).shots[0].move == move


@pytest.mark.parametrize(
    "prompt,expect",
    [
        ("a dog dashes toward a tree", ("dog", "toward", "tree")),
        ("a boat glides away from a lighthouse", ("boat", "away", "lighthouse")),
        ("a man strolls over to a statue", ("man", "toward", "statue")),
        ("a horse gallops to the left", ("horse", "left", None)),
        ("a robot marches leftward", ("robot", "left", None)),
    ],
)
def test_motions_in_other_words(prompt, expect):
    assert [(m.subject, m.direction, m.target) for m in plan_from_text(prompt).motions] == [expect]


@pytest.mark.parametrize(
    "prompt,absent",
    [
        ("a man strolls over to a statue", ("man", "on_top_of", "statue")),  # 'over to' is a motion, not 'on'
        ("a robot walks away from a tower", ("robot", "far_from", "tower")),  # a motion, not where it stands
    ],
)
def test_motion_words_are_not_relations(prompt, absent):
    assert absent not in rels(prompt)


def test_nouns_are_not_camera_moves_and_the_camera_is_not_a_mover():
    p = plan_from_text("a truck to the left of a crane")
    assert p.shots[0].move == "static" and {o.category for o in p.objects} == {"truck", "crane"}
    p = plan_from_text("a cabin as the camera glides closer")
    assert p.motions == [] and p.shots[0].move == "dolly_in"


def spec_of(prompt):
    from worldgen.plan.planner import plan_spec
    from worldgen.spec import load_spec_text
    from worldgen.world import World

    text, _ = plan_spec(prompt, llm="none", width=160, height=90, fps=12)
    spec = load_spec_text(text, "<plan>")
    return spec, World(spec)


@pytest.mark.parametrize(
    "prompt,a,rel,b",
    [
        ("a stop sign on the left of a parking meter, front view", "stop_sign", "left_of", "parking_meter"),
        ("a fire hydrant on the right of a bench", "fire_hydrant", "right_of", "bench"),
    ],
)
def test_left_and_right_as_the_camera_sees_them(prompt, a, rel, b):
    """Screen left is image x decreasing in the main camera's first frame."""
    import numpy as np

    from worldgen.plan.check import first_frame, relation_holds

    spec, world = spec_of(prompt)
    frame = first_frame(spec, world)
    assert relation_holds(world, frame, a, rel, b) is True
    xs = {o: np.nonzero(frame.passes.instance == world.nodes[o].instance)[1].mean() for o in (a, b)}
    assert (xs[a] < xs[b]) == (rel == "left_of")


@pytest.mark.parametrize(
    "prompt,front,rear",
    [
        ("a toilet behind a sink", "sink", "toilet"),  # the sink is wider and taller than the toilet
        ("a clock behind a vase", "vase", "clock"),
    ],
)
def test_depth_relations_keep_both_objects_in_view(prompt, front, rear):
    import numpy as np

    from worldgen.plan.check import first_frame, relation_holds

    spec, world = spec_of(prompt)
    frame = first_frame(spec, world)
    seen = {o: int(np.sum(frame.passes.instance == world.nodes[o].instance)) for o in (front, rear)}
    assert seen[rear] >= 20 and seen[front] >= 20, seen
    assert relation_holds(world, frame, rear, "behind", front) is True


def test_a_still_camera_does_not_follow_a_mover():
    from worldgen.camera import ShotCamera
    from worldgen.plan.check import classify_move

    spec, world = spec_of("a horse gallops to the left")
    shot = spec.shots[0]
    assert classify_move(ShotCamera(shot, world, 160, 90), world, shot.duration) == "static"
    assert yaml.safe_load(spec.model_dump_json())["shots"][0]["camera"].get("target") is None
