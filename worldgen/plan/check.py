"""Geometric checks of a planned world, independent of the solver that made it: relations
(view-dependent ones measured in the main camera's rendered instance pass), interpenetration
(oriented-box separating-axis tests) and support. Used by the tests and benchmarks/plan_quality.py."""

from __future__ import annotations

import itertools

import numpy as np

TOUCH = 2e-3  # boxes may touch (stacked, resting) by this much without counting as inside each other


def obb(world, oid: str, t: float = 0.0):
    """(centre, axes 3x3 (columns), half extents) of an object's mesh bounds in world space."""
    m = world.world_matrix(oid, t)
    lo, hi = world.nodes[oid].mesh.bounds
    centre_local = (lo + hi) / 2
    half_local = (hi - lo) / 2
    lin = m[:3, :3]
    scales = np.linalg.norm(lin, axis=0)
    axes = lin / np.maximum(scales, 1e-12)
    return lin @ centre_local + m[:3, 3], axes, half_local * scales


def obb_overlap(a, b, tol: float = TOUCH) -> bool:
    """Separating-axis test of two oriented boxes, each shrunk by `tol` (touching is not overlap)."""
    ca, ra, ha = a
    cb, rb, hb = b
    ha, hb = np.maximum(ha - tol, 0), np.maximum(hb - tol, 0)
    d = cb - ca
    axes = [ra[:, i] for i in range(3)] + [rb[:, i] for i in range(3)]
    axes += [np.cross(ra[:, i], rb[:, j]) for i in range(3) for j in range(3)]
    for ax in axes:
        n = np.linalg.norm(ax)
        if n < 1e-9:
            continue
        ax = ax / n
        pa = sum(ha[i] * abs(ax @ ra[:, i]) for i in range(3))
        pb = sum(hb[i] * abs(ax @ rb[:, i]) for i in range(3))
        if abs(d @ ax) > pa + pb:
            return False
    return True


def _ancestors(world, oid):
    out = []
    p = world.nodes[oid].spec.parent
    while p:
        out.append(p)
        p = world.nodes[p].spec.parent
    return out


def interpenetrations(world, times=(0.0,), skip: set = frozenset()) -> list[tuple]:
    """Pairs of objects whose boxes overlap at any of `times`. The ground and pairs in `skip`
    (e.g. an object placed inside a container) are not counted."""
    ids = [o for o in world.nodes if world.nodes[o].spec.shape != "plane"]
    bad = []
    for t in times:
        boxes = {o: obb(world, o, t) for o in ids}
        for a, b in itertools.combinations(ids, 2):
            if (a, b) in skip or (b, a) in skip:
                continue
            if obb_overlap(boxes[a], boxes[b]):
                bad.append((a, b, t))
    return bad


def unsupported(world, t: float = 0.0) -> list[str]:
    """Objects whose bottom is neither on the ground (y = 0) nor on the top of the box below
    them, nor inside a container."""
    ids = [o for o in world.nodes if world.nodes[o].spec.shape != "plane"]
    tops = {}
    for o in ids:
        c, r, h = obb(world, o, t)
        ext = np.abs(r) @ h
        tops[o] = (c - ext, c + ext)
    out = []
    for o in ids:
        lo, hi = tops[o]
        if abs(lo[1]) < TOUCH:
            continue
        on = False
        for p in ids:
            if p == o:
                continue
            plo, phi = tops[p]
            inside = np.all(lo >= plo - TOUCH) and np.all(hi <= phi + TOUCH)
            rests = (
                abs(lo[1] - phi[1]) < TOUCH and lo[0] < phi[0] and hi[0] > plo[0] and lo[2] < phi[2] and hi[2] > plo[2]
            )
            if inside or rests:
                on = True
                break
        if not on:
            out.append(o)
    return out


def first_frame(spec, world):
    """The main camera's first frame (passes), which view-dependent relations are measured in."""
    from worldgen.passes.sequence import Rasterizer

    r = spec.render
    return next(
        Rasterizer(world, "raycast", with_local=False).shot_frames(spec.shots[0], r.width, r.height, r.fps, only={0})
    )


def _mask_stats(frame, world, oid):
    ids = [oid] + [c for c in world.nodes if oid in _ancestors(world, c) and c.startswith(oid + "_leg")]
    vals = [world.nodes[i].instance for i in ids]
    m = np.isin(frame.passes.instance, vals)
    if not m.any():
        return None
    ys, xs = np.nonzero(m)
    return xs.mean(), float(np.median(frame.passes.depth[m]))


def relation_holds(world, frame, subject: str, relation: str, obj: str) -> bool | None:
    """Does the world satisfy 'subject relation obj'? None when it cannot be judged (an object
    not visible for a view-dependent relation)."""
    verdict = _relation(world, frame, subject, relation, obj)
    return None if verdict is None else bool(verdict)


def _relation(world, frame, subject: str, relation: str, obj: str):
    ca, ra, ha = obb(world, subject)
    cb, rb, hb = obb(world, obj)
    ea, eb = np.abs(ra) @ ha, np.abs(rb) @ hb
    lo_a, hi_a, lo_b, hi_b = ca - ea, ca + ea, cb - eb, cb + eb
    if relation in ("left_of", "right_of", "in_front_of", "behind"):
        sa, sb = _mask_stats(frame, world, subject), _mask_stats(frame, world, obj)
        if sa is None or sb is None:
            return None
        if relation == "left_of":
            return sa[0] < sb[0]
        if relation == "right_of":
            return sa[0] > sb[0]
        if relation == "in_front_of":
            return sa[1] < sb[1]
        return sa[1] > sb[1]
    if relation == "on_top_of":
        return (
            abs(lo_a[1] - hi_b[1]) < TOUCH
            and lo_b[0] - TOUCH <= ca[0] <= hi_b[0] + TOUCH
            and lo_b[2] - TOUCH <= ca[2] <= hi_b[2] + TOUCH
        )
    if relation == "under":
        above = hi_a[1] <= lo_b[1] + TOUCH and lo_b[0] <= ca[0] <= hi_b[0] and lo_b[2] <= ca[2] <= hi_b[2]
        return bool(above)
    if relation == "inside":
        return bool(np.all(lo_a >= lo_b - TOUCH) and np.all(hi_a <= hi_b + TOUCH))
    if relation == "next_to":
        gap = np.maximum(np.maximum(lo_b - hi_a, lo_a - hi_b), 0)
        return float(np.hypot(gap[0], gap[2])) <= 1.0 + TOUCH
    if relation == "far_from":
        return float(np.hypot(*(ca - cb)[[0, 2]])) >= 10.0 - 1e-6
    if relation == "facing":
        fwd = ra[:, 2]
        d = cb - ca
        d[1] = 0
        fwd = fwd.copy()
        fwd[1] = 0
        cos = fwd @ d / max(np.linalg.norm(fwd) * np.linalg.norm(d), 1e-9)
        return bool(cos > np.cos(np.radians(10)))
    raise ValueError(relation)


def classify_move(rig, world, duration: float) -> str:
    """Name the move a shot's camera makes, from its poses alone (what the manifest records):
    zoom, track, orbit, pan/tilt, crane/pedestal, dolly, truck, or static."""
    c0, c1 = rig.at(0.0), rig.at(duration)
    p0, p1 = c0.center, c1.center
    f0, f1 = c0.world_to_camera[2, :3], c1.world_to_camera[2, :3]
    if abs(c1.fov - c0.fov) > 3:
        return "zoom_in" if c1.fov < c0.fov else "zoom_out"
    target = rig.shot.camera.target
    dist = np.linalg.norm(p1 - p0)
    if target:
        t0, t1 = rig.shot.start, rig.shot.start + duration
        dt = world.position(target, t1) - world.position(target, t0)
        if np.linalg.norm(dt) > 0.5 and np.linalg.norm((p1 - p0) - dt) < 0.3 * np.linalg.norm(dt):
            return "track"
    # the point the camera aims at, at the start: along the view ray at the aim's depth
    aim = world.position(target, rig.shot.start) if target else None
    if aim is None:
        look = rig.shot.camera.look_at or (p0 + f0 * 10)
        aim = np.asarray(look, float)
    h0, h1 = (p0 - aim)[[0, 2]], (p1 - aim)[[0, 2]]
    r0, r1 = np.linalg.norm(h0), np.linalg.norm(h1)
    if r0 > 1e-6 and r1 > 1e-6:
        az = np.degrees(np.arccos(np.clip(h0 @ h1 / (r0 * r1), -1, 1)))
        if az > 20 and abs(r1 - r0) < 0.15 * r0:
            return "orbit"
    scale = max(np.linalg.norm(p0 - aim), 1.0)
    yaw0, yaw1 = np.degrees(np.arctan2(f0[0], -f0[2])), np.degrees(np.arctan2(f1[0], -f1[2]))
    pitch0, pitch1 = np.degrees(np.arcsin(np.clip(f0[1], -1, 1))), np.degrees(np.arcsin(np.clip(f1[1], -1, 1)))
    dyaw = (yaw1 - yaw0 + 180) % 360 - 180
    if dist < 0.05 * scale:
        if abs(dyaw) > 5:
            return "pan_right" if dyaw > 0 else "pan_left"
        if abs(pitch1 - pitch0) > 4:
            return "tilt_up" if pitch1 > pitch0 else "tilt_down"
        return "static"
    d = p1 - p0
    right = c0.world_to_camera[0, :3]
    fwd_h = np.array([f0[0], 0.0, f0[2]])
    fwd_h /= max(np.linalg.norm(fwd_h), 1e-9)
    comp = {"up": d[1], "forward": d @ fwd_h, "right": d @ right}
    axis = max(comp, key=lambda k: abs(comp[k]))
    if axis == "up":
        if comp["up"] > 0 and abs(pitch1 - pitch0) > 2:
            return "crane_up"
        return "pedestal_up" if comp["up"] > 0 else "pedestal_down"
    if axis == "forward":
        return "dolly_in" if comp["forward"] > 0 else "dolly_out"
    return "truck_right" if comp["right"] > 0 else "truck_left"


def motion_direction(world, rig, subject: str, target: str | None, duration: float, still: float = 0.3) -> str:
    """Name what an object's motion does over `duration`, as the main camera (`rig` at its
    start) sees it: 'toward'/'away' when `target` is given and the distance to it changes,
    else 'left'/'right' (screen directions), 'forward' (nearer the camera) or 'backward';
    'still' when it moves less than `still` metres."""
    p0, p1 = world.position(subject, 0.0), world.position(subject, duration)
    if target:
        d0 = np.linalg.norm((p0 - world.position(target, 0.0))[[0, 2]])
        d1 = np.linalg.norm((p1 - world.position(target, duration))[[0, 2]])
        if abs(d1 - d0) > still:
            return "toward" if d1 < d0 else "away"
    d = p1 - p0
    if np.linalg.norm(d) < still:
        return "still"
    w2c = rig.at(0.0).world_to_camera
    right, forward = d @ w2c[0, :3], d @ w2c[2, :3]  # OpenCV camera: x right, z forward (away from the eye)
    if abs(right) >= abs(forward):
        return "right" if right > 0 else "left"
    return "backward" if forward > 0 else "forward"


# ---- appearance: the painted colour under an object's instance mask ---------------------------------
BASIC_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey")


def srgb_to_lab(rgb) -> np.ndarray:
    """CIELAB (D65) of sRGB 0-255 colours, shape (..., 3)."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ciede2000(lab1, lab2, kl: float = 1.0) -> float:
    """The CIEDE2000 colour difference of two CIELAB colours (Sharma, Wu and Dalal's
    formulation); `kl` > 1 weighs lightness down (kl = 2 is the textile convention)."""
    L1, a1, b1 = (float(x) for x in lab1)
    L2, a2, b2 = (float(x) for x in lab2)
    cbar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(cbar**7 / (cbar**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360 if c2p else 0.0
    dL, dC = L2 - L1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    dH = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    Lbar, Cbar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbar = (h1p + h2p) / 2
    else:
        hbar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(hbar - 30))
        + 0.24 * np.cos(np.radians(2 * hbar))
        + 0.32 * np.cos(np.radians(3 * hbar + 6))
        - 0.20 * np.cos(np.radians(4 * hbar - 63))
    )
    sl = 1 + 0.015 * (Lbar - 50) ** 2 / np.sqrt(20 + (Lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * Cbar, 1 + 0.015 * Cbar * t
    rt = -2 * np.sqrt(Cbar**7 / (Cbar**7 + 25.0**7)) * np.sin(np.radians(60 * np.exp(-(((hbar - 275) / 25) ** 2))))
    return float(np.sqrt((dL / (kl * sl)) ** 2 + (dC / sc) ** 2 + (dH / sh) ** 2 + rt * (dC / sc) * (dH / sh)))


class PaintedColour:
    """The median painted sRGB of an object's pixels, and how it reads against a named colour."""

    def __init__(self, rgb):
        self.rgb = [int(round(float(x))) for x in rgb]

    def nearest(self) -> str:
        from worldgen.paint.materials import COLOURS

        lab = srgb_to_lab(self.rgb)
        return min(BASIC_COLOURS, key=lambda c: ciede2000(lab, srgb_to_lab(COLOURS[c]), kl=2.0))

    def judge(self, want: str) -> dict:
        from worldgen.paint.materials import COLOURS

        want = {"gray": "grey"}.get(want, want)
        de = ciede2000(srgb_to_lab(self.rgb), srgb_to_lab(COLOURS[want]))
        near = self.nearest()
        return {"rgb": self.rgb, "de00": round(de, 1), "nearest": near, "ok": near == want}


def painted_colours(spec, world, ids, width: int = 192, height: int = 108, lit: float = 0.75) -> dict:
    """oid -> PaintedColour: the main camera's first frame painted by the procedural painter at
    width x height; each object's median colour under its instance mask (its legs included),
    over its lit pixels (luminance at or above the mask's `lit` quantile), since the faces
    turned from the sun show the shadow's colour rather than the object's."""
    from worldgen.camera import ShotCamera
    from worldgen.paint.registry import make_painter
    from worldgen.passes.sequence import Rasterizer

    raster = Rasterizer(world, "raycast", with_local=True)
    view = raster.view(ShotCamera(spec.shots[0], world, width, height), spec.render.fps, 0)
    image = make_painter("procedural", world, raster).paint(view)
    geom = view.hits.geom
    inst = np.where(geom >= 0, raster.instance_lut[np.maximum(geom, 0)], 0)
    out = {}
    for oid in ids:
        parts = [oid] + [c for c in world.nodes if oid in _ancestors(world, c) and c.startswith(oid + "_leg")]
        m = np.isin(inst, [world.nodes[i].instance for i in parts])
        if m.any():
            px = image[m].reshape(-1, 3).astype(np.float64)
            lum = px @ np.array([0.2126, 0.7152, 0.0722])
            out[oid] = PaintedColour(np.median(px[lum >= np.quantile(lum, lit)], axis=0))
    return out
