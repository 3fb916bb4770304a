"""Models paint at the size they were trained at (SDXL ~1024, SD1.5 ~512; the tiny test models
64), whatever the frame or view size, and pipelines made from the loaded one keep its dtype."""

import numpy as np
import pytest

from worldgen.diffusion.models import paint_size
from worldgen.spec import load_spec_text

torch = pytest.importorskip("torch")

SCENE = """
worldgen: 1
seed: 4
render: {width: 128, height: 96, fps: 8}
world:
  objects:
    - {id: crate, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "wooden crate"}
shots:
  - {id: a, duration: 0.125, camera: {move: static, position: [2, 1.5, 3], look_at: [0, 0.5, 0]}}
"""


def test_paint_size_follows_the_models_pixel_count():
    assert paint_size(512, 512, 1024) == (1024, 1024)  # SDXL asked for a 512 view or frame
    assert paint_size(1024, 576, 1024) == (1024, 576)  # near its pixel count: as it is
    assert paint_size(1280, 720, 512) == (680, 384)  # SD1.5 asked for 720p
    assert paint_size(640, 480, 512) == (640, 480)
    assert paint_size(128, 96, 64) == (72, 56)  # the tiny models
    w, h = paint_size(1920, 1080, 1024)
    assert w % 8 == 0 and h % 8 == 0 and abs(w / h - 16 / 9) < 0.02


@pytest.fixture(scope="module")
def tiny_xl(tmp_path_factory):
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_sdxl, tiny_controlnet_refs

    d = tmp_path_factory.mktemp("tinyxl")
    build_tiny_sdxl(d / "m", controlnets=("depth",))
    return d, tiny_controlnet_refs(d / "m")


@pytest.fixture
def unet_sizes():
    """(models -> list of the latent sizes its UNet is called with), hooks removed afterwards."""
    handles = []

    def watch(models):
        sizes = []
        handles.append(
            models.loaded.pipe.unet.register_forward_pre_hook(lambda m, args: sizes.append(tuple(args[0].shape[-2:])))
        )
        return sizes

    yield watch
    for h in handles:
        h.remove()


def test_sdxl_paints_views_and_frames_at_its_own_size(tiny_xl, tmp_path, unet_sizes):
    """The UNet of a (tiny) SDXL model sees latents of its own size: look-development views
    default to it (64 px: 8 x 8 latents, not the former fixed 512 px), and a 128 x 96 frame
    of a per-frame baseline is painted at 72 x 56 (its pixel count scaled to 64^2) and
    resampled to 128 x 96."""
    from PIL import Image

    from worldgen.diffusion.baked import models_for
    from worldgen.render import RenderOptions, render

    d, refs = tiny_xl
    o = {
        "base": str(d / "m"),
        "controlnets": {"depth": refs["depth"]},
        "steps": 1,
        "views": 1,
        "texture_size": 32,
        "cache": str(tmp_path / "cache"),
        "device": "cpu",
    }
    sizes = unet_sizes(models_for(o))
    spec = load_spec_text(SCENE, check=False)
    res = render(
        spec, tmp_path / "pf", RenderOptions(painter="per-frame", painter_options=o, progress=False, film=False)
    )
    assert sizes and set(sizes) == {(7, 9)}, sizes
    frame = np.asarray(Image.open(tmp_path / "pf" / res.manifest["shots"][0]["frames"][0]["frame"]))
    assert frame.shape == (96, 128, 3)
    sizes.clear()
    render(spec, tmp_path / "bk", RenderOptions(painter="baked", painter_options=o, progress=False, film=False))
    assert sizes and set(sizes) == {(8, 8)}, sizes


def test_pipelines_made_from_the_loaded_one_keep_its_dtype(tmp_path):
    """diffusers' from_pipe casts the new pipeline, and so the UNet, VAE and ControlNets it
    shares with the loaded one, to float32 unless told the dtype: an fp16 or bf16 model would
    silently turn float32 (or fail on mixed dtypes) once look development inpaints."""
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from worldgen.diffusion.models import DiffusionModels, DiffusionSettings
    from support.tiny import build_tiny_sd15, tiny_controlnet_refs

    build_tiny_sd15(tmp_path / "m", controlnets=("depth",))
    m = DiffusionModels(
        DiffusionSettings(
            base=str(tmp_path / "m"),
            controlnets=tiny_controlnet_refs(tmp_path / "m"),
            device="cpu",
            dtype="bf16",
            steps=1,
        )
    )
    for task in ("inpaint", "img2img"):
        p = m.pipe(task)
        assert p.unet is m.loaded.pipe.unet
        assert m.loaded.pipe.unet.dtype == m.loaded.pipe.vae.dtype == m.loaded.pipe.controlnet.dtype == torch.bfloat16
