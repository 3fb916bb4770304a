"""glTF 2.0 (.glb, or .gltf with the buffer inlined): meshes with simple PBR colours, node
animation sampled at the film's frame times, and one animated camera per shot.

One animation ("world") holds every channel in world seconds, so playing it in any viewer
moves objects, bodies and cameras together; a camera holds its first and last pose outside its
shot. A zoom's changing field of view rides KHR_animation_pointer (optional: readers without
it keep the first frame's field of view)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np
import pygltflib as gl

from worldgen import __version__
from worldgen.export.scene import ExportCamera, ExportNode, ExportScene, unit_normals
from worldgen.io import atomic_write_bytes
from worldgen.transforms import continuous_quats, decompose

METALLIC_WORDS = ("metal", "steel")
ANIMATION_POINTER = "KHR_animation_pointer"


class _Packer:
    """Appends typed arrays to the one binary buffer and describes them with accessors."""

    def __init__(self, doc: gl.GLTF2):
        self.doc, self.data = doc, bytearray()

    def accessor(
        self, array: np.ndarray, kind: str, component: int = gl.FLOAT, target: int | None = None, bounds: bool = False
    ) -> int:
        arr = np.ascontiguousarray(array)
        self.data += b"\0" * (-len(self.data) % 4)
        raw = arr.tobytes()
        self.doc.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw), target=target)
        )
        self.data += raw
        acc = gl.Accessor(bufferView=len(self.doc.bufferViews) - 1, componentType=component, count=len(arr), type=kind)
        if bounds:  # required on POSITION and on animation inputs
            flat = arr.reshape(len(arr), -1)
            acc.min, acc.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.doc.accessors.append(acc)
        return len(self.doc.accessors) - 1


def _xyzw(q_wxyz: np.ndarray) -> np.ndarray:
    return np.asarray(q_wxyz)[..., [1, 2, 3, 0]]


class _Builder:
    def __init__(self, scene: ExportScene):
        self.scene = scene
        self.doc = gl.GLTF2(asset=gl.Asset(generator=f"worldgen {__version__}", version="2.0"))
        self.pack = _Packer(self.doc)
        self._materials: dict[tuple, int] = {}
        self._meshes: dict[tuple, int] = {}
        self.channels: list[gl.AnimationChannel] = []
        self.samplers: list[gl.AnimationSampler] = []

    # ---- looks and geometry ------------------------------------------------------------
    def material(self, node: ExportNode) -> int:
        m = node.material
        base = np.clip(m.base, 0.0, 1.0).round(6).tolist()
        metallic = 1.0 if any(w in METALLIC_WORDS for w in m.words) else 0.0
        key = (tuple(base), round(m.roughness, 6), metallic, m.emission > 0, node.double_sided)
        if key not in self._materials:
            pbr = gl.PbrMetallicRoughness(
                baseColorFactor=base + [1.0],
                metallicFactor=metallic,
                roughnessFactor=float(np.clip(m.roughness, 0.0, 1.0)),
            )
            self.doc.materials.append(
                gl.Material(
                    name=node.id,
                    pbrMetallicRoughness=pbr,
                    doubleSided=node.double_sided,
                    emissiveFactor=base if m.emission > 0 else None,
                )
            )
            self._materials[key] = len(self.doc.materials) - 1
        return self._materials[key]

    def mesh(self, node: ExportNode) -> int:
        """Identical geometry with an identical look is stored once (a forest of one tree)."""
        pos = np.asarray(node.mesh.vertices, np.float32)
        nrm = unit_normals(node.mesh)
        idx = np.asarray(node.mesh.faces, np.uint32).ravel()
        mat = self.material(node)
        key = (hashlib.sha256(pos.tobytes() + nrm.tobytes() + idx.tobytes()).hexdigest(), mat)
        if key not in self._meshes:
            attrs = gl.Attributes(
                POSITION=self.pack.accessor(pos, gl.VEC3, target=gl.ARRAY_BUFFER, bounds=True),
                NORMAL=self.pack.accessor(nrm, gl.VEC3, target=gl.ARRAY_BUFFER),
            )
            ind = self.pack.accessor(idx, gl.SCALAR, gl.UNSIGNED_INT, target=gl.ELEMENT_ARRAY_BUFFER)
            self.doc.meshes.append(
                gl.Mesh(
                    name=node.id,
                    primitives=[gl.Primitive(attributes=attrs, indices=ind, material=mat, mode=gl.TRIANGLES)],
                )
            )
            self._meshes[key] = len(self.doc.meshes) - 1
        return self._meshes[key]

    # ---- animation ---------------------------------------------------------------------
    def channel(self, target: gl.AnimationChannelTarget, times_acc: int, values: np.ndarray, kind: str):
        out = self.pack.accessor(np.asarray(values, np.float32), kind)
        self.samplers.append(gl.AnimationSampler(input=times_acc, output=out, interpolation=gl.ANIM_LINEAR))
        self.channels.append(gl.AnimationChannel(sampler=len(self.samplers) - 1, target=target))

    def trs_channels(self, node_index: int, matrices: np.ndarray, times_acc: int):
        parts = [decompose(m) for m in matrices]
        t = np.stack([p[0] for p in parts])
        q = _xyzw(continuous_quats(np.stack([p[1] for p in parts])))
        s = np.stack([p[2] for p in parts])
        self.channel(gl.AnimationChannelTarget(node=node_index, path="translation"), times_acc, t, gl.VEC3)
        self.channel(gl.AnimationChannelTarget(node=node_index, path="rotation"), times_acc, q, gl.VEC4)
        if not np.allclose(s, 1.0, atol=1e-12, rtol=0):
            self.channel(gl.AnimationChannelTarget(node=node_index, path="scale"), times_acc, s, gl.VEC3)

    # ---- nodes -------------------------------------------------------------------------
    @staticmethod
    def _trs_node(name: str, m: np.ndarray, **kw) -> gl.Node:
        t, q, s = decompose(m)
        node = gl.Node(name=name, **kw)
        if np.any(t != 0):
            node.translation = t.tolist()
        if not np.allclose(q, [1, 0, 0, 0], atol=0, rtol=0):
            node.rotation = _xyzw(q).tolist()
        if np.any(s != 1):
            node.scale = s.tolist()
        return node

    def world_nodes(self, times_acc: int | None) -> dict[str, int]:
        index: dict[str, int] = {}
        for n in self.scene.nodes:
            extras = {"worldgen_id": n.id, **({"label": n.label} if n.label else {})}
            node = self._trs_node(n.id, n.rest, extras=extras, mesh=self.mesh(n) if n.mesh is not None else None)
            self.doc.nodes.append(node)
            index[n.id] = len(self.doc.nodes) - 1
            if n.parent is not None:
                self.doc.nodes[index[n.parent]].children.append(index[n.id])
            if n.matrices is not None:
                self.trs_channels(index[n.id], n.matrices, times_acc)
        return index

    def camera_node(self, cam: ExportCamera) -> int:
        shot = cam.timing.shot
        self.doc.cameras.append(
            gl.Camera(
                name=shot.id,
                type="perspective",
                perspective=gl.Perspective(
                    aspectRatio=cam.width / cam.height,
                    yfov=float(cam.yfov[0]),
                    znear=self.scene.near,
                    zfar=self.scene.far,
                ),
            )
        )
        ci = len(self.doc.cameras) - 1
        extras = {
            "worldgen_shot": shot.id,
            "start": shot.start,
            "duration": shot.duration,
            "frame_count": cam.timing.frame_count,
            "film_start_frame": cam.timing.film_start,
        }
        self.doc.nodes.append(self._trs_node(f"camera_{shot.id}", cam.poses[0], camera=ci, extras=extras))
        ni = len(self.doc.nodes) - 1
        times_acc = self.pack.accessor(cam.times.astype(np.float32), gl.SCALAR, bounds=True)
        self.trs_channels(ni, cam.poses, times_acc)
        if cam.zooms:
            target = gl.AnimationChannelTarget(
                path="pointer", extensions={ANIMATION_POINTER: {"pointer": f"/cameras/{ci}/perspective/yfov"}}
            )
            self.channel(target, times_acc, cam.yfov, gl.SCALAR)
            if ANIMATION_POINTER not in self.doc.extensionsUsed:
                self.doc.extensionsUsed.append(ANIMATION_POINTER)
        return ni

    def build(self) -> gl.GLTF2:
        moving = any(n.matrices is not None for n in self.scene.nodes)
        times_acc = self.pack.accessor(self.scene.times.astype(np.float32), gl.SCALAR, bounds=True) if moving else None
        index = self.world_nodes(times_acc)
        roots = [index[n.id] for n in self.scene.nodes if n.parent is None]
        roots += [self.camera_node(c) for c in self.scene.cameras]
        self.doc.scenes = [
            gl.Scene(
                name=self.scene.title, nodes=roots, extras={"worldgen_fps": self.scene.fps, "units": "metres, +Y up"}
            )
        ]
        self.doc.scene = 0
        if self.channels:
            self.doc.animations = [gl.Animation(name="world", samplers=self.samplers, channels=self.channels)]
        self.doc.buffers = [gl.Buffer(byteLength=len(self.pack.data))]
        return self.doc


def gltf_document(scene: ExportScene) -> tuple[gl.GLTF2, bytes]:
    """The glTF document and its binary buffer."""
    b = _Builder(scene)
    doc = b.build()
    return doc, bytes(b.pack.data)


def glb_bytes(scene: ExportScene) -> bytes:
    doc, blob = gltf_document(scene)
    doc.set_binary_blob(blob)
    return b"".join(doc.save_to_bytes())


def gltf_json_bytes(scene: ExportScene) -> bytes:
    """A single .gltf file: the buffer inlined as a base64 data URI."""
    doc, blob = gltf_document(scene)
    doc.buffers[0].uri = "data:application/octet-stream;base64," + base64.b64encode(blob).decode("ascii")
    return (doc.gltf_to_json() + "\n").encode("utf-8")


def write_gltf(scene: ExportScene, path: Path) -> None:
    path = Path(path)
    data = gltf_json_bytes(scene) if path.suffix.lower() == ".gltf" else glb_bytes(scene)
    atomic_write_bytes(path, data)
