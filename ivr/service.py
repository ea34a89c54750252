"""The IVR's database work: flows (active version, new versions, the default seed), customer and
complaint look-ups for self-service, the estimated wait of a queue (for the call-back offer), call-back
requests and session records.

Plain synchronous functions on a Session (flush, never commit), like the other services; the asyncio side
(:class:`ivr.store.IvrStore`) runs them in a thread pool so the event loop never blocks on the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select, update
from sqlalchemy.orm import Session

from acd.records.models import QueueLeg, RingAttempt
from core.clock import day_bounds_utc, utcnow
from core.complaints.models import Complaint
from core.customers.models import Customer, CustomerGrade, CustomerPhone
from core.errors import NotFound
from core.people.models import User
from core.phone import normalise
from ivr.default_flow import DEFAULT_FLOWS
from ivr.flows import FlowDefinition, flow_json, validate_flow
from ivr.models import (
    CallbackReason,
    CallbackStatus,
    IvrCallbackRequest,
    IvrFlow,
    IvrOutcome,
    IvrSession,
    SurveyResult,
)

# Queue priority handed to the PBX (QUEUE_PRIO, app_queue: higher is served first) by customer grade.
GRADE_PRIORITY: dict[CustomerGrade, int] = {
    CustomerGrade.AAA: 10,
    CustomerGrade.AA: 6,
    CustomerGrade.A: 3,
    CustomerGrade.B: 0,
}
CUSTOMER_CODE_PREFIX = "C"
CASE_PREFIX = "TS"
# a call-back request in one of these is closed: nothing dials it again
CLOSED_CALLBACK_STATUSES = frozenset({CallbackStatus.DONE, CallbackStatus.FAILED, CallbackStatus.CANCELLED})


@dataclass(frozen=True)
class LoadedFlow:
    id: int
    name: str
    version: int
    definition: FlowDefinition


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    code: str
    grade: CustomerGrade

    @property
    def queue_priority(self) -> int:
        return GRADE_PRIORITY[self.grade]


@dataclass
class SessionRecord:
    """What :func:`record_session` stores; filled by the engine while the call walks the flow."""

    script: str
    started_at: datetime
    linkedid: str | None = None
    uniqueid: str | None = None
    channel: str | None = None
    caller: str | None = None
    caller_name: str | None = None
    language: str | None = None
    flow_id: int | None = None
    flow_version: int | None = None
    customer_id: int | None = None
    path: list[dict[str, Any]] = field(default_factory=list)
    choice: str | None = None
    queue: str | None = None
    queue_priority: int | None = None
    outcome: IvrOutcome = IvrOutcome.ERROR
    error: str | None = None
    commands: int = 0
    ended_at: datetime | None = None


@dataclass(frozen=True)
class WaitEstimate:
    """How long a caller joining ``queue`` now would wait: ``waiting`` × ``handle_s`` ÷ ``agents``."""

    queue: str
    waiting: int  # callers in the queue now, i.e. ahead of a new caller
    handle_s: float  # average handle time (talk + wrap-up) of the queue's answered calls today
    agents: int  # agents counted as serving the queue (at least 1)
    seconds: int

    @property
    def minutes(self) -> int:
        """What the caller is told: whole minutes, rounded up, at least 1."""
        return max(1, math.ceil(self.seconds / 60))


# Without an answered call today the handle time is taken as this (the demo's support talk time).
DEFAULT_HANDLE_S = 180.0
# Agents rung for the queue within this window count as serving it (the IVR cannot see the ACD's live
# state, which lives in another process): they were logged in and free enough to be offered a call.
STAFFED_WINDOW = timedelta(hours=1)
# A leg still open after this long missed its end (link down, lost event): not a caller waiting now.
STALE_WAITING = timedelta(hours=2)


def estimate_wait(session: Session, *, queue: str, now: datetime, zone: ZoneInfo) -> WaitEstimate:
    """The estimated wait of a caller joining ``queue`` at ``now``, from the durable call records (the
    ACD writes them as events arrive; the FastAGI server may run in another process than the ACD).

    * waiting = legs of the queue joined today (center's day) and within ``STALE_WAITING``, not answered
      and without an outcome (still in the queue); caller priority is not weighed: a high-grade caller may
      wait less than told;
    * handle time = average of talk + wrap-up of today's answered legs of the queue, else of all queues
      today, else ``DEFAULT_HANDLE_S``;
    * agents = distinct members rung for the queue within ``STAFFED_WINDOW`` (at least 1);
    * estimate = ceil(waiting × handle time ÷ agents) seconds.
    """
    day_start, _ = day_bounds_utc(now.astimezone(zone).date(), zone)
    since = max(day_start, now - STALE_WAITING)
    waiting = (
        session.scalar(
            select(func.count())
            .select_from(QueueLeg)
            .where(
                QueueLeg.queue == queue,
                QueueLeg.joined_at >= since,
                QueueLeg.joined_at <= now,
                QueueLeg.answered_at.is_(None),
                QueueLeg.outcome.is_(None),
            )
        )
        or 0
    )
    handle_ms = func.avg(QueueLeg.talk_ms + func.coalesce(QueueLeg.wrapup_ms, 0))
    answered_today = (
        QueueLeg.joined_at >= day_start,
        QueueLeg.answered_at.is_not(None),
        QueueLeg.talk_ms.is_not(None),
    )
    average = session.scalar(select(handle_ms).where(QueueLeg.queue == queue, *answered_today))
    if average is None:
        average = session.scalar(select(handle_ms).where(*answered_today))
    handle_s = float(average) / 1000.0 if average is not None else DEFAULT_HANDLE_S
    agents = (
        session.scalar(
            select(func.count(distinct(RingAttempt.agent)))
            .join(QueueLeg, RingAttempt.leg_id == QueueLeg.id)
            .where(
                QueueLeg.queue == queue,
                QueueLeg.joined_at >= day_start,
                RingAttempt.started_at >= now - STAFFED_WINDOW,
            )
        )
        or 0
    )
    agents = max(1, agents)
    seconds = math.ceil(waiting * handle_s / agents)
    return WaitEstimate(queue, waiting, round(handle_s, 1), agents, seconds)


def caller_number(raw: str, region: str) -> str:
    """E.164 when the number parses (the customer phones are stored so), else the raw text."""
    try:
        return normalise(raw, region)
    except ValueError:
        return raw[:32]


# --- flows --------------------------------------------------------------------------------------------


def active_flow(session: Session, *, name: str) -> LoadedFlow | None:
    row = session.scalar(select(IvrFlow).where(IvrFlow.name == name, IvrFlow.is_active.is_(True)))
    if row is None:
        return None
    # Checked in full when saved and when activated (against the catalog and the uploaded recordings, which
    # this layer cannot see): here only its shape, so a flow using an uploaded prompt runs.
    return LoadedFlow(row.id, row.name, row.version, FlowDefinition.model_validate(row.definition))


def save_flow_version(
    session: Session,
    *,
    name: str,
    definition: dict[str, Any],
    activate: bool = True,
    note: str | None = None,
    created_by_id: int | None = None,
) -> IvrFlow:
    """A new version of ``name`` after validation (``InvalidFields`` with field paths otherwise)."""
    flow = validate_flow(definition)
    version = (session.scalar(select(func.max(IvrFlow.version)).where(IvrFlow.name == name)) or 0) + 1
    if activate:
        session.execute(update(IvrFlow).where(IvrFlow.name == name).values(is_active=False))
    row = IvrFlow(
        name=name,
        version=version,
        definition=flow_json(flow),
        is_active=activate,
        note=note,
        created_by_id=created_by_id,
    )
    session.add(row)
    session.flush()
    return row


def seed_default_flow(session: Session) -> list[IvrFlow]:
    """Version 1 of each default flow (``ivr``, ``callback``, ``survey``) whose name has no version yet."""
    added = []
    for name, definition in DEFAULT_FLOWS.items():
        if session.scalar(select(IvrFlow.id).where(IvrFlow.name == name).limit(1)) is None:
            added.append(save_flow_version(session, name=name, definition=definition, note="default"))
    return added


# --- look-ups -----------------------------------------------------------------------------------------


def _info(customer: Customer | None) -> CustomerInfo | None:
    return None if customer is None else CustomerInfo(customer.id, customer.code, customer.grade)


def customer_by_phone(session: Session, *, number: str, region: str) -> CustomerInfo | None:
    """The customer whose file holds the caller's number (the lowest code when a family shares it)."""
    try:
        e164 = normalise(number, region)
    except ValueError:
        return None
    owners = select(CustomerPhone.customer_id).where(CustomerPhone.number == e164)
    query = select(Customer).where(Customer.id.in_(owners)).order_by(Customer.code).limit(1)
    return _info(session.scalars(query).first())


def customer_by_code(session: Session, *, digits: str) -> CustomerInfo | None:
    """Customer code typed on the keypad: the digits of ``C123455``."""
    code = CUSTOMER_CODE_PREFIX + digits
    return _info(session.scalars(select(Customer).where(Customer.code == code)).first())


def case_number_from_digits(digits: str) -> str:
    """``202611240007`` → ``TS20261124-0007``."""
    return f"{CASE_PREFIX}{digits[:8]}-{digits[8:]}"


def complaint_status(session: Session, *, digits: str) -> str | None:
    number = case_number_from_digits(digits)
    status = session.scalar(select(Complaint.status).where(Complaint.case_number == number))
    return None if status is None else str(status.value)


# --- writing ------------------------------------------------------------------------------------------


def add_callback_request(
    session: Session,
    *,
    caller: str,
    reason: CallbackReason,
    linkedid: str | None,
    customer_id: int | None,
    queue: str | None,
    requested_at: datetime,
) -> IvrCallbackRequest:
    row = IvrCallbackRequest(
        caller=caller,
        reason=reason,
        linkedid=linkedid,
        customer_id=customer_id,
        queue=queue,
        requested_at=requested_at,
    )
    session.add(row)
    session.flush()
    return row


def agent_for_interface(session: Session, *, interface: str | None) -> int | None:
    """The user whose phone is the queue member ``PJSIP/1002`` (by extension)."""
    if not interface:
        return None
    extension = interface.rsplit("/", 1)[-1]
    return session.scalar(select(User.id).where(User.extension == extension).order_by(User.id).limit(1))


def add_survey_result(
    session: Session,
    *,
    score: int,
    linkedid: str | None,
    uniqueid: str | None,
    caller: str | None,
    queue: str | None,
    agent_interface: str | None,
    agent_name: str | None,
    answered_at: datetime,
) -> SurveyResult:
    row = SurveyResult(
        score=score,
        linkedid=linkedid,
        uniqueid=uniqueid,
        caller=caller,
        queue=(queue or None) and queue[:64],
        agent_interface=(agent_interface or None) and agent_interface[:100],
        agent_name=(agent_name or None) and agent_name[:100],
        agent_id=agent_for_interface(session, interface=agent_interface),
        answered_at=answered_at,
    )
    session.add(row)
    session.flush()
    return row


def pending_callbacks(
    session: Session, *, queue: str | None = None, limit: int = 20
) -> list[IvrCallbackRequest]:
    """Call-back requests still to dial, oldest first (the ACD takes them when an agent is free)."""
    query = select(IvrCallbackRequest).where(IvrCallbackRequest.status == CallbackStatus.PENDING)
    if queue is not None:
        query = query.where(IvrCallbackRequest.queue == queue)
    return list(
        session.scalars(query.order_by(IvrCallbackRequest.requested_at, IvrCallbackRequest.id).limit(limit))
    )


def set_callback_status(session: Session, *, request_id: int, status: CallbackStatus) -> IvrCallbackRequest:
    """Set a request's status by hand; a closed one (done, failed, cancelled) gets its ``done_at``, one put
    back to pending is due at once."""
    row = session.get(IvrCallbackRequest, request_id)
    if row is None:
        raise NotFound()
    row.status = status
    if status in CLOSED_CALLBACK_STATUSES:
        row.done_at = row.done_at or utcnow()
    else:
        row.done_at = None
        if status == CallbackStatus.PENDING:
            row.next_attempt_at = None
    session.flush()
    return row


def record_session(session: Session, *, record: SessionRecord) -> IvrSession:
    ended = record.ended_at or record.started_at
    row = IvrSession(
        script=record.script[:32],
        linkedid=record.linkedid,
        uniqueid=record.uniqueid,
        channel=(record.channel or None) and record.channel[:100],
        caller=record.caller,
        caller_name=(record.caller_name or None) and record.caller_name[:100],
        language=record.language,
        flow_id=record.flow_id,
        flow_version=record.flow_version,
        customer_id=record.customer_id,
        path=list(record.path),
        choice=record.choice,
        queue=record.queue,
        queue_priority=record.queue_priority,
        outcome=record.outcome,
        error=(record.error or None) and record.error[:300],
        commands=record.commands,
        started_at=record.started_at,
        ended_at=ended,
        duration_ms=max(0, int((ended - record.started_at).total_seconds() * 1000)),
    )
    session.add(row)
    session.flush()
    return row
