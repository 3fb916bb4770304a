"""Read a YAML spec into a typed `Spec`, turning every problem into one located line.

PyYAML's node tree keeps line numbers; we walk it once to build plain data plus a map from
field paths to lines, so pydantic's error locations can be reported as ``file:line: path``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from worldgen.errors import SpecError
from worldgen.spec.models import Spec

MAX_SPEC_BYTES = 2_000_000
MAX_DEPTH = 64  # levels of nesting; a spec needs about 8
MAX_VALUES = 1_000_000  # values once aliases are expanded: refuses alias bombs ("billion laughs")
Path_ = tuple  # a field path such as ('shots', 1, 'camera', 'target')


def printable(text: str) -> str:
    """`text` safe to print on one line: newlines, other control characters and lone
    surrogates (which no terminal or UTF-8 file can take) are shown escaped."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in str(text))


def spec_error(message: str, file: str | None, line: int | None = None, path: str | None = None) -> SpecError:
    """A SpecError whose every part is one printable line, whatever the spec contained."""
    return SpecError(printable(message), printable(file) if file else file, line, printable(path) if path else path)


def format_path(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class LocatedSpec:
    """Plain data of a spec plus where each field was written."""

    def __init__(self, data: Any, lines: dict[Path_, int], file: str):
        self.data, self.lines, self.file = data, lines, file

    def line(self, path: Path_) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: Path_, message: str) -> SpecError:
        return spec_error(message, self.file, self.line(path), format_path(path) or None)


class _NodeReader:
    """Turns PyYAML's node tree into plain data, recording each field's line. Aliases share
    nodes, so it also refuses what they can hide: cycles (an alias inside its own anchor),
    exponential expansion, and nesting deeper than any spec needs."""

    def __init__(self, file: str):
        self.file, self.lines, self.count, self.open = file, {}, 0, set()
        self.constructor = yaml.constructor.SafeConstructor()  # YAML's own scalar rules, tags included

    def fail(self, node: yaml.Node, path: Path_, message: str) -> SpecError:
        return spec_error(message, self.file, node.start_mark.line + 1, format_path(path) or None)

    def read(self, node: yaml.Node, path: Path_):
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(node, path, f"expands to more than {MAX_VALUES:,} values (aliases repeat too much)")
        if len(path) > MAX_DEPTH:
            raise self.fail(node, path, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.open:
            raise self.fail(node, path, "an alias refers to a value that contains it (a cycle)")
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.open.add(id(node))
            try:
                return (
                    self._mapping(node, path)
                    if isinstance(node, yaml.MappingNode)
                    else [self.read(v, path + (i,)) for i, v in enumerate(node.value)]
                )
            finally:
                self.open.discard(id(node))
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        out = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise self.fail(knode, path, "keys must be plain names")
            key = knode.value
            if key in out:
                raise self.fail(knode, path, f"duplicate key '{key}'")
            self.lines[path + (key,)] = knode.start_mark.line + 1
            out[key] = self.read(vnode, path + (key,))
            self.lines[path + (key,)] = knode.start_mark.line + 1
        return out

    def _scalar(self, node: yaml.Node, path: Path_):
        if not node.tag.startswith("tag:yaml.org,2002:"):
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:
            raise self.fail(node, path, f"not valid YAML: {e.problem or e.context}") from None
        except yaml.YAMLError as e:
            raise self.fail(node, path, f"not valid YAML: {(str(e).splitlines() or [type(e).__name__])[0]}") from None
        except (ValueError, TypeError, OverflowError):  # e.g. '!!int abc', '!!timestamp 2020-13-45'
            kind = node.tag.rsplit(":", 1)[-1]
            raise self.fail(node, path, f"'{node.value[:40]}' is not a valid {kind}") from None


def _yaml_problem(e: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """One line and a line number for any PyYAML error (their str() spans several lines)."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        return f"{e.problem or e.context}", (mark.line + 1 if mark else None)
    if isinstance(e, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text.count("\n", 0, e.position) + 1 if isinstance(e.position, int) else None
        char = repr(chr(e.character)) if isinstance(e.character, int) else repr(e.character)
        return f"character {char}: {e.reason}", line
    return (str(e).splitlines() or [type(e).__name__])[0], None


def parse_yaml(text: str, file: str = "<spec>") -> LocatedSpec:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        problem, line = _yaml_problem(e, text)
        raise spec_error(f"not valid YAML: {problem}", file, line) from None
    except RecursionError:
        raise spec_error("not valid YAML: nested too deeply (a spec needs about 8 levels)", file) from None
    if node is None:
        raise spec_error("the file is empty", file)
    reader = _NodeReader(file)
    data = reader.read(node, ())
    if not isinstance(data, dict):
        raise spec_error("a spec is a mapping with keys 'worldgen', 'world' and 'shots'", file, 1)
    return LocatedSpec(data, reader.lines, file)


def _pydantic_message(err: dict) -> str:
    kind, msg = err.get("type", ""), err.get("msg", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return msg.replace("Input should be", "must be")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else kind


def _suggest_field(loc: tuple, located: LocatedSpec) -> str:
    """For an unknown key, name the closest allowed one."""
    from worldgen.spec import film, film_edit, models

    key = loc[-1] if loc else None
    if not isinstance(key, str):
        return ""
    candidates = set()
    for cls in (
        models.Spec,
        models.RenderSettings,
        models.WorldSpec,
        models.ObjectSpec,
        models.Keyframe,
        models.Light,
        models.Shot,
        models.Camera,
        models.CameraKey,
        *film_edit.MODELS,
        film.FilmSpec,
        film.CastMember,
        film.SetSpec,
        film.Scene,
        film.PropChange,
        film.Blocking,
    ):
        candidates.update(cls.model_fields)
        candidates.update(f.alias for f in cls.model_fields.values() if f.alias)
    close = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_branch_name(p) -> bool:
    """Names pydantic inserts into error locations for union/literal/validator branches."""
    return isinstance(p, str) and (
        "[" in p or p.startswith("constrained-") or p in ("function-after", "tuple", "float", "int")
    )


def _clean_loc(loc: tuple, data: Any = None) -> tuple:
    """An error location as a path through the spec: pydantic's branch names are dropped, but
    a key the spec really has is kept, whatever it looks like (a user may write 'a[b]:')."""
    out, cur = [], data
    for p in loc:
        real = (isinstance(cur, dict) and p in cur) or (
            isinstance(cur, list) and isinstance(p, int) and 0 <= p < len(cur)
        )
        if real:
            cur = cur[p]
        elif _is_branch_name(p):
            continue
        else:
            cur = None
        out.append(p)
    return tuple(out)


def validate_data(located: LocatedSpec, model: type = Spec):
    """`located`'s data as `model` (a format 1 `Spec` unless told), or one located error."""
    try:
        return model.model_validate(located.data)
    except ValidationError as e:
        errs = e.errors()
        # report the most specific error first (deepest location), one line
        err = max(errs, key=lambda x: len(_clean_loc(x["loc"], located.data)))
        if any(x["type"] == "extra_forbidden" for x in errs):
            err = next(x for x in errs if x["type"] == "extra_forbidden")
        loc = _clean_loc(err["loc"], located.data)
        msg = _pydantic_message(err)
        if err["type"] == "extra_forbidden":
            msg += _suggest_field(loc, located)
        extra = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise located.error(loc, msg + extra) from None


def read_spec_text(path: str | Path) -> str:
    """A spec file's text, or one located error for a file that cannot be a spec."""
    p = Path(path)
    file = str(path)
    try:
        if not p.exists():
            raise spec_error("no such file", file)
        if p.is_dir():
            raise spec_error("is a folder, not a spec file", file)
        if p.stat().st_size > MAX_SPEC_BYTES:
            raise spec_error(f"spec is larger than {MAX_SPEC_BYTES // 1_000_000} MB", file)
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise spec_error("not UTF-8 text", file) from None
    except (OSError, ValueError) as e:  # unreadable, name too long, a NUL in the name
        raise spec_error(f"cannot read ({getattr(e, 'strerror', None) or e})", file) from None


def load_spec(path: str | Path, check: bool = True) -> Spec:
    """Load, validate and (with ``check``) run the reference checks on a spec file."""
    text = read_spec_text(path)
    return load_spec_text(text, str(path), base_dir=Path(path).resolve().parent, check=check)


def load_spec_text(text: str, file: str = "<spec>", base_dir: Path | None = None, check: bool = True) -> Spec:
    located = parse_yaml(text, file)
    spec = validate_data(located)
    spec = spec.model_copy()
    object.__setattr__(spec, "_located", located)
    object.__setattr__(spec, "_base_dir", base_dir or Path.cwd())
    if check:
        from worldgen.spec.references import check_references

        check_references(spec, located)
    return spec


def located_of(spec: Spec) -> LocatedSpec:
    return getattr(spec, "_located", None) or LocatedSpec({}, {}, "<spec>")


def base_dir_of(spec: Spec) -> Path:
    return getattr(spec, "_base_dir", None) or Path.cwd()
