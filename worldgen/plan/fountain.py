"""Read a Fountain screenplay into typed records: the title page, the scenes and their elements.

Fountain (fountain.io) is the plain-text screenplay standard. A film of many scenes (issue 15)
starts from one: its scene headings name the sets and the time of day, its character cues name
the cast, and its dialogue is kept, in order, for the voices. This module only reads; it knows
nothing of worlds or specs, so the film planner above it can be written and tested apart.

Why our own reader: the maintained parsers on the package index either render (HTML, PDF, FDX)
and drop source line numbers, or carry them in a large young package that needs Python 3.11
and that we would still have to wrap for heading parts, folded cues and located errors
(docs/PLANNER.md, "Screenplays (Fountain)", names them).
This one is small, keeps every element's line, and reports bad input as one located line.

Rules follow the Fountain 1.1 syntax: elements are separated by blank lines; a scene heading
starts with INT, EXT, EST, INT./EXT., INT/EXT or I/E (or is forced with a leading `.`); a
character cue is an upper-case line followed by dialogue (forced with `@`); a transition is an
upper-case line ending in `TO:` standing alone (forced with `>`); `>text<` is centred; `!`
forces action; `~` is a lyric. Notes `[[...]]` and boneyard `/* ... */` are dropped, sections
`#`, synopses `=` and page breaks `===` are outline, not screen, and are skipped.
Emphasis marks (`*`, `_`) are kept in the text as written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from worldgen.errors import SpecError

ElementKind = Literal["action", "character", "dialogue", "parenthetical", "transition", "centered", "lyric"]

# A heading's prefix, longest first so INT./EXT. is not read as INT.
_HEADING = re.compile(r"^(INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[.\s]\s*(.*)$", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#([\w.\-]+)#\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*(.*)$")
_EXTENSION = re.compile(r"\(([^()]*)\)")
# Times that say "as the scene before": the scene keeps the previous scene's time of day.
_CONTINUING = {"CONTINUOUS", "LATER", "MOMENTS LATER", "A MOMENT LATER", "SAME", "SAME TIME"}
_CONTD = {"CONT'D", "CONT’D", "CONTD", "CONT.", "CONT", "CONTINUED", "CONT'D.", "CONT’D."}


@dataclass(frozen=True)
class TitlePage:
    """The `Key: value` block at the top of the file (Title, Credit, Author, Draft date...)."""

    fields: dict[str, str]
    line: int

    def get(self, key: str, default: str | None = None) -> str | None:
        """A field by name, case-insensitive ("title" finds "Title")."""
        for name, value in self.fields.items():
            if name.casefold() == key.casefold():
                return value
        return default


@dataclass(frozen=True)
class Heading:
    """A scene heading split into its parts; `location` and `time` are as written, upper-cased."""

    text: str
    line: int
    setting: str | None  # "INT", "EXT", "INT./EXT." or "EST"; None for a forced heading
    location: str
    time: str | None  # the part after the last " - ", or None
    number: str | None = None  # `#12A#` at the end of the heading
    forced: bool = False


@dataclass(frozen=True)
class Element:
    """One screen element of a scene, in script order, with the line it starts on.

    `speaker` is the folded cast name for a cue, its dialogue and its parentheticals;
    `extensions` are a cue's parenthesised marks with CONT'D removed (V.O., O.S., O.C.);
    `contd` says the cue carried CONT'D; `dual` marks a cue ending in `^`."""

    kind: ElementKind
    text: str
    line: int
    speaker: str | None = None
    extensions: tuple[str, ...] = ()
    contd: bool = False
    dual: bool = False
    forced: bool = False


@dataclass(frozen=True)
class Line:
    """One spoken line: who says it, what, how (the parentheticals before it), and where."""

    speaker: str
    text: str
    line: int
    extensions: tuple[str, ...] = ()
    parentheticals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scene:
    """A scene: its heading, its elements in order, its set and its resolved time of day."""

    heading: Heading
    elements: tuple[Element, ...]
    set: str  # the normalised location, one per distinct place
    time_of_day: str | None  # the heading's time, or the scene before's for CONTINUOUS/LATER

    @property
    def dialogue(self) -> tuple[Line, ...]:
        """The scene's spoken lines in order, each with the parentheticals that precede it."""
        out: list[Line] = []
        pending: list[str] = []
        extensions: tuple[str, ...] = ()
        for el in self.elements:
            if el.kind == "character":
                pending, extensions = [], el.extensions
            elif el.kind == "parenthetical":
                pending.append(el.text)
            elif el.kind == "dialogue":
                assert el.speaker is not None
                out.append(Line(el.speaker, el.text, el.line, extensions, tuple(pending)))
                pending = []
        return tuple(out)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Who speaks in this scene, in order of first cue."""
        return tuple(dict.fromkeys(e.speaker for e in self.elements if e.kind == "character" and e.speaker))


@dataclass(frozen=True)
class Screenplay:
    """A whole script: title page, what comes before the first heading, and the scenes."""

    file: str
    title: TitlePage | None
    preamble: tuple[Element, ...]  # e.g. FADE IN:
    scenes: tuple[Scene, ...]

    @property
    def cast(self) -> tuple[str, ...]:
        """Every speaking character once, in order of first cue (extensions and CONT'D folded)."""
        names = [e.speaker for e in self.preamble if e.kind == "character" and e.speaker]
        for scene in self.scenes:
            names.extend(scene.speakers)
        return tuple(dict.fromkeys(names))

    @property
    def sets(self) -> tuple[str, ...]:
        """Every distinct location once, in order of first appearance."""
        return tuple(dict.fromkeys(s.set for s in self.scenes))

    def scenes_of(self, set_name: str) -> tuple[Scene, ...]:
        """The scenes played on one set, in script order."""
        return tuple(s for s in self.scenes if s.set == set_name)


# ---------------------------------------------------------------------------------------------
# reading


def read_screenplay(path: str | Path) -> Screenplay:
    """Read a `.fountain` file; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read the screenplay: {reason}", file=str(path)) from None
    return parse_screenplay(text, file=str(path))


def parse_screenplay(text: str, file: str = "<screenplay>") -> Screenplay:
    """Parse Fountain text. Raises SpecError as `file:line: message` on bad input."""
    lines = _strip_hidden(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), file)
    blocks = _blocks(lines)
    title = None
    if blocks and _TITLE_KEY.match(blocks[0][0][1]) and not _HEADING.match(blocks[0][0][1]):
        title = _title_page(blocks.pop(0), file)
    reader = _Reader(file)
    for block in blocks:
        reader.block(block)
    return reader.finish(title)


def normalise_location(location: str) -> str:
    """One spelling per place: upper case, single spaces, no trailing dashes or dots."""
    return re.sub(r"\s+", " ", location).strip(" -.").upper()


def _strip_hidden(raw: list[str], file: str) -> list[tuple[int, str] | None]:
    """Drop notes and boneyard, keeping line numbers. A line that held only hidden text
    disappears (None is a kept blank line; a dropped line is absent), so a note between two
    dialogue lines does not split the speech."""
    out: list[tuple[int, str] | None] = []
    mode: str | None = None  # None, "note" or "boneyard"
    opened = 0
    for number, line in enumerate(raw, start=1):
        kept: list[str] = []
        i = 0
        hidden = mode is not None  # the line starts inside a note or boneyard
        while i < len(line):
            if mode is None:
                if line.startswith("/*", i):
                    mode, opened, hidden, i = "boneyard", number, True, i + 2
                elif line.startswith("[[", i):
                    mode, opened, hidden, i = "note", number, True, i + 2
                else:
                    kept.append(line[i])
                    i += 1
            else:
                end = "*/" if mode == "boneyard" else "]]"
                j = line.find(end, i)
                if j < 0:
                    i = len(line)
                else:
                    mode, i = None, j + 2
        cleaned = "".join(kept).rstrip().replace("\t", "    ")
        if hidden and not cleaned.strip():
            continue
        out.append((number, cleaned) if cleaned.strip() or _two_spaces(line) else None)
    if mode is not None:
        what = "boneyard '/*'" if mode == "boneyard" else "note '[['"
        raise SpecError(f"this {what} is never closed", file=file, line=opened)
    return out


def _two_spaces(line: str) -> bool:
    """Fountain's deliberate empty line inside dialogue: two or more spaces, nothing else."""
    return len(line) >= 2 and not line.strip(" ")


def _blocks(lines: list[tuple[int, str] | None]) -> list[list[tuple[int, str]]]:
    """Split into paragraphs at blank lines; a two-space line stays inside its paragraph."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for item in lines:
        if item is None:
            if current:
                blocks.append(current)
            current = []
        elif item[1] or current:  # a two-space line never opens a paragraph
            current.append(item)
    if current:
        blocks.append(current)
    return blocks


def _title_page(block: list[tuple[int, str]], file: str) -> TitlePage:
    fields: dict[str, str] = {}
    key = None
    for number, line in block:
        match = _TITLE_KEY.match(line)
        if match and not line[:1].isspace():
            key = match.group(1).strip()
            fields[key] = match.group(2).strip()
        elif key is not None and line[:1].isspace():
            fields[key] = (fields[key] + "\n" + line.strip()).strip()
        else:
            raise SpecError(
                f"title page line {line.strip()!r} is neither 'Key: value' nor an "
                "indented continuation (end the title page with a blank line)",
                file=file,
                line=number,
            )
    return TitlePage(fields, block[0][0])


def _is_upper(text: str) -> bool:
    return any(c.isalpha() for c in text) and text == text.upper()


class _Reader:
    """Classifies paragraphs in order and collects them into scenes."""

    def __init__(self, file: str):
        self.file = file
        self.preamble: list[Element] = []
        self.scenes: list[Scene] = []
        self.heading: Heading | None = None
        self.elements: list[Element] = []
        self.speakers: dict[str, str] = {}  # casefolded name -> first spelling

    # -- scenes

    def _close_scene(self) -> None:
        if self.heading is None:
            return
        time = self.heading.time
        if time in _CONTINUING:
            time = self.scenes[-1].time_of_day if self.scenes else None
        self.scenes.append(Scene(self.heading, tuple(self.elements), normalise_location(self.heading.location), time))
        self.elements = []

    def _add(self, element: Element) -> None:
        (self.elements if self.heading is not None else self.preamble).append(element)

    def finish(self, title: TitlePage | None) -> Screenplay:
        self._close_scene()
        if not self.scenes:
            raise SpecError(
                "no scene heading (INT. PLACE - TIME): a screenplay needs at least one scene", file=self.file, line=1
            )
        return Screenplay(self.file, title, tuple(self.preamble), tuple(self.scenes))

    # -- paragraphs

    def block(self, block: list[tuple[int, str]]) -> None:
        number, first = block[0]
        head = first.strip()
        rest = block[1:]
        if head.startswith("===") and not head.strip("="):
            return self._more(rest)  # page break
        if head.startswith("#") or (head.startswith("=") and not head.startswith("==")):
            return self._more(rest)  # section or synopsis: outline, not screen
        if head.startswith(".") and not head.startswith("..") and len(head) > 1:
            self._heading(number, head[1:].strip(), forced=True)
            return self._more(rest)
        if _HEADING.match(head):
            self._heading(number, head, forced=False)
            return self._more(rest)
        if head.startswith("!"):
            text = "\n".join([head[1:]] + [line for _, line in rest])
            return self._add(Element("action", text.strip("\n"), number, forced=True))
        if head.startswith(">") and head.endswith("<"):
            for n, line in block:
                self._add(Element("centered", line.strip().lstrip(">").rstrip("<").strip(), n))
            return None
        if head.startswith(">"):
            self._add(Element("transition", head[1:].strip(), number, forced=True))
            return self._more(rest)
        if head.startswith("~"):
            for n, line in block:
                self._add(Element("lyric", line.strip().lstrip("~").strip(), n))
            return None
        if head.startswith("@") and len(head) > 1:
            return self._speech(block, head[1:].strip(), forced=True)
        if not rest and _is_upper(head) and head.endswith("TO:"):
            return self._add(Element("transition", head, number))
        if rest and self._looks_like_cue(head):
            return self._speech(block, head, forced=False)
        text = "\n".join(line for _, line in block)
        return self._add(Element("action", text, number))

    def _more(self, rest: list[tuple[int, str]]) -> None:
        """Lines that followed a one-line element with no blank line between are their own
        paragraph (a heading straight into action is common, and readable)."""
        if rest:
            self.block(rest)

    def _heading(self, number: int, text: str, forced: bool) -> None:
        self._close_scene()
        scene_number = None
        found = _SCENE_NUMBER.search(text)
        if found:
            scene_number, text = found.group(1), text[: found.start()].rstrip()
        setting = None
        body = text
        match = None if forced else _HEADING.match(text)
        if match:
            prefix = match.group(1).upper().replace(" ", "")
            setting = {"INT": "INT", "EXT": "EXT", "EST": "EST"}.get(prefix, "INT./EXT.")
            body = match.group(2)
        location, time = body, None
        padded = f" {body.strip()} "  # so a bare "- NIGHT" or "HOUSE -" still splits
        if " - " in padded:
            location, _, time = padded.rpartition(" - ")
            time = time.strip().upper() or None
        location = location.strip(" -.")
        if not location:
            raise SpecError(
                f"scene heading {text!r} names no location (INT. PLACE - TIME)", file=self.file, line=number
            )
        self.heading = Heading(
            text, number, setting, location.upper() if not forced else location, time, scene_number, forced
        )

    @staticmethod
    def _looks_like_cue(text: str) -> bool:
        name = _EXTENSION.sub("", text).replace("^", "").strip()
        return _is_upper(name) and not name.endswith(":")

    def _speech(self, block: list[tuple[int, str]], cue: str, forced: bool) -> None:
        number = block[0][0]
        dual = cue.endswith("^")
        cue = cue.rstrip("^").strip()
        marks = [m.strip().upper() for m in _EXTENSION.findall(cue)]
        name = re.sub(r"\s+", " ", _EXTENSION.sub("", cue)).strip()
        if not name:
            raise SpecError(f"character cue {cue!r} names no character", file=self.file, line=number)
        speaker = self.speakers.setdefault(name.casefold(), name)
        contd = any(m in _CONTD for m in marks)
        extensions = tuple(m for m in marks if m not in _CONTD)
        self._add(Element("character", name, number, speaker, extensions, contd, dual, forced))
        speech: list[tuple[int, str]] = []
        paren: list[tuple[int, str]] = []

        def flush_speech() -> None:
            if speech:
                text = "\n".join(line.strip() for _, line in speech).strip()
                self._add(Element("dialogue", text, speech[0][0], speaker))
                speech.clear()

        for n, line in block[1:]:
            stripped = line.strip()
            if paren:
                paren.append((n, stripped))
            elif stripped.startswith("("):
                flush_speech()
                paren.append((n, stripped))
            else:
                speech.append((n, line))
                continue
            if stripped.endswith(")"):
                text = " ".join(part for _, part in paren)
                self._add(Element("parenthetical", text, paren[0][0], speaker))
                paren.clear()
        if paren:
            raise SpecError(f"parenthetical {paren[0][1]!r} is never closed with ')'", file=self.file, line=paren[0][0])
        flush_speech()
