"""Rendering: a spec's shots become frames, passes, control images, a film and a manifest.

The package's rooms (docs/ARCHITECTURE.md):

| module | job |
|---|---|
| options | `RenderOptions`, `RenderResult`: what a render is asked and what it reports |
| orchestrate | `render`: plan the frames, link what the store holds, run an executor, write the manifest and the film |
| frames | computing frames: output paths, the lazily made rasterizer and painter, `compute_frames` |
| keys | content keys of every output (what decides its bytes) |
| store_link | taking finished frames and depth ranges from the frame store |
| manifest | the manifest (docs/MANIFEST.md) |
| record | the run record of an output folder, library versions, the machine |
| local, ray_executor | the executors: this process, or Ray tasks |
| reproduce | rendering frames of a manifest again and comparing them |
| film_render | a film (format 2): every scene rendered into scenes/<id>/, one cut, the film's manifest |
| progress | the progress bar |
"""

from worldgen.render.options import RUN_FILE, WRITTEN_CONTROL_KINDS, RenderOptions, RenderResult
from worldgen.render.orchestrate import render, render_film, render_passes
from worldgen.render.record import run_record
from worldgen.render.reproduce import reproduce
from worldgen.spec.identity import spec_hash

__all__ = [
    "RUN_FILE",
    "WRITTEN_CONTROL_KINDS",
    "RenderOptions",
    "RenderResult",
    "render",
    "render_film",
    "render_passes",
    "reproduce",
    "run_record",
    "spec_hash",
]
