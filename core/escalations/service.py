"""Escalations: raising one (an agent), the inbox (team leads: their team's; supervisors: all), and the
state machine open → taken → closed. Every change leaves an audit row; functions flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core import phone
from core.audit import service as audit
from core.audit.service import Actor
from core.calls.models import PbxCall
from core.clock import utcnow
from core.customers.models import Customer
from core.customers.service import can_read
from core.db import paginate
from core.errors import InvalidFields, InvalidTransition, NotFound, PermissionDenied
from core.escalations.events import EscalationRaised
from core.escalations.models import Escalation, EscalationStatus
from core.people.models import User
from core.security.roles import Role

__all__ = [
    "TRANSITIONS",
    "close",
    "get_escalation",
    "list_escalations",
    "list_mine",
    "raise_escalation",
    "raised_event",
    "take",
]

# The only moves: an escalation is taken by one handler, then closed with a resolution.
TRANSITIONS: dict[EscalationStatus, frozenset[EscalationStatus]] = {
    EscalationStatus.OPEN: frozenset({EscalationStatus.TAKEN}),
    EscalationStatus.TAKEN: frozenset({EscalationStatus.CLOSED}),
    EscalationStatus.CLOSED: frozenset(),
}


def _caller_number(raw: str | None, region: str) -> str | None:
    """E.164 when the number can be read; the PBX's raw text otherwise (anonymous, short codes)."""
    if not raw or not raw.strip():
        return None
    try:
        return phone.normalise(raw, region)
    except ValueError:
        return raw.strip()[:32]


def raise_escalation(
    session: Session,
    *,
    agent_id: int,
    linkedid: str | None,
    customer_id: int | None,
    reason: str,
    caller_number: str | None,
    clearance: int,
    region: str,
    actor: Actor,
) -> Escalation:
    """An agent escalates a call. The call's record (by linkedid) fills in the caller and the customer when
    they are not given. A customer file above the agent's clearance may not be named (PermissionDenied)."""
    agent = session.get(User, agent_id)
    if agent is None:
        raise NotFound(object="user", id=agent_id)
    linkedid = (linkedid or "").strip() or None
    call = session.scalars(select(PbxCall).where(PbxCall.linkedid == linkedid)).first() if linkedid else None
    if customer_id is None and call is not None:
        customer_id = call.customer_id
    if caller_number is None and call is not None:
        caller_number = call.caller_number
    customer = None
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise InvalidFields.one("customer_id", "validation.unknown_reference")
        if not can_read(session, customer=customer, user_id=agent_id, clearance=clearance):
            raise PermissionDenied("error.above_clearance", customer_id=customer_id)
    escalation = Escalation(
        linkedid=linkedid,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        caller_number=_caller_number(caller_number, region),
        reason=reason.strip(),
        status=EscalationStatus.OPEN,
        agent_id=agent.id,
        team_id=agent.team_id,
    )
    session.add(escalation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="escalation.create",
        object_type="escalation",
        object_id=escalation.id,
        detail={"linkedid": linkedid, "customer_id": escalation.customer_id, "team_id": agent.team_id},
    )
    return escalation


def raised_event(escalation: Escalation) -> EscalationRaised:
    """The notice published on the bus for a new escalation."""
    return EscalationRaised(
        at=escalation.created_at,
        escalation_id=escalation.id,
        agent_id=escalation.agent_id,
        agent_name=escalation.agent.full_name,
        team_id=escalation.team_id,
        linkedid=escalation.linkedid,
        customer_id=escalation.customer_id,
        customer_name=escalation.customer_name,
        reason=escalation.reason,
    )


def get_escalation(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound(object="escalation", id=escalation_id)
    return escalation


def inbox_team(role: Role, team_id: int | None) -> int | None:
    """Whose escalations a role handles: a team lead its own team's (a lead without a team: none, -1);
    every other role that handles escalations, every team (None). The inbox and the live notices use it."""
    if role is not Role.TEAM_LEAD:
        return None
    return team_id if team_id is not None else -1


def _scoped(query: Select[Escalation], team_id: int | None) -> Select[Escalation]:
    return query if team_id is None else query.where(Escalation.team_id == team_id)


def list_escalations(
    session: Session,
    *,
    status: EscalationStatus | None = None,
    team_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Escalation], int]:
    """The inbox, newest first; ``team_id`` limits it to one team (a team lead's view)."""
    query = _scoped(select(Escalation), team_id)
    if status is not None:
        query = query.where(Escalation.status == status)
    return paginate(
        session, query, Escalation.created_at.desc(), Escalation.id.desc(), offset=offset, limit=limit
    )


def list_mine(session: Session, *, agent_id: int, since: datetime, until: datetime) -> list[Escalation]:
    """An agent's own escalations raised in ``[since, until]``, newest first."""
    query = (
        select(Escalation)
        .where(
            Escalation.agent_id == agent_id, Escalation.created_at >= since, Escalation.created_at <= until
        )
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
    )
    return list(session.scalars(query).unique())


def _move(escalation: Escalation, to: EscalationStatus) -> None:
    if to not in TRANSITIONS[escalation.status]:
        raise InvalidTransition(from_status=escalation.status.value, to_status=to.value)
    escalation.status = to


def take(session: Session, *, escalation: Escalation, user_id: int, actor: Actor) -> Escalation:
    """A handler takes an open escalation (409 InvalidTransition when it is not open)."""
    _move(escalation, EscalationStatus.TAKEN)
    escalation.taken_by_id = user_id
    escalation.taken_at = utcnow()
    session.flush()
    session.refresh(escalation, ["taken_by"])
    audit.record(
        session, actor=actor, action="escalation.take", object_type="escalation", object_id=escalation.id
    )
    return escalation


def close(
    session: Session, *, escalation: Escalation, resolution: str, user_id: int, actor: Actor
) -> Escalation:
    """A handler closes a taken escalation with its resolution (409 when it is not taken)."""
    _move(escalation, EscalationStatus.CLOSED)
    escalation.resolution = resolution.strip()
    escalation.closed_at = utcnow()
    escalation.closed_by_id = user_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="escalation.close",
        object_type="escalation",
        object_id=escalation.id,
        detail={"taken_by_id": escalation.taken_by_id},
    )
    return escalation
