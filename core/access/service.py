"""Borrowing permissions on customer files (客户信息借阅权限表) and change requests with approval
(客户信息更改申请表). Keyword-only functions taking a session; they flush, the caller commits.

The customers package calls :func:`has_grant` (and may use :func:`readable_clause`) to decide whether a
user may read a file above their role's clearance. Its own modules are imported inside functions so that
this module never forms an import cycle with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from core import phone
from core.access.models import AccessGrant, ChangeRequest, ChangeRequestStatus
from core.access.schemas import ChangeRequestCreate, GrantCreate, GrantStatus
from core.audit import service as audit
from core.audit.service import Actor
from core.clock import as_utc, utcnow
from core.db import paginate
from core.errors import Conflict, FieldProblem, InvalidFields, InvalidTransition, NotFound
from core.people.models import User
from core.tabular import EXPORT_ROW_LIMIT

if TYPE_CHECKING:
    from core.customers.models import Customer
    from core.customers.schemas import CustomerUpdate

DEFAULT_GRANT_DAYS = 7
EXPORT_LIMIT = EXPORT_ROW_LIMIT
# Changed through the customers' rating-change function (logged with reason in 客户信用度变更表).
RATING_FIELDS = ("grade", "credit_rating", "confidentiality")


# --- reading rules -----------------------------------------------------------------------------


def _valid_at(at: datetime) -> ColumnElement[bool]:
    return and_(
        AccessGrant.revoked_at.is_(None),
        AccessGrant.valid_from <= at,
        AccessGrant.valid_until > at,
    )


def has_grant(
    session: Session, *, user_id: int, customer_id: int, level: int, at: datetime | None = None
) -> bool:
    """True when a grant valid at ``at`` (default now) lets the user read this customer's file: one for
    this very customer, or one for every file up to a level at least ``level``."""
    at = at or utcnow()
    query = select(
        exists().where(
            AccessGrant.user_id == user_id,
            _valid_at(at),
            or_(AccessGrant.customer_id == customer_id, AccessGrant.max_level >= level),
        )
    )
    return bool(session.scalar(query))


def readable_clause(
    *,
    user_id: int,
    clearance: int,
    level_column: ColumnElement[int],
    customer_id_column: ColumnElement[int],
    at: datetime | None = None,
) -> ColumnElement[bool]:
    """A WHERE clause for customer lists: files up to the role's ``clearance``, plus those a valid grant
    opens (by customer or by level). Pass ``Customer.confidentiality`` and ``Customer.id``."""
    at = at or utcnow()
    valid = and_(AccessGrant.user_id == user_id, _valid_at(at))
    by_level = exists().where(valid, AccessGrant.max_level >= level_column)
    by_customer = exists().where(valid, AccessGrant.customer_id == customer_id_column)
    return or_(level_column <= clearance, by_level, by_customer)


readable_levels_clause = readable_clause


def grant_status(grant: AccessGrant, at: datetime | None = None) -> GrantStatus:
    at = at or utcnow()
    if grant.revoked_at is not None:
        return GrantStatus.REVOKED
    if grant.valid_from > at:
        return GrantStatus.SCHEDULED
    if grant.valid_until <= at:
        return GrantStatus.EXPIRED
    return GrantStatus.ACTIVE


# --- grants ------------------------------------------------------------------------------------


def _customer_model() -> type[Customer]:
    from core.customers.models import Customer

    return Customer


def customer_labels(session: Session, customer_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """Customer code and name for display beside grants and requests."""
    if not customer_ids:
        return {}
    customer = _customer_model()
    rows = session.execute(
        select(customer.id, customer.code, customer.name).where(customer.id.in_(customer_ids))
    ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def get_grant(session: Session, grant_id: int) -> AccessGrant:
    grant = session.get(AccessGrant, grant_id)
    if grant is None:
        raise NotFound(object="grant", id=grant_id)
    return grant


def list_grants(
    session: Session,
    *,
    user_id: int | None = None,
    customer_id: int | None = None,
    active_only: bool = False,
    q: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AccessGrant], int]:
    query = select(AccessGrant)
    if user_id is not None:
        query = query.where(AccessGrant.user_id == user_id)
    if customer_id is not None:
        query = query.where(AccessGrant.customer_id == customer_id)
    if active_only:
        query = query.where(_valid_at(utcnow()))
    if q:
        like = f"%{q}%"
        grantee = select(User.id).where(
            or_(User.username.ilike(like), User.full_name.ilike(like), User.agent_number.ilike(like))
        )
        query = query.where(or_(AccessGrant.reason.ilike(like), AccessGrant.user_id.in_(grantee)))
    return paginate(
        session, query, AccessGrant.granted_at.desc(), AccessGrant.id.desc(), offset=offset, limit=limit
    )


def create_grant(session: Session, *, data: GrantCreate, zone: ZoneInfo, actor: Actor) -> AccessGrant:
    """Records a borrowing permission; naive times in ``data`` are wall time in ``zone``."""
    if (data.customer_id is None) == (data.max_level is None):
        raise InvalidFields(
            FieldProblem(("customer_id",), "validation.grant_target"),
            FieldProblem(("max_level",), "validation.grant_target"),
        )
    grantee = session.get(User, data.user_id)
    if grantee is None or not grantee.active:
        raise InvalidFields.one("user_id", "validation.unknown_reference", value=data.user_id)
    if data.customer_id is not None and session.get(_customer_model(), data.customer_id) is None:
        raise InvalidFields.one("customer_id", "validation.unknown_reference", value=data.customer_id)
    now = utcnow()
    valid_from = as_utc(data.valid_from, zone) if data.valid_from else now
    valid_until = (
        as_utc(data.valid_until, zone)
        if data.valid_until
        else valid_from + timedelta(days=DEFAULT_GRANT_DAYS)
    )
    if valid_until <= valid_from:
        raise InvalidFields.one("valid_until", "validation.end_before_start")
    if valid_until <= now:
        raise InvalidFields.one("valid_until", "validation.in_past")
    grant = AccessGrant(
        user_id=data.user_id,
        customer_id=data.customer_id,
        max_level=data.max_level,
        reason=data.reason,
        note=data.note or None,
        valid_from=valid_from,
        valid_until=valid_until,
        granted_by_id=actor.user_id,
        granted_at=now,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="access.grant",
        object_type="access_grant",
        object_id=grant.id,
        detail={
            "user_id": grant.user_id,
            "customer_id": grant.customer_id,
            "max_level": grant.max_level,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "reason": grant.reason,
        },
    )
    return grant


def revoke_grant(session: Session, *, grant_id: int, note: str | None = None, actor: Actor) -> AccessGrant:
    grant = get_grant(session, grant_id)
    if grant.revoked_at is not None:
        raise InvalidTransition("error.grant_already_revoked")
    grant.revoked_at = utcnow()
    grant.revoked_by_id = actor.user_id
    session.flush()
    session.expire(grant, ["revoked_by"])  # loaded before the id was set
    audit.record(
        session,
        actor=actor,
        action="access.revoke",
        object_type="access_grant",
        object_id=grant.id,
        detail={"user_id": grant.user_id, "note": note} if note else {"user_id": grant.user_id},
    )
    return grant


# --- change requests ---------------------------------------------------------------------------

# Profile sub-forms are merged field by field on update; lists replace the stored ones.
_PROFILES = ("corporate", "individual")
_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "phones": ("number", "label", "is_primary"),
    "contact_windows": ("weekday", "start", "end", "note"),
    "visits": ("visited_on", "reason", "by_user_id"),
    "service_history": ("served_on", "item", "next_due", "opinion"),
}


def _json(value: Any) -> Any:
    return to_jsonable_python(value.value if hasattr(value, "value") else value)


def _row_values(row: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    # A visit's visitor is ``by_user_id`` in the form and ``user_id`` in the table.
    return {key: _json(getattr(row, "user_id" if key == "by_user_id" else key, None)) for key in keys}


def _profile_fields(name: str) -> tuple[str, ...]:
    from core.customers.schemas import CorporateProfileIn, IndividualProfileIn

    form = CorporateProfileIn if name == "corporate" else IndividualProfileIn
    return tuple(form.model_fields)


def current_values(customer: Customer, fields: dict[str, Any]) -> dict[str, Any]:
    """The customer's present values of the fields named in a change set, in the change set's JSON shape
    (for a profile, only the sub-fields being changed)."""
    values: dict[str, Any] = {}
    for name, new in fields.items():
        stored = getattr(customer, name)
        if name in _LIST_KEYS:
            values[name] = [_row_values(row, _LIST_KEYS[name]) for row in stored]
        elif name in _PROFILES:
            # Only the sub-fields being changed; all of them when the profile is to be removed.
            keys = tuple(new) if isinstance(new, dict) else _profile_fields(name)
            values[name] = None if stored is None else _row_values(stored, keys)
        else:
            values[name] = _json(stored)
    return values


def _problems(error: ValidationError, prefix: tuple[str | int, ...]) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        # Union wrappers add type names to the path; people want field names only.
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part[:1].isupper()))
        ctx = {k: v for k, v in (item.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        problems.append(FieldProblem((*prefix, *loc), f"validation.{item['type']}", **ctx))
    return problems


def _prefixed(error: InvalidFields, field: str | None = None) -> InvalidFields:
    """The customers service names its own fields (``phones.0.number``, or ``value`` for a rating);
    here they sit inside ``changes``."""
    problems = []
    for problem in error.problems:
        loc = (field,) if field is not None else problem.loc
        problems.append(FieldProblem(("changes", *loc), problem.code, **problem.params))
    return InvalidFields(*problems)


def _parse_rating(field: str, value: Any) -> Any:
    """The stored form of a new grade (AAA…B), credit rating (or null) or 密级 (0–3)."""
    from core.customers.models import CreditRating, CustomerGrade
    from core.security.roles import Clearance

    text = "" if value is None else str(value).strip()
    options: list[str]
    try:
        if field == "grade":
            options = [g.value for g in CustomerGrade]
            return CustomerGrade(text.upper()).value
        if field == "credit_rating":
            options = [c.value for c in CreditRating]
            return CreditRating(text.lower()).value if text else None
        options = [str(int(c)) for c in Clearance]
        if isinstance(value, bool):
            raise ValueError(value)
        return int(Clearance(int(text)))
    except ValueError:
        raise InvalidFields.one(("changes", field), "validation.enum", expected=", ".join(options)) from None


def validate_changes(
    session: Session, *, customer: Customer, changes: dict[str, Any], phone_region: str
) -> dict[str, Any]:
    """The change set in its stored (normalised JSON) form, or a 422 naming ``changes.<field>``.

    Shape and values are checked against the customers' own update form; the domain rules (duplicate
    code, phone numbers, references, payment terms) by a trial run of the update that is rolled back.
    """
    from core.customers.schemas import CustomerUpdate

    if not changes:
        raise InvalidFields.one("changes", "validation.no_changes")
    general = {k: v for k, v in changes.items() if k not in RATING_FIELDS}
    problems: list[FieldProblem] = []
    normalised: dict[str, Any] = {}
    update: CustomerUpdate | None = None
    try:
        update = CustomerUpdate.model_validate(general)
        # Profiles are merged field by field, so only what was sent; lists replace, so in full.
        partial = update.model_dump(mode="json", exclude_unset=True)
        full = update.model_dump(mode="json")
        normalised.update({name: partial[name] if name in _PROFILES else full[name] for name in partial})
    except ValidationError as error:
        problems += _problems(error, ("changes",))
    for field in RATING_FIELDS:
        if field not in changes:
            continue
        try:
            normalised[field] = _parse_rating(field, changes[field])
        except InvalidFields as error:
            problems += error.problems
    if problems:
        raise InvalidFields(*problems)

    # A value equal to the present one is no change (lists and profiles are left to the trial run).
    present = current_values(customer, normalised)
    same = [
        name
        for name, value in normalised.items()
        if name not in _LIST_KEYS and name not in _PROFILES and present[name] == value
    ]
    if same:
        raise InvalidFields(*(FieldProblem(("changes", name), "validation.unchanged") for name in same))

    if update is not None and general:
        _trial_update(session, customer_id=customer.id, update=update, phone_region=phone_region)
        if update.phones is not None:
            # Stored as E.164, like the file itself, so old and new numbers compare and mask alike.
            for item in normalised["phones"]:
                item["number"] = phone.normalise(item["number"], phone_region)
    return normalised


# Trial updates run under this name; their audit rows go with the rolled-back savepoint anyway.
TRIAL_ACTOR = Actor(user_id=None, username="change-request-check")


def _trial_update(session: Session, *, customer_id: int, update: CustomerUpdate, phone_region: str) -> None:
    """Runs the update inside a savepoint that is always rolled back: only its verdict is kept."""
    from core.customers import service as customers

    savepoint = session.begin_nested()
    try:
        customers.update_customer(
            session, customer_id=customer_id, data=update, actor=TRIAL_ACTOR, region_default=phone_region
        )
    except InvalidFields as error:
        raise _prefixed(error) from None
    finally:
        savepoint.rollback()


def get_change_request(session: Session, request_id: int, *, for_update: bool = False) -> ChangeRequest:
    """``for_update`` locks the row (PostgreSQL) so two reviewers cannot both decide the same request."""
    # FOR UPDATE OF the request alone: PostgreSQL refuses to lock the outer-joined user rows.
    lock = {"of": ChangeRequest} if for_update else None
    row = session.get(ChangeRequest, request_id, with_for_update=lock)
    if row is None:
        raise NotFound(object="change_request", id=request_id)
    return row


def list_change_requests(
    session: Session,
    *,
    q: str | None = None,
    status: ChangeRequestStatus | None = None,
    customer_id: int | None = None,
    requested_by_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ChangeRequest], int]:
    """``since``/``until`` bound ``requested_at`` and must be aware (the view converts naive input)."""
    query = select(ChangeRequest)
    if status is not None:
        query = query.where(ChangeRequest.status == status)
    if customer_id is not None:
        query = query.where(ChangeRequest.customer_id == customer_id)
    if requested_by_id is not None:
        query = query.where(ChangeRequest.requested_by_id == requested_by_id)
    if since is not None:
        query = query.where(ChangeRequest.requested_at >= since)
    if until is not None:
        query = query.where(ChangeRequest.requested_at <= until)
    if q:
        customer = _customer_model()
        like = f"%{q}%"
        matching = select(customer.id).where(or_(customer.code.ilike(like), customer.name.ilike(like)))
        query = query.where(or_(ChangeRequest.reason.ilike(like), ChangeRequest.customer_id.in_(matching)))
    return paginate(
        session, query, ChangeRequest.requested_at.desc(), ChangeRequest.id.desc(), offset=offset, limit=limit
    )


def record_request_read(session: Session, *, row: ChangeRequest, actor: Actor) -> None:
    """A change request shows part of a customer file: reading it is a read of the file."""
    audit.record(
        session,
        actor=actor,
        action="change_request.read",
        object_type="change_request",
        object_id=row.id,
        detail={"customer_id": row.customer_id},
    )


def can_read_customer(session: Session, *, customer_id: int, user_id: int, clearance: int) -> bool:
    """Whether the user may read this file (an unknown customer counts as readable: it is a 422 later)."""
    from core.customers import service as customers

    customer = session.get(_customer_model(), customer_id)
    if customer is None:
        return True
    return customers.can_read(session, customer=customer, user_id=user_id, clearance=clearance)


def create_change_request(
    session: Session, *, data: ChangeRequestCreate, phone_region: str, actor: Actor
) -> ChangeRequest:
    customer = session.get(_customer_model(), data.customer_id)
    if customer is None:
        raise InvalidFields.one("customer_id", "validation.unknown_reference", value=data.customer_id)
    changes = validate_changes(session, customer=customer, changes=data.changes, phone_region=phone_region)
    row = ChangeRequest(
        customer_id=customer.id,
        requested_by_id=actor.user_id,
        requested_at=utcnow(),
        changes=changes,
        old_values=current_values(customer, changes),
        reason=data.reason,
        status=ChangeRequestStatus.PENDING,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="change_request.create",
        object_type="change_request",
        object_id=row.id,
        detail={"customer_id": customer.id, "fields": sorted(changes), "reason": data.reason},
    )
    return row


def _pending(row: ChangeRequest) -> None:
    if row.status is not ChangeRequestStatus.PENDING:
        raise InvalidTransition("error.change_request_not_pending", status=row.status.value)


def approve_change_request(
    session: Session, *, request_id: int, note: str | None = None, phone_region: str, actor: Actor
) -> ChangeRequest:
    """Applies the change through the customers service (rating fields through its rating change, with
    the request's reason) and closes the request, all or nothing."""
    from core.customers import service as customers
    from core.customers.models import RatingField
    from core.customers.schemas import CustomerUpdate, RatingChangeIn

    row = get_change_request(session, request_id, for_update=True)
    _pending(row)
    if row.requested_by_id is not None and row.requested_by_id == actor.user_id:
        raise Conflict("error.own_request")
    customer = customers.get_customer(session, row.customer_id)
    # The file changed since the request was filed: approving would overwrite what the reviewer never saw.
    stale = sorted(
        name for name, old in current_values(customer, row.changes).items() if row.old_values.get(name) != old
    )
    if stale:
        raise Conflict("error.change_request_stale", fields=", ".join(stale))
    general = {k: v for k, v in row.changes.items() if k not in RATING_FIELDS}
    try:
        update = CustomerUpdate.model_validate(general)
    except ValidationError as error:
        raise InvalidFields(*_problems(error, ("changes",))) from None
    with session.begin_nested():  # a failure half-way leaves the file as it was
        if general:
            try:
                customers.update_customer(
                    session, customer_id=customer.id, data=update, actor=actor, region_default=phone_region
                )
            except InvalidFields as error:
                raise _prefixed(error) from None
        for field in RATING_FIELDS:
            if field not in row.changes:
                continue
            rating = RatingChangeIn(field=RatingField(field), value=row.changes[field], reason=row.reason)
            try:
                customers.change_rating(session, customer_id=customer.id, data=rating, actor=actor)
            except InvalidFields as error:
                raise _prefixed(error, field) from None
        row.status = ChangeRequestStatus.APPROVED
        row.reviewed_by_id = actor.user_id
        row.reviewed_at = utcnow()
        row.review_note = note or None
        session.flush()
    session.expire(row, ["reviewed_by"])  # loaded before the id was set
    audit.record(
        session,
        actor=actor,
        action="change_request.approve",
        object_type="change_request",
        object_id=row.id,
        detail={"customer_id": row.customer_id, "fields": sorted(row.changes), "note": note},
    )
    return row


def reject_change_request(session: Session, *, request_id: int, note: str, actor: Actor) -> ChangeRequest:
    row = get_change_request(session, request_id, for_update=True)
    _pending(row)
    if not note.strip():
        raise InvalidFields.one("note", "validation.missing")
    row.status = ChangeRequestStatus.REJECTED
    row.reviewed_by_id = actor.user_id
    row.reviewed_at = utcnow()
    row.review_note = note.strip()
    session.flush()
    session.expire(row, ["reviewed_by"])  # loaded before the id was set
    audit.record(
        session,
        actor=actor,
        action="change_request.reject",
        object_type="change_request",
        object_id=row.id,
        detail={"customer_id": row.customer_id, "note": row.review_note},
    )
    return row


def withdraw_change_request(session: Session, *, request_id: int, actor: Actor) -> ChangeRequest:
    """The requester takes back a request still pending (the view checks whose it is: it audits refusals)."""
    row = get_change_request(session, request_id, for_update=True)
    _pending(row)
    row.status = ChangeRequestStatus.WITHDRAWN
    row.withdrawn_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="change_request.withdraw",
        object_type="change_request",
        object_id=row.id,
        detail={"customer_id": row.customer_id},
    )
    return row
