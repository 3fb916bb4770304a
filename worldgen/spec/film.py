"""Typed film spec, format 2: one cast, its sets, and the scenes that visit them.

A format 1 spec is one world and its shots. A film is many scenes, and what makes it a film
and not a pile of clips is what it remembers between them: the same people in the same
clothes, the same rooms with the same furniture. So the film spec names those things once
(`cast`, `sets`) and lets scenes only *refer* to them, stating what changes: a wardrobe, a
prop moved, the time of day. Everything not stated carries over from the scene before.

Each scene expands (`spec/film_expand.py`) into an ordinary format 1 `Spec`, which the
renderer, the checks and the painters already understand: this module is only the data model.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from worldgen.spec.film_edit import EditSpec, OmitDefaults, SoundSpec, Voice
from worldgen.spec.models import (
    BUILDS,
    Action,
    Finite,
    Id,
    Light,
    ObjectSpec,
    PathKey,
    Positive,
    RenderSettings,
    Shot,
    Strict,
    Vec3,
    finite,
    positive_scale,
)

# Times of day a scene can be set at. Each one fixes the sun (or moon), its colour and the sky
# fill (see film_expand.TIME_LIGHTS); a set's layout never depends on it.
TIMES = ("dawn", "morning", "day", "afternoon", "dusk", "evening", "night")
MAX_SCENES = 500
MAX_FILM_SHOTS = 5000


class CastMember(Strict, OmitDefaults):
    """A character defined once for the whole film: body, face and hair, the clothes they own,
    their voice. Scenes say only where they stand, what they do and (when it changes) what
    they wear."""

    id: Id = Field(description="Unique name among the cast and every set's props.")
    height: float = Field(1.75, ge=0.5, le=2.5, description="Standing height (m).")
    build: Literal[BUILDS] = Field("average", description="Body width: " + ", ".join(BUILDS) + ".")
    appearance: str = Field(
        "",
        max_length=300,
        description="What never changes, in words: skin, hair, face, e.g. 'brown skin, black curly hair'.",
    )
    wardrobe: dict[Id, str] = Field(
        min_length=1,
        max_length=20,
        description="Named outfits in words, e.g. {coat: 'long blue wool coat, grey trousers'}; "
        "the first is worn until a scene changes it.",
    )
    label: Id = Field("person", description="Semantic class in the semantic pass.")
    voice: Optional[Voice] = Field(None, description="How the character's lines sound (default: a distinct voice).")
    voice_only: bool = Field(
        False,
        description="Heard, never seen (a voice on the radio, a narrator): never in a scene's cast; "
        "their lines in a scene's shots are heard over it.",
    )
    asset: Optional[str] = Field(None, description="A rigged glTF/GLB to use instead of the proxy body.")
    clips: dict[str, str] = Field(default_factory=dict, description="asset: which clip plays for which action.")

    @field_validator("wardrobe")
    @classmethod
    def _outfits_described(cls, v):
        for name, words in v.items():
            if not words.strip():
                raise ValueError(f"wardrobe '{name}': describe the outfit in words")
            if len(words) > 300:
                raise ValueError(f"wardrobe '{name}': at most 300 characters")
        return v


class SetSpec(Strict, OmitDefaults):
    """A location: a static layout defined once. Its props keep their ids in every scene, so a
    cup on the table in scene 2 is the same cup, in the same place, in scene 7."""

    id: Id = Field(description="Unique set name; scenes refer to it.")
    description: str = Field("", max_length=500, description="The place in words (painters and prompts read it).")
    interior: bool = Field(False, description="Indoors: the sun is dimmed and the room lights carry the scene.")
    objects: list[ObjectSpec] = Field(min_length=1, max_length=10000, description="The props, with persistent ids.")
    lights: list[Light] = Field(
        default_factory=list,
        max_length=50,
        description="The set's own lights (lamps, windows); the scene's time of day adds sun and sky.",
    )

    @field_validator("lights")
    @classmethod
    def _practicals_only(cls, v):
        for light in v:
            if light.type == "sun":
                raise ValueError("a set's lights are lamps (point, spot, ambient); the sun comes from the scene's time")
        return v


class PropChange(Strict, OmitDefaults):
    """A change to one prop of the scene's set. It persists in later scenes of the same set
    until another change (or a scene's `reset`) says otherwise."""

    id: Id = Field(description="The prop's id (one of the set's objects, or one a scene added).")
    position: Optional[Vec3] = Field(None, description="New centre in the parent's frame (m).")
    rotation: Optional[Vec3] = Field(None, description="New Euler XYZ (degrees).")
    scale: Optional[Union[Positive, Vec3]] = Field(None, description="New uniform or per-axis scale.")
    appearance: Optional[str] = Field(None, max_length=500, description="New look in words (it was painted).")
    remove: bool = Field(False, description="Take the prop out of the set (with what is parented to it).")

    _f = field_validator("position", "rotation")(finite)
    _s = field_validator("scale")(positive_scale)

    @model_validator(mode="after")
    def _something(self):
        fields = (self.position, self.rotation, self.scale, self.appearance)
        if self.remove and any(f is not None for f in fields):
            raise ValueError("'remove' takes the prop away; do not also change it")
        if not self.remove and all(f is None for f in fields):
            raise ValueError("give what changes: position, rotation, scale, appearance, or remove: true")
        return self


class Blocking(Strict, OmitDefaults):
    """A cast member's part in one scene: where they are, what they do, and (only when it
    changes) what they wear."""

    id: Id = Field(description="A cast member's id.")
    wardrobe: Optional[Id] = Field(None, description="Change into this outfit (default: what they wore last).")
    position: Vec3 = Field((0.0, 0.0, 0.0), description="Feet position when there is no path (m).")
    facing: float = Field(0.0, description="Heading at the start (degrees; 0 = facing +Z, 90 = +X).")
    path: Optional[list[PathKey]] = Field(None, description="Feet positions over the scene's time.")
    curve: Literal["linear", "spline"] = Field("spline", description="Path between keys: straight or Catmull-Rom.")
    actions: list[Action] = Field(default_factory=list, max_length=200)

    _f = field_validator("position", "facing")(finite)


class Scene(Strict, OmitDefaults):
    """One scene: a set at a time of day, the cast present, and its shots. Scene time starts
    at 0 s (shots' `start` and the blocking's times are in it)."""

    id: Id = Field(description="Unique scene name; outputs go to scenes/<id>/.")
    heading: str = Field("", max_length=300, description="The screenplay's heading, e.g. 'INT. CAFE - NIGHT'.")
    set: Id = Field(description="The set it plays in.")
    time: Literal[TIMES] = Field("day", description="Time of day: " + ", ".join(TIMES) + ".")
    style: str = Field("", max_length=500, description="Added to the film's style for this scene.")
    reset: bool = Field(False, description="Start from the set as defined, forgetting earlier scenes' changes.")
    changes: list[PropChange] = Field(default_factory=list, max_length=1000, description="Props moved or re-dressed.")
    add: list[ObjectSpec] = Field(default_factory=list, max_length=1000, description="New props; they stay.")
    cast: list[Blocking] = Field(default_factory=list, max_length=100, description="Who is in the scene.")
    lights: list[Light] = Field(default_factory=list, max_length=50, description="Extra lights for this scene only.")
    shots: list[Shot] = Field(min_length=1, max_length=1000)


class FilmSpec(Strict, OmitDefaults):
    """A worldgen film: one cast, its sets, and the scenes in film order."""

    EXTENSIONS = ("sound", "edit")
    worldgen: Literal[2] = Field(description="Spec format version: 2 is a film of scenes.")
    title: str = Field("Untitled", max_length=200)
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seeds every random choice; same spec + seed -> same bytes.")
    render: RenderSettings = Field(default_factory=RenderSettings)
    style: str = Field("", max_length=500, description="Look of the whole film, in words.")
    cast: list[CastMember] = Field(default_factory=list, max_length=100)
    sets: list[SetSpec] = Field(min_length=1, max_length=200)
    scenes: list[Scene] = Field(min_length=1, max_length=MAX_SCENES)
    sound: Optional[SoundSpec] = Field(
        None, description="Music cues (shot ids from any scene), ambience and the loudness of the whole film."
    )
    edit: Optional[EditSpec] = Field(None, description="Title, lower thirds, credits, grade and subtitles of the film.")

    def set_(self, sid: str) -> SetSpec:
        return next(s for s in self.sets if s.id == sid)

    def member(self, cid: str) -> CastMember:
        return next(c for c in self.cast if c.id == cid)


__all__ = [
    "TIMES",
    "Blocking",
    "CastMember",
    "FilmSpec",
    "Finite",
    "PropChange",
    "Scene",
    "SetSpec",
]
