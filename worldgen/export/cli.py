"""The `worldgen export` command (registered by worldgen.cli): a thin layer over
worldgen.export.formats.export_spec that turns errors into one line and an exit code."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from worldgen.console import console
from worldgen.errors import WorldgenError

_err = console(stderr=True)
_out = console()


class Media(str, Enum):
    frames = "frames"
    film = "film"


def export(
    spec: Path = typer.Argument(..., help="Scene spec (YAML)."),
    to: Path = typer.Option(
        ...,
        "--to",
        "-t",
        help="File to write; its extension picks the format: "
        ".glb or .gltf (glTF 2.0), .usda (OpenUSD), .otio (OpenTimelineIO).",
    ),
    render_dir: Optional[Path] = typer.Option(
        None,
        "--render",
        help=".otio only: a folder written by 'worldgen render SPEC -o DIR'; clips then "
        "point at its media instead of missing references.",
    ),
    media: Media = typer.Option(
        Media.frames,
        "--media",
        help=".otio only: 'frames' links each clip to its shot's PNG sequence, 'film' to its range of film.mp4.",
    ),
):
    """Write the world and its shots for other tools; the extension of --to picks the format.

    .glb/.gltf  glTF 2.0: meshes with PBR colours, motion sampled at the fps,
                one animated camera per shot (Blender, any glTF viewer).

    .usda       OpenUSD stage: the same in metres, +Y up, time code =
                seconds x fps, one UsdGeom.Camera per shot (pip install usd-core).

    .otio       OpenTimelineIO edit: one clip per shot in film order; with
                --render DIR clips link to its frames or film.mp4
                (pip install opentimelineio).

    A film spec (format 2): .otio is the film's edit with one nested sequence per
    scene; .usda a root stage referencing one layer per set (<stem>.sets/); .glb/.gltf
    one file per set (<stem>.<set>.glb).

    The spec is checked first as 'worldgen validate' does. Same spec, same bytes.

    Examples:

      worldgen export scenes/lighthouse.yaml --to out/lighthouse.glb

      worldgen export scenes/lighthouse.yaml --to l.otio --render out/lighthouse
    """
    from worldgen.export.formats import export_spec, format_of, require_library

    try:
        require_library(format_of(to))
        from worldgen.spec.film_loader import Film, load_any
        from worldgen.world_checks import check_geometry
        from worldgen.world import World

        loaded = load_any(spec)
        if isinstance(loaded, Film):  # format 2: the film's timeline, or its sets
            from worldgen.export.film_export import export_film

            for scene in loaded.scenes:
                check_geometry(scene.spec, World(scene.spec))
            summary = export_film(loaded, to, render_dir=render_dir)
        else:
            world = World(loaded)
            check_geometry(loaded, world)
            summary = export_spec(loaded, to, world=world, render_dir=render_dir, media=media.value)
    except WorldgenError as e:
        _err.print(f"[bold red]error:[/] {escape(str(e))}")  # spec text may hold '[/]'
        raise typer.Exit(e.exit_code)
    _out.print(f"wrote {to}: {summary}", markup=False)
