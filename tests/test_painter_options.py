"""Painter options are one typed model (worldgen.spec.painters.PainterOptions) merged in one
place (`merge_painter_options`): the spec's render.diffusion block under what the caller gives,
None never overriding, a value of the wrong type refused in one line; every option a built-in
painter reads is declared there."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from worldgen.spec.models import DiffusionSpec
from worldgen.spec.painters import PainterOptions, PainterOptionsError, merge_painter_options

ROOT = Path(__file__).resolve().parents[1]


def test_every_option_of_the_spec_block_is_a_typed_painter_option():
    spec_block = DiffusionSpec(
        base="m", controlnets={"depth": "d"}, weights={"depth": 0.5}, view_size=64, cache="c", motion_adapter="a"
    )
    assert set(DiffusionSpec.model_fields) <= set(PainterOptions.model_fields)
    assert PainterOptions.model_validate(spec_block.model_dump()).model_dump(
        exclude_none=True
    ) == spec_block.model_dump(exclude_none=True)


def test_every_option_a_painter_reads_is_declared():
    read = set()
    for path in sorted((ROOT / "worldgen" / "diffusion").glob("*.py")):
        read |= set(re.findall(r'\bo(?:\.get\(|\[)"([a-z_]+)"', path.read_text()))
    assert read and read <= set(PainterOptions.model_fields), read - set(PainterOptions.model_fields)


def test_layers_merge_spec_under_caller_and_none_overrides_nothing():
    spec_block = DiffusionSpec(base="spec-model", steps=30, refine=0.2)
    merged = merge_painter_options(spec_block, {"steps": 4, "refine": None, "device": None, "flavour": "plugin"})
    assert merged["steps"] == 4 and merged["refine"] == 0.2 and merged["base"] == "spec-model"
    assert merged["guidance"] == 7.5 and "device" in merged  # the spec block's defaults fill in
    assert merged["flavour"] == "plugin"  # a plugin painter's own option passes as given
    assert merge_painter_options(None, {"steps": 4, "cache": None}) == {"steps": 4}
    assert merge_painter_options({"base": "a"}, {"base": "b"}, {"base": None}) == {"base": "b"}
    assert merge_painter_options(spec_block, {}) == spec_block.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    "given, field",
    [
        ({"steps": "many"}, "steps"),
        ({"lighting": "dim"}, "lighting"),
        ({"weights": {"depth": "strong"}}, "weights.depth"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_in_one_line(given, field):
    with pytest.raises(PainterOptionsError, match=f"painter option '{re.escape(field)}'"):
        merge_painter_options(DiffusionSpec(), given)


def test_cli_refuses_a_bad_painter_option_in_one_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "worldgen: 1\nworld:\n  objects:\n    - {id: g, shape: plane, size: [4, 4]}\n"
        "shots:\n  - {id: a, duration: 0.25, camera: {move: static, position: [0, 1, 3], look_at: [0, 0, 0]}}\n"
    )
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "worldgen",
            "render",
            str(spec),
            "-o",
            str(tmp_path / "out"),
            "--painter",
            "baked",
            "--base-model",
            "m",
            "--lighting",
            "dim",
            "--no-store",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "painter option 'lighting'" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "out").exists()
