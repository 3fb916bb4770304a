"""Painters by name: how a render turns passes into pictures.

Every painter has `set_style(text)`, `paint(view) -> uint8 (H, W, 3)`, and optionally
`prepare(shots)` (work done once per world before any frame, e.g. look development) and
`stats() -> dict` (cost counters such as UNet evaluations), which the manifest records."""
from __future__ import annotations

from worldgen.errors import WorldgenError
from worldgen.spec.painters import BUILT_IN  # noqa: F401  (the names worldgen ships; declared where the spec checks them)

PAINTERS = {"procedural": "the embedded look from appearance words; no weights, no GPU"}


class PainterError(WorldgenError):
    """A painter that does not exist or cannot run here."""


def register(name: str, description: str) -> None:
    PAINTERS[name] = description


def make_painter(name: str, world, raster, options: dict | None = None):
    """The painter `name` for this world; `raster` is the rasterizer, whose ray caster the
    painters reuse for shadow rays."""
    options = dict(options or {})
    if name == "procedural":
        from worldgen.paint.procedural import ProceduralPainter
        caster = raster.backend if hasattr(raster.backend, "occluded") else None
        return ProceduralPainter(world, shadows=world.spec.render.shadows, caster=caster, **options)
    _load_plugins()
    factory = _FACTORIES.get(name)
    if factory is None:
        raise PainterError(f"--painter: no painter '{name}' (painters: {', '.join(sorted(PAINTERS))})")
    return factory(world, raster, options)


_FACTORIES: dict = {}


def factory(name: str, description: str):
    """Decorator: register a painter factory `(world, raster, options) -> painter`."""
    def wrap(fn):
        _FACTORIES[name] = fn
        register(name, description)
        return fn
    return wrap


def _load_plugins() -> None:
    """Painters with heavy imports (torch, diffusers) register themselves when imported."""
    try:
        import worldgen.diffusion.painters  # noqa: F401
    except ImportError:
        pass
