"""An agent's own day: ``GET /api/desktop/my-day`` (DESKTOP_USE) lists the calls the agent's phone answered
today (center time zone) from the durable call records, what became of the callers the agent transferred,
the inbound record written for each call, and the agent's figures (definitions: ``core.metrics``; three-ring
compliance per offer, as the reports and the wallboard: met / (met + missed) over today's ring attempts on
the agent's phone, ``core.metrics.classify_offer``).

``GET /api/desktop/follow-ups`` (DESKTOP_USE) is the agent's work list of calls to make: outbound records
whose follow-up falls due by the end of today or whose customer asked to be called back, and closed
complaints waiting for their call-back (回访), minus those the agent has called since."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from acd.events import CallOutcome
from acd.records.models import PbxCall, QueueLeg, RingAttempt, RingOutcome
from acd.wallboard import OfferCounts, offer_counts
from core import metrics, phone
from core.clock import day_bounds_utc, utcnow
from core.complaints import workflow
from core.complaints.models import Complaint
from core.config import Settings
from core.contacts.models import InboundRecord, OutboundRecord, OutboundResult
from core.customers import service as customers
from core.customers.models import Customer
from core.escalations.models import Escalation
from core.people.models import User
from core.security.roles import Permission
from core.web import DB, AppSettings, CurrentUser, require

__all__ = [
    "FollowUpKind",
    "FollowUpOut",
    "FollowUpSource",
    "MyDayCall",
    "MyDayFigures",
    "MyDayOut",
    "TransferResult",
    "build_follow_ups",
    "build_my_day",
    "router",
]

router = APIRouter(prefix="/api/desktop", tags=["desktop"])
DesktopUser = Annotated[CurrentUser, Depends(require(Permission.DESKTOP_USE))]


class TransferResult(StrEnum):
    """What happened to a caller after the agent transferred the call into another queue."""

    ANSWERED = "answered"  # someone answered in the next queue
    ABANDONED = "abandoned"  # the caller left the next queue unanswered (hung up, timed out, no agents)
    WAITING = "waiting"  # still waiting there


class MyDayCall(BaseModel):
    linkedid: str
    queue: str
    caller: str | None
    joined_at: datetime
    answered_at: datetime | None
    wait_s: float | None
    talk_s: float | None
    ring_s: float | None
    outcome: CallOutcome | None
    transfer_target: str | None
    transfer_result: TransferResult | None
    inbound_record_id: int | None


class MyDayFigures(BaseModel):
    answered: int
    avg_talk_s: float | None
    avg_wait_s: float | None
    within_three_rings: int  # offers met: answered within three rings
    missed_three_rings: int  # offers missed: rang out, answered late, or cancelled after three rings
    within_three_rings_pct: float | None  # met / (met + missed)
    transferred: int
    missed_rings: int
    records_written: int
    complaints_created: int
    escalations: int


class MyDayOut(BaseModel):
    calls: list[MyDayCall]
    figures: MyDayFigures


def _transfer_result(next_leg: tuple[datetime | None, CallOutcome | None] | None) -> TransferResult | None:
    if next_leg is None:
        return None
    answered_at, outcome = next_leg
    if answered_at is not None:
        return TransferResult.ANSWERED
    if outcome is None:
        return TransferResult.WAITING
    return TransferResult.ABANDONED


def _next_legs(
    session: Session, legs: Iterable[QueueLeg]
) -> dict[int, tuple[datetime | None, CallOutcome | None]]:
    """For each transferred leg, the same call's next stay in a queue (its answer time and outcome)."""
    transferred = [leg for leg in legs if leg.outcome == CallOutcome.TRANSFERRED]
    if not transferred:
        return {}
    rows = session.execute(
        select(QueueLeg.id, QueueLeg.linkedid, QueueLeg.joined_at, QueueLeg.answered_at, QueueLeg.outcome)
        .where(QueueLeg.linkedid.in_({leg.linkedid for leg in transferred}))
        .order_by(QueueLeg.joined_at, QueueLeg.id)
    ).all()
    out: dict[int, tuple[datetime | None, CallOutcome | None]] = {}
    for leg in transferred:
        nxt = next(
            (
                r
                for r in rows
                if r.linkedid == leg.linkedid and r.id != leg.id and r.joined_at >= leg.joined_at
            ),
            None,
        )
        if nxt is not None:
            out[leg.id] = (nxt.answered_at, nxt.outcome)
    return out


def build_my_day(
    session: Session, *, user: User, settings: Settings, unmasked: bool, now: datetime
) -> MyDayOut:
    """The agent's day at ``now``: calls answered by ``user``'s phone and the day's figures."""
    zone = settings.zone
    start, end = day_bounds_utc(now.astimezone(zone).date(), zone)
    interface = user.pbx_interface
    rows = (
        session.execute(
            select(QueueLeg, PbxCall.caller_number)
            .join(PbxCall, PbxCall.id == QueueLeg.call_id)
            .where(QueueLeg.interface == interface, QueueLeg.joined_at >= start, QueueLeg.joined_at <= end)
            .order_by(QueueLeg.joined_at, QueueLeg.id)
        ).all()
        if interface
        else []
    )
    legs = [leg for leg, _ in rows]
    leg_ids = [leg.id for leg in legs]
    linkedids = {leg.linkedid for leg in legs}

    ring_ms: dict[int, int | None] = {}
    if leg_ids:
        for leg_id, ms in session.execute(
            select(RingAttempt.leg_id, RingAttempt.ring_ms).where(
                RingAttempt.leg_id.in_(leg_ids),
                RingAttempt.outcome == RingOutcome.ANSWERED,
                or_(RingAttempt.interface == interface, RingAttempt.interface.is_(None)),
            )
        ):
            ring_ms[leg_id] = ms
    next_legs = _next_legs(session, legs)
    inbound: dict[str, int] = {}
    if linkedids:
        # The record written for the call: the agent's own first, else anyone's (a lead typed it).
        for record_id, linkedid in session.execute(
            select(InboundRecord.id, InboundRecord.pbx_linkedid)
            .where(InboundRecord.pbx_linkedid.in_(linkedids))
            .order_by(InboundRecord.agent_id != user.id, InboundRecord.id)
        ):
            if linkedid is not None:
                inbound.setdefault(linkedid, record_id)

    calls: list[MyDayCall] = []
    for leg, caller_number in rows:
        ring = ring_ms.get(leg.id)
        calls.append(
            MyDayCall(
                linkedid=leg.linkedid,
                queue=leg.queue,
                caller=phone.for_reader(caller_number, unmasked=unmasked, region=settings.phone_region),
                joined_at=leg.joined_at.astimezone(zone),
                answered_at=leg.answered_at.astimezone(zone) if leg.answered_at else None,
                wait_s=leg.wait_s,
                talk_s=leg.talk_s,
                ring_s=None if ring is None else ring / 1000.0,
                outcome=leg.outcome,
                transfer_target=leg.transfer_target,
                transfer_result=_transfer_result(next_legs.get(leg.id)),
                inbound_record_id=inbound.get(leg.linkedid),
            )
        )

    answered = [leg for leg in legs if leg.answered_at is not None]
    offers = OfferCounts()
    for counts in offer_counts(
        session,
        start=start,
        end=end,
        ring_cycle_s=settings.ring_cycle_seconds,
        mine=_my_attempts(user=user, legs=legs),
    ).values():
        offers.add(counts)
    figures = MyDayFigures(
        answered=len(answered),
        avg_talk_s=metrics.average(leg.talk_s for leg in answered),
        avg_wait_s=metrics.average(leg.wait_s for leg in answered),
        within_three_rings=offers.met,
        missed_three_rings=offers.missed,
        within_three_rings_pct=offers.compliance_pct,
        transferred=sum(1 for leg in legs if leg.outcome == CallOutcome.TRANSFERRED),
        missed_rings=_missed_rings(session, user=user, legs=legs, start=start, end=end),
        records_written=_count_at(
            session, InboundRecord.started_at, InboundRecord.agent_id == user.id, start, end
        )
        + _count_at(session, OutboundRecord.started_at, OutboundRecord.agent_id == user.id, start, end),
        complaints_created=_count_at(
            session, Complaint.received_at, Complaint.registered_by_id == user.id, start, end
        ),
        escalations=_count_at(session, Escalation.created_at, Escalation.agent_id == user.id, start, end),
    )
    return MyDayOut(calls=calls, figures=figures)


def _count_at(
    session: Session,
    column: ColumnElement[datetime] | InstrumentedAttribute[datetime],
    mine: ColumnElement[bool],
    start: datetime,
    end: datetime,
) -> int:
    """Rows of the agent's (``mine``) whose ``column`` falls in ``[start, end]``."""
    query = select(func.count()).where(mine, column >= start, column <= end)
    return int(session.scalar(query) or 0)


def _my_attempts(*, user: User, legs: list[QueueLeg]) -> ColumnElement[bool]:
    """Ring attempts on the agent's phone. queue_log names the member only, so an attempt without interface
    is matched by the member names the agent answered under (or its name)."""
    names = {leg.agent for leg in legs if leg.agent} | {user.full_name}
    mine: list[ColumnElement[bool]] = [RingAttempt.agent.in_(names) & RingAttempt.interface.is_(None)]
    if user.pbx_interface:
        mine.append(RingAttempt.interface == user.pbx_interface)
    return or_(*mine)


def _missed_rings(
    session: Session, *, user: User, legs: list[QueueLeg], start: datetime, end: datetime
) -> int:
    """Ring attempts on the agent's phone today that rang out unanswered."""
    query = select(func.count()).where(
        RingAttempt.started_at >= start,
        RingAttempt.started_at <= end,
        RingAttempt.outcome == RingOutcome.RING_NO_ANSWER,
        _my_attempts(user=user, legs=legs),
    )
    return int(session.scalar(query) or 0)


@router.get("/my-day", response_model=MyDayOut, summary="My calls and my figures for today")
def my_day(db: DB, current: DesktopUser, settings: AppSettings) -> MyDayOut:
    user = db.get(User, current.id)
    assert user is not None  # the login is valid, so the user exists
    return build_my_day(
        db, user=user, settings=settings, unmasked=current.can(Permission.PHONES_UNMASKED), now=utcnow()
    )


# --- the call-back / follow-up work list ---------------------------------------------------------------


class FollowUpKind(StrEnum):
    FOLLOW_UP = "follow_up"  # an outbound record's next_follow_up_at fell due
    CALLBACK_REQUESTED = "callback_requested"  # the customer asked to be called back (no time set)
    COMPLAINT_CALLBACK = "complaint_callback"  # a closed complaint waiting for its 回访


class FollowUpSource(StrEnum):
    OUTBOUND = "outbound"
    COMPLAINT = "complaint"


class FollowUpOut(BaseModel):
    kind: FollowUpKind
    due_at: datetime | None
    customer_id: int | None  # a complainant who is no known customer has none (nothing to dial)
    customer_name: str
    customer_code: str | None
    source: FollowUpSource
    source_id: int
    case_number: str | None  # the complaint's, for a complaint call-back
    note: str | None


_NOTE_LENGTH = 200


def _note(*texts: str | None) -> str | None:
    text = next((t.strip() for t in texts if t and t.strip()), None)
    return text if text is None or len(text) <= _NOTE_LENGTH else text[: _NOTE_LENGTH - 1] + "…"


def build_follow_ups(
    session: Session, *, user_id: int, clearance: int, settings: Settings, now: datetime
) -> list[FollowUpOut]:
    """The calls ``user_id`` owes at ``now``, due first. A call-back counts as made once the agent writes a
    later outbound record for the same customer (the one made from this list, or any other), so only an
    agent's latest record per customer can be listed. Customer files the agent may not read are left out
    (the customers domain's rule: clearance, or a borrowing grant)."""
    zone = settings.zone
    _, end_of_today = day_bounds_utc(now.astimezone(zone).date(), zone)

    later = aliased(OutboundRecord)
    followed = exists().where(
        later.agent_id == OutboundRecord.agent_id,
        later.customer_id == OutboundRecord.customer_id,
        or_(
            later.started_at > OutboundRecord.started_at,
            and_(later.started_at == OutboundRecord.started_at, later.id > OutboundRecord.id),
        ),
    )
    # A call-back the customer wants at a set time waits for that time like any follow-up.
    due = or_(
        OutboundRecord.next_follow_up_at <= end_of_today,
        and_(
            OutboundRecord.result == OutboundResult.CALLBACK_REQUESTED,
            OutboundRecord.next_follow_up_at.is_(None),
        ),
    )
    items: list[tuple[datetime, FollowUpOut]] = []
    readable: dict[int, bool] = {}

    def may_read(customer: Customer) -> bool:
        if customer.id not in readable:
            readable[customer.id] = customers.can_read(
                session, customer=customer, user_id=user_id, clearance=clearance
            )
        return readable[customer.id]

    outbound = session.execute(
        select(OutboundRecord, Customer)
        .join(Customer, Customer.id == OutboundRecord.customer_id)
        .where(OutboundRecord.agent_id == user_id, due, ~followed)
    ).all()
    for record, customer in outbound:
        if not may_read(customer):
            continue
        due_at = record.next_follow_up_at
        requested = record.result == OutboundResult.CALLBACK_REQUESTED and due_at is None
        items.append(
            (
                due_at or record.started_at,
                FollowUpOut(
                    kind=FollowUpKind.CALLBACK_REQUESTED if requested else FollowUpKind.FOLLOW_UP,
                    due_at=due_at.astimezone(zone) if due_at else None,
                    customer_id=customer.id,
                    customer_name=customer.name,
                    customer_code=customer.code,
                    source=FollowUpSource.OUTBOUND,
                    source_id=record.id,
                    case_number=None,
                    note=_note(record.handling_opinion, record.content),
                ),
            )
        )

    # 回访 waits on closed complaints (the flow's rule) that nobody has called back yet.
    waiting = [s for s in workflow.ComplaintStatus if workflow.can_record_callback(s)]
    called_since = exists().where(
        OutboundRecord.agent_id == user_id,
        OutboundRecord.customer_id == Complaint.customer_id,
        OutboundRecord.started_at >= Complaint.actual_completed_at,
    )
    complaints = session.execute(
        select(Complaint, Customer)
        .outerjoin(Customer, Customer.id == Complaint.customer_id)
        .where(
            Complaint.status.in_(waiting),
            Complaint.callback_at.is_(None),
            or_(Complaint.handler_id == user_id, Complaint.registered_by_id == user_id),
            ~called_since,
        )
    ).all()
    for complaint, customer in complaints:
        if customer is not None and not may_read(customer):
            continue
        items.append(
            (
                complaint.actual_completed_at or complaint.updated_at,
                FollowUpOut(
                    kind=FollowUpKind.COMPLAINT_CALLBACK,
                    due_at=None,
                    customer_id=customer.id if customer else None,
                    customer_name=customer.name if customer else complaint.customer_name,
                    customer_code=customer.code if customer else None,
                    source=FollowUpSource.COMPLAINT,
                    source_id=complaint.id,
                    case_number=complaint.case_number,
                    note=_note(complaint.reason),
                ),
            )
        )
    items.sort(key=lambda item: (item[0], item[1].source, item[1].source_id))
    return [item for _, item in items]


@router.get("/follow-ups", response_model=list[FollowUpOut], summary="My call-backs and follow-ups due")
def follow_ups(db: DB, current: DesktopUser, settings: AppSettings) -> list[FollowUpOut]:
    return build_follow_ups(
        db, user_id=current.id, clearance=int(current.clearance), settings=settings, now=utcnow()
    )
