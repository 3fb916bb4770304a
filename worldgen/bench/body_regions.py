"""A body part's region (head, torso, arms, legs): the unit appearance drift is reported in,
shared by the albedo measure (worldgen.bench.continuity) and the pixel measure
(worldgen.bench.reprojection), so both group a character's parts alike."""

from __future__ import annotations

REGIONS = {
    "head": ("head", "hair", "neck", "mouth"),
    "torso": ("torso", "hips"),
    "arms": ("upper_arm", "forearm", "hand"),
    "legs": ("thigh", "shin", "foot"),
}


def body_region(part: str) -> str:
    """head, torso, arms or legs of a proxy body's part (`mara/upper_arm_r` -> arms); a
    rigged asset's single body is 'body'."""
    name = part.rsplit("/", 1)[-1]
    for region, prefixes in REGIONS.items():
        if any(name == p or name.startswith(p + "_") for p in prefixes):
            return region
    return "body"
