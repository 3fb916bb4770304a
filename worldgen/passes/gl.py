"""pyrender backend: OpenGL through EGL (GPU or Mesa) or OSMesa, headless.

The GPU rasterizes a visibility buffer: each triangle drawn flat in a colour that encodes its
global index. The exact depth and barycentrics are then recomputed by intersecting each
pixel's centre ray with its triangle, so this backend agrees with ray casting to float
precision wherever both see the same triangle (everywhere but silhouettes)."""

from __future__ import annotations

import os

import numpy as np

from worldgen.camera import CameraFrame
from worldgen.errors import BackendError
from worldgen.passes.snapshot import Hits, Snapshot, empty_hits, pixel_rays, ray_triangle

_PLATFORMS = ("egl", "osmesa")


def import_pyrender():
    """Import pyrender headless. PYOPENGL_PLATFORM must be set before OpenGL is first imported;
    default EGL (GPU or Mesa), or WORLDGEN_GL=osmesa."""
    want = os.environ.get("WORLDGEN_GL") or os.environ.get("PYOPENGL_PLATFORM") or "egl"
    os.environ.setdefault("PYOPENGL_PLATFORM", want)
    from worldgen import compat

    compat.numpy_aliases_for_pyrender()
    import pyrender

    return pyrender


MAX_FACES = (1 << 21) - 2


def encode_ids(ids: np.ndarray) -> np.ndarray:
    """7 bits per channel on odd codes (2k+1). GL rounds colours to 8 bits, but a driver that
    truncates lands one below, and 2k still decodes to k. Room for 2^21 - 1 triangles."""
    digits = np.stack([(ids >> 14) & 127, (ids >> 7) & 127, ids & 127], 1)
    return (2 * digits + 1).astype(np.uint8)


def decode_ids(rgb: np.ndarray) -> np.ndarray:
    d = rgb.astype(np.int64) // 2
    return d[..., 0] << 14 | d[..., 1] << 7 | d[..., 2]


class GLBackend:
    name = "gl"

    def __init__(self, world):
        try:
            self.pyrender = import_pyrender()
        except Exception as e:  # noqa: BLE001 - any import failure means no GL here
            raise BackendError(f"pyrender backend unavailable: {type(e).__name__}: {e}") from None
        self.world = world
        self._renderer = None
        self._size = None
        self._build_scene()

    def _build_scene(self):
        pr = self.pyrender
        from worldgen.passes.snapshot import SnapshotMaker

        sm = SnapshotMaker(self.world)
        if sm.face_offset[-1] > MAX_FACES:
            raise BackendError(f"the gl backend handles up to {MAX_FACES} triangles; use --backend raycast")
        self.scene = pr.Scene(bg_color=[0, 0, 0, 0], ambient_light=[1.0, 1.0, 1.0])
        self.nodes = []
        self.snapshots = sm
        for g in range(len(sm.ids)):
            self.nodes.append(self.scene.add(self._id_mesh(sm.local, g), pose=np.eye(4)))
        self.cam_node = None

    def _id_mesh(self, vertices: np.ndarray, g: int):
        """Object g's triangles, each flat in the colour of its global index."""
        pr, sm = self.pyrender, self.snapshots
        f0, f1 = sm.face_offset[g], sm.face_offset[g + 1]
        pos = vertices[sm.faces[f0:f1]].reshape(-1, 3)  # one vertex per corner: flat colour per triangle
        ids = np.arange(f0, f1, dtype=np.int64) + 1  # 0 = background
        rgb = encode_ids(ids)
        col = np.repeat(np.concatenate([rgb, np.full((len(ids), 1), 255, np.uint8)], 1), 3, axis=0)
        mat = pr.MetallicRoughnessMaterial(baseColorFactor=[1.0, 1.0, 1.0, 1.0], doubleSided=True)
        return pr.Mesh([pr.Primitive(positions=pos.astype(np.float32), color_0=col, mode=4, material=mat)])

    def _render_ids(self, snap: Snapshot, cam: CameraFrame):
        pr = self.pyrender
        if self._renderer is None or self._size != (cam.width, cam.height):
            if self._renderer is not None:
                self._renderer.delete()
            try:
                self._renderer = pr.OffscreenRenderer(cam.width, cam.height)
            except Exception as e:  # noqa: BLE001
                raise BackendError(
                    f"no OpenGL context ({os.environ.get('PYOPENGL_PLATFORM')}): {e}; "
                    "try WORLDGEN_GL=osmesa or --backend raycast"
                ) from None
            self._size = (cam.width, cam.height)
        for g, (node, m) in enumerate(zip(self.nodes, snap.matrices)):
            if self.snapshots.deforming[g]:  # a skinned body: upload its posed world vertices
                self.scene.remove_node(node)
                self.nodes[g] = self.scene.add(self._id_mesh(snap.vertices, g), pose=np.eye(4))
            else:
                self.scene.set_pose(node, m)
        from worldgen.transforms import world_to_camera_to_gl_pose

        d = np.linalg.norm(snap.vertices - cam.center, axis=1)
        znear, zfar = 0.01, float(max(d.max() * 1.5, 1.0))
        K = cam.K
        c = pr.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2] + 0.5, K[1, 2] + 0.5, znear=znear, zfar=zfar)
        if self.cam_node is not None:
            self.scene.remove_node(self.cam_node)
        self.cam_node = self.scene.add(c, pose=world_to_camera_to_gl_pose(cam.world_to_camera))
        with _no_multisample(pr):
            color, _ = self._renderer.render(self.scene, flags=pr.RenderFlags.FLAT | pr.RenderFlags.SKIP_CULL_FACES)
        return decode_ids(color[..., :3]) - 1  # global face or -1

    def hits(self, snap: Snapshot, cam: CameraFrame) -> Hits:
        gface = self._render_ids(snap, cam)
        h, w = gface.shape
        origin, dirs = pixel_rays(cam)
        depth, geom, prim, bary = empty_hits(h, w)
        idx = np.flatnonzero((gface >= 0) & (gface < len(snap.faces)))
        gf = gface.ravel()[idx]
        tri = snap.faces[gf]
        v = snap.vertices.astype(np.float64)
        t, b1, b2 = ray_triangle(
            origin.astype(np.float64),
            dirs.reshape(-1, 3)[idx].astype(np.float64),
            v[tri[:, 0]],
            v[tri[:, 1]],
            v[tri[:, 2]],
        )
        ok = t > 0
        idx, gf, t, b1, b2 = idx[ok], gf[ok], t[ok], b1[ok], b2[ok]
        g = np.searchsorted(snap.face_offset, gf, side="right") - 1
        depth.ravel()[idx] = t
        geom.ravel()[idx] = g
        prim.ravel()[idx] = gf - snap.face_offset[g]
        # the rasterizer's pixel-centre test and the float ray test can differ by ~1e-7 on edges
        bary.reshape(-1, 2)[idx] = np.stack([np.clip(b1, 0, 1), np.clip(b2, 0, 1)], 1)
        return Hits(depth, geom, prim, bary)

    def close(self):
        if self._renderer is not None:
            self._renderer.delete()
            self._renderer = None


class _no_multisample:
    """Ids must not be blended at triangle edges, so multisampling is switched off while
    pyrender draws the visibility buffer (pyrender turns it on for every non-SEG render)."""

    def __init__(self, pr):
        import pyrender.renderer as r

        self.mod = r

    def __enter__(self):
        from OpenGL.GL import GL_MULTISAMPLE, glDisable

        orig = self.orig = self.mod.glEnable
        # GL_MULTISAMPLE is on by default, so it is turned off where pyrender would turn it on
        self.mod.glEnable = lambda cap: glDisable(cap) if cap == GL_MULTISAMPLE else orig(cap)

    def __exit__(self, *a):
        self.mod.glEnable = self.orig
