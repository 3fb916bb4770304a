"""The painter names a spec may ask for (`render.painter`), and the painters' options.

Declared here, below `worldgen.paint`, so that checking a spec never imports the painters
themselves (the diffusion ones pull in torch and diffusers). `worldgen.paint.registry` gives
each name its implementation; a spec naming another painter is refused before any compute.

Painter options come in layers: the spec's `render.diffusion` block, then what the caller
gives (`worldgen render` flags, the benchmark's `--model`/`--painter-option`,
`RenderOptions.painter_options`). `PainterOptions` types every option worldgen's painters read;
`merge_painter_options` is the one place the layers meet (a later layer wins, None is "not
given") and checks the result against that model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worldgen.errors import WorldgenError

BUILT_IN = (
    "procedural",
    "diffusion",
    "baked",
    "baked+refine",
    "baked+animatediff",
    "per-frame",
    "fixed-seed",
    "anchored-noise",
)


class PainterOptions(BaseModel):
    """Every option worldgen's own painters read, typed; None (each field's default) is "not
    given": a lower layer decides, else the painter's own default. A plugin painter's options
    of its own pass as given (extra keys). The spec's `render.diffusion` block
    (worldgen.spec.models.DiffusionSpec) is a layer of these with the defaults filled in."""

    model_config = ConfigDict(extra="allow")

    base: Optional[str] = Field(None, description="Diffusion base model: folder, cached hub id or .safetensors file.")
    config: Optional[str] = Field(None, description="diffusers config folder for a single-file base.")
    controlnets: Optional[dict[str, str]] = Field(None, description="ControlNet per kind: PATH_OR_ID.")
    weights: Optional[dict[str, float]] = Field(None, description="Conditioning scale per ControlNet kind.")
    device: Optional[str] = Field(None, description="auto, cpu, cuda, cuda:N or mps.")
    dtype: Optional[Literal["auto", "fp16", "bf16", "fp32"]] = Field(None, description="Weights' precision.")
    steps: Optional[int] = Field(None, description="Denoising steps.")
    guidance: Optional[float] = Field(None, description="Classifier-free guidance scale.")
    refine: Optional[float] = Field(None, description="Refinement strength over baked frames (0 = none).")
    refine_backend: Optional[Literal["img2img", "animatediff"]] = Field(None, description="Per frame or in windows.")
    motion_adapter: Optional[str] = Field(None, description="animatediff: the motion adapter.")
    carry: Optional[bool] = Field(None, description="baked+refine: carry the previous frame's residual.")
    carry_weight: Optional[float] = Field(None, description="baked+refine: the share of it carried (0..1).")
    keyframe_attention: Optional[bool] = Field(None, description="baked+refine: attend to the shot's first frame.")
    chunk: Optional[int] = Field(None, description="animatediff: frames per window.")
    overlap: Optional[int] = Field(None, description="animatediff: frames neighbouring windows share.")
    texture_size: Optional[int] = Field(None, description="Texels per side of an object's texture atlas.")
    part_texture_size: Optional[int] = Field(None, description="Texels per side of a body part's atlas.")
    view_size: Optional[int] = Field(None, description="Pixels per side of a look-development view.")
    views: Optional[int] = Field(None, description="Look-development views per object or character.")
    lighting: Optional[Literal["lit", "unlit"]] = Field(None, description="Baked frames: lit or as painted.")
    cache: Optional[str] = Field(None, description="Texture cache folder.")
    lookdev_style: Optional[str] = Field(
        None, description="Look development: the style textures are painted with (a film's, not the scene's)."
    )
    attention_slicing: Optional[bool] = Field(None, description="Slice attention (less memory, slower).")
    cpu_offload: Optional[bool] = Field(None, description="Keep models on the CPU until used.")


class PainterOptionsError(WorldgenError):
    """A painter option of the wrong type or value."""


def merge_painter_options(*layers: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    """The painter options of a render: the layers merged, lowest precedence first (the spec's
    `render.diffusion` block, then flags or the benchmark's), a value given in a later layer
    over an earlier one's; a None value is "not given" and overrides nothing. A layer is a
    mapping or a pydantic model (`DiffusionSpec`, `PainterOptions`: its values that are not
    None). The result is checked against `PainterOptions` and returned as given (plain data:
    what painters read, the manifest records and frame keys hash)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        items = layer.model_dump(exclude_none=True) if isinstance(layer, BaseModel) else (layer or {})
        merged.update({k: v for k, v in items.items() if v is not None})
    try:
        PainterOptions.model_validate(merged)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PainterOptionsError(f"painter option '{where}': {err['msg']} (given {err.get('input')!r})") from None
    return merged
