import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# every test (and every CLI it runs) uses a store and texture cache of its own session, never
# the user's ~/.cache/worldgen; it is removed when the session ends (the whole suite's is about
# half a gigabyte, and sessions that left theirs behind once filled a disk).
# WORLDGEN_KEEP_CACHE=1 keeps it for a look afterwards, or, with WORLDGEN_CACHE set, uses that.
if "WORLDGEN_CACHE" not in os.environ or not os.environ.get("WORLDGEN_KEEP_CACHE"):
    import atexit
    import shutil
    import tempfile

    os.environ["WORLDGEN_CACHE"] = tempfile.mkdtemp(prefix="worldgen-test-cache-")
    if not os.environ.get("WORLDGEN_KEEP_CACHE"):
        atexit.register(shutil.rmtree, os.environ["WORLDGEN_CACHE"], ignore_errors=True)
SHARED_ASSETS = ROOT.parent / "shared" / "assets"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WORLDGEN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set WORLDGEN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@functools.lru_cache(None)
def gl_works() -> bool:
    from worldgen.doctor import GL_PROBE

    plat = os.environ.get("WORLDGEN_GL", "egl")
    p = subprocess.run([sys.executable, "-c", GL_PROBE, plat], capture_output=True, timeout=120)
    return p.returncode == 0


def backends():
    return ["raycast", pytest.param("gl", marks=pytest.mark.gl)]


@pytest.fixture(autouse=True)
def _skip_gl(request):
    if "gl" in request.keywords and not gl_works():
        pytest.skip("no OpenGL context (EGL/OSMesa) on this machine")


@pytest.fixture
def write_spec(tmp_path):
    """Write a YAML spec (dedented) into tmp_path and return its path."""

    def _write(text: str, name: str = "scene.yaml") -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text).lstrip())
        return p

    return _write


def spec_from(text: str, tmp_path: Path, check=True):
    from worldgen.spec import load_spec

    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(text).lstrip())
    return load_spec(p, check=check)


def output_digest(folder: Path) -> dict:
    """sha256 of every file of a render folder but its manifest (which records timings and paths)."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
