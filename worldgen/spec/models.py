"""Typed scene spec, version 1. Units: metres, seconds, degrees; right-handed, +Y up.

Field descriptions become the JSON Schema (``worldgen schema``) and the docs, so they are
written for the person authoring a spec.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from worldgen.spec.fields import MAX_NAME_BYTES, MAX_PATH_CHARS, file_path  # noqa: F401 (re-exported)
from worldgen.spec.film_edit import EditSpec, Line, OmitDefaults, SoundSpec, Transition, Voice

Finite = Annotated[float, Field(allow_inf_nan=False)]  # .inf / .nan never mean anything in a spec
Vec3 = tuple[Finite, Finite, Finite]
Vec2 = tuple[Finite, Finite]
Id = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=64)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Ease = Literal["linear", "in", "out", "in_out"]

SHAPES = ("plane", "box", "sphere", "cylinder", "capsule", "cone", "torus")
CAMERA_MOVES = (
    "static",
    "orbit",
    "dolly",
    "truck",
    "pedestal",
    "pan",
    "tilt",
    "roll",
    "zoom",
    "crane",
    "track",
    "over_the_shoulder",
    "close_up",
)
CHARACTER_MOVES = ("over_the_shoulder", "close_up")  # moves that frame a character's head
ACTIONS = ("idle", "walk", "run", "turn", "wave", "point", "sit", "look_at")
BUILDS = ("slim", "average", "athletic", "heavy")
SENSOR_HEIGHT_MM = 24.0  # full-frame 36x24 mm: converts lens_mm <-> vertical fov


def finite(v):
    vals = v if isinstance(v, (tuple, list)) else [v]
    for x in vals:
        if x is not None and not math.isfinite(x):
            raise ValueError("must be a finite number")
    return v


def positive_scale(v):
    """Per-axis scales must be > 0 like the uniform one: 0 collapses an object (no inverse),
    a negative one turns it inside out."""
    if isinstance(v, (tuple, list)) and any(x <= 0 for x in v):
        raise ValueError("every scale factor must be > 0")
    return v


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _valid_unicode(cls, v):
        """Lone surrogates (which YAML escapes can make) cannot be printed or written as UTF-8."""
        texts = [v] if isinstance(v, str) else [*v.keys(), *v.values()] if isinstance(v, dict) else []
        for text in texts:
            if isinstance(text, str) and any(unicodedata.category(c) == "Cs" for c in text):
                raise ValueError("text must be valid Unicode (it holds a lone surrogate)")
        return v


class DiffusionSpec(Strict):
    """Models and settings of the diffusion painters (command-line flags override these)."""

    base: Optional[str] = Field(
        None,
        max_length=500,
        description="Base model: a diffusers folder, a hub id in the local cache, or a .safetensors file.",
    )
    controlnets: dict[str, str] = Field(
        default_factory=dict, description="ControlNet per kind (depth, normal, canny, seg, openpose, ...): PATH_OR_ID."
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="Conditioning scale per ControlNet kind (default 1)."
    )
    refine: float = Field(0.0, ge=0, le=1, description="baked: img2img refinement strength per frame (0 = none).")
    steps: int = Field(20, ge=1, le=200, description="Denoising steps.")
    guidance: float = Field(7.5, ge=0, le=50, description="Classifier-free guidance scale.")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$", description="auto, cpu, cuda, cuda:N or mps.")
    dtype: Literal["auto", "fp16", "bf16", "fp32"] = Field("auto", description="auto: fp16 on CUDA, fp32 elsewhere.")
    texture_size: int = Field(512, ge=16, le=4096, description="Texels per side of an object's texture atlas.")
    part_texture_size: int = Field(256, ge=8, le=4096, description="Texels per side of a character body part's atlas.")
    view_size: Optional[int] = Field(
        None,
        ge=32,
        le=2048,
        multiple_of=8,
        description="Pixels per side of a look-development view (default: the model's own size, 512 for SD1.5, 1024 for SDXL).",
    )
    views: int = Field(6, ge=1, le=32, description="Look-development views per object or character.")
    lighting: Literal["lit", "unlit"] = Field(
        "lit", description="Baked frames: textures lit by the spec's lights, or as painted."
    )
    cache: Optional[str] = Field(
        None, max_length=1000, description="Texture cache folder (default $WORLDGEN_CACHE or ~/.cache/worldgen)."
    )
    refine_backend: Literal["img2img", "animatediff"] = Field(
        "img2img", description="How refinement runs: per frame (img2img) or over chunks of frames (AnimateDiff)."
    )
    motion_adapter: Optional[str] = Field(
        None, max_length=500, description="animatediff: the motion adapter (folder or hub id)."
    )


class Look(Strict):
    """The in-camera look of the procedural painter (and the lit baked frames): light, lens and
    film. Every field has a default that reads as film; 0 (or false) turns an effect off."""

    exposure: float = Field(
        0.0, ge=-10, le=10, allow_inf_nan=False, description="Exposure in stops (+1 = twice as bright)."
    )
    tone: Literal["filmic", "linear"] = Field(
        "filmic", description="Tone curve: filmic (soft toe and shoulder) or linear (clipped)."
    )
    ao: float = Field(1.0, ge=0, le=1, description="Strength of ray-traced ambient occlusion (0 = off).")
    ao_distance: float = Field(
        1.5, gt=0, le=100, allow_inf_nan=False, description="Reach of ambient-occlusion rays (m)."
    )
    bloom: float = Field(
        0.25, ge=0, le=4, allow_inf_nan=False, description="Glow around bright and emissive pixels (0 = off)."
    )
    fog: float = Field(
        0.002,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Atmospheric haze: fraction of light scattered per metre (0 = clear air).",
    )
    vignette: float = Field(0.25, ge=0, le=1, description="Darkening toward the frame's corners (0 = none).")
    grain: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="Film grain strength (0 = none); new grain every frame, the same for the same seed.",
    )
    shutter: float = Field(
        180.0,
        ge=0,
        le=360,
        description="Default shutter angle (degrees) for motion blur; a shot's camera may override it; 0 = none.",
    )
    f_stop: Optional[float] = Field(
        None,
        ge=0.5,
        le=64,
        description="Default aperture for depth of field; none = everything sharp. A shot's camera may override it.",
    )


class RenderSettings(Strict):
    width: int = Field(512, ge=16, le=4096, description="Frame width in pixels.")
    height: int = Field(288, ge=16, le=4096, description="Frame height in pixels.")
    fps: float = Field(24, gt=0, le=120, description="Frames per second of every shot and the film.")
    backend: Literal["raycast", "gl"] = Field(
        "raycast", description="Rasterizer: 'raycast' (Open3D, CPU, no GL) or 'gl' (pyrender; EGL/OSMesa)."
    )
    painter: str = Field(
        "procedural",
        pattern=r"^[a-z][a-z0-9_+\-]*$",
        max_length=40,
        description="How frames get their look: 'procedural' (embedded, no weights) or a diffusion "
        "painter ('worldgen render --help' lists them).",
    )
    shadows: bool = Field(True, description="Cast sun shadows in the procedural painter.")
    diffusion: Optional[DiffusionSpec] = Field(None, description="Models and settings of the diffusion painters.")
    look: Look = Field(
        default_factory=Look, description="Light, lens and film of the procedural painter (docs/SPEC.md, 'look')."
    )


class Keyframe(Strict):
    """One key of an object's motion. A channel a key leaves out is interpolated from the
    keys around it that set it; the first key takes the object's own pose for what it leaves out."""

    t: float = Field(ge=0, description="Time in seconds from the world's start.")
    position: Optional[Vec3] = Field(None, description="Centre in the parent's frame (m).")
    rotation: Optional[Vec3] = Field(None, description="Euler XYZ (degrees).")
    scale: Optional[Union[Positive, Vec3]] = Field(None, description="Uniform or per-axis scale.")
    ease: Ease = Field("linear", description="Timing of the segment that starts at this key.")

    _f = field_validator("t", "position", "rotation")(finite)
    _s = field_validator("scale")(positive_scale)


class ObjectSpec(Strict):
    """A piece of proxy geometry. Primitives are centred on their origin; ``position`` is that centre."""

    id: Id = Field(description="Unique name; other fields refer to it.")
    shape: Optional[Literal[SHAPES]] = Field(None, description="Primitive: " + ", ".join(SHAPES) + ".")
    mesh: Optional[str] = Field(
        None, description="GLB/glTF/OBJ/PLY/STL path, relative to the spec file or the project's assets/."
    )
    size: Optional[Union[Vec2, Vec3]] = Field(
        None, description="plane: [x, z]; box: [x, y, z]; mesh: the box the mesh is scaled to fit."
    )
    radius: Optional[Positive] = Field(None, description="sphere, cylinder, capsule, cone (base), torus (ring).")
    height: Optional[Positive] = Field(None, description="cylinder, capsule (end to end), cone: along Y.")
    tube: Optional[Positive] = Field(None, description="torus: radius of the tube.")
    position: Vec3 = Field((0.0, 0.0, 0.0), description="Centre in the parent's frame (m).")
    rotation: Vec3 = Field((0.0, 0.0, 0.0), description="Euler XYZ (degrees), applied X then Y then Z.")
    scale: Union[Positive, Vec3] = Field(1.0, description="Uniform or per-axis scale.")
    parent: Optional[Id] = Field(None, description="Id of the object this one moves with.")
    appearance: str = Field("", max_length=500, description="What it looks like, in words; the painter reads it.")
    label: Optional[Id] = Field(None, description="Semantic class; default: the id without trailing digits.")
    motion: Optional[list[Keyframe]] = Field(None, description="Keyframes over time (hold before/after).")
    path: Literal["linear", "spline"] = Field(
        "linear", description="Position between keys: straight or Catmull-Rom spline."
    )

    _f = field_validator("position", "rotation", "size")(finite)
    _s = field_validator("scale")(positive_scale)
    _m = field_validator("mesh")(file_path)

    @model_validator(mode="after")
    def _shape_fields(self):
        if (self.shape is None) == (self.mesh is None):
            raise ValueError("give exactly one of 'shape' or 'mesh'")
        need = {
            "plane": ["size"],
            "box": ["size"],
            "sphere": ["radius"],
            "cylinder": ["radius", "height"],
            "capsule": ["radius", "height"],
            "cone": ["radius", "height"],
            "torus": ["radius", "tube"],
        }
        allowed = set(need.get(self.shape, ["size"]))
        for f in ("size", "radius", "height", "tube"):
            v = getattr(self, f)
            if self.shape and f in need[self.shape] and v is None:
                raise ValueError(f"a {self.shape} needs '{f}'")
            if v is not None and f not in allowed:
                raise ValueError(f"'{f}' does not apply to a {self.shape or 'mesh'}")
        if self.size is not None:
            if any(s <= 0 for s in self.size):
                raise ValueError("size: every extent must be > 0")
            n = {"plane": 2, "box": 3}.get(self.shape, 3)
            if len(self.size) != n:
                raise ValueError(f"size: a {self.shape or 'mesh'} takes {n} numbers")
        if self.shape == "capsule" and self.height < 2 * self.radius:
            raise ValueError("capsule: height (end to end) must be at least 2 x radius")
        if self.shape == "torus" and self.tube >= self.radius:
            raise ValueError("torus: tube must be smaller than radius")
        if self.motion is not None:
            if not self.motion:
                raise ValueError("motion: give at least one keyframe")
            ts = [k.t for k in self.motion]
            if any(b <= a for a, b in zip(ts, ts[1:])):
                raise ValueError("motion: keyframe times must increase")
        return self


class Light(Strict):
    type: Literal["sun", "ambient", "point", "spot"] = Field(
        "sun", description="sun: parallel light from a disk; ambient: fill; point: a bulb; spot: a cone of light."
    )
    direction: Vec3 = Field((-0.4, -1.0, -0.3), description="sun, spot: direction the light travels.")
    color: str = Field("#ffffff", pattern=r"^#[0-9a-fA-F]{6}$", description="Hex colour.")
    intensity: float = Field(
        1.0,
        ge=0,
        le=1000,
        description="Relative strength (sun ~3 for daylight; point and spot: at 1 m, falling off with distance squared).",
    )
    position: Optional[Vec3] = Field(None, description="point, spot: where the light is (m).")
    range: float = Field(
        20.0,
        gt=0,
        le=10000,
        allow_inf_nan=False,
        description="point, spot: distance (m) beyond which the light fades to nothing.",
    )
    angle: float = Field(30.0, gt=0, lt=180, description="spot: full cone angle (degrees).")
    softness: float = Field(0.2, ge=0, le=1, description="spot: fraction of the cone over which the edge fades.")
    size: float = Field(
        1.0, ge=0, le=20, description="sun: apparent diameter (degrees); soft shadow edges grow with it (0 = hard)."
    )

    @model_validator(mode="after")
    def _placed(self):
        if self.type in ("point", "spot") and self.position is None:
            raise ValueError(f"{self.type} light: give 'position'")
        if self.type in ("sun", "ambient") and self.position is not None:
            raise ValueError(f"'position' applies to point and spot lights only, not {self.type}")
        return self

    @field_validator("direction")
    @classmethod
    def _nonzero(cls, v):
        finite(v)
        if sum(x * x for x in v) < 1e-12:
            raise ValueError("direction must not be zero")
        return v


MAX_PATH_COORD = 10_000.0  # m: a character's walk stays within 10 km of the origin
MAX_CHARACTER_TIME = 36_000.0  # s: ten hours of film


class PathKey(Strict):
    """Where a character's feet are at a time; between keys the character walks (or runs)."""

    t: float = Field(ge=0, le=MAX_CHARACTER_TIME, description="Time in seconds from the world's start.")
    position: Vec3 = Field(description="Point on the ground between the feet (m).")
    ease: Ease = Field("in_out", description="Timing of the segment that starts here (in_out: start and stop gently).")

    _f = field_validator("t", "position")(finite)

    @field_validator("position")
    @classmethod
    def _near(cls, v):
        if any(abs(x) > MAX_PATH_COORD for x in v):
            raise ValueError(f"a character walks within {MAX_PATH_COORD:g} m of the origin")
        return v


class Action(Strict):
    """Something a character does over a time span. Layers run at once: the body (idle, walk,
    run, turn, sit), each arm (wave, point) and the head (look_at); one action per layer at a time."""

    action: Literal[ACTIONS] = Field(description="One of: " + ", ".join(ACTIONS) + ".")
    start: float = Field(0.0, ge=0, le=MAX_CHARACTER_TIME, description="World time (s) it begins.")
    end: Optional[float] = Field(
        None, le=MAX_CHARACTER_TIME, description="World time (s) it ends; default: holds to the end (wave: 2 s)."
    )
    target: Optional[Id] = Field(
        None, description="Object or character: look at, point at, turn to, or sit on (an object)."
    )
    at: Optional[Vec3] = Field(None, description="A world point instead of 'target'.")
    to: Optional[float] = Field(None, description="turn: heading to face (degrees; 0 = +Z, 90 = +X).")
    hand: Literal["right", "left"] = Field("right", description="wave, point: which arm.")
    blend: float = Field(0.4, ge=0, le=5, description="Seconds to blend in and out.")

    _f = field_validator("start", "end", "at", "to")(finite)

    @model_validator(mode="after")
    def _check(self):
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        if self.target is not None and self.at is not None:
            raise ValueError("give 'target' or 'at', not both")
        a = self.action
        if a in ("look_at", "point") and self.target is None and self.at is None:
            raise ValueError(f"{a}: give 'target' (an object or character id) or 'at' (a point)")
        if a == "turn" and self.to is None and self.target is None and self.at is None:
            raise ValueError("turn: give 'to' (degrees), 'target' or 'at'")
        if a == "turn" and self.to is not None and (self.target is not None or self.at is not None):
            raise ValueError("turn: give 'to' or a target, not both")
        if a == "sit" and self.at is not None:
            raise ValueError("sit: give 'target' (the object to sit on) or nothing (sit on the ground)")
        if self.to is not None and a != "turn":
            raise ValueError("'to' applies to turn only")
        return self


class CharacterSpec(Strict, OmitDefaults):
    """An articulated humanoid actor. Its feet follow `path`; it walks or runs whenever the path
    moves (stride matched to the speed), and does its `actions` on top."""

    EXTENSIONS = ("voice",)
    id: Id = Field(description="Unique name among objects and characters.")
    height: float = Field(1.75, ge=0.5, le=2.5, description="Standing height (m).")
    build: Literal[BUILDS] = Field("average", description="Body width: " + ", ".join(BUILDS) + ".")
    appearance: str = Field(
        "",
        max_length=500,
        description="Clothes, skin and hair in words, e.g. 'red coat, blue jeans, dark skin, short black hair'.",
    )
    label: Id = Field("person", description="Semantic class in the semantic pass.")
    position: Vec3 = Field((0.0, 0.0, 0.0), description="Feet position when there is no path (m).")
    facing: float = Field(0.0, description="Heading at the start (degrees; 0 = facing +Z, 90 = +X).")
    path: Optional[list[PathKey]] = Field(
        None, description="Feet positions over time; the character walks between them."
    )
    curve: Literal["linear", "spline"] = Field("spline", description="Path between keys: straight or Catmull-Rom.")
    actions: list[Action] = Field(default_factory=list, max_length=200)
    asset: Optional[str] = Field(
        None,
        description="A rigged glTF/GLB (skin + clips) to use instead of the proxy body, relative to the spec "
        "or assets/; it faces +Z and is scaled to 'height'.",
    )
    clips: dict[str, str] = Field(
        default_factory=dict,
        description="asset: which clip plays for idle, walk, run, wave, point, sit "
        "(default: a clip named like the action). Clips play in place.",
    )
    voice: Optional[Voice] = Field(
        None, description="How the character's lines sound (default: a distinct flite voice per character)."
    )

    _f = field_validator("position", "facing")(finite)
    _a = field_validator("asset")(file_path)

    @model_validator(mode="after")
    def _check(self):
        if self.path is not None:
            if not self.path:
                raise ValueError("path: give at least one key")
            ts = [k.t for k in self.path]
            if any(b <= a for a, b in zip(ts, ts[1:])):
                raise ValueError("path: key times must increase")
        for name in self.clips:
            if name not in ("idle", "walk", "run", "wave", "point", "sit"):
                raise ValueError(f"clips: '{name}' is not an action with a clip (idle, walk, run, wave, point, sit)")
        if self.clips and self.asset is None:
            raise ValueError("clips: give 'asset' (a rigged glTF/GLB) to take clips from")
        return self


class WorldSpec(Strict):
    objects: list[ObjectSpec] = Field(min_length=1, max_length=10000)
    characters: list[CharacterSpec] = Field(default_factory=list, max_length=100, description="Actors.")
    lights: list[Light] = Field(default_factory=lambda: [Light()], description="Default: one white sun.")


class CameraKey(Strict):
    t: float = Field(ge=0, allow_inf_nan=False, description="Seconds from the shot's start.")
    position: Vec3
    look_at: Optional[Vec3] = Field(None, description="World point to aim at.")
    target: Optional[Id] = Field(None, description="Object to aim at (its centre, as it moves).")
    fov: Optional[float] = Field(None, gt=1, lt=170, description="Vertical field of view (degrees).")
    lens_mm: Optional[Positive] = Field(None, description="Focal length on a 24 mm-high sensor.")
    roll: float = Field(
        0.0, description="Degrees about the view axis (+ = camera turns clockwise, image counter-clockwise)."
    )
    ease: Ease = Field("in_out", description="Timing of the segment that starts at this key.")

    _f = field_validator("position", "look_at", "roll")(finite)

    @model_validator(mode="after")
    def _aim(self):
        if (self.look_at is None) == (self.target is None):
            raise ValueError("give exactly one of 'look_at' or 'target'")
        if self.fov is not None and self.lens_mm is not None:
            raise ValueError("give 'fov' or 'lens_mm', not both")
        return self


class Camera(Strict):
    """A camera move from a small vocabulary, or explicit keyframes. Moves ease in and out
    unless ``ease`` says otherwise."""

    move: Optional[Literal[CAMERA_MOVES]] = Field(None, description="One of: " + ", ".join(CAMERA_MOVES) + ".")
    keyframes: Optional[list[CameraKey]] = Field(None, description="Explicit path; instead of 'move'.")
    position: Optional[Vec3] = Field(None, description="Start position (all moves but orbit and track).")
    look_at: Optional[Vec3] = Field(None, description="World point aimed at at the start.")
    target: Optional[Id] = Field(
        None,
        description="Object or character aimed at (orbit centre, track subject; the face of close_up and over_the_shoulder).",
    )
    fov: Optional[float] = Field(None, gt=1, lt=170, description="Vertical field of view (degrees); default 50.")
    lens_mm: Optional[Positive] = Field(None, description="Focal length on a 24 mm-high sensor, instead of fov.")
    roll: float = Field(0.0, description="Degrees about the view axis at the start.")
    ease: Optional[Ease] = Field(None, description="Timing of the move; default in_out (linear for track).")
    # move parameters
    radius: Optional[Positive] = Field(None, description="orbit: distance from the centre in the ground plane.")
    height: Optional[float] = Field(
        None, description="orbit: camera height above the ground (Y); default the centre's."
    )
    degrees: Optional[float] = Field(
        None, description="orbit: sweep (+ = counter-clockwise from above); pan/tilt/roll: turn."
    )
    start_angle: float = Field(
        0.0, description="orbit: start azimuth (degrees from +Z toward +X); close_up: degrees around from the face."
    )
    distance: Optional[float] = Field(
        None,
        description="dolly: metres toward the aim (- = pull out); truck: right; pedestal: up; crane: forward; close_up: from the face (default 1.2).",
    )
    rise: Optional[float] = Field(None, description="crane: metres up over the shot.")
    fov_end: Optional[float] = Field(None, gt=1, lt=170, description="zoom: field of view at the end.")
    lens_mm_end: Optional[Positive] = Field(None, description="zoom: focal length at the end.")
    offset: Optional[Vec3] = Field(None, description="track: camera position relative to the target (world axes).")
    over: Optional[Id] = Field(
        None, description="over_the_shoulder: the character whose shoulder the camera looks over (at 'target')."
    )
    side: Literal["right", "left"] = Field("right", description="over_the_shoulder: which shoulder of 'over'.")
    f_stop: Optional[float] = Field(
        None,
        ge=0.5,
        le=64,
        description="Aperture for depth of field (default: render.look.f_stop; none = everything sharp).",
    )
    focus_distance: Optional[Positive] = Field(
        None,
        description="Distance in focus (m); default: the shot's aim (its target or look_at), else the frame's centre.",
    )
    shutter: Optional[float] = Field(
        None, ge=0, le=360, description="Shutter angle (degrees) for motion blur; default: render.look.shutter."
    )

    _f = field_validator(
        "position", "look_at", "offset", "degrees", "distance", "rise", "height", "start_angle", "roll"
    )(finite)

    @model_validator(mode="after")
    def _check(self):
        if (self.move is None) == (self.keyframes is None):
            raise ValueError("give exactly one of 'move' or 'keyframes'")
        if self.fov is not None and self.lens_mm is not None:
            raise ValueError("give 'fov' or 'lens_mm', not both")
        if self.keyframes is not None:
            if not self.keyframes:
                raise ValueError("keyframes: give at least one")
            ts = [k.t for k in self.keyframes]
            if any(b <= a for a, b in zip(ts, ts[1:])):
                raise ValueError("keyframes: times must increase")
            return self
        m = self.move
        if self.look_at is not None and self.target is not None:
            raise ValueError("give 'look_at' or 'target', not both")
        if m in ("orbit", "track") and self.target is None and self.look_at is None:
            raise ValueError(f"{m}: give 'target' (an object id) or 'look_at'")
        if m == "track" and self.target is None:
            raise ValueError("track: give 'target' (the object to follow)")
        if m in CHARACTER_MOVES and self.target is None:
            raise ValueError(f"{m}: give 'target' (a character id)")
        if m == "over_the_shoulder" and self.over is None:
            raise ValueError("over_the_shoulder: give 'over' (the character in the foreground)")
        if self.over is not None and m != "over_the_shoulder":
            raise ValueError("'over' applies to over_the_shoulder only")
        if m not in ("orbit", "track") + CHARACTER_MOVES:
            if self.position is None:
                raise ValueError(f"{m}: give 'position'")
            if self.look_at is None and self.target is None:
                raise ValueError(f"{m}: give 'look_at' or 'target'")
        if m == "orbit" and self.radius is None:
            raise ValueError("orbit: give 'radius'")
        if m in ("pan", "tilt", "roll") and self.degrees is None:
            raise ValueError(f"{m}: give 'degrees'")
        if m in ("dolly", "truck", "pedestal") and self.distance is None:
            raise ValueError(f"{m}: give 'distance' (metres)")
        if m == "zoom" and self.fov_end is None and self.lens_mm_end is None:
            raise ValueError("zoom: give 'fov_end' or 'lens_mm_end'")
        return self


class Shot(Strict, OmitDefaults):
    EXTENSIONS = ("dialogue", "transition")
    id: Id
    duration: Positive = Field(description="Seconds.")
    start: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="World time (s) at the shot's first frame. Shots with the same start show the same moment (coverage).",
    )
    prompt: str = Field("", max_length=2000, description="What the shot shows, for painters that read text.")
    style: Optional[str] = Field(None, max_length=500, description="Overrides the film's style for this shot.")
    camera: Camera
    dialogue: list[Line] = Field(default_factory=list, max_length=500, description="Lines spoken in this shot.")
    transition: Optional[Transition] = Field(
        None, description="How the shot comes in from the one before (default: a cut)."
    )


EDIT_FIELDS = (
    "dialogue",
    "transition",
)  # a shot's fields outside its camera path; dialogue reaches frames only as mouths (render/keys.py mouth_key)
CHARACTER_EDIT_FIELDS = ("voice",)  # a character's fields that reach the edit (its voice), not its frames


class Spec(Strict, OmitDefaults):
    """A worldgen scene spec: one persistent world and the shots that film it."""

    EXTENSIONS = ("sound", "edit")
    worldgen: Literal[1] = Field(description="Spec format version.")
    title: str = Field("Untitled", max_length=200)
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seeds every random choice; same spec + seed -> same bytes.")
    render: RenderSettings = Field(default_factory=RenderSettings)
    style: str = Field("", max_length=500, description="Look of the whole film, in words.")
    world: WorldSpec
    shots: list[Shot] = Field(min_length=1, max_length=1000)
    sound: Optional[SoundSpec] = Field(None, description="Music, ambience and the loudness of the mix.")
    edit: Optional[EditSpec] = Field(
        None, description="Transitions aside (on the shots): title, lower thirds, credits, grade, subtitles."
    )

    def object(self, oid: str) -> ObjectSpec:
        return next(o for o in self.world.objects if o.id == oid)

    def shot(self, sid: str) -> Shot:
        return next(s for s in self.shots if s.id == sid)
