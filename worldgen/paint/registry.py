"""Painters by name: how a render turns passes into pictures.

A name leads to a `worldgen.paint.base.Painter` subclass or a factory
`(world, raster, options) -> Painter`. Worldgen's own painters are listed in `BUILT_IN_PAINTERS`
as "module:attr" and imported only when a render asks for one by name (the diffusion ones pull
in torch and diffusers), so this module imports nothing above its layer. Other packages ship
painters through the entry-point group `worldgen.painters` (docs/ARCHITECTURE.md, "Writing a
painter plugin"); `load_plugins()` reads that group once per process."""

from __future__ import annotations

import importlib
import importlib.metadata

from worldgen.errors import WorldgenError
from worldgen.paint.base import Painter
from worldgen.spec.painters import BUILT_IN

ENTRY_POINT_GROUP = "worldgen.painters"

# name -> ("module:attr", description). The names are the spec's (worldgen.spec.painters).
BUILT_IN_PAINTERS = {
    "procedural": (
        "worldgen.paint.procedural:ProceduralPainter",
        "the embedded look from appearance words; no weights, no GPU",
    ),
    "baked": (
        "worldgen.diffusion.painters:BakedPainter",
        "look development paints each object's texture once; frames are the textured world (0 UNet evaluations per frame)",
    ),
    "diffusion": (
        "worldgen.diffusion.painters:BakedPainter",
        "the diffusion painter: 'baked', plus refinement when --refine STRENGTH > 0",
    ),
    "baked+refine": (
        "worldgen.diffusion.painters:RefinePainter",
        "baked frames refined by ControlNet img2img at low strength, noise on the surfaces, latents along the flow",
    ),
    "baked+animatediff": (
        "worldgen.diffusion.painters:VideoRefinePainter",
        "baked frames refined in chunks by video diffusion (AnimateDiff motion adapter + ControlNet)",
    ),
    "per-frame": (
        "worldgen.diffusion.painters:PerFramePainter",
        "baseline: ControlNet text-to-image on every frame from fresh noise",
    ),
    "fixed-seed": (
        "worldgen.diffusion.painters:FixedSeedPainter",
        "baseline: ControlNet text-to-image on every frame, one seed",
    ),
    "anchored-noise": (
        "worldgen.diffusion.painters:AnchoredNoisePainter",
        "per-frame text-to-image whose starting noise is anchored on the surfaces",
    ),
}
assert set(BUILT_IN_PAINTERS) == set(BUILT_IN), "worldgen.spec.painters.BUILT_IN and the registry list the same names"

PAINTERS = {name: text for name, (_, text) in BUILT_IN_PAINTERS.items()}  # name -> description
_TARGETS = {name: target for name, (target, _) in BUILT_IN_PAINTERS.items()}  # name -> "module:attr" or an object
_loaded: dict = {}  # name -> the imported class or factory
_plugins_read = False


class PainterError(WorldgenError):
    """A painter that does not exist or cannot run here."""


def register(name: str, target, description: str = "") -> None:
    """Register a painter: `target` is a Painter subclass, a factory or "module:attr"."""
    _TARGETS[name] = target
    PAINTERS[name] = description or PAINTERS.get(name, "")
    _loaded.pop(name, None)


def unregister(name: str) -> None:
    for table in (_TARGETS, PAINTERS, _loaded):
        table.pop(name, None)


def load_plugins() -> None:
    """Register the painters other installed packages declare in the `worldgen.painters`
    entry-point group (once per process). An entry point names a Painter subclass or a factory;
    it is imported only when a render asks for its name. Worldgen's own names win."""
    global _plugins_read
    if _plugins_read:
        return
    _plugins_read = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _TARGETS:
            _TARGETS[ep.name] = ep
            PAINTERS[ep.name] = f"plugin painter from {ep.value}"


def names() -> list[str]:
    """Every painter name known here: worldgen's own and the plugins'."""
    load_plugins()
    return sorted(PAINTERS)


def _resolve(name: str):
    """The class or factory behind a name, imported now; PainterError when it cannot be."""
    if name in _loaded:
        return _loaded[name]
    load_plugins()
    target = _TARGETS.get(name)
    if target is None:
        raise PainterError(f"--painter: no painter '{name}' (painters: {', '.join(sorted(PAINTERS))})")
    where = target if isinstance(target, str) else getattr(target, "value", None)
    try:
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            obj = getattr(importlib.import_module(module), attr)
        elif isinstance(target, importlib.metadata.EntryPoint):
            obj = target.load()
        else:
            obj = target
    except ImportError as e:
        extra = (
            " (pip install 'worldgen[diffusion]')"
            if (e.name or "").split(".")[0] in ("torch", "diffusers", "transformers", "controlnet_aux")
            else ""
        )
        raise PainterError(f"no painter '{name}' here: {where} cannot be imported ({e}){extra}") from None
    except Exception as e:  # noqa: BLE001 - a broken plugin is reported in one line, not a traceback
        raise PainterError(f"painter '{name}': loading {where} failed: {type(e).__name__}: {e}") from None
    if not (isinstance(obj, type) and issubclass(obj, Painter)) and (isinstance(obj, type) or not callable(obj)):
        raise PainterError(
            f"painter '{name}': {where or obj!r} is not a worldgen.paint.base.Painter subclass nor a "
            "factory (world, raster, options) -> Painter"
        )
    _loaded[name] = obj
    return obj


def painter_class(name: str) -> type[Painter] | None:
    """The Painter subclass a name leads to (its class attributes say what it needs), or None
    for a factory (whose painter's class is known only once it is made)."""
    obj = _resolve(name)
    return obj if isinstance(obj, type) else None


def unavailable_reason(name: str) -> str | None:
    """Why `name` cannot paint here (unknown, or its module does not import), else None."""
    try:
        _resolve(name)
    except PainterError as e:
        return str(e)
    return None


def make_painter(name: str, world, raster, options: dict | None = None) -> Painter:
    """The painter `name` for this world; `raster` is the rasterizer, whose ray caster the
    painters reuse for shadow rays."""
    obj = _resolve(name)
    options = dict(options or {})
    painter = obj.create(world, raster, options) if isinstance(obj, type) else obj(world, raster, options)
    if not isinstance(painter, Painter):
        raise PainterError(
            f"painter '{name}': its factory made {type(painter).__name__}, not a worldgen.paint.base.Painter"
        )
    return painter
