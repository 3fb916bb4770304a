"""What a benchmark reads: specs to render (or the built-in suite), finished render folders, the
methods asked for, and where each shot's frames and passes are (`ShotPlan`s)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from worldgen.bench.evaluate import ShotPlan
from worldgen.bench.options import BENCH_METHODS, BenchError, BenchOptions

# the stress scenes `worldgen bench` runs when given none: package data, found wherever worldgen is installed
SUITE_DIR = Path(__file__).resolve().parent / "suite"


@dataclass
class SceneInput:
    """One scene of the benchmark: a spec to render with each method, or finished renders."""

    name: str
    source: str
    spec: object | None = None  # a worldgen Spec when the scene is rendered here
    dirs: dict = field(default_factory=dict)  # method -> finished render folder


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_" else "_" for c in text.strip().lower())
    return out.strip("_") or "scene"


def read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        raise BenchError(f"{folder}: not a worldgen render (no manifest.json) and not a spec file")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise BenchError(f"{path}: cannot be read ({e})") from None
    shots = manifest.get("shots") or []
    if not shots or not all(fr.get("frame") and fr.get("passes") for s in shots for fr in s.get("frames", [])):
        raise BenchError(f"{folder}: a render without painted frames and passes (render it with `worldgen render`)")
    return manifest


def _resized(spec, size: tuple[int, int] | None, fps: float | None):
    """The spec with other render settings; the loader's private context (base folder for
    mesh paths, YAML lines) is carried over."""
    if size is None and fps is None:
        return spec
    from pydantic import ValidationError

    from worldgen.spec.models import RenderSettings

    settings = spec.render.model_dump()
    if size is not None:
        settings["width"], settings["height"] = size
    if fps is not None:
        settings["fps"] = fps
    try:
        render = RenderSettings(**settings)
    except ValidationError as e:
        err = e.errors()[0]
        raise BenchError(f"--size/--fps: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    new = spec.model_copy(update={"render": render})
    for attr in ("_located", "_base_dir"):
        if hasattr(spec, attr):
            object.__setattr__(new, attr, getattr(spec, attr))
    return new


def collect_inputs(items: Sequence[str | Path], options: BenchOptions) -> list[SceneInput]:
    """Specs (YAML) become scenes to render; rendered folders are grouped into scenes by title,
    each folder one method (its manifest's painter). No items: the built-in suite."""
    from worldgen.spec import load_spec
    from worldgen.world_checks import check_geometry
    from worldgen.world import World

    paths = [Path(p) for p in items] or suite_specs()
    scenes: dict[str, SceneInput] = {}
    for path in paths:
        if not path.exists():
            raise BenchError(f"{path}: no such file or folder")
        if path.is_dir():
            manifest = read_manifest(path)
            name = _slug(manifest.get("title") or path.name)
            scene = scenes.setdefault(name, SceneInput(name, str(path)))
            if scene.spec is not None:
                name = f"{name}_renders"
                scene = scenes.setdefault(name, SceneInput(name, str(path)))
            method = manifest.get("painter") or path.name
            if method in scene.dirs:
                method = f"{method} ({path.name})"
            scene.dirs[method] = path
            continue
        spec = load_spec(path)
        check_geometry(spec, World(spec))
        name = _slug(path.stem)
        while name in scenes:
            name += "_2"
        scenes[name] = SceneInput(name, str(path), spec=_resized(spec, options.size, options.fps))
    return list(scenes.values())


def suite_specs() -> list[Path]:
    """The built-in suite: the stress scenes that ship with the package (worldgen/bench/suite/)."""
    found = sorted(SUITE_DIR.glob("*.yaml"))
    if not found:
        raise BenchError(
            f"no SPEC given and the built-in suite ({SUITE_DIR}) is not here; give spec files or render folders"
        )
    return found


def check_methods(methods: Sequence[str]) -> list[str]:
    """Method names, checked: the issue's methods are always accepted (reported "unavailable"
    where they cannot run); any other must be a painter registered here."""
    from worldgen.paint import registry

    painters = registry.names()
    out = []
    for m in methods:
        m = m.strip()
        if not m:
            continue
        if m not in BENCH_METHODS and m not in painters:
            known = sorted(set(BENCH_METHODS) | set(painters))
            import difflib

            close = difflib.get_close_matches(m, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (methods: {', '.join(known)})"
            raise BenchError(f"--methods: no method '{m}'{hint}")
        if m not in out:
            out.append(m)
    if not out:
        raise BenchError("--methods: give at least one method")
    return out


def unavailable_reason(method: str) -> str | None:
    from worldgen.paint import registry

    return registry.unavailable_reason(method)


def painter_class(method: str):
    """The class of a method's painter, whose attributes (worldgen.paint.base.Painter) say
    whether it takes a model and paints textures; None when that is not known here (no such
    painter, one that cannot load, or a plugin's plain factory)."""
    from worldgen.paint import registry

    try:
        return registry.painter_class(method)
    except registry.PainterError:
        return None


def no_model(method: str) -> bool:
    cls = painter_class(method)
    return cls is not None and not cls.needs_model


def plans_from_manifest(folder: Path, manifest: dict, cameras: dict) -> list[ShotPlan]:
    fps = float(manifest.get("fps") or 0)
    return [
        ShotPlan(
            s["id"],
            [str(folder / fr["frame"]) for fr in s["frames"]],
            [str(folder / fr["passes"]) for fr in s["frames"]],
            cameras.get(s["id"], {}),
            fps,
        )
        for s in manifest["shots"]
    ]


def plans_for_render(spec, folder: Path, fmt: str = "npz") -> list[ShotPlan]:
    """Where `render` will write each frame (the layout in docs/MANIFEST.md), so frames can be
    evaluated as they land; checked against the manifest afterwards."""
    from worldgen.camera import frame_count

    fps = spec.render.fps
    plans = []
    for shot in spec.shots:
        n = frame_count(shot, fps)
        base = folder / "shots" / shot.id
        plans.append(
            ShotPlan(
                shot.id,
                [str(base / "frames" / f"{i:06d}.png") for i in range(n)],
                [str(base / "passes" / f"{i:06d}.{fmt}") for i in range(n)],
                shot.camera.model_dump(),
                float(fps),
            )
        )
    return plans


def cameras_of_render(folder: Path) -> dict:
    """shot id -> camera dict, from the render's spec.resolved.json (empty if unreadable)."""
    try:
        spec = json.loads((folder / "spec.resolved.json").read_text())
        return {s["id"]: s.get("camera") or {} for s in spec.get("shots", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
