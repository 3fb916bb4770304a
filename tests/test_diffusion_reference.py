"""The diffusion painters checked against diffusers' reference pipelines (issue 17), on tiny
random-weight models: their pictures are noise whatever the code does, so each test checks the
structure instead -- what the UNet receives, what the scheduler is handed, which attention
processors sit on the shared UNet, which latents enter the denoising loop, which prompts paint
the textures, and which components were loaded."""

import functools
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from worldgen.spec import load_spec_text

torch = pytest.importorskip("torch")

SCENE = """
worldgen: 1
seed: 3
render: {width: 64, height: 48, fps: 8}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "green grass"}
    - {id: crate, shape: box, size: [1, 1, 1], position: [0, 0.5, 0], appearance: "wooden crate"}
shots:
  - {id: still, duration: 0.375, camera: {move: static, position: [-3, 2, 3], look_at: [0, 0.5, 0]}}
"""
STEPS = 4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from worldgen.compat import torchvision_importable

    torchvision_importable()
    from support.tiny import build_tiny_sd15, tiny_controlnet_refs

    d = tmp_path_factory.mktemp("tiny-ref")
    build_tiny_sd15(d / "m", controlnets=("depth",))
    return d, tiny_controlnet_refs(d / "m")


def with_scheduler(tiny, name: str):
    """A copy of the tiny base whose scheduler is diffusers' `name` (same betas)."""
    import diffusers

    d, _ = tiny
    folder = d / f"m-{name}"
    if not folder.exists():
        shutil.copytree(d / "m", folder, ignore=shutil.ignore_patterns("controlnet-*"))
        config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
        shutil.rmtree(folder / "scheduler")
        getattr(diffusers, name).from_config(config).save_pretrained(folder / "scheduler")
        index = json.loads((folder / "model_index.json").read_text())
        index["scheduler"] = ["diffusers", name]
        (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def options(tiny, base=None, **kw):
    d, refs = tiny
    o = {
        "base": str(base or d / "m"),
        "controlnets": {"depth": refs["depth"]},
        "steps": STEPS,
        "views": 2,
        "view_size": 64,
        "texture_size": 32,
        "part_texture_size": 16,
        "cache": str(d / "textures"),
    }
    o.update(kw)
    return o


def render_with(out, method, o, text=SCENE):
    """A render computed now (no frame store), frames as arrays."""
    from PIL import Image

    from worldgen.render import RenderOptions, render

    res = render(
        load_spec_text(text, check=False),
        out,
        RenderOptions(painter=method, painter_options=o, progress=False, film=False, use_store=False),
    )
    frames = [np.asarray(Image.open(out / f["frame"])) for s in res.manifest["shots"] for f in s["frames"]]
    assert res.frames_rendered == len(frames) == 3
    return frames


def models_of(o):
    from worldgen.diffusion.baked import models_for

    return models_for(o)


# --- 1. the safety checker is never loaded -----------------------------------------------------


def add_flagging_safety_checker(folder):
    """Give a tiny SD1.5 folder what real SD1.5 folders have: a safety checker (and its image
    processor) listed in model_index.json. This one flags every image, as a false positive
    does, which makes the pipeline return it black."""
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=4,
            image_size=32,
            patch_size=8,
        ),
        projection_dim=16,
    )
    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(-10.0)  # every cosine similarity is above the threshold
    checker.save_pretrained(folder / "safety_checker", safe_serialization=True)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder / "feature_extractor"
    )
    index = json.loads((folder / "model_index.json").read_text())
    index.update(
        safety_checker=["stable_diffusion", "StableDiffusionSafetyChecker"],
        feature_extractor=["transformers", "CLIPImageProcessor"],
        requires_safety_checker=True,
    )
    (folder / "model_index.json").write_text(json.dumps(index))


def test_the_safety_checker_of_an_sd15_folder_is_not_loaded(tiny, tmp_path):
    from diffusers import StableDiffusionPipeline

    from worldgen.diffusion.models import DiffusionModels, DiffusionSettings

    d, refs = tiny
    folder = tmp_path / "with-checker"
    shutil.copytree(d / "m", folder, ignore=shutil.ignore_patterns("controlnet-*"))
    add_flagging_safety_checker(folder)
    # the folder is live: diffusers' own loader runs the checker, which blacks the image out
    reference = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    assert reference.safety_checker is not None
    out = reference("a crate", num_inference_steps=1, height=64, width=64, output_type="np")
    assert out.nsfw_content_detected == [True] and not out.images.any()

    models = DiffusionModels(DiffusionSettings(base=str(folder), controlnets={"depth": refs["depth"]}, steps=2))
    for task in ("txt2img", "img2img", "inpaint"):
        pipe = models.pipe(task)
        assert pipe.safety_checker is None and pipe.feature_extractor is None, task
    control = {"depth": np.full((64, 64, 3), 128, np.uint8)}
    assert models.text_to_image("a crate", control, seed=1).any()  # not blacked out

    # a checker shipped only as a pickle no longer blocks the model: it is never read
    (folder / "safety_checker" / "model.safetensors").unlink()
    (folder / "safety_checker" / "pytorch_model.bin").write_bytes(b"not read")
    from worldgen.diffusion.loading import load_base

    assert load_base(str(folder), {"depth": refs["depth"]}).pipe.safety_checker is None


# --- 2. anchored noise enters at the scheduler's scale, once -----------------------------------


def first_unet_inputs(unet, run):
    """Std of the UNet's input at each first step (the largest timestep) of `run()`."""
    seen = []

    def hook(module, args, kwargs):
        sample = args[0] if args else kwargs["sample"]
        t = args[1] if len(args) > 1 else kwargs["timestep"]
        seen.append((float(torch.as_tensor(t).reshape(-1)[0]), float(sample.float().std())))

    handle = unet.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    first = max(t for t, _ in seen)
    return [s for t, s in seen if t == first]


def test_anchored_noise_enters_the_unet_as_the_reference_pipelines_noise_does(tiny, tmp_path):
    """With an Euler scheduler (init_noise_sigma ~14.6, as SDXL's default), the anchored-noise
    painter's first UNet input has the spread diffusers' own pipeline gives its unit-variance
    random latents, not init_noise_sigma times it."""
    o = options(tiny, with_scheduler(tiny, "EulerDiscreteScheduler"))
    models = models_of(o)
    pipe = models.pipe("txt2img")
    assert pipe.scheduler.init_noise_sigma > 10
    control = {"depth": np.full((48, 64, 3), 128, np.uint8)}
    generator = torch.Generator().manual_seed(0)

    def reference():
        for _ in range(3):
            models.text_to_image("a crate", control, seed=0, latents=torch.randn(1, 4, 6, 8, generator=generator))

    ref = np.mean(first_unet_inputs(pipe.unet, reference))
    ours = np.mean(first_unet_inputs(pipe.unet, lambda: render_with(tmp_path / "a", "anchored-noise", o)))
    assert 0.75 < ours / ref < 1.33, (ours, ref)


def bake(out, o):
    """Look development done (textures cached), so that the recorders see refinement only."""
    render_with(out, "baked", {k: v for k, v in o.items() if k != "refine"})


@pytest.fixture
def textures_ready(tiny, tmp_path):
    bake(tmp_path / "baked", options(tiny))


# --- 3. keyframe attention is switched off when the refined frames are done ------------------


def test_keyframe_attention_leaves_the_shared_unet_as_it_found_it(tiny, tmp_path, textures_ready):
    from worldgen.diffusion import baked
    from worldgen.diffusion.temporal import KeyframeProcessor

    o = options(tiny)
    unet = models_of(o).pipe("img2img").unet
    before = {name: type(p) for name, p in unet.attn_processors.items()}
    hooks = len(unet._forward_pre_hooks)
    installed = []
    handle = unet.register_forward_pre_hook(
        lambda m, a: installed.append(any(isinstance(p, KeyframeProcessor) for p in m.attn_processors.values()))
    )
    try:
        render_with(tmp_path / "refined", "baked+refine", o)
    finally:
        handle.remove()
    assert installed and all(installed)  # it did attend to the keyframe while refining
    assert {name: type(p) for name, p in unet.attn_processors.items()} == before
    assert len(unet._forward_pre_hooks) == hooks
    after_refine = render_with(tmp_path / "pf1", "per-frame", o)  # on the same (shared) models
    baked._MODELS.clear()
    fresh = render_with(tmp_path / "pf2", "per-frame", o)  # on models loaded afresh
    assert all(np.array_equal(a, b) for a, b in zip(after_refine, fresh))


# --- 4. carried latents: a residual on top of each frame's own encoded baked frame ----------


class LoopRecorder:
    """Per refined frame: E(baked) (the VAE encoding), the latents entering the loop (what
    `scheduler.add_noise` is given) and the final latents (what the VAE decodes)."""

    def __init__(self, monkeypatch, pipe):
        self.encoded, self.entering, self.final = [], [], []
        vae, sched, sf = pipe.vae, pipe.scheduler, pipe.vae.config.scaling_factor
        encode, decode, add_noise = vae.encode, vae.decode, sched.add_noise

        def recording_encode(x, *a, **k):
            out = encode(x, *a, **k)
            self.encoded.append(out.latent_dist.mean * sf)
            return out

        def recording_decode(z, *a, **k):
            self.final.append(z * sf)
            return decode(z, *a, **k)

        def recording_add_noise(original, noise, t):
            self.entering.append(original.clone())
            return add_noise(original, noise, t)

        monkeypatch.setattr(vae, "encode", recording_encode)
        monkeypatch.setattr(vae, "decode", recording_decode)
        monkeypatch.setattr(sched, "add_noise", recording_add_noise)


def test_without_carry_each_frame_starts_from_its_encoded_baked_frame(tiny, tmp_path, monkeypatch, textures_ready):
    o = options(tiny, refine=0.5, carry_weight=0.0)
    rec = LoopRecorder(monkeypatch, models_of(o).pipe("img2img"))
    render_with(tmp_path / "r", "baked+refine", o)
    assert len(rec.entering) == len(rec.encoded) == 3
    assert all(torch.equal(z, e) for z, e in zip(rec.entering, rec.encoded))


def test_the_carried_part_is_a_share_of_the_previous_residual(tiny, tmp_path, monkeypatch, textures_ready):
    """A still camera on a still world: the latents entering frame n are
    E(baked_n) + gamma * w * (z_{n-1} - E(baked_{n-1})), one weight w in [0, 1] per latent pixel
    (the feathered carry mask): 1 inside the surfaces seen before, 0 on the sky (no surface to
    carry along), between the two on the latent row where they meet."""
    from worldgen.diffusion import temporal

    gamma = 0.5
    o = options(tiny, refine=0.5, carry_weight=gamma)
    rec = LoopRecorder(monkeypatch, models_of(o).pipe("img2img"))
    warp, surfaces = temporal.warp_latents, []

    def recording_warp(*a, **k):
        surfaces.append(k.get("surface"))
        return warp(*a, **k)

    monkeypatch.setattr(temporal, "warp_latents", recording_warp)
    render_with(tmp_path / "r", "baked+refine", o)
    assert len(rec.entering) == len(rec.final) == 3
    assert len(surfaces) == 2 and all(s is not None and s.shape == (48, 64) for s in surfaces)  # by majority surface
    assert torch.equal(rec.entering[0], rec.encoded[0])  # the shot's first frame carries nothing
    for n in (1, 2):
        residual = (rec.final[n - 1] - rec.encoded[n - 1])[0]
        carried = (rec.entering[n] - rec.encoded[n])[0]
        assert residual.abs().min() > 1e-4
        w = (carried * residual).sum(0) / (gamma * (residual * residual).sum(0))  # least-squares share
        assert torch.allclose(carried, gamma * w * residual, atol=1e-5), n  # one share for all channels
        assert w.min() > -1e-5 and w.max() < 1 + 1e-5
        full, none = (w - 1).abs() < 1e-4, w.abs() < 1e-4
        assert full.float().mean() > 0.4 and none.any(), w
        assert ((w > 0.01) & (w < 0.99)).any(), w  # feathered, not a hard edge
        assert torch.equal(carried[:, none], torch.zeros_like(carried[:, none]))


def test_a_change_of_the_baked_frame_reaches_the_refinement(tiny, tmp_path, monkeypatch, textures_ready):
    """Frame 1's baked image brightened (as a moving shadow or animated shading would change it):
    the latents entering frame 1 change by exactly the change of its encoding, carried or not."""
    from worldgen.diffusion.baked import BakedPainter

    o = options(tiny, refine=0.5)
    runs = []
    for brighten in (0, 40):
        paint = BakedPainter.paint

        def brightened(self, view, paint=paint, brighten=brighten):
            img = paint(self, view)
            return np.clip(img.astype(int) + brighten * (view.index == 1), 0, 255).astype(np.uint8)

        with monkeypatch.context() as m:
            m.setattr(BakedPainter, "paint", brightened)
            rec = LoopRecorder(m, models_of(o).pipe("img2img"))
            render_with(tmp_path / f"r{brighten}", "baked+refine", o)
        runs.append(rec)
    plain, bright = runs
    assert torch.equal(plain.entering[0], bright.entering[0])
    change = bright.encoded[1] - plain.encoded[1]
    assert change.abs().max() > 0.01
    assert torch.allclose(bright.entering[1] - plain.entering[1], change, atol=1e-5)


# --- minor points --------------------------------------------------------------------------------


def test_a_stochastic_scheduler_gets_the_generator_and_reproduces(tiny, tmp_path, monkeypatch):
    o = options(tiny, with_scheduler(tiny, "EulerAncestralDiscreteScheduler"), refine=0.5)
    bake(tmp_path / "baked", o)
    sched = models_of(o).pipe("img2img").scheduler
    step, given = sched.step, []

    @functools.wraps(step)  # keeps step's signature, which callers inspect for what it accepts
    def recording_step(*a, **k):
        given.append(k)
        return step(*a, **k)

    monkeypatch.setattr(sched, "step", recording_step)
    first = render_with(tmp_path / "a", "baked+refine", o)
    torch.randn(100)  # the global random state moves on between the two renders
    second = render_with(tmp_path / "b", "baked+refine", o)
    assert given and all(isinstance(k.get("generator"), torch.Generator) for k in given)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_frame_sizes_off_the_latent_grid_are_refused_with_a_located_line(tiny, tmp_path):
    """On the command line (one process, the per-frame painter, which painted 56-pixel-wide
    frames into a 60-pixel film before) and through the API for refinement."""
    from worldgen.errors import SpecError
    from worldgen.render import RenderOptions, render
    from worldgen.spec import load_spec

    d, refs = tiny
    spec = tmp_path / "s.yaml"
    spec.write_text(SCENE.replace("width: 64", "width: 60"))
    line = SCENE.splitlines().index("render: {width: 64, height: 48, fps: 8}") + 1
    where = f"{spec}:{line}: render.width: 60 is not a multiple of 8"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "worldgen",
            "render",
            spec,
            "-q",
            "-o",
            tmp_path / "pf",
            "--no-store",
            "--painter",
            "per-frame",
            "--base-model",
            str(d / "m"),
            "--controlnet",
            f"depth={refs['depth']}",
            "--steps",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith(f"error: {where}"), lines[0]
    with pytest.raises(SpecError, match="^" + where.replace(".", r"\.")):
        render(
            load_spec(spec),
            tmp_path / "refined",
            RenderOptions(
                painter="baked+refine", painter_options=options(tiny), progress=False, film=False, use_store=False
            ),
        )


def test_a_latent_block_on_a_silhouette_moves_with_its_majority_surface():
    """An 8x8 footprint: 5 columns of a surface that moved 8 px, 3 of one that moved -8 px. The
    block mean (2 px) would sample the previous latents a quarter of the way to a neighbour, a
    blend of both (ghosting); the majority's flow takes exactly the neighbour it came from."""
    from worldgen.diffusion.temporal import latent_flow, warp_latents

    h, w = 8, 24
    surface = np.zeros((h, w), np.int32)
    surface[:, 8:13], surface[:, 13:16] = 1, 2
    flow = np.zeros((h, w, 2), np.float32)
    flow[surface == 1, 0], flow[surface == 2, 0] = 8.0, -8.0
    occlusion = np.zeros((h, w), np.uint8)
    mean_flow, carried = latent_flow(flow, occlusion, 8, 0.5, surface)
    assert mean_flow[0, 1].tolist() == [8.0, 0.0] and carried.all()
    prev = torch.arange(12, dtype=torch.float32).reshape(1, 4, 1, 3)
    warped, _ = warp_latents(prev, flow, occlusion, surface=surface)
    assert torch.equal(warped[..., 1], prev[..., 2])
    # invisible pixels do not vote: the surface that is visible leads the block
    occlusion[surface == 1] = 1
    assert latent_flow(flow, occlusion, 8, 0.0, surface)[0][0, 1].tolist() == [-8.0, 0.0]


def test_look_development_asks_for_albedo_not_lighting(tiny, tmp_path):
    """Baked frames light the textures again, so the texture prompts ask for flat albedo and
    the negative prompt for shadows and highlights, in text-to-image and inpainting alike."""
    o = options(tiny, cache=str(tmp_path / "textures"))
    models = models_of(o)
    asked = []
    for task in ("txt2img", "inpaint"):
        pipe = models.pipe(task)
        encode = pipe.encode_prompt

        def recording(prompt, device, n, cfg, negative_prompt=None, *a, encode=encode, task=task, **k):
            asked.append((task, prompt, negative_prompt))
            return encode(prompt, device, n, cfg, negative_prompt, *a, **k)

        pipe.encode_prompt = recording
    try:
        render_with(tmp_path / "baked", "baked", o)
    finally:
        for task in ("txt2img", "inpaint"):
            del models.pipe(task).encode_prompt
    assert {task for task, _, _ in asked} == {"txt2img", "inpaint"}
    for task, prompt, negative in asked:
        assert "albedo" in prompt and "even diffuse lighting" in prompt, prompt
        assert "shadows" in negative and "highlights" in negative and "specular" in negative, negative
