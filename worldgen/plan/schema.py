"""The semantic plan an LLM (or the rule-based parser) writes: what is in the scene, how
things relate, what moves, and the shots. No coordinates: the solver writes those."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

RELATIONS = (
    "left_of",
    "right_of",
    "in_front_of",
    "behind",
    "on_top_of",
    "under",
    "inside",
    "next_to",
    "facing",
    "far_from",
)
VIEW_DEPENDENT = ("left_of", "right_of", "in_front_of", "behind")
SHOT_MOVES = (
    "static",
    "orbit",
    "dolly_in",
    "dolly_out",
    "truck_left",
    "truck_right",
    "pedestal_up",
    "pedestal_down",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "zoom_in",
    "zoom_out",
    "crane_up",
    "track",
)
DIRECTIONS = ("left", "right", "forward", "backward", "toward", "away")
SETTINGS = ("grass", "sand", "street", "floor", "snow", "water", "dirt")
TIMES = ("dawn", "noon", "sunset", "dusk", "night", "overcast")

Name = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="lower_snake_case name, unique")


class P(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanObject(P):
    name: str = Name
    category: str = Field(max_length=40, description="what it is, one or two words: car, tree, table, dog")
    appearance: str = Field("", max_length=200, description="colours and materials in words")
    size: Optional[list[float]] = Field(
        None, min_length=3, max_length=3, description="rough [width, height, depth] in metres; omit for a typical size"
    )


class Relation(P):
    subject: str = Field(max_length=32)
    relation: Literal[RELATIONS]
    object: str = Field(max_length=32)


class Motion(P):
    subject: str = Field(max_length=32)
    direction: Literal[DIRECTIONS] = Field(description="screen directions as seen from the main camera")
    target: Optional[str] = Field(None, max_length=32, description="with toward/away: the object")
    distance: float = Field(4.0, gt=0, le=50, description="metres")


class PlanShot(P):
    description: str = Field("", max_length=300, description="what this shot shows")
    move: Literal[SHOT_MOVES] = "static"
    subjects: list[str] = Field(default_factory=list, max_length=8, description="objects the shot frames")
    duration: float = Field(4.0, ge=0.5, le=30)


class Plan(P):
    title: str = Field("Untitled", max_length=80)
    setting: Literal[SETTINGS] = "grass"
    time_of_day: Literal[TIMES] = "noon"
    style: str = Field("", max_length=120)
    objects: list[PlanObject] = Field(min_length=1, max_length=24)
    relations: list[Relation] = Field(default_factory=list, max_length=40)
    motions: list[Motion] = Field(default_factory=list, max_length=12)
    shots: list[PlanShot] = Field(min_length=1, max_length=12)


def plan_json_schema() -> dict:
    """The schema the LLM's output is constrained to during decoding."""
    return Plan.model_json_schema()


def check_plan(plan: Plan) -> list[str]:
    """Reference errors a schema cannot express, as short lines fed back to the LLM."""
    names = [o.name for o in plan.objects]
    errs = []
    seen = set()
    for n in names:
        if n in seen:
            errs.append(f"objects: duplicate name '{n}'")
        seen.add(n)
    for i, r in enumerate(plan.relations):
        for role in ("subject", "object"):
            v = getattr(r, role)
            if v not in seen:
                errs.append(f"relations[{i}].{role}: no object named '{v}' (names: {', '.join(names)})")
        if r.subject == r.object:
            errs.append(f"relations[{i}]: an object cannot relate to itself")
    for i, m in enumerate(plan.motions):
        if m.subject not in seen:
            errs.append(f"motions[{i}].subject: no object named '{m.subject}'")
        if m.direction in ("toward", "away") and m.target not in seen:
            errs.append(f"motions[{i}].target: '{m.direction}' needs the name of an object")
    for i, s in enumerate(plan.shots):
        for v in s.subjects:
            if v not in seen:
                errs.append(f"shots[{i}].subjects: no object named '{v}'")
    return errs
