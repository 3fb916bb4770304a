"""Field checks shared by the spec's models (kept apart so every model module can use them)."""

from __future__ import annotations

import re
import unicodedata

MAX_PATH_CHARS, MAX_NAME_BYTES = 1024, 255  # file systems refuse longer names with an OS error


def file_path(v):
    """Asset paths are looked up on disk: refuse what the OS would fail on, in the spec's words."""
    if v is None:
        return v
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in v):
        raise ValueError("a file path cannot hold control characters")
    if len(v) > MAX_PATH_CHARS or any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in re.split(r"[\\/]", v)):
        raise ValueError(f"path too long (at most {MAX_PATH_CHARS} characters, {MAX_NAME_BYTES} bytes per name)")
    return v
