"""Look development's inpainting: the mask reaches the latent grid the model paints on (every
latent cell holding an unpainted pixel is repainted whole, strips narrower than a cell too),
and unpainted pixels start from the hole-filled colours, not a flat grey."""

import numpy as np
import pytest

from worldgen.spec import load_spec_text
from worldgen.world import World

torch = pytest.importorskip("torch")

SCENE = """
worldgen: 1
seed: 2
render: {width: 64, height: 48, fps: 8}
world:
  objects:
    - {id: crate, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "wooden crate"}
shots:
  - {id: a, duration: 0.25, camera: {move: orbit, target: crate, radius: 3, height: 1.2, degrees: 40}}
"""
STRIP = slice(11, 14)  # 3 pixels wide, inside latent column 1 (pixels 8..15), off its sampled pixel 8


def cells_touched(todo, f=8):
    h, w = todo.shape
    return todo.reshape(h // f, f, w // f, f).any(axis=(1, 3))


def test_inpaint_mask_fills_whole_latent_cells():
    from worldgen.diffusion.lookdev import inpaint_mask

    rng = np.random.default_rng(0)
    todo = rng.random((64, 64)) > 0.97
    todo[:, STRIP] = True
    m = inpaint_mask(todo)
    cells = m.reshape(8, 8, 8, 8)
    assert np.array_equal(cells.all(axis=(1, 3)), cells_touched(todo)) and np.array_equal(
        cells.any(axis=(1, 3)), cells_touched(todo)
    )
    assert (m >= todo).all()
    # as diffusers shrinks it (nearest, one pixel per cell), the strip's cells stay masked
    latent = torch.nn.functional.interpolate(torch.from_numpy(m[None, None].astype(np.float32)), size=(8, 8))[0, 0]
    assert np.array_equal(latent.numpy() > 0.5, cells_touched(todo))
    odd = inpaint_mask(np.ones((20, 12), bool))  # sizes off the grid keep their shape
    assert odd.shape == (20, 12) and odd.all()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_sd15, tiny_controlnet_refs

    d = tmp_path_factory.mktemp("tiny")
    build_tiny_sd15(d / "m", controlnets=("depth",))
    return d / "m", tiny_controlnet_refs(d / "m")


def test_lookdev_inpaints_every_latent_cell_with_unpainted_pixels(tiny, monkeypatch):
    """The latent mask the inpainting pipeline actually uses (captured inside it) covers every
    latent cell that holds an unpainted pixel, a 3-px strip included."""
    import diffusers

    from worldgen.diffusion import lookdev
    from worldgen.diffusion.models import DiffusionModels, DiffusionSettings

    base, refs = tiny
    models = DiffusionModels(
        DiffusionSettings(base=str(base), controlnets={"depth": refs["depth"]}, device="cpu", steps=1)
    )
    seen, masks = [], []
    real_known = lookdev.known_view

    def known_with_strip(*a):
        img, todo = real_known(*a)
        todo = todo.copy()
        todo[:, STRIP] = True
        seen.append(todo)
        return img, todo

    monkeypatch.setattr(lookdev, "known_view", known_with_strip)
    cls = diffusers.StableDiffusionControlNetInpaintPipeline
    real_prepare = cls.prepare_mask_latents

    def capture(self, *a, **kw):
        out = real_prepare(self, *a, **kw)
        masks.append(out[0][0, 0].float().cpu().numpy())
        return out

    monkeypatch.setattr(cls, "prepare_mask_latents", capture)
    world = World(load_spec_text(SCENE, check=False))
    unit = lookdev.units_of(world)[0]
    s = lookdev.LookdevSettings(texture_size=32, view_size=64, views=2, steps=1)
    views = lookdev.choose_views(world, unit, world.spec.shots, 8, s)
    lookdev.paint_unit(world, unit, views, models, "wooden crate", s, 0)
    assert masks, "the second view was not inpainted"
    for todo, latent in zip(seen[1:], masks):
        need = cells_touched(todo)
        assert (latent[need] > 0.5).all(), np.argwhere(need & (latent <= 0.5))


def test_unpainted_pixels_start_from_the_hole_filled_colours():
    """Texels no view has painted yet show the colour pull-push filling gives them (here the
    only painted colour), not a flat grey that the inpainting would blend into and encode."""
    from worldgen.diffusion import lookdev
    from worldgen.diffusion.texture import texel_map

    world = World(load_spec_text(SCENE, check=False))
    unit = lookdev.units_of(world)[0]
    s = lookdev.LookdevSettings(texture_size=32, view_size=64, views=1)
    _, cam = lookdev.choose_views(world, unit, world.spec.shots, 8, s)[0]
    sv = lookdev.render_solo(world, unit, 0.0, cam)
    tex = lookdev.UnitTextures()
    oid = unit.oids[0]
    tex.maps[oid] = texel_map(world.nodes[oid].mesh, 32)
    tex.textures[oid] = np.full((32, 32, 3), 127, np.uint8)
    tex.weights[oid] = np.zeros((32, 32), np.float32)
    tex.textures[oid][:, :16] = (200, 30, 60)
    tex.weights[oid][:, :16] = 1.0
    img, todo = lookdev.known_view(world, unit, sv, tex)
    assert todo.any() and (sv.part >= 0)[~todo].any()
    assert (np.abs(img[todo].astype(int) - (200, 30, 60)) <= 1).all(), np.unique(img[todo].reshape(-1, 3), axis=0)[:5]
