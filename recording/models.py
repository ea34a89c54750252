"""Tables of the recording package: one row per recorded call (``recordings``), its audio analysis
(``recording_analyses``), the holds that keep it from retention (``recording_holds``) and the per-queue
recording policy (``recording_policies``).

A ``Recording`` is keyed by the caller channel's ``uniqueid`` (Asterisk names the MixMonitor file after it),
so the same file ingested twice is one row; ``sha256`` tells whether the file behind it changed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, TimestampMixin, enum_type

__all__ = [
    "Recording",
    "RecordingAnalysis",
    "RecordingHold",
    "RecordingMode",
    "RecordingPolicy",
    "RecordingStatus",
]


class RecordingStatus(StrEnum):
    PENDING = "pending"  # seen, not yet (completely) ingested
    STORED = "stored"  # compressed audio in the store
    EMPTY = "empty"  # a header-only WAV: the call was never bridged
    CORRUPT = "corrupt"  # not a WAV, or truncated
    MISSING = "missing"  # the PBX said it recorded, no file came
    DELETED = "deleted"  # audio removed by retention; the row stays


class RecordingMode(StrEnum):
    ALL = "all"
    NONE = "none"
    SHARE = "share"  # a deterministic share of the calls (by linkedid)


class Recording(Base, TimestampMixin):
    __tablename__ = "recordings"
    __table_args__ = (
        Index("ix_recordings_started_at", "started_at"),
        Index("ix_recordings_queue_started", "queue", "started_at"),
        Index("ix_recordings_status_retention", "status", "retention_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("pbx_calls.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64), index=True)  # MemberName
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column()
    size_bytes: Mapped[int | None] = mapped_column()  # of the stored (compressed) object
    source_size_bytes: Mapped[int | None] = mapped_column()  # of the WAV as the PBX wrote it
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the source WAV
    status: Mapped[RecordingStatus] = mapped_column(
        enum_type(RecordingStatus), default=RecordingStatus.PENDING
    )
    source_path: Mapped[str | None] = mapped_column(String(512))
    storage_key: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str | None] = mapped_column(String(16))  # "mp3"
    channels: Mapped[int | None] = mapped_column()  # 1 mixed, 2 caller + agent
    sample_rate: Mapped[int | None] = mapped_column()
    retention_until: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[datetime | None] = mapped_column()

    analysis: Mapped[RecordingAnalysis | None] = relationship(
        back_populates="recording", cascade="all, delete-orphan", uselist=False, lazy="selectin"
    )
    holds: Mapped[list[RecordingHold]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", lazy="selectin"
    )


class RecordingAnalysis(Base):
    __tablename__ = "recording_analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    mixed_mono: Mapped[bool] = mapped_column(default=False)
    caller_talk_ms: Mapped[int | None] = mapped_column()
    agent_talk_ms: Mapped[int | None] = mapped_column()
    talk_ms: Mapped[int | None] = mapped_column()
    silence_ms: Mapped[int | None] = mapped_column()
    silence_share: Mapped[float | None] = mapped_column()
    longest_silence_ms: Mapped[int | None] = mapped_column()
    overtalk_ms: Mapped[int | None] = mapped_column()
    agent_talk_ratio: Mapped[float | None] = mapped_column()
    dead_air_after_answer_ms: Mapped[int | None] = mapped_column()
    not_measurable: Mapped[list[str]] = mapped_column(JSON, default=list)
    waveform: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analysed_at: Mapped[datetime] = mapped_column(default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="analysis")


class RecordingHold(Base):
    """Keeps a recording from retention while an evaluation or a dispute needs it."""

    __tablename__ = "recording_holds"
    __table_args__ = (UniqueConstraint("recording_id", "reason", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # evaluation / dispute / …
    ref: Mapped[str] = mapped_column(String(64))  # e.g. "evaluation:12"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="holds")


class RecordingPolicy(Base, TimestampMixin):
    __tablename__ = "recording_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), unique=True)
    mode: Mapped[RecordingMode] = mapped_column(enum_type(RecordingMode), default=RecordingMode.ALL)
    share_pct: Mapped[int] = mapped_column(default=100)  # 0..100, used when mode is "share"
    retention_days: Mapped[int] = mapped_column(default=365)
