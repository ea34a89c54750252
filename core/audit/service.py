"""Writing and reading the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.db import paginate


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where; passed to every service call that leaves a trace."""

    user_id: int | None
    username: str | None
    client_address: str | None = None


SYSTEM = Actor(user_id=None, username="system")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        user_id=actor.user_id,
        username=actor.username,
        client_address=actor.client_address,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        allowed=allowed,
        detail=detail,
    )
    session.add(entry)
    return entry


def search(
    session: Session,
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at <= until)
    return paginate(session, query, AuditEntry.id.desc(), offset=offset, limit=limit)
