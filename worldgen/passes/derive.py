"""Every pass derived from a hit buffer, the same way for every backend. The layers of a
`PassFrame` are listed in worldgen.passes.layers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from worldgen.camera import CameraFrame
from worldgen.passes import kernels, layers
from worldgen.passes.snapshot import Hits, Snapshot, pixel_ray_array, ray_basis


class Surface:
    """Surface attributes as full images (H, W, k), computed when first read; the
    `idx`-flattened views over hit pixels are what the painter works on.

    Lazy because `worldgen passes` needs the attributes only in the sweep that also computes
    both flows (`flows_and_attributes`, which fills them in), and only painters read world
    points: each image is then computed once, by whoever asks first."""

    def __init__(
        self,
        hits: Hits,
        snap: Snapshot,
        cam: CameraFrame,
        instance_lut: np.ndarray,
        semantic_lut: np.ndarray,
        with_local: bool = True,
    ):
        self.hits, self.snap, self.cam = hits, snap, cam
        self.instance_lut, self.semantic_lut, self.with_local = instance_lut, semantic_lut, with_local
        self.geom_img = hits.geom  # (H, W) int32, -1 = nothing hit
        self._attributes = None  # (normal, uv, local, instance, semantic) images

    @cached_property
    def world_img(self) -> np.ndarray:
        """(H, W, 3) world point."""
        return kernels.world_points(self.hits.depth, self.geom_img, pixel_ray_array(self.cam))

    def attributes(self) -> tuple:
        if self._attributes is None:
            h, s = self.hits, self.snap
            world, *rest = kernels.surface_images(
                h.depth,
                h.geom,
                h.prim,
                h.bary,
                pixel_ray_array(self.cam),
                s.face_offset,
                s.faces,
                s.normals,
                s.uv,
                s.local,
                self.instance_lut,
                self.semantic_lut,
                self.with_local,
            )
            self.__dict__.setdefault("world_img", world)
            self._attributes = tuple(rest)
        return self._attributes

    @property
    def normal_img(self) -> np.ndarray:
        """(H, W, 3) world unit normal."""
        return self.attributes()[0]

    @property
    def uv_img(self) -> np.ndarray:
        """(H, W, 2)."""
        return self.attributes()[1]

    @property
    def local_img(self) -> np.ndarray:
        """(H, W, 3) object-frame point (what procedural patterns are anchored to); (1, 1, 3)
        unless `with_local`."""
        return self.attributes()[2]

    @property
    def instance_img(self) -> np.ndarray:
        """(H, W) uint16."""
        return self.attributes()[3]

    @property
    def semantic_img(self) -> np.ndarray:
        """(H, W) uint16."""
        return self.attributes()[4]

    @cached_property
    def idx(self) -> np.ndarray:
        return np.flatnonzero(self.geom_img.ravel() >= 0)

    def _flat(self, img):
        return img.reshape(len(self.geom_img.ravel()), -1)[self.idx]

    @cached_property
    def geom(self):
        return self.geom_img.ravel()[self.idx]

    @cached_property
    def world(self):
        return self._flat(self.world_img)

    @cached_property
    def normal(self):
        return self._flat(self.normal_img)

    @cached_property
    def uv(self):
        return self._flat(self.uv_img)

    @cached_property
    def local(self):
        return self._flat(self.local_img)


def surface(
    hits: Hits,
    snap: Snapshot,
    cam: CameraFrame,
    instance_lut: np.ndarray,
    semantic_lut: np.ndarray,
    with_local: bool = True,
) -> Surface:
    """The surface behind a hit buffer (its images are computed when first read)."""
    return Surface(hits, snap, cam, instance_lut, semantic_lut, with_local)


def _motion(snap_a: Snapshot, snap_b: Snapshot, moving: np.ndarray) -> np.ndarray:
    """Per object, the 3x4 map of its points from instant a to instant b (identity if static)."""
    motion = np.tile(np.eye(4)[:3], (len(snap_a.matrices), 1, 1))
    k = np.flatnonzero(moving)
    if len(k):
        motion[k] = (snap_b.matrices[k] @ np.linalg.inv(snap_a.matrices[k]))[:, :3]
    return motion


def flows(surf: Surface, snap: Snapshot, nxt, prev, moving: np.ndarray, hits: Hits = None, deform: np.ndarray = None):
    """Exact flow of this frame's visible surface points into the next and previous frames,
    and their occlusion there. `nxt`/`prev` are (snapshot, camera, hits) of those frames.

    A point on rigid object g moves with g: p_b = M_g(b) M_g(a)^-1 p_a (identity for static
    objects); a point on a deforming body (a skinned character) is the same barycentric
    combination of its triangle's vertices at b. It is then projected by the other frame's
    camera, and is visible there if it lands inside the image and that frame sees the same
    object at (nearly) the same depth."""
    (snap_f, cam_f, hits_f), (snap_b, cam_b, hits_b) = nxt, prev
    if deform is None:
        deform = np.zeros(len(snap.matrices), bool)
    prim = hits.prim if hits is not None else np.zeros(surf.geom_img.shape, np.int32)
    bary = hits.bary if hits is not None else np.zeros(surf.geom_img.shape + (2,), np.float32)
    ff, of, fb, ob = kernels.flow_images(
        surf.geom_img,
        surf.world_img,
        prim,
        bary,
        snap.face_offset,
        snap.faces,
        deform,
        _motion(snap, snap_f, moving),
        snap_f.vertices,
        cam_f.K @ cam_f.world_to_camera[:3],
        hits_f.depth,
        hits_f.geom,
        _motion(snap, snap_b, moving),
        snap_b.vertices,
        cam_b.K @ cam_b.world_to_camera[:3],
        hits_b.depth,
        hits_b.geom,
    )
    return (ff, of), (fb, ob)


def flows_and_attributes(
    surf: Surface, snap: Snapshot, nxt, prev, moving: np.ndarray, hits: Hits, deform: np.ndarray = None
):
    """`flows` and the surface's attributes (if nobody has read them yet) in one sweep over the
    pixels: the same bytes as `flows` after `surface_images`, without writing the world points
    and reading them back. What `worldgen passes` runs per frame."""
    (snap_f, cam_f, hits_f), (snap_b, cam_b, hits_b) = nxt, prev
    if deform is None:
        deform = np.zeros(len(snap.matrices), bool)
    fill = surf._attributes is None
    normal, uv, local, inst, sem, ff, of, fb, ob = kernels.pass_images(
        hits.depth,
        hits.geom,
        hits.prim,
        hits.bary,
        *ray_basis(surf.cam),
        fill,
        snap.face_offset,
        snap.faces,
        snap.normals,
        snap.uv,
        snap.local,
        surf.instance_lut,
        surf.semantic_lut,
        surf.with_local,
        ~moving & ~deform,
        deform,
        _motion(snap, snap_f, moving),
        snap_f.vertices,
        cam_f.K @ cam_f.world_to_camera[:3],
        hits_f.depth,
        hits_f.geom,
        _motion(snap, snap_b, moving),
        snap_b.vertices,
        cam_b.K @ cam_b.world_to_camera[:3],
        hits_b.depth,
        hits_b.geom,
    )
    if fill:
        surf._attributes = (normal, uv, local, inst, sem)
    return (ff, of), (fb, ob)


@dataclass
class PassFrame:
    depth: np.ndarray
    normal: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    uv: np.ndarray
    flow_fwd: np.ndarray
    occlusion_fwd: np.ndarray
    flow_bwd: np.ndarray
    occlusion_bwd: np.ndarray

    LAYERS = tuple(layers.LAYERS)  # their names, in order

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.LAYERS}


def make_pass_frame(hits: Hits, surf: Surface, fwd, bwd) -> PassFrame:
    return PassFrame(
        depth=hits.depth,
        normal=surf.normal_img,
        instance=surf.instance_img,
        semantic=surf.semantic_img,
        uv=surf.uv_img,
        flow_fwd=fwd[0],
        occlusion_fwd=fwd[1],
        flow_bwd=bwd[0],
        occlusion_bwd=bwd[1],
    )
