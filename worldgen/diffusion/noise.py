"""Initial diffusion noise anchored to the surfaces of the world, so it does not flicker.

Painting each frame from fresh noise makes a film flicker: the same wall gets a different
random start in every frame. Here the noise of a latent pixel is a function of the surface
points its image pixels see, so the same point gets the same noise in every frame and shot,
while each latent pixel still receives unit-variance white Gaussian noise (the idea of
'How I Warped Your Noise', Chang et al. 2024; this is an independent implementation).

Design
------
* **A noise pyramid per surface, evaluated lazily.** Every object (named by its id string) has
  white noise over its uv square at a finest resolution of `texels` x `texels` texels per uv
  unit, and a *block* (lu, lv, i, j) is the normalised sum (sum / sqrt(count)) of the
  2^lu x 2^lv finest texels [i 2^lu, (i+1) 2^lu) x [j 2^lv, (j+1) 2^lv): N(0, 1), independent of
  the other blocks of its level pair, and exactly the normalised sum of its two halves along u
  and along v. The top level is one uv unit (uv outside [0, 1) gets new, independent cells,
  not a repeat). Blocks are drawn with a separable Haar construction: a block splits along u
  into (block +- u-detail) / sqrt(2), and u-details and top-level blocks are themselves 1-D
  Haar pyramids along v, whose every value is a counter-based hash of (seed, object, family,
  levels, indices, channel) turned Gaussian. Nothing is stored, any block of any level is
  evaluated on demand (each distinct ancestor once per call), and memory does not grow with
  `texels` -- hence the fine default (16384: 2.4 mm on a 40 m ground plane).
* **A latent pixel sums distinct blocks.** A latent pixel (factor x factor image pixels) gets
  the sum of the distinct (object, block) samples its image pixels land on over sqrt(count): n
  independent N(0, 1) over sqrt(n) is N(0, 1) exactly, whatever n is, and the same blocks give
  the same value in any frame. Pixels of different objects are simply distinct samples.
* **Each block belongs to one latent pixel.** A block hit by pixels of two latent pixels (it
  straddles their border) would make them correlated (measured: 0.06 to 0.38 between
  neighbours); it is kept only by the latent pixel with most of its hits, so neighbours share
  nothing and are independent (`exclusive=True`; a latent pixel left with nothing keeps its own).
* **Block size follows the pixel footprint, per axis** (the improvement over one fixed texture).
  A fixed texture is too coarse on a ground plane seen up close (neighbours share texels: blocky,
  correlated noise) and too fine far away: pixel centres then sample a few of many texels, and a
  sub-pixel move replaces them (measured on a 4:1 stretched footprint: correlation 0.26 to 0.6
  after a quarter-pixel shift with square texels, 0.9 to 0.97 with per-axis blocks). Each
  (latent pixel, object) group picks the smallest levels whose blocks are at least
  `texel_pixels` times the bounding box of a pixel's uv footprint along u and along v (median
  over the group; uv differences between same-object neighbours): every block inside the latent
  pixel then holds a pixel centre, so the latent pixel sums (nearly) all of the surface it
  covers, as an area integral would. Because a block is the normalised sum of its halves, a
  latent pixel that covers whole blocks has the same value at either level: when the level
  changes between frames (a dolly, a zoom), the noise changes little.
* **The sky is anchored to directions.** Background pixels use the same construction on the six
  faces of a cube map of world view directions: the sky's noise stays put when the camera only
  rotates, and (being at infinity) when it only translates.

Measured (tests/test_diffusion_noise.py): mean 0 and variance 1 per latent pixel and overall,
Gaussian (KS test); neighbour correlations within sampling error of 0; identical passes give
identical noise; a static camera gives the same noise every frame; a truck of exactly 8 px a
frame shifts the noise by exactly one latent pixel (away from the image edges, where content
enters or leaves and block ownership can differ); along an orbit's exact flow, latent pixels
whose flow is within 1/16 latent pixel of a whole number correlate 0.91 with the previous frame.

Limits: blocks are axis-aligned in uv, so a footprint stretched diagonally in uv gets blocks the
size of its bounding box (fewer, larger samples; still unit variance). uv islands that overlap
(mirrored or shared uv in imported assets) get the same noise in both places.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import ndtri

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
SKY_FACES = ("sky:+x", "sky:-x", "sky:+y", "sky:-y", "sky:+z", "sky:-z")


# --- counter-based Gaussian hash ----------------------------------------------------------------


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 whose output bits all depend on all input bits."""
    x = np.asarray(x, np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def combine(h: np.ndarray, value) -> np.ndarray:
    """Fold one more integer (int64 allowed, negative included) into a hash."""
    value = np.asarray(value, np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        return mix64(np.asarray(h, np.uint64) ^ (value + GOLDEN))


def key_hash(seed: int, key: str) -> np.uint64:
    """64 bits naming one noise pyramid; independent of every other (seed, key)."""
    digest = hashlib.blake2b(f"{int(seed)}\x00{key}".encode(), digest_size=8).digest()
    return np.frombuffer(digest, np.uint64)[0]


def gaussians(ids: np.ndarray, channels: int) -> np.ndarray:
    """(N, channels) standard normals, a pure function of each id: the top 53 bits of a hash
    give a uniform in (0, 1), the inverse normal CDF makes it Gaussian."""
    h = combine(ids[:, None], np.arange(channels, dtype=np.int64)[None, :])
    uniform = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return ndtri(uniform)


SQRT2 = np.sqrt(2.0)
BLOCKS, U_DETAILS, DETAIL = 1, 2, 3  # tags that keep the hashed families apart


def series_ids(keys: np.ndarray, tag: int, level: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Names a column of the pyramid: (surface, family, u level, u index)."""
    return combine(combine(combine(keys, tag), level), index)


def split(parent: np.ndarray, detail: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The even or odd half of a block from the block and its (half - other half) detail."""
    sign = (1 - 2 * (index & 1)).astype(np.float64)[:, None]
    return (parent + sign * detail) / SQRT2


def unique_rows(ids: np.ndarray):
    """Evaluate each distinct node once: (unique ids, first index of each, inverse)."""
    unique, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    return unique, first, inverse.ravel()


def v_pyramid(series: np.ndarray, lv: np.ndarray, j: np.ndarray, top: int, channels: int) -> np.ndarray:
    """A 1-D Haar pyramid along v for each series: block (lv, j) is the normalised sum of its
    two halves at lv - 1, drawn as (block +- detail) / sqrt(2) with an independent detail."""
    ids = combine(combine(series, lv), j)
    unique, first, inverse = unique_rows(ids)
    series, lv, j = series[first], lv[first], j[first]
    out = np.empty((len(unique), channels))
    at_top = lv >= top
    out[at_top] = gaussians(unique[at_top], channels)
    below = ~at_top
    if below.any():
        s, l, jj = series[below], lv[below] + 1, j[below] >> 1
        parent = v_pyramid(s, l, jj, top, channels)
        detail = gaussians(combine(combine(combine(s, l), jj), DETAIL), channels)
        out[below] = split(parent, detail, j[below])
    return out[inverse]


def block_values(keys, lu, lv, i, j, top: int, channels: int) -> np.ndarray:
    """(N, channels) noise of block (i, j) at levels (lu, lv) of the surfaces named by `keys`:
    the normalised sum of the 2^lu x 2^lv finest texels [i 2^lu, (i+1) 2^lu) x [j 2^lv, ...).

    Separable Haar construction: a block is split along u into (parent +- u-detail) / sqrt(2);
    the u-details of a column, like the top-level blocks, form 1-D pyramids along v. Every
    block is then the exact normalised sum of its halves along u and along v, blocks of one
    level pair are iid N(0, 1), and any block can be evaluated without the others."""
    ids = combine(combine(combine(combine(keys, lu), lv), i), j)
    unique, first, inverse = unique_rows(ids)
    keys, lu, lv, i, j = keys[first], lu[first], lv[first], i[first], j[first]
    out = np.empty((len(unique), channels))
    at_top = lu >= top
    if at_top.any():
        out[at_top] = v_pyramid(
            series_ids(keys[at_top], BLOCKS, lu[at_top], i[at_top]), lv[at_top], j[at_top], top, channels
        )
    below = ~at_top
    if below.any():
        k, l, ii, vv, jj = keys[below], lu[below] + 1, i[below] >> 1, lv[below], j[below]
        parent = block_values(k, l, vv, ii, jj, top, channels)
        detail = v_pyramid(series_ids(k, U_DETAILS, l, ii), vv, jj, top, channels)
        out[below] = split(parent, detail, i[below])
    return out[inverse]


# --- where pixels land ----------------------------------------------------------------------------


def cube_map(dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World directions (..., 3) -> (face 0..5, face coordinates (..., 2) in [0, 1])."""
    d = np.asarray(dirs, np.float64)
    axis = np.abs(d).argmax(-1)
    major = np.take_along_axis(d, axis[..., None], -1)[..., 0]
    face = 2 * axis + (major < 0)
    others = np.array([[1, 2], [0, 2], [0, 1]])[axis]  # the two minor axes of each face
    minor = np.take_along_axis(d, others, -1) / np.abs(major)[..., None]
    return face, (minor + 1) / 2


def footprint_extents_log2(code: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log2 of each pixel's footprint extent along u and along v (|d/dx| + |d/dy|: the bounding
    box of the uv parallelogram between pixel centres), from differences with same-surface
    neighbours; nan where a pixel has none. A block at least this large always holds a pixel
    centre, so no block inside a latent pixel goes unsampled."""

    def derivatives(axis):
        forward = [np.diff(a, axis=axis, append=np.take(a, [-1], axis)) for a in (u, v)]
        backward = [np.diff(a, axis=axis, prepend=np.take(a, [0], axis)) for a in (u, v)]
        same_forward = np.diff(code, axis=axis, append=np.take(code, [-1], axis) + 1) == 0
        same_backward = np.diff(code, axis=axis, prepend=np.take(code, [0], axis) + 1) == 0
        return [np.where(same_forward, f, np.where(same_backward, b, np.nan)) for f, b in zip(forward, backward)]

    (ux, vx), (uy, vy) = derivatives(1), derivatives(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(np.abs(ux) + np.abs(uy)), np.log2(np.abs(vx) + np.abs(vy))


def group_medians(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of the finite `values` of each group (nan for a group with none)."""
    ok = np.isfinite(values)
    g, x = group[ok], values[ok]
    order = np.lexsort((x, g))
    g, x = g[order], x[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(n_groups, np.nan)
    has = counts > 0
    lo, hi = starts[has] + (counts[has] - 1) // 2, starts[has] + counts[has] // 2
    out[has] = (x[lo] + x[hi]) / 2
    return out


def owned_samples(node: np.ndarray, latent: np.ndarray, n_latent: int) -> np.ndarray:
    """One pixel index per distinct (latent pixel, block) sample, each block kept only by the
    latent pixel holding most of its hits (ties: the lower latent index), so neighbouring latent
    pixels share no block and are independent. A latent pixel left with nothing keeps its own."""
    _, first, counts = np.unique(combine(node, latent), return_index=True, return_counts=True)
    pair_node, pair_latent = node[first], latent[first]
    order = np.lexsort((pair_latent, -counts, pair_node))  # per block: most hits first, then lowest latent
    sorted_node = pair_node[order]
    leads = np.ones(len(order), bool)
    leads[1:] = sorted_node[1:] != sorted_node[:-1]
    owned = np.zeros(len(order), bool)
    owned[order[leads]] = True
    has_owned = np.bincount(pair_latent[owned], minlength=n_latent) > 0
    return first[owned | ~has_owned[pair_latent]]


class SurfaceNoise:
    """Latent noise anchored to surfaces (uv) and to the sky (view direction); see the module
    docstring. `keys[g]` names object g (use the world's object ids, `for_world`), so an object
    keeps its noise when others are added to the scene. `texels` (a power of two) is the finest
    resolution per uv unit; it costs nothing, as texels are hashed, not stored. Blocks are at
    least `texel_pixels` pixel footprints wide (and less than twice that) along each uv axis.
    `exclusive=False` lets latent pixels share border blocks (slightly more temporal overlap,
    correlated neighbours)."""

    def __init__(
        self,
        seed: int,
        channels: int = 4,
        texels: int = 16384,
        keys: list[str] | None = None,
        texel_pixels: float = 1.0,
        exclusive: bool = True,
    ):
        if texels < 1 or texels & (texels - 1):
            raise ValueError(f"texels must be a power of two, got {texels}")
        self.seed, self.channels, self.texels = int(seed), int(channels), int(texels)
        self.top = int(texels).bit_length() - 1
        self.keys = None if keys is None else [str(k) for k in keys]
        self.texel_pixels = float(texel_pixels)
        self.exclusive = exclusive

    @classmethod
    def for_world(cls, seed: int, world, **options) -> "SurfaceNoise":
        """Objects named by their ids, in the rasterizer's geometry order."""
        return cls(seed, keys=list(world.nodes), **options)

    def key_of(self, g: int) -> str:
        if self.keys is None:
            return f"object-{g}"
        if g >= len(self.keys):
            raise ValueError(f"object index {g} has no key ({len(self.keys)} keys given)")
        return self.keys[g]

    def surface_codes(self, geom: np.ndarray, uv: np.ndarray, dirs: np.ndarray | None):
        """Per pixel: a surface code (objects 0..n-1, then the six sky faces), its (u, v), and the
        64-bit key of every code."""
        objects = np.unique(geom[geom >= 0])
        n = int(objects.max()) + 1 if len(objects) else 0
        code = geom.astype(np.int64)
        u, v = uv[..., 0].astype(np.float64), uv[..., 1].astype(np.float64)
        sky = geom < 0
        if sky.any():
            if dirs is None:
                raise ValueError("background pixels need their view directions (dirs)")
            face, st = cube_map(dirs[sky])
            code[sky] = n + face
            u[sky], v[sky] = st[:, 0], st[:, 1]
        present = set(objects.tolist())
        names = ["object:" + self.key_of(g) if g in present else "" for g in range(n)] + list(SKY_FACES)
        keys = np.array([key_hash(self.seed, name) for name in names], np.uint64)
        return code, u, v, keys

    def levels(self, code, u, v, group, n_groups) -> tuple[np.ndarray, np.ndarray]:
        """Pyramid levels (u, v) of each (latent pixel, surface) group: blocks at least
        `texel_pixels` pixel footprints wide along each axis, from the group's median footprint
        (a group too small to measure takes its surface's median)."""
        flat_code = code.ravel()
        group_code = np.zeros(n_groups, np.int64)
        group_code[group] = flat_code
        out = []
        for log_extent in footprint_extents_log2(code, u * self.texels, v * self.texels):
            log_extent = log_extent.ravel() + np.log2(self.texel_pixels)
            per_group = group_medians(group, log_extent, n_groups)
            per_code = group_medians(flat_code, log_extent, int(flat_code.max()) + 1)
            per_group = np.where(np.isnan(per_group), per_code[group_code], per_group)
            level = np.ceil(np.nan_to_num(per_group, nan=0.0, posinf=self.top, neginf=0.0) - 1e-6)
            out.append(np.clip(level, 0, self.top).astype(np.int64))
        return out[0], out[1]

    def latent_noise(
        self, geom: np.ndarray, uv: np.ndarray, dirs: np.ndarray | None = None, factor: int = 8
    ) -> np.ndarray:
        """(channels, H // factor, W // factor) float32 unit Gaussian noise for a frame's passes:
        `geom` (H, W) object index or -1, `uv` (H, W, 2), `dirs` (H, W, 3) world view
        directions (needed where geom is -1). Rows/columns beyond a multiple of `factor` are
        ignored."""
        h, w = geom.shape[0] // factor, geom.shape[1] // factor
        geom, uv = geom[: h * factor, : w * factor], uv[: h * factor, : w * factor]
        dirs = None if dirs is None else dirs[: h * factor, : w * factor]
        code, u, v, keys = self.surface_codes(geom, uv, dirs)
        rows, cols = np.indices(geom.shape)
        latent = ((rows // factor) * w + cols // factor).ravel()
        n_codes = len(keys)
        group = latent * n_codes + code.ravel()
        unique_groups, group = np.unique(group, return_inverse=True)
        lu, lv = (level[group.ravel()] for level in self.levels(code, u, v, group.ravel(), len(unique_groups)))
        i = np.floor(u.ravel() * self.texels).astype(np.int64) >> lu
        j = np.floor(v.ravel() * self.texels).astype(np.int64) >> lv
        key = keys[code.ravel()]
        block = combine(combine(combine(combine(key, lu), lv), i), j)
        first = (
            owned_samples(block, latent, h * w)
            if self.exclusive
            else np.unique(combine(block, latent), return_index=True)[1]
        )
        values = block_values(key[first], lu[first], lv[first], i[first], j[first], self.top, self.channels)
        counts = np.bincount(latent[first], minlength=h * w)
        sums = np.stack([np.bincount(latent[first], values[:, c], minlength=h * w) for c in range(self.channels)])
        return (sums / np.sqrt(counts)).reshape(self.channels, h, w).astype(np.float32)

    def as_torch(self, geom, uv, dirs=None, factor: int = 8, device=None, dtype=None):
        """`latent_noise` as a (1, channels, h, w) tensor, ready to be a pipeline's `latents`
        (unscaled: diffusers' pipelines multiply given latents by the scheduler's
        `init_noise_sigma` themselves, so scaling here would count it twice)."""
        import torch

        noise = torch.from_numpy(self.latent_noise(geom, uv, dirs, factor))[None]
        return noise.to(device=device, dtype=dtype or torch.float32)

    def for_view(self, view, factor: int = 8) -> np.ndarray:
        """`latent_noise` of a rasterizer FrameView."""
        from worldgen.passes.snapshot import pixel_rays

        return self.latent_noise(view.hits.geom, view.surf.uv_img, pixel_rays(view.cam)[1], factor)
