"""Latents carried along the exact flow, and keyframe attention on a tiny UNet."""

import numpy as np
import pytest

from worldgen.compat import torchvision_importable

torchvision_importable()  # before diffusers is imported anywhere below

import torch  # noqa: E402

from support import tiny  # noqa: E402
from worldgen.diffusion.temporal import (  # noqa: E402
    KeyframeProcessor,
    install_keyframe_attention,
    uninstall,
    warp_latents,
)

F = 8


def uniform_flow(h, w, dx, dy):
    flow = np.zeros((h * F, w * F, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def numbered_latents(h=4, w=6, channels=2):
    return torch.arange(channels * h * w, dtype=torch.float32).reshape(1, channels, h, w) ** 1.5


# --- warp_latents -------------------------------------------------------------------------------


def test_whole_latent_flow_shifts_exactly_and_masks_what_came_from_outside():
    prev = numbered_latents()
    occlusion = np.zeros((32, 48), np.uint8)
    occlusion[8:16, 16:24] = 1  # latent pixel (1, 2): hidden in the previous frame
    warped, mask = warp_latents(prev, uniform_flow(4, 6, -8, 8), occlusion)  # it was one left, one down
    assert torch.equal(warped[0, :, :3, 1:], prev[0, :, 1:, :5])
    expected = torch.ones(4, 6)
    expected[:, 0] = 0  # came from left of the image
    expected[3, :] = 0  # came from below it
    expected[1, 2] = 0
    assert torch.equal(mask[0, 0], expected)
    assert mask.shape == (1, 1, 4, 6) and warped.shape == prev.shape


def test_sub_pixel_flow_is_bilinear():
    prev = torch.randn(1, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    warped, mask = warp_latents(prev, uniform_flow(5, 7, 2.0, 6.0), np.zeros((40, 56), np.uint8))
    fx, fy = 2.0 / F, 6.0 / F
    p = prev[0]
    expected = (
        p[:, :-1, :-1] * (1 - fx) * (1 - fy)
        + p[:, :-1, 1:] * fx * (1 - fy)
        + p[:, 1:, :-1] * (1 - fx) * fy
        + p[:, 1:, 1:] * fx * fy
    )
    assert torch.allclose(warped[0, :, :-1, :-1], expected, atol=1e-6)
    assert mask[0, 0, :-1].all()
    assert not mask[0, 0, -1].any()  # 0.75 latent pixels below the last row: outside the previous image


def test_flow_is_taken_at_the_latent_pixel_centre():
    """A zoom about image point (cx, cy): the flow at latent pixel centre (8j + 3.5, 8i + 3.5)
    decides where it samples."""
    h, w, a, cx, cy = 4, 4, 0.25, 10.0, 13.0
    y, x = np.indices((h * F, w * F), dtype=np.float32)
    flow = np.stack([a * (x - cx), a * (y - cy)], -1)
    prev = torch.linspace(0, 1, 16).reshape(1, 1, 4, 4) + torch.linspace(0, 10, 4).reshape(1, 1, 4, 1)
    warped, _ = warp_latents(prev, flow, np.zeros((h * F, w * F), np.uint8))
    i, j = 1, 1
    centre_x, centre_y = F * j + (F - 1) / 2, F * i + (F - 1) / 2
    lx, ly = j + a * (centre_x - cx) / F, i + a * (centre_y - cy) / F
    x0, y0 = int(np.floor(lx)), int(np.floor(ly))
    tx, ty = lx - x0, ly - y0
    p = prev[0, 0]
    expected = (
        p[y0, x0] * (1 - tx) * (1 - ty)
        + p[y0, x0 + 1] * tx * (1 - ty)
        + p[y0 + 1, x0] * (1 - tx) * ty
        + p[y0 + 1, x0 + 1] * tx * ty
    )
    assert torch.allclose(warped[0, 0, i, j], expected, atol=1e-6)


def test_mask_needs_the_centre_and_most_of_the_footprint():
    prev = numbered_latents(2, 2, 1)
    occlusion = np.zeros((16, 16), np.uint8)
    occlusion[0:2, 0:2] = 1  # latent (0, 0): a corner hidden -> still carried
    occlusion[3:5, 11:13] = 1  # latent (0, 1): its centre hidden -> not carried
    occlusion[8:16, 8:13] = 1  # latent (1, 1): most of it hidden -> not carried
    _, mask = warp_latents(prev, uniform_flow(2, 2, 0, 0), occlusion)
    assert mask[0, 0].tolist() == [[1, 0], [1, 0]]


def test_passes_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError, match="latents"):
        warp_latents(numbered_latents(4, 6), uniform_flow(4, 5, 0, 0), np.zeros((32, 40), np.uint8))


def _majority_every_block(ids, visible):
    """The majority rule scored on every footprint, mixed or not (how it was first written)."""
    same = ids[..., :, None] == ids[..., None, :]
    k = ids.shape[-1]
    score = (same & visible[..., None, :]).sum(-1) * (k + 1) + same.sum(-1)
    return ids == np.take_along_axis(ids, score.argmax(-1)[..., None], -1)


@pytest.mark.parametrize("seed", range(4))
def test_majority_scored_on_mixed_footprints_only_is_the_full_rule(seed):
    """Scoring only the footprints that hold several ids gives what scoring all of them gives,
    on id maps with large uniform regions, silhouettes, ties and invisible pixels."""
    from worldgen.diffusion.temporal import footprints, majority_members

    rng = np.random.default_rng(seed)
    h, w = 6 * F, 5 * F
    ids = np.repeat(np.repeat(rng.integers(0, 3, (h // F, w // F)), F, 0), F, 1)  # uniform footprints above
    low = ids[h // 2 :]
    low[:] = np.repeat(np.repeat(rng.integers(0, 3, (h // 8, w // 4)), 4, 0), 4, 1)  # silhouettes below
    low[rng.random(low.shape) < 0.05] = 7  # and speckle
    visible = rng.random((h, w)) < [0.0, 0.5, 0.9, 1.0][seed]
    fid, fvis = footprints(ids, F), footprints(visible, F)
    got = majority_members(fid, fvis)
    assert got.shape == fid.shape and np.array_equal(got, _majority_every_block(fid, fvis))
    assert (fid.min(-1) != fid.max(-1)).any() and (fid.min(-1) == fid.max(-1)).any()  # both kinds occur


# --- keyframe attention -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unet():
    return tiny.make_unet(tiny.TINY_SD15, seed=0)


def unet_inputs(seed, batch=1, t=500):
    g = torch.Generator().manual_seed(seed)
    return dict(
        sample=torch.randn(batch, 4, 8, 8, generator=g),
        timestep=torch.tensor(t),
        encoder_hidden_states=torch.randn(batch, 7, 32, generator=g),
    )


def run(unet, inputs):
    with torch.no_grad():
        return unet(**inputs).sample


@pytest.fixture
def keyframes(unet):
    controller = install_keyframe_attention(unet)
    yield controller
    uninstall(unet)


def test_installs_on_self_attention_only(unet, keyframes):
    replaced = {name for name, p in unet.attn_processors.items() if isinstance(p, KeyframeProcessor)}
    assert replaced and all(name.endswith("attn1.processor") for name in replaced)
    assert len(replaced) == sum(name.endswith("attn1.processor") for name in unet.attn_processors)


def test_off_and_record_modes_are_the_plain_unet(unet):
    x = unet_inputs(0)
    plain = run(unet, x)
    controller = install_keyframe_attention(unet)
    try:
        assert torch.equal(run(unet, x), plain)
        controller.record()
        assert torch.equal(run(unet, x), plain)
        assert controller.recorded
    finally:
        uninstall(unet)


def test_attending_to_itself_changes_nothing(unet, keyframes):
    """Keys and values [x, x] give every value twice the weight it had over [x]: the same average."""
    x = unet_inputs(1)
    plain = run(unet, x)
    keyframes.record()
    run(unet, x)
    keyframes.attend()
    assert torch.allclose(run(unet, x), plain, atol=1e-5)


def test_another_keyframe_changes_the_output(unet, keyframes):
    x = unet_inputs(2)
    plain = run(unet, x)
    keyframes.record()
    run(unet, unet_inputs(3))
    keyframes.attend()
    attended = run(unet, x)
    assert (attended - plain).abs().max() > 1e-3
    keyframes.off()
    assert torch.equal(run(unet, x), plain)


def test_guidance_batches_pair_uncond_with_uncond(unet, keyframes):
    x = unet_inputs(4, batch=2)  # different uncond and cond halves
    plain = run(unet, x)
    keyframes.record()
    run(unet, x)
    keyframes.attend()
    assert torch.allclose(run(unet, x), plain, atol=1e-5)  # would differ if the halves were crossed
    doubled = {k: v.repeat_interleave(2, 0) if k != "timestep" else v for k, v in x.items()}  # 2 images a prompt
    assert torch.allclose(run(unet, doubled), plain.repeat_interleave(2, 0), atol=1e-5)
    with pytest.raises(ValueError, match="batch"):
        run(unet, unet_inputs(4, batch=3))


def test_a_single_keyframe_serves_a_guided_batch(unet, keyframes):
    keyframes.record()
    run(unet, unet_inputs(5))
    keyframes.attend()
    assert run(unet, unet_inputs(6, batch=2)).shape == (2, 4, 8, 8)


def test_each_timestep_attends_to_the_keyframe_at_that_timestep(unet, keyframes):
    x_early, x_late = unet_inputs(7, t=900), unet_inputs(7, t=100)
    x_late["sample"] = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(8))
    keyframes.record()
    run(unet, x_early)
    run(unet, x_late)
    keyframes.attend()
    assert torch.allclose(run(unet, x_late), run_plain(unet, x_late), atol=1e-5)
    assert torch.allclose(run(unet, x_early), run_plain(unet, x_early), atol=1e-5)
    near_late = dict(x_late, timestep=torch.tensor(120))  # no recording at 120: the nearest, 100
    with_both = run(unet, near_late)
    keyframes.record()
    run(unet, x_late)
    keyframes.attend()
    assert torch.equal(with_both, run(unet, near_late))


def run_plain(unet, inputs):
    controller = unet._worldgen_keyframe_attention
    mode, controller.mode = controller.mode, "off"
    try:
        return run(unet, inputs)
    finally:
        controller.mode = mode


def test_attend_before_recording_is_refused(unet, keyframes):
    with pytest.raises(RuntimeError, match="record"):
        keyframes.attend()
    keyframes.record()
    run(unet, unet_inputs(9))
    keyframes.clear()
    with pytest.raises(RuntimeError, match="record"):
        keyframes.attend()


def test_uninstall_restores_the_original_processors(unet):
    originals = dict(unet.attn_processors)
    hooks = len(unet._forward_pre_hooks)
    x = unet_inputs(10)
    plain = run(unet, x)
    controller = install_keyframe_attention(unet)
    controller.record()
    run(unet, unet_inputs(11))
    controller.attend()
    uninstall(unet)
    assert all(unet.attn_processors[name] is p for name, p in originals.items())
    assert len(unet._forward_pre_hooks) == hooks
    assert torch.equal(run(unet, x), plain)
    uninstall(unet)  # a second time is harmless


def test_a_guided_pipeline_painting_its_own_keyframe_is_unchanged(tmp_path):
    """Through a real diffusers pipeline (guidance, scheduler, timestep hook): painting a frame
    while attending to a recording of itself reproduces the plain painting; a keyframe painted
    from other noise changes it."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(
        tiny.build_tiny_sd15(tmp_path / "sd15", controlnets=()), safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)

    def paint(seed):
        return pipe(
            "a red ball",
            num_inference_steps=3,
            guidance_scale=5.0,
            output_type="np",
            generator=torch.Generator().manual_seed(seed),
        ).images[0]

    plain = paint(0)
    controller = install_keyframe_attention(pipe.unet)
    controller.record()
    assert np.array_equal(paint(0), plain)
    assert len(next(iter(controller.recorded.values()))) == 3  # one recording per step
    controller.attend()
    assert np.allclose(paint(0), plain, atol=1e-4)
    controller.record()
    paint(1)
    controller.attend()
    assert np.abs(paint(0) - plain).max() > 1e-3
    uninstall(pipe.unet)
