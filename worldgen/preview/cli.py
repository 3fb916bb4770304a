"""The `worldgen preview` command (registered by worldgen.cli): serve the live page until Ctrl+C."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from worldgen.console import console

_err = console(stderr=True)
_out = console()


def preview(
    spec: Path = typer.Argument(..., help="Scene spec (YAML); watched: saving it updates the page."),
    port: int = typer.Option(8377, "--port", min=0, max=65535, help="TCP port (0: any free port)."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on. Anything but loopback lets other "
        "machines read the spec and its assets: a warning is printed.",
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in the default web browser."),
):
    """Serve a live page of the spec's world: proxy geometry in its colours, characters posed at
    the playhead, each shot's camera path and frustums, a timeline with play/pause, a view
    through any shot's camera, and the renderer's own frame, depth and segmentation on request.

    Saving the spec updates the page within a moment, keeping your camera and time; a spec
    error shows the line 'worldgen validate' prints and the last good world stays. The page
    reads the library's glTF export and camera samples, not the YAML. See docs/PREVIEW.md.

    Example: worldgen preview scenes/lighthouse.yaml --open
    """
    from worldgen.preview.server import PreviewServer, is_loopback

    if not spec.is_file():
        _err.print(f"[bold red]error:[/] {escape(str(spec))}: no such file")
        raise typer.Exit(2)
    if not is_loopback(host):
        _err.print(
            f"[bold yellow]warning:[/] serving on {escape(host)}: other machines on the network can open "
            "the page and read the spec and the assets it names"
        )
    server = PreviewServer(spec, host=host, port=port)
    try:
        first = server.start()
    except OSError as e:
        _err.print(f"[bold red]error:[/] cannot listen on {escape(host)}:{port} ({escape(e.strerror or str(e))})")
        raise typer.Exit(4)
    if first["error"]:
        _err.print(f"[bold red]error:[/] {escape(first['error']['message'])} (serving anyway; fix and save)")
    _out.print(f"worldgen preview of {spec} at {server.url} (Ctrl+C to stop)", markup=False)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.closing.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
