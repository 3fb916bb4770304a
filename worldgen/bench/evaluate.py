"""Evaluating one shot: every per-shot metric of worldgen.bench.metrics in one streaming pass
over its frames (a window of the last k_max + 1 frames, never the whole shot in memory).

`evaluate_shot` runs in the benchmark's own process or, while the frames still render, in the
follower process (worldgen.bench.follower); both give the same numbers."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from worldgen.bench import metrics as M
from worldgen.bench import shotdrift_judge
from worldgen.bench.options import WARP_KS
from worldgen.io import read_passes


@dataclass
class ShotPlan:
    """Where one shot's files are and what its camera was asked to do (picklable)."""

    id: str
    frames: list[str]  # painted frames, absolute paths, in order
    passes: list[str]  # pass files, same order
    camera: dict  # the spec's camera of this shot
    fps: float


@dataclass
class EvalConfig:
    ks: tuple[int, ...] = WARP_KS
    long_range_every: int | None = None
    structure_every: int = 1
    tex_res: int = 64
    tol_px: float = 2.0
    textures: bool = False  # accumulate uv textures (only when shots can be paired)
    judge_camera: bool = True

    def every(self, k: int) -> int:
        """Start frames of k-chains are this far apart: every frame for k = 1, else every
        `long_range_every` (default k: chains that tile the shot without overlapping)."""
        if k == 1:
            return 1
        return max(1, self.long_range_every or k)


@dataclass
class ShotEval:
    """Metrics of one shot, before they are assembled into results."""

    id: str
    frames: int
    warp: dict  # k -> metrics.WarpingError
    warp_every: dict  # k -> start spacing
    flicker: float | None  # VBench score over the still pixels of consecutive pairs (kept only for static shots)
    structure: list  # (frame index, metrics.StructureF1)
    camera: dict  # shotdrift_judge.judge output
    textures: dict | None  # instance -> (colour sum (R, R, 3), counts (R, R))
    seconds: float  # wall time, including any wait for frames still rendering
    cpu_seconds: float  # CPU time of the evaluating process
    still_share: float | None = None  # mean share of pixels still between consecutive frames (exact passes)
    moving_share_max: float | None = None  # largest share of pixels that moved between two frames


def read_frame(path: str | Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class _Slot:
    __slots__ = ("index", "frame", "flow", "occlusion", "depth")

    def __init__(self, index, frame, flow, occlusion, depth=None):
        self.index, self.frame, self.flow, self.occlusion, self.depth = index, frame, flow, occlusion, depth


def _accumulate_textures(acc: dict, frame: np.ndarray, instance: np.ndarray, uv: np.ndarray, tex_res: int) -> None:
    """Add one frame to each instance's uv texture (colour sums and counts). Pixels are grouped
    by instance once, so the cost is one pass over the frame however many objects it shows."""
    ids = instance.ravel()
    picked = np.flatnonzero(ids != 0)
    if picked.size == 0:
        return
    picked = picked[np.argsort(ids[picked], kind="stable")]
    values, starts = np.unique(ids[picked], return_index=True)
    ends = np.append(starts[1:], picked.size)
    rgb, uvs = frame.reshape(-1, frame.shape[-1]), uv.reshape(-1, 2)
    for value, a, b in zip(values, starts, ends):
        sel = picked[a:b]
        one_row = ([rgb[sel][None]], [(np.full((1, b - a), value), uvs[sel][None])])
        tex = M.uv_texture(one_row, int(value), tex_res)
        colour_sum, counts = acc.setdefault(
            int(value), (np.zeros((tex_res, tex_res, 3)), np.zeros((tex_res, tex_res), np.int64))
        )
        colour_sum += tex.colour * tex.counts[..., None]
        counts += tex.counts


def texture_of(colour_sum: np.ndarray, counts: np.ndarray) -> M.UvTexture:
    return M.UvTexture(colour_sum / np.maximum(counts, 1)[..., None], counts)


def evaluate_shot(plan: ShotPlan, cfg: EvalConfig, wait: Callable | None = None) -> ShotEval:
    """Every per-shot metric in one pass over the frames; `wait(paths)` blocks until files exist
    (used while they are still rendering)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    ks = tuple(sorted(set(cfg.ks)))
    window: deque = deque(maxlen=max(ks) + 1)
    warp = {k: ([], [], [], []) for k in ks}  # values, starts, pixels, skipped
    flicker, structure, small, shares = [], [], [], []
    textures = {} if cfg.textures else None
    for i, (frame_path, passes_path) in enumerate(zip(plan.frames, plan.passes, strict=True)):
        if wait is not None:
            wait((frame_path, passes_path))
        frame = read_frame(frame_path)
        passes = read_passes(Path(passes_path))
        window.append(_Slot(i, frame, passes["flow_fwd"], passes["occlusion_fwd"], passes["depth"]))
        for k in ks:
            start = i - k
            if start < 0 or start % cfg.every(k):
                continue
            chain = list(window)[-(k + 1) :]
            flow, visible = M.compose_forward_flow([s.flow for s in chain[:-1]], [s.occlusion for s in chain[:-1]])
            error, count = M.pair_warping_error(chain[0].frame, frame, flow, visible)
            values, starts, pixels, skipped = warp[k]
            if error is None:
                skipped.append(start)
            else:
                values.append(error), starts.append(start), pixels.append(count)
        if len(window) > 1:
            prev = window[-2]
            still = M.still_pixels(prev.flow, prev.occlusion, prev.depth, passes["depth"])
            shares.append(float(still.mean()))
            flicker.append(M.pair_flicker(prev.frame, frame, still))
        if i % cfg.structure_every == 0:
            structure.append(
                (i, M.structure_f1(frame, passes["depth"], passes["normal"], passes["instance"], tol_px=cfg.tol_px))
            )
        if textures is not None:
            _accumulate_textures(textures, frame, passes["instance"], passes["uv"], cfg.tex_res)
        if cfg.judge_camera:
            small.append(shotdrift_judge.analysis_frame(frame))
    errors = {}
    for k, (values, starts, pixels, skipped) in warp.items():
        mean = float(np.mean(values)) if values else float("nan")
        errors[k] = M.WarpingError(
            k,
            np.asarray(values, np.float64),
            np.asarray(starts, np.int64),
            np.asarray(pixels, np.int64),
            tuple(skipped),
            mean,
        )
    score = M.flicker_score(flicker)  # pairs without still pixels are skipped
    moving = 1.0 - min(shares) if shares else None
    camera = (
        shotdrift_judge.judge(small, plan.camera, plan.fps, moving_share=moving)
        if cfg.judge_camera
        else {"verdict": shotdrift_judge.NOT_JUDGED, "detail": "camera judging switched off", "expect": None}
    )
    return ShotEval(
        plan.id,
        len(plan.frames),
        errors,
        {k: cfg.every(k) for k in ks},
        score,
        structure,
        camera,
        textures,
        time.perf_counter() - t0,
        time.process_time() - cpu0,
        float(np.mean(shares)) if shares else None,
        moving,
    )


def evaluate_shots(plans: Sequence[ShotPlan], cfg: EvalConfig, wait: Callable | None = None) -> list[ShotEval]:
    return [evaluate_shot(p, cfg, wait) for p in plans]
