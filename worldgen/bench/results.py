"""Assembling results: one shot's evaluation as a results row, identity drift between shots, a
scene's summary numbers and the means over scenes (the fields docs/BENCHMARK.md describes)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from worldgen.bench import metrics as M
from worldgen.bench import shotdrift_judge
from worldgen.bench.evaluate import ShotEval, texture_of
from worldgen.bench.options import BenchOptions


def _finite(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def static_camera(frames: list[dict]) -> bool:
    """A shot whose camera never moves: every frame has the same world_to_camera and K (a zoom
    changes K alone, and is not static)."""
    first = frames[0]
    return all(fr["world_to_camera"] == first["world_to_camera"] and fr["K"] == first["K"] for fr in frames)


def shot_result(ev: ShotEval, manifest_shot: dict) -> dict:
    static = static_camera(manifest_shot["frames"])
    warp = {}
    for k, err in ev.warp.items():
        warp[str(k)] = {
            "mean": _finite(err.mean),
            "pairs": int(err.per_pair.size),
            "every": ev.warp_every[k],
            "skipped": list(err.skipped),
            "per_pair": [float(v) for v in err.per_pair],
            "starts": [int(v) for v in err.starts],
        }
    f1s = [s for _, s in ev.structure]
    structure = {
        "precision": float(np.mean([s.precision for s in f1s])) if f1s else None,
        "recall": float(np.mean([s.recall for s in f1s])) if f1s else None,
        "f1": float(np.mean([s.f1 for s in f1s])) if f1s else None,
        "frames_evaluated": len(f1s),
        "per_frame_f1": [float(s.f1) for s in f1s],
        "frame_indices": [int(i) for i, _ in ev.structure],
    }
    camera = ev.camera
    if camera.get("expect") == "static" and not static:  # e.g. static with a moving target: it turns to follow
        camera = camera | {
            "expect": None,
            "verdict": shotdrift_judge.NOT_JUDGED,
            "detail": "the camera stands still but turns to follow its target; no single 2D move",
        }
    return {
        "id": ev.id,
        "frames": ev.frames,
        "static_camera": static,
        "flicker": ev.flicker if static else None,
        "flicker_note": (
            "computed on the still pixels (exact flow zero, visible in both frames)"
            if static
            else "moving camera: VBench flicker is defined on static content"
        ),
        "still_share": ev.still_share,
        "moving_share_max": ev.moving_share_max,
        "warp": warp,
        "structure": structure,
        "camera_judge": camera,
        "metrics_s": round(ev.seconds, 3),
        "metrics_cpu_s": round(ev.cpu_seconds, 3),
    }


def identity_drift_rows(evals: list[ShotEval], names: dict[int, str]) -> list[dict]:
    """Identity drift for every pair of shots and every instance both show (with shared texels)."""
    rows = []
    for a in range(len(evals)):
        for b in range(a + 1, len(evals)):
            ta, tb = evals[a].textures or {}, evals[b].textures or {}
            for value in sorted(set(ta) & set(tb)):
                d = M.texture_difference(texture_of(*ta[value]), texture_of(*tb[value]), value)
                if d.texels:
                    rows.append(
                        {
                            "shot_a": evals[a].id,
                            "shot_b": evals[b].id,
                            "instance": value,
                            "object": names.get(value, str(value)),
                            "drift": d.drift,
                            "texels": d.texels,
                            "texels_a": d.texels_a,
                            "texels_b": d.texels_b,
                        }
                    )
    return rows


def _weighted(pairs) -> float | None:
    pairs = [(v, w) for v, w in pairs if v is not None and w]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def summarize(shots: list[dict], drift: list[dict], cost: dict, ks: Sequence[int]) -> dict:
    """One number per metric for a scene and method: E_warp(k) over all evaluated pairs of all
    shots; flicker over the static shots' pairs; drift weighted by shared texels; edge F1 over
    the evaluated frames; camera moves HELD out of those judged."""
    out = {}
    for k in ks:
        out[f"warp_{k}"] = _weighted((s["warp"][str(k)]["mean"], s["warp"][str(k)]["pairs"]) for s in shots)
    out["flicker"] = _weighted((s["flicker"], s["frames"] - 1) for s in shots if s["static_camera"])
    out["identity_drift"] = _weighted((r["drift"], r["texels"]) for r in drift)
    for key in ("f1", "precision", "recall"):
        out[f"edge_{key}"] = _weighted((s["structure"][key], s["structure"]["frames_evaluated"]) for s in shots)
    verdicts = [s["camera_judge"].get("verdict") for s in shots]
    judged = [v for v in verdicts if v in (shotdrift_judge.HELD, shotdrift_judge.NOT_HELD)]
    out["camera_held"] = sum(v == shotdrift_judge.HELD for v in judged)
    out["camera_judged"] = len(judged)
    for key in ("seconds_per_frame", "unet_per_frame", "unet_per_film_second", "peak_memory_bytes"):
        out[key] = cost.get(key)
    return out


def overall(scenes: list[dict], methods: list[str], ks: Sequence[int]) -> dict:
    """Per method, the unweighted mean over scenes of each summary number (where defined), and
    for each number the scenes behind it (`scenes_behind`: a mean is only read with its scenes)."""
    keys = [f"warp_{k}" for k in ks] + [
        "flicker",
        "identity_drift",
        "edge_f1",
        "seconds_per_frame",
        "unet_per_frame",
        "unet_per_film_second",
        "peak_memory_bytes",
    ]
    out = {}
    for method in methods:
        done = [s["methods"][method]["summary"] for s in scenes if s["methods"].get(method, {}).get("status") == "ok"]
        if not done:
            continue
        names = [s["scene"] for s in scenes if s["methods"].get(method, {}).get("status") == "ok"]
        row = {"scenes": len(done), "scenes_behind": {}}
        for key in keys:
            vals = [d[key] for d in done if d.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
            row["scenes_behind"][key] = [n for n, d in zip(names, done) if d.get(key) is not None]
        row["camera_held"] = sum(d["camera_held"] for d in done)
        row["camera_judged"] = sum(d["camera_judged"] for d in done)
        row["scenes_behind"]["camera"] = [n for n, d in zip(names, done) if d["camera_judged"]]
        out[method] = row
    return out


def options_record(options: BenchOptions) -> dict:
    return {
        "size": list(options.size) if options.size else None,
        "fps": options.fps,
        "model": options.model,
        "painter_options": options.painter_options,
        "backend": options.backend,
        "ks": list(options.ks),
        "long_range_every": options.long_range_every,
        "structure_every": options.structure_every,
        "tex_res": options.tex_res,
        "tol_px": options.tol_px,
        "judge_camera": options.judge_camera,
    }
