"""Stable-Diffusion-class model folders built from configs alone: no downloads, random weights.

Tests and benchmarks need models that load and run exactly like the real ones, through the
same diffusers classes, folder layout and loaders, without a multi-GB download. The tiny
builders make SD1.5-class and SDXL-class folders of a few MB that paint 64x64 frames on a CPU
in well under a second; `build_sd15_real_size` keeps the published SD1.5 architecture (random
weights) for GPU timings. Folders are written in the standard diffusers layout with
`model_index.json`, and every ControlNet goes to `DIR/controlnet-<kind>/`:

    base = build_tiny_sd15(tmp / "sd15", controlnets=("depth", "normal"))
    load_base(str(base), controlnets=tiny_controlnet_refs(base))

Weights are a function of the seed only: the same seed gives the same bytes of every
`.safetensors` file. The tokenizer is a byte-level BPE with the 256 byte tokens (bare and
word-final), a handful of merges and CLIP's two special tokens, written as vocab.json and
merges.txt here. `save_as_single_file` writes a tiny SD1.5 folder as one checkpoint in the
original (LDM) key layout, which is how community checkpoints are distributed.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

START_TOKEN, END_TOKEN = "<|startoftext|>", "<|endoftext|>"
TINY_MERGES = (("t", "h"), ("th", "e</w>"), ("a", "n"), ("an", "d</w>"), ("i", "n"), ("o", "n</w>"))
CONTROL_ZERO_MODULES = ("controlnet_cond_embedding.conv_out", "controlnet_down_blocks", "controlnet_mid_block")

# Published SD1.5 hyper-parameters (UNet, VAE, CLIP ViT-L/14 text tower, ControlNet 1.1).
SD15_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768,
    attention_head_dim=8,
    norm_num_groups=32,
)
SD15_VAE = dict(
    sample_size=512,
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    norm_num_groups=32,
    scaling_factor=0.18215,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
)
SD15_TEXT = dict(
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=77,
    vocab_size=49408,
    hidden_act="quick_gelu",
    projection_dim=768,
)
SD15_CONTROL_EMBEDDING = (16, 32, 96, 256)
SD_SCHEDULER = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
)

# Tiny: 64x64 images -> 8x8 latents (the real VAE factor 8), a 2-level UNet over them.
TINY_UNET = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    layers_per_block=1,
    block_out_channels=(32, 64),
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=32,
    attention_head_dim=(2, 4),
    norm_num_groups=32,
)
TINY_VAE = dict(
    sample_size=64,
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=1,
    block_out_channels=(8, 16, 16, 32),
    norm_num_groups=8,
    scaling_factor=0.18215,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
)
TINY_TEXT = dict(
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    projection_dim=32,
)
TINY_CONTROL_EMBEDDING = SD15_CONTROL_EMBEDDING  # the standard one, so a config derived from the UNet fits
TINY_XL_TIME_DIM = 8  # SDXL embeds 6 size/crop numbers with this many features each


@dataclass(frozen=True)
class Architecture:
    """Everything that decides the shapes of an SD-class model family member."""

    unet: dict
    vae: dict
    text: dict
    control_embedding: tuple
    scheduler: dict = field(default_factory=lambda: dict(SD_SCHEDULER))


TINY_SD15 = Architecture(TINY_UNET, TINY_VAE, TINY_TEXT, TINY_CONTROL_EMBEDDING)
REAL_SIZE_SD15 = Architecture(SD15_UNET, SD15_VAE, SD15_TEXT, SD15_CONTROL_EMBEDDING)


def tiny_sdxl_architecture() -> Architecture:
    """SDXL's differences from SD1.5, at tiny size: two text encoders whose penultimate hidden
    states are concatenated for cross-attention, and a 'text_time' embedding of the second
    encoder's pooled output plus the size/crop conditioning."""
    text_dim, pooled_dim = TINY_TEXT["hidden_size"], TINY_TEXT["projection_dim"]
    unet = dict(
        TINY_UNET,
        cross_attention_dim=2 * text_dim,
        addition_embed_type="text_time",
        addition_time_embed_dim=TINY_XL_TIME_DIM,
        use_linear_projection=True,
        projection_class_embeddings_input_dim=6 * TINY_XL_TIME_DIM + pooled_dim,
        transformer_layers_per_block=(1, 1),
    )
    vae = dict(TINY_VAE, scaling_factor=0.13025, force_upcast=False)
    return Architecture(unet, vae, TINY_TEXT, TINY_CONTROL_EMBEDDING)


# --- tokenizer ------------------------------------------------------------------------------


def byte_symbols() -> list[str]:
    """The printable stand-in for each byte that byte-level BPE uses (bytes that are already
    printable stand for themselves, the others are shifted above 255), in byte order."""
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    symbols, shifted = [], 0
    for b in range(256):
        if b in printable:
            symbols.append(chr(b))
        else:
            symbols.append(chr(256 + shifted))
            shifted += 1
    return symbols


def tiny_vocab() -> dict[str, int]:
    tokens = byte_symbols() + [s + "</w>" for s in byte_symbols()]
    tokens += ["".join(pair) for pair in TINY_MERGES]
    tokens += [START_TOKEN, END_TOKEN]  # last, as in CLIP
    return {token: i for i, token in enumerate(tokens)}


def write_tokenizer(folder: Path) -> Path:
    """vocab.json + merges.txt, then the transformers files (tokenizer.json, config) next to them."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(tiny_vocab(), ensure_ascii=False, sort_keys=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in TINY_MERGES))
    tokenizer = CLIPTokenizer.from_pretrained(folder, model_max_length=TINY_TEXT["max_position_embeddings"])
    tokenizer.save_pretrained(folder)
    return folder


def load_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(folder)


# --- models ---------------------------------------------------------------------------------


def seeded(seed: int, part: str) -> int:
    """One seed per component, so adding a component never changes the others' weights."""
    return (seed * 1_000_003 + zlib.crc32(part.encode())) % (2**63)


def with_seed(seed: int, build):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def text_config(text: dict, vocab_size: int):
    from transformers import CLIPTextConfig

    start, end = vocab_size - 2, vocab_size - 1
    params = dict(text, vocab_size=max(text.get("vocab_size", 0), vocab_size))
    return CLIPTextConfig(**params, bos_token_id=start, eos_token_id=end, pad_token_id=end)


def make_text_encoder(arch: Architecture, seed: int, part: str, with_projection: bool = False):
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    config = text_config(arch.text, len(tiny_vocab()))
    return with_seed(seeded(seed, part), lambda: cls(config).eval())


def make_unet(arch: Architecture, seed: int):
    from diffusers import UNet2DConditionModel

    return with_seed(seeded(seed, "unet"), lambda: UNet2DConditionModel(**arch.unet).eval())


def make_vae(arch: Architecture, seed: int):
    from diffusers import AutoencoderKL

    return with_seed(seeded(seed, "vae"), lambda: AutoencoderKL(**arch.vae).eval())


def make_scheduler(arch: Architecture):
    from diffusers import DDIMScheduler

    return DDIMScheduler(**arch.scheduler)


def make_controlnet(unet, arch: Architecture, kind: str, seed: int):
    """A ControlNet is a trained copy of the UNet's encoder whose outputs enter through
    zero-initialised convolutions. A zero output would make every control image and weight
    invisible in tests, so those convolutions get small random weights (per kind)."""
    from diffusers import ControlNetModel

    def build():
        net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=arch.control_embedding)
        for name, param in net.named_parameters():
            if name.startswith(CONTROL_ZERO_MODULES):
                param.data.normal_(0.0, 0.1)
        return net.eval()

    return with_seed(seeded(seed, f"controlnet-{kind}"), build)


def save_controlnets(
    folder: Path, unet, arch: Architecture, kinds, seed: int, dtype: torch.dtype = torch.float32
) -> None:
    for kind in kinds:
        net = make_controlnet(unet, arch, kind, seed)
        to_dtype(dtype, net)
        net.save_pretrained(folder / f"controlnet-{kind}", safe_serialization=True)
        del net  # one at a time: a real-size ControlNet is 1.4 GB in fp32


def to_dtype(dtype: torch.dtype, *models) -> None:
    if dtype == torch.float32:
        return  # built in fp32 already
    for model in models:
        model.to(dtype)


# --- folders --------------------------------------------------------------------------------


def build_sd15(
    folder: str | Path, arch: Architecture, controlnets=("depth",), seed: int = 0, dtype: torch.dtype = torch.float32
) -> Path:
    """An SD1.5-class diffusers folder for `arch`, plus `controlnet-<kind>/` per kind."""
    from diffusers import StableDiffusionPipeline

    folder = Path(folder)
    tokenizer = load_tokenizer(write_tokenizer(folder / "tokenizer"))
    unet, vae = make_unet(arch, seed), make_vae(arch, seed)
    text_encoder = make_text_encoder(arch, seed, "text_encoder")
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=make_scheduler(arch),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    save_controlnets(folder, unet, arch, controlnets, seed, dtype)  # copied from the UNet before it is cast
    to_dtype(dtype, unet, vae, text_encoder)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def build_tiny_sd15(folder: str | Path, controlnets=("depth",), seed: int = 0) -> Path:
    """A few-MB SD1.5-class folder (64x64 images, 8x8 latents) with one ControlNet per kind."""
    return build_sd15(folder, TINY_SD15, controlnets, seed)


def build_sd15_real_size(
    folder: str | Path, controlnets=("depth",), seed: int = 0, dtype: torch.dtype = torch.float16
) -> Path:
    """The published SD1.5 architecture with random weights (about 2.7 GiB in fp16 with one
    ControlNet): for timing the painter on a GPU without downloading a model. Its frames are
    noise; its speed and memory are SD1.5's."""
    return build_sd15(folder, REAL_SIZE_SD15, controlnets, seed, dtype)


def build_tiny_sdxl(folder: str | Path, controlnets=("depth",), seed: int = 0) -> Path:
    """A few-MB SDXL-class folder: two text encoders, 'text_time' conditioning, ControlNets."""
    from diffusers import StableDiffusionXLPipeline

    folder, arch = Path(folder), tiny_sdxl_architecture()
    tokenizer = load_tokenizer(write_tokenizer(folder / "tokenizer"))
    tokenizer_2 = load_tokenizer(write_tokenizer(folder / "tokenizer_2"))
    unet, vae = make_unet(arch, seed), make_vae(arch, seed)
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        unet=unet,
        scheduler=make_scheduler(arch),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        text_encoder=make_text_encoder(arch, seed, "text_encoder"),
        text_encoder_2=make_text_encoder(arch, seed, "text_encoder_2", with_projection=True),
        add_watermarker=False,
    )
    save_controlnets(folder, unet, arch, controlnets, seed)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def tiny_controlnet_refs(folder: str | Path) -> dict[str, str]:
    """{kind: path} for every `controlnet-<kind>/` a builder wrote, in name order."""
    return {
        p.name.removeprefix("controlnet-"): str(p)
        for p in sorted(Path(folder).glob("controlnet-*"))
        if (p / "config.json").is_file()
    }


# --- one-file checkpoint in the original (LDM) layout ----------------------------------------

UNET_RESNET_NAMES = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
)
UNET_FIXED_NAMES = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
VAE_ATTENTION_NAMES = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def rename_resnet_part(rest: str) -> str:
    for new, old in UNET_RESNET_NAMES:
        if rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def ldm_unet_key(key: str, layers_per_block: int, up_has_attention: list[bool]) -> str:
    """Diffusers UNet key -> key in the original UNet (input/middle/output blocks)."""
    parts = key.split(".")
    for new, old in UNET_FIXED_NAMES.items():
        if key.startswith(new + "."):
            return old + key[len(new) :]
    per_down, per_up = layers_per_block + 1, layers_per_block + 1
    if parts[0] == "down_blocks":
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
        if kind == "downsamplers":
            return f"input_blocks.{(block + 1) * per_down}.0.op." + ".".join(parts[5:])
        slot = 0 if kind == "resnets" else 1
        rest = rename_resnet_part(rest) if kind == "resnets" else rest
        return f"input_blocks.{1 + block * per_down + index}.{slot}.{rest}"
    if parts[0] == "mid_block":
        kind, index, rest = parts[1], int(parts[2]), ".".join(parts[3:])
        if kind == "resnets":
            return f"middle_block.{2 * index}.{rename_resnet_part(rest)}"
        return f"middle_block.1.{rest}"
    if parts[0] == "up_blocks":
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
        if kind == "upsamplers":
            slot = 2 if up_has_attention[block] else 1
            return f"output_blocks.{block * per_up + layers_per_block}.{slot}." + ".".join(parts[4:])
        slot = 0 if kind == "resnets" else 1
        rest = rename_resnet_part(rest) if kind == "resnets" else rest
        return f"output_blocks.{block * per_up + index}.{slot}.{rest}"
    raise ValueError(f"no original-layout name for UNet key {key}")


def ldm_vae_key(key: str, n_levels: int) -> str:
    """Diffusers VAE key -> key in the original autoencoder (down/mid/up with block_N)."""
    key = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    parts = key.split(".")
    if len(parts) > 2 and parts[1] == "down_blocks":
        level, kind = parts[2], parts[3]
        if kind == "downsamplers":
            return f"{parts[0]}.down.{level}.downsample." + ".".join(parts[5:])
        return f"{parts[0]}.down.{level}.block." + ".".join(parts[4:])
    if len(parts) > 2 and parts[1] == "up_blocks":
        level, kind = n_levels - 1 - int(parts[2]), parts[3]
        if kind == "upsamplers":
            return f"{parts[0]}.up.{level}.upsample." + ".".join(parts[5:])
        return f"{parts[0]}.up.{level}.block." + ".".join(parts[4:])
    if len(parts) > 2 and parts[1] == "mid_block":
        if parts[2] == "resnets":
            return f"{parts[0]}.mid.block_{int(parts[3]) + 1}." + ".".join(parts[4:])
        rest = ".".join(parts[4:])
        for new, old in VAE_ATTENTION_NAMES.items():
            if rest.startswith(new + "."):
                return f"{parts[0]}.mid.attn_1.{old}" + rest[len(new) :]
    return key


def original_layout_state_dict(folder: str | Path) -> dict[str, torch.Tensor]:
    """The tiny SD1.5 folder's weights under the key names of an original single-file
    checkpoint (model.diffusion_model., first_stage_model., cond_stage_model.transformer.)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    unet_config = json.loads((folder / "unet" / "config.json").read_text())
    vae_config = json.loads((folder / "vae" / "config.json").read_text())
    up_has_attention = ["CrossAttn" in name for name in unet_config["up_block_types"]]
    out = {}
    for key, value in load_file(folder / "unet" / "diffusion_pytorch_model.safetensors").items():
        out["model.diffusion_model." + ldm_unet_key(key, unet_config["layers_per_block"], up_has_attention)] = value
    n_levels = len(vae_config["block_out_channels"])
    for key, value in load_file(folder / "vae" / "diffusion_pytorch_model.safetensors").items():
        if ".mid_block.attentions." in key and key.endswith("weight") and value.ndim == 2:
            value = value[:, :, None, None]  # the original attention uses 1x1 convolutions
        out["first_stage_model." + ldm_vae_key(key, n_levels)] = value
    for key, value in load_file(folder / "text_encoder" / "model.safetensors").items():
        key = key if key.startswith("text_model.") or key.startswith("text_projection") else "text_model." + key
        out["cond_stage_model.transformer." + key] = value
    return out


def save_as_single_file(folder: str | Path, path: str | Path) -> Path:
    """Write an SD1.5-class folder as one original-layout `.safetensors` checkpoint."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.contiguous() for k, v in original_layout_state_dict(folder).items()}
    save_file(tensors, path)
    return path


def build_tiny_motion_adapter(folder: str | Path, seed: int = 0) -> Path:
    """A motion adapter (AnimateDiff) whose blocks match the tiny SD1.5 UNet, random weights."""
    from diffusers import MotionAdapter

    folder = Path(folder)

    def build():
        return MotionAdapter(
            block_out_channels=tuple(TINY_UNET["block_out_channels"]),
            motion_layers_per_block=TINY_UNET["layers_per_block"],
            motion_num_attention_heads=2,
            motion_norm_num_groups=8,
            motion_max_seq_length=32,
        )

    with_seed(seed, lambda: build()).save_pretrained(folder, safe_serialization=True)
    return folder


# --- music ----------------------------------------------------------------------------------


def build_tiny_musicgen(folder: str | Path, seed: int = 0) -> Path:
    """A MusicGen model (T5 text encoder, EnCodec, decoder) of under 1 MB with the tiny
    tokenizer, from configs: the same loading and generation code as a real checkpoint. EnCodec
    at 16 kHz with a hop of 320 samples gives 50 codes a second, as the real models do."""
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    folder = Path(folder)
    write_tokenizer(folder)
    vocab = len(tiny_vocab())
    text = T5Config(vocab_size=vocab, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2, pad_token_id=vocab - 1)
    audio = EncodecConfig(
        target_bandwidths=[1.0],
        sampling_rate=16000,
        audio_channels=1,
        num_filters=4,
        codebook_size=32,
        codebook_dim=8,
        hidden_size=8,
        num_residual_layers=1,
        upsampling_ratios=[8, 5, 4, 2],
        num_lstm_layers=1,
        compress=2,
        kernel_size=3,
        last_kernel_size=3,
        residual_kernel_size=3,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=32,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        num_codebooks=audio.num_quantizers,
        max_position_embeddings=2048,
        pad_token_id=32,
        bos_token_id=32,
        initializer_factor=0.5,  # larger weights than a fresh model's: the words then change the codes
    )
    cfg = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())

    def build():
        model = MusicgenForConditionalGeneration(cfg)
        for layer in model.audio_encoder.quantizer.layers:  # EnCodec's codebooks start at zero: codes would not matter
            layer.codebook.embed.normal_()
        return model

    model = with_seed(seeded(seed, "musicgen"), build)
    model.generation_config.decoder_start_token_id = 32
    model.generation_config.pad_token_id = 32
    model.save_pretrained(folder)
    return folder
