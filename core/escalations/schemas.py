"""API shapes of escalations: what an agent sends to raise one, what the inbox shows, the close form."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.escalations.models import EscalationStatus


class EscalationCreate(BaseModel):
    linkedid: str | None = Field(default=None, max_length=64, description="The call's linkedid, if any.")
    customer_id: int | None = None
    reason: str = Field(min_length=1, max_length=2000)
    caller_number: str | None = Field(default=None, max_length=64)


class EscalationClose(BaseModel):
    resolution: str = Field(min_length=1, max_length=4000)


class EscalationOut(BaseModel):
    id: int
    linkedid: str | None
    customer_id: int | None
    customer_name: str | None
    caller_number: str | None  # for this reader: masked without the right to see numbers
    reason: str
    status: EscalationStatus
    agent_id: int
    agent_name: str
    team_id: int | None
    taken_by_id: int | None
    taken_by_name: str | None
    resolution: str | None
    created_at: datetime
    taken_at: datetime | None
    closed_at: datetime | None
