"""Durable call records: what each call did in each queue and whom it rang.

One ``pbx_calls`` row per call (``core.calls.models.PbxCall``, by linkedid) is the call record forms link
to; this module adds the rows under it:

* ``QueueLeg`` — one stay of a call in one queue (a call transferred into a second queue has two legs, as
  queue_log counts it); a refusal at the door (JOINEMPTY) is a leg with outcome ``refused_at_join`` and no
  position.
* ``RingAttempt`` — one ringing of one member's phone for a leg.
* ``PbxChannel`` — every channel seen in CEL (uniqueid → linkedid), so queue_log's callid (the caller's
  uniqueid) and CONNECT's agent uniqueid can be mapped to the call and to the member's interface.

Durations are integer milliseconds (never floats in the database), read as float seconds through the
``*_s`` properties. Times are aware UTC datetimes. The unique constraints make ingest idempotent; the
reconciliation of near-equal times from different sources (AMI to the microsecond, queue_log and CSV to the
second) is done by ``acd.records.service``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acd.events import CallOutcome, EndedBy
from core.calls.models import PbxCall
from core.db import Base, enum_type

__all__ = ["CallOutcome", "EndedBy", "PbxCall", "PbxChannel", "QueueLeg", "RingAttempt", "RingOutcome"]


class RingOutcome(StrEnum):
    ANSWERED = "answered"
    RING_NO_ANSWER = "ring_no_answer"
    CANCELED = "canceled"  # the caller hung up or another member answered first


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000.0


class QueueLeg(Base):
    __tablename__ = "pbx_queue_legs"
    __table_args__ = (
        UniqueConstraint("linkedid", "queue", "joined_at", name="uq_pbx_queue_legs_linkedid_queue_joined"),
        Index("ix_pbx_queue_legs_queue_joined", "queue", "joined_at"),
        # "today" across queues (wallboard) and one agent's day (my day) without scanning the history
        Index("ix_pbx_queue_legs_joined", "joined_at"),
        Index("ix_pbx_queue_legs_interface_joined", "interface", "joined_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("pbx_calls.id", ondelete="CASCADE"), index=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    uniqueid: Mapped[str | None] = mapped_column(String(64))  # the caller channel in the queue
    queue: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column()  # for a refusal: when it was refused
    position: Mapped[int | None] = mapped_column()  # at join (None: join not seen, or refused)
    original_position: Mapped[int | None] = mapped_column()  # queue_log's origposition
    exit_position: Mapped[int | None] = mapped_column()  # where an unanswered caller left from
    answered_at: Mapped[datetime | None] = mapped_column()
    agent: Mapped[str | None] = mapped_column(String(64))  # MemberName of who answered
    interface: Mapped[str | None] = mapped_column(String(64))
    agent_uniqueid: Mapped[str | None] = mapped_column(String(64))
    wait_ms: Mapped[int | None] = mapped_column()  # join → answer, or join → leaving unanswered
    talk_ms: Mapped[int | None] = mapped_column()
    wrapup_ms: Mapped[int | None] = mapped_column()  # the queue's wrapuptime when known
    ended_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[CallOutcome | None] = mapped_column(enum_type(CallOutcome))  # None while in progress
    ended_by: Mapped[EndedBy | None] = mapped_column(enum_type(EndedBy))
    transfer_target: Mapped[str | None] = mapped_column(String(128))  # "exten@context"

    attempts: Mapped[list[RingAttempt]] = relationship(
        back_populates="leg", cascade="all, delete-orphan", order_by="RingAttempt.started_at"
    )

    @property
    def wait_s(self) -> float | None:
        return _seconds(self.wait_ms)

    @property
    def talk_s(self) -> float | None:
        return _seconds(self.talk_ms)

    @property
    def wrapup_s(self) -> float | None:
        return _seconds(self.wrapup_ms)


class RingAttempt(Base):
    __tablename__ = "pbx_ring_attempts"
    __table_args__ = (
        UniqueConstraint("leg_id", "agent", "started_at", name="uq_pbx_ring_attempts_leg_agent_started"),
        Index("ix_pbx_ring_attempts_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    leg_id: Mapped[int] = mapped_column(ForeignKey("pbx_queue_legs.id", ondelete="CASCADE"), index=True)
    # queue_log names the member only, so the member name is the key and the interface is filled when known
    agent: Mapped[str] = mapped_column(String(64), index=True)
    interface: Mapped[str | None] = mapped_column(String(64))
    agent_uniqueid: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[RingOutcome | None] = mapped_column(enum_type(RingOutcome))  # None while ringing
    ring_ms: Mapped[int | None] = mapped_column()

    leg: Mapped[QueueLeg] = relationship(back_populates="attempts")

    @property
    def ring_s(self) -> float | None:
        return _seconds(self.ring_ms)


class PbxChannel(Base):
    __tablename__ = "pbx_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(128))  # PJSIP/1002-00000003
    caller_number: Mapped[str | None] = mapped_column(String(64))  # as the PBX presented it
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    @property
    def interface(self) -> str | None:
        """``PJSIP/1002`` of ``PJSIP/1002-00000003`` (the channel name minus its sequence suffix)."""
        if not self.channel or "/" not in self.channel:
            return None
        base, sep, _suffix = self.channel.rpartition("-")
        return base if sep else self.channel
