"""Which writer a file name asks for, and the one call that exports a spec to it.

The format follows the extension, and a missing optional library is reported before any
work is done, naming the pip package that brings it."""

from __future__ import annotations

from pathlib import Path

from worldgen.errors import WorldgenError
from worldgen.spec.models import Spec

FORMATS = {
    ".glb": "glTF 2.0 binary",
    ".gltf": "glTF 2.0 (JSON, buffer inlined)",
    ".usda": "OpenUSD text stage",
    ".otio": "OpenTimelineIO timeline",
}


def format_of(path: Path) -> str:
    """The extension of a supported export file, lower-case; anything else is a user error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"'{Path(path).suffix}'" if suffix else "no extension"
        raise WorldgenError(f"{path}: {shown} is not an export format; use one of {', '.join(FORMATS)}")
    return suffix


def require_library(suffix: str) -> None:
    """Fail early (BackendError, exit 4) when the format's optional library is not installed."""
    if suffix == ".usda":
        from worldgen.export.usd import import_pxr

        import_pxr()
    elif suffix == ".otio":
        from worldgen.export.otio import import_otio

        import_otio()


def export_spec(spec: Spec, path: Path, world=None, render_dir: Path | None = None, media: str = "frames") -> str:
    """Write `spec` to `path` in the format its extension names; returns a one-line summary.
    `world` (built from the spec when not given) is not needed for .otio; `render_dir` and
    `media` apply to .otio only."""
    suffix = format_of(path)
    require_library(suffix)
    path = Path(path)
    try:
        return _write(spec, path, suffix, world, render_dir, media)
    except OSError as e:  # a folder in the way, no permission, a full disk
        raise WorldgenError(f"{path}: cannot write ({e.strerror or type(e).__name__})") from None


def _write(spec: Spec, path: Path, suffix: str, world, render_dir: Path | None, media: str) -> str:
    if suffix == ".otio":
        from worldgen.export.otio import write_otio

        write_otio(spec, path, render_dir, media)
        return f"{len(spec.shots)} clips at {spec.render.fps:g} fps"
    if world is None:
        from worldgen.world import World

        world = World(spec)
    from worldgen.export.scene import build_export_scene

    scene = build_export_scene(spec, world)
    if suffix == ".usda":
        from worldgen.export.usd import write_usd

        write_usd(scene, path)
    else:
        from worldgen.export.gltf import write_gltf

        write_gltf(scene, path)
    meshes = sum(n.mesh is not None for n in scene.nodes)
    return f"{meshes} meshes, {len(scene.cameras)} cameras, {len(scene.times)} samples at {scene.fps:g} fps" + (
        " (--render applies to .otio only; ignored)" if render_dir is not None else ""
    )
