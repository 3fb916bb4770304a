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
            rests = abs(lo[1] - phi[1]) < TOUCH and lo[0] < phi[0] and hi[0] > plo[0] and lo[2] < phi[2] and hi[2] > plo[2]
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
    return next(Rasterizer(world, "raycast", with_local=False).shot_frames(spec.shots[0], r.width, r.height, r.fps,
                                                                          only={0}))


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
        return abs(lo_a[1] - hi_b[1]) < TOUCH and lo_b[0] - TOUCH <= ca[0] <= hi_b[0] + TOUCH \
            and lo_b[2] - TOUCH <= ca[2] <= hi_b[2] + TOUCH
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
