"""The manifest of a render (docs/MANIFEST.md): what every output file is, how it was made, and
enough to reproduce any frame."""

from __future__ import annotations

from worldgen.render.options import RenderOptions
from worldgen.render.record import versions
from worldgen.spec.identity import spec_hash
from worldgen.spec.models import Spec


def build_manifest(spec: Spec, world, backend: str, opt: RenderOptions, shots: list) -> dict:
    from worldgen.character.rig import KEYPOINTS
    from worldgen.passes.layers import LAYERS

    r = spec.render
    return {
        "manifest_version": 1,
        "title": spec.title,
        "seed": spec.seed,
        "spec_sha256": spec_hash(spec),
        "spec": "spec.resolved.json",
        "spec_base_dir": str(world.base_dir.resolve()),
        "painter_options": {k: v for k, v in opt.painter_options.items() if k != "cache"},
        "width": r.width,
        "height": r.height,
        "fps": r.fps,
        "backend": backend,
        "painter": r.painter if opt.paint else None,
        "passes_format": opt.fmt if opt.passes else None,
        "camera_convention": "OpenCV: x right, y down, z forward; world_to_camera maps world points to camera; "
        "K pixel centres at integer coordinates",
        "units": "metres, seconds; depth is z-depth, inf where nothing is hit",
        "instances": world.instance_map(),
        "labels": world.semantic_map(),
        "characters": {
            cid: {
                "instance": world.character_instance[cid],
                "label": rig.spec.label,
                "height": rig.spec.height,
                "parts": [p.name for p in rig.parts],
            }
            for cid, rig in world.characters.items()
        },
        "keypoint_names": list(KEYPOINTS) if world.characters else None,
        "layers": {name: dict(layer) for name, layer in LAYERS.items()},
        "versions": versions(),
        "shots": shots,
        # the voices time the mouths of speaking frames (sound.lipsync): reproduce needs the model
        **({"voice_model": opt.voice_model} if opt.voice_model else {}),
    }


def merge_stats(local: dict | None, remote: list[dict]) -> dict:
    """Painter counters of the tasks added up: counts summed, peak memory the largest, the
    rest kept from the first that has it."""
    out = dict(local or {})
    for st in remote:
        for k, v in (st or {}).items():
            if k == "peak_memory_bytes":
                out[k] = max(out.get(k, 0), v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = out.get(k, 0) + v
            else:
                out.setdefault(k, v)
    return out
