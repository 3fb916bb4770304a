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
