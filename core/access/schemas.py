"""API shapes for borrowing permissions (借阅权限) and change requests (更改申请)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.access.models import ChangeRequestStatus

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class GrantStatus(StrEnum):
    """Where a grant stands at the moment it is shown (derived, not stored)."""

    SCHEDULED = "scheduled"  # valid_from still ahead
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class GrantCreate(BaseModel):
    """Either ``customer_id`` (one file) or ``max_level`` (every file up to that 密级), not both.
    Naive times are the center's wall time; ``valid_until`` defaults to 7 days after ``valid_from``."""

    user_id: int
    customer_id: int | None = None
    max_level: int | None = Field(default=None, ge=0, le=3)
    reason: Reason
    note: Note | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class GrantRevoke(BaseModel):
    note: Note | None = None


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    user_name: str | None = None
    user_agent_number: str | None = None
    customer_id: int | None
    customer_code: str | None = None
    customer_name: str | None = None
    max_level: int | None
    reason: str
    note: str | None
    valid_from: datetime
    valid_until: datetime
    granted_by_id: int | None
    granted_by_name: str | None = None
    granted_at: datetime
    revoked_at: datetime | None
    revoked_by_id: int | None
    revoked_by_name: str | None = None
    status: GrantStatus = GrantStatus.ACTIVE


class ChangeRequestCreate(BaseModel):
    """``changes`` maps customer fields to their new values (the fields of the customer edit form,
    plus ``grade``, ``credit_rating`` and ``confidentiality``)."""

    customer_id: int
    changes: dict[str, Any]
    reason: Reason


class ApproveIn(BaseModel):
    note: Note | None = None


class RejectIn(BaseModel):
    note: Reason  # 审批意见: a rejection must say why


class ChangeRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    customer_code: str | None = None
    customer_name: str | None = None
    requested_by_id: int | None
    requested_by_name: str | None = None
    requested_at: datetime
    changes: dict[str, Any]
    old_values: dict[str, Any]
    reason: str
    status: ChangeRequestStatus
    reviewed_by_id: int | None
    reviewed_by_name: str | None = None
    reviewed_at: datetime | None
    review_note: str | None
    withdrawn_at: datetime | None
