"""Tables of the IVR: versioned flow definitions, one record per IVR session, call-back requests and
the post-call survey answers.

A flow is a JSON document (see :mod:`ivr.flows`); every edit is a new version row, one version per flow
name is active. ``ivr_sessions`` keeps each call's walk through the IVR (path of choices, outcome, timings)
for the reports' containment and choice figures.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, TimestampMixin, enum_type


class IvrOutcome(StrEnum):
    SELF_SERVICE = "self_service"  # the caller's request was answered by the IVR itself
    TO_QUEUE = "to_queue"  # handed to a queue (a menu choice or the caller asked for a person)
    CALLBACK = "callback"  # a call-back request was left (out of hours, or instead of waiting)
    HANGUP = "hangup"  # the caller hung up in the IVR
    ERROR = "error"  # protocol error, silent PBX, broken flow


class CallbackReason(StrEnum):
    OUT_OF_HOURS = "out_of_hours"
    LONG_WAIT = "long_wait"  # left the queue unanswered (AGI callback after Queue())
    WAIT_OFFER = "wait_offer"  # took the estimated-wait offer before joining: keeps their place


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DIALLING = "dialling"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"  # the dialer gave up after its maximum of attempts


class IvrFlow(Base):
    """One version of a flow; ``name`` is the FastAGI script path it serves (``ivr``, ``survey`` …)."""

    __tablename__ = "ivr_flows"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_ivr_flows_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column()
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class IvrSession(Base):
    """One call's pass through a FastAGI script: who, which flow version, the path, how it ended."""

    __tablename__ = "ivr_sessions"
    __table_args__ = (Index("ix_ivr_sessions_started", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    script: Mapped[str] = mapped_column(String(32))  # ivr / callback / survey
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(100))
    caller: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164 when it parses, else raw
    caller_name: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(16))
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("ivr_flows.id", ondelete="SET NULL"))
    flow_version: Mapped[int | None] = mapped_column()
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    # [{"step": "main", "kind": "menu", "input": "1", "result": "ok", "ms": 4586}, …]
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    choice: Mapped[str | None] = mapped_column(String(16))  # the last IVR_CHOICE set
    queue: Mapped[str | None] = mapped_column(String(64))
    queue_priority: Mapped[int | None] = mapped_column()
    outcome: Mapped[IvrOutcome] = mapped_column(enum_type(IvrOutcome))
    error: Mapped[str | None] = mapped_column(String(300))
    commands: Mapped[int] = mapped_column(default=0)  # AGI commands sent
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime] = mapped_column()
    duration_ms: Mapped[int] = mapped_column(default=0)


class IvrCallbackRequest(Base, TimestampMixin):
    """A caller asked to be called back (out of hours, or instead of waiting); the ACD dials it later
    (``acd.callbacks``): the attempts made, when the next one is due, and who took the answered call."""

    __tablename__ = "ivr_callback_requests"
    __table_args__ = (
        Index("ix_ivr_callback_requests_status_requested", "status", "requested_at"),
        Index("ix_ivr_callback_requests_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    caller: Mapped[str] = mapped_column(String(32))  # the number to call back, E.164 when it parses
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    queue: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[CallbackReason] = mapped_column(enum_type(CallbackReason))
    status: Mapped[CallbackStatus] = mapped_column(enum_type(CallbackStatus), default=CallbackStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column()  # a retry is due then (None: at once)
    agent_name: Mapped[str | None] = mapped_column(String(100))  # the agent who took the answered call
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column()  # closed: done, failed or cancelled


class SurveyResult(Base):
    """The caller's answer to the post-call question (1 非常满意 … 5 非常不满意, as ``Satisfaction``),
    with the call, the agent who took it and the queue it came through."""

    __tablename__ = "ivr_survey_results"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_ivr_survey_results_answered", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str | None] = mapped_column(String(64))
    caller: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_interface: Mapped[str | None] = mapped_column(String(100))  # MEMBERINTERFACE, e.g. PJSIP/1002
    agent_name: Mapped[str | None] = mapped_column(String(100))  # MEMBERNAME
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    score: Mapped[int] = mapped_column()
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
