"""Work-arounds for third-party packages, each explained, each a no-op where not needed."""

from __future__ import annotations

import importlib.util
import os


def numpy_aliases_for_pyrender() -> None:
    """pyrender 0.1.45 uses `np.infty`, removed in numpy 2.0; alias it to `np.inf`."""
    import numpy as np

    if not hasattr(np, "infty"):
        np.infty = np.inf


def torchvision_importable() -> str:
    """Make `import torchvision` (and so `import controlnet_aux`, through timm) work when
    torchvision's compiled ops cannot load, e.g. a CUDA torchvision next to a CPU-only torch.

    torchvision's Python code registers fake kernels for `torchvision::nms` and `::qnms`
    without checking that its C++ library defined them, so a missing library is a crash at
    import. Declaring the two schemas first lets the import finish; worldgen uses none of the
    compiled ops (controlnet-aux's drawing and edge code is numpy/cv2). Returns what was done."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return "absent"
    import torch

    lib_path = os.path.join(os.path.dirname(spec.origin), "_C.so")
    try:
        if os.path.exists(lib_path):
            torch.ops.load_library(lib_path)
        return "native"
    except (OSError, RuntimeError):
        pass
    if not hasattr(torchvision_importable, "_lib"):
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        torchvision_importable._lib = lib  # keep the registration alive
    return "schemas-only"


def import_controlnet_aux():
    import warnings

    torchvision_importable()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import controlnet_aux
    return controlnet_aux


def cpu_has_amx() -> bool:
    """Whether the kernel reports Intel AMX tiles (Sapphire Rapids and later)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_tile" in line.split()
    except OSError:
        pass
    return False


def llama_cpp_without_amx() -> bool:
    """llama.cpp built for the machine (`-march=native`) puts weights into its AMX buffer type
    on CPUs that report AMX, and its AMX matrix multiply crashes the process (SIGSEGV in
    `ggml_backend_amx_mul_mat`) on the virtual machines this project is built on, on the first
    decode. Turning off llama.cpp's extra buffer types (`use_extra_bufts`, a model parameter
    that llama-cpp-python does not expose) keeps weights in plain CPU buffers; it costs only the
    repacked-weights speed-up. Done by wrapping llama-cpp-python's default model parameters,
    where AMX is reported, unless WORLDGEN_LLAMA_EXTRA_BUFTS=1. Returns whether it applied."""
    if os.environ.get("WORLDGEN_LLAMA_EXTRA_BUFTS") == "1" or not cpu_has_amx():
        return False
    import llama_cpp.llama_cpp as low

    if getattr(low.llama_model_default_params, "_worldgen_no_extra_bufts", False):
        return True
    original = low.llama_model_default_params

    def default_params():
        params = original()
        params.use_extra_bufts = False
        return params

    default_params._worldgen_no_extra_bufts = True
    low.llama_model_default_params = default_params
    return True


def run_llama_server(argv: list[str]) -> None:
    """`python -m llama_cpp.server ARGS` with the work-around above (for tests and users who
    serve the embedded model to `--llm-url`)."""
    import runpy
    import sys

    llama_cpp_without_amx()
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


_PLOTLY_VIEWER = "open3d.visualization.draw_plotly"


def import_open3d():
    """`import open3d`, without paying for its plotly viewer until someone uses it.

    open3d's package import runs `open3d.visualization.draw_plotly`, which imports plotly and
    the dash web framework: about a second of every render's start (and of every worker
    process's), for a viewer worldgen never opens. A stand-in module takes its place during
    the import; its three functions import the real module on first call and hand over to it,
    so a program that does use the viewer loses nothing. Returns the open3d module."""
    import sys

    if "open3d" in sys.modules:
        return sys.modules["open3d"]
    import types

    stand_in = types.ModuleType(_PLOTLY_VIEWER)
    stand_in.__doc__ = "open3d's plotly viewer, imported on first use (worldgen.compat.import_open3d)"

    def deferred(name):
        def call(*args, **kwargs):
            if sys.modules.get(_PLOTLY_VIEWER) is stand_in:
                del sys.modules[_PLOTLY_VIEWER]
            real = importlib.import_module(_PLOTLY_VIEWER)
            viz = sys.modules["open3d.visualization"]
            for n in ("get_plotly_fig", "draw_plotly", "draw_plotly_server"):
                setattr(viz, n, getattr(real, n))
            return getattr(real, name)(*args, **kwargs)

        call.__name__ = name
        return call

    for n in ("get_plotly_fig", "draw_plotly", "draw_plotly_server"):
        setattr(stand_in, n, deferred(n))
    sys.modules[_PLOTLY_VIEWER] = stand_in
    try:
        import open3d
    finally:
        if sys.modules.get(_PLOTLY_VIEWER) is stand_in and "open3d.visualization" not in sys.modules:
            del sys.modules[_PLOTLY_VIEWER]  # the import failed before the viewer: leave no stand-in
    return open3d
