"""Registering, finding and editing the call forms. Keyword-only functions taking a session; the caller
commits.

The four forms differ in fields, not in behaviour, so one set of functions serves them all, driven by a
:class:`FormKind` (the model, its schemas, and the few things that differ: which column dates refer to,
which fields are phone numbers, which are searched, which cross-field rules apply). ``create_inbound``
and friends are the typed entry points other packages (the demo seeder) call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from core import phone
from core.audit import service as audit
from core.audit.models import AuditEntry
from core.audit.service import Actor
from core.calls.models import PbxCall
from core.clock import as_utc, day_bounds_utc, utcnow
from core.config import Settings
from core.contacts.models import (
    InboundOutcome,
    InboundRecord,
    InterviewPlan,
    OutboundRecord,
    OutboundResult,
    PhoneLog,
)
from core.contacts.schemas import (
    InboundCreate,
    InboundOut,
    InboundUpdate,
    InterviewPlanCreate,
    InterviewPlanOut,
    InterviewPlanUpdate,
    OutboundCreate,
    OutboundOut,
    OutboundUpdate,
    PhoneLogCreate,
    PhoneLogOut,
    PhoneLogUpdate,
    RecordOut,
)
from core.db import Base, paginate
from core.errors import FieldProblem, InvalidFields, NotFound
from core.people.models import User

Values = dict[str, Any]
Rule = Callable[[Values], list[FieldProblem]]


# --- cross-field rules (checked on the record as it will be saved, so a PATCH cannot break them) -------


def _times_in_order(values: Values) -> list[FieldProblem]:
    start, end = values.get("started_at"), values.get("ended_at")
    if start is not None and end is not None and end < start:
        return [FieldProblem(("ended_at",), "validation.end_before_start")]
    return []


def _inbound_rules(values: Values) -> list[FieldProblem]:
    problems = _times_in_order(values)
    # The service flow: a call the agent cannot handle goes to the responsible department; say which.
    if values.get("outcome") == InboundOutcome.TRANSFERRED and not values.get("transferred_to_department"):
        problems.append(FieldProblem(("transferred_to_department",), "validation.department_required"))
    return problems


def _outbound_rules(values: Values) -> list[FieldProblem]:
    problems = _times_in_order(values)
    # The outbound flow: no sale made → record the reason.
    if values.get("result") == OutboundResult.NO_SALE and not values.get("no_sale_reason"):
        problems.append(FieldProblem(("no_sale_reason",), "validation.no_sale_reason_required"))
    return problems


def _phone_log_rules(values: Values) -> list[FieldProblem]:
    if values.get("repeat_call_needed") and values.get("repeat_call_at") is None:
        return [FieldProblem(("repeat_call_at",), "validation.repeat_call_at_required")]
    return []


def _no_rules(values: Values) -> list[FieldProblem]:
    return []


# --- the forms -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormKind:
    slug: str  # the URL segment and the audit object_type
    model: type[Any]
    create: type[BaseModel]
    update: type[BaseModel]
    out: type[RecordOut]
    time_field: str  # the column date filters and day counts refer to
    phone_fields: tuple[str, ...]  # normalised to E.164 on the way in, masked on the way out
    text_fields: tuple[str, ...]  # searched by ``q``
    rules: Rule = _no_rules

    @property
    def required(self) -> frozenset[str]:
        """Fields the paper form cannot leave blank: a PATCH may change them, not empty them."""
        return frozenset(name for name, info in self.create.model_fields.items() if info.is_required())

    def column(self, name: str) -> Any:
        return getattr(self.model, name)


INBOUND = FormKind(
    slug="inbound",
    model=InboundRecord,
    create=InboundCreate,
    update=InboundUpdate,
    out=InboundOut,
    time_field="started_at",
    phone_fields=("caller_number",),
    text_fields=("caller_organisation", "caller_name", "content", "remarks", "agent_name"),
    rules=_inbound_rules,
)
OUTBOUND = FormKind(
    slug="outbound",
    model=OutboundRecord,
    create=OutboundCreate,
    update=OutboundUpdate,
    out=OutboundOut,
    time_field="started_at",
    phone_fields=("called_number",),
    text_fields=("called_organisation", "customer_name", "content", "handling_opinion", "agent_name"),
    rules=_outbound_rules,
)
PHONE_LOG = FormKind(
    slug="phone-log",
    model=PhoneLog,
    create=PhoneLogCreate,
    update=PhoneLogUpdate,
    out=PhoneLogOut,
    time_field="called_at",
    phone_fields=("phone_number",),
    text_fields=("party_name", "purpose", "agent_name"),
    rules=_phone_log_rules,
)
INTERVIEWS = FormKind(
    slug="interviews",
    model=InterviewPlan,
    create=InterviewPlanCreate,
    update=InterviewPlanUpdate,
    out=InterviewPlanOut,
    time_field="planned_at",
    phone_fields=("phone",),
    text_fields=("customer_name", "address", "company_activities", "job_place", "notes", "agent_name"),
)
KINDS: tuple[FormKind, ...] = (INBOUND, OUTBOUND, PHONE_LOG, INTERVIEWS)


# --- who sees what -------------------------------------------------------------------------------------


class Reach(StrEnum):
    OWN = "own"  # records.read
    TEAM = "team"  # records.read_team: records whose agent is in the reader's team
    ALL = "all"  # records.read_all


@dataclass(frozen=True)
class Scope:
    """The records a user may see, and whether they may edit records they did not write."""

    user_id: int
    team_id: int | None
    reach: Reach
    edit_all: bool = False


def _scope_clause(kind: FormKind, scope: Scope) -> ColumnElement[bool]:
    model = kind.model
    if scope.reach is Reach.ALL:
        return true()
    own = or_(model.agent_id == scope.user_id, model.created_by_id == scope.user_id)
    if scope.reach is Reach.TEAM and scope.team_id is not None:
        team = select(User.id).where(User.team_id == scope.team_id)
        return or_(own, model.agent_id.in_(team))
    return own


def is_visible(session: Session, kind: FormKind, record_id: int, scope: Scope) -> bool:
    model = kind.model
    found = session.scalar(select(model.id).where(model.id == record_id, _scope_clause(kind, scope)))
    return found is not None


def may_edit(record: Any, scope: Scope) -> bool:
    """The author (the agent or whoever typed it), or someone who may edit every record."""
    return scope.edit_all or scope.user_id in (record.agent_id, record.created_by_id)


def agent_in_reach(session: Session, scope: Scope, agent_id: int) -> bool:
    """Whether a record may be filed under ``agent_id`` by this user (own; the team's; anyone's)."""
    if agent_id == scope.user_id or scope.reach is Reach.ALL:
        return True
    agent = session.get(User, agent_id)
    if agent is None:
        return True  # the service reports the unknown reference as a field error
    return scope.reach is Reach.TEAM and scope.team_id is not None and agent.team_id == scope.team_id


# --- input preparation ---------------------------------------------------------------------------------


def _prepare(kind: FormKind, values: Values, settings: Settings) -> tuple[Values, list[FieldProblem]]:
    """Phone numbers to E.164, naive datetimes from the center's wall time to UTC."""
    problems: list[FieldProblem] = []
    prepared: Values = {}
    for name, value in values.items():
        if name in kind.phone_fields and value is not None:
            if value == "":
                value = None
            else:
                try:
                    value = phone.normalise(value, settings.phone_region)
                except ValueError:
                    problems.append(FieldProblem((name,), "validation.phone_invalid", value=value))
        elif isinstance(value, datetime):
            value = as_utc(value, settings.zone)
        prepared[name] = value
    return prepared, problems


def _exists(session: Session, table_name: str, row_id: int) -> bool:
    # By table rather than by class: customers are another package's model, the FK is what binds us.
    table = Base.metadata.tables[table_name]
    return session.scalar(select(table.c.id).where(table.c.id == row_id)) is not None


def _check_references(session: Session, values: Values) -> list[FieldProblem]:
    customer_id = values.get("customer_id")
    if customer_id is not None and not _exists(session, "customers", customer_id):
        return [FieldProblem(("customer_id",), "validation.unknown_reference", value=customer_id)]
    return []


def _agent(session: Session, agent_id: int) -> User:
    agent = session.get(User, agent_id)
    if agent is None:
        raise InvalidFields.one("agent_id", "validation.unknown_reference", value=agent_id)
    return agent


def _pbx_call_id(session: Session, linkedid: str | None) -> int | None:
    if not linkedid:
        return None
    return session.scalar(select(PbxCall.id).where(PbxCall.linkedid == linkedid))


def _fill_from_call(session: Session, kind: FormKind, values: dict[str, Any]) -> None:
    """An inbound record of a PBX call takes the caller's number (and file) from the call when left blank:
    an agent sees the number masked and could not type it, yet the form must hold it."""
    linkedid = values.get("pbx_linkedid")
    if kind is not INBOUND or not linkedid:
        return
    call = session.scalars(select(PbxCall).where(PbxCall.linkedid == linkedid)).first()
    if call is None:
        return
    if values.get("caller_number") is None and call.caller_number:
        values["caller_number"] = call.caller_number
    if values.get("customer_id") is None and call.customer_id is not None:
        values["customer_id"] = call.customer_id


# --- writing -------------------------------------------------------------------------------------------


def create_record(
    session: Session, kind: FormKind, *, data: BaseModel, actor: Actor, agent_id: int, settings: Settings
) -> Any:
    """Files a new form under ``agent_id`` (whose name and 工号 are copied onto it)."""
    values, problems = _prepare(kind, data.model_dump(exclude={"agent_id"}), settings)
    _fill_from_call(session, kind, values)
    problems += kind.rules(values) + _check_references(session, values)
    if problems:
        raise InvalidFields(*problems)
    agent = _agent(session, agent_id)
    record = kind.model(
        **values,
        agent_id=agent.id,
        agent_name=agent.full_name,
        agent_number=agent.agent_number,
        created_by_id=actor.user_id,
        pbx_call_id=_pbx_call_id(session, values.get("pbx_linkedid")),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="record.create",
        object_type=kind.slug,
        object_id=record.id,
        detail={"agent_id": agent.id, "customer_id": values.get("customer_id")},
    )
    return record


def update_record(
    session: Session,
    kind: FormKind,
    *,
    record_id: int,
    data: BaseModel,
    actor: Actor,
    settings: Settings,
) -> Any:
    """Changes the fields sent; the rules are checked on the whole record as it will be saved."""
    record = get_record(session, kind, record_id)
    changes, problems = _prepare(kind, data.model_dump(exclude_unset=True), settings)
    problems += [
        FieldProblem((name,), "validation.missing")
        for name, value in changes.items()
        if value is None and name in kind.required | {"agent_id"}
    ]
    merged = {name: getattr(record, name) for name in kind.create.model_fields if name != "agent_id"}
    merged.update(changes)
    problems += kind.rules(merged)
    if "customer_id" in changes:
        problems += _check_references(session, changes)
    if problems:
        raise InvalidFields(*problems)
    agent_id = changes.pop("agent_id", None)
    if agent_id is not None and agent_id != record.agent_id:
        agent = _agent(session, agent_id)
        record.agent_id, record.agent_name, record.agent_number = (
            agent.id,
            agent.full_name,
            agent.agent_number,
        )
    if "pbx_linkedid" in changes:
        record.pbx_call_id = _pbx_call_id(session, changes["pbx_linkedid"])
    for name, value in changes.items():
        setattr(record, name, value)
    changed = sorted(changes) + (["agent_id"] if agent_id is not None else [])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="record.update",
        object_type=kind.slug,
        object_id=record.id,
        detail={"fields": changed},
    )
    return record


def link_pbx_call(session: Session, *, linkedid: str, pbx_call_id: int) -> int:
    """For the telephony core: ties the inbound/outbound forms of a call to its ``pbx_calls`` row once it
    exists. Returns how many forms were linked."""
    linked = 0
    for kind in (INBOUND, OUTBOUND):
        for record in session.scalars(select(kind.model).where(kind.model.pbx_linkedid == linkedid)):
            record.pbx_call_id = pbx_call_id
            linked += 1
    return linked


def create_inbound(
    session: Session, *, data: InboundCreate, actor: Actor, agent_id: int, settings: Settings
) -> InboundRecord:
    record: InboundRecord = create_record(
        session, INBOUND, data=data, actor=actor, agent_id=agent_id, settings=settings
    )
    return record


def create_outbound(
    session: Session, *, data: OutboundCreate, actor: Actor, agent_id: int, settings: Settings
) -> OutboundRecord:
    record: OutboundRecord = create_record(
        session, OUTBOUND, data=data, actor=actor, agent_id=agent_id, settings=settings
    )
    return record


def create_phone_log(
    session: Session, *, data: PhoneLogCreate, actor: Actor, agent_id: int, settings: Settings
) -> PhoneLog:
    record: PhoneLog = create_record(
        session, PHONE_LOG, data=data, actor=actor, agent_id=agent_id, settings=settings
    )
    return record


def create_interview_plan(
    session: Session, *, data: InterviewPlanCreate, actor: Actor, agent_id: int, settings: Settings
) -> InterviewPlan:
    record: InterviewPlan = create_record(
        session, INTERVIEWS, data=data, actor=actor, agent_id=agent_id, settings=settings
    )
    return record


# --- reading -------------------------------------------------------------------------------------------


def get_record(session: Session, kind: FormKind, record_id: int) -> Any:
    record = session.get(kind.model, record_id)
    if record is None:
        raise NotFound(object=kind.slug, id=record_id)
    return record


@dataclass(frozen=True)
class RecordFilter:
    q: str | None = None
    customer_id: int | None = None
    agent_id: int | None = None
    date_from: date | None = None  # center-zone calendar days, inclusive
    date_to: date | None = None
    equals: dict[str, Any] = field(default_factory=dict)  # form-specific: outcome, result, purpose, ...


def _phone_terms(q: str, region: str) -> tuple[str | None, str]:
    """A number however it is spelled (139 0013 9001, +86-139..., 0086...): its E.164 form if it is one,
    and its digits for a partial match."""
    try:
        e164: str | None = phone.normalise(q, region)
    except ValueError:
        e164 = None
    return e164, "".join(ch for ch in q if ch.isdigit())


def _search_clause(kind: FormKind, q: str, region: str) -> ColumnElement[bool]:
    like = f"%{q}%"
    terms: list[ColumnElement[bool]] = [kind.column(name).ilike(like) for name in kind.text_fields]
    e164, digits = _phone_terms(q, region)
    for name in kind.phone_fields:
        column = kind.column(name)
        if e164:
            terms.append(column == e164)
        if len(digits) >= 4:
            terms.append(column.contains(digits))
    return or_(*terms) if terms else false()


def list_records(
    session: Session,
    kind: FormKind,
    *,
    scope: Scope,
    filters: RecordFilter,
    settings: Settings,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Any], int]:
    model = kind.model
    when = kind.column(kind.time_field)
    query = select(model).where(_scope_clause(kind, scope))
    if filters.q and filters.q.strip():
        query = query.where(_search_clause(kind, filters.q.strip(), settings.phone_region))
    if filters.customer_id is not None:
        query = query.where(model.customer_id == filters.customer_id)
    if filters.agent_id is not None:
        query = query.where(model.agent_id == filters.agent_id)
    if filters.date_from is not None:
        query = query.where(when >= day_bounds_utc(filters.date_from, settings.zone)[0])
    if filters.date_to is not None:
        query = query.where(when <= day_bounds_utc(filters.date_to, settings.zone)[1])
    for name, value in filters.equals.items():
        if value is not None:
            query = query.where(kind.column(name) == value)
    return paginate(session, query, when.desc(), model.id.desc(), offset=offset, limit=limit)


def note_read(session: Session, kind: FormKind, *, record_id: int, actor: Actor) -> None:
    """A form holds what a customer said: opening one leaves a trace like opening the customer file."""
    audit.record(session, actor=actor, action="record.read", object_type=kind.slug, object_id=record_id)


def note_export(session: Session, kind: FormKind, *, actor: Actor, count: int, fmt: str) -> None:
    audit.record(
        session,
        actor=actor,
        action="record.export",
        object_type=kind.slug,
        detail={"count": count, "format": fmt},
    )


def note_by_customer(session: Session, *, customer_id: int, actor: Actor) -> AuditEntry:
    """The trace of reading a customer's calls (``contacts_of_customer`` leaves it unless told not to)."""
    return audit.record(
        session, actor=actor, action="record.by_customer", object_type="customer", object_id=customer_id
    )


def contacts_of_customer(
    session: Session,
    *,
    customer_id: int,
    scope: Scope,
    actor: Actor,
    limit: int = 20,
    audited: bool = True,
) -> list[InboundRecord | OutboundRecord]:
    """The customer's latest inbound and outbound calls that the user may see, newest first.

    ``audited=False``: read only, the caller writes ``note_by_customer`` itself (the screen pop does, after
    sending the pop, so that a read never waits for the database's write lock)."""
    if not _exists(session, "customers", customer_id):
        raise NotFound(object="customer", id=customer_id)
    if audited:
        note_by_customer(session, customer_id=customer_id, actor=actor)
    found: list[InboundRecord | OutboundRecord] = []
    for kind in (INBOUND, OUTBOUND):
        query = (
            select(kind.model)
            .where(kind.model.customer_id == customer_id, _scope_clause(kind, scope))
            .order_by(kind.model.started_at.desc(), kind.model.id.desc())
            .limit(limit)
        )
        found.extend(session.scalars(query))
    found.sort(key=lambda r: (r.started_at, r.id), reverse=True)
    return found[:limit]


def day_counts(
    session: Session, *, agent_id: int, zone: ZoneInfo, now: datetime | None = None
) -> tuple[date, dict[str, int]]:
    """How many forms of each kind the agent has on today's date in the center's zone."""
    day = (now or utcnow()).astimezone(zone).date()
    start, end = day_bounds_utc(day, zone)
    counts: dict[str, int] = {}
    for kind in KINDS:
        when = kind.column(kind.time_field)
        query = select(func.count()).where(kind.model.agent_id == agent_id, when >= start, when <= end)
        counts[kind.slug] = session.scalar(query.select_from(kind.model)) or 0
    return day, counts


def kind_of(slug: str) -> FormKind:
    for kind in KINDS:
        if kind.slug == slug:
            return kind
    raise NotFound(object="form", id=slug)
