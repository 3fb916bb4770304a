"""Continuity, measured: does the film keep its cast's clothes and its sets' layouts between
scenes, and does every change it shows have a scene that declared it?

Three measures, each compared scene to scene over the expanded specs (worldgen.spec.film_expand),
so they check what the renderer is given, not what the film spec meant to say:

- layout drift: the world pose (4x4 at t = 0) of every static set piece in each scene of a set,
  against the previous scene of that set. Exactly 0 unless a scene moved it; a non-zero drift
  is attributed to the scene that declared the change (the prop itself, its parent, or a
  `reset`), else flagged.
- appearance drift in texture space: each character's body regions (head, torso, legs, arms)
  and each set piece as the painter colours them, sampled at the texel centres of the part's
  uv atlas (the object-frame point each texel stands for) and compared with the character's
  previous scene (mean absolute difference of sRGB, 0-255). This is the painter's unlit
  albedo, which is what "the jumper changes colour" means: lit frames also differ by the time
  of day, which is light, not continuity. For the procedural painter (appearance words and
  object-frame points) and the baked painter (one texture per appearance, from the cache) it
  is 0 by construction whenever the outfit is the same. The per-frame diffusion baselines
  have no albedo to sample (they paint pixels, not surfaces): for them the report measures
  their painted frames reprojected into texture space by the part and uv passes
  (worldgen.bench.reprojection; lit pixels, with the procedural painter's drift on the same
  scenes as the lighting floor).
- the wardrobe-by-scene table: what each cast member wears in each scene, where the spec
  changed it, and any change of the words (or of the measured appearance) no scene declared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from worldgen.bench.body_regions import REGIONS, body_region  # noqa: F401 (re-exported)
from worldgen.bench.scene_pairs import comparison_row, last_seen_pairs

TEXELS = 32  # texels per side of the atlas a part is sampled on
TOLERANCE = 0.0  # drift above this is a change (both measures are exact: 0 means the same bytes)


@dataclass
class Report:
    title: str
    painter: str
    scenes: list[str]
    layout: list[dict] = field(default_factory=list)
    appearance: list[dict] = field(default_factory=list)
    wardrobe: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    pixels: dict | None = None  # the pixel measure (worldgen.bench.reprojection), when run

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "painter": self.painter,
            "scenes": self.scenes,
            "ok": not self.flags,
            "flags": self.flags,
            "layout": self.layout,
            "appearance": self.appearance,
            "wardrobe": self.wardrobe,
            "pixels": self.pixels,
        }


# ---- layout ---------------------------------------------------------------------------------
def _static(spec, oid: str) -> bool:
    objs = {o.id: o for o in spec.world.objects}
    while oid in objs:
        o = objs[oid]
        if o.motion:
            return False
        oid = o.parent
    return True


def _ancestors(spec, oid: str) -> list[str]:
    objs = {o.id: o for o in spec.world.objects}
    out = []
    while oid in objs and objs[oid].parent:
        oid = objs[oid].parent
        out.append(oid)
    return out


def pose_drift(a: np.ndarray, b: np.ndarray) -> dict:
    """How far pose b is from pose a: translation (m), rotation (degrees, scale removed) and the
    largest difference of any matrix entry (catches a change of scale)."""
    t = float(np.linalg.norm(b[:3, 3] - a[:3, 3]))
    ra = a[:3, :3] / np.linalg.norm(a[:3, :3], axis=0)
    rb = b[:3, :3] / np.linalg.norm(b[:3, :3], axis=0)
    c = (np.trace(ra.T @ rb) - 1) / 2
    angle = math.degrees(math.acos(float(np.clip(c, -1, 1))))
    return {"translation_m": t, "rotation_deg": angle, "pose_delta": float(np.abs(b - a).max())}


def layout_drift(film, worlds: list) -> tuple[list[dict], list[str]]:
    rows, flags = [], []
    last: dict[str, dict] = {}  # set id -> prop id -> (scene id, pose)
    for e, world in zip(film.scenes, worlds):
        spec, sid = e.spec, e.scene.id
        prev = last.get(e.scene.set)
        now = {}
        for o in spec.world.objects:
            if not _static(spec, o.id):
                continue
            now[o.id] = np.asarray(world.world_matrix(o.id, 0.0), np.float64)
        if prev is not None:
            for oid in sorted(set(prev) | set(now)):
                row = {"set": e.scene.set, "prop": oid, "scene": sid, "previous_scene": prev.get(oid, (None,))[0]}
                if oid in now and oid in prev:
                    row.update(pose_drift(prev[oid][1], now[oid]))
                    changed = row["pose_delta"] > TOLERANCE
                    row["change"] = "moved" if changed else "none"
                else:
                    changed = True
                    row["change"] = "added" if oid in now else "removed"
                if changed:
                    row["status"], row["declared_by"] = _declared(e, spec, oid)
                    if row["status"] == "undeclared":
                        flags.append(
                            f"layout: '{oid}' in set '{e.scene.set}' {row['change']} in scene '{sid}' "
                            f"(since '{row['previous_scene']}') and no scene declared it"
                        )
                else:
                    row["status"], row["declared_by"] = "same", None
                rows.append(row)
        last[e.scene.set] = {oid: (sid, m) for oid, m in now.items()}
    return rows, flags


def _declared(e, spec, oid: str) -> tuple[str, str | None]:
    if oid in e.moved_props:
        return "declared", e.scene.id
    parents = [p for p in _ancestors(spec, oid) if p in e.moved_props]
    if parents:
        return f"declared (moved with '{parents[0]}')", e.scene.id
    if e.scene.reset:
        return "declared (reset)", e.scene.id
    return "undeclared", None


# ---- appearance -----------------------------------------------------------------------------
def _texel_samples(world, oid: str, size: int = TEXELS):
    from worldgen.diffusion.texture import texel_map

    tm = texel_map(world.nodes[oid].mesh, size)
    rows, cols = np.nonzero(tm.inside)
    uv = np.stack([(cols + 0.5) / size, 1 - (rows + 0.5) / size], 1).astype(np.float32)
    return SimpleNamespace(local=tm.points[rows, cols], uv=uv, normal=tm.normals[rows, cols])


def albedo_atlas(painter, world, oid: str) -> np.ndarray:
    """The painter's unlit albedo (sRGB, 0-255, float) at the texel centres of `oid`'s atlas."""
    g = list(world.nodes).index(oid)
    surf = _texel_samples(world, oid)
    lin = np.asarray(painter.surface_albedo(g, surf, slice(None), None), np.float64)
    return np.clip(lin, 0, 1) ** (1 / 2.2) * 255


def appearance_of(painter, world) -> dict:
    """(kind, id, region) -> atlas samples of every character region and set piece."""
    out: dict = {}
    for cid in world.characters:
        by_region: dict[str, list] = {}
        for oid in world.parts_of(cid):
            by_region.setdefault(body_region(oid), []).append(albedo_atlas(painter, world, oid))
        for region, parts in by_region.items():
            out[("character", cid, region)] = np.concatenate(parts)
    for oid in world.objects():
        out[("prop", oid, "surface")] = albedo_atlas(painter, world, oid)
    return out


def appearance_drift(film, worlds: list, painters: list) -> tuple[list[dict], list[str]]:
    rows, flags = [], []
    per_scene = (appearance_of(painter, world) for world, painter in zip(worlds, painters))
    for e, prev, found, before, atlas in last_seen_pairs(film, per_scene):
        kind, uid, region = found
        drift = float(np.abs(atlas - before).mean()) if atlas.shape == before.shape else float("inf")
        row = comparison_row(e, prev, found) | {"drift": round(drift, 6)}
        if kind == "character":
            declared = uid in e.changed_wardrobe or e.wardrobe.get(uid) != prev.wardrobe.get(uid)
            where = f"character '{uid}' ({region})"
        else:
            declared = uid in e.moved_props and prev.scene.set == e.scene.set
            where = f"set piece '{uid}'"
        if drift > TOLERANCE:
            row["status"] = "declared" if declared else "undeclared"
            if not declared:
                flags.append(
                    f"appearance: {where} differs in scene '{e.scene.id}' from scene "
                    f"'{prev.scene.id}' by {drift:.3g} (sRGB, 0-255) and no scene declared it"
                )
        else:
            row["status"] = "same"
        rows.append(row)
    return rows, flags


# ---- wardrobe -------------------------------------------------------------------------------
def wardrobe_table(film) -> tuple[dict, list[str]]:
    flags = []
    table: dict[str, list] = {}
    words_before: dict[str, tuple[str, str]] = {}
    for e in film.scenes:
        chars = {c.id: c for c in e.spec.world.characters}
        for member in film.spec.cast:
            cell = {"scene": e.scene.id, "outfit": None, "changed": False}
            if member.id in chars:
                cell["outfit"] = e.wardrobe[member.id]
                cell["changed"] = member.id in e.changed_wardrobe
                words = chars[member.id].appearance
                if member.id in words_before and words != words_before[member.id][1] and not cell["changed"]:
                    cell["undeclared"] = True
                    flags.append(
                        f"wardrobe: '{member.id}' looks different in scene '{e.scene.id}' from scene "
                        f"'{words_before[member.id][0]}' ('{words}') and no scene changed the outfit"
                    )
                words_before[member.id] = (e.scene.id, words)
            table.setdefault(member.id, []).append(cell)
    return {"scenes": [e.scene.id for e in film.scenes], "cast": table}, flags


# ---- the report -----------------------------------------------------------------------------
def paints_surfaces(name: str) -> bool:
    """Whether painter `name` has an albedo to sample (`surface_albedo`: the procedural and
    texture painters); the per-frame diffusion baselines paint pixels and have none."""
    from worldgen.paint.registry import painter_class

    cls = painter_class(name)
    return cls is not None and callable(getattr(cls, "surface_albedo", None))


def continuity(
    film, painter: str | None = None, painter_options: dict | None = None, pixels: bool | None = None
) -> Report:
    """The continuity report of a loaded film (`worldgen.spec.film_loader.Film`). `painter`:
    whose look is compared (default the film's render.painter): its albedo when it paints
    surfaces; its painted frames reprojected into texture space (worldgen.bench.reprojection)
    when it paints pixels, or for any painter when `pixels` is True. The pixel measure
    reports, it does not flag: drift of a per-frame painter is its property, not the spec's."""
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.render.film_render import film_painter_options
    from worldgen.world import World

    name = painter or film.spec.render.painter
    options = film_painter_options(film, name, painter_options)  # as a film render paints them
    surfaces = paints_surfaces(name)
    worlds = [World(e.spec) for e in film.scenes]
    report = Report(film.title, name, [e.scene.id for e in film.scenes])
    report.layout, flags_l = layout_drift(film, worlds)
    flags_a: list[str] = []
    if surfaces:
        painters = []
        for e, world in zip(film.scenes, worlds):
            p = make_painter(name, world, Rasterizer(world, e.spec.render.backend, with_local=False), options)
            p.prepare(e.spec.shots)
            painters.append(p)
        report.appearance, flags_a = appearance_drift(film, worlds, painters)
    if pixels or (pixels is None and not surfaces):
        from worldgen.bench.reprojection import measure

        report.pixels = measure(film, name, options)
    report.wardrobe, flags_w = wardrobe_table(film)
    report.flags = flags_w + flags_l + flags_a
    return report


def markdown(report: Report | dict) -> str:
    """The report for people: the wardrobe table, what moved, what changed colour, the flags."""
    d = report if isinstance(report, dict) else report.as_dict()
    lines = [f"# Continuity: {d['title']}", "", f"Painter: {d['painter']}. Scenes: {', '.join(d['scenes'])}.", ""]
    lines += ["## Wardrobe by scene", "", "| cast | " + " | ".join(d["scenes"]) + " |"]
    lines.append("|---|" + "---|" * len(d["scenes"]))
    for cid, cells in d["wardrobe"]["cast"].items():
        out = []
        for c in cells:
            v = c["outfit"] or "-"
            if c["changed"]:
                v += " (changed)"
            if c.get("undeclared"):
                v += " **UNDECLARED**"
            out.append(v)
        lines.append(f"| {cid} | " + " | ".join(out) + " |")
    moved = [r for r in d["layout"] if r["status"] != "same"]
    same = len(d["layout"]) - len(moved)
    lines += ["", "## Layout drift", "", f"{same} set-piece poses identical to the set's previous scene (drift 0)."]
    if moved:
        lines += ["", "| set | prop | scene | since | change | moved (m) | turned (deg) | status | by |"]
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for r in moved:
            lines.append(
                f"| {r['set']} | {r['prop']} | {r['scene']} | {r['previous_scene'] or '-'} | {r['change']} | "
                f"{r.get('translation_m', 0):.3g} | {r.get('rotation_deg', 0):.3g} | {r['status']} | "
                f"{r['declared_by'] or '-'} |"
            )
    chars = [r for r in d["appearance"] if r["kind"] == "character"]
    props = [r for r in d["appearance"] if r["kind"] == "prop"]
    lines += ["", "## Appearance drift (texture space, unlit albedo, sRGB 0-255)", ""]
    if chars:
        lines += ["| character | region | scene | since | outfit | drift | status |", "|---|---|---|---|---|---|---|"]
        for r in chars:
            outfit = r["outfit"] if r["outfit"] == r["previous_outfit"] else f"{r['previous_outfit']} -> {r['outfit']}"
            lines.append(
                f"| {r['id']} | {r['region']} | {r['scene']} | {r['compared_with']} | {outfit} | "
                f"{r['drift']:.3g} | {r['status']} |"
            )
    changed_props = [r for r in props if r["status"] != "same"]
    if d["appearance"] or not d.get("pixels"):
        lines += ["", f"{len(props) - len(changed_props)} set-piece comparisons identical (drift 0)."]
    else:
        lines.append(f"Not measured: painter {d['painter']} paints pixels, not surfaces (see the pixel measure).")
    for r in changed_props:
        lines.append(f"- {r['id']} in {r['scene']} (since {r['compared_with']}): {r['drift']:.3g}, {r['status']}")
    if d.get("pixels"):
        from worldgen.bench.reprojection import markdown as pixel_markdown

        lines += [""] + pixel_markdown(d["pixels"])
    for extra in d.get("pixel_methods", []):  # the bench's per-frame methods
        from worldgen.bench.reprojection import markdown as pixel_markdown

        if "error" in extra:
            lines += ["", f"Pixel measure of {extra['painter']}: not run ({extra['error']})."]
        else:
            lines += [""] + pixel_markdown(extra)
    lines += ["", "## Flags", ""]
    lines += [f"- {f}" for f in d["flags"]] or ["None: every change was declared by a scene."]
    return "\n".join(lines) + "\n"
