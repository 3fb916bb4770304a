"""Checks of the film blocks that need the whole spec: who speaks, which shots a cue spans,
that the user's sound and LUT files are there, and that transitions fit their shots."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from worldgen.spec.models import Spec

if TYPE_CHECKING:
    from worldgen.spec.loader import LocatedSpec


def _close(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _user_file(spec: Spec, located: LocatedSpec, ref: str, path: tuple) -> None:
    p = Path(ref)
    base = getattr(spec, "_base_dir", None) or Path.cwd()  # set by the loader before it runs the checks
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise located.error(path, f"no such file: {ref}")


def _check_voice_name(v, located: LocatedSpec, where: tuple) -> None:
    if v.name is not None and v.engine not in ("auto", "flite"):
        raise located.error(where + ("name",), f"'name' picks a flite voice; the {v.engine} engine has its own")
    if v.speaker is not None and (v.engine == "flite" or v.name is not None):
        raise located.error(where + ("speaker",), "'speaker' picks a piper or model speaker; a flite voice has a name")


def check_film(spec: Spec, located: LocatedSpec) -> None:
    chars = [c.id for c in spec.world.characters]
    shots = [s.id for s in spec.shots]
    over: dict = {}  # voice-over speaker -> its voice (one per speaker)
    for s, shot in enumerate(spec.shots):
        for k, line in enumerate(shot.dialogue):
            if line.voice is not None:
                where = ("shots", s, "dialogue", k, "voice")
                if line.character in chars:
                    raise located.error(
                        where,
                        f"'{line.character}' is a character of this world: give its voice there "
                        "(a line's own voice is for a voice over, a speaker with no body here)",
                    )
                if over.setdefault(line.character, line.voice) != line.voice:
                    raise located.error(where, f"'{line.character}' speaks with another voice in an earlier line")
                _check_voice_name(line.voice, located, where)
                continue
            if line.character not in chars:
                where = ("shots", s, "dialogue", k, "character")
                raise located.error(
                    where,
                    f"no character '{line.character}'{_close(line.character, chars)}"
                    if chars
                    else "the world has no characters to speak this line",
                )
            if line.at is not None and line.at >= shot.duration:
                raise located.error(
                    ("shots", s, "dialogue", k, "at"),
                    f"{line.at:g} s is past the shot's end ({shot.duration:g} s); a line starts inside its shot",
                )
        t = shot.transition
        if t is not None and t.type in ("dissolve", "wipe"):
            if s == 0:
                raise located.error(
                    ("shots", s, "transition", "type"),
                    f"the first shot has no shot before it to {t.type} from (use fade)",
                )
            if t.duration > min(shot.duration, spec.shots[s - 1].duration):
                raise located.error(
                    ("shots", s, "transition", "duration"),
                    f"a {t.type} of {t.duration:g} s is longer than a shot it overlaps",
                )
    for i, c in enumerate(spec.world.characters):
        if c.voice is not None:
            _check_voice_name(c.voice, located, ("world", "characters", i, "voice"))
    sound = spec.sound
    if sound is not None:
        for group in ("music", "ambience"):
            for k, cue in enumerate(getattr(sound, group)):
                idx = []
                for field, key in (("start", "from"), ("end", "to")):
                    ref = getattr(cue, field)
                    if ref is None:
                        continue
                    if ref not in shots:
                        raise located.error(("sound", group, k, key), f"no shot '{ref}'{_close(ref, shots)}")
                    idx.append(shots.index(ref))
                if len(idx) == 2 and idx[1] < idx[0]:
                    raise located.error(("sound", group, k, "to"), f"shot '{cue.end}' comes before '{cue.start}'")
                if cue.file is not None:
                    _user_file(spec, located, cue.file, ("sound", group, k, "file"))
    edit = spec.edit
    if edit is not None and edit.grade is not None and edit.grade.lut is not None:
        _user_file(spec, located, edit.grade.lut, ("edit", "grade", "lut"))
