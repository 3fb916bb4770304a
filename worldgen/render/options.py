"""What a render is asked to do (`RenderOptions`) and what it reports back (`RenderResult`).

Plain dataclasses, importable without any rendering stack, so that the CLI, the benchmark and
Ray tasks can build and ship them cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection

RUN_FILE = ".worldgen-run.json"
# the conditioning images a render writes (worldgen.control.WRITTEN_CONTROL_KINDS, repeated here so
# that options import without numpy; tests/test_render.py keeps the two equal)
WRITTEN_CONTROL_KINDS = ("depth", "normal", "canny", "seg", "openpose")


@dataclass
class RenderOptions:
    """Every setting of one render; the defaults render every shot of the spec as it says."""

    backend: str | None = None  # default: the spec's render.backend
    shots: list[str] | None = None  # default: every shot
    fmt: str = "npz"  # passes as npz or exr
    passes: bool = True
    pass_arrays: bool = True  # with passes: the pass arrays too (False: control images only, --passes control)
    paint: bool = True
    control: tuple[str, ...] = WRITTEN_CONTROL_KINDS
    film: bool = True
    overwrite: bool = False
    progress: bool = True
    painter: str | None = None  # default: the spec's render.painter
    painter_options: dict[str, Any] = field(default_factory=dict)  # passed to the painter (models, strength, ...)
    force: bool = False  # recompute every frame (ignore finished files and the store)
    frames: dict[str, Collection[int]] | None = None  # shot id -> frame indices: only these (reproducing single frames)
    store: str | None = None  # content-addressed frame store (default $WORLDGEN_CACHE/frames)
    use_store: bool = True
    executor: str = "local"  # local | ray
    ray_address: str | None = None  # a running Ray cluster ("auto", "ray://host:10001"); default: start one here
    ray_workers: int | None = None  # local Ray: worker processes (default: CPUs)
    # local executor: processes painting frames; 0 = one per usable CPU when the render is large
    # enough to repay starting them (the CLI's default; a library caller opts in, since spawned
    # workers re-import the caller's main module)
    jobs: int = 1
    voice_model: str | None = None  # a transformers text-to-speech folder for the dialogue (default: flite)
    music_model: str | None = None  # a transformers MusicGen folder for the composed cues (default: the MIDI score)
    loudness: float | None = None  # LUFS of the film's mix (default: the spec's sound.loudness, else -14)


@dataclass
class RenderResult:
    """What a render did: its folder, its manifest, and how many frames it computed, found
    finished in the folder, or linked from the store."""

    out_dir: Path
    manifest: dict[str, Any]
    frames_rendered: int = 0
    frames_skipped: int = 0
    frames_from_store: int = 0
    timings: dict[str, float] = field(default_factory=dict)
