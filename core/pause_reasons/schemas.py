"""API shapes of pause reasons."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PauseReasonIn(BaseModel):
    # The PBX's QueuePause Reason; '|' and line breaks are refused by the service (queue_log uses '|').
    code: str = Field(min_length=1, max_length=40)
    label_zh: str = Field(min_length=1, max_length=100)
    label_en: str = Field(min_length=1, max_length=100)
    counts_as_productive: bool = False
    active: bool = True
    sort_order: int = Field(default=0, ge=0, le=9999)
    max_minutes: int | None = Field(default=None, ge=1, le=1440)  # stored only: no wallboard alert yet


class PauseReasonUpdate(BaseModel):
    """A whole reason but its code (fixed once created: history and queue_log keep it)."""

    label_zh: str = Field(min_length=1, max_length=100)
    label_en: str = Field(min_length=1, max_length=100)
    counts_as_productive: bool = False
    active: bool = True
    sort_order: int = Field(default=0, ge=0, le=9999)
    max_minutes: int | None = Field(default=None, ge=1, le=1440)


class PauseReasonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None  # None: a settings default while the table is still empty
    code: str
    label: str  # in the reader's language
    label_zh: str
    label_en: str
    counts_as_productive: bool
    active: bool
    sort_order: int
    max_minutes: int | None
    created_at: datetime | None
    updated_at: datetime | None
