"""Reproducing frames of an earlier render from its manifest, and comparing them byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from worldgen.render.options import RenderOptions
from worldgen.render.orchestrate import render


def reproduce(
    manifest_path: str | Path, frames: dict[str, set[int]], out_dir: str | Path, progress: bool = False
) -> list[dict]:
    """Render frames again from a render's manifest (its resolved spec, backend, painter and
    options), without the store, and compare each with the original file: what a person
    runs to check that a frame is reproducible."""
    import hashlib

    from worldgen.spec import load_spec_text

    mp = Path(manifest_path)
    man = json.loads(mp.read_text())
    src = mp.parent
    spec = load_spec_text((src / man["spec"]).read_text(), str(src / man["spec"]), base_dir=Path(man["spec_base_dir"]))
    opt = RenderOptions(
        backend=man["backend"],
        shots=sorted(frames),
        fmt=man.get("passes_format") or "npz",
        passes=man.get("passes_format") is not None,
        paint=man.get("painter") is not None,
        film=False,
        painter=man.get("painter"),
        painter_options=man.get("painter_options") or {},
        voice_model=man.get("voice_model"),
        frames=frames,
        use_store=False,
        overwrite=True,
        progress=progress,
    )
    res = render(spec, out_dir, opt)
    report = []
    for shot in res.manifest["shots"]:
        old = next(s_ for s_ in man["shots"] if s_["id"] == shot["id"])
        for i in sorted(frames[shot["id"]]):
            new_f, old_f = shot["frames"][i], old["frames"][i]
            for name in ("frame", "passes"):
                if name in new_f and name in old_f and (src / old_f[name]).exists():
                    a = hashlib.sha256((src / old_f[name]).read_bytes()).hexdigest()
                    b = hashlib.sha256((Path(out_dir) / new_f[name]).read_bytes()).hexdigest()
                    report.append(
                        {
                            "shot": shot["id"],
                            "index": i,
                            "output": name,
                            "identical": a == b,
                            "path": str(Path(out_dir) / new_f[name]),
                        }
                    )
    return report
