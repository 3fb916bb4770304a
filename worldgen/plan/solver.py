"""The deterministic solver: a semantic plan in, a scene spec (plain data) out.

It writes every coordinate. Objects rest on a support (the ground or another object), never
interpenetrate, satisfy the plan's relations, and are framed by the shots that name them.
View-dependent relations (left of, in front of, ...) are meant as seen from the main camera,
the first shot's camera at its start, which the solver puts on the +Z side looking toward -Z:
screen right is world +X and nearer the camera is world +Z."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from worldgen.plan.categories import lookup
from worldgen.plan.schema import Plan

GAP = 0.4  # metres between neighbours that a relation places side by side
NEXT_TO_MAX = 1.0  # 'next to' means footprints at most this far apart
FAR = 10.0  # 'far from' means centres at least this far apart
CLEAR = 0.05  # minimum free space between footprints of unrelated objects
FOV = 50.0
SLAB = 0.05  # thickness of a table-like proxy's top
LEG = 0.06

SETTING_LOOKS = {
    "grass": "green grass",
    "sand": "sand",
    "street": "grey asphalt",
    "floor": "light wooden floor",
    "snow": "white snow",
    "water": "blue sea water",
    "dirt": "brown dirt",
}
SUNS = {  # time of day -> (direction, colour, intensity)
    "dawn": ((0.6, -0.5, -0.4), "#ffd2b0", 2.2),
    "noon": ((-0.3, -1.0, -0.4), "#fffaf0", 3.0),
    "sunset": ((-0.7, -0.45, -0.3), "#ffc890", 2.6),
    "dusk": ((-0.6, -0.5, -0.3), "#ffd8a8", 2.2),
    "night": ((0.2, -1.0, 0.3), "#8090c0", 0.6),
    "overcast": ((-0.2, -1.0, -0.2), "#f0f0f0", 1.6),
}


class PlanError(Exception):
    pass


@lru_cache(None)
def _mesh_extents(asset: str) -> tuple:
    import trimesh
    from worldgen.assets import PROJECT_ASSETS

    m = trimesh.load(str(PROJECT_ASSETS / asset.split("/", 1)[1]), force="mesh", process=False)
    return tuple(float(x) for x in np.ptp(m.vertices, 0))


@dataclass
class Item:
    name: str
    shape: str
    dims: np.ndarray  # true extents (x, y, z) of the proxy, metres
    appearance: str
    clearance: float = 0.0
    geometry: dict = field(default_factory=dict)  # spec fields for the shape
    support: str | None = None  # name of the object it rests on; None = ground
    mode: str = "on"  # on | inside | beneath (on the ground under a support with clearance)
    pos: np.ndarray = field(default_factory=lambda: np.zeros(3))  # centre, world
    yaw: float = 0.0  # degrees about +Y

    @property
    def footprint(self) -> np.ndarray:
        """Half extents in x and z of the (yawed) footprint's bounding box."""
        a = math.radians(self.yaw)
        c, s = abs(math.cos(a)), abs(math.sin(a))
        w, d = self.dims[0] / 2, self.dims[2] / 2
        return np.array([c * w + s * d, s * w + c * d])


def make_item(obj) -> Item:
    cat = lookup(obj.category)
    want = np.clip(np.asarray(obj.size if obj.size else cat.size, float), 0.02, 60.0)
    w, h, d = want
    shape = cat.shape
    appearance = obj.appearance or cat.appearance or obj.category
    if shape.startswith("mesh:"):
        ext = np.asarray(_mesh_extents(shape[5:]))
        s = float(np.min(want / ext))
        dims = ext * s
        return Item(
            obj.name,
            "mesh",
            dims,
            appearance,
            cat.clearance,
            {"mesh": shape[5:], "size": [round(float(x), 4) for x in dims]},
        )
    if shape == "sphere":
        r = min(w, h, d) / 2
        return Item(obj.name, shape, np.array([2 * r] * 3), appearance, geometry={"radius": round(r, 4)})
    if shape in ("cylinder", "cone", "capsule"):
        r = min(w, d) / 2
        hh = max(h, 2 * r) if shape == "capsule" else h
        return Item(
            obj.name,
            shape,
            np.array([2 * r, hh, 2 * r]),
            appearance,
            cat.clearance,
            {"radius": round(r, 4), "height": round(hh, 4)},
        )
    if shape == "torus":
        r, tube = w / 2 * 0.8, w / 2 * 0.2
        return Item(
            obj.name,
            shape,
            np.array([w, 2 * tube, w]),
            appearance,
            geometry={"radius": round(r, 4), "tube": round(tube, 4)},
        )
    if cat.clearance > 0:  # a top slab on four legs: room underneath
        return Item(
            obj.name,
            "box",
            np.array([w, h, d]),
            appearance,
            min(cat.clearance, h * 0.9),
            {"size": [round(float(x), 4) for x in (w, SLAB, d)]},
        )
    return Item(
        obj.name,
        "box",
        np.array([w, h, d]),
        appearance,
        cat.clearance,
        {"size": [round(float(x), 4) for x in (w, h, d)]},
    )


def emitted_centre(it: Item) -> np.ndarray:
    """Where the spec object's own origin is: the slab of a table-like proxy sits at its top."""
    if it.clearance > 0:
        return it.pos + np.array([0.0, it.dims[1] / 2 - SLAB / 2, 0.0])
    return it.pos


def legs(it: Item) -> list[dict]:
    """Four legs under a table-like proxy's slab, as children of it."""
    w, h, d = it.dims
    leg_h = h - SLAB
    out = []
    for k, (sx, sz) in enumerate(((-1, -1), (1, -1), (-1, 1), (1, 1))):
        out.append(
            {
                "id": f"{it.name}_leg_{k + 1}",
                "parent": it.name,
                "shape": "box",
                "size": [LEG, round(leg_h, 4), LEG],
                "position": [
                    round(sx * (w / 2 - LEG), 4),
                    round(-SLAB / 2 - leg_h / 2, 4),
                    round(sz * (d / 2 - LEG), 4),
                ],
                "appearance": it.appearance,
            }
        )
    return out


# ---- supports -------------------------------------------------------------------------------
def _root(items: dict, name: str) -> str:
    seen = set()
    while items[name].support is not None and name not in seen:
        seen.add(name)
        name = items[name].support
    return name


def assign_supports(items: dict, plan: Plan, notes: list) -> None:
    for r in plan.relations:
        a, b = r.subject, r.object
        if r.relation not in ("on_top_of", "inside", "under"):
            continue
        if r.relation == "under" and items[b].clearance <= 0:
            a, b = b, a  # 'A under B' with no room under B: B rests on A
            mode = "on"
        else:
            mode = {"on_top_of": "on", "inside": "inside", "under": "beneath"}[r.relation]
        if items[a].support is not None:
            notes.append(f"{a} already rests on {items[a].support}; ignored '{r.subject} {r.relation} {r.object}'")
            continue
        if _root(items, b) == a:
            notes.append(f"ignored '{r.subject} {r.relation} {r.object}': it would make a support cycle")
            continue
        items[a].support, items[a].mode = b, mode
        if mode == "inside":  # shrink to fit inside the container
            s = min(1.0, float(np.min(items[b].dims * 0.85 / items[a].dims)))
            _scale(items[a], s)
        if mode == "beneath":
            room = np.array([items[b].dims[0] * 0.8, items[b].clearance * 0.9, items[b].dims[2] * 0.8])
            s = min(1.0, float(np.min(room / items[a].dims)))
            _scale(items[a], s)


def _scale(item: Item, s: float) -> None:
    if s >= 1.0:
        return
    item.dims = item.dims * s
    g = item.geometry
    for k in ("radius", "height", "tube"):
        if k in g:
            g[k] = round(g[k] * s, 4)
    if "size" in g:
        g["size"] = [round(x * s, 4) for x in g["size"]]


# ---- 2D layout of ground-level objects ---------------------------------------------------------
def _offset_for(rel: str, a: Item, b: Item) -> np.ndarray:
    """Where a goes relative to b (x, z) to satisfy 'a rel b'."""
    fa, fb = a.footprint, b.footprint
    if rel == "left_of":
        return np.array([-(fa[0] + fb[0] + GAP), 0.0])
    if rel == "right_of":
        return np.array([fa[0] + fb[0] + GAP, 0.0])
    if rel == "in_front_of":
        return np.array([0.0, fa[1] + fb[1] + GAP])
    if rel == "behind":
        return np.array([0.0, -(fa[1] + fb[1] + GAP)])
    if rel == "next_to":
        return np.array([fa[0] + fb[0] + GAP, 0.0])
    if rel == "far_from":
        return np.array([max(FAR, fa[0] + fb[0] + GAP), 0.0])
    if rel == "facing":
        return np.array([-(fa[0] + fb[0] + 1.5), 0.0])
    raise ValueError(rel)


INVERSE = {
    "left_of": "right_of",
    "right_of": "left_of",
    "in_front_of": "behind",
    "behind": "in_front_of",
    "next_to": "next_to",
    "far_from": "far_from",
    "facing": "facing",
}


def satisfied(rel: str, a: Item, b: Item) -> bool:
    """Ground-layout test of a relation between two roots (x right, +z toward the camera)."""
    fa, fb = a.footprint, b.footprint
    dx, dz = a.pos[0] - b.pos[0], a.pos[2] - b.pos[2]
    gapx, gapz = abs(dx) - fa[0] - fb[0], abs(dz) - fa[1] - fb[1]
    if rel == "left_of":
        return dx < 0 and gapx >= GAP * 0.5
    if rel == "right_of":
        return dx > 0 and gapx >= GAP * 0.5
    if rel == "in_front_of":
        return dz > 0 and gapz >= GAP * 0.5
    if rel == "behind":
        return dz < 0 and gapz >= GAP * 0.5
    if rel == "next_to":
        return max(gapx, gapz) <= NEXT_TO_MAX and max(gapx, gapz) >= 0
    if rel == "far_from":
        return math.hypot(dx, dz) >= FAR
    return True


def overlap(a: Item, b: Item, clear: float = CLEAR) -> bool:
    return _footprints_overlap(a.pos, a.footprint, b.pos, b.footprint, clear)


def _footprints_overlap(pa, fa, pb, fb, clear: float = CLEAR) -> bool:
    return abs(pa[0] - pb[0]) < fa[0] + fb[0] + clear and abs(pa[2] - pb[2]) < fa[1] + fb[1] + clear


def layout(items: dict, plan: Plan, notes: list) -> None:
    roots = [n for n in items if items[n].support is None]
    rels = []
    for r in plan.relations:
        if r.relation in ("on_top_of", "inside", "under"):
            continue
        a, b = _root(items, r.subject), _root(items, r.object)
        if a == b:
            continue
        rels.append((a, r.relation, b))
    # facing: turn the subject toward the object (after positions are known, see below)
    placed: dict[str, np.ndarray] = {}
    pending = list(rels)
    for start in roots:
        if start in placed:
            continue
        # a new component goes to the right of what is there
        if placed:
            right = max(placed[n][0] + items[n].footprint[0] for n in placed)
            placed[start] = np.array([right + GAP * 2 + items[start].footprint[0], 0.0])
        else:
            placed[start] = np.zeros(2)
        progress = True
        while progress:
            progress = False
            for a, rel, b in pending:
                if b in placed and a not in placed:
                    placed[a] = placed[b] + _offset_for(rel, items[a], items[b])
                    progress = True
                elif a in placed and b not in placed:
                    placed[b] = placed[a] + _offset_for(INVERSE[rel], items[b], items[a])
                    progress = True
    for n, p in placed.items():
        items[n].pos[0], items[n].pos[2] = p
    _fix_up(items, rels, roots)
    if _unhide(items, rels, roots, notes):
        _fix_up(items, rels, roots)
    for a, rel, b in rels:
        if rel == "facing":
            d = items[b].pos - items[a].pos
            items[a].yaw = round(math.degrees(math.atan2(d[0], d[2])), 3)  # local +Z toward b
    for a, rel, b in rels:
        if rel != "facing" and not satisfied(rel, items[a], items[b]):
            notes.append(f"could not satisfy '{a} {rel} {b}' together with the other relations")
    # centre the layout on the origin
    xs = [items[n].pos[0] for n in roots]
    zs = [items[n].pos[2] for n in roots]
    cx, cz = (min(xs) + max(xs)) / 2, (min(zs) + max(zs)) / 2
    for n in roots:
        items[n].pos[0] -= cx
        items[n].pos[2] -= cz


def _fix_up(items: dict, rels: list, roots: list) -> None:
    """Push until every relation holds and nothing overlaps (bounded, deterministic)."""
    for _ in range(400):
        moved = False
        for a, rel, b in rels:
            if rel == "facing" or satisfied(rel, items[a], items[b]):
                continue
            want = items[b].pos[[0, 2]] + _offset_for(rel, items[a], items[b])
            if rel in ("left_of", "right_of"):
                items[a].pos[0] = want[0]
            elif rel in ("in_front_of", "behind"):
                items[a].pos[2] = want[1]
            else:
                items[a].pos[0], items[a].pos[2] = want
            moved = True
        for i, a in enumerate(roots):
            for b in roots[i + 1 :]:
                if overlap(items[a], items[b]):
                    _separate(items[a], items[b], rels)
                    moved = True
        if not moved:
            break


HIDDEN = 0.6  # a rear object whose screen box is covered this much by the front one is moved aside


def _screen_box(it: Item, eye: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) of an item's box in the image plane of a camera at `eye` looking at
    `centre` (tangent units: only ratios between boxes matter)."""
    f = centre - eye
    f /= np.linalg.norm(f)
    r = np.cross(f, [0.0, 1.0, 0.0])
    r /= max(np.linalg.norm(r), 1e-9)
    u = np.cross(r, f)
    half = np.array([it.footprint[0], it.dims[1] / 2, it.footprint[1]])
    rest = np.array([it.pos[0], it.dims[1] / 2, it.pos[2]])  # on the ground, where stack() will put it
    corners = rest + half * np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    v = corners - eye
    z = np.maximum(v @ f, 1e-3)
    x, y = v @ r / z, v @ u / z
    return np.array([x.min(), y.min(), x.max(), y.max()])


def _covered(front: Item, rear: Item, eye, centre) -> float:
    a, b = _screen_box(front, eye, centre), _screen_box(rear, eye, centre)
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / max((b[2] - b[0]) * (b[3] - b[1]), 1e-12)


def _unhide(items: dict, rels: list, roots: list, notes: list) -> bool:
    """'A in front of B' must not hide B from the main camera (a small sink hides a toilet
    behind it; a fence, a zebra): the rear object moves aside along x until at least part of
    it shows, which keeps the depth order. The camera is estimated the way `shot_camera` frames
    the whole layout (the first shot's camera at its start)."""
    moved = False
    for a, rel, b in rels:
        if rel not in ("in_front_of", "behind"):
            continue
        front, rear = (items[a], items[b]) if rel == "in_front_of" else (items[b], items[a])
        for _ in range(24):
            lo = np.min(
                [
                    [items[n].pos[0] - items[n].footprint[0], 0.0, items[n].pos[2] - items[n].footprint[1]]
                    for n in roots
                ],
                0,
            )
            hi = np.max(
                [
                    [items[n].pos[0] + items[n].footprint[0], items[n].dims[1], items[n].pos[2] + items[n].footprint[1]]
                    for n in roots
                ],
                0,
            )
            centre = (lo + hi) / 2
            radius = max(float(np.linalg.norm(hi - lo) / 2), 0.3)
            dist = radius / math.sin(math.radians(FOV) / 2) * 1.1
            eye = np.array([centre[0], max(centre[1] + max(radius * 0.35, 0.6), 0.5), centre[2] + dist])
            if _covered(front, rear, eye, centre) < HIDDEN:
                break
            side = 1.0 if rear.pos[0] >= front.pos[0] else -1.0
            rear.pos[0] += side * max(rear.footprint[0] * 0.5, 0.05)
            moved = True
        else:
            notes.append(f"{rear.name} may be hidden behind {front.name}")
    if moved:
        notes.append("moved objects aside so that what stands behind stays in view")
    return moved


def _separate(a: Item, b: Item, rels) -> None:
    """Move b (the later one) out of a along the axis that needs the smaller push, keeping
    the side a relation asks for."""
    fa, fb = a.footprint, b.footprint
    need_x = fa[0] + fb[0] + CLEAR * 2 - abs(b.pos[0] - a.pos[0])
    need_z = fa[1] + fb[1] + CLEAR * 2 - abs(b.pos[2] - a.pos[2])
    depth_rel = any({x, y} == {a.name, b.name} and r in ("in_front_of", "behind") for x, r, y in rels)
    if need_z < need_x or depth_rel:
        b.pos[2] += need_z if b.pos[2] >= a.pos[2] else -need_z
    else:
        b.pos[0] += need_x if b.pos[0] >= a.pos[0] else -need_x


def stack(items: dict, plan: Plan) -> None:
    """Give supported objects their place on (or in, or under) their support, in support order;
    several on one support share its top in a row, in the order left/right relations give."""
    children: dict[str, list] = {}
    for n, it in items.items():
        if it.support is not None:
            children.setdefault(it.support, []).append(n)
    order = {}
    for r in plan.relations:
        if r.relation in ("left_of", "right_of"):
            order.setdefault(r.subject, 0)
            order[r.subject] += -1 if r.relation == "left_of" else 1

    def place(parent: str):
        p = items[parent]
        kids = sorted(children.get(parent, []), key=lambda k: (order.get(k, 0), list(items).index(k)))
        top = p.pos[1] + p.dims[1] / 2
        rows = {"on": top, "beneath": 0.0}  # a row on the top surface; a row on the ground beneath
        for mode, base in rows.items():
            row = [k for k in kids if items[k].mode == mode]
            width = p.dims[0] if mode == "on" else p.dims[0] * 0.8  # beneath: clear of the legs
            gap = GAP * 0.25
            total = sum(items[k].dims[0] for k in row) + gap * max(len(row) - 1, 0)
            if row and total > width:  # shrink to share the space
                s = (width - gap * (len(row) - 1)) / (total - gap * (len(row) - 1))
                for k in row:
                    _scale(items[k], s)
                total = width
            x = -total / 2
            for k in row:
                c = items[k]
                c.pos = np.array([p.pos[0] + x + c.dims[0] / 2, base + c.dims[1] / 2, p.pos[2]])
                x += c.dims[0] + gap
        for k in kids:
            c = items[k]
            if c.mode == "inside":
                c.pos = np.array([p.pos[0], p.pos[1] - p.dims[1] / 2 + c.dims[1] / 2 + 0.01, p.pos[2]])
            place(k)

    for n, it in items.items():
        if it.support is None:
            it.pos[1] = it.dims[1] / 2
            place(n)


# ---- motions ---------------------------------------------------------------------------------------
def motions(items: dict, plan: Plan, total: float, notes: list) -> dict:
    """name -> keyframes (world positions), from t=0 to the end of the film."""
    out = {}
    for m in plan.motions:
        name = _root(items, m.subject)
        it = items[name]
        if m.direction in ("toward", "away"):
            d = items[_root(items, m.target)].pos - it.pos
            d[1] = 0
            n = np.linalg.norm(d)
            d = d / n if n > 1e-6 else np.array([1.0, 0, 0])
            if m.direction == "away":
                d = -d
                dist = m.distance
            else:
                room = n - (np.max(it.footprint) + np.max(items[_root(items, m.target)].footprint)) - 0.3
                dist = max(0.0, min(m.distance, room))
        else:
            d = {"left": (-1, 0, 0), "right": (1, 0, 0), "forward": (0, 0, 1), "backward": (0, 0, -1)}[m.direction]
            d = np.asarray(d, float)
            dist = m.distance
        end = it.pos + d * dist
        # keep the path clear: a mover whose path crosses another ground object takes a lane in front
        others = [o for o in items.values() if o.support is None and o.name != name]
        for k in range(6):
            if not any(_swept_hits(it, end, o) for o in others):
                break
            if k == 0:
                notes.append(f"{name}'s path was blocked; it moves in a lane in front")
            it.pos[2] = max(o.pos[2] + o.footprint[1] for o in others) + it.footprint[1] + GAP
            end = it.pos + d * dist
        out[name] = [(0.0, it.pos.copy()), (float(total), end)]
    return out


def _swept_hits(it: Item, end: np.ndarray, other: Item) -> bool:
    fa, fb = it.footprint, other.footprint
    return any(_footprints_overlap(it.pos + (end - it.pos) * u, fa, other.pos, fb) for u in np.linspace(0, 1, 25))


# ---- shots -------------------------------------------------------------------------------------------
def _bounds(items: dict, names: list, tracks: dict, t0: float, t1: float):
    pts = []
    for n in names:
        it = items[n]
        root = _root(items, n)
        offs = [np.zeros(3)]
        if root in tracks:
            (ta, pa), (tb, pb) = tracks[root]
            for t in (t0, (t0 + t1) / 2, t1):
                u = min(max((t - ta) / max(tb - ta, 1e-9), 0), 1)
                offs.append(pa + (pb - pa) * u - items[root].pos)
        half = np.array([it.footprint[0], it.dims[1] / 2, it.footprint[1]])
        for o in offs:
            pts += [it.pos + o - half, it.pos + o + half]
    pts = np.array(pts)
    lo, hi = pts.min(0), pts.max(0)
    return (lo + hi) / 2, max(float(np.linalg.norm(hi - lo) / 2), 0.3)


def shot_camera(
    move: str,
    centre: np.ndarray,
    radius: float,
    subject: str | None,
    moving: str | None,
    aspect: float,
    scale: float = 1.0,
) -> dict:
    """A camera block in the spec's vocabulary that frames a sphere (centre, radius)."""
    half_v = math.radians(FOV) / 2
    half = min(half_v, math.atan(math.tan(half_v) * aspect))
    dist = radius / math.sin(half) * 1.1 * scale
    elev = max(radius * 0.35, 0.6)
    eye_y = max(centre[1] + elev, 0.5)
    c = [round(float(x), 3) for x in centre]
    pos = [c[0], round(eye_y, 3), round(c[2] + dist, 3)]
    aim = {"target": subject} if subject else {"look_at": c}
    r = lambda x: round(float(x), 3)  # noqa: E731
    if move == "orbit":
        return {"move": "orbit", **aim, "radius": r(dist), "height": r(eye_y), "degrees": 90, "fov": FOV}
    if move == "dolly_in":
        return {
            "move": "dolly",
            "position": [pos[0], pos[1], r(c[2] + dist * 1.5)],
            **aim,
            "distance": r(dist * 0.6),
            "fov": FOV,
        }
    if move == "dolly_out":
        return {
            "move": "dolly",
            "position": [pos[0], pos[1], r(c[2] + dist * 0.9)],
            **aim,
            "distance": r(-dist * 0.6),
            "fov": FOV,
        }
    if move in ("truck_left", "truck_right"):
        sign = -1 if move == "truck_left" else 1
        return {
            "move": "truck",
            "position": [r(c[0] - sign * radius * 0.5), pos[1], r(c[2] + dist * 1.2)],
            "look_at": c,
            "distance": r(sign * radius),
            "fov": FOV,
        }
    if move in ("pedestal_up", "pedestal_down"):
        rise = max(radius * 0.8, 0.5)
        y0 = eye_y if move == "pedestal_up" else eye_y + rise
        return {
            "move": "pedestal",
            "position": [pos[0], r(y0), r(c[2] + dist * 1.2)],
            "look_at": c,
            "distance": r(rise if move == "pedestal_up" else -rise),
            "fov": FOV,
        }
    if move in ("pan_left", "pan_right"):
        deg = 20.0
        sign = 1 if move == "pan_right" else -1
        # start turned half the pan the other way, so the pan sweeps across the subject
        look = [r(c[0] - sign * dist * 1.2 * math.tan(math.radians(deg / 2))), c[1], c[2]]
        return {
            "move": "pan",
            "position": [pos[0], pos[1], r(c[2] + dist * 1.2)],
            "look_at": look,
            "degrees": sign * deg,
            "fov": FOV,
        }
    if move in ("tilt_up", "tilt_down"):
        deg = 12.0
        sign = 1 if move == "tilt_up" else -1
        look = [c[0], r(c[1] - sign * dist * 1.2 * math.tan(math.radians(deg / 2))), c[2]]
        return {
            "move": "tilt",
            "position": [pos[0], pos[1], r(c[2] + dist * 1.2)],
            "look_at": look,
            "degrees": sign * deg,
            "fov": FOV,
        }
    if move in ("zoom_in", "zoom_out"):
        a, b = (FOV, FOV * 0.55) if move == "zoom_in" else (FOV * 0.55, FOV)
        return {"move": "zoom", "position": pos, **aim, "fov": a, "fov_end": b}
    if move == "crane_up":
        return {
            "move": "crane",
            "position": [pos[0], r(max(eye_y - radius * 0.3, 0.4)), r(c[2] + dist * 1.2)],
            **aim,
            "rise": r(max(radius * 1.5, 1.0)),
            "fov": FOV,
        }
    if move == "track":
        who = moving or subject
        if who:
            return {"move": "track", "target": who, "offset": [0.0, r(elev), r(dist)], "fov": FOV}
    return {"move": "static", "position": pos, **aim, "fov": FOV}


# ---- the whole solve -----------------------------------------------------------------------------
def solve(plan: Plan, seed: int = 0, width: int = 512, height: int = 288, fps: float = 24) -> tuple[dict, list]:
    """Plan -> (spec data, notes). Notes say what could not be honoured and why."""
    from worldgen.plan.schema import check_plan

    errs = check_plan(plan)
    if errs:
        raise PlanError("; ".join(errs))
    notes: list[str] = []
    items = {o.name: make_item(o) for o in plan.objects}
    assign_supports(items, plan, notes)
    layout(items, plan, notes)
    stack(items, plan)
    total = sum(s.duration for s in plan.shots)
    tracks = motions(items, plan, total, notes)
    objects = []
    extent = max(max(abs(it.pos[0]) + it.footprint[0], abs(it.pos[2]) + it.footprint[1]) for it in items.values())
    for (_, a), (_, b) in tracks.values():
        extent = max(extent, abs(a[0]), abs(a[2]), abs(b[0]), abs(b[2]))
    ground = max(40.0, math.ceil(extent * 4 + 20))
    objects.append(
        {
            "id": "ground",
            "shape": "plane",
            "size": [ground, ground],
            "appearance": SETTING_LOOKS[plan.setting],
            "label": "ground",
        }
    )
    names = set(items)
    if "ground" in names:
        raise PlanError("objects: 'ground' is reserved for the floor the solver adds")
    for name, it in items.items():
        o = {"id": name}
        o.update({"shape": it.shape} if it.shape != "mesh" else {})
        o.update(it.geometry)
        if it.support is not None:
            o["parent"] = it.support
            local = emitted_centre(it) - emitted_centre(items[it.support])
            o["position"] = [round(float(x), 4) for x in local]
        else:
            o["position"] = [round(float(x), 4) for x in emitted_centre(it)]
        if it.yaw:
            o["rotation"] = [0.0, it.yaw, 0.0]
        o["appearance"] = it.appearance
        label = next(po.category for po in plan.objects if po.name == name)
        o["label"] = "".join(ch if ch.isalnum() else "_" for ch in label.lower())[:40] or "thing"
        if o["label"][0].isdigit():
            o["label"] = "c_" + o["label"]
        if name in tracks:
            (t0, a), (t1, b) = tracks[name]
            lift = emitted_centre(it) - it.pos
            o["motion"] = [
                {"t": 0.0, "position": [round(float(x), 4) for x in a + lift], "ease": "in_out"},
                {"t": round(t1, 3), "position": [round(float(x), 4) for x in b + lift]},
            ]
        objects.append(o)
        if it.clearance > 0:
            for leg in legs(it):
                leg["label"] = o["label"]
                objects.append(leg)
    moving = next(iter(tracks), None)
    shots, t = [], 0.0
    for i, s in enumerate(plan.shots):
        subj = s.subjects or [o.name for o in plan.objects]
        centre, radius = _bounds(items, subj, tracks, t, t + s.duration)
        main = subj[0] if len(subj) == 1 else None
        if main and s.move == "static" and _root(items, main) in tracks:
            main = None  # a still camera does not turn to follow: it frames the whole path
        if s.move == "track" and moving is None:
            main = subj[0]
        cam = shot_camera(
            s.move, centre, radius, main, moving if moving in subj or not s.subjects else None, width / height
        )
        shots.append(
            {
                "id": f"shot_{i + 1}",
                "duration": s.duration,
                "start": round(t, 3),
                "prompt": s.description or plan.title,
                "camera": cam,
            }
        )
        t += s.duration
    sun_dir, sun_col, sun_i = SUNS[plan.time_of_day]
    style = ", ".join(x for x in (plan.time_of_day if plan.time_of_day != "noon" else "", plan.style) if x)
    spec = {
        "worldgen": 1,
        "title": plan.title,
        "seed": int(seed),
        "render": {"width": width, "height": height, "fps": fps},
        "style": style,
        "world": {
            "objects": objects,
            "lights": [{"type": "sun", "direction": list(sun_dir), "color": sun_col, "intensity": sun_i}],
        },
        "shots": shots,
    }
    return plain(spec), notes


def plain(x):
    """Spec data as plain Python (YAML- and JSON-safe), floats rounded to 0.1 mm."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [plain(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = round(float(x), 4)
        return 0.0 if v == 0 else v
    return x
