"""Tables of the reports package: additive interval aggregates and their daily rollup, the agents' logged-in
and paused spans, and the maintainer's watermark.

Every aggregate column is additive (a count, a sum of milliseconds, or a maximum), so any grain (15/30/60
minutes, day, week, month), any team (the sum of its agents at query time) and any service-level variant is
computed from them. Interval rows are keyed by the UTC start of their 15-minute bucket; day rows by the
calendar day in the center's zone (the rollup sums the day's intervals).

The reports also need "legs/attempts that ended since" (the maintainer's scan): the two ``ended_at`` indexes
below are declared here on the telephony core's tables (same metadata, so ``create_all`` builds them; the
integrator's migration must create them too).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acd.records.models import QueueLeg, RingAttempt
from core.db import Base, enum_type

__all__ = [
    "AGENT_COUNTERS",
    "QUEUE_COUNTERS",
    "AgentDay",
    "AgentInterval",
    "AgentStateKind",
    "AgentStateSpan",
    "QueueDay",
    "QueueInterval",
    "ReportWatermark",
]

BUCKET_SECONDS = 900

Index("ix_pbx_queue_legs_ended", QueueLeg.ended_at)
Index("ix_pbx_ring_attempts_ended", RingAttempt.ended_at)

# counters summed across buckets; the ``max_*`` ones are combined with max()
QUEUE_COUNTERS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timed_out",
    "left_empty",
    "refused",
    "transferred",
    "answered_within",
    "wait_answered_ms",
    "wait_answered_n",
    "wait_ms",
    "wait_n",
    "max_wait_ms",
    "talk_ms",
    "talk_n",
    "wrapup_ms",
    "wrapup_n",
    "offers",
    "met",
    "missed",
    "ring_no_answer",
)
AGENT_COUNTERS = (
    "answered",
    "transferred",
    "talk_ms",
    "talk_n",
    "wrapup_ms",
    "wrapup_n",
    "offers",
    "met",
    "missed",
    "ring_no_answer",
    "canceled",
    "logged_in_ms",
    "paused_ms",
)


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, default=0)


class _QueueCounters:
    offered: Mapped[int] = _counter()  # legs that joined and ended (refusals are not offered)
    answered: Mapped[int] = _counter()
    abandoned: Mapped[int] = _counter()  # true abandons (the caller hung up while waiting)
    short_abandoned: Mapped[int] = _counter()  # abandons within the short-abandon threshold
    timed_out: Mapped[int] = _counter()
    left_empty: Mapped[int] = _counter()
    refused: Mapped[int] = _counter()  # refused at the door (not offered)
    transferred: Mapped[int] = _counter()
    answered_within: Mapped[int] = _counter()  # answered with wait ≤ the queue's threshold
    threshold_s: Mapped[int] = mapped_column(default=0)  # the threshold ``answered_within`` used
    wait_answered_ms: Mapped[int] = _counter()
    wait_answered_n: Mapped[int] = _counter()
    wait_ms: Mapped[int] = _counter()  # every offered leg with a known wait
    wait_n: Mapped[int] = _counter()
    max_wait_ms: Mapped[int] = _counter()
    talk_ms: Mapped[int] = _counter()
    talk_n: Mapped[int] = _counter()
    wrapup_ms: Mapped[int] = _counter()
    wrapup_n: Mapped[int] = _counter()
    offers: Mapped[int] = _counter()  # ring attempts of the queue's legs that ended
    met: Mapped[int] = _counter()
    missed: Mapped[int] = _counter()
    ring_no_answer: Mapped[int] = _counter()


class _AgentCounters:
    interface: Mapped[str | None] = mapped_column(String(64))  # the member's interface when known
    answered: Mapped[int] = _counter()  # legs the agent answered (bucket of the answer)
    transferred: Mapped[int] = _counter()
    talk_ms: Mapped[int] = _counter()
    talk_n: Mapped[int] = _counter()
    wrapup_ms: Mapped[int] = _counter()
    wrapup_n: Mapped[int] = _counter()
    offers: Mapped[int] = _counter()  # ring attempts (bucket of the ring start)
    met: Mapped[int] = _counter()
    missed: Mapped[int] = _counter()
    ring_no_answer: Mapped[int] = _counter()
    canceled: Mapped[int] = _counter()
    logged_in_ms: Mapped[int] = _counter()
    paused_ms: Mapped[int] = _counter()


class QueueInterval(_QueueCounters, Base):
    __tablename__ = "reports_queue_intervals"
    __table_args__ = (
        UniqueConstraint("queue", "bucket_start", name="uq_reports_queue_intervals"),
        Index("ix_reports_queue_intervals_bucket", "bucket_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    bucket_start: Mapped[datetime] = mapped_column()


class AgentInterval(_AgentCounters, Base):
    __tablename__ = "reports_agent_intervals"
    __table_args__ = (
        UniqueConstraint("agent", "bucket_start", name="uq_reports_agent_intervals"),
        Index("ix_reports_agent_intervals_bucket", "bucket_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))  # the member name
    bucket_start: Mapped[datetime] = mapped_column()


class QueueDay(_QueueCounters, Base):
    __tablename__ = "reports_queue_days"
    __table_args__ = (
        UniqueConstraint("queue", "day", name="uq_reports_queue_days"),
        Index("ix_reports_queue_days_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column()  # in the center's zone


class AgentDay(_AgentCounters, Base):
    __tablename__ = "reports_agent_days"
    __table_args__ = (
        UniqueConstraint("agent", "day", name="uq_reports_agent_days"),
        Index("ix_reports_agent_days_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column()


class AgentStateKind(StrEnum):
    LOGGED_IN = "logged_in"  # a member of at least one queue
    PAUSED = "paused"  # paused (in every queue it is logged in to, or all at once)


class AgentStateSpan(Base):
    """A stretch of time an agent (member name) was logged in, or paused; ``ended_at`` None while open."""

    __tablename__ = "reports_agent_state_spans"
    __table_args__ = (
        UniqueConstraint("agent", "kind", "started_at", name="uq_reports_agent_state_spans"),
        Index("ix_reports_agent_state_spans_started", "started_at"),
        Index("ix_reports_agent_state_spans_ended", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    interface: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[AgentStateKind] = mapped_column(enum_type(AgentStateKind))
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(64))  # the pause reason


class ReportWatermark(Base):
    """How far the aggregate maintainer has read the raw records (one row per maintainer name)."""

    __tablename__ = "reports_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime | None] = mapped_column()
    span_id: Mapped[int] = mapped_column(default=0)  # the newest agent-state span seen (spans come late too)
    zone: Mapped[str] = mapped_column(String(64), default="UTC")  # the day rollup's zone
