"""Reading a skinned glTF 2.0 file (.glb or .gltf) into a `SkinnedAsset`, every length checked.

pygltflib turns the JSON into typed objects; the GLB container, the buffers and the
accessors are checked here, because a truncated or hostile file must fail as one readable
line (`AssetError`) rather than as a stray exception or silently wrong geometry. Buffers are
only read from the file itself, data: URIs, or side-car files in the file's own folder.

An asset-layer module: it knows the file format, not the world; the rig it fills in
(`worldgen.character.skinned`) knows skinning, not the file format."""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
from pygltflib import GLTF2

from worldgen.character.skinned import Channel, Clip, SkinnedAsset
from worldgen.errors import AssetError
from worldgen.transforms import trs_matrix

MAX_FILE_BYTES = 256 * 1024 * 1024
INFLUENCES = 4  # joints per vertex kept for skinning (the strongest, renormalised)
ANIMATED_PATHS = ("translation", "rotation", "scale")
INTERPOLATIONS = ("LINEAR", "STEP", "CUBICSPLINE")
# compressed geometry lives outside the accessors: reading around it would give zeros, not an error
UNSUPPORTED_EXTENSIONS = ("KHR_draco_mesh_compression", "EXT_meshopt_compression", "KHR_meshopt_compression")

_COMPONENT_DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_NORMALISED_SCALE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}
_TYPE_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


def load_skinned(path) -> SkinnedAsset:
    """Read a .glb or .gltf with a skinned mesh; any problem is an AssetError naming the file."""
    where = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pygltflib warns about things checked here anyway
            return _Reader(Path(path), where).asset()
    except AssetError:
        raise
    except Exception as e:  # the last guard: a file must never crash the caller
        detail = str(e).splitlines()[0][:160] if str(e) else ""
        raise AssetError(f"{where}: cannot read glTF ({type(e).__name__}{': ' + detail if detail else ''})") from None


class _Reader:
    """One file's document, buffers and accessors, with errors prefixed by the file path."""

    def __init__(self, path: Path, where: str):
        self.path, self.where = path, where
        self.doc, glb_binary = self._document()
        self.buffers = [self._buffer(i, b, glb_binary) for i, b in enumerate(self.doc.buffers)]

    def fail(self, message: str) -> AssetError:
        return AssetError(f"{self.where}: {message}")

    # -- the file -------------------------------------------------------------------------

    def _document(self) -> tuple[GLTF2, bytes | None]:
        data = self._file_bytes()
        if data[:4] == b"glTF":
            text, binary = self._glb_chunks(data)
        elif self.path.suffix.lower() == ".glb":
            raise self.fail("not a GLB file (it does not start with 'glTF')")
        else:
            text, binary = self._text(data), None
        self._check_is_gltf(text)
        doc = GLTF2.from_json(text, infer_missing=True)
        blocked = sorted(set(doc.extensionsRequired or []) & set(UNSUPPORTED_EXTENSIONS))
        if blocked:
            raise self.fail(f"needs {', '.join(blocked)} (compressed geometry is not supported)")
        return doc, binary

    def _file_bytes(self) -> bytes:
        if not self.path.exists():
            raise self.fail("not found")
        if not self.path.is_file():
            raise self.fail("not a file")
        size = self.path.stat().st_size
        if size == 0:
            raise self.fail("empty file")
        if size > MAX_FILE_BYTES:
            raise self.fail(f"larger than {MAX_FILE_BYTES >> 20} MB")
        return self.path.read_bytes()

    def _glb_chunks(self, data: bytes) -> tuple[str, bytes | None]:
        """JSON text and BIN chunk of a GLB, after checking every length it declares."""
        if len(data) < 20:
            raise self.fail(f"truncated GLB ({len(data)} bytes, shorter than its header)")
        version, declared = struct.unpack_from("<II", data, 4)
        if version != 2:
            raise self.fail(f"GLB version {version}; only glTF 2.0 is supported")
        if declared > len(data):
            raise self.fail(f"truncated GLB (header says {declared} bytes, the file has {len(data)})")
        chunks, at = [], 12
        while at + 8 <= declared:
            length, kind = struct.unpack_from("<I4s", data, at)
            if at + 8 + length > declared:
                raise self.fail(f"truncated GLB (chunk at byte {at} runs past the end)")
            chunks.append((kind, data[at + 8 : at + 8 + length]))
            at += 8 + length
        if not chunks or chunks[0][0] != b"JSON":
            raise self.fail("GLB has no JSON chunk first")
        binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == b"BIN\x00" else None
        return self._text(chunks[0][1]), binary

    def _text(self, data: bytes) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise self.fail("not glTF (neither a GLB nor UTF-8 JSON)") from None

    def _check_is_gltf(self, text: str) -> None:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise self.fail(f"invalid JSON ({e.msg} at line {e.lineno})") from None
        asset = raw.get("asset") if isinstance(raw, dict) else None
        if not isinstance(asset, dict) or not str(asset.get("version", "")).startswith("2"):
            raise self.fail("JSON is not glTF 2.0 (no 'asset' with version 2.x)")

    def _buffer(self, index: int, buffer, glb_binary: bytes | None) -> bytes:
        if buffer.uri is None:
            if index != 0 or glb_binary is None:
                raise self.fail(f"buffer {index} has no uri and there is no GLB binary chunk")
            data = glb_binary
        elif buffer.uri.startswith("data:"):
            data = self._data_uri(index, buffer.uri)
        else:
            data = self._side_car(index, buffer.uri)
        if buffer.byteLength is None or len(data) < buffer.byteLength:
            raise self.fail(f"buffer {index} holds {len(data)} bytes, fewer than its byteLength {buffer.byteLength}")
        return data

    def _data_uri(self, index: int, uri: str) -> bytes:
        head, _, payload = uri.partition(",")
        if not head.endswith(";base64"):
            raise self.fail(f"buffer {index}: only base64 data URIs are supported")
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(f"buffer {index}: corrupt base64 data") from None

    def _side_car(self, index: int, uri: str) -> bytes:
        """A buffer file next to the .gltf; never one outside its folder, never a URL."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", uri):
            raise self.fail(f"buffer {index}: external URL '{uri[:60]}' refused (no network)")
        folder = self.path.resolve().parent
        target = (folder / unquote(uri)).resolve()
        if folder not in target.parents:
            raise self.fail(f"buffer {index}: '{uri[:60]}' is outside the file's folder")
        if not target.is_file():
            raise self.fail(f"buffer {index}: side-car file '{uri[:60]}' not found")
        return target.read_bytes()

    # -- accessors ------------------------------------------------------------------------

    def accessor(self, index, what: str) -> np.ndarray:
        """(count, width) array of accessor `index`: float64 for floats and normalised
        integers, int64 for plain integers. Sparse substitutions applied."""
        acc = self._item(self.doc.accessors, index, f"{what}: accessor")
        dtype = _COMPONENT_DTYPES.get(acc.componentType)
        width = _TYPE_WIDTHS.get(acc.type)
        if dtype is None or width is None:
            raise self.fail(
                f"{what}: accessor {index} has unsupported componentType/type ({acc.componentType}, {acc.type})"
            )
        count = acc.count
        if not isinstance(count, int) or count < 0:
            raise self.fail(f"{what}: accessor {index} has no valid count")
        if acc.bufferView is None:
            values = np.zeros((count, width), dtype=dtype)
        else:
            values = self._view_array(
                acc.bufferView, acc.byteOffset or 0, count, width, dtype, f"{what}: accessor {index}", strided=True
            )
        if acc.sparse is not None:
            values = self._apply_sparse(acc, values, width, dtype, f"{what}: accessor {index}")
        return self._decoded(values, acc)

    def _decoded(self, values: np.ndarray, acc) -> np.ndarray:
        if acc.componentType == 5126:
            return values.astype(np.float64)
        if acc.normalized:
            scale = _NORMALISED_SCALE[acc.componentType]
            return np.maximum(values.astype(np.float64) / scale, -1.0)
        return values.astype(np.int64)

    def _view_array(
        self, view_index, offset: int, count: int, width: int, dtype: str, what: str, strided: bool = False
    ) -> np.ndarray:
        view = self._item(self.doc.bufferViews, view_index, f"{what}: bufferView")
        data = self._item(self.buffers, view.buffer, f"{what}: bufferView {view_index}: buffer")
        start, length = view.byteOffset or 0, view.byteLength
        if not isinstance(length, int) or start < 0 or start + length > len(data):
            raise self.fail(f"{what}: bufferView {view_index} lies outside its buffer")
        item = np.dtype(dtype).itemsize
        stride = (view.byteStride or width * item) if strided else width * item
        if stride < width * item:
            raise self.fail(f"{what}: byteStride {stride} is smaller than one element")
        needed = offset + (stride * (count - 1) + width * item if count else 0)
        if offset < 0 or needed > length:
            raise self.fail(f"{what}: reads {needed} bytes from bufferView {view_index} of {length} (out of range)")
        window = data[start : start + length]
        return np.ndarray((count, width), dtype=dtype, buffer=window, offset=offset, strides=(stride, item)).copy()

    def _apply_sparse(self, acc, values: np.ndarray, width: int, dtype: str, what: str) -> np.ndarray:
        sparse = acc.sparse
        count = sparse.count
        idx_dtype = _COMPONENT_DTYPES.get(sparse.indices.componentType)
        if idx_dtype is None or not isinstance(count, int) or count < 0:
            raise self.fail(f"{what}: malformed sparse block")
        where = self._view_array(
            sparse.indices.bufferView, sparse.indices.byteOffset or 0, count, 1, idx_dtype, f"{what} sparse indices"
        )[:, 0].astype(np.int64)
        if count and (where.min() < 0 or where.max() >= len(values)):
            raise self.fail(f"{what}: sparse index out of range")
        values = values.copy()
        values[where] = self._view_array(
            sparse.values.bufferView, sparse.values.byteOffset or 0, count, width, dtype, f"{what} sparse values"
        )
        return values

    def _item(self, items: list, index, what: str):
        if not isinstance(index, int) or not 0 <= index < len(items):
            raise self.fail(f"{what} {index} does not exist (the file has {len(items)})")
        return items[index]

    # -- scene graph ----------------------------------------------------------------------

    def node_parents(self) -> list[int]:
        """Parent node of every node (-1 for roots), refusing shared children and cycles."""
        nodes = self.doc.nodes
        parent = [-1] * len(nodes)
        for i, node in enumerate(nodes):
            for child in node.children or []:
                self._item(nodes, child, f"node {i}: child node")
                if parent[child] != -1 or child == i:
                    raise self.fail(f"node {child} has more than one parent")
                parent[child] = i
        for i in range(len(nodes)):
            seen, j = 0, i
            while j >= 0:
                j, seen = parent[j], seen + 1
                if seen > len(nodes):
                    raise self.fail(f"node {i} is inside a cycle of children")
        return parent

    def node_local(self, index: int) -> np.ndarray:
        node = self.doc.nodes[index]
        if node.matrix is not None:
            m = np.asarray(node.matrix, dtype=np.float64)
            if m.shape != (16,):
                raise self.fail(f"node {index}: matrix must have 16 numbers")
            local = m.reshape(4, 4).T  # glTF matrices are column-major
        else:
            rotation = np.asarray(node.rotation if node.rotation is not None else [0, 0, 0, 1], np.float64)
            translation = node.translation if node.translation is not None else [0, 0, 0]
            scale = node.scale if node.scale is not None else [1, 1, 1]
            if rotation.shape != (4,) or not np.linalg.norm(rotation) > 0:
                raise self.fail(f"node {index}: rotation must be a non-zero (x, y, z, w) quaternion")
            local = trs_matrix(np.asarray(translation, np.float64), rotation, np.asarray(scale, np.float64))
        if not np.isfinite(local).all():
            raise self.fail(f"node {index}: transform is not finite")
        return local

    # -- the skinned mesh -----------------------------------------------------------------

    def skinned_nodes(self) -> tuple[int, list[int]]:
        """The skin of the first skinned mesh node, and every mesh bound to that skin."""
        doc = self.doc
        if not doc.skins:
            has = "has meshes but no 'skins'" if doc.meshes else "has no meshes and no 'skins'"
            raise self.fail(f"no skinned mesh (the file {has})")
        users = [n for n in doc.nodes if n.mesh is not None and n.skin is not None]
        if not users:
            raise self.fail("no skinned mesh (the file has 'skins' but no node uses one with a mesh)")
        skin = users[0].skin
        self._item(doc.skins, skin, "skin")
        meshes = []
        for node in users:
            if node.skin == skin and node.mesh not in meshes:
                self._item(doc.meshes, node.mesh, "skinned node: mesh")
                meshes.append(node.mesh)
        return skin, meshes

    def asset(self) -> SkinnedAsset:
        skin_index, mesh_indices = self.skinned_nodes()
        skin = self.doc.skins[skin_index]
        joint_nodes = list(skin.joints or [])
        if not joint_nodes or len(set(joint_nodes)) != len(joint_nodes):
            raise self.fail(f"skin {skin_index} has no joints or repeats one")
        for node in joint_nodes:
            self._item(self.doc.nodes, node, f"skin {skin_index}: joint node")
        parents, offsets = self.joint_tree(joint_nodes)
        mesh = self.merged_mesh(mesh_indices, len(joint_nodes))
        return SkinnedAsset(
            vertices=mesh["vertices"],
            normals=mesh["normals"],
            faces=mesh["faces"],
            uv=mesh["uv"],
            joint_names=[self.doc.nodes[n].name or f"joint_{j}" for j, n in enumerate(joint_nodes)],
            parents=parents,
            rest_local=np.stack([self.node_local(n) for n in joint_nodes]),
            inverse_bind=self.inverse_bind(skin, len(joint_nodes)),
            joints=mesh["joints"],
            weights=mesh["weights"],
            clips=self.clips(joint_nodes),
            parent_offset=offsets,
            source=self.where,
            morphs=mesh["morphs"],
        )

    def joint_tree(self, joint_nodes: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Each joint's nearest joint ancestor, and the product of the non-joint nodes in
        between (an 'Armature' node's transform moves the whole skeleton)."""
        node_parent = self.node_parents()
        joint_of = {node: j for j, node in enumerate(joint_nodes)}
        parents = np.full(len(joint_nodes), -1, dtype=np.int64)
        offsets = np.tile(np.eye(4), (len(joint_nodes), 1, 1))
        for j, node in enumerate(joint_nodes):
            above = node_parent[node]
            while above >= 0 and above not in joint_of:
                offsets[j] = self.node_local(above) @ offsets[j]
                above = node_parent[above]
            parents[j] = joint_of.get(above, -1)
        return parents, offsets

    def inverse_bind(self, skin, count: int) -> np.ndarray:
        if skin.inverseBindMatrices is None:
            return np.tile(np.eye(4), (count, 1, 1))  # the spec's default
        flat = self.accessor(skin.inverseBindMatrices, "inverseBindMatrices")
        if flat.shape[1] != 16 or len(flat) < count:
            raise self.fail(f"inverseBindMatrices: need {count} MAT4, got {len(flat)} x {flat.shape[1]}")
        if not np.isfinite(flat).all():
            raise self.fail("inverseBindMatrices are not finite numbers")
        return flat[:count].reshape(count, 4, 4).transpose(0, 2, 1)  # column-major

    def merged_mesh(self, mesh_indices: list[int], joint_count: int) -> dict[str, Any]:
        """All triangle primitives of the skinned meshes as one vertex/face table."""
        parts = [
            self.primitive(m, p, prim, joint_count)
            for m in mesh_indices
            for p, prim in enumerate(self.doc.meshes[m].primitives or [])
            if prim.mode in (None, 4)
        ]
        if not parts:
            raise self.fail("the skinned mesh has no triangle primitives")
        offsets = np.cumsum([0] + [len(part["vertices"]) for part in parts[:-1]])
        merged: dict[str, Any] = {
            key: np.concatenate([part[key] for part in parts]) for key in parts[0] if key not in ("faces", "morphs")
        }
        merged["faces"] = np.concatenate([part["faces"] + o for part, o in zip(parts, offsets)])
        names = list(dict.fromkeys(n for part in parts for n in part["morphs"]))
        merged["morphs"] = {  # a primitive without a target of that name keeps its shape
            n: np.concatenate([part["morphs"].get(n, np.zeros_like(part["vertices"])) for part in parts]) for n in names
        }
        return merged

    def morph_targets(self, mesh: int, prim, vertex_count: int, what: str) -> dict[str, np.ndarray]:
        """A primitive's morph targets' POSITION deltas by name (the mesh's extras.targetNames,
        the de facto convention; 'target N' where it gives none)."""
        targets = prim.targets or []
        extras = self.doc.meshes[mesh].extras
        names = extras.get("targetNames") if isinstance(extras, dict) else None
        out = {}
        for k, target in enumerate(targets):
            name = str(names[k]) if isinstance(names, list) and k < len(names) else f"target {k}"
            ref = target.get("POSITION") if isinstance(target, dict) else None
            if ref is None:
                continue
            delta = self.accessor(ref, f"{what} morph target {k} POSITION").astype(np.float64)
            if delta.shape != (vertex_count, 3) or not np.isfinite(delta).all():
                raise self.fail(f"{what}: morph target {k} ('{name}') must be finite VEC3, one per vertex")
            out[name] = delta
        return out

    def primitive(self, mesh: int, index: int, prim, joint_count: int) -> dict[str, Any]:
        what = f"mesh {mesh} primitive {index}"
        attrs = prim.attributes
        if attrs.POSITION is None:
            raise self.fail(f"{what} has no POSITION")
        vertices = self.accessor(attrs.POSITION, f"{what} POSITION").astype(np.float64)
        if vertices.shape[1] != 3 or not len(vertices):
            raise self.fail(f"{what}: POSITION must be non-empty VEC3")
        if not np.isfinite(vertices).all():
            raise self.fail(f"{what}: vertex positions are not finite numbers (NaN or inf)")
        faces = self.triangles(prim, len(vertices), what)
        joints, weights = self.influences(attrs, len(vertices), joint_count, what)
        return {
            "vertices": vertices,
            "faces": faces,
            "normals": self.normals(attrs, vertices, faces, what),
            "uv": self.uv(attrs, len(vertices), what),
            "joints": joints,
            "weights": weights,
            "morphs": self.morph_targets(mesh, prim, len(vertices), what),
        }

    def triangles(self, prim, vertex_count: int, what: str) -> np.ndarray:
        if prim.indices is None:
            flat = np.arange(vertex_count - vertex_count % 3)
        else:
            flat = self.accessor(prim.indices, f"{what} indices").reshape(-1)
            if flat.dtype.kind == "f":
                raise self.fail(f"{what}: indices must be integers")
            if len(flat) and (flat.min() < 0 or flat.max() >= vertex_count):
                raise self.fail(f"{what}: a triangle index is out of range ({vertex_count} vertices)")
        if len(flat) % 3 or not len(flat):
            raise self.fail(f"{what}: {len(flat)} indices do not make whole triangles")
        return flat.reshape(-1, 3).astype(np.int64)

    def normals(self, attrs, vertices: np.ndarray, faces: np.ndarray, what: str) -> np.ndarray:
        if attrs.NORMAL is None:
            return vertex_normals(vertices, faces)
        normals = self.accessor(attrs.NORMAL, f"{what} NORMAL").astype(np.float64)
        if normals.shape != vertices.shape or not np.isfinite(normals).all():
            raise self.fail(f"{what}: NORMAL must be finite VEC3, one per vertex")
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        return normals / np.where(length > 1e-20, length, 1.0)

    def uv(self, attrs, vertex_count: int, what: str) -> np.ndarray:
        if attrs.TEXCOORD_0 is None:
            return np.zeros((vertex_count, 2))
        uv = self.accessor(attrs.TEXCOORD_0, f"{what} TEXCOORD_0").astype(np.float64)
        if uv.shape != (vertex_count, 2) or not np.isfinite(uv).all():
            raise self.fail(f"{what}: TEXCOORD_0 must be finite VEC2, one per vertex")
        return np.column_stack([uv[:, 0], 1.0 - uv[:, 1]])  # glTF's origin is top-left

    def influences(self, attrs, vertex_count: int, joint_count: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        """The (up to) four strongest joints per vertex, weights renormalised to sum 1."""
        joints, weights = self.influence_sets(attrs, vertex_count, what)
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise self.fail(f"{what}: skin weights must be finite and non-negative")
        strongest = np.argsort(-weights, axis=1, kind="stable")[:, :INFLUENCES]
        joints = np.take_along_axis(joints, strongest, 1)
        weights = np.take_along_axis(weights, strongest, 1)
        total = weights.sum(1)
        if (total <= 0).any():
            raise self.fail(f"{what}: vertex {int(np.argmax(total <= 0))} has all-zero skin weights")
        used = weights > 0
        if (joints[used] < 0).any() or (joints[used] >= joint_count).any():
            raise self.fail(f"{what}: a JOINTS index is out of range (the skin has {joint_count} joints)")
        joints = np.where(used, joints, 0)
        return joints.astype(np.int64), weights / total[:, None]

    def influence_sets(self, attrs, vertex_count: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        joints, weights, k = [], [], 0
        while getattr(attrs, f"JOINTS_{k}", None) is not None and getattr(attrs, f"WEIGHTS_{k}", None) is not None:
            j = self.accessor(getattr(attrs, f"JOINTS_{k}"), f"{what} JOINTS_{k}")
            w = self.accessor(getattr(attrs, f"WEIGHTS_{k}"), f"{what} WEIGHTS_{k}")
            if j.shape != (vertex_count, 4) or w.shape != (vertex_count, 4) or j.dtype.kind == "f":
                raise self.fail(f"{what}: JOINTS_{k}/WEIGHTS_{k} must be VEC4, one per vertex")
            joints.append(j)
            weights.append(w.astype(np.float64))
            k += 1
        if not joints:
            raise self.fail(f"{what}: the skinned mesh has no JOINTS_0/WEIGHTS_0")
        return np.concatenate(joints, 1), np.concatenate(weights, 1)

    # -- animations -----------------------------------------------------------------------

    def clips(self, joint_nodes: list[int]) -> dict[str, Clip]:
        joint_of = {node: j for j, node in enumerate(joint_nodes)}
        clips: dict[str, Clip] = {}
        for a, animation in enumerate(self.doc.animations):
            name = animation.name or f"animation_{a}"
            while name in clips:
                name += "_"
            clips[name] = self.clip(a, animation, name, joint_of)
        return clips

    def clip(self, index: int, animation, name: str, joint_of: dict[int, int]) -> Clip:
        """A clip's joint channels; channels on other nodes and morph weights are ignored."""
        channels: dict[int, dict[str, Channel]] = {}
        for c, channel in enumerate(animation.channels or []):
            target = channel.target
            if target is None or target.node not in joint_of or target.path not in ANIMATED_PATHS:
                continue
            what = f"animation {index} ('{name}') channel {c}"
            sampler = self._item(animation.samplers or [], channel.sampler, f"{what}: sampler")
            channels.setdefault(joint_of[target.node], {})[target.path] = self.channel(sampler, target.path, what)
        ends = [ch.times[-1] for by_path in channels.values() for ch in by_path.values()]
        return Clip(name=name, duration=float(max(ends, default=0.0)), channels=channels)

    def channel(self, sampler, path: str, what: str) -> Channel:
        interpolation = sampler.interpolation or "LINEAR"
        if interpolation not in INTERPOLATIONS:
            raise self.fail(f"{what}: unknown interpolation '{interpolation}'")
        times = self.accessor(sampler.input, f"{what} input").reshape(-1)
        values = self.accessor(sampler.output, f"{what} output").astype(np.float64)
        keys = len(times) * (3 if interpolation == "CUBICSPLINE" else 1)
        width = 4 if path == "rotation" else 3
        if not len(times) or values.shape != (keys, width):
            raise self.fail(f"{what}: {len(times)} key times but output is {values.shape}, expected ({keys}, {width})")
        if not (np.isfinite(times).all() and np.isfinite(values).all()) or (np.diff(times) < 0).any():
            raise self.fail(f"{what}: key times must be finite and increasing, values finite")
        keyed = values[1::3] if interpolation == "CUBICSPLINE" else values
        if path == "rotation" and not (np.linalg.norm(keyed, axis=1) > 0).all():
            raise self.fail(f"{what}: a rotation key is the zero quaternion")
        return Channel(path=path, times=times.astype(np.float64), values=values, interpolation=interpolation)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals, for primitives that carry none."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 1e-20, length, 1.0)
