"""Before/after contact sheets of every example scene (scenes/*.yaml) with the procedural
painter: the frames a render's contact sheet shows (four per shot), painted by this code and,
with `--before-code DIR`, by the code in DIR (a checkout from before the new look), in a
subprocess. Sheets go to docs/images/look/<scene>_{before,after}.png; with `--readme` the
README's contact sheets (docs/images/<scene>_contact_sheet.jpg) are replaced by the new ones.

    python benchmarks/look_sheets.py [--before-code DIR] [--readme] [--scenes lighthouse,harbor]"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "look"
PER_SHOT = 4


def paint_frames(spec_path: Path, folder: Path) -> list:
    """Paint the contact sheet's frames of one scene into `folder`; returns the shots as the
    sheet reads them (id, frames with 'frame' paths and times)."""
    from PIL import Image

    from worldgen.camera import frame_count
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.spec import load_spec
    from worldgen.world import World

    spec = load_spec(spec_path)
    world = World(spec)
    r = spec.render
    raster = Rasterizer(world)
    painter = make_painter("procedural", world, raster, {})
    shots = []
    for shot in spec.shots:
        n = frame_count(shot, r.fps)
        picks = set(np.unique(np.linspace(0, n - 1, min(PER_SHOT, n)).round().astype(int)).tolist())
        painter.set_style(shot.style or spec.style)
        painter.begin_shot(shot, (0.1, 100.0))
        frames = [{"frame": "", "time": round(shot.start + i / r.fps, 9)} for i in range(n)]
        for fr in raster.shot_frames(shot, r.width, r.height, r.fps, only=picks):
            name = f"{shot.id}_{fr.view.index:06d}.png"
            Image.fromarray(painter.paint_frame(fr)).save(folder / name)
            frames[fr.view.index]["frame"] = name
        shots.append({"id": shot.id, "frames": frames})
    return shots


def sheet(spec_path: Path, folder: Path, shots: list, path: Path, title: str) -> None:
    from worldgen.film import contact_sheet

    path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(folder, shots, path, title)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before-code", type=Path, default=None)
    ap.add_argument("--readme", action="store_true", help="also replace the README's contact sheets")
    ap.add_argument("--scenes", default=None, help="comma-separated scene names (default: every scenes/*.yaml)")
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)  # SPEC FOLDER: paint, print shots
    args = ap.parse_args()
    if args.child:
        shots = paint_frames(Path(args.child[0]), Path(args.child[1]))
        print(json.dumps(shots))
        return
    from worldgen.spec import load_spec

    names = args.scenes.split(",") if args.scenes else sorted(p.stem for p in (ROOT / "scenes").glob("*.yaml"))
    for name in names:
        spec_path = ROOT / "scenes" / f"{name}.yaml"
        title = load_spec(spec_path).title
        with tempfile.TemporaryDirectory(prefix="worldgen-sheets-") as d:
            after = Path(d) / "after"
            after.mkdir()
            sheet(spec_path, after, paint_frames(spec_path, after), OUT / f"{name}_after.png", f"{title} (new look)")
            if args.before_code:
                before = Path(d) / "before"
                before.mkdir()
                env = dict(os.environ, PYTHONPATH=str(args.before_code))
                p = subprocess.run(
                    [sys.executable, __file__, "--child", str(spec_path), str(before)],
                    env=env,
                    cwd=str(args.before_code),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                shots = json.loads(p.stdout.strip().splitlines()[-1])
                sheet(spec_path, before, shots, OUT / f"{name}_before.png", f"{title} (before)")
            if args.readme and (ROOT / "docs" / "images" / f"{name}_contact_sheet.jpg").exists():
                from PIL import Image

                Image.open(OUT / f"{name}_after.png").convert("RGB").save(
                    ROOT / "docs" / "images" / f"{name}_contact_sheet.jpg", quality=88
                )
        print(name, "done")


if __name__ == "__main__":
    main()
