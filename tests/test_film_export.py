"""worldgen export of a film (format 2): the OTIO timeline with a nested sequence per scene
(clips linking each scene's rendered frames), a USD root stage referencing one layer per set,
and one glTF per set; each read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from worldgen.spec.film_loader import load_film

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT / "tests" / "films" / "two_sets.yaml"


def test_otio_has_a_sequence_per_scene_and_clips_link_the_scene_frames(tmp_path):
    otio = pytest.importorskip("opentimelineio")
    from worldgen.export.film_export import export_film
    from worldgen.render import RenderOptions
    from worldgen.render.film_render import render_film_spec

    from worldgen.spec.film_loader import load_film_text

    text = FILM.read_text()
    line = '        dialogue: [{character: mara, line: "The boat\'s still out."}]\n'
    assert line in text
    close = (
        "      - {id: s1_close, duration: 0.5, camera: {move: static, position: [0, 1.6, 3], look_at: [0, 1.4, 0]}}\n"
    )
    film = load_film_text(text.replace(line, line + close), str(FILM), base_dir=FILM.parent)  # s1: two shots
    out = tmp_path / "out"
    render_film_spec(film, out, RenderOptions(progress=False, use_store=False, passes=False))
    export_film(film, tmp_path / "f.otio", render_dir=out)
    tl = otio.adapters.read_from_file(str(tmp_path / "f.otio"))
    video = tl.tracks[0]
    stacks = [it for it in video if isinstance(it, otio.schema.Stack)]
    assert [s.name for s in stacks] == ["s1", "s2", "s3", "s4"]
    assert stacks[2].metadata["worldgen"]["wardrobe"] == {"mara": "coat", "tomas": "work"}
    clips = [c for s in stacks for c in s[0]]
    assert [[c.name for c in s[0]] for s in stacks] == [["s1_wide", "s1_close"], ["s2_wide"], ["s3_two"], ["s4_end"]]
    for c, scene in zip(clips, ["s1", "s1", "s2", "s3", "s4"]):
        ref = c.media_reference
        assert isinstance(ref, otio.schema.ImageSequenceReference)
        assert ref.target_url_base.endswith(f"/scenes/{scene}/shots/{c.name}/frames/")
        assert c.source_range.duration.value == (3 if c.name == "s1_close" else 6)
    assert tl.duration().value == 27  # the film's length: no title, credits or transitions here
    assert [t.name for t in tl.tracks[1:]] == ["dialogue", "music"]  # the film has dialogue
    # without a render the clips say what they expect
    from worldgen.export.film_export import film_timeline

    bare = film_timeline(film)
    assert all(isinstance(c.media_reference, otio.schema.MissingReference) for s in bare.tracks[0] for c in s[0])


def test_usd_root_references_one_layer_per_set(tmp_path):
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    from worldgen.export.film_export import export_film

    export_film(load_film(FILM), tmp_path / "film.usda")
    assert sorted(p.name for p in (tmp_path / "film.sets").iterdir()) == ["boathouse.usda", "wall.usda"]
    stage = Usd.Stage.Open(str(tmp_path / "film.usda"))
    assert [c.GetName() for c in stage.GetPrimAtPath("/Film").GetChildren()] == ["wall", "boathouse"]
    bench = stage.GetPrimAtPath("/Film/boathouse/bench")
    assert bench.IsValid() and not stage.GetPrimAtPath("/Film/wall/bench").IsValid()
    # the set as its first scene (s2) shows it: the bench where the set put it, the hook s2 added
    m = UsdGeom.Xformable(bench).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    assert np.allclose(np.array(m.ExtractTranslation()), (0, 0.45, -2))
    assert stage.GetPrimAtPath("/Film/boathouse/coat_hook").IsValid()
    assert not stage.GetPrimAtPath("/Film/boathouse/mara").IsValid()  # people belong to scenes
    info = stage.GetPrimAtPath("/Film/boathouse").GetCustomData()["worldgen"]
    assert list(info["scenes"]) == ["s2", "s3"] and list(info["changed"]["s3"]) == ["bench"]


def test_gltf_one_file_per_set(tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-m", "worldgen", "export", str(FILM), "--to", str(tmp_path / "film.glb")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "2 sets" in r.stdout
    names = {}
    for sid in ("wall", "boathouse"):
        doc = pygltflib.GLTF2().load(str(tmp_path / f"film.{sid}.glb"))
        names[sid] = {n.name for n in doc.nodes}
    assert {"ground", "crate", "post"} <= names["wall"] and "bench" not in names["wall"]
    assert {"floor", "bench", "lamp", "coat_hook"} <= names["boathouse"]
