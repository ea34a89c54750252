"""Tables of QA sampling (qa-sampling): the sampling rules that pick recorded calls for inspection and
the log of sampling runs. The assignments a run creates are rows of ``qa_assignments`` (``qa.models``),
made through ``qa.service.assign``; their ``reason`` is the rule's ``code``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, TimestampMixin, enum_type


class SamplingRuleKind(StrEnum):
    RANDOM_PER_AGENT = "random_per_agent"  # N calls per agent per week, seeded random
    LONG_SILENCE = "long_silence"  # every call whose longest silence ≥ min_silence_ms
    OVERTALK = "overtalk"  # every call with both sides speaking ≥ min_overtalk_ms in all
    LOW_SURVEY = "low_survey"  # every call whose post-call survey answer is dissatisfied (score ≥ min_score)
    COMPLAINT = "complaint"  # every call a complaint was registered on
    NEW_AGENT = "new_agent"  # every call of an agent in their first ``days`` days (users.hired_on)


class SamplingRule(Base, TimestampMixin):
    """One rule; ``params`` depend on the kind (validated in ``qa.sampling.validate_params``)."""

    __tablename__ = "qa_sampling_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # also the assignment's reason
    kind: Mapped[SamplingRuleKind] = mapped_column(enum_type(SamplingRuleKind))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    inspector_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # users with qa.evaluate
    scorecard_id: Mapped[int | None] = mapped_column(ForeignKey("qa_scorecards.id", ondelete="SET NULL"))


class SamplingRun(Base):
    """One run over a period: when, by whom, and how many assignments each rule created."""

    __tablename__ = "qa_sampling_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    period_start: Mapped[datetime] = mapped_column()  # UTC instant, inclusive
    period_end: Mapped[datetime] = mapped_column()  # UTC instant, exclusive
    created: Mapped[int] = mapped_column(default=0)
    by_rule: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    skipped: Mapped[list[str]] = mapped_column(JSON, default=list)  # active rules lacking inspector/scorecard
    triggered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
