"""The embedded painter: a stylised, readable look computed from the passes, no weights.

Appearance lives on the surface: every pattern is a function of the object-frame point (or
uv), so it moves with its object and never swims. Lighting is view-independent (sun with
shadows, sky and ground fill, emission), so a surface point keeps its colour from frame to
frame and from shot to shot unless something really changes (a moving shadow)."""
from __future__ import annotations

import numpy as np

from worldgen.paint.base import Painter
from worldgen.paint.materials import Material, material_from_text, srgb_to_linear
from worldgen.paint.noise import band_limit, fbm, value_noise
from worldgen.passes.sequence import FrameView

GLOSSY_ROUGHNESS = 0.35  # below this a material reflects the sky and the sun

SKIES = {  # style word -> (zenith, horizon, ground bounce) sRGB, sun tint
    "dusk": ((58, 64, 120), (246, 170, 120), (90, 70, 60)), "sunset": ((70, 70, 130), (250, 150, 90), (96, 72, 60)),
    "dawn": ((90, 110, 170), (250, 196, 160), (100, 90, 80)), "night": ((8, 12, 30), (30, 40, 70), (14, 14, 20)),
    "overcast": ((150, 156, 164), (196, 198, 200), (110, 110, 108)), "noon": ((70, 130, 220), (190, 215, 240), (120, 112, 100)),
}
DEFAULT_SKY = ((80, 135, 215), (200, 222, 240), (118, 110, 98))


class ProceduralPainter(Painter):
    name = "procedural"

    def __init__(self, world, shadows: bool = True, style: str = "", caster=None):
        """`caster`: a ray caster with `occluded()` over the same world (the rasterizer's raycast
        backend), so shadow rays reuse its BVH; without one the painter builds its own."""
        self.world = world
        self.caster = caster
        self.spec = world.spec
        self.shadows = shadows
        self._looks: dict[str, dict] = {}
        ids = list(world.nodes)
        self.materials: list[Material] = [self._material(world.nodes[o], o) for o in ids]
        self.sizes = [max(float(np.ptp(world.nodes[o].mesh.vertices, 0).max()), 1e-3) for o in ids]
        self.set_style(style or self.spec.style)

    @classmethod
    def create(cls, world, raster, options: dict) -> Painter:
        """Shadows as the spec says; the rasterizer's ray caster for shadow rays where it has one."""
        caster = raster.backend if hasattr(raster.backend, "occluded") else None
        return cls(world, shadows=world.spec.render.shadows, caster=caster, **options)

    @classmethod
    def static_identity(cls, world, options: dict) -> dict | None:
        """The procedural look follows from the world alone (and the shadows switch), so a
        render the store holds is keyed without making the painter. Only while `identity` is
        this class's own: a subclass with state of its own (textures) must be made first."""
        if cls.identity is not ProceduralPainter.identity:
            return None
        return {"name": "procedural", "shadows": world.spec.render.shadows}

    def identity(self) -> dict:
        return {"name": "procedural", "shadows": self.spec.render.shadows}

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
        words = style.lower()
        sky = next((v for k, v in SKIES.items() if k in words), DEFAULT_SKY)
        self.zenith, self.horizon, self.bounce = (srgb_to_linear(c) for c in sky)
        self.painterly = any(w in words for w in ("painterly", "painted", "illustrat", "toon", "cel", "storybook"))
        self.suns, self.ambient = [], np.zeros(3)
        for light in self.spec.world.lights:
            col = srgb_to_linear([int(light.color[i:i + 2], 16) for i in (1, 3, 5)])
            if light.type == "sun":
                d = np.asarray(light.direction, float)
                self.suns.append((-d / np.linalg.norm(d), col * light.intensity))
            else:
                self.ambient = self.ambient + col * light.intensity

    # ---- surface appearance --------------------------------------------------------------
    def albedo(self, mat: Material, local: np.ndarray, uv: np.ndarray, size: float, footprint=None) -> np.ndarray:
        """Linear albedo at object-frame points; `footprint` (object units per pixel) fades
        detail finer than the pixel to its mean, so distant texture does not shimmer."""
        p = local / mat.scale
        fp = None if footprint is None else footprint / mat.scale
        s = mat.seed
        pat = mat.pattern

        def keep(m, mean, period):  # fade a hard-edged pattern to its mean when it would alias
            w = band_limit(period, fp)
            return mean + w * (m - mean)

        if pat == "bricks":
            row = np.floor(p[:, 1] / 0.5)
            x = p[:, 0] + p[:, 2] + 0.5 * (row % 2)
            mortar = (np.abs((p[:, 1] / 0.5) - np.round(p[:, 1] / 0.5)) < 0.07) | (np.abs(x - np.round(x)) < 0.035)
            m = np.where(mortar, 1.0, 0.15 * value_noise(np.stack([np.floor(x), row, row], 1), s))
            m = keep(m, 0.2, 0.07)
        elif pat == "planks":
            m = 0.6 * (np.sin((p[:, 1] + 0.3 * fbm(p * 0.5, s, 2, None if fp is None else fp * 0.5)) * 6.0) * 0.5 + 0.5) ** 3
            m = keep(m, 0.19, 1.0) + keep(0.4 * (np.abs(np.sin(p[:, 1] * np.pi)) < 0.06), 0.03, 0.08)
        elif pat == "stripes":
            m = keep((np.floor(local[:, 1] / mat.scale * 2) % 2).astype(np.float32), 0.5, 1.0)
        elif pat == "checker":
            m = keep((np.floor(p[:, 0]) + np.floor(p[:, 1]) + np.floor(p[:, 2])) % 2, 0.5, 2.0)
        elif pat == "spots":
            m = keep((value_noise(p * 2.0, s) > 0.72).astype(np.float32), 0.1, 0.3)
        elif pat == "tiles":
            f = np.abs(p - np.round(p))
            m = keep((np.sort(f, 1)[:, 1] < 0.04).astype(np.float32), 0.16, 0.08)
        elif pat == "veins":
            m = keep(np.abs(np.sin(p[:, 0] * 3 + 4 * fbm(p, s, 3, fp))) ** 8, 0.2, 0.5)
        elif pat == "speckle":
            m = keep((value_noise(p * 4.0, s) > 0.6) * 0.8, 0.2, 0.25) + 0.2 * fbm(p, s + 1, 2, fp)
        elif pat == "waves":
            m = keep(0.5 + 0.5 * np.sin(p[:, 0] * 2 + 1.7 * fbm(p * 0.7, s, 2) * 4), 0.5, 1.0)
        elif pat == "weave":
            m = keep(0.5 + 0.5 * np.sin(p[:, 0] * np.pi) * np.sin(p[:, 2] * np.pi), 0.5, 2.0)
        elif pat == "brushed":
            m = 0.5 * fbm(p * np.array([0.2, 8.0, 0.2]), s, 2, None if fp is None else fp * 8.0)
        elif pat == "grain":
            m = fbm(p * 2, s, 3, None if fp is None else fp * 2) ** 1.5
        elif pat == "plain":
            m = np.zeros(len(p), np.float32)
        else:  # mottle
            m = fbm(p, s, 3, fp)
        m = np.clip(np.asarray(m, np.float32), 0, 1)[:, None]
        col = mat.base * (1 - m) + mat.second * m
        # large, soft variation so big surfaces never read as flat fills
        big = max(size * 0.35, 0.5)
        col = col * (0.85 + 0.3 * fbm(local / big, s + 7, 2, None if footprint is None else footprint / big))[:, None]
        if mat.wet:
            col = col * 0.7
        return col

    def surface_albedo(self, g: int, surf, sel, footprint) -> np.ndarray:
        """Linear albedo of object g's pixels `sel`; painters with textures override this."""
        return self.albedo(self.materials[g], surf.local[sel], surf.uv[sel], self.sizes[g], footprint)

    # ---- lighting ------------------------------------------------------------------------
    def sky(self, dirs: np.ndarray) -> np.ndarray:
        d = dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
        y = np.clip(d[..., 1], -1, 1)[..., None]
        col = self.horizon + (self.zenith - self.horizon) * np.clip(y, 0, 1) ** 0.6
        col = np.where(y < 0, self.horizon * 0.8 + self.bounce * 0.2, col)
        for sun_dir, sun_col in self.suns:
            c = np.clip(d @ sun_dir, 0, 1)[..., None]
            col = col + (c ** 64) * 0.6 * sun_col / max(sun_col.max(), 1e-6) + (c ** 8) * 0.15 * self.horizon
        return col

    def shade(self, view: FrameView) -> np.ndarray:
        surf = view.surf
        h, w = view.hits.depth.shape
        out = np.empty((h * w, 3), np.float32)
        from worldgen.passes.snapshot import pixel_rays
        _, dirs = pixel_rays(view.cam)
        miss = view.hits.geom.ravel() < 0
        out[miss] = self.sky(dirs.reshape(-1, 3)[miss])
        if len(surf.idx) == 0:
            return out.reshape(h, w, 3)
        n = surf.normal
        albedo = np.empty((len(surf.idx), 3), np.float32)
        emission = np.zeros(len(surf.idx), np.float32)
        rough = np.ones(len(surf.idx), np.float32)
        # world size of a pixel on the surface, widened at grazing angles
        cam = view.cam
        depth = view.hits.depth.ravel()[surf.idx]
        view_dir = surf.world - cam.center.astype(np.float32)
        view_dir /= np.linalg.norm(view_dir, axis=1, keepdims=True)
        facing = np.maximum(np.abs(np.einsum("ij,ij->i", view_dir, n)), 0.2)
        footprint = depth / cam.K[1, 1] / facing
        for g in np.unique(surf.geom):
            sel = surf.geom == g
            mat = self.materials[g]
            scale = float(np.cbrt(abs(np.linalg.det(view.snap.matrices[g][:3, :3])))) or 1.0
            albedo[sel] = self.surface_albedo(g, surf, sel, footprint[sel] / scale)
            emission[sel] = mat.emission
            rough[sel] = mat.roughness
        up = np.clip(n[:, 1:2], -1, 1)
        fill = self.zenith * 0.5 * (1 + up) + self.bounce * 0.5 * (1 - up)
        light = fill * 0.55 + self.ambient
        for sun_dir, sun_col in self.suns:
            lam = np.clip(n @ sun_dir, 0, None)
            if self.shadows:
                lam = lam * self._lit(view, surf, sun_dir, lam)
            if self.painterly:  # soft bands: a hand-painted read of form
                lam = np.floor(lam * 4 + 0.5) / 4 * 0.6 + lam * 0.4
            light = light + lam[:, None] * sun_col * 0.45
        col = albedo * light + albedo * emission[:, None]
        glossy = rough < GLOSSY_ROUGHNESS
        if glossy.any():
            col[glossy] += self._gloss(n[glossy], view_dir[glossy], rough[glossy])
        out[surf.idx] = col
        return out.reshape(h, w, 3)

    def _gloss(self, n, v, rough) -> np.ndarray:
        """Smooth materials (water, glass, metal) reflect the sky (Schlick Fresnel) and show a
        sun highlight. View-dependent by nature, so only materials that really are smooth get it."""
        cos = np.clip(-np.einsum("ij,ij->i", v, n), 0, 1)
        fresnel = (0.04 + 0.96 * (1 - cos) ** 5) * (1 - rough / GLOSSY_ROUGHNESS)
        refl = v + 2 * cos[:, None] * n
        out = self.sky(refl) * fresnel[:, None]
        shine = 2.0 / np.maximum(rough, 0.03) ** 2
        for sun_dir, sun_col in self.suns:
            half = sun_dir - v
            half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-9)
            spec = np.clip(np.einsum("ij,ij->i", half, n), 0, 1) ** shine
            out += (spec * fresnel * 4)[:, None] * sun_col
        return out

    def _lit(self, view, surf, sun_dir, lam) -> np.ndarray:
        if self.caster is None:
            from worldgen.passes.raycast import RaycastBackend
            self.caster = RaycastBackend(self.world)
        facing = lam > 0
        lit = np.zeros(len(lam), np.float32)
        pts = surf.world[facing] + surf.normal[facing] * 2e-3
        dirs = np.broadcast_to(sun_dir.astype(np.float32), pts.shape)
        lit[facing] = np.where(self.caster.occluded(pts, dirs, view.snap), 0.0, 1.0)
        return lit

    def paint(self, view: FrameView) -> np.ndarray:
        """uint8 sRGB frame (H, W, 3)."""
        x = self.shade(view)
        x = x * 1.2
        x = x / (1 + x * 0.35)  # gentle shoulder keeps highlights from clipping flat
        x = np.clip(x, 0, 1) ** (1 / 2.2)
        return (x * 255 + 0.5).astype(np.uint8)
