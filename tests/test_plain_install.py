"""`pip install worldgen` without the `[diffusion]` extra gives passes and the procedural film:
`import worldgen`, `worldgen validate` and a procedural render never import torch, diffusers or
transformers (pyproject.toml lists them under the extra only).

The check runs in a fresh interpreter whose import system refuses those packages (a meta-path
finder that raises ImportError), so the first module that reaches for one fails the render, and
every attempt, even one a `try: import torch` would swallow, is recorded and reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "torchvision", "diffusers", "transformers", "controlnet_aux")

# 96x64: every control image, Canny's included, is made without torch (control.canny_image)
TINY = """
worldgen: 1
title: plain install
seed: 2
render: {width: 96, height: 64, fps: 4}
world:
  objects:
    - {id: ground, shape: plane, size: [10, 10], appearance: "grey stone"}
    - id: box
      shape: box
      size: [0.8, 0.8, 0.8]
      appearance: "red wood"
      motion:
        - {t: 0, position: [-1, 0.4, 0]}
        - {t: 1, position: [1, 0.4, 0]}
shots:
  - {id: a, duration: 1, camera: {move: orbit, look_at: [0, 0.4, 0], radius: 5, height: 2, degrees: 20}}
"""

PROBE = """
import json, sys
HEAVY = {heavy!r}
tried = []

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            tried.append(name)
            raise ImportError(f"{{name}} is not installed (blocked by the test)")

sys.meta_path.insert(0, Refuse())
import worldgen
from worldgen.cli import main
spec, out = sys.argv[1:3]
codes = {{}}
for name, args in (("validate", ["validate", spec]),
                   ("render", ["render", spec, "-o", out, "-q", "--no-store", "--painter", "procedural"])):
    sys.argv = ["worldgen", *args]
    try:
        main()
    except SystemExit as e:
        codes[name] = e.code
print(json.dumps({{"codes": codes, "tried": tried, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}}))
"""


def test_validate_and_procedural_render_never_import_torch(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(textwrap.dedent(TINY).lstrip())
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    p = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), str(spec), str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["codes"] == {"validate": 0, "render": 0}, (report, p.stderr[-3000:])
    assert report["tried"] == [] and report["loaded"] == [], report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["frames_this_run"]["rendered"] == 4
    assert (out / "film.mp4").stat().st_size > 0 and (out / "shots/a/control/canny/000000.png").exists()
