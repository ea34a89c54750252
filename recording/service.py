"""The recording package's read API (what qa and reports import) and the policy edits.

* ``get_recording`` / ``recording_for_call`` — one recording by id or by the call's linkedid.
* ``hold`` / ``release`` — keep a recording from retention while an evaluation or a dispute needs it.
* ``can_listen`` / ``listen_scope`` — who may hear which recording (``recordings.listen``): front-line staff
  their own calls (by ``agent_user_id``, else by the member name being their name or 工号), a team lead
  their team's, roles that read all records (supervisor, QA, complaints, admin) all of them.
* ``list_recordings`` — the filtered, scoped list behind ``GET /api/recordings``.
* ``list_policies`` / ``replace_policies`` — the per-queue policy (``recordings.manage``), audited.

Keyword-only functions taking a session; they flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.audit.service import Actor
from core.clock import day_bounds_utc
from core.db import paginate
from core.errors import InvalidFields, NotFound
from core.people.models import User
from core.security.roles import ROLE_PERMISSIONS, Permission, Role
from recording.models import (
    Recording,
    RecordingHold,
    RecordingMode,
    RecordingPolicy,
    RecordingStatus,
)
from recording.schemas import RecordingAnalysisOut, RecordingOut, RecordingPolicyIn, RecordingPolicyOut

__all__ = [
    "Listener",
    "RecordingFilter",
    "can_listen",
    "get_recording",
    "hold",
    "list_policies",
    "list_recordings",
    "listen_scope",
    "recording_for_call",
    "recording_out",
    "release",
    "replace_policies",
]

P = Permission


class RecordingNotFound(NotFound):
    code = "error.recording.not_found"


class Listener(Protocol):
    """A user as the scope needs it: ``core.web.CurrentUser`` and ``core.people.models.User`` both fit."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> Role: ...

    @property
    def team_id(self) -> int | None: ...

    @property
    def full_name(self) -> str: ...

    @property
    def agent_number(self) -> str | None: ...


# --- reading -----------------------------------------------------------------------------------------------


def get_recording(session: Session, recording_id: int) -> Recording:
    row = session.get(Recording, recording_id)
    if row is None:
        raise RecordingNotFound(id=recording_id)
    return row


def recording_for_call(session: Session, linkedid: str) -> Recording | None:
    """The recording of the call ``linkedid`` (the first one when a call has several)."""
    return session.scalar(
        select(Recording).where(Recording.linkedid == linkedid).order_by(Recording.id).limit(1)
    )


def hold(session: Session, *, recording_id: int, reason: str, ref: str) -> None:
    """Keep the recording from retention until released; the same hold twice is one hold."""
    get_recording(session, recording_id)
    found = session.scalar(
        select(RecordingHold).where(
            RecordingHold.recording_id == recording_id,
            RecordingHold.reason == reason,
            RecordingHold.ref == ref,
        )
    )
    if found is None:
        session.add(RecordingHold(recording_id=recording_id, reason=reason, ref=ref))
        session.flush()


def release(session: Session, *, recording_id: int, reason: str, ref: str) -> None:
    """Drop one hold (none there: nothing to do)."""
    found = session.scalar(
        select(RecordingHold).where(
            RecordingHold.recording_id == recording_id,
            RecordingHold.reason == reason,
            RecordingHold.ref == ref,
        )
    )
    if found is not None:
        session.delete(found)
        session.flush()


# --- who may listen ----------------------------------------------------------------------------------------


def _own_names(user: Listener) -> list[str]:
    return [name for name in (user.full_name, user.agent_number) if name]


def listen_scope(session: Session, user: Listener) -> ColumnElement[bool]:
    """The condition on ``Recording`` of the recordings ``user`` may hear."""
    permissions = ROLE_PERMISSIONS[Role(user.role)]
    if P.RECORDINGS_LISTEN not in permissions:
        return false()
    if P.RECORDS_READ_ALL in permissions:
        return true()
    own = or_(
        Recording.agent_user_id == user.id,
        (Recording.agent_user_id.is_(None)) & Recording.agent.in_(_own_names(user)),
    )
    if P.RECORDS_READ_TEAM in permissions and user.team_id is not None:
        team = select(User.id).where(User.team_id == user.team_id).scalar_subquery()
        return or_(own, Recording.agent_user_id.in_(team))
    return own


def can_listen(session: Session, user: Listener, recording: Recording) -> bool:
    """Whether ``user`` may hear ``recording`` (the same rule as the list's scope)."""
    permissions = ROLE_PERMISSIONS[Role(user.role)]
    if P.RECORDINGS_LISTEN not in permissions:
        return False
    if P.RECORDS_READ_ALL in permissions:
        return True
    if recording.agent_user_id is not None:
        if recording.agent_user_id == user.id:
            return True
        if P.RECORDS_READ_TEAM in permissions and user.team_id is not None:
            agent = session.get(User, recording.agent_user_id)
            return agent is not None and agent.team_id == user.team_id
        return False
    return recording.agent is not None and recording.agent in _own_names(user)


# --- the list ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingFilter:
    queue: str | None = None
    agent: str | None = None
    date_from: date | None = None  # center-zone days, inclusive
    date_to: date | None = None
    status: RecordingStatus | None = None
    q: str | None = None  # uniqueid / linkedid / agent


def list_recordings(
    session: Session,
    *,
    user: Listener,
    filters: RecordingFilter,
    zone: ZoneInfo,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Recording], int]:
    query = select(Recording).where(listen_scope(session, user))
    if filters.queue:
        query = query.where(Recording.queue == filters.queue)
    if filters.agent:
        names = select(User.id).where(
            or_(User.full_name == filters.agent, User.agent_number == filters.agent)
        )
        query = query.where(
            or_(Recording.agent == filters.agent, Recording.agent_user_id.in_(names.scalar_subquery()))
        )
    if filters.status is not None:
        query = query.where(Recording.status == filters.status)
    if filters.date_from is not None:
        query = query.where(Recording.started_at >= day_bounds_utc(filters.date_from, zone)[0])
    if filters.date_to is not None:
        query = query.where(Recording.started_at <= day_bounds_utc(filters.date_to, zone)[1])
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(
            or_(Recording.uniqueid.like(like), Recording.linkedid.like(like), Recording.agent.like(like))
        )
    return paginate(
        session, query, Recording.started_at.desc(), Recording.id.desc(), offset=offset, limit=limit
    )


def recording_out(session: Session, row: Recording, *, names: dict[int, str] | None = None) -> RecordingOut:
    agent_name = row.agent
    if row.agent_user_id is not None:
        if names is not None and row.agent_user_id in names:
            agent_name = names[row.agent_user_id]
        else:
            user = session.get(User, row.agent_user_id)
            agent_name = user.full_name if user is not None else row.agent
    return RecordingOut(
        id=row.id,
        uniqueid=row.uniqueid,
        linkedid=row.linkedid,
        queue=row.queue,
        agent=row.agent,
        agent_name=agent_name,
        agent_user_id=row.agent_user_id,
        started_at=row.started_at,
        duration_ms=row.duration_ms,
        status=row.status,
        format=row.format,
        channels=row.channels,
        size_bytes=row.size_bytes,
        retention_until=row.retention_until,
        held=bool(row.holds),
        error=row.error,
        analysis=RecordingAnalysisOut.model_validate(row.analysis) if row.analysis is not None else None,
    )


def agent_names(session: Session, rows: list[Recording]) -> dict[int, str]:
    ids = {row.agent_user_id for row in rows if row.agent_user_id is not None}
    if not ids:
        return {}
    return {
        uid: name for uid, name in session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    }


# --- policies ----------------------------------------------------------------------------------------------


def list_policies(session: Session) -> list[RecordingPolicyOut]:
    rows = session.scalars(select(RecordingPolicy).order_by(RecordingPolicy.queue))
    return [
        RecordingPolicyOut(
            queue=r.queue, mode=RecordingMode(r.mode), share_pct=r.share_pct, retention_days=r.retention_days
        )
        for r in rows
    ]


def replace_policies(
    session: Session, *, items: list[RecordingPolicyIn], actor: Actor
) -> list[RecordingPolicyOut]:
    """The policy list becomes ``items`` (queues left out fall back to the default); audited with the
    before and after of every change."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.queue in seen:
            raise InvalidFields.one(
                (index, "queue"), "validation.recording.duplicate_queue", value=item.queue
            )
        seen.add(item.queue)
    existing = {row.queue: row for row in session.scalars(select(RecordingPolicy))}
    changes: list[dict[str, Any]] = []
    for item in items:
        row = existing.pop(item.queue, None)
        after = item.model_dump(mode="json")
        if row is None:
            session.add(RecordingPolicy(**item.model_dump()))
            changes.append({"queue": item.queue, "before": None, "after": after})
            continue
        before = _policy_json(row)
        if before != after:
            row.mode, row.share_pct, row.retention_days = item.mode, item.share_pct, item.retention_days
            changes.append({"queue": item.queue, "before": before, "after": after})
    for row in existing.values():
        changes.append({"queue": row.queue, "before": _policy_json(row), "after": None})
        session.delete(row)
    session.flush()
    if changes:
        audit.record(
            session,
            actor=actor,
            action="recording.policy.update",
            object_type="recording_policy",
            detail={"changes": changes},
        )
    return list_policies(session)


def _policy_json(row: RecordingPolicy) -> dict[str, Any]:
    return {
        "queue": row.queue,
        "mode": RecordingMode(row.mode).value,
        "share_pct": row.share_pct,
        "retention_days": row.retention_days,
    }
