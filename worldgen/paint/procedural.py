"""The embedded painter: a filmic look computed from the passes, no weights.

Appearance lives on the surface: every pattern is a function of the object-frame point (or
uv), so it moves with its object and never swims (worldgen.paint.patterns). Light is computed
against the same world the passes come from (worldgen.paint.light: ambient occlusion, a sun of
finite size, point and spot lights; worldgen.paint.sky: the sky and its fill), and the camera
develops it (worldgen.paint.lens: haze, depth of field, motion blur, bloom, exposure, tone
curve, grain). Diffuse light is view-independent, so a surface point keeps its colour from
frame to frame and from shot to shot unless something really changes (a moving shadow); only
smooth materials' highlights and reflections move with the eye, as they should."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from worldgen.paint.base import Painter
from worldgen.paint.materials import Material, material_from_text, srgb_to_linear

if TYPE_CHECKING:
    from worldgen.passes.sequence import FrameView

# The compiled parts (patterns, noise, sky, light, lens: numba) are imported where a frame is
# painted, not with this module: the process that plans a render the frame store already holds
# imports the class only to key its frames (`static_identity`), and not importing numba saves
# it a third of a second (measured by hand, python -X importtime).

GLOSSY_ROUGHNESS = 0.35  # below this a material reflects the sky
SHINY_ROUGHNESS = 0.6  # below this a material shows highlights of the sun and lamps
LOOK_MODEL = 4  # bump when the look changes: frames painted by an older model are repainted
# (3: the compiled sky and one-pass develop round differently from 2, by at most one 8-bit level)
PENUMBRA_PX = 3  # soft-shadow rays within this many pixels of a hard shadow's edge
BUMP_BAND = 3.0  # bump detail fades out at this many times colour's footprint
BUMP_EPS = 0.01  # pattern units: the finite-difference step of bump mapping
EXPOSURE = 1.3  # linear gain at exposure 0


def object_groups(geom: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(object, its pixels' indices in increasing order) for every object in `geom`: one
    stable sort instead of a full-frame comparison and boolean gather per object (the same
    pixels in the same order, so the same bytes)."""
    if len(geom) == 0:
        return []
    order = np.argsort(geom, kind="stable")
    ends = np.cumsum(np.bincount(geom))
    out, start = [], 0
    for g, end in enumerate(ends):
        if end > start:
            out.append((g, order[start:end]))
        start = end
    return out


class ProceduralPainter(Painter):
    name = "procedural"

    def __init__(self, world, shadows: bool = True, style: str = "", caster=None):
        """`caster`: a ray caster with `occluded()` and `first_hit()` over the same world (the
        rasterizer's raycast backend), so shadow and occlusion rays reuse its BVH; without one
        the painter builds its own."""
        self.world = world
        self.caster = caster
        self.spec = world.spec
        self.shadows = shadows
        self.look = self.spec.render.look
        self._looks: dict[str, dict] = {}
        ids = list(world.nodes)
        self.materials: list[Material] = [self._material(world.nodes[o], o) for o in ids]
        self.sizes = [max(float(np.ptp(world.nodes[o].mesh.vertices, 0).max()), 1e-3) for o in ids]
        self.shot = None
        self._rig = None
        self._passes = None  # the frame's passes while paint_frame runs (flow for motion blur)
        # the last frame's light, reused while nothing that decides it changes (a still camera
        # over a world at rest): see `_shade_once`
        self._deforms = any(world.deforms(o) for o in ids)
        self._style_serial = 0
        self._last = None
        self.frames_reused = 0
        self.set_style(style or self.spec.style)

    @classmethod
    def create(cls, world, raster, options: dict) -> Painter:
        """Shadows as the spec says; the rasterizer's ray caster for shadow rays where it has one."""
        caster = raster.backend if hasattr(raster.backend, "first_hit") else None
        return cls(world, shadows=world.spec.render.shadows, caster=caster, **options)

    @classmethod
    def static_identity(cls, world, options: dict) -> dict | None:
        """The procedural look follows from the world alone (the shadows switch, the look
        settings), so a render the store holds is keyed without making the painter. Only while
        `identity` is this class's own: a subclass with state of its own (textures) must be made
        first."""
        if cls.identity is not ProceduralPainter.identity:
            return None
        return cls._identity_of(world.spec)

    @staticmethod
    def _identity_of(spec) -> dict:
        return {
            "name": "procedural",
            "shadows": spec.render.shadows,
            "look": spec.render.look.model_dump(mode="json"),
            "model": LOOK_MODEL,
        }

    def identity(self) -> dict:
        return self._identity_of(self.spec)

    def _material(self, node, oid: str) -> Material:
        """An object's look from its appearance words; a body part's from its character's
        clothes for that region (keyed by the character, so both arms match)."""
        seed = self.world.spec.seed
        if node.character is None or node.region == "body":  # an object, or a skinned body in one piece
            return material_from_text(node.spec.appearance or oid, key=f"{oid}|{seed}")
        looks = self._looks.get(node.character)
        if looks is None:
            from worldgen.paint.character_look import region_materials

            looks = self._looks[node.character] = region_materials(node.spec.appearance, f"{node.character}|{seed}")
        return looks[node.region]

    def set_style(self, style: str):
        self._style_serial = getattr(self, "_style_serial", 0) + 1  # the light may change: a new key
        words = style.lower()
        self.painterly = any(w in words for w in ("painterly", "painted", "illustrat", "toon", "cel", "storybook"))
        self.suns, self.ambient, self.locals = [], np.zeros(3, np.float32), []
        for light in self.spec.world.lights:
            col = srgb_to_linear([int(light.color[i : i + 2], 16) for i in (1, 3, 5)]).astype(np.float32)
            if light.type == "sun":
                d = np.asarray(light.direction, float)
                self.suns.append(((-d / np.linalg.norm(d)).astype(np.float32), col * light.intensity, light.size))
            elif light.type == "ambient":
                self.ambient = self.ambient + col * light.intensity
            else:
                self.locals.append((light, col))
        from worldgen.paint.sky import Sky

        self.sky_model = Sky(self.suns, style)
        self.zenith, self.horizon, self.bounce = self.sky_model.zenith, self.sky_model.horizon, self.sky_model.bounce

    def begin_shot(self, shot, near_far) -> None:
        self.shot, self._rig = shot, None

    # ---- surface appearance --------------------------------------------------------------
    def pattern(self, mat: Material, local: np.ndarray, footprint=None, bump: bool = False):
        """(mix m (N,), object-frame slope of the bump height (N, 3)) of a material's pattern."""
        p = np.ascontiguousarray(local / mat.scale, np.float64)
        fp = (
            np.full(len(p), -1.0)
            if footprint is None
            else np.ascontiguousarray(np.broadcast_to(np.asarray(footprint, np.float64) / mat.scale, (len(p),)))
        )
        eps = BUMP_EPS if bump and mat.bump_strength > 0 else 0.0
        from worldgen.paint.patterns import KIND, evaluate

        return evaluate(KIND.get(mat.pattern, KIND["mottle"]), p, fp, np.int64(mat.seed), eps)

    def colour(self, mat: Material, m: np.ndarray, local: np.ndarray, size: float, footprint=None) -> np.ndarray:
        """Linear albedo from the pattern's mix, with large soft variation so big surfaces never
        read as flat fills."""
        from worldgen.paint.noise import fbm

        col = mat.base.astype(np.float32) * (1 - m[:, None]) + mat.second.astype(np.float32) * m[:, None]
        big = max(size * 0.35, 0.5)
        col = (
            col
            * (0.85 + 0.3 * fbm(local / big, mat.seed + 7, 2, None if footprint is None else footprint / big))[:, None]
        )
        if mat.wet:
            col = col * 0.7
        return col.astype(np.float32)

    def albedo(self, mat: Material, local: np.ndarray, uv: np.ndarray, size: float, footprint=None) -> np.ndarray:
        """Linear albedo at object-frame points; `footprint` (object units per pixel) fades
        detail finer than the pixel to its mean, so distant texture does not shimmer."""
        m, _ = self.pattern(mat, local, footprint)
        return self.colour(mat, m, local, size, footprint)

    def surface_albedo(self, g: int, surf, sel, footprint) -> np.ndarray:
        """Linear albedo of object g's pixels `sel`; painters with textures override this."""
        return self.albedo(self.materials[g], surf.local[sel], surf.uv[sel], self.sizes[g], footprint)

    def _surface(self, g, surf, sel, footprint, matrix):
        """Albedo and bumped world normals of object g's pixels: from one pattern evaluation
        when the look is procedural, from `surface_albedo` (no bump) when a subclass paints it."""
        n = surf.normal[sel]
        if type(self).surface_albedo is not ProceduralPainter.surface_albedo:
            return self.surface_albedo(g, surf, sel, footprint), n
        mat = self.materials[g]
        local = surf.local[sel]
        if mat.bump_strength > 0:
            # relief read from a coarser band than colour (BUMP_BAND x the footprint): shading
            # of sub-pixel slopes would alias where colour still holds
            _, grad = self.pattern(mat, local, footprint * BUMP_BAND, bump=True)
            m, _ = self.pattern(mat, local, footprint)
        else:
            m, grad = self.pattern(mat, local, footprint)
        col = self.colour(mat, m, local, self.sizes[g], footprint)
        k = mat.bump_strength
        if k > 0:
            lin = matrix[:3, :3]
            scale = float(np.cbrt(abs(np.linalg.det(lin)))) or 1.0
            gw = (grad @ np.linalg.inv(lin).astype(np.float32)) * scale  # M^-T g, rows
            gw = gw - np.einsum("ij,ij->i", gw, n)[:, None] * n
            nb = n - k * gw
            n = nb / np.maximum(np.linalg.norm(nb, axis=1, keepdims=True), 1e-9)
        return col, n.astype(np.float32)

    # ---- lighting ------------------------------------------------------------------------
    def sky(self, dirs: np.ndarray) -> np.ndarray:
        return self.sky_model.radiance(dirs)

    def _caster(self):
        if self.caster is None:
            from worldgen.passes.raycast import RaycastBackend

            self.caster = RaycastBackend(self.world)
        return self.caster

    def shade(self, view: FrameView) -> np.ndarray:
        """Linear radiance (H, W, 3) of a frame, before the camera: sky, and every surface
        lit by sky and bounce fill (ambient-occluded), the suns (soft shadows), point and spot
        lights, its own glow, and highlights and reflections on smooth materials."""
        from worldgen.paint.light import (
            ambient_occlusion,
            block_anchors,
            combine_light,
            light_visibility,
            local_light,
            spread_from_anchors,
        )

        surf = view.surf
        h, w = view.hits.depth.shape
        out = np.empty((h * w, 3), np.float32)
        from worldgen.passes.snapshot import pixel_ray_array

        miss = np.flatnonzero(view.hits.geom.ravel() < 0)
        self.sky_model.radiance_at(out, pixel_ray_array(view.cam).reshape(-1, 6)[:, 3:], miss)
        if len(surf.idx) == 0:
            return out.reshape(h, w, 3)
        n_geo = surf.normal
        k = len(surf.idx)
        albedo = np.empty((k, 3), np.float32)
        n = np.empty((k, 3), np.float32)
        emission = np.zeros(k, np.float32)
        rough = np.ones(k, np.float32)
        metal = np.zeros(k, bool)
        # world size of a pixel on the surface, widened at grazing angles
        cam = view.cam
        depth = view.hits.depth.ravel()[surf.idx]
        view_dir = surf.world - cam.center.astype(np.float32)
        view_dir /= np.linalg.norm(view_dir, axis=1, keepdims=True)
        facing = np.maximum(np.abs(np.einsum("ij,ij->i", view_dir, n_geo)), 0.2)
        footprint = depth / cam.K[1, 1] / facing
        for g, sel in object_groups(surf.geom):
            mat = self.materials[g]
            scale = float(np.cbrt(abs(np.linalg.det(view.snap.matrices[g][:3, :3])))) or 1.0
            albedo[sel], n[sel] = self._surface(g, surf, sel, footprint[sel] / scale, view.snap.matrices[g])
            emission[sel] = mat.emission
            rough[sel] = mat.roughness
            metal[sel] = mat.pattern in ("brushed",)
        look = self.look
        occ = np.ones(k, np.float32)
        if look.ao > 0:
            need, anchor = block_anchors(surf.idx, (h, w), surf.geom, depth, n_geo)
            ao = ambient_occlusion(self._caster(), view.snap, surf.world[need], n_geo[need], look.ao_distance)
            occ = 1 - look.ao * (1 - spread_from_anchors(ao, need, anchor))
        terms = []  # (weight per pixel, colour, scale) of each light, summed in this order
        spec = np.zeros((k, 3), np.float32)
        # highlights move with the eye: only materials that are really smooth get them (fading
        # in below roughness 0.6), so matte surfaces keep one colour from every view; they are
        # computed for those pixels alone (elsewhere they are exactly 0)
        shiny = np.flatnonzero(rough < SHINY_ROUGHNESS)
        if len(shiny):
            r_s, n_s, v_s = rough[shiny], n[shiny], view_dir[shiny]
            shine = np.clip(2.0 / np.maximum(r_s, 0.03) ** 2 - 2.0, 1.0, 4000.0)
            f0 = (
                np.where(metal[shiny, None], albedo[shiny], 0.04)
                * np.clip((SHINY_ROUGHNESS - r_s) / 0.3, 0, 1)[:, None]
            )
            f0 = f0.astype(np.float32)
        for to_sun, sun_col, size in self.suns:
            lam = np.clip(n @ to_sun, 0, None) * (n_geo @ to_sun > 0)
            if self.shadows:
                lam = lam * self._sun_visibility(view, surf, n_geo, lam > 0, to_sun, size)
            if self.painterly:  # soft bands: a hand-painted read of form
                lam = np.floor(lam * 4 + 0.5) / 4 * 0.6 + lam * 0.4
            terms.append((lam, sun_col, 0.45))
            if len(shiny):
                spec[shiny] += self._highlight(n_s, v_s, to_sun, shine, f0, lam[shiny]) * sun_col * 0.45
        for lt, col in self.locals:
            e, ldir, _ = local_light(lt, surf.world, n)
            on = e > 1e-4
            if self.shadows and on.any():
                e[on] = e[on] * light_visibility(self._caster(), view.snap, surf.world[on], n_geo[on], lt.position)
            terms.append((e, col, 1.0 if lt.intensity > 0 else 0.0))
            if len(shiny):
                spec[shiny] += self._highlight_dirs(n_s, v_s, ldir[shiny], shine, f0, e[shiny]) * col
        # sky and bounce fill (occluded), then each light, then albedo, glow and highlights,
        # written into the frame in one pass (float32, in numpy's order: the same values)
        sm = self.sky_model
        combine_light(
            out,
            surf.idx,
            albedo,
            n,
            occ,
            emission,
            spec,
            (sm.zenith * 0.5).astype(np.float32),
            (sm.bounce * 0.5).astype(np.float32),
            np.asarray(self.ambient, np.float32),
            np.array([t[0] for t in terms], np.float32).reshape(len(terms), k),
            np.array([t[1] for t in terms], np.float32).reshape(len(terms), 3),
            np.array([t[2] for t in terms], np.float32),
        )
        glossy = np.flatnonzero(rough < GLOSSY_ROUGHNESS)
        if len(glossy):
            out[surf.idx[glossy]] += self._gloss(n[glossy], view_dir[glossy], rough[glossy]) * occ[glossy, None]
        return out.reshape(h, w, 3)

    def _sun_visibility(self, view, surf, n_geo, lit, to_sun, size) -> np.ndarray:
        """Fraction of the sun's disk seen by each hit pixel: one ray to the disk's centre
        everywhere, the disk's rays (worldgen.paint.light.sun_visibility) only near the edges of
        that hard shadow, where the penumbra is."""
        from worldgen.paint.light import near_edges, sun_visibility

        k = len(lit)
        vis = np.zeros(k, np.float32)
        if not lit.any():
            return vis
        vis[lit] = sun_visibility(self._caster(), view.snap, surf.world[lit], n_geo[lit], to_sun, 0.0)
        if size <= 0:
            return vis
        h, w = view.hits.depth.shape
        img, valid = np.zeros(h * w, bool), np.zeros(h * w, bool)
        img[surf.idx], valid[surf.idx] = vis > 0.5, lit
        edge = near_edges(img.reshape(h, w), valid.reshape(h, w), PENUMBRA_PX).ravel()[surf.idx]
        if edge.any():
            disk = sun_visibility(self._caster(), view.snap, surf.world[edge], n_geo[edge], to_sun, size)
            vis[edge] = (vis[edge] + disk * 4) / 5
        return vis

    @staticmethod
    def _highlight(n, v, to_light, shine, f0, lam):
        half = to_light[None, :] - v
        half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-9)
        ndh = np.clip(np.einsum("ij,ij->i", half, n), 0, 1)
        return f0 * (ndh**shine * (shine + 8) / 25.0 * lam)[:, None]

    @staticmethod
    def _highlight_dirs(n, v, ldir, shine, f0, e):
        half = ldir - v
        half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-9)
        ndh = np.clip(np.einsum("ij,ij->i", half, n), 0, 1)
        return f0 * (ndh**shine * (shine + 8) / 25.0 * e)[:, None]

    def _gloss(self, n, v, rough) -> np.ndarray:
        """Smooth materials (water, glass, metal) reflect the sky (Schlick Fresnel). View-dependent
        by nature, so only materials that really are smooth get it."""
        cos = np.clip(-np.einsum("ij,ij->i", v, n), 0, 1)
        fresnel = (0.04 + 0.96 * (1 - cos) ** 5) * (1 - rough / GLOSSY_ROUGHNESS)
        refl = v + 2 * cos[:, None] * n
        return self.sky_model.radiance(refl, disk=False) * fresnel[:, None]

    # ---- the camera ----------------------------------------------------------------------
    def _lens_settings(self):
        """(f-stop or None, shutter angle) of the current shot: its camera's, else the look's."""
        cam = self.shot.camera if self.shot is not None else None
        f_stop = cam.f_stop if cam is not None and cam.f_stop is not None else self.look.f_stop
        shutter = cam.shutter if cam is not None and cam.shutter is not None else self.look.shutter
        return f_stop, shutter

    def focus_distance(self, view: FrameView) -> float | None:
        """Metres in focus: the shot's focus_distance, else the z-depth of its aim (target or
        look_at), else the depth at the frame's centre."""
        cam = view.cam
        if self.shot is not None:
            if self.shot.camera.focus_distance is not None:
                return float(self.shot.camera.focus_distance)
            if self._rig is None or self._rig.shot is not self.shot:  # (subclasses set self.shot themselves)
                from worldgen.camera import ShotCamera

                self._rig = ShotCamera(self.shot, self.world, cam.width, cam.height)
            aim = self._rig.aim_point(view.time - self.shot.start)
            if aim is not None:
                z = float((cam.world_to_camera[:3, :3] @ aim + cam.world_to_camera[:3, 3])[2])
                if z > 1e-3:
                    return z
        d = view.hits.depth
        h, w = d.shape
        centre = d[h * 2 // 5 : h * 3 // 5 + 1, w * 2 // 5 : w * 3 // 5 + 1]
        centre = centre[np.isfinite(centre)]
        return float(np.median(centre)) if centre.size else None

    def develop(self, view: FrameView, hdr: np.ndarray, passes=None) -> np.ndarray:
        """The camera and the film: linear radiance -> uint8 sRGB (see worldgen.paint.lens)."""
        from worldgen.paint import lens

        look = self.look
        depth = view.hits.depth
        x = lens.fog(hdr, depth, look.fog, self.sky_model.horizon)
        f_stop, shutter = self._lens_settings()
        if f_stop is not None:
            focus = self.focus_distance(view)
            if focus is not None:
                x = lens.depth_of_field(x, depth, float(view.cam.K[1, 1]), focus, f_stop)
        if passes is not None and shutter > 0:
            x = lens.motion_blur(x, passes.flow_fwd, passes.flow_bwd, shutter)
        noise = None
        if look.grain > 0:
            noise = lens.grain_noise(
                self.spec.seed, self.shot.id if self.shot is not None else "", view.index, *x.shape[:2]
            )
        # exposure, bloom, vignette, tone curve and grain in one pass
        return lens.finish(x, EXPOSURE * 2.0**look.exposure, look.bloom, look.vignette, look.tone, look.grain, noise)

    def paint(self, view: FrameView) -> np.ndarray:
        """uint8 sRGB frame (H, W, 3); motion blur only through `paint_frame` (it needs flow)."""
        return self.develop(view, self._shade_once(view), self._passes)

    REUSE_STILL_FRAMES = True

    def _shade_once(self, view: FrameView) -> np.ndarray:
        """`shade(view)`, or the previous frame's result where that is the same computation:
        shade reads only the camera, the snapshot and this painter's style, and a snapshot
        follows from the objects' matrices (and the time, for deforming bodies). A still shot
        of a world at rest is lit once; the lens, flow and grain are still applied per frame."""
        cam = view.cam
        key = (
            cam.width,
            cam.height,
            cam.K.tobytes(),
            cam.world_to_camera.tobytes(),
            view.snap.matrices.tobytes(),
            view.snap.t if self._deforms else None,
            self._style_serial,
        )
        if self.REUSE_STILL_FRAMES and self._last is not None and self._last[0] == key:
            self.frames_reused += 1
            return self._last[1]
        hdr = self.shade(view)
        self._last = (key, hdr) if self.REUSE_STILL_FRAMES else None
        return hdr

    def paint_frame(self, fr) -> np.ndarray:
        """The frame with its passes at hand, so motion blur follows the exact flow."""
        self._passes = fr.passes
        try:
            return self.paint(fr.view)
        finally:
            self._passes = None
