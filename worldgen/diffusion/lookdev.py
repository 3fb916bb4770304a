"""Look development: paint each object's (and character's) texture atlas once, from several
views, with depth/normal-conditioned diffusion; every shot then inherits it.

Per unit (an object, or a character with all its body parts):
1. Views: the shots' own cameras first (the frame of each shot that sees the unit most, re-aimed
   and zoomed to fill a square view, so what the audience sees is painted at full resolution),
   then views around the unit for what no shot shows.
2. Each view renders the unit alone (depth, normal, uv), builds the conditioning images and
   paints: the first view from text, every later view only where earlier views left texels
   unpainted (diffusion inpainting, the painted part held fixed).
3. Back-projection is texel-centric: each texel's surface point is projected into the view; if
   it is visible there (depth test), the texel takes the view's colour, weighted by how
   squarely the view sees it. Texels no view saw are filled from their neighbours."""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np

from worldgen.camera import CameraFrame, ShotCamera, frame_count
from worldgen.diffusion.texture import fill_holes, texel_map, texel_of
from worldgen.transforms import intrinsics, look_at_world_to_camera


@dataclass
class LookdevSettings:
    texture_size: int = 512  # texels per side of an object's atlas
    part_texture_size: int = 256  # a character body part's atlas
    view_size: int | None = None  # square views painted by diffusion (a multiple of 8); None: the model's own size
    views: int = 6  # views per unit: the shots' best first, then around it
    steps: int = 20
    guidance: float = 7.5
    seed: int = 0
    grazing: float = 0.15  # texels seen more obliquely than this (|n.v|) are left to other views
    negative_prompt: str | None = None  # None: the painters' default (worldgen.diffusion.models.NEGATIVE)


@dataclass
class Unit:
    """What is painted together: one object, or one character's body parts."""

    key: str
    oids: list[str]
    appearance: str


@dataclass
class SoloView:
    """A unit rendered alone from one camera."""

    t: float
    cam: CameraFrame
    depth: np.ndarray  # (H, W) float32, inf where the unit is not hit
    part: np.ndarray  # (H, W) int32 index into unit.oids, -1 = background
    uv: np.ndarray  # (H, W, 2)
    normal: np.ndarray  # (H, W, 3) world unit normals


def units_of(world) -> list[Unit]:
    out = []
    for oid in world.objects():
        n = world.nodes[oid]
        out.append(Unit(oid, [oid], n.spec.appearance or oid))
    for cid, rig in world.characters.items():
        out.append(Unit(cid, world.parts_of(cid), rig.spec.appearance or cid))
    return out


def texture_size(world, oid: str, s: LookdevSettings) -> int:
    return s.part_texture_size if world.nodes[oid].character is not None else s.texture_size


# ---- rendering a unit alone -------------------------------------------------------------------
def render_solo(world, unit: Unit, t: float, cam: CameraFrame) -> SoloView:
    from worldgen.compat import import_open3d

    o3d = import_open3d()

    from worldgen.passes.snapshot import pixel_ray_array

    scene = o3d.t.geometry.RaycastingScene()
    worlds = []
    for oid in unit.oids:
        mesh = world.nodes[oid].mesh
        m = world.world_matrix(oid, t)
        v = np.asarray(world.deformed(oid, t)[0] if world.deforms(oid) else mesh.vertices)
        wv = v @ m[:3, :3].T + m[:3, 3]
        worlds.append((wv, m))
        scene.add_triangles(o3d.core.Tensor(wv.astype(np.float32)), o3d.core.Tensor(np.asarray(mesh.faces, np.uint32)))
    rays = pixel_ray_array(cam)
    r = scene.cast_rays(o3d.core.Tensor.from_numpy(rays))
    depth = r["t_hit"].numpy().astype(np.float32)
    hit = np.isfinite(depth)
    part = np.where(hit, r["geometry_ids"].numpy().astype(np.int64), -1).astype(np.int32)
    prim = r["primitive_ids"].numpy().astype(np.int64)
    bary = r["primitive_uvs"].numpy()
    uv = np.zeros(depth.shape + (2,), np.float32)
    normal = np.zeros(depth.shape + (3,), np.float32)
    for k, oid in enumerate(unit.oids):
        sel = part == k
        if not sel.any():
            continue
        mesh = world.nodes[oid].mesh
        f = np.asarray(mesh.faces)[prim[sel]]
        b1, b2 = bary[sel][:, :1], bary[sel][:, 1:]
        b0 = 1 - b1 - b2
        tuv = np.asarray(mesh.visual.uv)
        uv[sel] = b0 * tuv[f[:, 0]] + b1 * tuv[f[:, 1]] + b2 * tuv[f[:, 2]]
        wv, m = worlds[k]
        e1, e2 = wv[f[:, 1]] - wv[f[:, 0]], wv[f[:, 2]] - wv[f[:, 0]]
        n = np.cross(e1, e2)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        d = rays[sel][:, 3:]
        n *= -np.sign(np.einsum("ij,ij->i", n, d))[:, None]  # face the camera
        normal[sel] = n
    return SoloView(t, cam, depth, part, uv, normal)


# ---- choosing views -------------------------------------------------------------------------
def _unit_bounds(world, unit: Unit, t: float):
    pts = []
    for oid in unit.oids:
        m = world.world_matrix(oid, t)
        v = np.asarray(world.deformed(oid, t)[0] if world.deforms(oid) else world.nodes[oid].mesh.vertices)
        pts.append(v @ m[:3, :3].T + m[:3, 3])
    p = np.concatenate(pts)
    lo, hi = p.min(0), p.max(0)
    return (lo + hi) / 2, max(float(np.linalg.norm(hi - lo)) / 2, 1e-3)


def _framing(eye, centre, radius, size) -> CameraFrame:
    """A square camera at `eye` aimed at the unit's centre, zoomed so its bounding sphere fills it."""
    d = max(float(np.linalg.norm(centre - eye)), radius * 1.05)
    fov = math.degrees(2 * math.asin(min(radius / d, 0.999))) * 1.1
    fov = min(max(fov, 2.0), 120.0)
    return CameraFrame(intrinsics(size, size, fov), look_at_world_to_camera(eye, centre), size, size)


def choose_views(world, unit: Unit, shots, fps: float, s: LookdevSettings) -> list[tuple[float, CameraFrame]]:
    raster = _coverage_raster(world)
    inst = {world.nodes[o].instance for o in unit.oids}
    best = []
    for shot in shots:  # the frame of each shot that shows the unit most
        rig = ShotCamera(shot, world, 64, 64)
        n = frame_count(shot, fps)
        top = (0, None)
        for i in np.unique(np.linspace(0, n - 1, min(n, 6)).round().astype(int)):
            view = raster.view(rig, fps, int(i))
            cover = int(np.isin(view.surf.instance_img, list(inst)).sum())
            if cover > top[0]:
                top = (cover, (view.time, view.cam.center))
        if top[1] is not None:
            best.append(top)
    best.sort(key=lambda x: -x[0])
    views = []
    n_shot = max(1, (s.views + 1) // 2) if best else 0
    for _, (t, eye) in best[:n_shot]:
        centre, radius = _unit_bounds(world, unit, t)
        views.append((t, _framing(np.asarray(eye), centre, radius, s.view_size)))
    t0 = views[0][0] if views else float(shots[0].start)
    centre, radius = _unit_bounds(world, unit, t0)
    first = views[0][1].center - centre if views else np.array([0.0, 0.3, 1.0])
    az0 = math.atan2(first[0], first[2])
    k = 0
    while len(views) < s.views:  # around the unit, starting opposite the first view
        az = az0 + math.pi + 2 * math.pi * k / max(s.views - len(best[:n_shot]), 1)
        el = math.radians(25 if k % 2 == 0 else 50)
        eye = centre + 2.5 * radius * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
        views.append((t0, _framing(eye, centre, radius, s.view_size)))
        k += 1
    return views


def _coverage_raster(world):
    """One rasterizer per world for the coverage renders of every unit's view choice."""
    r = world.__dict__.get("_coverage_raster")
    if r is None:
        from worldgen.passes.sequence import Rasterizer

        r = world.__dict__["_coverage_raster"] = Rasterizer(world, "raycast", with_local=False)
    return r


# ---- painting ----------------------------------------------------------------------------------
@dataclass
class UnitTextures:
    textures: dict = field(default_factory=dict)  # oid -> (R, R, 3) uint8
    weights: dict = field(default_factory=dict)  # oid -> (R, R) float32, 0 = unpainted
    maps: dict = field(default_factory=dict)  # oid -> TexelMap


def control_images(kinds, sv: SoloView, world=None, unit: Unit | None = None) -> dict:
    """The conditioning images a unit view gives, for the loaded ControlNet kinds (those no
    unit view supplies, openpose among them, blank); depth spans the unit's own depth range."""
    from worldgen import control as ctl

    hit = sv.part >= 0
    d = sv.depth[hit]
    near, far = (float(d.min()) * 0.95, float(d.max()) * 1.05) if d.size else (0.1, 10.0)
    seg = _part_colours(world, unit) if "seg" in kinds else None
    return ctl.control_images(
        kinds,
        sv.depth,
        sv.normal,
        sv.cam.world_to_camera,
        hit,
        (sv.part + 1).astype(np.uint16),
        (near, max(far, near * 1.01)),
        seg,
    )


_PART_COLOURS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # world -> {unit key: colours}


def _part_colours(world, unit: Unit | None):
    """ADE20K colours of a unit's parts, indexed by part + 1 (0: nothing hit, the sky); once per
    world and unit, not per view."""
    from worldgen import control as ctl

    if world is None or unit is None:
        return None
    known = _PART_COLOURS.setdefault(world, {})
    key = (unit.key, tuple(unit.oids), unit.appearance)
    if key not in known:
        labels = [world.nodes[oid].label for oid in unit.oids]
        known[key] = ctl.label_colours(labels, [[unit.appearance]] * len(labels))
        known[key].flags.writeable = False
    return known[key]


def known_view(world, unit: Unit, sv: SoloView, tex: UnitTextures) -> tuple[np.ndarray, np.ndarray]:
    """The view as the texture painted so far shows it, and the mask of pixels still unpainted.
    Unpainted texels show their hole-filled (pull-push) colour, the colour the finished texture
    would give them if no later view painted them: the inpainting starts from and blends into
    plausible colours, not a flat grey that leaks into the latents around the mask."""
    from worldgen.diffusion.texture import sample

    h, w = sv.depth.shape
    img = np.full((h, w, 3), 127, np.uint8)
    todo = np.zeros((h, w), bool)
    for k, oid in enumerate(unit.oids):
        sel = sv.part == k
        if not sel.any():
            continue
        r = tex.textures[oid].shape[0]
        row, col = texel_of(sv.uv[sel], r)
        known = tex.weights[oid] > 0
        painted = known[row, col]
        filled = fill_holes(tex.textures[oid], known) if known.any() else tex.textures[oid]
        img[sel] = np.clip(sample(filled, sv.uv[sel]) + 0.5, 0, 255).astype(np.uint8)
        todo[np.nonzero(sel)[0][~painted], np.nonzero(sel)[1][~painted]] = True
    return img, todo


def inpaint_mask(todo: np.ndarray, factor: int = 8) -> np.ndarray:
    """The mask to inpaint `todo` with a latent diffusion model: every factor x factor cell of
    the latent grid that holds a pixel of `todo` is masked whole. Diffusers shrinks the mask to
    the latent grid by nearest sampling (one pixel per cell), so a cell only partly unpainted
    would otherwise keep the latents of the known image there, and strips narrower than a cell
    could go unpainted altogether."""
    h, w = todo.shape
    hp, wp = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.zeros((hp, wp), bool)
    padded[:h, :w] = todo
    cells = padded.reshape(hp // factor, factor, wp // factor, factor).any(axis=(1, 3))
    return np.repeat(np.repeat(cells, factor, 0), factor, 1)[:h, :w]


def back_project(
    world, unit: Unit, sv: SoloView, image: np.ndarray, tex: UnitTextures, s: LookdevSettings, only_new: bool
) -> int:
    """Texels whose surface point this view sees take its colour; returns how many changed."""
    h, w = sv.depth.shape
    changed = 0
    img = image.astype(np.float32)
    for k, oid in enumerate(unit.oids):
        tm = tex.maps[oid]
        m = world.world_matrix(oid, sv.t)
        sel = tm.inside & ((tex.weights[oid] == 0) if only_new else True)
        if not sel.any():
            continue
        rows, cols = np.nonzero(sel)
        faces = np.asarray(world.nodes[oid].mesh.faces)
        if world.deforms(oid):  # a skinned body: its texels ride on their triangles' posed vertices
            pv, pn = world.deformed(oid, sv.t)
            p, n = (
                tm.posed(np.asarray(pv, np.float64), faces, rows, cols),
                tm.posed(np.asarray(pn, np.float64), faces, rows, cols),
            )
        else:
            p, n = tm.points[rows, cols].astype(np.float64), tm.normals[rows, cols].astype(np.float64)
        pw = p @ m[:3, :3].T + m[:3, 3]
        nw = n @ np.linalg.inv(m[:3, :3])
        nw /= np.maximum(np.linalg.norm(nw, axis=1, keepdims=True), 1e-12)
        uv, z = sv.cam.project(pw)
        x, y = uv[:, 0], uv[:, 1]
        ok = (z > 0) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
        j, i = np.floor(x + 0.5).astype(np.int64), np.floor(y + 0.5).astype(np.int64)
        j, i = np.clip(j, 0, w - 1), np.clip(i, 0, h - 1)
        ok &= (sv.part[i, j] == k) & (z <= sv.depth[i, j] * 1.01 + 1e-3)
        view = pw - sv.cam.center
        view /= np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-12)
        facing = np.abs(np.einsum("ij,ij->i", nw, view))
        ok &= facing > s.grazing
        if not ok.any():
            continue
        rows, cols, x, y, facing = rows[ok], cols[ok], x[ok], y[ok], facing[ok]
        x0, y0 = np.clip(np.floor(x).astype(np.int64), 0, w - 2), np.clip(np.floor(y).astype(np.int64), 0, h - 2)
        fx, fy = (x - x0)[:, None], (y - y0)[:, None]
        col = (
            img[y0, x0] * (1 - fx) * (1 - fy)
            + img[y0, x0 + 1] * fx * (1 - fy)
            + img[y0 + 1, x0] * (1 - fx) * fy
            + img[y0 + 1, x0 + 1] * fx * fy
        )
        old_w = tex.weights[oid][rows, cols]
        new_w = facing.astype(np.float32) ** 2
        if only_new:
            tex.textures[oid][rows, cols] = np.clip(col + 0.5, 0, 255).astype(np.uint8)
            tex.weights[oid][rows, cols] = new_w
        else:
            better = new_w > old_w
            tex.textures[oid][rows[better], cols[better]] = np.clip(col[better] + 0.5, 0, 255).astype(np.uint8)
            tex.weights[oid][rows[better], cols[better]] = new_w[better]
        changed += len(rows)
    return changed


def paint_unit(world, unit: Unit, views, models, prompt: str, s: LookdevSettings, seed: int) -> UnitTextures:
    """All of a unit's textures, painted view by view (see the module doc)."""
    tex = UnitTextures()
    for oid in unit.oids:
        r = texture_size(world, oid, s)
        tex.maps[oid] = texel_map(world.nodes[oid].mesh, r)
        tex.textures[oid] = np.full((r, r, 3), 127, np.uint8)
        tex.weights[oid] = np.zeros((r, r), np.float32)
    for k, (t, cam) in enumerate(views):
        sv = render_solo(world, unit, t, cam)
        if not (sv.part >= 0).any():
            continue
        control = control_images(models.kinds, sv, world, unit)
        known, todo = known_view(world, unit, sv, tex)
        if k > 0 and not todo.any():
            continue
        if not any((tex.weights[o] > 0).any() for o in unit.oids):
            image = models.text_to_image(prompt, control, s, seed + 7919 * k)
        else:
            image = models.inpaint(prompt, known, inpaint_mask(todo, models.latent_factor), control, s, seed + 7919 * k)
        back_project(world, unit, sv, image, tex, s, only_new=True)
    for oid in unit.oids:
        tex.textures[oid] = fill_holes(tex.textures[oid], tex.weights[oid] > 0)
    return tex
