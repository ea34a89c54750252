"""The escalations table: one row per call (or complaint) an agent escalated to the team lead."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TimestampMixin, enum_type
from core.people.models import User


class EscalationStatus(StrEnum):
    OPEN = "open"  # raised, waiting in the inbox
    TAKEN = "taken"  # a team lead (or supervisor) has it
    CLOSED = "closed"  # handled, with a resolution


class Escalation(Base, TimestampMixin):
    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_status_created_at", "status", "created_at"),
        Index("ix_escalations_team_id_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The call it is about: the linkedid is kept even before (or without) the pbx_calls row.
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    customer_name: Mapped[str | None] = mapped_column(String(200))  # snapshot when raised
    caller_number: Mapped[str | None] = mapped_column(String(32))  # E.164 when it could be read
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[EscalationStatus] = mapped_column(
        enum_type(EscalationStatus), default=EscalationStatus.OPEN
    )
    # Users are deactivated, never deleted: no cascade on the agent who raised it.
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    taken_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(Text)

    agent: Mapped[User] = relationship(foreign_keys=[agent_id], lazy="joined")
    taken_by: Mapped[User | None] = relationship(foreign_keys=[taken_by_id], lazy="joined")
