"""The baked diffusion painter, and what every diffusion painter shares.

`baked` (also `diffusion`): look development paints every object's texture once; every frame
is then the rasterised textured world under the spec's lights. No diffusion per frame. With a
refinement strength above 0 the same names make a refining member of the family
(`baked_family`): img2img per frame (worldgen.diffusion.refine) or a video model over windows
of frames (worldgen.diffusion.video_refine). Those modules build on this one and never the
other way round: worldgen.diffusion.painters, which names the painters, enters them in
`REFINE_BACKENDS`.

Shared here: the options every diffusion painter reads (flags over the spec's
`render.diffusion` block), the models they share within a process (`models_for`), their
identity, the frame prompt and the per-frame seed, and the image encoding of the refiners."""

from __future__ import annotations

import numpy as np

from worldgen.diffusion.models import NEGATIVE, DiffusionModels, DiffusionSettings
from worldgen.paint.base import Painter
from worldgen.paint.procedural import ProceduralPainter
from worldgen.paint.registry import PainterError
from worldgen.spec.painters import merge_painter_options

DEFAULT_REFINE = 0.3
# Look development paints albedo: the baked frame lights the texture with the spec's sun, sky
# and shadows (or shows it unlit), so light painted into it would be lit a second time and
# stay put when the light or the camera moves.
ALBEDO_PROMPT = "flat albedo texture, even diffuse lighting"
ALBEDO_NEGATIVE = (
    "shadows, cast shadows, highlights, specular reflections, shading, ambient occlusion, "
    "dramatic lighting, " + NEGATIVE
)
_MODELS: dict = {}  # loaded models shared by the painters of one process (a bench compares several)


def diffusion_options(world, options: dict) -> dict:
    """A diffusion painter's options: the given ones over the spec's render.diffusion block
    (worldgen.spec.painters.merge_painter_options), with the models every one of them needs."""
    merged = merge_painter_options(getattr(world.spec.render, "diffusion", None), options)
    if not merged.get("base"):
        raise PainterError(
            "the diffusion painters need a base model: --base-model PATH_OR_ID (or render.diffusion.base "
            "in the spec); see docs/DIFFUSION.md"
        )
    if not merged.get("controlnets"):
        raise PainterError("the diffusion painters need at least one ControlNet: --controlnet depth=PATH_OR_ID")
    return merged


def painter_identity(name: str, o: dict) -> dict:
    """What decides a diffusion painter's pixels (the cache folder does not; device and dtype do)."""
    keep = {k: v for k, v in o.items() if k not in ("cache",)}
    return {"name": name, "options": keep}


class Counted:
    """A painter's own share of the evaluations of models it may share with other painters."""

    _since = None

    def use_models(self, models: DiffusionModels) -> DiffusionModels:
        if self._since is None:
            self._since = models.totals()
        return models

    def model_stats(self) -> dict:
        if self.models is None:
            return {
                "unet_evals": 0,
                "unet_images": 0,
                "controlnet_evals": 0,
                "controlnet_images": 0,
                "peak_memory_bytes": 0,
            }
        return self.models.stats(self._since)


def models_for(o: dict) -> DiffusionModels:
    s = DiffusionSettings(
        base=o["base"],
        controlnets=dict(o["controlnets"]),
        weights=o.get("weights"),
        device=o.get("device", "auto"),
        dtype=o.get("dtype", "auto"),
        steps=int(o.get("steps", 20)),
        guidance=float(o.get("guidance", 7.5)),
        attention_slicing=bool(o.get("attention_slicing")),
        cpu_offload=bool(o.get("cpu_offload")),
        config=o.get("config"),
    )
    key = repr(sorted(vars(s).items(), key=lambda kv: kv[0]))
    m = _MODELS.get(key)
    if m is None:
        m = _MODELS[key] = DiffusionModels(s)
    return m


def lookdev_prompt(appearance: str, style: str) -> str:
    """The prompt a unit's texture is painted with: its appearance words, the film's style, and
    the words that ask for albedo rather than lit surfaces (ALBEDO_NEGATIVE is its negative)."""
    return ", ".join(x for x in (appearance, style, ALBEDO_PROMPT) if x)


def check_frame_size(world, painter: str) -> None:
    """Painters that run diffusion on whole frames need frames of whole latents: the VAE maps
    8x8 pixels to one latent, and other sizes fail deep in diffusers as a shape mismatch."""
    from worldgen.spec.loader import located_of

    r = world.spec.render
    for field in ("width", "height"):
        size = getattr(r, field)
        if size % 8:
            low = size // 8 * 8
            raise located_of(world.spec).error(
                ("render", field),
                f"{size} is not a multiple of 8, which the '{painter}' painter needs (diffusion "
                f"works on 8x8-pixel latents): use {low} or {low + 8}",
            )


def frame_prompt(world, shot, style: str) -> str:
    if shot is not None and shot.prompt:
        words = [shot.prompt]
    else:
        words = [n.spec.appearance for n in world.nodes.values() if n.character is None and n.spec.appearance][:6]
    return ", ".join([w for w in words + [style] if w])


class ShotAware:
    """What every diffusion painter knows about the shot it is painting."""

    shot = None
    near_far = (0.1, 100.0)
    frames_painted = 0

    def begin_shot(self, shot, near_far):
        self.shot, self.near_far = shot, near_far


class BakedPainter(Counted, ShotAware, ProceduralPainter):
    name = "baked"
    needs_model = True
    uses_textures = True  # look development, cached on disk

    @classmethod
    def create(cls, world, raster, options: dict) -> Painter:
        """`baked` and `diffusion`: refined when --refine (or the spec's) is above 0."""
        return baked_family(world, raster, options)

    def __init__(self, world, raster, options: dict):
        ProceduralPainter.__init__(
            self,
            world,
            shadows=world.spec.render.shadows,
            caster=raster.backend if hasattr(raster.backend, "occluded") else None,
        )
        self.o = diffusion_options(world, options)
        self.lighting = self.o.get("lighting", "lit")
        self.textures: dict[int, np.ndarray] = {}
        self.models = None
        self.lookdev_info = {"units": 0, "painted": 0, "from_cache": 0, "textures": []}

    def _lookdev_settings(self):
        from worldgen.diffusion.lookdev import LookdevSettings

        o = self.o
        return LookdevSettings(
            texture_size=int(o.get("texture_size", 512)),
            part_texture_size=int(o.get("part_texture_size", 256)),
            view_size=int(o["view_size"]) if o.get("view_size") else None,
            views=int(o.get("views", 6)),
            steps=int(o.get("steps", 20)),
            guidance=float(o.get("guidance", 7.5)),
            seed=self.spec.seed,
            negative_prompt=ALBEDO_NEGATIVE,
        )

    def prepare(self, shots) -> None:
        """Look development: every unit's textures from the cache, or painted now and cached."""
        from worldgen import __version__
        from worldgen.diffusion.cache import TextureCache, mesh_digest, texture_key
        from worldgen.diffusion.lookdev import choose_views, paint_unit, units_of

        s = self._lookdev_settings()
        cache = TextureCache(self.o.get("cache"))
        before = self.model_stats()["unet_evals"]
        ids = list(self.world.nodes)
        # a film's scenes paint with the film's style: a scene's carries its time of day, which
        # the lights give, and one outfit or set must not be repainted per scene
        style = self.o["lookdev_style"] if self.o.get("lookdev_style") is not None else self.spec.style
        for unit in units_of(self.world):
            self.lookdev_info["units"] += 1
            prompt = lookdev_prompt(unit.appearance, style)
            keys = {
                oid: texture_key(
                    {
                        "appearance": unit.appearance,
                        "style": style,
                        "prompt": prompt,
                        "mesh": mesh_digest(self.world.nodes[oid].mesh),
                        "unit": unit.oids,
                        "base": self.o["base"],
                        "controlnets": self.o["controlnets"],
                        "weights": self.o.get("weights"),
                        "settings": vars(s),
                        "seed": self.spec.seed,
                        "worldgen": __version__,
                    }
                )
                for oid in unit.oids
            }
            found = {oid: cache.load(oid, keys[oid]) for oid in unit.oids}
            if all(v is not None for v in found.values()):
                self.lookdev_info["from_cache"] += 1
            else:
                if self.models is None:
                    self.models = self.use_models(models_for(self.o))
                from dataclasses import replace

                ps = replace(s, view_size=s.view_size or self.models.native_size)  # the model's own size unless asked
                views = choose_views(self.world, unit, shots or self.spec.shots, self.spec.render.fps, ps)
                tex = paint_unit(self.world, unit, views, self.models, prompt, ps, self.spec.seed)
                for oid in unit.oids:
                    cache.save(
                        oid,
                        keys[oid],
                        tex.textures[oid],
                        {
                            "object": oid,
                            "unit": unit.key,
                            "prompt": prompt,
                            "views": len(views),
                            "key": keys[oid],
                            "base": self.o["base"],
                            "seed": self.spec.seed,
                        },
                    )
                    found[oid] = tex.textures[oid]
                self.lookdev_info["painted"] += 1
            for oid, t in found.items():
                self.textures[ids.index(oid)] = t
                self.lookdev_info["textures"].append(str(cache.path(oid, keys[oid])))
        self.lookdev_info["unet_evals"] = self.model_stats()["unet_evals"] - before

    def identity(self) -> dict:
        """Options, and the textures' bytes: editing a cached texture repaints the frames."""
        import hashlib

        tex = {
            str(g): hashlib.sha256(np.ascontiguousarray(t).tobytes()).hexdigest()
            for g, t in sorted(self.textures.items())
        }
        # lit frames go through the procedural painter's light and camera: its look settings too
        return {
            **painter_identity(self.name, self.o),
            "textures": tex,
            "look": ProceduralPainter._identity_of(self.spec),
        }

    def surface_albedo(self, g, surf, sel, footprint):
        t = self.textures.get(int(g))
        if t is None:
            return super().surface_albedo(g, surf, sel, footprint)
        from worldgen.diffusion.texture import sample
        from worldgen.paint.materials import srgb_to_linear

        return srgb_to_linear(sample(t, surf.uv[sel])).astype(np.float32)

    def paint(self, view) -> np.ndarray:
        self.frames_painted += 1
        if self.lighting != "unlit":
            return ProceduralPainter.paint(self, view)
        return self.unlit(view)

    def unlit(self, view) -> np.ndarray:
        """The textures as painted, no lighting: each pixel is its texture at the pixel's uv."""
        from worldgen.diffusion.texture import sample
        from worldgen.passes.snapshot import pixel_rays

        h, w = view.hits.depth.shape
        out = np.zeros((h * w, 3), np.float32)
        geom = view.hits.geom.ravel()
        miss = geom < 0
        sky = self.sky(pixel_rays(view.cam)[1].reshape(-1, 3)[miss])
        out[miss] = np.clip(sky, 0, 1) ** (1 / 2.2) * 255
        uv = view.surf.uv_img.reshape(-1, 2)
        for g in np.unique(geom[~miss]):
            sel = geom == g
            t = self.textures.get(int(g))
            out[sel] = sample(t, uv[sel]) if t is not None else 127.0
        return np.clip(out + 0.5, 0, 255).astype(np.uint8).reshape(h, w, 3)

    def stats(self) -> dict:
        base = self.model_stats()
        return {
            **base,
            "lookdev": {k: v for k, v in self.lookdev_info.items() if k != "textures"},
            "textures": self.lookdev_info["textures"],
            "frames": self.frames_painted,
        }


def hash_seed(seed: int, shot: str, index: int) -> int:
    import zlib

    return zlib.crc32(f"{seed}|{shot}|{index}".encode())


# refine backend -> the painter class that refines baked frames so; worldgen.diffusion.painters
# enters them (they import this module, so this one cannot import them)
REFINE_BACKENDS: dict[str, type] = {}


def baked_family(world, raster, options: dict, refine_default: float = 0.0, backend: str | None = None):
    """A baked painter, refined when the refinement strength (flags over the spec's
    render.diffusion block) is above 0, by the backend asked for."""
    o = diffusion_options(world, options)
    if not float(o.get("refine") or 0) > 0:
        o["refine"] = refine_default
    if not o["refine"] > 0:
        return BakedPainter(world, raster, o)
    video = (backend or o.get("refine_backend")) == "animatediff"
    check_frame_size(world, "baked+animatediff" if video else "baked+refine")
    kind = "animatediff" if video else "img2img"
    if kind not in REFINE_BACKENDS:
        raise PainterError(f"no '{kind}' refine backend registered (worldgen.diffusion.painters registers them)")
    return REFINE_BACKENDS[kind](world, raster, o)


def encode_image(vae, images: np.ndarray, device, dtype):
    """uint8 images as the VAE's scaled latents: one image (H, W, 3) -> (1, 4, H/8, W/8), or a
    batch (N, H, W, 3) -> (N, 4, H/8, W/8); the mean of its latent distribution, as diffusers'
    img2img pipelines encode the image they start from. (The two shapes reach the VAE in
    different memory layouts, which move its float results in the last bits: a frame encoded
    alone stays encoded alone, so refined frames keep their bytes.)"""
    import torch

    x = torch.from_numpy(images).to(device, dtype)
    x = (x.permute(2, 0, 1)[None] if x.ndim == 3 else x.permute(0, 3, 1, 2)) / 127.5 - 1.0
    return vae.encode(x).latent_dist.mean * vae.config.scaling_factor
