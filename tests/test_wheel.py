"""The package as a user installs it: a wheel built from this tree, installed into a fresh virtual
environment, runs the benchmark suite from another folder.

This is what keeps the suite (package data, worldgen/bench/suite/) and the metrics process
(`python -m worldgen.bench.follower`) working outside a checkout: no path into the source tree,
no PYTHONPATH of the package's own making. The fresh environment takes its dependencies from
the interpreter running the tests (a .pth line naming that site-packages folder: its own .pth
files, such as an editable install of this tree, are not run), and the test asserts that the
worldgen it imports is the wheel's copy. Skipped only where a wheel cannot be built here (no
setuptools >= 70.1 or wheel, for a build without isolation, or no pip)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _can_build() -> str | None:
    for module in ("pip", "setuptools", "venv"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed for {sys.executable}"
    from importlib.metadata import version

    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    if (major, minor) < (70, 1) and importlib.util.find_spec("wheel") is None:  # bdist_wheel joined setuptools in 70.1
        return "neither setuptools >= 70.1 nor the wheel package is installed"
    return None


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert p.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}"
    )
    return p


def test_wheel_installs_and_runs_the_suite_from_another_folder(tmp_path):
    why = _can_build()
    if why:
        pytest.skip(f"cannot build a wheel here: {why}")
    # build from a copy, so that the build leaves nothing (build/, *.egg-info) in the tree
    src = tmp_path / "src"
    shutil.copytree(ROOT / "worldgen", src / "worldgen", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", src],
        env=clean,
        cwd=tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("worldgen-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=clean)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], env=clean
    )
    site = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=clean).stdout.strip()
    )
    (site / "worldgen-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = json.loads(
        _run(
            [
                python,
                "-c",
                "import json, pathlib, worldgen; from worldgen.bench.inputs import suite_specs; "
                "from worldgen.assets import resolve_asset; "
                "print(json.dumps([worldgen.__file__, [str(p) for p in suite_specs()], "
                "str(resolve_asset('assets/pine_tree.obj', pathlib.Path('.')))]))",
            ],
            env=clean,
            cwd=elsewhere,
        ).stdout
    )
    assert Path(found[0]).is_relative_to(venv), f"imported {found[0]}, not the wheel's copy"
    suite = {Path(p).stem: Path(p) for p in found[1]}
    assert "fast_orbit" in suite and all(p.is_relative_to(venv) for p in suite.values()), found[1]
    assert Path(found[2]).is_relative_to(venv)  # the meshes suite scenes name (assets/...) ship too
    page = json.loads(
        _run(
            [
                python,
                "-c",
                "import json; from worldgen.preview.server import STATIC; "
                "print(json.dumps([str(STATIC / 'index.html'), "
                "str(STATIC / 'vendor/three/build/three.module.js')]))",
            ],
            env=clean,
            cwd=elsewhere,
        ).stdout
    )
    assert all(Path(f).is_relative_to(venv) and Path(f).is_file() for f in page), page  # the preview's page ships

    p = _run(
        [
            venv / "bin" / "worldgen",
            "bench",
            suite["fast_orbit"],
            "-o",
            "bench",
            "--methods",
            "procedural",
            "--size",
            "32x24",
            "--fps",
            "2",
            "--no-video",
        ],
        env=clean,
        cwd=elsewhere,
    )
    results = json.loads((elsewhere / "bench" / "results.json").read_text())
    method = results["scenes"][0]["methods"]["procedural"]
    assert method["status"] == "ok" and method["cost"]["frames_rendered"] == method["cost"]["frames"] > 0
    assert "evaluating in this process instead" not in p.stdout + p.stderr  # the follower ran from the wheel
