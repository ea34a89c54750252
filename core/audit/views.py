"""HTTP API for reading the audit trail (supervisors and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from core.audit import service
from core.security.roles import Permission
from core.web import DB, CurrentUser, Page, PageParams, require

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    object_type: str | None
    object_id: str | None
    allowed: bool
    client_address: str | None
    detail: dict[str, Any] | None


@router.get("", response_model=Page[AuditOut])
def search_audit(
    db: DB,
    paging: PageParams,
    current: Annotated[CurrentUser, Depends(require(Permission.AUDIT_READ))],
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditOut]:
    rows, total = service.search(
        db,
        action=action,
        object_type=object_type,
        object_id=object_id,
        user_id=user_id,
        since=since,
        until=until,
        offset=paging.offset,
        limit=paging.limit,
    )
    return Page(
        items=[AuditOut.model_validate(r) for r in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )
