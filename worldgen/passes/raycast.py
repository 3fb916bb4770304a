"""Open3D RaycastingScene backend: CPU, no GL, exact ray/triangle hits. The default.

Open3D's scenes cannot move a mesh once built, so the world is split: what never moves is one
BVH built once per world and cast for every pixel; what moves (characters, animated objects)
changes every instant and is scan-converted into those hits, the nearer hit winning (a BVH
rebuild would cost ~350 ns a triangle per frame). Where the static set has few triangles for the
frame's pixels, its primary hits come from the same exact scan conversion instead of the cast
(passes/rasterize.py; `primary_path` says which, by a fixed cost model, so the choice and with
it the bytes depend only on the world and the frame size). Shadow rays, which
the painter casts in arbitrary directions, use a BVH of the moving parts built on demand, and
are cast only against the BVHs whose object boxes they can reach."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from worldgen.camera import CameraFrame
from worldgen.passes.snapshot import Hits, Snapshot, empty_hits, pixel_ray_array, ray_basis


class RaycastBackend:
    name = "raycast"

    KEEP = 3  # moving-part BVHs kept for shadow rays: the sliding window's three instants

    def __init__(self, world):
        from worldgen.compat import import_open3d

        import_open3d()  # the import cost paid once, here, without open3d's web viewer

        self.world = world
        ids = list(world.nodes)
        self.static_geoms = np.array([g for g, oid in enumerate(ids) if oid in world.static_ids], np.int32)
        self.moving_geoms = np.array([g for g, oid in enumerate(ids) if oid not in world.static_ids], np.int32)
        # the static scene's geometry ids are the world's object indices (static objects first)
        self._static_ids_are_indices = bool((self.static_geoms == np.arange(len(self.static_geoms))).all())
        self._static = None
        self._moving_rows = None
        self.deforming = np.array([world.deforms(oid) for oid in ids], bool)
        self._moving: OrderedDict[bytes, object] = OrderedDict()
        self._boxes = None  # the static objects' boxes, for culling shadow rays
        self._static_faces = None  # (face list, object, index within it) of the static set
        self.static_triangles = int(sum(world.nodes[oid].mesh.faces.shape[0] for oid in world.static_ids))
        self.primary = "auto"  # or "cast" / "raster": force a path (tests, benchmarks)
        self.last_path = None  # the path the last `hits` call took
        self._raster_work: dict = {}  # the scan conversion's per-triangle tables, reused
        self._moving_work: dict = {}  # the same for the moving parts
        self._uvz: dict = {}  # the buffer every vertex is projected into

    @staticmethod
    def _build(snap: Snapshot, geoms: np.ndarray):
        """One geometry per object: the static set, queried for millions of rays, keeps each
        object's own BVH."""
        import open3d as o3d

        scene = o3d.t.geometry.RaycastingScene()
        for g in geoms:
            v0, v1 = snap.vertex_offset[g], snap.vertex_offset[g + 1]
            f0, f1 = snap.face_offset[g], snap.face_offset[g + 1]
            verts = o3d.core.Tensor(np.ascontiguousarray(snap.vertices[v0:v1]))
            faces = o3d.core.Tensor(np.ascontiguousarray((snap.faces[f0:f1] - v0).astype(np.uint32)))
            scene.add_triangles(verts, faces)
        return scene

    def _build_merged(self, snap: Snapshot):
        """All moving parts as one mesh, for shadow rays: one BVH over a few thousand triangles
        builds several times faster than dozens of small ones under a top level."""
        import open3d as o3d

        self._moving_tables(snap)
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(
            o3d.core.Tensor(np.ascontiguousarray(snap.vertices[self._moving_rows])), o3d.core.Tensor(self._moving_faces)
        )
        return scene

    def _scenes(self, snap: Snapshot) -> list:
        """(scene, geometry ids or None, boxes or None) of the static BVH (if any, with a box per
        static object) and of the moving one for this instant (if any, with the box of all
        moving parts): a ray that meets none of a scene's boxes need not be cast against it."""
        out = []
        if len(self.static_geoms):
            if self._static is None:
                self._static = self._build(snap, self.static_geoms)
            out.append((self._static, self.static_geoms, self._static_boxes(snap)))
        if len(self.moving_geoms):
            key = snap.matrices[self.moving_geoms].tobytes() + str(snap.t).encode() * bool(self.deforming.any())
            entry = self._moving.get(key)
            if entry is None:
                scene = self._build_merged(snap)
                entry = self._moving[key] = (scene, _box(snap.vertices[self._moving_rows])[None])
                if len(self._moving) > self.KEEP:
                    self._moving.popitem(last=False)
            else:
                self._moving.move_to_end(key)
            out.append((entry[0], None, entry[1]))
        return out

    def _static_boxes(self, snap: Snapshot):
        """(B, 2, 3) boxes of the static objects, one each (None past MAX_BOXES objects, where
        testing every ray against every box would cost more than it saves)."""
        if self._boxes is None:
            if len(self.static_geoms) > MAX_BOXES:
                self._boxes = False
            else:
                vo = snap.vertex_offset
                self._boxes = np.stack([_box(snap.vertices[vo[g] : vo[g + 1]]) for g in self.static_geoms])
        return self._boxes if self._boxes is not False else None

    def hits(self, snap: Snapshot, cam: CameraFrame) -> Hits:
        from worldgen.passes.rasterize import projection, rasterize

        h, w = cam.height, cam.width
        path = self.primary_path(h, w)
        self.last_path = path if len(self.static_geoms) else None
        basis, origin = ray_basis(cam)
        uvz = None  # every vertex projected once a frame, for both scan conversions
        hits = None
        if len(self.static_geoms) and path == "raster":
            uvz = projection(basis, origin, snap.vertices, self._uvz)
            tables = (snap.vertices, snap.faces, *self._static_tables(snap))
            hits = rasterize(basis, origin, h, w, *tables, self._raster_work, uvz=uvz)
            if hits is None:  # too many layers of triangles in this view: the cast is cheaper
                self.last_path = path = "cast"
        if hits is None:
            hits = self._cast_static(snap, cam) if len(self.static_geoms) else empty_hits(h, w)
        if len(self.moving_geoms):
            # the moving parts change every instant: scan-converted into the static set's hits
            # (the same test as raster_moving's per-pixel one, same bytes), or, where their
            # triangles stack too deep, intersected over each triangle's screen box
            self._moving_tables(snap)
            if uvz is None:
                uvz = projection(basis, origin, snap.vertices, self._uvz)
            tables = (snap.vertices, snap.faces, self.face_list, self.face_geom, self.face_local)
            added = rasterize(basis, origin, h, w, *tables, self._moving_work, into=hits, uvz=uvz)
            if added is None:
                from worldgen.passes.kernels import raster_moving

                added = raster_moving(*hits, pixel_ray_array(cam), cam.K @ cam.world_to_camera[:3], *tables)
            hits = added
        return Hits(*hits)

    def _cast_static(self, snap: Snapshot, cam: CameraFrame) -> tuple:
        """The static set's hit buffers by Open3D's cast of the frame's ray array. Open3D's own
        output buffers become the hit buffer, converted in place (no copies)."""
        import open3d as o3d

        from worldgen.passes.kernels import hits_in_place

        if self._static is None:
            self._static = self._build(snap, self.static_geoms)
        r = self._static.cast_rays(o3d.core.Tensor.from_numpy(pixel_ray_array(cam)))
        return hits_in_place(
            r["t_hit"].numpy(),
            r["geometry_ids"].numpy().view(np.int32),
            r["primitive_ids"].numpy().view(np.int32),
            r["primitive_uvs"].numpy(),
            self.static_geoms,
            not self._static_ids_are_indices,
        )

    def primary_path(self, h: int, w: int) -> str:
        """'raster' or 'cast': how the static set's primary hits are found for an h x w frame.
        A fixed cost model (RASTER_TRIANGLES_PER_PIXEL, measured in benchmarks/passes_throughput.py)
        rather than a timing, so that the same world and frame size always take the same path.
        A view whose triangles stack deeper than rasterize.MAX_OVERDRAW still goes to the cast
        (`hits` then records 'cast' in `last_path`): a rule on the geometry, not a timing."""
        if self.primary != "auto":
            return self.primary
        fits = h * w >= RASTER_MIN_PIXELS and self.static_triangles < RASTER_TRIANGLES_PER_PIXEL * h * w
        return "raster" if fits else "cast"

    def _static_tables(self, snap: Snapshot):
        """(face list, object, index within it) of the static set's triangles (cached)."""
        if self._static_faces is None:
            self._static_faces = face_tables(snap, self.static_geoms)
        return self._static_faces

    def _moving_tables(self, snap: Snapshot) -> None:
        if self._moving_rows is not None:
            return
        g = self.moving_geoms
        self._moving_rows = np.concatenate([np.arange(snap.vertex_offset[k], snap.vertex_offset[k + 1]) for k in g])
        self.face_list, self.face_geom, self.face_local = face_tables(snap, g)
        remap = np.full(len(snap.vertices), -1, np.int64)
        remap[self._moving_rows] = np.arange(len(self._moving_rows))
        self._moving_faces = remap[snap.faces[self.face_list]].astype(np.uint32)

    def occluded(self, points: np.ndarray, directions: np.ndarray, snap: Snapshot, tfar: float = np.inf) -> np.ndarray:
        """Shadow test: does anything lie along each ray (from points, up to `tfar` times its
        direction's length; unit directions and no limit by default)? A ray is tested against a
        BVH only where it meets one of that BVH's object boxes (open ground far from everything
        needs no cast at all)."""
        import open3d as o3d

        rays = np.concatenate([points, directions], 1).astype(np.float32)
        out = np.zeros(len(rays), bool)
        for scene, sel in _cast_lists(rays, self._scenes(snap), tfar):
            part = rays if sel is None else rays[sel]
            if len(part) == 0:
                continue
            o = scene.test_occlusions(o3d.core.Tensor.from_numpy(part), tnear=1e-3, tfar=float(tfar)).numpy()
            if sel is None:
                out |= o
            else:
                out[sel] |= o
        return out

    def first_hit(
        self, points: np.ndarray, directions: np.ndarray, snap: Snapshot, reach: float = np.inf
    ) -> np.ndarray:
        """Ray parameter of the nearest hit along each ray (in units of its direction's
        length), inf where none: what ambient occlusion weighs its rays by. With a finite
        `reach`, a hit farther than `reach` may be reported as inf (a ray is cast against a BVH
        only where it meets one of its object boxes within `reach`)."""
        import open3d as o3d

        rays = np.concatenate([points, directions], 1).astype(np.float32)
        out = None
        for scene, sel in _cast_lists(rays, self._scenes(snap), reach):
            if sel is None:
                t = scene.cast_rays(o3d.core.Tensor.from_numpy(rays))["t_hit"].numpy()
            else:
                t = np.full(len(rays), np.inf, np.float32)
                if len(sel):
                    t[sel] = scene.cast_rays(o3d.core.Tensor.from_numpy(rays[sel]))["t_hit"].numpy()
            out = t if out is None else np.minimum(out, t)
        return out

    def scene_for_timing(self, snap: Snapshot):
        """The single BVH of a world that never moves (what the benchmark times raw casts on)."""
        return self._scenes(snap)[0][0]


def face_tables(snap: Snapshot, geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The triangles of objects `geoms`: (global face indices int64, object index int32, index
    within the object int32), what the scan conversion and `raster_moving` visit."""
    fo = snap.face_offset
    return (
        np.concatenate([np.arange(fo[k], fo[k + 1]) for k in geoms]).astype(np.int64),
        np.concatenate([np.full(fo[k + 1] - fo[k], k, np.int32) for k in geoms]),
        np.concatenate([np.arange(fo[k + 1] - fo[k], dtype=np.int32) for k in geoms]),
    )


MAX_BOXES = 64
# The cost model of `primary_path`: scan conversion below this many static triangles a pixel,
# in frames of at least RASTER_MIN_PIXELS. The cast costs about the same per pixel whatever the
# triangle count; scan conversion has fixed costs (five parallel loops), a cost per static
# triangle (each is projected and boxed, in view or not) and one per pixel.
# benchmarks/results/passes_crossover.md times all passes both ways around the line: at ~0.95
# triangles a pixel (97k at 320², 1M at 1024² in passes.md) scan conversion was 13-14% faster;
# at 1.48 (97k at 256²) the cast was ahead by 2% there and 8% in passes.md; at 1.7 (1M at 768²) the cast
# was 12% faster; at 1.85k triangles the cast won at 96² and scan conversion from 128².
RASTER_TRIANGLES_PER_PIXEL = 1.0
RASTER_MIN_PIXELS = 128 * 128
BOX_PAD = 2e-5  # x (1 + largest coordinate): far above float32 rounding of a hit, far below the rays' offset


def _box(v: np.ndarray) -> np.ndarray:
    """(2, 3) box around vertices, padded so that float rounding never puts a hit outside it."""
    pad = BOX_PAD * (1.0 + float(np.abs(v).max())) if len(v) else 0.0
    return np.stack([v.min(0) - pad, v.max(0) + pad]).astype(np.float64)


def _may_reach(rays: np.ndarray, scenes: list, tfar: float) -> np.ndarray:
    """(N,) uint8: bit s set where ray (origin, direction) may meet one of scene s's boxes for
    0 <= t <= tfar (always set for a scene without boxes). A set bit is always safe (the ray is
    then cast); a clear one means the segment surely misses every box of that scene."""
    from worldgen.passes.kernels import rays_meet_boxes

    always = 0
    boxes, owner = [], []
    for s, (_, _, b) in enumerate(scenes):
        if b is None:
            always |= 1 << s
        else:
            boxes.append(b)
            owner += [s] * len(b)
    if not boxes:
        return np.full(len(rays), always, np.uint8)
    b = np.concatenate(boxes)
    lo, hi = np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1])
    mask = rays_meet_boxes(rays, lo, hi, np.asarray(owner, np.int64), float(tfar))
    return mask | np.uint8(always) if always else mask


def _cast_lists(rays: np.ndarray, scenes: list, tfar: float):
    """(scene, indices of the rays to cast against it, or None for all) for each scene."""
    mask = _may_reach(rays, scenes, tfar)
    for s, (scene, _, _) in enumerate(scenes):
        hit = (mask & np.uint8(1 << s)) != 0
        yield scene, None if hit.all() else np.flatnonzero(hit)
