"""The call table forms link to; acd owns filling it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TimestampMixin


class PbxCall(Base, TimestampMixin):
    __tablename__ = "pbx_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)  # Asterisk's id of the whole call
    uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)  # the first channel's id
    direction: Mapped[str] = mapped_column(String(16), default="inbound")  # inbound / outbound / internal
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164 when possible
    called_number: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(32))
    recording_file: Mapped[str | None] = mapped_column(String(255))
