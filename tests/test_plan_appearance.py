"""The appearance judge of benchmarks/plan_quality.py: CIEDE2000 against published test pairs,
and the painted colour under an object's instance mask in a procedural frame."""

import pytest

from worldgen.plan.check import ciede2000, painted_colours, srgb_to_lab


@pytest.mark.parametrize(
    "lab1,lab2,expect",
    [  # Sharma, Wu and Dalal (2005), test data pairs 1, 2, 3, 7, 25, 34
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
        ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ],
)
def test_ciede2000_matches_published_pairs(lab1, lab2, expect):
    assert ciede2000(lab1, lab2) == pytest.approx(expect, abs=1e-4)
    assert ciede2000(lab2, lab1) == pytest.approx(expect, abs=1e-4)


def test_srgb_white_and_black_in_lab():
    assert srgb_to_lab((255, 255, 255)) == pytest.approx([100, 0, 0], abs=0.01)
    assert srgb_to_lab((0, 0, 0)) == pytest.approx([0, 0, 0], abs=0.01)


def test_the_painted_colour_under_each_mask_is_the_asked_one():
    from worldgen.plan.planner import plan_spec
    from worldgen.spec import load_spec_text
    from worldgen.world import World

    text, _ = plan_spec("a red bicycle to the left of a blue car", llm="none", width=160, height=90, fps=12)
    spec = load_spec_text(text, "<plan>")
    got = painted_colours(spec, World(spec), ["bicycle", "car"], 96, 54)
    assert got["bicycle"].judge("red")["ok"] and got["car"].judge("blue")["ok"]
    assert not got["car"].judge("red")["ok"] and got["car"].judge("red")["de00"] > 30
