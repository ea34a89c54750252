"""Complaints: registration with a case number, handling edits, the flow's transitions, call-back, lists and
the summary figures. Keyword-only functions taking a session; they flush but never commit."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import phone
from core.audit import service as audit
from core.audit.service import Actor
from core.calls.models import PbxCall
from core.clock import as_utc, day_bounds_utc, utcnow
from core.complaints import workflow
from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintCounter,
    ComplaintEvent,
    ComplaintProblemType,
    ComplaintUrgency,
)
from core.complaints.schemas import (
    CallbackIn,
    ComplaintCreate,
    ComplaintSummary,
    ComplaintUpdate,
    DaySummary,
    SummaryFigures,
    TransitionIn,
)
from core.complaints.workflow import ComplaintAcceptance, ComplaintStatus, Facts
from core.config import Settings, get_settings
from core.db import Base, paginate
from core.errors import Conflict, InvalidFields, InvalidTransition, NotFound
from core.people.models import User

CASE_PREFIX = "TS"  # 投诉
CLOSING_PREFIX = "JA"  # 结案
SUMMARY_MAX_DAYS = 366
# A clock a few minutes fast on the registering PC is not an error; a date next week is.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Once closed or rejected, only the evaluation and follow-up may still be written.
FINAL_EDITABLE = frozenset({"summary_evaluation", "follow_up_actions"})
OPEN_STATUSES = tuple(workflow.OPEN)


# --- numbers -----------------------------------------------------------------------------------


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The center-zone calendar day of an instant."""
    return moment.astimezone(zone).date()


def format_number(prefix: str, day: date, sequence: int) -> str:
    return f"{prefix}{day:%Y%m%d}-{sequence:04d}"


def _next_sequence(session: Session, kind: str, day: date) -> int:
    """Atomically the next number of ``kind`` for ``day``: the UPDATE locks the counter row until the
    transaction ends, so concurrent registrations queue instead of colliding."""
    bump = (
        update(ComplaintCounter)
        .where(ComplaintCounter.kind == kind, ComplaintCounter.day == day)
        .values(last=ComplaintCounter.last + 1)
        .returning(ComplaintCounter.last)
    )
    for _ in range(5):
        value = session.execute(bump, execution_options={"synchronize_session": False}).scalar()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(ComplaintCounter(kind=kind, day=day, last=1))
            return 1
        except IntegrityError:
            continue  # another transaction created the day's row just now: increment that one
    raise Conflict("error.complaint_number_busy")


# --- helpers -----------------------------------------------------------------------------------


def deadline_for(received_at: datetime, urgency: ComplaintUrgency, settings: Settings) -> datetime:
    hours = {
        ComplaintUrgency.VERY_URGENT: settings.complaint_deadline_hours_very_urgent,
        ComplaintUrgency.URGENT: settings.complaint_deadline_hours_urgent,
        ComplaintUrgency.NORMAL: settings.complaint_deadline_hours_normal,
    }[urgency]
    return received_at + timedelta(hours=hours)


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    """Still open and past the deadline promised to the customer."""
    now = now or utcnow()
    return complaint.status not in workflow.TERMINAL and now > complaint.promised_deadline


def _plain(value: Any) -> Any:
    """A JSON-safe form of a column value, for the history's ``changes``."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _check_user(session: Session, field: str, user_id: int | None) -> None:
    if user_id is None:
        return
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidFields.one(field, "validation.unknown_reference", value=user_id)


def _check_customer(session: Session, customer_id: int | None) -> None:
    # Through the table, not the customers package's model: this package must not depend on its code.
    table = Base.metadata.tables.get("customers")
    if customer_id is None or table is None:
        return
    if session.execute(select(table.c.id).where(table.c.id == customer_id)).first() is None:
        raise InvalidFields.one("customer_id", "validation.unknown_reference", value=customer_id)


def _event(
    session: Session,
    complaint: Complaint,
    *,
    actor: Actor,
    action: str,
    from_status: ComplaintStatus | None,
    note: str | None = None,
    changes: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint=complaint,
        at=at or utcnow(),
        by_id=actor.user_id,
        action=action,
        from_status=from_status,
        to_status=complaint.status,
        note=note,
        changes=changes or None,
    )
    session.add(event)
    return event


def _settle(session: Session, complaint: Complaint) -> None:
    """Writes the changes and lets the user relationships reload from the new ids."""
    session.flush()
    session.expire(complaint, ["handler", "registered_by", "escalated_to", "callback_by"])


def _apply(complaint: Complaint, values: dict[str, Any]) -> dict[str, Any]:
    """Sets the values and returns what actually changed as field → [old, new]."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        old = getattr(complaint, name)
        if old != value:
            changes[name] = [_plain(old), _plain(value)]
            setattr(complaint, name, value)
    return changes


# --- registration ------------------------------------------------------------------------------


def register_complaint(
    session: Session,
    *,
    data: ComplaintCreate,
    actor: Actor,
    settings: Settings,
    received_at: datetime | None = None,
) -> Complaint:
    """Registers a complaint with the next case number of its day of receipt (center zone) and the
    deadline its urgency promises, unless one is given."""
    zone = settings.zone
    now = utcnow()
    moment = received_at or data.received_at
    received = as_utc(moment, zone) if moment is not None else now
    if received > now + FUTURE_TOLERANCE:
        raise InvalidFields.one("received_at", "validation.in_future")
    if data.purchase_date is not None and data.purchase_date > local_day(received, zone):
        raise InvalidFields.one("purchase_date", "validation.purchase_after_receipt")
    deadline = (
        as_utc(data.promised_deadline, zone)
        if data.promised_deadline is not None
        else deadline_for(received, data.urgency, settings)
    )
    if deadline <= received:
        raise InvalidFields.one("promised_deadline", "validation.deadline_before_receipt")
    phone_e164 = None
    if data.customer_phone and data.customer_phone.strip():
        phone_e164 = phone.normalise_field(data.customer_phone, settings.phone_region, "customer_phone")
    _check_customer(session, data.customer_id)
    linkedid = (data.pbx_call_linkedid or "").strip() or None
    call_id = session.scalar(select(PbxCall.id).where(PbxCall.linkedid == linkedid)) if linkedid else None

    fields = data.model_dump(
        exclude={"received_at", "promised_deadline", "customer_phone", "pbx_call_linkedid"}
    )
    day = local_day(received, zone)
    complaint: Complaint | None = None
    for attempt in range(5):
        complaint = Complaint(
            **fields,
            case_number=format_number(CASE_PREFIX, day, _next_sequence(session, "case", day)),
            received_at=received,
            promised_deadline=deadline,
            customer_phone=phone_e164,
            pbx_call_linkedid=linkedid,
            pbx_call_id=call_id,
            status=ComplaintStatus.REGISTERED,
            acceptance=ComplaintAcceptance.PENDING,
            escalation_level=0,
            registered_by_id=actor.user_id,
        )
        try:
            # A number already taken (rows loaded from elsewhere, counter behind): take the next one.
            with session.begin_nested():
                session.add(complaint)
                session.flush()
            break
        except IntegrityError:
            if attempt == 4:
                raise
    assert complaint is not None
    # The history starts when the complaint arrived (a letter may be typed in a day later).
    _event(session, complaint, actor=actor, action="register", from_status=None, at=received)
    audit.record(
        session,
        actor=actor,
        action="complaint.create",
        object_type="complaint",
        object_id=complaint.id,
        detail={"case_number": complaint.case_number, "customer_id": complaint.customer_id},
    )
    _settle(session, complaint)
    return complaint


# --- reading -----------------------------------------------------------------------------------


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(object="complaint", id=complaint_id)
    return complaint


def can_see(complaint: Complaint, user_id: int) -> bool:
    """Without complaints.handle one sees the complaints one registered or handles."""
    return user_id in (complaint.registered_by_id, complaint.handler_id)


def record_read(session: Session, *, complaint: Complaint, actor: Actor) -> None:
    audit.record(
        session,
        actor=actor,
        action="complaint.read",
        object_type="complaint",
        object_id=complaint.id,
        detail={"case_number": complaint.case_number},
    )


@dataclass(frozen=True)
class ComplaintFilter:
    q: str | None = None
    status: ComplaintStatus | None = None
    urgency: ComplaintUrgency | None = None
    category: ComplaintCategory | None = None
    channel: str | None = None
    overdue: bool | None = None
    received_from: date | None = None
    received_to: date | None = None
    customer_id: int | None = None
    handler_id: int | None = None
    visible_to: int | None = None  # a user id: only what they registered or handle


def _search(q: str, region: str) -> ColumnElement[bool]:
    like = f"%{q}%"
    conditions: list[ColumnElement[bool]] = [
        Complaint.case_number.ilike(like),
        Complaint.customer_name.ilike(like),
        Complaint.customer_company.ilike(like),
        Complaint.product.ilike(like),
        Complaint.order_number.ilike(like),
    ]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        conditions.append(Complaint.customer_phone.like(f"%{digits}%"))
        with contextlib.suppress(ValueError):
            conditions.append(Complaint.customer_phone == phone.normalise(q, region))
    return or_(*conditions)


def filtered_query(flt: ComplaintFilter, *, zone: ZoneInfo, region: str, now: datetime) -> Select[Complaint]:
    query = select(Complaint)
    if flt.q and flt.q.strip():
        query = query.where(_search(flt.q.strip(), region))
    if flt.status is not None:
        query = query.where(Complaint.status == flt.status)
    if flt.urgency is not None:
        query = query.where(Complaint.urgency == flt.urgency)
    if flt.category is not None:
        query = query.where(Complaint.category == flt.category)
    if flt.channel is not None:
        query = query.where(Complaint.channel == flt.channel)
    if flt.customer_id is not None:
        query = query.where(Complaint.customer_id == flt.customer_id)
    if flt.handler_id is not None:
        query = query.where(Complaint.handler_id == flt.handler_id)
    if flt.overdue is not None:
        late = and_(Complaint.status.in_(OPEN_STATUSES), Complaint.promised_deadline < now)
        query = query.where(late if flt.overdue else not_(late))
    if flt.received_from is not None:
        query = query.where(Complaint.received_at >= day_bounds_utc(flt.received_from, zone)[0])
    if flt.received_to is not None:
        query = query.where(
            Complaint.received_at < day_bounds_utc(flt.received_to + timedelta(days=1), zone)[0]
        )
    if flt.visible_to is not None:
        query = query.where(
            or_(Complaint.registered_by_id == flt.visible_to, Complaint.handler_id == flt.visible_to)
        )
    return query


def list_complaints(
    session: Session,
    *,
    flt: ComplaintFilter,
    zone: ZoneInfo,
    region: str,
    offset: int = 0,
    limit: int = 50,
    now: datetime | None = None,
) -> tuple[list[Complaint], int]:
    query = filtered_query(flt, zone=zone, region=region, now=now or utcnow())
    return paginate(
        session, query, Complaint.received_at.desc(), Complaint.id.desc(), offset=offset, limit=limit
    )


def open_for_customer(session: Session, *, customer_id: int) -> list[Complaint]:
    """A customer's open complaints, most urgent deadline first (for the screen pop)."""
    query = (
        select(Complaint)
        .where(Complaint.customer_id == customer_id, Complaint.status.in_(OPEN_STATUSES))
        .order_by(Complaint.promised_deadline, Complaint.id)
    )
    return list(session.scalars(query).all())


# --- handling ----------------------------------------------------------------------------------


def update_complaint(
    session: Session, *, complaint_id: int, data: ComplaintUpdate, actor: Actor, zone: ZoneInfo
) -> Complaint:
    complaint = get_complaint(session, complaint_id)
    values = data.model_dump(exclude_unset=True)
    if workflow.is_terminal(complaint.status):
        frozen = sorted(set(values) - FINAL_EDITABLE)
        if frozen:
            raise Conflict("error.complaint_final", status=complaint.status.value, fields=", ".join(frozen))
    for required in ("urgency", "promised_deadline", "acceptance"):
        if required in values and values[required] is None:
            raise InvalidFields.one(required, "validation.missing")
    if "handler_id" in values:
        _check_user(session, "handler_id", values["handler_id"])
    if values.get("promised_deadline") is not None:
        values["promised_deadline"] = as_utc(values["promised_deadline"], zone)
        if values["promised_deadline"] <= complaint.received_at:
            raise InvalidFields.one("promised_deadline", "validation.deadline_before_receipt")
    # A new urgency keeps the deadline already promised to the customer unless a new one is sent.
    changes = _apply(complaint, values)
    if changes:
        _event(
            session, complaint, actor=actor, action="update", from_status=complaint.status, changes=changes
        )
    audit.record(
        session,
        actor=actor,
        action="complaint.update",
        object_type="complaint",
        object_id=complaint.id,
        detail={"fields": sorted(changes)},
    )
    _settle(session, complaint)
    return complaint


def transition(
    session: Session,
    *,
    complaint_id: int,
    data: TransitionIn,
    actor: Actor,
    settings: Settings | None = None,
    at: datetime | None = None,
) -> Complaint:
    """Moves the complaint one step along the flow, saving the fields the step brings with it.

    ``at`` (default now) is when the step happened; the seeder passes past times.
    """
    complaint = get_complaint(session, complaint_id)
    settings = settings or get_settings()
    moment = at or utcnow()
    source, target = complaint.status, data.to
    values = data.model_dump(exclude={"to", "note"}, exclude_none=True)
    facts = Facts(
        resolution=values.get("resolution", complaint.resolution),
        acceptance=values.get("acceptance", complaint.acceptance),
        investigation_result=values.get("investigation_result", complaint.investigation_result),
        rejection_reason=values.get("rejection_reason", complaint.rejection_reason),
    )
    workflow.check_transition(source, target, facts)
    _check_user(session, "escalated_to_id", values.get("escalated_to_id"))

    if target is ComplaintStatus.REJECTED:
        values["acceptance"] = ComplaintAcceptance.REJECTED
    if target is ComplaintStatus.ESCALATED:
        values["escalation_level"] = complaint.escalation_level + 1
    if target is ComplaintStatus.CLOSED:
        day = local_day(moment, settings.zone)
        values["actual_completed_at"] = moment
        values["closing_number"] = format_number(CLOSING_PREFIX, day, _next_sequence(session, "close", day))
    changes = _apply(complaint, values)
    complaint.status = target
    _event(
        session,
        complaint,
        actor=actor,
        action="transition",
        from_status=source,
        note=data.note,
        changes=changes,
        at=moment,
    )
    audit.record(
        session,
        actor=actor,
        action="complaint.transition",
        object_type="complaint",
        object_id=complaint.id,
        detail={"from": source.value, "to": target.value, "fields": sorted(changes)},
    )
    _settle(session, complaint)
    return complaint


def record_callback(
    session: Session, *, complaint_id: int, data: CallbackIn, actor: Actor, at: datetime | None = None
) -> Complaint:
    """回访 of a closed complaint; a later call-back replaces the result (the history keeps both)."""
    complaint = get_complaint(session, complaint_id)
    if not workflow.can_record_callback(complaint.status):
        raise InvalidTransition("error.complaint_callback_not_closed", status=complaint.status.value)
    moment = at or utcnow()
    changes = _apply(
        complaint,
        {
            "satisfaction": int(data.satisfaction),
            "callback_note": data.note,
            "callback_at": moment,
            "callback_by_id": actor.user_id,
        },
    )
    _event(
        session,
        complaint,
        actor=actor,
        action="callback",
        from_status=complaint.status,
        note=data.note,
        changes=changes,
        at=moment,
    )
    audit.record(
        session,
        actor=actor,
        action="complaint.callback",
        object_type="complaint",
        object_id=complaint.id,
        detail={"satisfaction": int(data.satisfaction)},
    )
    _settle(session, complaint)
    return complaint


# --- summary -----------------------------------------------------------------------------------

DEFINITIONS = {
    "day": "calendar day of received_at in the center's time zone",
    "received": "complaints received that day",
    "resolved": "of those, complaints now closed",
    "resolution_ratio": "closed / received (null when received = 0)",
    "quality_related": "category = product or problem_type = quality",
    "quality_share": "quality_related / received (null when received = 0)",
    "overdue": "not closed or rejected and computed_at > promised_deadline",
    "closed_late": "closed and actual_completed_at > promised_deadline",
    "callbacks": "complaints with a call-back satisfaction recorded",
    "average_satisfaction": "sum(satisfaction) / callbacks, 1 = very satisfied … 5 = very dissatisfied "
    "(null when callbacks = 0)",
}


@dataclass
class _Tally:
    received: int = 0
    resolved: int = 0
    quality: int = 0
    overdue: int = 0
    closed_late: int = 0
    callbacks: int = 0
    satisfaction_sum: int = 0

    def figures(self) -> SummaryFigures:
        share = (lambda n: round(n / self.received, 4)) if self.received else (lambda n: None)
        return SummaryFigures(
            received=self.received,
            resolved=self.resolved,
            resolution_ratio=share(self.resolved),
            quality_related=self.quality,
            quality_share=share(self.quality),
            overdue=self.overdue,
            closed_late=self.closed_late,
            callbacks=self.callbacks,
            average_satisfaction=round(self.satisfaction_sum / self.callbacks, 2) if self.callbacks else None,
        )


def summary(
    session: Session, *, start: date, end: date, zone: ZoneInfo, now: datetime | None = None
) -> ComplaintSummary:
    """Figures per center-zone day of receipt (客户投诉报告表) and over the range, with their formulas."""
    if end < start:
        raise InvalidFields.one("to", "validation.end_before_start")
    days = (end - start).days + 1
    if days > SUMMARY_MAX_DAYS:
        raise InvalidFields.one("to", "validation.range_too_long", max_days=SUMMARY_MAX_DAYS)
    now = now or utcnow()
    lower = day_bounds_utc(start, zone)[0]
    upper = day_bounds_utc(end + timedelta(days=1), zone)[0]
    rows: Sequence[Any] = session.execute(
        select(
            Complaint.received_at,
            Complaint.status,
            Complaint.category,
            Complaint.problem_type,
            Complaint.promised_deadline,
            Complaint.actual_completed_at,
            Complaint.satisfaction,
        ).where(Complaint.received_at >= lower, Complaint.received_at < upper)
    ).all()
    tallies = {start + timedelta(days=n): _Tally() for n in range(days)}
    total = _Tally()
    for received_at, status, category, problem_type, deadline, completed, satisfaction in rows:
        for tally in (tallies[local_day(received_at, zone)], total):
            tally.received += 1
            if status is ComplaintStatus.CLOSED:
                tally.resolved += 1
                if completed is not None and completed > deadline:
                    tally.closed_late += 1
            if category is ComplaintCategory.PRODUCT or problem_type is ComplaintProblemType.QUALITY:
                tally.quality += 1
            if status not in workflow.TERMINAL and now > deadline:
                tally.overdue += 1
            if satisfaction is not None:
                tally.callbacks += 1
                tally.satisfaction_sum += satisfaction
    return ComplaintSummary(
        start=start,
        end=end,
        timezone=zone.key,
        computed_at=now.astimezone(UTC),
        days=[DaySummary(day=day, **t.figures().model_dump()) for day, t in tallies.items()],
        total=total.figures(),
        definitions=DEFINITIONS,
    )
