"""The spec's film blocks: dialogue, voices, sound (music, ambience, loudness) and the edit
(transitions, title, lower thirds, credits, grade, subtitles).

All of them are optional and leave a spec that does not use them exactly as it was: a model
with extension fields drops them from its dump while they hold their defaults, so the spec's
hash, the resolved spec and every frame key of an older spec stay byte for byte the same."""

from __future__ import annotations

import math
from typing import ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from worldgen.spec.fields import file_path

MAX_SHOT_TIME = 36_000.0  # s: ten hours of film, as for characters
TRANSITIONS = ("cut", "dissolve", "fade", "wipe")
LOOKS = ("none", "warm", "cool", "teal_orange", "noir", "bleach_bypass")
MOODS = ("calm", "happy", "sad", "tense", "epic", "mysterious", "romantic", "playful")
AMBIENCES = ("wind", "sea", "rain", "birds", "city", "room", "forest")
FLITE_VOICES = ("slt", "rms", "awb", "kal", "kal16")  # the voices Debian's flite builds in
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OmitDefaults(BaseModel):
    """A model that grew fields after format 1 shipped: those named in `EXTENSIONS` leave its
    dump while they hold their defaults (why: see the module docstring)."""

    EXTENSIONS: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unused_extensions(self, handler):
        data = handler(self)
        if isinstance(data, dict):
            for name in self.EXTENSIONS:
                if name in data and getattr(self, name) == type(self).model_fields[name].get_default(
                    call_default_factory=True
                ):
                    del data[name]
        return data


def _finite(v):
    if v is not None and not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def _file(v):
    return file_path(v)


class Voice(_Model, OmitDefaults):
    """How a character sounds. Engines: 'flite' (the permissive default: Debian's flite with its
    built-in voices), 'piper' (the optional neural voice extra, GPL-3.0 engine) or 'model' (the
    transformers text-to-speech model given with `--voice-model`). Unset fields get a distinct
    choice per character."""

    EXTENSIONS = ("speaker",)

    engine: Literal["auto", "flite", "piper", "model"] = Field(
        "auto", description="auto: flite, or the --voice-model when one is given."
    )
    name: Optional[Literal[FLITE_VOICES]] = Field(
        None, description="flite voice: " + ", ".join(FLITE_VOICES) + " (default: one per character in turn)."
    )
    pitch: float = Field(0.0, ge=-12, le=12, description="Semitones up (+) or down (-).")
    rate: float = Field(1.0, ge=0.5, le=2.0, description="Speaking speed (1 = the voice's own).")
    speaker: Optional[int] = Field(
        None,
        ge=0,
        le=10_000,
        description="piper or model: the speaker id of a multi-speaker --voice-model (piper's one voice is 0); "
        "given, the voice is used as written, pitch 0 included (default: one speaker and pitch per character "
        "in turn). A film writes it into its scenes' specs.",
    )

    _f = field_validator("pitch", "rate")(_finite)


class Line(_Model, OmitDefaults):
    """One spoken line. It starts `at` seconds after its shot's first frame and may run on past
    the cut into the next shot. A line with its own `voice` is a voice over: its speaker has no
    body in the world (a film's voice-only cast member), so it is heard and moves no mouth, and
    it still takes its time in the shot (the lines after it follow it)."""

    EXTENSIONS = ("voice",)

    character: str = Field(description="Id of the character who speaks.")
    line: str = Field(min_length=1, max_length=1000, description="The words.")
    at: Optional[float] = Field(
        None,
        ge=0,
        le=MAX_SHOT_TIME,
        description="Seconds from the shot's start (default: 0.3 s after the shot's previous line ends, or 0.3 s).",
    )
    voice: Optional[Voice] = Field(
        None,
        description="A voice over: the voice of a speaker who is not a character of this world (a film "
        "writes its voice-only cast's lines so in its scenes' specs).",
    )

    _f = field_validator("at")(_finite)

    @field_validator("line")
    @classmethod
    def _words(cls, v):
        if not v.strip():
            raise ValueError("a line needs words")
        return v


class Transition(_Model):
    """How a shot comes in from the one before. dissolve and wipe overlap the two shots by
    `duration`; fade goes through black (out, then in) without overlap; on the first shot a fade
    comes up from black."""

    type: Literal[TRANSITIONS] = Field("cut", description="One of: " + ", ".join(TRANSITIONS) + ".")
    duration: float = Field(0.5, ge=0, le=10, description="Seconds.")

    _f = field_validator("duration")(_finite)


class MusicCue(_Model):
    """Music over a range of shots: composed from words (mood, genre, tempo, key) or a file of
    the user's. It starts with shot `from` and ends with shot `to` (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)
    start: str = Field(alias="from", description="First shot id.")
    end: Optional[str] = Field(None, alias="to", description="Last shot id (default: the first).")
    mood: Optional[str] = Field(
        None,
        max_length=200,
        description="Words, e.g. 'calm', 'tense strings'; the first known mood word ("
        + ", ".join(MOODS)
        + ") sets tempo, mode and instruments.",
    )
    tempo: Optional[float] = Field(None, ge=40, le=220, description="Beats per minute (default: the mood's).")
    key: Optional[str] = Field(
        None,
        pattern=r"^[A-G][#b]? ?(major|minor)?$",
        description="e.g. 'D minor', 'F# major', 'C' (default: the mood's).",
    )
    file: Optional[str] = Field(
        None, description="A WAV/FLAC/OGG/MP3 file instead of composed music, relative to the spec."
    )
    gain: float = Field(0.0, ge=-40, le=12, description="dB relative to the composed level.")

    _f = field_validator("tempo", "gain")(_finite)
    _p = field_validator("file")(_file)

    @model_validator(mode="after")
    def _check(self):
        if self.file is not None and (self.mood or self.tempo or self.key):
            raise ValueError("give 'file' or composed music (mood, tempo, key), not both")
        if self.file is not None and not self.file.lower().endswith(AUDIO_SUFFIXES):
            raise ValueError("file: a " + ", ".join(s[1:].upper() for s in AUDIO_SUFFIXES) + " file")
        return self


class Ambience(_Model):
    """A bed of background sound under a range of shots (default: the whole film)."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)
    kind: Optional[Literal[AMBIENCES]] = Field(None, description="Generated bed: " + ", ".join(AMBIENCES) + ".")
    file: Optional[str] = Field(None, description="A WAV/FLAC/OGG/MP3 file instead, relative to the spec (looped).")
    start: Optional[str] = Field(None, alias="from", description="First shot id (default: the first shot).")
    end: Optional[str] = Field(None, alias="to", description="Last shot id (default: the last shot).")
    gain: float = Field(0.0, ge=-40, le=12, description="dB relative to the generated level.")

    _f = field_validator("gain")(_finite)
    _p = field_validator("file")(_file)

    @model_validator(mode="after")
    def _check(self):
        if (self.kind is None) == (self.file is None):
            raise ValueError("give exactly one of 'kind' or 'file'")
        if self.file is not None and not self.file.lower().endswith(AUDIO_SUFFIXES):
            raise ValueError("file: a " + ", ".join(s[1:].upper() for s in AUDIO_SUFFIXES) + " file")
        return self


class SoundSpec(_Model):
    """The film's sound besides dialogue, and the loudness the mix is normalised to."""

    loudness: float = Field(
        -14.0,
        ge=-40,
        le=-5,
        description="Integrated loudness of the mix (LUFS): -14 for streaming, -23 for EBU R128 broadcast.",
    )
    music: list[MusicCue] = Field(default_factory=list, max_length=100, description="Music cues.")
    ambience: list[Ambience] = Field(default_factory=list, max_length=20, description="Background beds.")
    duck: float = Field(10.0, ge=6, le=30, description="dB the music and ambience drop under speech.")

    _f = field_validator("loudness", "duck")(_finite)


class Card(_Model):
    """A title card on black before the first shot."""

    text: Optional[str] = Field(None, max_length=200, description="Default: the spec's title.")
    subtitle: str = Field("", max_length=200, description="A smaller second line.")
    duration: float = Field(3.0, gt=0, le=30, description="Seconds on screen (it fades in and out).")

    _f = field_validator("duration")(_finite)


class Credits(_Model):
    """End credits generated from the spec: title, cast with their voices, music, tools."""

    duration: float = Field(4.0, gt=0, le=60, description="Seconds on screen.")
    extra: list[str] = Field(default_factory=list, max_length=50, description="More lines, at the end.")

    _f = field_validator("duration")(_finite)


class Grade(_Model):
    """The editorial grade on finished frames: a named look or a user 3D LUT (.cube)."""

    look: Optional[Literal[LOOKS]] = Field(
        None, description="One of: " + ", ".join(LOOKS) + " (default: chosen from the style words, else none)."
    )
    lut: Optional[str] = Field(None, description="A .cube 3D LUT file, relative to the spec, instead of a look.")
    strength: float = Field(1.0, ge=0, le=1, description="Mix of graded and ungraded frame.")

    _f = field_validator("strength")(_finite)
    _p = field_validator("lut")(_file)

    @model_validator(mode="after")
    def _check(self):
        if self.look is not None and self.lut is not None:
            raise ValueError("give 'look' or 'lut', not both")
        if self.lut is not None and not self.lut.lower().endswith(".cube"):
            raise ValueError("lut: a .cube file")
        return self


class Subtitles(_Model):
    """Subtitles of the dialogue: SRT and WebVTT files next to the film, optionally burnt in."""

    burn_in: bool = Field(False, description="Also draw them onto the frames.")


class EditSpec(_Model):
    """The edit after the frames: a new grade or title re-encodes without re-rendering a frame."""

    title: Optional[Union[bool, Card]] = Field(
        None, description="Opening title card: true (the spec's title) or its fields."
    )
    lower_thirds: bool = Field(False, description="Name each character at its first line.")
    credits: Optional[Union[bool, Credits]] = Field(None, description="End credits: true or their fields.")
    grade: Optional[Grade] = Field(None, description="Editorial grade of every shot.")
    subtitles: Subtitles = Field(
        default_factory=Subtitles, description="Dialogue subtitles (written whenever there is dialogue)."
    )
    fade_out: float = Field(0.0, ge=0, le=10, description="Seconds the last shot fades to black.")

    _f = field_validator("fade_out")(_finite)


MODELS = (Voice, Line, Transition, MusicCue, Ambience, SoundSpec, Card, Credits, Grade, Subtitles, EditSpec)
