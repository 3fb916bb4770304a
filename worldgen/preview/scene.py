"""What the preview page draws, computed by the library from a spec file.

`build_scene(path)` checks the spec as `worldgen validate` does (the same loader, the same
World, the same geometry checks, so a broken spec gives the very line `validate` prints),
then returns the glTF export of the world and a small JSON description: every object's id,
shape, appearance and defining spec line, the instance id the renderer gives it, the lights,
and every shot's camera sampled at each of its frames by worldgen.camera (position, rotation,
vertical field of view). The page interpolates between those samples and nothing else, so at a
frame time it shows exactly the pose the renderer uses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from worldgen.transforms import continuous_quats, decompose


@dataclass
class BuiltScene:
    """One successfully built version of the spec: the world (for rendering a frame on
    request), the glTF bytes and the description the page reads."""

    version: int
    spec: object
    world: object
    glb: bytes
    meta: dict
    seconds: float = 0.0  # how long the build took
    started: float = 0.0  # when it began (time.time(): comparable with a file's save time)
    assets: dict[str, Path] = field(default_factory=dict)  # spec-relative names of mesh assets -> files


def _round(a, digits: int = 6) -> list:
    return np.round(np.asarray(a, float), digits).tolist()


def _shape_of(o) -> dict:
    out: dict = {"shape": o.shape} if o.shape else {"shape": "mesh", "mesh": o.mesh}
    for name in ("size", "radius", "height", "tube"):
        v = getattr(o, name)
        if v is not None:
            out[name] = list(v) if isinstance(v, (tuple, list)) else v
    return out


def _line_text(text_lines: list[str], line: int | None) -> str:
    if line is None or not 1 <= line <= len(text_lines):
        return ""
    return text_lines[line - 1].rstrip()


def describe(spec, world, export_scene, text: str) -> dict:
    """The page's description of a built world (JSON-ready). `export_scene` is the
    worldgen.export.scene.ExportScene the glTF was written from, so cameras come from one place."""
    from worldgen.spec.loader import located_of

    located = located_of(spec)
    lines = text.splitlines()
    r = spec.render
    objects = []
    for i, o in enumerate(spec.world.objects):
        line = located.line(("world", "objects", i))
        objects.append(
            {
                "id": o.id,
                "kind": "object",
                **_shape_of(o),
                "appearance": o.appearance,
                "label": world.nodes[o.id].label,
                "parent": o.parent,
                "instance": world.nodes[o.id].instance,
                "moving": o.id not in world.static_ids,
                "line": line,
                "line_text": _line_text(lines, line),
            }
        )
    characters = []
    for k, c in enumerate(spec.world.characters):
        line = located.line(("world", "characters", k))
        characters.append(
            {
                "id": c.id,
                "kind": "character",
                "shape": "character" if c.asset is None else "rigged asset",
                "appearance": c.appearance,
                "label": c.label,
                "instance": world.character_instance[c.id],
                "parts": world.parts_of(c.id),
                "line": line,
                "line_text": _line_text(lines, line),
            }
        )
    shots = []
    for k, cam in enumerate(export_scene.cameras):
        timing = cam.timing
        shot = timing.shot
        parts = [decompose(p) for p in cam.poses]
        quats = continuous_quats(np.stack([q for _, q, _ in parts]))[:, [1, 2, 3, 0]]  # (x, y, z, w)
        line = located.line(("shots", k))
        shots.append(
            {
                "id": shot.id,
                "start": shot.start,
                "duration": shot.duration,
                "frame_count": timing.frame_count,
                "film_start": timing.film_start,
                "move": "keyframes" if shot.camera.keyframes else shot.camera.move,
                "line": line,
                "line_text": _line_text(lines, line),
                # camera->world in glTF/three.js axes (looks down -Z, +Y up), one sample per frame
                "camera": {
                    "position": _round([t for t, _, _ in parts]),
                    "quaternion": _round(quats, 8),
                    "yfov": _round(np.degrees(cam.yfov), 6),
                },
            }
        )
    frames = sum(s["frame_count"] for s in shots)
    return {
        "title": spec.title,
        "file": located.file,
        "fps": r.fps,
        "width": r.width,
        "height": r.height,
        "near": export_scene.near,
        "far": export_scene.far,
        "film_frames": frames,
        "objects": objects,
        "characters": characters,
        "shots": shots,
        "lights": [
            {"type": li.type, "direction": list(li.direction), "color": li.color, "intensity": li.intensity}
            for li in spec.world.lights
        ],
    }


def spec_assets(spec, spec_dir: Path) -> dict[str, Path]:
    """Mesh and character asset names the spec gives (as written) -> the files they resolve to,
    for those that resolve at all. Which of them may be served is decided by worldgen.preview.files."""
    from worldgen.assets import resolve_asset
    from worldgen.errors import WorldgenError

    names = [o.mesh for o in spec.world.objects if o.mesh] + [c.asset for c in spec.world.characters if c.asset]
    out = {}
    for name in names:
        try:
            out[name] = resolve_asset(name, spec_dir)
        except WorldgenError:
            continue
    return out


def build_scene(path: str | Path, version: int) -> BuiltScene:
    """Load and check the spec at `path` and build what the page shows. Raises the
    WorldgenError `worldgen validate` would report for the same file."""
    from worldgen.export.gltf import glb_bytes
    from worldgen.export.scene import build_export_scene
    from worldgen.spec import load_spec
    from worldgen.world import World
    from worldgen.world_checks import check_geometry

    started, t0 = time.time(), time.perf_counter()
    spec = load_spec(path)
    world = World(spec)
    check_geometry(spec, world)
    export_scene = build_export_scene(spec, world)
    glb = glb_bytes(export_scene)
    text = Path(path).read_text(encoding="utf-8")
    meta = describe(spec, world, export_scene, text)
    meta["version"] = version
    return BuiltScene(
        version,
        spec,
        world,
        glb,
        meta,
        time.perf_counter() - t0,
        started,
        spec_assets(spec, Path(path).resolve().parent),
    )
