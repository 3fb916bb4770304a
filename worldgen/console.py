"""The consoles every `worldgen` command prints through, and the reflowing of command help.

A line the CLI prints is often read by a program or pasted into a shell: a path, a count, an
error with its file and line. Rich wraps text at the console's width, which is 80 columns (or
$COLUMNS) when stdout is a pipe, so a long path came out broken across lines. These consoles
never insert a line break of their own: a terminal folds a long line on screen and still
copies it whole, and a pipe gets it whole. Emoji codes (`:name:`) are left as typed, so a
path that happens to contain one is printed as it is."""

from __future__ import annotations

import inspect
import re

from rich.console import Console


def console(stderr: bool = False) -> Console:
    """A console for results (stdout) or messages (stderr) that never wraps a line."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def reflow(doc: str | None) -> str | None:
    """A docstring as help text: each paragraph's words joined by single spaces, paragraphs kept.

    A docstring is broken at ~100 columns for the source file; the help console wraps again at
    the terminal's width, and the two together left short ragged lines. Joined, a paragraph is
    wrapped once, where the terminal needs it (column alignment in the source means nothing
    once the console wraps, so runs of spaces go too)."""
    if not doc:
        return doc
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", inspect.cleandoc(doc)))


def reflow_help(app) -> None:
    """Give every command of a Typer app its reflowed docstring as help (unless it has one)."""
    for command in app.registered_commands:
        if command.help is None and command.callback is not None:
            command.help = reflow(command.callback.__doc__)
