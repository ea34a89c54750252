"""API shapes of QA (qa-core): scorecard definitions and versions, the live preview, assignments,
evaluations with their dispute and resolution, calibration (one and the list), and the inspectors to
pick from.

Shape rules (weights > 0, scale_max ≥ 1, bands 0..100, at least one section/item/band, standard score > 0)
are here, so pydantic reports them with field paths such as ``definition.sections.0.items.2.weight``; rules
across fields (unique keys, bands descending) are in :func:`qa.scoring.definition_problems`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.security.roles import Role
from qa.models import AssignmentStatus, DisputeOutcome, EvaluationStatus
from qa.scoring import Critical, ItemKind

Key = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]

# --- scorecards -----------------------------------------------------------------------------------


class ScorecardItem(BaseModel):
    key: Key
    title: Title
    weight: float = Field(gt=0, le=1000)  # 指标权重
    kind: ItemKind = ItemKind.YES_NO
    scale_max: int | None = Field(default=None, ge=1, le=100)  # required for kind "scale"
    allow_na: bool = False
    critical: Critical = Critical.NONE
    guidance: str | None = Field(default=None, max_length=2000)  # what meets the criterion


class ScorecardSection(BaseModel):
    key: Key
    title: Title
    weight: float = Field(gt=0, le=1000)
    critical: bool = False
    items: list[ScorecardItem] = Field(min_length=1, max_length=100)


class GradeBand(BaseModel):
    grade: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]  # 等级
    min_pct: float = Field(ge=0, le=100)


class ScorecardDefinition(BaseModel):
    sections: list[ScorecardSection] = Field(min_length=1, max_length=50)
    grade_bands: list[GradeBand] = Field(min_length=1, max_length=20)
    standard_score: int = Field(gt=0, le=100000)  # 标准分


class ScorecardIn(BaseModel):
    name: Title
    description: str | None = Field(default=None, max_length=2000)
    definition: ScorecardDefinition


class ScorecardSummary(BaseModel):
    id: int
    name: str
    description: str | None
    version: int  # the current version
    standard_score: int


class ScorecardOut(ScorecardSummary):
    definition: dict[str, Any]
    versions: list[int]


class ScorecardRef(BaseModel):
    """The exact version an evaluation or assignment uses."""

    id: int
    name: str
    version: int
    definition: dict[str, Any]
    standard_score: int


# --- scoring --------------------------------------------------------------------------------------


class Answer(BaseModel):
    value: int | None = None  # 0|1 (yes/no), 0..scale_max, None = N/A
    evidence: str = Field(default="", max_length=4000)  # 得分依据, required below the item's max


class SectionResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    title: str
    weight: float
    pct: float | None
    earned: float
    possible: float
    failed: bool


class ScoreResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    total_pct: float | None
    score: float | None
    grade: str | None
    failed: bool
    failed_sections: list[str]
    sections: list[SectionResultOut]


class PreviewIn(BaseModel):
    version: int | None = None  # the scorecard's current version when left out
    answers: dict[str, Answer] = {}


# --- assignments ----------------------------------------------------------------------------------


class AssignmentIn(BaseModel):
    recording_id: int
    scorecard_id: int
    inspector_id: int
    due_at: datetime | None = None  # naive = the center's wall time


class AssignmentOut(BaseModel):
    id: int
    recording_id: int
    linkedid: str | None
    queue: str | None
    agent: str | None
    agent_name: str | None
    started_at: datetime | None
    duration_ms: int | None
    reason: str
    inspector_id: int
    inspector_name: str
    status: AssignmentStatus
    scorecard_id: int
    scorecard_version: int
    evaluation_id: int | None  # the draft or submitted evaluation, if any
    calibration_id: int | None
    due_at: datetime | None = None
    created_at: datetime | None = None


# --- evaluations ----------------------------------------------------------------------------------


class Comment(BaseModel):
    at_ms: int = Field(ge=0)  # pinned to this point of the recording
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class EvaluationIn(BaseModel):
    assignment_id: int
    answers: dict[str, Answer] = {}
    comments: list[Comment] = Field(default=[], max_length=500)
    summary: str | None = Field(default=None, max_length=4000)
    submit: bool = False


class EvaluationUpdate(BaseModel):
    """The body of PUT: as POST; ``assignment_id`` may be left out (it cannot change)."""

    assignment_id: int | None = None
    answers: dict[str, Answer] = {}
    comments: list[Comment] = Field(default=[], max_length=500)
    summary: str | None = Field(default=None, max_length=4000)
    submit: bool = False


class DisputeIn(BaseModel):
    reason: NonBlank


class ResolveIn(BaseModel):
    outcome: DisputeOutcome
    note: str | None = Field(default=None, max_length=4000)
    answers: dict[str, Answer] | None = None  # required for "rescored"


class HistoryEntry(BaseModel):
    """A result replaced by a rescore."""

    at: datetime
    by: int | None
    by_name: str | None = None
    answers: dict[str, Any]
    result: dict[str, Any]


class EvaluationOut(BaseModel):
    id: int
    assignment_id: int | None
    recording_id: int
    linkedid: str | None
    queue: str | None
    agent: str | None
    agent_name: str | None
    agent_user_id: int | None
    inspector_id: int
    inspector_name: str
    scorecard: ScorecardRef
    answers: dict[str, Any]
    comments: list[dict[str, Any]]
    summary: str | None
    result: ScoreResultOut
    status: EvaluationStatus
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    dispute_reason: str | None
    disputed_at: datetime | None
    resolution: DisputeOutcome | None
    resolution_note: str | None
    resolved_by_name: str | None
    resolved_at: datetime | None
    calibration_id: int | None = None
    history: list[HistoryEntry] = []
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --- calibration ----------------------------------------------------------------------------------


class CalibrationIn(BaseModel):
    recording_id: int
    scorecard_id: int
    inspector_ids: list[int] = Field(min_length=2, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class CalibrationCreated(BaseModel):
    id: int
    assignments: list[AssignmentOut]


class CalibrationInspector(BaseModel):
    inspector_id: int
    name: str
    status: str  # the assignment's status ("open") or the evaluation's (draft, submitted, ...)
    evaluation_id: int | None = None
    total_pct: float | None
    grade: str | None


class Spread(BaseModel):
    """Over the submitted evaluations; all None until one is submitted."""

    min: float | None
    max: float | None
    range: float | None
    stdev: float | None  # population standard deviation of total_pct


class CalibrationItem(BaseModel):
    key: str
    title: str
    section: str
    values: dict[int, int | None]  # inspector id → value (None = N/A), submitted evaluations only
    agree: bool  # every submitted inspector gave the same value


class CalibrationOut(BaseModel):
    id: int
    recording_id: int
    note: str | None
    created_at: datetime
    scorecard: ScorecardRef
    inspectors: list[CalibrationInspector]
    spread: Spread
    items: list[CalibrationItem]


class CalibrationMember(BaseModel):
    """A taking-part inspector in the calibration list: who, and how far (never their score)."""

    inspector_id: int
    name: str
    status: str  # the assignment's status ("open") or the evaluation's (draft, submitted, ...)


class CalibrationListItem(BaseModel):
    id: int
    recording_id: int
    linkedid: str | None
    agent_name: str | None  # the agent of the call (the member name when no user is known)
    scorecard_id: int
    scorecard_name: str
    scorecard_version: int
    note: str | None
    created_at: datetime
    inspectors: list[CalibrationMember]
    submitted: int  # how many inspectors submitted their scoring
    # Over the submitted scorings, once two are in; None before, and for an inspector who has not
    # submitted their own yet (they score blind).
    spread: Spread | None
    my_assignment_id: int | None = None  # the caller's own assignment in it, if they take part
    my_status: str | None = None


# --- inspectors -----------------------------------------------------------------------------------


class InspectorOut(BaseModel):
    """Someone who may score calls (QA_EVALUATE), for the pickers of assignments, rules and calibration."""

    id: int
    name: str
    agent_number: str | None  # 工号
    username: str
    role: Role
    team_id: int | None
    team_name: str | None
    open_assignments: int  # open assignments now (their backlog)
