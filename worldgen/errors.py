"""Errors users see as one line, with a distinct exit code each (no tracebacks)."""

from __future__ import annotations

EXIT_USAGE = 2  # bad spec, bad arguments, bad asset: the user's input needs fixing
EXIT_REFUSED = 3  # refused to touch existing output (use --overwrite)
EXIT_BACKEND = 4  # the machine cannot do what was asked (no GL, missing library)


class WorldgenError(Exception):
    """An error with a message meant for the user and an exit code for the CLI."""

    exit_code = EXIT_USAGE


class SpecError(WorldgenError):
    """A spec problem located at ``file:line: field.path: message``."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None, path: str | None = None):
        self.message, self.file, self.line, self.path = message, file, line, path
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class AssetError(WorldgenError):
    """A mesh asset that cannot be found, read or trusted."""


class OutputExistsError(WorldgenError):
    exit_code = EXIT_REFUSED


class BackendError(WorldgenError):
    exit_code = EXIT_BACKEND
