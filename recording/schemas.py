"""Pydantic shapes of the recording API (RecordingOut, its analysis, the policy list)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recording.models import RecordingMode, RecordingStatus


class RecordingAnalysisOut(BaseModel):
    """The analysis fields minus the waveform (served by /waveform)."""

    model_config = ConfigDict(from_attributes=True)

    mixed_mono: bool
    caller_talk_ms: int | None
    agent_talk_ms: int | None
    talk_ms: int | None
    silence_ms: int | None
    silence_share: float | None
    longest_silence_ms: int | None
    overtalk_ms: int | None
    agent_talk_ratio: float | None
    dead_air_after_answer_ms: int | None
    not_measurable: list[str]
    analysed_at: datetime


class RecordingOut(BaseModel):
    id: int
    uniqueid: str
    linkedid: str | None
    queue: str | None
    agent: str | None
    agent_name: str | None
    agent_user_id: int | None
    started_at: datetime | None
    duration_ms: int | None
    status: RecordingStatus
    format: str | None
    channels: int | None
    size_bytes: int | None
    retention_until: datetime | None
    held: bool
    error: str | None
    analysis: RecordingAnalysisOut | None


class RecordingPolicyIn(BaseModel):
    queue: str = Field(min_length=1, max_length=64)
    mode: RecordingMode
    share_pct: int = Field(default=100, ge=0, le=100)
    retention_days: int = Field(default=365, ge=1, le=36500)

    @model_validator(mode="after")
    def _share_for_share(self) -> RecordingPolicyIn:
        # "all" and "none" say it all; a share is kept only where it means something
        if self.mode is RecordingMode.ALL:
            self.share_pct = 100
        elif self.mode is RecordingMode.NONE:
            self.share_pct = 0
        return self


class RecordingPolicyOut(BaseModel):
    queue: str
    mode: RecordingMode
    share_pct: int
    retention_days: int
