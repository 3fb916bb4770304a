"""The persistent world: a scene graph of objects whose transforms are functions of time.

`World(spec)` builds every object's mesh once (in its own frame); `world.sample(t)` gives the
world transform of each object at time t. Everything downstream (passes, painter, flow) is a
view of this one world, which is what keeps frames and shots consistent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from worldgen.errors import AssetError
from worldgen.motion import RotationTrack, Track, rotation_track
from worldgen.shapes import primitive
from worldgen.spec.loader import LocatedSpec, base_dir_of, located_of
from worldgen.spec.models import CharacterSpec, ObjectSpec, Spec
from worldgen.transforms import compose, euler_xyz_to_matrix

if TYPE_CHECKING:
    from worldgen.character.skinned_rig import SkinnedRig


def default_label(oid: str) -> str:
    return re.sub(r"[_\-]*\d+$", "", oid) or oid


@dataclass
class Node:
    spec: ObjectSpec
    index: int  # 0-based order in the spec
    mesh: trimesh.Trimesh  # in the object's own frame (scale included)
    instance: int  # value in the instance-id pass (1..N; 0 is background)
    label: str
    semantic: int  # value in the semantic pass (1..L; 0 is background)
    character: str | None = None  # a body part of this character (rides on `bone`)
    bone: str | None = None
    region: str | None = None  # the part's look: skin, top, sleeve, bottom, shoes, hair


MAX_TRIANGLES = 50_000_000  # a world's triangles at most: ~5 GB of tables, beyond any proxy set

PART_SEP = "/"  # body part node ids are "<character>/<part>"; spec ids cannot contain it


class World:
    def __init__(self, spec: Spec, base_dir: Path | None = None):
        self.spec = spec
        self.base_dir = Path(base_dir) if base_dir else base_dir_of(spec)
        labels = []
        for o in spec.world.objects:
            lab = o.label or default_label(o.id)
            if lab not in labels:
                labels.append(lab)
        self.labels = labels
        self.nodes: dict[str, Node] = {}
        located = located_of(spec)
        for i, o in enumerate(spec.world.objects):
            try:
                mesh = self._build_mesh(o)
            except AssetError as e:
                raise located.error(("world", "objects", i, "mesh"), str(e)) from None
            if len(mesh.faces) == 0:
                raise located.error(("world", "objects", i), "too small to have any triangles (sizes under ~10 um)")
            lab = o.label or default_label(o.id)
            self.nodes[o.id] = Node(o, i, mesh, i + 1, lab, labels.index(lab) + 1)
        self._tracks = {oid: self._make_tracks(n.spec) for oid, n in self.nodes.items()}
        if self.triangle_count > MAX_TRIANGLES:
            raise located.error(
                ("world", "objects"),
                f"{self.triangle_count:,} triangles; the limit is "
                f"{MAX_TRIANGLES:,} (use coarser meshes or fewer copies)",
            )
        self._add_characters(spec)

    def _add_characters(self, spec: Spec) -> None:
        """Each character becomes one instance id whose body parts are nodes riding on its rig's
        bones, so every pass treats them like any other rigid geometry."""
        from worldgen.character.rig import CharacterRig

        self.characters: dict[str, CharacterRig] = {}
        self.character_instance: dict[str, int] = {}
        located = located_of(spec)
        for k, c in enumerate(spec.world.characters):
            rig: CharacterRig
            if c.asset is not None:
                rig = self._skinned_rig(c, k, located)
            else:
                rig = CharacterRig(c, self.locate)
            rig.index = k
            self.characters[c.id] = rig
            inst = len(spec.world.objects) + k + 1
            self.character_instance[c.id] = inst
            if c.label not in self.labels:
                self.labels.append(c.label)
            sem = self.labels.index(c.label) + 1
            for part in rig.parts:
                pid = f"{c.id}{PART_SEP}{part.name}"
                ospec = ObjectSpec.model_construct(
                    id=pid, shape=None, mesh=None, appearance=c.appearance, parent=None, motion=None, label=c.label
                )
                self.nodes[pid] = Node(
                    ospec,
                    len(self.nodes),
                    part.mesh,
                    inst,
                    c.label,
                    sem,
                    character=c.id,
                    bone=part.bone,
                    region=part.region,
                )
                self._tracks[pid] = None

    def _skinned_rig(self, c: CharacterSpec, k: int, located: LocatedSpec) -> SkinnedRig:
        from worldgen.assets import resolve_asset
        from worldgen.character.skinned_rig import SkinnedRig
        from worldgen.gltf_reader import load_skinned

        assert c.asset is not None  # called for characters with an asset only
        try:
            asset = load_skinned(resolve_asset(c.asset, self.base_dir))
            for action, clip in c.clips.items():
                if clip not in asset.clips:
                    raise AssetError(f"no clip '{clip}' for {action} (clips: {', '.join(asset.clips) or 'none'})")
            return SkinnedRig(c, self.locate, asset)
        except AssetError as e:
            raise located.error(("world", "characters", k, "asset"), str(e)) from None

    def deforms(self, oid: str) -> bool:
        """Does this node change shape over time (a skinned body), not only move?"""
        n = self.nodes[oid]
        return n.character is not None and self.characters[n.character].deforms

    def deformed(self, oid: str, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Posed vertices and normals of a deforming node in its own frame at time t."""
        cid = self.nodes[oid].character
        assert cid is not None, f"'{oid}' is not a body part"
        return self.characters[cid].deformed(t)[:2]

    def locate(self, oid: str, t: float, what: str = "centre") -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """A world point of an object or character ('centre', 'head') or its world bounds ('box'):
        what look_at, point, turn and sit aim at. Characters answer from their path alone, so
        two characters looking at each other never wait on each other's poses."""
        if oid in self.characters:
            rig = self.characters[oid]
            p = rig.approx_head(t)
            if what == "box":
                r = 0.25 * rig.body.height
                return rig.root(t) - [r, 0, r], p + [r, 0.1, r]
            return p if what == "head" else p - np.array([0.0, 0.35 * rig.body.height, 0.0])
        m = self.world_matrix(oid, t)
        if what == "box":  # world-axis bounds (lo, hi): a seat's footprint and top
            lo, hi = self.nodes[oid].mesh.bounds
            corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
            w = corners @ m[:3, :3].T + m[:3, 3]
            return w.min(0), w.max(0)
        return m[:3, 3]

    def _build_mesh(self, o: ObjectSpec) -> trimesh.Trimesh:
        if o.mesh is not None:
            from worldgen.assets import fit_mesh, load_mesh, resolve_asset

            return fit_mesh(load_mesh(resolve_asset(o.mesh, self.base_dir)), o.size)
        assert o.shape is not None  # the spec's models require a shape or a mesh
        return primitive(o.shape, size=o.size, radius=o.radius, height=o.height, tube=o.tube)

    @staticmethod
    def _make_tracks(o: ObjectSpec) -> dict[str, Track | RotationTrack] | None:
        if not o.motion:
            return None
        keys = o.motion
        base = {"position": o.position, "rotation": o.rotation, "scale": o.scale}
        tracks: dict[str, Track | RotationTrack] = {}
        for ch in ("position", "rotation", "scale"):
            ts, vs, es = [], [], []
            for k_i, k in enumerate(keys):
                v = getattr(k, ch)
                if v is None and k_i == 0:
                    v = base[ch]
                if v is None:
                    continue
                if ch == "scale":
                    v = np.broadcast_to(np.asarray(v, float), (3,))
                ts.append(k.t)
                vs.append(v)
                es.append(k.ease)
            if ch == "rotation":
                tracks[ch] = rotation_track(ts, vs, es)
            else:
                tracks[ch] = Track(ts, vs, es, mode=o.path if ch == "position" else "linear")
        return tracks

    # ---- time sampling -------------------------------------------------------------------
    def local_matrix(self, oid: str, t: float) -> np.ndarray:
        o = self.nodes[oid].spec
        tr = self._tracks[oid]
        if tr is None:
            return compose(o.position, euler_xyz_to_matrix(o.rotation), o.scale)
        return compose(tr["position"](t), tr["rotation"](t), tr["scale"](t))

    def world_matrix(self, oid: str, t: float) -> np.ndarray:
        node = self.nodes[oid]
        if node.character is not None:
            assert node.bone is not None  # body parts always ride a bone
            return self.characters[node.character].bone_matrix(node.bone, t)
        m = self.local_matrix(oid, t)
        parent = self.nodes[oid].spec.parent
        while parent is not None:
            m = self.local_matrix(parent, t) @ m
            parent = self.nodes[parent].spec.parent
        return m

    def sample(self, t: float) -> dict[str, np.ndarray]:
        """World transform (4x4) of every object at time t, in spec order."""
        return {oid: self.world_matrix(oid, t) for oid in self.nodes}

    def position(self, oid: str, t: float) -> np.ndarray:
        """Where a camera aims to frame an object (its centre) or a character (mid-torso)."""
        if oid in self.characters:
            return self.characters[oid].centre(t)
        return self.world_matrix(oid, t)[:3, 3]

    def parts_of(self, cid: str) -> list[str]:
        return [oid for oid, n in self.nodes.items() if n.character == cid]

    def objects(self) -> list[str]:
        """Ids of the spec's objects (not character parts)."""
        return [oid for oid, n in self.nodes.items() if n.character is None]

    @cached_property
    def static_ids(self) -> frozenset[str]:
        """Objects that never move: no motion on them or any ancestor."""
        out: set[str] = set()
        for oid, n in self.nodes.items():
            if n.character is not None:
                continue
            cur: ObjectSpec | None = n.spec
            moving = False
            while cur is not None:
                moving |= bool(cur.motion)
                cur = self.nodes[cur.parent].spec if cur.parent else None
            if not moving:
                out.add(oid)
        return frozenset(out)

    @property
    def triangle_count(self) -> int:
        return sum(len(n.mesh.faces) for n in self.nodes.values())

    def bounds(self, t: float = 0.0) -> np.ndarray:
        pts = np.concatenate(
            [trimesh.transform_points(n.mesh.bounds, self.world_matrix(oid, t)) for oid, n in self.nodes.items()]
        )
        return np.stack([pts.min(0), pts.max(0)])

    def instance_map(self) -> dict[str, int]:
        out = {oid: n.instance for oid, n in self.nodes.items() if n.character is None}
        out.update(self.character_instance)
        return out

    def semantic_map(self) -> dict[str, int]:
        return {lab: i + 1 for i, lab in enumerate(self.labels)}
