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
Path_ = tuple  # a field path such as ('shots', 1, 'camera', 'target')


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
        return SpecError(message, self.file, self.line(path), format_path(path) or None)


def _to_data(node: yaml.Node, path: Path_, lines: dict, file: str):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise SpecError("keys must be plain names", file, knode.start_mark.line + 1, format_path(path) or None)
            key = knode.value
            if key in out:
                raise SpecError(f"duplicate key '{key}'", file, knode.start_mark.line + 1, format_path(path) or None)
            lines[path + (key,)] = knode.start_mark.line + 1
            out[key] = _to_data(vnode, path + (key,), lines, file)
            lines[path + (key,)] = knode.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(v, path + (i,), lines, file) for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node)) if node.tag.startswith("tag:yaml.org,2002:") else node.value


def parse_yaml(text: str, file: str = "<spec>") -> LocatedSpec:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(f"not valid YAML: {e.problem or e.context}", file, line) from None
    except yaml.YAMLError as e:
        raise SpecError(f"not valid YAML: {e}", file) from None
    if node is None:
        raise SpecError("the file is empty", file)
    lines: dict[Path_, int] = {}
    try:
        data = _to_data(node, (), lines, file)
    except yaml.YAMLError as e:
        raise SpecError(f"not valid YAML: {e}", file, node.start_mark.line + 1) from None
    if not isinstance(data, dict):
        raise SpecError("a spec is a mapping with keys 'worldgen', 'world' and 'shots'", file, 1)
    return LocatedSpec(data, lines, file)


def _pydantic_message(err: dict) -> str:
    kind, msg = err.get("type", ""), err.get("msg", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return msg.replace("Input should be", "must be")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg[0].lower() + msg[1:] if msg else kind


def _suggest_field(loc: tuple, located: LocatedSpec) -> str:
    """For an unknown key, name the closest allowed one."""
    from worldgen.spec import models
    key = loc[-1]
    if not isinstance(key, str):
        return ""
    candidates = set()
    for cls in (models.Spec, models.RenderSettings, models.WorldSpec, models.ObjectSpec, models.Keyframe,
                models.Light, models.Shot, models.Camera, models.CameraKey):
        candidates.update(cls.model_fields)
    close = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _clean_loc(loc: tuple) -> tuple:
    # pydantic inserts union/literal branch names into locations; keep only real fields/indices
    out = []
    for p in loc:
        if isinstance(p, str) and ("[" in p or p in ("function-after", "tuple", "float", "int")):
            continue
        out.append(p)
    return tuple(out)


def validate_data(located: LocatedSpec) -> Spec:
    try:
        return Spec.model_validate(located.data)
    except ValidationError as e:
        errs = e.errors()
        # report the most specific error first (deepest location), one line
        err = max(errs, key=lambda x: len(_clean_loc(x["loc"])))
        if any(x["type"] == "extra_forbidden" for x in errs):
            err = next(x for x in errs if x["type"] == "extra_forbidden")
        loc = _clean_loc(err["loc"])
        msg = _pydantic_message(err)
        if err["type"] == "extra_forbidden":
            msg += _suggest_field(loc, located)
        extra = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise located.error(loc, msg + extra) from None


def load_spec(path: str | Path, check: bool = True) -> Spec:
    """Load, validate and (with ``check``) run the reference checks on a spec file."""
    p = Path(path)
    file = str(path)
    if not p.exists():
        raise SpecError("no such file", file)
    if p.is_dir():
        raise SpecError("is a folder, not a spec file", file)
    if p.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError(f"spec is larger than {MAX_SPEC_BYTES // 1_000_000} MB", file)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", file) from None
    return load_spec_text(text, file, base_dir=p.resolve().parent, check=check)


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
