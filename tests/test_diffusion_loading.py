"""The diffusion painter's model layer on tiny models built here: loading, counting, devices."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from worldgen.compat import torchvision_importable

torchvision_importable()  # before diffusers is imported anywhere below

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from support import tiny  # noqa: E402
from worldgen.diffusion.counting import EvalCounter, peak_memory_bytes  # noqa: E402
from worldgen.diffusion.devices import apply_memory_options, pick_device, pick_dtype  # noqa: E402
from worldgen.diffusion.loading import (  # noqa: E402
    ControlRef,
    ModelError,
    ModelNotFound,
    ModelRefs,
    derived_controlnet_config,
    family_of,
    load_base,
    load_controlnet,
    load_refs,
    parse_control_ref,
    read_json,
)
from worldgen.errors import BackendError  # noqa: E402

STEPS, SIZE = 2, 64


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "sd15": tiny.build_tiny_sd15(root / "sd15", controlnets=("depth", "normal"), seed=0),
        "sdxl": tiny.build_tiny_sdxl(root / "sdxl", controlnets=("depth",), seed=0),
        "root": root,
    }


@pytest.fixture(scope="module")
def sd15(models):
    return models["sd15"]


@pytest.fixture(scope="module")
def two_nets(sd15):
    nets = [f"depth={sd15 / 'controlnet-depth'}", f"normal={sd15 / 'controlnet-normal'}@0.5"]
    refs = ModelRefs.parse(str(sd15), nets)
    return load_refs(refs, device="cpu")


@pytest.fixture(scope="module")
def control_images():
    square = np.zeros((SIZE, SIZE, 3), np.uint8)
    square[16:48, 16:48] = 220
    ramp = np.repeat(np.linspace(0, 255, SIZE, dtype=np.uint8)[None, :, None], SIZE, 0).repeat(3, 2)
    return {"depth": Image.fromarray(square), "normal": Image.fromarray(ramp)}


def paint(loaded, images, seed=0, guidance=5.0, **extra):
    kwargs = loaded.control_kwargs({k: images[k] for k in loaded.kinds})
    kwargs.update(extra)
    out = loaded.pipe(
        "a lighthouse on a cliff",
        num_inference_steps=STEPS,
        height=SIZE,
        width=SIZE,
        guidance_scale=guidance,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
        **kwargs,
    )
    return out.images[0]


# --- tiny builders ----------------------------------------------------------------------------


def safetensors_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.safetensors"))}


def test_same_seed_gives_the_same_weight_bytes(models, tmp_path):
    again = tiny.build_tiny_sd15(tmp_path / "again", controlnets=("depth", "normal"), seed=0)
    other = tiny.build_tiny_sd15(tmp_path / "other", controlnets=("depth",), seed=1)
    first, second = safetensors_bytes(models["sd15"]), safetensors_bytes(again)
    assert len(first) == 5 and first == second
    assert (
        safetensors_bytes(other)["unet/diffusion_pytorch_model.safetensors"]
        != first["unet/diffusion_pytorch_model.safetensors"]
    )


def test_tiny_tokenizer_is_byte_level_bpe_with_clip_specials(sd15):
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(sd15 / "tokenizer")
    ids = tok("The cat!").input_ids
    assert tok.convert_ids_to_tokens(ids) == ["<|startoftext|>", "the</w>", "c", "a", "t</w>", "!</w>", "<|endoftext|>"]
    assert (tok.bos_token_id, tok.eos_token_id) == (len(tok) - 2, len(tok) - 1)
    assert tok.model_max_length == 77


def test_real_size_architecture_has_published_parameter_counts():
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextModel

    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    with torch.device("meta"):
        unet = UNet2DConditionModel(**tiny.SD15_UNET)
        net_config = {k: v for k, v in derived_controlnet_config(unet.config).items() if k != "_class_name"}
        net = ControlNetModel(**net_config)
        vae = AutoencoderKL(**tiny.SD15_VAE)
        text = CLIPTextModel(tiny.text_config(tiny.SD15_TEXT, len(tiny.tiny_vocab())))
    assert count(unet) == 859_520_964 and count(vae) == 83_653_863 and count(text) == 123_060_480
    assert 361_000_000 < count(net) < 362_000_000


# --- loading folders --------------------------------------------------------------------------


def test_one_controlnet_loads_as_single_net_and_paints(sd15, control_images):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    loaded = load_base(str(sd15), {"depth": str(sd15 / "controlnet-depth")}, device="cpu", weights={"depth": 0.7})
    assert type(loaded.pipe) is StableDiffusionControlNetPipeline
    assert type(loaded.pipe.controlnet) is ControlNetModel
    assert (loaded.family, loaded.kinds, loaded.dtype) == ("sd15", ("depth",), torch.float32)
    assert loaded.control_kwargs({"depth": control_images["depth"]})["controlnet_conditioning_scale"] == 0.7
    image = paint(loaded, control_images)
    assert image.shape == (SIZE, SIZE, 3) and np.isfinite(image).all() and image.std() > 0.01


def test_two_controlnets_are_a_multi_controlnet_and_deterministic(two_nets, control_images):
    from diffusers import MultiControlNetModel, StableDiffusionControlNetPipeline

    assert type(two_nets.pipe) is StableDiffusionControlNetPipeline
    assert isinstance(two_nets.pipe.controlnet, MultiControlNetModel) and len(two_nets.pipe.controlnet.nets) == 2
    a, b, c = (paint(two_nets, control_images, seed=s) for s in (0, 0, 1))
    assert a.shape == (SIZE, SIZE, 3)
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 0.05


def test_weights_reach_the_controlnets_and_change_the_frame(two_nets, control_images):
    assert two_nets.weights == (1.0, 0.5)
    kwargs = two_nets.control_kwargs(control_images)
    assert kwargs["controlnet_conditioning_scale"] == [1.0, 0.5]
    assert [np.asarray(i).mean() for i in kwargs["image"]] == [
        np.asarray(control_images[k]).mean() for k in ("depth", "normal")
    ]
    seen = []
    hook = two_nets.pipe.controlnet.register_forward_pre_hook(
        lambda m, args, kw: seen.append(list(kw["conditioning_scale"])), with_kwargs=True
    )
    try:
        weighted = paint(two_nets, control_images)
    finally:
        hook.remove()
    assert seen == [[1.0, 0.5]] * STEPS
    silenced = paint(two_nets, control_images, controlnet_conditioning_scale=[0.0, 0.0])
    assert np.abs(weighted - silenced).max() > 0.05


def test_counter_counts_one_unet_and_k_controlnet_calls_per_step(two_nets, control_images):
    with EvalCounter(two_nets) as guided:
        paint(two_nets, control_images, guidance=5.0)
    assert guided.totals() == {
        "unet_calls": STEPS,
        "unet_images": 2 * STEPS,
        "controlnet_calls": 2 * STEPS,
        "controlnet_images": 4 * STEPS,
    }
    assert {k: c.calls for k, c in guided.counts.items()} == {"unet": STEPS, "depth": STEPS, "normal": STEPS}
    assert guided.per_frame(2)["unet_calls"] == STEPS / 2
    assert guided.per_second(2, fps=24)["controlnet_calls"] == 2 * STEPS / 2 * 24
    with EvalCounter(two_nets.pipe) as unguided:
        paint(two_nets, control_images, guidance=1.0)
    assert (unguided.unet_calls, unguided.unet_images, unguided.controlnet_images) == (STEPS, STEPS, 2 * STEPS)
    paint(two_nets, control_images)  # hooks are gone after the block
    assert unguided.unet_calls == STEPS
    assert peak_memory_bytes("cpu") > 50 * 2**20 and unguided.peak_memory_bytes() == peak_memory_bytes("cpu")


def test_img2img_task_and_its_step_count(sd15, control_images):
    from diffusers import StableDiffusionControlNetImg2ImgPipeline

    loaded = load_base(str(sd15), {"depth": str(sd15 / "controlnet-depth")}, device="cpu", task="img2img")
    assert type(loaded.pipe) is StableDiffusionControlNetImg2ImgPipeline
    kwargs = loaded.control_kwargs({"depth": control_images["depth"]})
    assert set(kwargs) == {"control_image", "controlnet_conditioning_scale"}
    with EvalCounter(loaded) as counter:
        image = loaded.pipe(
            "a lighthouse",
            image=control_images["normal"],
            strength=0.5,
            num_inference_steps=4,
            height=SIZE,
            width=SIZE,
            generator=torch.Generator().manual_seed(0),
            output_type="np",
            **kwargs,
        ).images[0]
    assert image.shape == (SIZE, SIZE, 3)
    assert (counter.unet_calls, counter.controlnet_calls) == (2, 2)  # int(4 steps * strength 0.5)


def test_sdxl_folder_is_detected_and_paints(models, control_images):
    from diffusers import StableDiffusionXLControlNetPipeline

    sdxl = models["sdxl"]
    loaded = load_base(str(sdxl), tiny.tiny_controlnet_refs(sdxl), device="cpu")
    assert loaded.family == "sdxl" and type(loaded.pipe) is StableDiffusionXLControlNetPipeline
    image = paint(loaded, control_images)
    assert image.shape == (SIZE, SIZE, 3) and np.isfinite(image).all()


def test_family_detection_from_index_and_unet_config():
    index = {"_class_name": "StableDiffusionPipeline", "text_encoder": ["transformers", "CLIPTextModel"]}
    assert family_of(index, {"in_channels": 4}, "m", "base") == "sd15"
    assert family_of(index, {"in_channels": 4, "addition_embed_type": "text_time"}, "m", "base") == "sdxl"
    assert family_of(index | {"text_encoder_2": ["transformers", "X"]}, {"in_channels": 4}, "m", "base") == "sdxl"
    with pytest.raises(ModelError, match="9 input channels"):
        family_of(index, {"in_channels": 9}, "m", "base")
    with pytest.raises(ModelError, match="refiner"):
        family_of({"text_encoder": [None, None]}, {"addition_embed_type": "text_time"}, "m", "base")


def test_controlnet_of_the_other_family_is_refused(models):
    with pytest.raises(ModelError, match="SDXL-class UNet") as err:
        load_base(str(models["sd15"]), {"depth": str(models["sdxl"] / "controlnet-depth")}, device="cpu")
    assert "\n" not in str(err.value)


# --- refusals and missing models -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".ckpt", ".bin", ".pt", ".pth", ".pkl"])
def test_pickle_files_are_refused_without_being_opened(tmp_path, sd15, monkeypatch, suffix):
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    weights = tmp_path / f"model{suffix}"
    weights.write_bytes(b"not really a pickle")
    with pytest.raises(ModelError, match=r"only \.safetensors weights are loaded") as err:
        load_base(str(weights), device="cpu")
    assert str(weights) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="ControlNet 'depth'.*refusing"):
        load_base(str(sd15), {"depth": str(weights)}, device="cpu")


def test_folders_with_only_bin_weights_are_refused(sd15, tmp_path):
    base = shutil.copytree(sd15, tmp_path / "pickled", ignore=shutil.ignore_patterns("controlnet-*"))
    (base / "unet" / "diffusion_pytorch_model.safetensors").rename(base / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelError, match=r"unet/ has only pickle weights \(diffusion_pytorch_model\.bin\)"):
        load_base(str(base), device="cpu")
    net = shutil.copytree(sd15 / "controlnet-depth", tmp_path / "net")
    (net / "diffusion_pytorch_model.safetensors").rename(net / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelError, match="only pickle weights"):
        load_base(str(sd15), {"depth": str(net)}, device="cpu")


def test_missing_hub_id_offline_says_what_to_download_and_where(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("WORLDGEN_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(ModelNotFound) as err:
        load_base("some-org/absent-model", device="cpu")
    message = str(err.value)
    assert "some-org/absent-model" in message and str(tmp_path / "hub") in message
    assert "hf download some-org/absent-model" in message and "\n" not in message
    assert err.value.exit_code == 2


def test_hub_id_loads_from_the_cache_offline(sd15, tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache, revision = tmp_path / "hub", "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--worldgen-test--tiny-sd15"
    shutil.copytree(sd15, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    loaded = load_base("worldgen-test/tiny-sd15", device="cpu")
    assert loaded.family == "sd15" and type(loaded.pipe).__name__ == "StableDiffusionPipeline"
    with pytest.raises(ModelError, match="is a pipeline, not a ControlNet folder"):
        load_base("worldgen-test/tiny-sd15", {"depth": "worldgen-test/tiny-sd15"}, device="cpu")


# --- single files ---------------------------------------------------------------------------------


def test_single_file_base_with_a_config_folder_paints_like_the_folder(sd15, tmp_path, control_images, monkeypatch):
    import huggingface_hub.constants

    checkpoint = tiny.save_as_single_file(sd15, tmp_path / "tiny-sd15.safetensors")
    from safetensors import safe_open

    with safe_open(str(checkpoint), "pt") as f:
        prefixes = {k.split(".")[0] for k in f.keys()}
    assert prefixes == {"model", "first_stage_model", "cond_stage_model"}
    nets = {"depth": str(sd15 / "controlnet-depth")}
    from_file = load_base(str(checkpoint), nets, device="cpu", config=str(sd15))
    from_folder = load_base(str(sd15), nets, device="cpu")
    assert np.array_equal(paint(from_file, control_images), paint(from_folder, control_images))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(ModelNotFound, match="config=FOLDER_OR_ID.*stable-diffusion-v1-5/stable-diffusion-v1-5"):
        load_base(str(checkpoint), device="cpu")


def test_single_file_controlnet_uses_a_config_derived_from_the_base_unet(sd15, tmp_path):
    lone = tmp_path / "depth.safetensors"
    shutil.copy(sd15 / "controlnet-depth" / "diffusion_pytorch_model.safetensors", lone)
    unet_config = read_json(sd15 / "unet" / "config.json")
    saved = read_json(sd15 / "controlnet-depth" / "config.json")
    derived = derived_controlnet_config(unet_config)
    assert {k: v for k, v in derived.items() if not k.startswith("_")} == {
        k: v for k, v in saved.items() if k in derived and not k.startswith("_")
    }
    net = load_controlnet(ControlRef("depth", str(lone)), unet_config, torch.float32)
    reference = load_controlnet(ControlRef("depth", str(sd15 / "controlnet-depth")), unet_config, torch.float32)
    ours, theirs = net.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_single_file_controlnet_of_another_architecture_is_refused(models, tmp_path):
    lone = tmp_path / "xl-depth.safetensors"
    shutil.copy(models["sdxl"] / "controlnet-depth" / "diffusion_pytorch_model.safetensors", lone)
    unet_config = read_json(models["sd15"] / "unet" / "config.json")
    with pytest.raises(ModelError, match="could not be loaded|does not fit") as err:
        load_controlnet(ControlRef("depth", str(lone)), unet_config, torch.float32)
    assert "\n" not in str(err.value)


def test_single_file_whose_keys_contradict_its_configs_is_refused(sd15, tmp_path):
    from safetensors.torch import save_file

    fake_xl = tmp_path / "xl.safetensors"
    save_file({"conditioner.embedders.1.model.ln_final.weight": torch.zeros(2)}, fake_xl)
    with pytest.raises(ModelError, match="SDXL-class checkpoint but its configs are SD1.5-class"):
        load_base(str(fake_xl), device="cpu", config=str(sd15))
    unet_only = tmp_path / "unet.safetensors"
    save_file({"model.diffusion_model.out.2.bias": torch.zeros(2)}, unet_only)
    with pytest.raises(ModelError, match="not a whole SD1.5- or SDXL-class checkpoint"):
        load_base(str(unet_only), device="cpu")


def test_fp16_variant_only_folder_loads_with_the_variant(sd15, tmp_path):
    from worldgen.diffusion.loading import choose_variant, variant_of

    net = shutil.copytree(sd15 / "controlnet-depth", tmp_path / "net")
    (net / "diffusion_pytorch_model.safetensors").rename(net / "diffusion_pytorch_model.fp16.safetensors")
    assert variant_of(net / "diffusion_pytorch_model.fp16.safetensors") == "fp16"
    assert variant_of(Path("diffusion_pytorch_model-00001-of-00002.safetensors")) is None
    assert choose_variant([net]) == "fp16" and choose_variant([sd15 / "controlnet-depth"]) is None
    unet_config = read_json(sd15 / "unet" / "config.json")
    loaded = load_controlnet(ControlRef("depth", str(net)), unet_config, torch.float32)
    reference = load_controlnet(ControlRef("depth", str(sd15 / "controlnet-depth")), unet_config, torch.float32)
    assert torch.equal(loaded.controlnet_mid_block.weight, reference.controlnet_mid_block.weight)


# --- references -----------------------------------------------------------------------------------


def test_control_reference_syntax():
    assert parse_control_ref("depth=org/depth-net@0.8") == ControlRef("depth", "org/depth-net", 0.8)
    assert parse_control_ref(" Normal = ./nets/normal ") == ControlRef("normal", "./nets/normal", 1.0)
    assert parse_control_ref("canny=/data/me@host/net") == ControlRef("canny", "/data/me@host/net", 1.0)
    assert parse_control_ref("seg=/a@b/net.safetensors@0") == ControlRef("seg", "/a@b/net.safetensors", 0.0)
    refs = ModelRefs.parse("base", ["depth=d@0.25", "openpose=p"])
    assert refs.controlnets == {"depth": "d", "openpose": "p"} and refs.weights == {"depth": 0.25, "openpose": 1.0}


@pytest.mark.parametrize(
    "text, message",
    [
        ("dpeth=x", "unknown ControlNet kind 'dpeth' .*depth"),
        ("depth", "expected KIND=PATH_OR_ID"),
        ("depth=", "expected KIND=PATH_OR_ID"),
        ("depth=x@", "a weight must follow '@'"),
        ("depth=x@-1", "must be a finite number >= 0"),
        ("depth=x@nan", "must be a finite number >= 0"),
        ("depth=@0.5", "no PATH_OR_ID before '@'"),
    ],
)
def test_control_reference_errors_are_one_line(text, message):
    with pytest.raises(ModelError, match=message) as err:
        parse_control_ref(text)
    assert "\n" not in str(err.value)


def test_duplicate_kinds_and_stray_weights_are_refused(sd15):
    with pytest.raises(ModelError, match="'depth' is given twice"):
        ModelRefs.parse("base", ["depth=a", "depth=b"])
    with pytest.raises(ModelError, match="weight is given for ControlNet 'canny'"):
        load_base(str(sd15), {"depth": str(sd15 / "controlnet-depth")}, device="cpu", weights={"canny": 0.5})
    with pytest.raises(ModelError, match="unknown ControlNet kind 'flow'"):
        load_base(str(sd15), {"flow": str(sd15 / "controlnet-depth")}, device="cpu")


# --- devices --------------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_requesting_cuda_without_cuda_is_a_backend_error(sd15):
    with pytest.raises(BackendError, match="'cuda' requested but CUDA is not available") as err:
        pick_device("cuda")
    assert "\n" not in str(err.value) and err.value.exit_code == 4
    with pytest.raises(BackendError):
        load_base(str(sd15), device="cuda:0")
    with pytest.raises(BackendError, match="unknown device"):
        pick_device("tpu")


def test_dtype_choice():
    cpu = torch.device("cpu")
    assert pick_dtype(cpu) == torch.float32 and pick_dtype(cpu, "bf16") == torch.bfloat16
    assert pick_dtype(torch.device("cuda")) == torch.float16  # the default, whether or not CUDA is here
    with pytest.raises(BackendError, match="fp16 is not supported on the CPU"):
        pick_dtype(cpu, "fp16")
    with pytest.raises(BackendError, match="unknown precision 'fp8'"):
        pick_dtype(cpu, "fp8")


def test_memory_options(two_nets):
    with pytest.raises(BackendError, match="CPU offload needs a CUDA device"):
        apply_memory_options(two_nets.pipe, cpu_offload=True, device="cpu")
    apply_memory_options(two_nets.pipe, attention_slicing=True)
    try:
        kinds = {type(p).__name__ for p in two_nets.pipe.unet.attn_processors.values()}
        assert kinds == {"SlicedAttnProcessor"}
    finally:
        two_nets.pipe.disable_attention_slicing()
    assert "SlicedAttnProcessor" not in {type(p).__name__ for p in two_nets.pipe.unet.attn_processors.values()}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tiny_pipeline_in_fp16_on_cuda(sd15, control_images):
    from worldgen.diffusion.counting import reset_peak_memory

    loaded = load_base(str(sd15), {"depth": str(sd15 / "controlnet-depth")})
    assert loaded.device.type == "cuda" and loaded.dtype == torch.float16
    assert loaded.pipe.unet.dtype == torch.float16 and loaded.pipe.controlnet.dtype == torch.float16
    reset_peak_memory(loaded.device)
    with EvalCounter(loaded) as counter:
        image = paint(loaded, control_images)
    assert image.shape == (SIZE, SIZE, 3) and np.isfinite(image).all()
    assert (counter.unet_calls, counter.controlnet_calls) == (STEPS, STEPS)
    assert counter.peak_memory_bytes() > 0
