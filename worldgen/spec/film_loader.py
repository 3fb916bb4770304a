"""Read a film spec (format 2) and unroll it, or read whichever format a file holds.

`load_film` is `load_spec`'s twin: the same YAML reader and the same one-line located errors,
then the film's own checks and its expansion into scenes (`film_expand`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from worldgen.spec.film import FilmSpec
from worldgen.spec.film_expand import ExpandedScene, edit_spec, expand_film
from worldgen.spec.loader import LocatedSpec, load_spec_text, parse_yaml, read_spec_text, validate_data
from worldgen.spec.models import Spec


@dataclass
class Film:
    """A loaded film: the spec as written, each scene as a format 1 spec, and the one spec the
    edit and the sound work from (every shot in order, the whole cast)."""

    spec: FilmSpec
    located: LocatedSpec
    base_dir: Path
    scenes: list[ExpandedScene]
    edit: Spec

    @property
    def title(self) -> str:
        return self.spec.title


def is_film_text(text: str) -> bool:
    """Whether a spec's text declares format 2 (a cheap look before the full read)."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("worldgen:"):
            return line.split(":", 1)[1].strip() == "2"
    return False


def load_film_text(text: str, file: str = "<film>", base_dir: Path | None = None, check: bool = True) -> Film:
    located = parse_yaml(text, file)
    film = validate_data(located, FilmSpec)
    base = base_dir or Path.cwd()
    scenes = expand_film(film, located, base, check=check)
    return Film(film, located, base, scenes, edit_spec(film, scenes, located))


def load_film(path: str | Path, check: bool = True) -> Film:
    """Load, validate, check and expand a film spec file."""
    text = read_spec_text(path)
    return load_film_text(text, str(path), base_dir=Path(path).resolve().parent, check=check)


def load_any(path: str | Path, check: bool = True) -> Spec | Film:
    """A format 1 `Spec` or a format 2 `Film`, whichever the file holds."""
    text = read_spec_text(path)
    if is_film_text(text):
        return load_film_text(text, str(path), base_dir=Path(path).resolve().parent, check=check)
    return load_spec_text(text, str(path), base_dir=Path(path).resolve().parent, check=check)
