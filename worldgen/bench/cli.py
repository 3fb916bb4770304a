"""`worldgen bench`: the command over `worldgen.bench.runner.run_bench` (the library does the work).

Registered in worldgen/cli.py as `app.command()(bench)`; `main()` runs it on its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from worldgen.console import console, reflow_help
from worldgen.errors import WorldgenError

err = console(stderr=True)
out = console()

DEFAULT_METHODS = "procedural,per-frame,fixed-seed,anchored-noise,baked,baked+refine"


class BenchUsageError(WorldgenError):
    """A malformed bench flag."""


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'WxH' -> (W, H)."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise BenchUsageError(f"--size: '{text}' is not WIDTHxHEIGHT, e.g. 128x72") from None
    return w, h


def parse_painter_options(items: list[str] | None, controlnets: list[str] | None) -> dict:
    """KEY=VALUE (values read as YAML scalars: 0.3 is a number, true a bool) and
    --controlnet KIND=PATH_OR_ID[@WEIGHT] into painter options."""
    import yaml

    options: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchUsageError(f"--painter-option: '{item}' is not KEY=VALUE")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            options[key.strip()] = value
    if controlnets:
        nets, weights = {}, {}
        for item in controlnets:
            kind, sep, ref = item.partition("=")
            if not sep or not kind or not ref:
                raise BenchUsageError(f"--controlnet: '{item}' is not KIND=PATH_OR_ID[@WEIGHT]")
            ref, _, weight = ref.partition("@")
            nets[kind] = ref
            if weight:
                try:
                    weights[kind] = float(weight)
                except ValueError:
                    raise BenchUsageError(f"--controlnet: weight '{weight}' is not a number") from None
        options["controlnets"] = nets
        if weights:
            options["weights"] = weights
    return options


def _print_line(line: str) -> None:
    out.print(line, markup=False)


def bench(
    specs: Optional[List[Path]] = typer.Argument(
        None,
        help="Scene specs (YAML) to render with each method, and/or folders that already hold a "
        "render (`worldgen render` output; its painter is the method). None: the built-in "
        "suite (worldgen/bench/suite, shipped with the package).",
    ),
    output: Path = typer.Option(
        Path("out/bench"),
        "-o",
        "--output",
        help="Folder for results.json, results.md, plots/, strips/, videos/, index.html "
        "and the renders (renders/<scene>/<method>/, resumed on a re-run).",
    ),
    methods: str = typer.Option(
        DEFAULT_METHODS,
        "--methods",
        help="Comma-separated painting methods. One that cannot run here (painter not "
        "installed, no model) is reported as 'unavailable', not an error.",
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        "--base-model",
        help="Diffusion methods: base model (diffusers folder, hub id in the local "
        "cache, .safetensors file, or a tiny test model folder, whose "
        "controlnet-<kind>/ sub-folders are used as its ControlNets).",
    ),
    controlnet: Optional[List[str]] = typer.Option(
        None, "--controlnet", help="Diffusion methods: KIND=PATH_OR_ID\\[@WEIGHT], repeat per net."
    ),
    painter_option: Optional[List[str]] = typer.Option(
        None,
        "--painter-option",
        help="Diffusion methods: KEY=VALUE passed to the painter (e.g. steps=4, device=cuda, refine=0.3); repeatable.",
    ),
    size: Optional[str] = typer.Option(
        None, "--size", help="Render specs at WIDTHxHEIGHT instead of their own size (e.g. 128x72 for a quick CI run)."
    ),
    fps: Optional[float] = typer.Option(None, "--fps", help="Render specs at this frame rate instead of their own."),
    long_range_every: Optional[int] = typer.Option(
        None,
        "--long-range-every",
        help="Start an E_warp(k>1) chain every N frames (default: every k frames, chains that tile the shot; "
        "1 = every frame, as in the paper, k times slower).",
    ),
    structure_every: int = typer.Option(1, "--structure-every", help="Edge F1 on every N-th frame."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Re-render from scratch (a resumed render has no new cost figures)."
    ),
    video: bool = typer.Option(True, "--video/--no-video", help="Side-by-side MP4 per scene in the report."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
):
    """Measure how consistent rendered films are, and compare painting methods side by side.

    Each scene is rendered with each method (or an existing render folder is read), and every
    metric is computed against the world's exact passes, so no learned weights judge anything:
    warping error E_warp at k = 1, 5, 10 (lower is better), VBench temporal flickering on
    static-camera shots (higher), identity drift of each object between shots in its uv
    texture space (lower), edge F1 against the geometric edges (higher), camera moves HELD as
    judged from the pixels by the independent tool shotdrift, and cost (seconds, UNet
    evaluations per frame and per film second, peak memory). docs/BENCHMARK.md explains every
    column.

    Examples:

      worldgen bench --methods procedural --size 128x72          (the built-in suite, small)

      worldgen bench scenes/lighthouse.yaml --methods procedural,baked --model PATH -o out/b

      worldgen bench out/render_a out/render_b -o out/compare    (finished renders)

    Writes OUTPUT/results.json, results.md, plots/*.png, strips/*.png, videos/*.mp4 and
    index.html (open it in a browser)."""
    from worldgen.bench.runner import BenchOptions, run_bench

    try:
        options = BenchOptions(
            size=parse_size(size),
            fps=fps,
            model=model,
            painter_options=parse_painter_options(painter_option, controlnet),
            long_range_every=long_range_every,
            structure_every=structure_every,
            fresh=fresh,
            progress=not quiet,
            video=video,
            log=None if quiet else _print_line,
        )
        results = run_bench(specs or [], [m for m in methods.split(",")], output, options)
    except WorldgenError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}")
        raise typer.Exit(e.exit_code)
    failed = [
        (s["scene"], m, r["reason"])
        for s in results["scenes"]
        for m, r in s["methods"].items()
        if r["status"] == "failed"
    ]
    if not quiet:
        out.print(f"results: {output / 'results.md'}\npage: {output / results['files']['html']}", markup=False)
    if failed:
        for scene, method, reason in failed:
            err.print(f"[bold red]failed:[/] {escape(f'{scene} / {method}: {reason}')}")
        raise typer.Exit(1)


app = typer.Typer(add_completion=False, rich_markup_mode="rich")
app.command()(bench)
reflow_help(app)


def main():
    """Run `bench` as a command of its own (worldgen/cli.py registers it as `worldgen bench`)."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; finished frames are kept and a re-run resumes")
        sys.exit(130)
    except WorldgenError as e:
        err.print(f"error: {e}", markup=False)
        sys.exit(e.exit_code)
    except Exception as e:  # noqa: BLE001 - a bug: one line unless debugging
        if os.environ.get("WORLDGEN_DEBUG"):
            raise
        err.print(f"internal error: {type(e).__name__}: {e} (set WORLDGEN_DEBUG=1 for the traceback)", markup=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
