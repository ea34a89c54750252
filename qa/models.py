"""Tables of QA (qa-core): scorecards and their immutable versions, assignments of recorded calls to
inspectors, evaluations (with their dispute and its resolution) and calibration sessions.

Sampling rules and runs live in ``qa.sampling_models`` (qa-sampling); they create rows of
``qa_assignments`` through ``qa.service.assign``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, TimestampMixin, enum_type
from core.people.models import User


class AssignmentStatus(StrEnum):
    OPEN = "open"  # waiting for the inspector's submitted evaluation
    DONE = "done"  # the evaluation was submitted


class EvaluationStatus(StrEnum):
    DRAFT = "draft"  # the inspector is scoring; only they see it
    SUBMITTED = "submitted"  # visible to the agent, waiting for acknowledge or dispute
    ACKNOWLEDGED = "acknowledged"  # the agent accepted it (final)
    DISPUTED = "disputed"  # the agent disputed it with a reason; a QA lead resolves
    RESOLVED = "resolved"  # the dispute was resolved: upheld or rescored (final)


class DisputeOutcome(StrEnum):
    UPHELD = "upheld"  # the original result stands
    RESCORED = "rescored"  # the QA lead scored it again; the original stays in the history


class Scorecard(Base, TimestampMixin):
    """A scorecard (质检评分表); its content is in versions, ``current_version`` is the one new work uses."""

    __tablename__ = "qa_scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(default=1)

    versions: Mapped[list[ScorecardVersion]] = relationship(
        back_populates="scorecard", order_by="ScorecardVersion.version"
    )


class ScorecardVersion(Base):
    """One version of a scorecard: never changed once written (an edit is a new version), so every
    evaluation keeps the exact definition it was scored with."""

    __tablename__ = "qa_scorecard_versions"
    __table_args__ = (UniqueConstraint("scorecard_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("qa_scorecards.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    # {"sections": [...], "grade_bands": [...], "standard_score": int} — see qa.scoring
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    standard_score: Mapped[int] = mapped_column()  # 标准分
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    scorecard: Mapped[Scorecard] = relationship(back_populates="versions", lazy="joined")


class Calibration(Base):
    """Several inspectors score the same call with the same scorecard version; the spread shows how far
    apart they are."""

    __tablename__ = "qa_calibrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    scorecard_version_id: Mapped[int] = mapped_column(ForeignKey("qa_scorecard_versions.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    scorecard_version: Mapped[ScorecardVersion] = relationship(lazy="joined")


class Assignment(Base):
    """A recorded call given to an inspector to score (by a sampling rule, by hand, or for calibration)."""

    __tablename__ = "qa_assignments"
    __table_args__ = (
        Index("ix_qa_assignments_inspector_id_status", "inspector_id", "status"),
        Index("ix_qa_assignments_recording_id_inspector_id", "recording_id", "inspector_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"))
    scorecard_version_id: Mapped[int] = mapped_column(ForeignKey("qa_scorecard_versions.id"))
    # Users are deactivated, never deleted.
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(40))  # a sampling rule's code, "manual" or "calibration"
    calibration_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_calibrations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_type(AssignmentStatus), default=AssignmentStatus.OPEN
    )
    due_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    scorecard_version: Mapped[ScorecardVersion] = relationship(lazy="joined")
    inspector: Mapped[User] = relationship(foreign_keys=[inspector_id], lazy="joined")


class Evaluation(Base, TimestampMixin):
    """An inspector's scoring of one call (评估表): answers with evidence (得分依据), the result (得分, 等级,
    compared with 标准分), and the agent's acknowledgement or dispute and its resolution."""

    __tablename__ = "qa_evaluations"
    __table_args__ = (
        Index("ix_qa_evaluations_agent_user_id_status", "agent_user_id", "status"),
        Index("ix_qa_evaluations_status_disputed_at", "status", "disputed_at"),
        Index("ix_qa_evaluations_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_assignments.id", ondelete="SET NULL"), unique=True
    )
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    scorecard_version_id: Mapped[int] = mapped_column(ForeignKey("qa_scorecard_versions.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The agent evaluated (snapshot from the recording: the user when known, and the queue member name).
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agent: Mapped[str | None] = mapped_column(String(100))
    queue: Mapped[str | None] = mapped_column(String(80), index=True)
    status: Mapped[EvaluationStatus] = mapped_column(
        enum_type(EvaluationStatus), default=EvaluationStatus.DRAFT
    )
    # {item_key: {"value": int | None, "evidence": str}}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{at_ms, text}]
    summary: Mapped[str | None] = mapped_column(Text)
    # The result (the rescored one after a rescore), kept so results need no re-scoring.
    total_pct: Mapped[float | None] = mapped_column()
    score: Mapped[float | None] = mapped_column()
    grade: Mapped[str | None] = mapped_column(String(40))
    failed: Mapped[bool] = mapped_column(default=False)
    failed_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    disputed_at: Mapped[datetime | None] = mapped_column()
    resolution: Mapped[DisputeOutcome | None] = mapped_column(enum_type(DisputeOutcome))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    calibration_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_calibrations.id", ondelete="CASCADE"), index=True
    )
    # Earlier results replaced by a rescore: [{"at", "by", "answers", "result"}], oldest first.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    scorecard_version: Mapped[ScorecardVersion] = relationship(lazy="joined")
    inspector: Mapped[User] = relationship(foreign_keys=[inspector_id], lazy="joined")
    agent_user: Mapped[User | None] = relationship(foreign_keys=[agent_user_id], lazy="joined")
    resolver: Mapped[User | None] = relationship(foreign_keys=[resolved_by], lazy="joined")
