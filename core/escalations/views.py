"""HTTP API of escalations: an agent raises one from the desktop (DESKTOP_USE) and sees its own of today;
team leads and supervisors work the inbox (ESCALATIONS_HANDLE). A team lead sees and acts on its own
team's escalations only (another team's: 403, audited)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request

from core import phone
from core.bus import EventBus
from core.clock import day_bounds_utc, utcnow
from core.errors import PermissionDenied
from core.escalations import service
from core.escalations.events import NOTICE_TOPIC, EscalationRaised
from core.escalations.models import Escalation, EscalationStatus
from core.escalations.schemas import EscalationClose, EscalationCreate, EscalationOut
from core.security.roles import Permission
from core.web import DB, AppSettings, CurrentUser, Page, PageParams, deny, require

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/escalations", tags=["escalations"])
P = Permission
DesktopUser = Annotated[CurrentUser, Depends(require(P.DESKTOP_USE))]
Handler = Annotated[CurrentUser, Depends(require(P.ESCALATIONS_HANDLE))]


def escalation_out(escalation: Escalation, current: CurrentUser, region: str) -> EscalationOut:
    return EscalationOut(
        id=escalation.id,
        linkedid=escalation.linkedid,
        customer_id=escalation.customer_id,
        customer_name=escalation.customer_name,
        caller_number=phone.for_reader(
            escalation.caller_number, unmasked=current.can(P.PHONES_UNMASKED), region=region
        ),
        reason=escalation.reason,
        status=escalation.status,
        agent_id=escalation.agent_id,
        agent_name=escalation.agent.full_name,
        team_id=escalation.team_id,
        taken_by_id=escalation.taken_by_id,
        taken_by_name=escalation.taken_by.full_name if escalation.taken_by else None,
        resolution=escalation.resolution,
        created_at=escalation.created_at,
        taken_at=escalation.taken_at,
        closed_at=escalation.closed_at,
    )


def _team_scope(current: CurrentUser) -> int | None:
    return service.inbox_team(current.role, current.team_id)


def _in_scope(request: Request, db: DB, current: CurrentUser, escalation_id: int) -> Escalation:
    escalation = service.get_escalation(db, escalation_id)
    team = _team_scope(current)
    if team is not None and escalation.team_id != team:
        raise deny(request, current, "error.other_team", escalation_id=escalation_id)
    return escalation


async def _publish(bus: EventBus, event: EscalationRaised) -> None:
    """After the response (the row is committed by then); a bus problem never fails the request."""
    try:
        await bus.publish(NOTICE_TOPIC, event)
    except Exception:  # a lost notice is logged; the escalation itself is saved
        log.warning("could not publish %s for escalation %s", type(event).__name__, event.escalation_id)


@router.post("", response_model=EscalationOut, status_code=201, summary="Escalate a call to the team lead")
def raise_escalation(
    data: EscalationCreate,
    request: Request,
    background: BackgroundTasks,
    db: DB,
    current: DesktopUser,
    settings: AppSettings,
) -> EscalationOut:
    try:
        escalation = service.raise_escalation(
            db,
            agent_id=current.id,
            linkedid=data.linkedid,
            customer_id=data.customer_id,
            reason=data.reason,
            caller_number=data.caller_number,
            clearance=int(current.clearance),
            region=settings.phone_region,
            actor=current.actor,
        )
    except PermissionDenied as refused:
        raise deny(request, current, refused.code, **refused.params) from None
    bus: EventBus | None = getattr(request.app.state, "bus", None)
    if bus is not None:
        background.add_task(_publish, bus, service.raised_event(escalation))
    return escalation_out(escalation, current, settings.phone_region)


@router.get("/mine", response_model=list[EscalationOut], summary="My escalations of today")
def my_escalations(db: DB, current: DesktopUser, settings: AppSettings) -> list[EscalationOut]:
    today = utcnow().astimezone(settings.zone).date()
    start, end = day_bounds_utc(today, settings.zone)
    rows = service.list_mine(db, agent_id=current.id, since=start, until=end)
    return [escalation_out(e, current, settings.phone_region) for e in rows]


@router.get("", response_model=Page[EscalationOut], summary="The escalations inbox")
def list_escalations(
    db: DB,
    paging: PageParams,
    current: Handler,
    settings: AppSettings,
    status: EscalationStatus | None = None,
) -> Page[EscalationOut]:
    rows, total = service.list_escalations(
        db, status=status, team_id=_team_scope(current), offset=paging.offset, limit=paging.limit
    )
    return Page(
        items=[escalation_out(e, current, settings.phone_region) for e in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.post("/{escalation_id}/take", response_model=EscalationOut, summary="Take an open escalation")
def take(
    escalation_id: int, request: Request, db: DB, current: Handler, settings: AppSettings
) -> EscalationOut:
    escalation = _in_scope(request, db, current, escalation_id)
    service.take(db, escalation=escalation, user_id=current.id, actor=current.actor)
    return escalation_out(escalation, current, settings.phone_region)


@router.post("/{escalation_id}/close", response_model=EscalationOut, summary="Close a taken escalation")
def close(
    escalation_id: int,
    data: EscalationClose,
    request: Request,
    db: DB,
    current: Handler,
    settings: AppSettings,
) -> EscalationOut:
    escalation = _in_scope(request, db, current, escalation_id)
    service.close(
        db, escalation=escalation, resolution=data.resolution, user_id=current.id, actor=current.actor
    )
    return escalation_out(escalation, current, settings.phone_region)
