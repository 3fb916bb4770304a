"""Appearance drift of painted pixels, measured in texture space.

The albedo measure of worldgen.bench.continuity needs a painter that paints surfaces (it
samples their unlit colour at texel centres). The per-frame diffusion baselines paint pixels:
each frame is a fresh picture, so the only place their look of a character exists is the
frames. This module reprojects those frames into texture space with the exact passes:

- every painted pixel is placed on a surface by the part pass (the node a pixel sees:
  `Hits.geom`, an index into `world.nodes`; a character's body parts are nodes
  `<character>/<part>`, which the instance pass groups into the character) and the uv pass
  (where on that part's uv square it lies), binned into BINS x BINS texel bins per part;
- a scene's frames are summed per (part, bin): each bin's mean painted colour (sRGB levels,
  0-255, as the frames are written) over every frame of every shot of the scene;
- the drift of a (character, body region) between two scenes is the mean, over the bins of
  the region's parts seen in both scenes (at least one pixel each), of the mean absolute
  difference of the three channels of the two bin means, in 8-bit sRGB levels (0-255). A set
  piece is a region 'surface' of its own and is compared only within its set.

What the pixel measure includes: everything that puts a colour on a pixel, so light too (time
of day, a lamp's falloff, where a character stands and faces), the view (highlights, fog,
filtering at the part's edges) and the camera's tone and grain. To separate the painter's
drift from that, every comparison of a painter other than the procedural one is repeated on
the procedural painter's frames of the same scenes ('lighting floor'): procedural albedo is
the same by construction for the same outfit, so its pixel drift is what light, view and lens
alone contribute, and it is exactly 0 between scenes that are lit and framed alike. The
'light' column says whether the two scenes share set and time of day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from worldgen.bench.scene_pairs import comparison_row, last_seen_pairs

BINS = 8  # texel bins per side of a part's uv square (a tiny film's parts cover a few pixels)


@dataclass
class Frame:
    """One painted frame and the passes that place its pixels on surfaces."""

    shot: str
    index: int
    part: np.ndarray  # (H, W) int32 node index (Hits.geom), -1 where nothing is hit
    uv: np.ndarray  # (H, W, 2) float32 uv pass
    image: np.ndarray  # (H, W, 3) uint8 sRGB, as painted


@dataclass
class SceneTexels:
    """A scene's painted colours in texture space: per node id, the sum of colours and the
    pixel count of each texel bin (flattened v * BINS + u)."""

    sums: dict  # node id -> (BINS*BINS, 3) float64
    counts: dict  # node id -> (BINS*BINS,) int64
    bins: int = BINS

    def means(self, oid: str) -> tuple[np.ndarray, np.ndarray]:
        """(mean colour per bin, seen mask) of node `oid`."""
        c = self.counts[oid]
        return self.sums[oid] / np.maximum(c, 1)[:, None], c > 0


def paint_scene(entry, painter: str, options: dict | None = None, backend: str | None = None):
    """(world, frames) of one expanded scene (`film.scenes[k]`) painted by `painter` as a
    render paints it (render.frames.painted_frames, shot by shot). Mouths
    stay shut (the lip sync is left out: it moves a few head pixels, not the look)."""
    from worldgen.camera import ShotCamera, frame_count
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer
    from worldgen.render.frames import depth_range, painted_frames
    from worldgen.world import World

    spec = entry.spec
    r = spec.render
    world = World(spec)
    raster = Rasterizer(world, backend or r.backend, with_local=True)
    p = make_painter(painter, world, raster, options)
    p.prepare(spec.shots)
    frames: list[Frame] = []

    def keep(shot, finished):
        for fr, img in finished:
            frames.append(Frame(shot.id, fr.view.index, fr.view.hits.geom, fr.passes.uv, np.asarray(img)))

    for shot in spec.shots:
        rig = ShotCamera(shot, world, r.width, r.height)
        near_far = depth_range(raster, rig, r.fps, frame_count(shot, r.fps))
        keep(shot, painted_frames(raster, p, spec, shot, near_far))
    return world, frames


def texels(world, frames: Iterable[Frame], bins: int = BINS) -> SceneTexels:
    """Accumulate frames into texture space: each hit pixel's colour into its (part, uv bin).
    uv is taken modulo 1, so a tiled surface still maps each point to one bin."""
    ids = list(world.nodes)
    n = len(ids) * bins * bins
    sums = np.zeros((n, 3), np.float64)
    counts = np.zeros(n, np.int64)
    for f in frames:
        hit = f.part.ravel() >= 0
        part = f.part.ravel()[hit].astype(np.int64)
        uv = np.mod(f.uv.reshape(-1, 2)[hit], 1.0)
        b = np.minimum((uv * bins).astype(np.int64), bins - 1)
        key = (part * bins + b[:, 1]) * bins + b[:, 0]
        col = f.image.reshape(-1, 3)[hit].astype(np.float64)
        counts += np.bincount(key, minlength=n)
        for c in range(3):
            sums[:, c] += np.bincount(key, weights=col[:, c], minlength=n)
    sums = sums.reshape(len(ids), bins * bins, 3)
    counts = counts.reshape(len(ids), bins * bins)
    return SceneTexels(
        {oid: sums[k] for k, oid in enumerate(ids) if counts[k].any()},
        {oid: counts[k] for k, oid in enumerate(ids) if counts[k].any()},
        bins,
    )


def regions(world) -> dict:
    """(kind, id, region) -> node ids: each character's body regions (head, torso, arms,
    legs; 'body' for a rigged asset) and each set piece ('surface')."""
    from worldgen.bench.body_regions import body_region

    out: dict = {}
    for oid, node in world.nodes.items():
        if node.character is not None:
            out.setdefault(("character", node.character, body_region(oid)), []).append(oid)
        else:
            out[("prop", oid, "surface")] = [oid]
    return out


def region_drift(a: SceneTexels, b: SceneTexels, parts: list[str]) -> tuple[float | None, int]:
    """(drift, bins compared): mean over the bins of `parts` seen in both scenes of the
    per-bin mean absolute channel difference (sRGB levels, 0-255); None when none is shared."""
    diffs = []
    for oid in parts:
        if oid not in a.counts or oid not in b.counts:
            continue
        ma, sa = a.means(oid)
        mb, sb = b.means(oid)
        both = sa & sb
        diffs.append(np.abs(ma[both] - mb[both]).mean(1))
    d = np.concatenate(diffs) if diffs else np.zeros(0)
    return (float(d.mean()) if d.size else None), int(d.size)


def _light(a, b) -> str:
    """'same' when two scenes share set and time of day (lit alike), else what changed."""
    if (a.set, a.time) == (b.set, b.time):
        return "same"
    if a.set == b.set:
        return f"{a.time} -> {b.time}"
    return f"{a.set}/{a.time} -> {b.set}/{b.time}"


def pixel_drift(film, scenes: list[tuple], reference: list[tuple] | None = None) -> list[dict]:
    """Rows of the pixel measure. `scenes`: (world, SceneTexels) per film scene, in order;
    `reference`: the same for the procedural painter (the lighting floor), or None.
    Each region is compared with the last earlier scene that showed it (within the set for a
    set piece); a changed outfit (which only a scene can declare: the expanded specs take
    outfits from the film's wardrobe) is reported with its drift and status 'declared
    change', not counted as drift."""

    def per_scene():
        for k, (world, tex) in enumerate(scenes):
            ref = reference[k][1] if reference is not None else None
            yield {
                found: (parts, tex, ref)
                for found, parts in regions(world).items()
                if any(p in tex.counts for p in parts)
            }

    rows = []
    for e, prev, found, (_, tex_before, ref_before), (parts, tex, ref) in last_seen_pairs(film, per_scene()):
        kind, uid, _ = found
        drift, n = region_drift(tex_before, tex, parts)
        row = comparison_row(e, prev, found) | {
            "bins": n,
            "drift": None if drift is None else round(drift, 4),
            "light": _light(prev.scene, e.scene),
        }
        if reference is not None:
            floor, _ = region_drift(ref_before, ref, parts)
            row["floor"] = None if floor is None else round(floor, 4)
        if kind == "character":
            same = row["outfit"] == row["previous_outfit"] and uid not in e.changed_wardrobe
            row["status"] = "same outfit" if same else "declared change"
        else:
            row["status"] = "moved" if uid in e.moved_props else "same set"
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Per (character, region): mean drift (and floor) over same-outfit comparisons that
    shared bins; declared wardrobe changes are left out."""
    acc: dict = {}
    for r in rows:
        if r["kind"] != "character" or r["status"] != "same outfit" or r["drift"] is None:
            continue
        a = acc.setdefault((r["id"], r["region"]), {"drift": [], "floor": []})
        a["drift"].append(r["drift"])
        if r.get("floor") is not None:
            a["floor"].append(r["floor"])
    return [
        {
            "id": cid,
            "region": region,
            "comparisons": len(v["drift"]),
            "drift": round(float(np.mean(v["drift"])), 4),
            "floor": round(float(np.mean(v["floor"])), 4) if v["floor"] else None,
        }
        for (cid, region), v in sorted(acc.items())
    ]


def film_texels(film, painter: str, options: dict | None = None, bins: int = BINS) -> list[tuple]:
    """(world, SceneTexels) of every scene of `film` painted by `painter`, in scene order; a
    scene's frames are dropped once binned, so memory holds one scene's frames at a time."""
    out = []
    for e in film.scenes:
        world, frames = paint_scene(e, painter, options)
        out.append((world, texels(world, frames, bins)))
    return out


def measure(
    film,
    painter: str,
    options: dict | None = None,
    reference: bool | list | None = None,
    bins: int = BINS,
) -> dict:
    """The pixel measure of a film for `painter`: its rows, the per-region summary, and
    whether the procedural lighting floor was measured (by default for every painter but the
    procedural one, whose drift is its own floor). `reference` may also be the procedural
    painter's `film_texels`, computed once for several painters."""
    scenes = film_texels(film, painter, options, bins)
    if reference is None:
        reference = painter != "procedural"
    ref = (
        reference if isinstance(reference, list) else (film_texels(film, "procedural", {}, bins) if reference else None)
    )
    rows = pixel_drift(film, scenes, ref)
    return {"painter": painter, "bins": bins, "floor": ref is not None, "rows": rows, "summary": summary(rows)}


def markdown(d: dict) -> list[str]:
    """The pixel section's lines for the continuity report."""
    lines = [
        "## Appearance drift of painted pixels (texture space, sRGB 0-255)",
        "",
        f"Painter {d['painter']}: every frame's pixels binned by part and uv ({d['bins']}x{d['bins']} bins a part); "
        "drift = mean |difference| of the bins' mean colours seen in both scenes. Lit pixels: light, view and lens "
        "are included"
        + (
            "; 'floor' is the procedural painter's pixel drift on the same scenes (light alone)." if d["floor"] else "."
        ),
        "",
    ]
    if d["summary"]:
        lines += ["| character | region | same-outfit comparisons | mean drift | floor |", "|---|---|---|---|---|"]
        for s in d["summary"]:
            fl = "-" if s["floor"] is None else f"{s['floor']:.3g}"
            lines.append(f"| {s['id']} | {s['region']} | {s['comparisons']} | {s['drift']:.3g} | {fl} |")
        lines.append("")
    chars = [r for r in d["rows"] if r["kind"] == "character"]
    if chars:
        lines += ["| character | region | scene | since | light | outfit | bins | drift | floor | status |"]
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in chars:
            outfit = r["outfit"] if r["outfit"] == r["previous_outfit"] else f"{r['previous_outfit']} -> {r['outfit']}"
            dr = "-" if r["drift"] is None else f"{r['drift']:.3g}"
            fl = "-" if r.get("floor") is None else f"{r['floor']:.3g}"
            lines.append(
                f"| {r['id']} | {r['region']} | {r['scene']} | {r['compared_with']} | {r['light']} | {outfit} | "
                f"{r['bins']} | {dr} | {fl} | {r['status']} |"
            )
    props = [r for r in d["rows"] if r["kind"] == "prop" and r["drift"] is not None]
    if props:
        lines += [
            "",
            f"Set pieces: mean drift {np.mean([r['drift'] for r in props]):.3g} over {len(props)} comparisons.",
        ]
    return lines
