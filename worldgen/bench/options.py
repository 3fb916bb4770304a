"""What a benchmark run is asked to do (`BenchOptions`), the methods it runs by default, and the
one error its inputs raise (`BenchError`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from worldgen.errors import WorldgenError

BENCH_METHODS = ("procedural", "per-frame", "fixed-seed", "anchored-noise", "baked", "baked+refine")
WARP_KS = (1, 5, 10)
RESULTS_VERSION = 1
COST_FILE = "bench-cost.json"  # cost of the render that made a folder, kept for resumed runs


class BenchError(WorldgenError):
    """A bench input that needs fixing (a missing file, an unknown method, a bad size)."""


@dataclass
class BenchOptions:
    """How to run the benchmark. Defaults measure everything at the specs' own settings."""

    size: tuple[int, int] | None = None  # render width, height instead of the specs' own
    fps: float | None = None  # frames per second instead of the specs' own
    model: str | None = None  # diffusion painters: a model folder, hub id or tiny-model dir
    painter_options: dict = field(default_factory=dict)  # more options for diffusion painters
    backend: str | None = None  # rasterizer backend (default: the spec's)
    ks: tuple[int, ...] = WARP_KS  # warping-error frame distances
    long_range_every: int | None = None  # a k > 1 chain starts every this many frames; None = every k
    structure_every: int = 1  # edge F1 on every n-th frame
    tex_res: int = 64  # identity drift texture resolution
    tol_px: float = 2.0  # edge F1 tolerance
    judge_camera: bool = True  # camera-move adherence through shotdrift
    follow: bool = True  # evaluate in a second process while the frames render
    fresh: bool = False  # delete earlier renders first (a resumed render has no cost figure)
    progress: bool = False  # the render's progress bar
    report: bool = True  # write results.json, Markdown, plots and HTML into out_dir
    video: bool = True  # side-by-side MP4 per scene in the report
    log: Callable[[str], None] | None = None  # one line per step, e.g. print
