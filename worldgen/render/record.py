"""What a run was made with: the run record that marks an output folder (which spec, which
settings), the library versions of a manifest, and the machine a benchmark measured on.

`run_record` is the one definition of "the same render": `render` writes it into the folder it
claims, and `worldgen bench` compares a folder's record with it before resuming a render there."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path

from worldgen import __version__
from worldgen.errors import OutputExistsError
from worldgen.io import write_json
from worldgen.render.options import RUN_FILE, RenderOptions
from worldgen.spec.identity import spec_hash
from worldgen.spec.models import Spec

# the libraries whose versions a render's manifest records
MANIFEST_PACKAGES = ("numpy", "open3d", "trimesh", "pyrender", "PyOpenGL", "imageio-ffmpeg")


def run_record(spec: Spec, opt: RenderOptions) -> dict:
    """The record of a render's spec and settings, as `.worldgen-run.json` holds it: a folder
    whose record differs holds another render."""
    run = {
        "spec_sha256": spec_hash(spec),
        "backend": opt.backend or spec.render.backend,
        "format": opt.fmt,
        "passes": opt.passes,
        "paint": opt.paint,
        "control": list(opt.control),
        "worldgen": __version__,
    }
    if opt.painter and opt.painter != spec.render.painter or opt.painter_options:
        run["painter"] = {"name": opt.painter or spec.render.painter, "options": opt.painter_options}
    return run


def versions(names: tuple[str, ...] = MANIFEST_PACKAGES) -> dict:
    """worldgen's version and those of the named installed packages (absent ones left out)."""
    import importlib.metadata as md

    out = {"worldgen": __version__}
    for p in names:
        if p == "worldgen":
            continue
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """What the numbers were measured on (cost figures mean nothing without it)."""
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpu": None,
    }
    torch = sys.modules.get("torch")  # only if a painter already loaded it; never import it for this
    if torch is not None:
        try:
            if torch.cuda.is_available():
                info["gpu"] = torch.cuda.get_device_name(0)
        except Exception:  # noqa: BLE001
            pass
    return info


def holds_other_render(folder: Path, spec: Spec, opt: RenderOptions) -> bool:
    """Whether `folder` holds a render that `render(spec, folder, opt)` would not resume (its
    run record differs, or cannot be read)."""
    marker = Path(folder) / RUN_FILE
    if not marker.exists():
        return False
    try:
        return json.loads(marker.read_text()) != json.loads(json.dumps(run_record(spec, opt)))
    except (OSError, ValueError):
        return True


def claim_output(out: Path, run: dict, overwrite: bool, outputs: tuple[str, ...] = ("shots",)) -> None:
    """Refuse to mix two different renders in one folder; never delete what the user made.
    `outputs`: the folders a render of this kind writes besides the edit's (a film: scenes)."""
    marker = out / RUN_FILE
    if marker.exists():
        old = json.loads(marker.read_text())
        if old == run:
            for stale in out.rglob(".*.tmp"):  # half-written files of a run that was killed
                stale.unlink(missing_ok=True)
            return
        if not overwrite:
            raise OutputExistsError(
                f"{out}: holds a render of another spec or settings; use --overwrite or another folder"
            )
        from worldgen.edit.cut import EDIT_OUTPUTS

        for name in (*outputs, *EDIT_OUTPUTS):  # the earlier render's outputs, and nothing the user put there
            path = out / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    elif out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out}: folder exists and is not a worldgen render; use --overwrite or another folder")
    out.mkdir(parents=True, exist_ok=True)
    write_json(marker, run)
