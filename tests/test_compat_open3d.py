"""worldgen.compat.import_open3d: open3d without its plotly viewer's import cost, and the
viewer still there for a program that calls it."""

import subprocess
import sys

PROBE = """
import sys
from worldgen.compat import import_open3d
o3d = import_open3d()
print("dash at import:", "dash" in sys.modules)
fig = o3d.visualization.get_plotly_fig([o3d.geometry.TriangleMesh.create_box()])
print("figure:", type(fig).__name__, "dash after:", "dash" in sys.modules)
"""


def test_open3d_imports_without_its_web_viewer_and_keeps_it():
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "dash at import: False" in r.stdout, r.stdout
    assert "figure: Figure dash after: True" in r.stdout, r.stdout
