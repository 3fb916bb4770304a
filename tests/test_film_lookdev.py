"""Look development is the film's, not the scene's: with the baked painter (tiny models built
from configs, no weights), a set and an outfit that appear in two scenes, by day and by night,
are painted once; the second scene reads every texture from the cache, and the continuity
report measures no appearance drift between them."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

FILM = """
worldgen: 2
seed: 1
render: {width: 64, height: 48, fps: 4}
style: "quiet"
cast:
  - id: ana
    wardrobe: {red: "red jumper, blue jeans"}
sets:
  - id: yard
    objects:
      - {id: ground, shape: plane, size: [10, 10], appearance: "green grass"}
      - {id: crate, shape: box, size: [1, 1, 1], position: [1.5, 0.5, 0], appearance: "wooden crate"}
scenes:
  - id: a
    set: yard
    time: day
    cast: [{id: ana, position: [0, 0, 0]}]
    shots: [{id: a1, duration: 0.5, camera: {move: static, position: [0, 1.5, 4], look_at: [0, 1, 0]}}]
  - id: b
    set: yard
    time: night
    cast: [{id: ana, position: [-0.5, 0, 0]}]
    shots: [{id: b1, duration: 0.5, camera: {move: static, position: [2, 1.5, 4], look_at: [0, 1, 0]}}]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_sd15, tiny_controlnet_refs

    d = tmp_path_factory.mktemp("tiny")
    build_tiny_sd15(d / "m", controlnets=("depth",))
    return d, tiny_controlnet_refs(d / "m")


def test_a_set_and_an_outfit_seen_in_two_scenes_are_painted_once(tiny, tmp_path):
    from worldgen.bench.continuity import continuity
    from worldgen.render import RenderOptions
    from worldgen.render.film_render import render_film_spec
    from worldgen.spec.film_loader import load_film_text

    d, refs = tiny
    options = {
        "base": str(d / "m"),
        "controlnets": {"depth": refs["depth"]},
        "steps": 2,
        "views": 2,
        "view_size": 64,
        "texture_size": 32,
        "part_texture_size": 16,
        "cache": str(tmp_path / "textures"),
        "lighting": "unlit",
    }
    film = load_film_text(FILM, "film.yaml")
    assert film.scenes[0].spec.style != film.scenes[1].spec.style  # 'night' is in b's style
    res = render_film_spec(
        film,
        tmp_path / "out",
        RenderOptions(painter="baked", painter_options=options, progress=False, film=False, use_store=False),
    )
    a, b = res.manifest["scenes"]
    assert {k: a["lookdev"][k] for k in ("units", "painted", "from_cache")} == {
        "units": 3,
        "painted": 3,
        "from_cache": 0,
    }
    assert a["lookdev"]["unet_evals"] > 0
    assert b["lookdev"]["painted"] == 0 and b["lookdev"]["from_cache"] == 3 and b["lookdev"]["unet_evals"] == 0
    assert res.manifest["lookdev"] == {"units": 6, "painted": 3, "from_cache": 3}
    assert len(list((tmp_path / "textures" / "textures").glob("*.png"))) == 2 + 18  # 2 props, 18 body parts
    # the same textures, so the same albedo in both scenes
    rep = continuity(film, "baked", options)
    assert rep.flags == [] and rep.appearance
    assert all(r["drift"] == 0.0 for r in rep.appearance)
