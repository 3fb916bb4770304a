"""Grounding a model's plan in the prompt (rules.ground): what each source supplied, the model
alone without grounding, and the failure classes found by hand on everyday prompts (two
objects for one, noun modifiers as looks, a colour on the wrong noun, an invented time of day).
The model here is scripted: these are tests of the code around it, not of the model."""

import json

import pytest
import yaml

from worldgen.plan.planner import make_plan, plan_spec
from worldgen.plan.rules import ground
from worldgen.plan.schema import Plan


class Scripted:
    """A backend that answers from a script."""

    name = "scripted"
    model_id = "script"

    def __init__(self, *answers):
        self.answers = [json.dumps(a) for a in answers]

    def complete(self, idea, feedback=""):
        return self.answers.pop(0)


def plan_data(objects, relations=(), motions=(), move="static", time="noon", setting="grass", subjects=()):
    return {
        "title": "t",
        "setting": setting,
        "time_of_day": time,
        "objects": [dict(zip(("name", "category", "appearance"), o)) for o in objects],
        "relations": [dict(zip(("subject", "relation", "object"), r)) for r in relations],
        "motions": [dict(zip(("subject", "direction"), m)) for m in motions],
        "shots": [{"description": "d", "move": move, "subjects": list(subjects), "duration": 4}],
    }


# what a small model wrote for the hand-tried prompt, in kind: the compound noun as the model
# spells it, the modifier as a look, the few-shot example's colour and sunset
STOP_SIGN = "a stop sign on the left of a parking meter, front view"
STOP_SIGN_ANSWER = plan_data(
    [("stop_sign", "stop sign", "stop"), ("parking_meter", "parking_meter", "red parking")],
    [("parking_meter", "left_of", "stop_sign")],
    time="sunset",
    setting="street",
)


def heads(plan):
    return [o.category.replace(" ", "_").split("_")[-1] for o in plan.objects]


@pytest.mark.parametrize("meter", ["parking_meter", "parking meter", "meter", "parking"])
def test_one_object_per_thing_named_with_a_compound_noun(meter):
    answer = plan_data([("stop_sign", "sign", ""), ("parking_meter", meter, "")])
    plan = make_plan(STOP_SIGN, Scripted(answer))
    assert sorted(heads(plan)) == ["meter", "sign"]  # not a second meter added from the prompt's words
    assert {o.category for o in plan.objects} == {"stop_sign", "parking_meter"}
    assert [o.name for o in plan.objects] == ["stop_sign", "parking_meter"]


def test_noun_modifiers_are_not_looks_and_colours_stay_where_the_prompt_puts_them():
    plan = make_plan(STOP_SIGN, Scripted(STOP_SIGN_ANSWER))
    looks = {o.category: o.appearance for o in plan.objects}
    assert looks == {"stop_sign": "", "parking_meter": ""}  # no 'stop', 'parking', nor the unstated 'red'
    plan = make_plan(
        "a stop sign next to a red parking meter",
        Scripted(plan_data([("stop_sign", "sign", "red"), ("parking_meter", "meter", "")])),
    )
    looks = {o.category: o.appearance for o in plan.objects}
    assert looks["parking_meter"] == "red" and "red" not in looks["stop_sign"]


def test_no_invented_time_of_day_setting_or_style():
    text, report = plan_spec(STOP_SIGN, backend=Scripted(STOP_SIGN_ANSWER), width=128, height=72, fps=12)
    spec = yaml.safe_load(text)
    assert report.plan["time_of_day"] == "noon" and "sunset" not in spec["style"]
    text, _ = plan_spec(
        "a tent at sunset", backend=Scripted(plan_data([("tent", "tent", "")])), width=128, height=72, fps=12
    )
    assert "sunset" in yaml.safe_load(text)["style"]  # what the prompt says still counts


def test_the_prompts_relation_wins_over_the_models_swapped_one():
    plan = make_plan(STOP_SIGN, Scripted(STOP_SIGN_ANSWER))
    rels = {(r.subject, r.relation, r.object) for r in plan.relations}
    assert rels == {("stop_sign", "left_of", "parking_meter")}


def test_provenance_counts_what_each_source_supplied():
    prov = {}
    answer = plan_data(
        [("bike", "bicycle", "red"), ("car", "car", "blue"), ("dog", "dog", "brown")],
        [("bike", "left_of", "car"), ("car", "next_to", "tree")],
        motions=[("car", "left")],
        move="orbit",
    )
    plan, _ = ground(
        Plan.model_validate(answer),
        "a red bicycle to the left of a blue car, a tree behind the car; the car drives to the left",
        prov,
    )
    # bicycle and car: the model's, confirmed by the prompt; tree: added from the prompt; dog: dropped
    assert prov["objects"] == {"model": 0, "both": 2, "rules": 1}
    assert sorted(o.name for o in plan.objects) == ["bike", "car", "tree"]
    # bike left_of car: both say it; tree behind car: the prompt only; 'car next_to tree' contradicts it: dropped
    assert prov["relations"] == {"model": 0, "both": 1, "rules": 1}
    assert prov["motions"] == {"model": 0, "both": 1, "rules": 0}
    # two sentences, two shots, and neither orbits: both moves are the prompt's
    assert prov["moves"] == {"model": 0, "both": 0, "rules": 2} and len(plan.shots) == 2
    # a relation only the model gives survives where the prompt states that kind for an unrelated pair
    prov = {}
    answer = plan_data(
        [("cup", "cup", ""), ("table", "table", ""), ("lamp", "lamp", "")],
        [("cup", "on_top_of", "table"), ("lamp", "next_to", "table")],
    )
    ground(
        Plan.model_validate(answer),
        "a cup on a table and a lamp; the lamp is near the table and far beyond anything else in this long sentence",
        prov,
    )
    assert prov["relations"]["model"] + prov["relations"]["both"] == 2


def test_no_grounding_takes_the_models_plan_as_written():
    hallucinated = plan_data(
        [("car", "car", "blue"), ("dog", "dog", "brown")], [("dog", "left_of", "car")], time="sunset", move="orbit"
    )
    prompt = "a car next to a bus"
    grounded = make_plan(prompt, Scripted(hallucinated))
    assert "dog" not in [o.name for o in grounded.objects] and "bus" in [o.name for o in grounded.objects]
    alone = make_plan(prompt, Scripted(hallucinated), grounding=False)
    assert [o.name for o in alone.objects] == ["car", "dog"] and alone.time_of_day == "sunset"
    assert alone.shots[0].move == "orbit"
    text, report = plan_spec(prompt, backend=Scripted(hallucinated), grounding=False, width=128, height=72, fps=12)
    assert (
        not report.grounded
        and report.provenance is None
        and any(line.startswith("# planner:") and "not grounded" in line for line in text.splitlines())
    )
    assert {o["id"] for o in yaml.safe_load(text)["world"]["objects"]} >= {"car", "dog"}
    text, report = plan_spec(prompt, backend=Scripted(hallucinated), width=128, height=72, fps=12)
    assert report.grounded and report.provenance["objects"]["rules"] == 1 and "not grounded" not in text


@pytest.mark.parametrize(
    "prompt,expect",
    [
        ("an orange on top of a laptop", {"orange", "laptop"}),  # a colour word as a noun
        ("a glass on the left of a baseball bat", {"glass", "baseball_bat"}),  # a material word as a noun
        ("a traffic light on the right of a motorcycle", {"traffic_light", "motorcycle"}),  # a shade word as a head
        ("a zorblat next to a bench", {"zorblat", "bench"}),  # an unknown noun still becomes an object
        ("a pair of skis next to a snowboard", {"ski", "snowboard"}),
    ],
)
def test_everyday_nouns_never_go_missing(prompt, expect):
    from worldgen.plan.rules import plan_from_text

    assert {o.category for o in plan_from_text(prompt).objects} == expect
    plan = make_plan(prompt, Scripted(plan_data([("thing", "thing", "")])))  # a model that names nothing useful
    assert {o.category for o in plan.objects} == expect


def test_cli_no_grounding_flag(tmp_path):
    """`worldgen plan --no-grounding` through an OpenAI-compatible server that always gives the
    same plan (a scripted one on loopback): the plan as written, or held to the prompt."""
    import http.server
    import subprocess
    import sys
    import threading

    answer = json.dumps(plan_data([("car", "car", "blue"), ("dog", "dog", "brown")], time="sunset"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        runs = {}
        for flag in ([], ["--no-grounding"]):
            out = tmp_path / f"s{len(flag)}.yaml"
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "worldgen",
                    "plan",
                    "a car next to a bus",
                    "-o",
                    str(out),
                    "--llm-url",
                    url,
                    *flag,
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert r.returncode == 0, r.stderr
            runs[bool(flag)] = (yaml.safe_load(out.read_text()), " ".join(r.stdout.split()))  # wrapping aside
    finally:
        server.shutdown()
    ids = {k: {o["id"] for o in spec["world"]["objects"]} for k, (spec, _) in runs.items()}
    assert "dog" in ids[True] and "bus" not in ids[True] and runs[True][0]["style"] == "sunset"
    assert "dog" not in ids[False] and "bus" in ids[False] and runs[False][0]["style"] == ""
    assert "the prompt's words alone: objects 0/1/1" in runs[False][1] and "prompt's words" not in runs[True][1]
