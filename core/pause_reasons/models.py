"""The ``pause_reasons`` table: the reasons an agent may pause with (休息, 就餐, 培训, 会议, ...)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TimestampMixin


class PauseReason(Base, TimestampMixin):
    """One reason. ``code`` is the text sent to the PBX (QueuePause Reason) and written to queue_log and the
    state history, so it never changes once created and a reason is deactivated, never deleted."""

    __tablename__ = "pause_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    # 培训/会议 count toward utilisation, 休息/就餐 do not (for the reports, later).
    counts_as_productive: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    # A pause longer than this is meant to alert on the wallboard; stored only for now.
    max_minutes: Mapped[int | None] = mapped_column()
