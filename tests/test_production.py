"""Production behaviour: content-addressed work (kill -9 and resume gives the same bytes; only
what changed is recomputed), reproducing frames from a manifest, the cache command."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import output_digest

SMALL = """
worldgen: 1
title: crash test
seed: 5
render: {width: 96, height: 54, fps: 12}
world:
  objects:
    - {id: ground, shape: plane, size: [20, 20], appearance: "grass"}
    - {id: hut, shape: box, size: [2, 2, 2], position: [0, 1, 0], appearance: "red brick"}
    - id: ball
      shape: sphere
      radius: 0.4
      appearance: "yellow"
      motion: [{t: 0, position: [-3, 0.4, 2]}, {t: 2, position: [3, 0.4, 2]}]
shots:
  - {id: wide, duration: 2, camera: {move: orbit, target: hut, radius: 9, height: 3, degrees: 60}}
  - {id: close, duration: 1, camera: {move: track, target: ball, offset: [0, 1, 4]}}
"""


def cli(*args, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "worldgen", *map(str, args)], capture_output=True, text=True, env=env, **kw
    )


digest = output_digest


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return p


def test_kill_9_and_resume_gives_the_same_bytes(spec, tmp_path):
    env = dict(os.environ, WORLDGEN_CACHE=str(tmp_path / "cache-a"))
    ref = cli("render", spec, "-o", tmp_path / "ref", "-q", "--no-store")
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "killed"
    p = subprocess.Popen(
        [sys.executable, "-m", "worldgen", "render", str(spec), "-o", str(out), "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "shots").rglob("*.png"))) < 20:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = list((out / "shots").rglob("frames/*.png"))
    assert 0 < len(done) < 36  # killed part way
    assert all(p.stat().st_size > 0 for p in done)  # atomic writes: no half files under their real names
    again = cli("render", spec, "-o", out, "-q", env=env)
    assert again.returncode == 0, again.stderr
    import re

    rendered = int(re.search(r"(\d+) rendered", again.stdout).group(1))
    assert 0 < rendered <= 36 - len(done) + 1  # only what was missing (the killed frame may be half there)
    assert not list(out.rglob(".*.tmp"))  # the killed run's temp files are cleared, never taken as outputs
    assert digest(out) == digest(tmp_path / "ref")


def test_store_recomputes_only_what_changed(spec, tmp_path):
    env = dict(os.environ, WORLDGEN_CACHE=str(tmp_path / "cache-b"))
    first = cli("render", spec, "-o", tmp_path / "a", "-q", env=env)
    assert "36 rendered" in first.stdout
    same = cli("render", spec, "-o", tmp_path / "b", "-q", env=env)  # another folder, same work: all linked
    assert "0 rendered, 0 already there, 36 from the store" in same.stdout
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    recoloured = tmp_path / "recoloured.yaml"
    recoloured.write_text(SMALL.replace('appearance: "yellow"', 'appearance: "blue"'))
    r = cli("render", recoloured, "-o", tmp_path / "c", "-q", env=env)
    assert "36 rendered" in r.stdout  # every frame repainted ...
    pa = {k: v for k, v in digest(tmp_path / "a").items() if "/passes/" in k}
    pc = {k: v for k, v in digest(tmp_path / "c").items() if "/passes/" in k}
    assert pa == pc  # ... but the passes are the same work: a new colour does not move geometry
    man = json.loads((tmp_path / "c" / "manifest.json").read_text())
    f0 = man["shots"][0]["frames"][0]["keys"]
    man_a = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert f0["passes"] == man_a["shots"][0]["frames"][0]["keys"]["passes"]
    assert f0["frame"] != man_a["shots"][0]["frames"][0]["keys"]["frame"]
    info = cli("cache", env=env)
    assert info.returncode == 0 and "frame.png" in info.stdout and "passes.npz" in info.stdout
    pruned = cli("cache", "--prune", env=env)
    assert pruned.returncode == 0 and "removed" in pruned.stdout
    assert "0 files" in cli("cache", env=env).stdout
    assert digest(tmp_path / "a") == digest(tmp_path / "b")  # outputs keep their copies


REFUSE_NUMBA = """
import sys
tried = []

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "numba":
            tried.append(name)
            raise ImportError(name + " refused by the test")

sys.meta_path.insert(0, Refuse())
from worldgen.cli import main
sys.argv = ["worldgen", "render", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    print("exit", e.code)
print("numba tried:", tried)
"""


def test_planning_a_render_the_store_holds_imports_no_compiled_kernels(spec, tmp_path):
    """Linking a finished render from the store needs no compiled kernel: the process that
    plans and keys it (the hits' model, the pass layers, the painter's identity) imports no
    numba (a third of a second, measured by hand with python -X importtime). Worker processes
    that the CLI starts early for a large render are not this test's: they build a painter."""
    env = dict(os.environ, WORLDGEN_CACHE=str(tmp_path / "cache-c"))
    assert "36 rendered" in cli("render", spec, "-o", tmp_path / "a", "-q", env=env).stdout
    probe = [sys.executable, "-c", REFUSE_NUMBA, str(spec), "-o", str(tmp_path / "b"), "-q"]
    r = subprocess.run(probe, capture_output=True, text=True, env=env, timeout=300)
    assert "0 rendered, 0 already there, 36 from the store" in r.stdout, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("numba tried: []"), r.stdout
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_reproduce_frames_from_a_manifest(spec, tmp_path):
    r = cli("render", spec, "-o", tmp_path / "a", "-q")
    assert r.returncode == 0
    rep = cli(
        "render",
        "--from-manifest",
        tmp_path / "a" / "manifest.json",
        "--frame",
        "wide:7",
        "--frame",
        "close:3",
        "-o",
        tmp_path / "again",
        "-q",
    )
    assert rep.returncode == 0, rep.stderr
    assert "4 of 4 outputs reproduced byte for byte" in rep.stdout
    bad = cli("render", "--from-manifest", tmp_path / "a" / "manifest.json", "--frame", "nope:1", "-o", tmp_path / "x")
    assert bad.returncode == 2 and "SHOT:INDEX" in bad.stderr and "Traceback" not in bad.stderr


def test_tiny_frames_render(tmp_path):
    """The smallest allowed frames go through every output (control images included)."""
    p = tmp_path / "tiny.yaml"
    p.write_text(SMALL.replace("width: 96, height: 54, fps: 12", "width: 16, height: 16, fps: 4"))
    r = cli("render", p, "-o", tmp_path / "o", "-q")
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "o" / "shots").rglob("control/canny/*.png"))) == 12
