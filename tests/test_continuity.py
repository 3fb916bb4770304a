"""worldgen continuity: layout drift exactly 0 unless a scene moved a prop (and then it names
the scene), appearance drift 0 for the same outfit, and undeclared changes flagged, whether
in the layout or in the colours the painter gives a character."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from worldgen.bench.continuity import body_region, continuity, markdown
from worldgen.spec.film_loader import load_film

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT / "tests" / "films" / "two_sets.yaml"


def _rows(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def test_a_declared_move_is_the_only_drift_and_names_its_scene():
    rep = continuity(load_film(FILM))
    assert rep.flags == []
    moved = [r for r in rep.layout if r["status"] != "same"]
    assert len(moved) == 1
    bench = moved[0]
    assert (bench["prop"], bench["scene"], bench["previous_scene"], bench["declared_by"]) == ("bench", "s3", "s2", "s3")
    assert abs(bench["translation_m"] - 1.0) < 1e-9 and bench["status"] == "declared"
    # every other set piece of a revisited set stands exactly where it stood
    same = [r for r in rep.layout if r["status"] == "same"]
    assert {r["prop"] for r in same} >= {"ground", "crate", "post", "floor", "lamp", "coat_hook"}
    assert all(r["pose_delta"] == 0.0 for r in same)


def test_same_outfit_same_albedo_and_the_declared_change_is_seen():
    rep = continuity(load_film(FILM))
    chars = _rows(rep.appearance, kind="character")
    same_outfit = [r for r in chars if r["outfit"] == r["previous_outfit"]]
    assert same_outfit and all(r["drift"] == 0.0 for r in same_outfit)  # procedural: by construction
    change = {r["region"]: r for r in _rows(chars, id="mara", scene="s3")}
    assert change["torso"]["drift"] > 10 and change["torso"]["status"] == "declared"  # oilskin -> blue coat
    assert change["head"]["drift"] == 0.0  # the body never changes with the clothes
    assert all(r["drift"] == 0.0 for r in _rows(rep.appearance, kind="prop"))
    table = rep.wardrobe["cast"]
    assert [c["outfit"] for c in table["mara"]] == ["oilskin", "oilskin", "coat", "coat"]
    assert [c["changed"] for c in table["mara"]] == [False, False, True, False]
    assert [c["outfit"] for c in table["tomas"]] == ["work", None, "work", None]


def test_a_prop_moved_behind_the_specs_back_is_flagged():
    film = load_film(FILM)
    crate = next(o for o in film.scenes[3].spec.world.objects if o.id == "crate")
    object.__setattr__(crate, "position", (1.5, 0.2, 0.3))  # s4 corrupted in memory: no scene said so
    rep = continuity(film)
    bad = _rows(rep.layout, prop="crate", scene="s4")[0]
    assert bad["status"] == "undeclared" and abs(bad["translation_m"] - 0.3) < 1e-9
    assert any("'crate'" in f and "'s4'" in f for f in rep.flags)


def test_a_character_repainted_behind_the_specs_back_is_flagged():
    """s4 keeps mara's coat (no change declared), but its expanded spec is corrupted to a red
    coat: the painter's albedo of her torso differs from s3's and the checker says so."""
    film = load_film(FILM)
    mara = next(c for c in film.scenes[3].spec.world.characters if c.id == "mara")
    object.__setattr__(mara, "appearance", mara.appearance.replace("blue", "red"))
    rep = continuity(film)
    torso = _rows(rep.appearance, id="mara", scene="s4", region="torso")[0]
    assert torso["drift"] > 10 and torso["status"] == "undeclared"
    assert _rows(rep.appearance, id="mara", scene="s4", region="head")[0]["drift"] == 0.0
    assert any(f.startswith("appearance: character 'mara' (torso)") for f in rep.flags)
    assert rep.wardrobe["cast"]["mara"][3].get("undeclared")
    assert "**UNDECLARED**" in markdown(rep)


def test_body_regions():
    assert [body_region(p) for p in ("m/head", "m/hair", "m/torso", "m/forearm_l", "m/shin_r", "m/foot_l")] == [
        "head",
        "head",
        "torso",
        "arms",
        "legs",
        "legs",
    ]


def test_cli_writes_the_report_and_refuses_a_format_1_spec(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "worldgen", "continuity"]
    r = subprocess.run(cmd + [str(FILM), "-o", str(tmp_path)], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "| mara | oilskin | oilskin | coat (changed) | coat |" in r.stdout
    data = json.loads((tmp_path / "continuity.json").read_text())
    assert data["ok"] and (tmp_path / "continuity.md").read_text() == r.stdout
    spec1 = ROOT / "scenes" / "lighthouse.yaml"
    r = subprocess.run(cmd + [str(spec1)], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and "not a film spec" in r.stderr and "Traceback" not in r.stderr


def test_bench_of_a_film_has_the_continuity_section(tmp_path):
    from worldgen.bench.runner import BenchOptions, run_bench

    results = run_bench([FILM], ["procedural"], tmp_path, BenchOptions(progress=False, video=False))
    assert results["scenes"] == [] and results["continuity"][0]["ok"]
    text = (tmp_path / "results.md").read_text()
    assert "## Continuity: Two sets" in text and "| mara | oilskin | oilskin | coat (changed) | coat |" in text
    assert json.loads((tmp_path / "results.json").read_text())["continuity"][0]["scenes"] == ["s1", "s2", "s3", "s4"]


def test_two_sets_may_each_have_a_prop_of_the_same_name():
    """A 'lamp' on the harbour wall and another in the boathouse are two props: their looks are
    compared within each set, never with each other."""
    text = FILM.read_text().replace(
        '      - {id: post, shape: cylinder, radius: 0.15, height: 1.0, position: [-2, 0.5, -1], appearance: "dark wood"}',
        '      - {id: post, shape: cylinder, radius: 0.15, height: 1.0, position: [-2, 0.5, -1], appearance: "dark wood"}\n'
        '      - {id: lamp, shape: box, size: [0.3, 1.2, 0.3], position: [3, 0.6, -1], appearance: "red iron"}',
    )
    assert text.count("id: lamp,") == 2
    from worldgen.spec.film_loader import load_film_text

    rep = continuity(load_film_text(text, "f.yaml", base_dir=FILM.parent))
    assert rep.flags == []
    lamps = _rows(rep.appearance, kind="prop", id="lamp")
    assert lamps and all(r["drift"] == 0.0 for r in lamps)
