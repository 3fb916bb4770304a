"""Which scenes a continuity measure compares: each region a scene shows, against the last
earlier scene that showed it (a set piece only within its set), with the fields every
comparison reports. The albedo measure (worldgen.bench.continuity) and the pixel measure
(worldgen.bench.reprojection) walk the film through this one rule."""

from __future__ import annotations


def last_seen_pairs(film, per_scene):
    """(scene entry, the earlier entry, (kind, id, region), value there, value here) for every
    region a scene shows that an earlier scene showed last: what both continuity measures
    compare. `per_scene`: one {(kind, id, region): value} per film scene, in order (taken
    lazily, so only the last value of each region is held). A set piece is itself only within
    its set: two sets may each have a 'lamp'."""
    seen: dict = {}  # key -> (scene index, value)
    for k, (e, found) in enumerate(zip(film.scenes, per_scene)):
        for f, value in found.items():
            key = f + (e.scene.set,) if f[0] == "prop" else f
            if key in seen:
                j, before = seen[key]
                yield e, film.scenes[j], f, before, value
            seen[key] = (k, value)


def comparison_row(e, prev, found) -> dict:
    """The fields every continuity comparison reports, and the outfits for a character."""
    kind, uid, region = found
    row = {"kind": kind, "id": uid, "region": region, "scene": e.scene.id, "compared_with": prev.scene.id}
    if kind == "character":
        row["outfit"], row["previous_outfit"] = e.wardrobe.get(uid), prev.wardrobe.get(uid)
    return row
