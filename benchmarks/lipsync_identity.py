"""Byte identity of lip sync: render a scene's variant with whatever worldgen is on PYTHONPATH
and write the sha256 of every file under shots/, to compare two checkouts (before and after a
change to the rig) file by file.

    PYTHONPATH=OLD python benchmarks/lipsync_identity.py scenes/park_meeting.yaml nodialogue /tmp/old
    PYTHONPATH=NEW python benchmarks/lipsync_identity.py scenes/park_meeting.yaml nodialogue /tmp/new
    diff /tmp/old.sha256.json /tmp/new.sha256.json

Every 6th frame of every shot at 256x144, no frame store, no film. `nodialogue` takes the
spec's dialogue out (every character silent), `dialogue` keeps it. Results of the lip sync
change: benchmarks/results/lipsync_identity.md."""

import hashlib
import json
import re
import sys
from pathlib import Path

from worldgen.camera import frame_count
from worldgen.render import render
from worldgen.render.options import RenderOptions
from worldgen.spec.loader import load_spec_text


def main(scene: str, variant: str, out: Path) -> None:
    text = Path(scene).read_text()
    text = re.sub(r"render: \{width: \d+, height: \d+", "render: {width: 256, height: 144", text)
    if variant == "nodialogue":
        text = re.sub(r"\n    dialogue:\n(      - .*\n)+", "\n", text)
    spec = load_spec_text(text, base_dir=Path(scene).parent.resolve())
    assert variant != "nodialogue" or not any(s.dialogue for s in spec.shots)
    frames = {s.id: set(range(0, frame_count(s, spec.render.fps), 6)) for s in spec.shots}
    render(spec, out, RenderOptions(frames=frames, use_store=False, progress=False, overwrite=True, film=False))
    sums = {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((out / "shots").rglob("*"))
        if p.is_file()
    }
    out.with_name(out.name + ".sha256.json").write_text(json.dumps(sums, indent=0))
    print(len(sums), "files")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
