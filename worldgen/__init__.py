"""worldgen: make the world first, paint it second.

A scene spec (YAML) becomes a persistent 3D world; every frame of every shot is a view of
that world, with exact passes (depth, normals, ids, uv, flow) and a painted image.

Library first; the CLI (``worldgen``) is a thin layer over these functions::

    from worldgen import load_spec, World, render_film
    spec = load_spec("scenes/lighthouse.yaml")
    render_film(spec, "out/lighthouse")
"""

__version__ = "0.1.0"

import os as _os

# The pass kernels (numba, OpenMP) and Open3D's ray caster (TBB) take turns on the same cores.
# OpenMP threads busy-wait after each parallel loop by default, stealing the cores from the
# next ray cast (measured: 9 ms -> 14 ms per cast at 512^2). Passive waiting removes that.
# Set before any OpenMP runtime loads; a value the user chose is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from worldgen.errors import SpecError, WorldgenError  # noqa: E402
from worldgen.spec import Spec, load_spec  # noqa: E402


def __getattr__(name):  # lazy: keep `import worldgen` light (no open3d/torch at import)
    if name == "World":
        from worldgen.world import World

        return World
    if name in ("render_film", "render_passes"):
        from worldgen import render

        return getattr(render, name)
    raise AttributeError(name)


__all__ = ["__version__", "SpecError", "WorldgenError", "Spec", "load_spec", "World", "render_film", "render_passes"]
