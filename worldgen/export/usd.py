"""OpenUSD (.usda): the world as a stage of meshes under transforms time-sampled at the film's
frames (timeCodesPerSecond = fps, time code = world seconds x fps), and one UsdGeom.Camera per
shot with its lens and pose time-sampled over the shot's frames.

Layout: /World/<object>/geom (objects nest under their parents), /World/<character>/<part>/geom,
/World/Looks/<material>, /World/cameras/<shot>. Prim names are ids made valid for USD; the
original id is kept in each prim's customData 'worldgen:id'. The stage is in metres
(metersPerUnit 1, +Y up), so lens values are in tenths of a metre: a 50 mm lens is 0.5."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from worldgen.errors import BackendError
from worldgen.export.scene import ExportCamera, ExportNode, ExportScene, unit_normals
from worldgen.io import atomic_write_bytes
from worldgen.spec.models import SENSOR_HEIGHT_MM

LENS_UNITS_PER_MM = 0.01  # tenths of a metre per millimetre
ROOT = "/World"
RESERVED = ("geom", "Looks", "cameras")  # child names the layout itself uses
METALLIC_WORDS = ("metal", "steel")


def import_pxr():
    try:
        from pxr import Gf, Sdf, Tf, Usd, UsdGeom, UsdShade, Vt
    except ImportError:
        raise BackendError("exporting .usda needs OpenUSD's Python modules: pip install usd-core") from None
    return Gf, Sdf, Tf, Usd, UsdGeom, UsdShade, Vt


class _Names:
    """Valid, unique prim names per parent path, chosen in a fixed order (deterministic)."""

    def __init__(self, tf):
        self.tf, self.taken = tf, {}

    def child(self, parent: str, wanted: str) -> str:
        used = self.taken.setdefault(parent, set(RESERVED))
        base = self.tf.MakeValidIdentifier(wanted)
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        return f"{parent}/{name}"


class _StageWriter:
    def __init__(self, scene: ExportScene):
        self.scene = scene
        self.Gf, self.Sdf, Tf, self.Usd, self.UsdGeom, self.UsdShade, self.Vt = import_pxr()
        self.names = _Names(Tf)
        self.stage = self.Usd.Stage.CreateInMemory()
        self._looks: dict[tuple, object] = {}

    def matrix(self, m: np.ndarray):
        return self.Gf.Matrix4d(np.asarray(m, float).T.tolist())  # USD matrices act on row vectors

    def code(self, t: float):
        return self.Usd.TimeCode(float(t) * self.scene.fps)

    def set_stage_metadata(self):
        s, fps = self.stage, self.scene.fps
        self.UsdGeom.SetStageUpAxis(s, self.UsdGeom.Tokens.y)
        self.UsdGeom.SetStageMetersPerUnit(s, 1.0)
        s.SetTimeCodesPerSecond(fps)
        s.SetFramesPerSecond(fps)
        s.SetStartTimeCode(float(self.scene.times[0]) * fps)
        s.SetEndTimeCode(float(self.scene.times[-1]) * fps)
        world = self.UsdGeom.Xform.Define(s, ROOT)
        s.SetDefaultPrim(world.GetPrim())
        world.GetPrim().SetCustomDataByKey("worldgen:title", self.scene.title)

    # ---- looks -------------------------------------------------------------------------
    def look(self, node: ExportNode):
        m = node.material
        base = np.clip(m.base, 0.0, 1.0).round(6)
        metallic = 1.0 if any(w in METALLIC_WORDS for w in m.words) else 0.0
        key = (tuple(base.tolist()), round(m.roughness, 6), metallic, m.emission > 0)
        if key in self._looks:
            return self._looks[key]
        path = self.names.child(f"{ROOT}/Looks", node.id)
        mat = self.UsdShade.Material.Define(self.stage, path)
        shader = self.UsdShade.Shader.Define(self.stage, f"{path}/PreviewSurface")
        shader.CreateIdAttr("UsdPreviewSurface")
        f3, f = self.Sdf.ValueTypeNames.Color3f, self.Sdf.ValueTypeNames.Float
        shader.CreateInput("diffuseColor", f3).Set(self.Gf.Vec3f(*base.tolist()))
        shader.CreateInput("roughness", f).Set(float(np.clip(m.roughness, 0, 1)))
        shader.CreateInput("metallic", f).Set(metallic)
        if m.emission > 0:
            shader.CreateInput("emissiveColor", f3).Set(self.Gf.Vec3f(*base.tolist()))
        mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
        self._looks[key] = (mat, base)
        return self._looks[key]

    # ---- geometry and motion ------------------------------------------------------------
    def geometry(self, path: str, node: ExportNode):
        mesh = self.UsdGeom.Mesh.Define(self.stage, f"{path}/geom")
        v = np.asarray(node.mesh.vertices, np.float32)
        f = np.asarray(node.mesh.faces, np.int32)
        mesh.CreatePointsAttr(self.Vt.Vec3fArray.FromNumpy(v))
        mesh.CreateFaceVertexCountsAttr(self.Vt.IntArray.FromNumpy(np.full(len(f), 3, np.int32)))
        mesh.CreateFaceVertexIndicesAttr(self.Vt.IntArray.FromNumpy(f.ravel()))
        mesh.CreateNormalsAttr(self.Vt.Vec3fArray.FromNumpy(unit_normals(node.mesh)))
        mesh.SetNormalsInterpolation(self.UsdGeom.Tokens.vertex)
        mesh.CreateSubdivisionSchemeAttr(self.UsdGeom.Tokens.none)  # proxy geometry is already final
        mesh.CreateExtentAttr(self.Vt.Vec3fArray.FromNumpy(np.stack([v.min(0), v.max(0)])))
        mesh.CreateDoubleSidedAttr(bool(node.double_sided))
        mat, base = self.look(node)
        mesh.CreateDisplayColorAttr(self.Vt.Vec3fArray([self.Gf.Vec3f(*base.tolist())]))
        self.UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(mat)

    def transform(self, xformable, rest: np.ndarray, matrices: np.ndarray | None, times: np.ndarray):
        op = xformable.AddTransformOp()
        if matrices is None:
            op.Set(self.matrix(rest))
            return
        for t, m in zip(times, matrices):
            op.Set(self.matrix(m), self.code(t))

    def nodes(self):
        paths: dict[str, str] = {}
        for n in self.scene.nodes:
            parent = paths[n.parent] if n.parent is not None else ROOT
            path = paths[n.id] = self.names.child(parent, n.id.rsplit("/", 1)[-1])
            xf = self.UsdGeom.Xform.Define(self.stage, path)
            xf.GetPrim().SetCustomDataByKey("worldgen:id", n.id)
            if n.label:
                xf.GetPrim().SetCustomDataByKey("worldgen:label", n.label)
            self.transform(xf, n.rest, n.matrices, self.scene.times)
            if n.mesh is not None:
                self.geometry(path, n)

    def camera(self, cam: ExportCamera):
        shot = cam.timing.shot
        path = self.names.child(f"{ROOT}/cameras", shot.id)
        c = self.UsdGeom.Camera.Define(self.stage, path)
        c.CreateProjectionAttr(self.UsdGeom.Tokens.perspective)
        aperture = SENSOR_HEIGHT_MM * LENS_UNITS_PER_MM
        c.CreateVerticalApertureAttr(float(aperture))
        c.CreateHorizontalApertureAttr(float(aperture * cam.width / cam.height))
        c.CreateClippingRangeAttr(self.Gf.Vec2f(self.scene.near, self.scene.far))
        focal = c.CreateFocalLengthAttr()
        lens = cam.focal_mm * LENS_UNITS_PER_MM
        if cam.zooms:
            for t, value in zip(cam.times, lens):
                focal.Set(float(value), self.code(t))
        else:
            focal.Set(float(lens[0]))
        self.transform(c, cam.poses[0], cam.poses, cam.times)
        prim = c.GetPrim()
        for key, value in (
            ("shot", shot.id),
            ("start", float(shot.start)),
            ("duration", float(shot.duration)),
            ("frame_count", cam.timing.frame_count),
            ("film_start_frame", cam.timing.film_start),
            ("width", cam.width),
            ("height", cam.height),
        ):
            prim.SetCustomDataByKey(f"worldgen:{key}", value)

    def write(self) -> str:
        self.set_stage_metadata()
        self.UsdGeom.Scope.Define(self.stage, f"{ROOT}/Looks")
        self.UsdGeom.Scope.Define(self.stage, f"{ROOT}/cameras")
        self.nodes()
        for cam in self.scene.cameras:
            self.camera(cam)
        return self.stage.GetRootLayer().ExportToString()


def usda_text(scene: ExportScene) -> str:
    return _StageWriter(scene).write()


def write_usd(scene: ExportScene, path: Path) -> None:
    atomic_write_bytes(Path(path), usda_text(scene).encode("utf-8"))
