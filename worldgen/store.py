"""Content-addressed work: every frame's outputs are stored under a hash of exactly what
determines them, so a render never computes the same thing twice.

A frame's key covers the world (objects, characters, lights, and the bytes of every asset
file they load), the frame's camera (K and pose) and world time, the image size, the
rasterizer backend, the painter with its options and texture keys, the seed and the worldgen
version. The store keeps one file per key and output kind; an output folder gets hard links
(or copies across file systems). Writes are atomic (temp file + rename), so a render killed at
any moment leaves only whole entries, and a restart redoes exactly what is missing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from worldgen.io import atomic_write_bytes


def digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_store_dir() -> Path:
    env = os.environ.get("WORLDGEN_CACHE")
    return (Path(env) if env else Path.home() / ".cache" / "worldgen") / "frames"


def _place(src: Path, dest: Path) -> None:
    """Put `src` at `dest` atomically: a hard link (no copy) where the file system allows."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


class FrameStore:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_store_dir()

    def path(self, key: str, kind: str) -> Path:
        """kind is the output's file suffix with a name, e.g. 'frame.png', 'passes.npz'."""
        return self.root / key[:2] / f"{key}.{kind}"

    def has(self, key: str, kind: str) -> bool:
        return self.path(key, kind).exists()

    def put(self, key: str, kind: str, data: bytes) -> Path:
        p = self.path(key, kind)
        if not p.exists():
            atomic_write_bytes(p, data)
        return p

    def adopt(self, key: str, kind: str, src: Path) -> Path:
        """Take a freshly written output into the store (hard link, else copy)."""
        p = self.path(key, kind)
        if not p.exists():
            _place(src, p)
        return p

    def link(self, key: str, kind: str, dest: Path) -> bool:
        """Place the stored output at `dest` (hard link, else copy); False if not stored."""
        src = self.path(key, kind)
        if not src.exists():
            return False
        _place(src, dest)
        return True

    def entries(self) -> list[Path]:
        return (
            [p for p in self.root.glob("*/*") if p.is_file() and not p.name.startswith(".")]
            if self.root.exists()
            else []
        )

    def summary(self) -> dict:
        files = self.entries()
        by_kind: dict[str, list[int]] = {}
        for p in files:
            kind = p.name.split(".", 1)[1] if "." in p.name else "?"
            s = by_kind.setdefault(kind, [0, 0])
            s[0] += 1
            s[1] += p.stat().st_size
        return {
            "root": str(self.root),
            "files": len(files),
            "bytes": sum(v[1] for v in by_kind.values()),
            "by_kind": {k: {"files": v[0], "bytes": v[1]} for k, v in sorted(by_kind.items())},
        }

    def prune(self, older_than_days: float | None = None) -> tuple[int, int]:
        """Remove entries not used (accessed or linked) for `older_than_days` (all when None):
        (files removed, bytes freed). Output folders keep their hard-linked copies."""
        cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
        n = b = 0
        for p in self.entries():
            st = p.stat()
            if cutoff is None or max(st.st_atime, st.st_mtime) < cutoff:
                n, b = n + 1, b + st.st_size
                p.unlink()
        return n, b
