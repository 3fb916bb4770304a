"""Which files the preview server hands out, and nothing else.

The page may read the spec itself and the mesh assets the spec names, by the name the spec
gives them. A request names a file relative to the spec's folder; it is served only when that
name is one of those files and the real file (every symlink followed) lies inside the spec's
folder. A `..` that climbs out, an absolute path, a name the spec does not give, and a symlink
that leads out of the folder are all refused the same way, so a refusal tells a caller nothing
about what exists elsewhere on the machine."""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import unquote


class Refused(Exception):
    """A request for a file the preview does not serve."""


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def normalise(name: str) -> str:
    """A request path (URL-decoded) as a clean relative POSIX name; refuses absolute names,
    names that climb out with `..`, backslashes and NUL bytes."""
    name = unquote(name)
    if not name or "\0" in name or "\\" in name or name.startswith("/"):
        raise Refused(name)
    clean = posixpath.normpath(name)
    if clean.startswith("../") or clean == ".." or clean == ".":
        raise Refused(name)
    return clean


class ServedFiles:
    """The spec and its named assets, keyed by their names relative to the spec's folder."""

    def __init__(self, spec_path: Path):
        self.spec_path = Path(spec_path)
        self.folder = self.spec_path.resolve().parent
        self._names: set[str] = {self.spec_path.name}

    def allow_assets(self, names) -> None:
        """The asset names of the latest good spec (as the spec writes them)."""
        allowed = {self.spec_path.name}
        for name in names:
            try:
                allowed.add(normalise(name))
            except Refused:
                continue
        self._names = allowed

    @property
    def names(self) -> set[str]:
        return set(self._names)

    def resolve(self, name: str) -> Path:
        """The real file for a request name, or Refused."""
        clean = normalise(name)
        if clean not in self._names:
            raise Refused(name)
        real = (self.folder / clean).resolve()
        if not _inside(real, self.folder) or not real.is_file():
            raise Refused(name)
        return real
