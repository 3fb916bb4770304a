"""SRT and WebVTT sidecars timed to the dialogue: a cue starts when its line's speech starts
and ends when it ends (times in milliseconds)."""

from __future__ import annotations

from pathlib import Path

from worldgen.io import atomic_write_bytes


def _stamp(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt(lines: list[dict]) -> str:
    return "\n".join(
        f"{k}\n{_stamp(ln['start'], ',')} --> {_stamp(ln['end'], ',')}\n{ln['line']}\n" for k, ln in enumerate(lines, 1)
    )


def vtt(lines: list[dict]) -> str:
    return "WEBVTT\n\n" + "\n".join(
        f"{_stamp(ln['start'], '.')} --> {_stamp(ln['end'], '.')}\n<v {ln['character']}>{ln['line']}\n" for ln in lines
    )


def write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
