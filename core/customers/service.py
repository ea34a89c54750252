"""Customer files: search, screen-pop lookup by caller number, create (also from the agent's own call, the
caller's number taken from the call), update, rating changes with reason (客户信用度变更表), the
confidentiality rule, phone / bank-account masking and the 不宜访问时间 check.

Keyword-only functions taking a session; they flush, the caller commits. Every read of a file and every
change leaves an audit row. Refusals (above clearance) are audited by the web layer, whose own
transaction survives the request's rollback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from core import phone as phones_
from core.audit import service as audit
from core.audit.models import AuditEntry
from core.audit.service import Actor
from core.calls.models import PbxCall
from core.customers.models import (
    ContactWindow,
    CorporateProfile,
    CreditRating,
    Customer,
    CustomerGrade,
    CustomerKind,
    CustomerPhone,
    CustomerRatingChange,
    CustomerVisit,
    IndividualProfile,
    PhoneLabel,
    RatingField,
    ServiceHistory,
)
from core.customers.schemas import (
    ContactWindowIn,
    CorporateProfileIn,
    CustomerCreate,
    CustomerFromCall,
    CustomerUpdate,
    IndividualProfileIn,
    PhoneIn,
    RatingChangeIn,
    ServiceHistoryIn,
    VisitIn,
)
from core.db import paginate
from core.errors import FieldProblem, InvalidFields, NotFound, PermissionDenied
from core.people.models import User
from core.security.roles import Clearance

CODE_PREFIX = "C"
CODE_DIGITS = 6
PAYMENT_FIELDS = ("payment_cash_pct", "payment_cheque_pct", "payment_draft_pct")
# Characters people put inside phone numbers; a query made only of digits and these is tried as a number.
_PHONE_PUNCTUATION = re.compile(r"[\s\-().\u3000]")
_PHONE_QUERY = re.compile(r"^\+?\d{5,20}$")


# --- reading rules -----------------------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(object="customer", id=customer_id)
    return customer


def has_access_grant(session: Session, *, user_id: int, customer_id: int, level: int) -> bool:
    """A valid borrowing grant (客户信息借阅权限) for this file; none while core.access is absent."""
    try:
        from core.access import service as access
    except ImportError:
        return False
    return bool(access.has_grant(session, user_id=user_id, customer_id=customer_id, level=level))


def can_read(session: Session, *, customer: Customer, user_id: int, clearance: int) -> bool:
    """A file up to the role's clearance is readable; one above it only with a grant."""
    if customer.confidentiality <= clearance:
        return True
    return has_access_grant(session, user_id=user_id, customer_id=customer.id, level=customer.confidentiality)


def _readable_clause(
    session: Session, *, user_id: int, clearance: int, conditions: Sequence[ColumnElement[bool]]
) -> ColumnElement[bool]:
    """Lists leave out files above the user's clearance unless a grant opens them."""
    within = Customer.confidentiality <= clearance
    try:
        from core.access import service as access
    except ImportError:
        return within
    clause = getattr(access, "readable_clause", None)
    if clause is not None:
        result: ColumnElement[bool] = clause(
            user_id=user_id,
            clearance=clearance,
            level_column=Customer.confidentiality,
            customer_id_column=Customer.id,
        )
        return result
    # Without the bulk clause: ask per file, only for the (few) matches above clearance.
    above = session.execute(
        select(Customer.id, Customer.confidentiality).where(*conditions, Customer.confidentiality > clearance)
    ).all()
    granted = [
        cid
        for cid, level in above
        if has_access_grant(session, user_id=user_id, customer_id=cid, level=level)
    ]
    return or_(within, Customer.id.in_(granted)) if granted else within


def record_read(session: Session, *, customer: Customer, actor: Actor, via: str) -> None:
    record_read_of(session, customer_id=customer.id, code=customer.code, actor=actor, via=via)


def record_read_of(session: Session, *, customer_id: int, code: str, actor: Actor, via: str) -> AuditEntry:
    """``record_read`` from the file's id and code alone: for a read audited after its session ended (the
    screen pop writes its rows after sending the pop)."""
    return audit.record(
        session,
        actor=actor,
        action="customer.read",
        object_type="customer",
        object_id=customer_id,
        detail={"via": via, "code": code},
    )


# --- masking -----------------------------------------------------------------------------------


def show_phone(e164: str, *, unmasked: bool, region: str) -> str:
    """A number as a reader may see it: national form, or masked (139****9001) without PHONES_UNMASKED."""
    return phones_.display(e164, region) if unmasked else phones_.mask(e164, region)


def mask_account(account: str | None) -> str | None:
    """Bank accounts follow the phone rule (shown whole only with PHONES_UNMASKED): every letter or digit
    but the last four becomes ``*``, spaces and dashes stay, so the clerk can still confirm the tail
    the customer reads out."""
    if account is None:
        return None
    positions = [i for i, ch in enumerate(account) if ch.isalnum()]
    hidden = set(positions[:-4]) if len(positions) > 4 else set(positions[:-1])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(account))


# --- search ------------------------------------------------------------------------------------


def phone_query(q: str, region: str) -> str | None:
    """E.164 of a search text that looks like a phone number in any spelling, else None."""
    compact = _PHONE_PUNCTUATION.sub("", q)
    if not _PHONE_QUERY.match(compact):
        return None
    try:
        return phones_.normalise(compact, region)
    except ValueError:
        return None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_conditions(
    *,
    q: str | None = None,
    grade: CustomerGrade | None = None,
    region: str | None = None,
    kind: CustomerKind | None = None,
    phone_region: str = "CN",
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text = (q or "").strip()
    if text:
        like = _like(text)
        options: list[ColumnElement[bool]] = [
            Customer.code.ilike(like, escape="\\"),
            Customer.name.ilike(like, escape="\\"),
            Customer.contact_person.ilike(like, escape="\\"),
        ]
        e164 = phone_query(text, phone_region)
        if e164:
            options.append(
                Customer.id.in_(select(CustomerPhone.customer_id).where(CustomerPhone.number == e164))
            )
        conditions.append(or_(*options))
    if grade is not None:
        conditions.append(Customer.grade == grade)
    if region and region.strip():
        # A prefix, so "广东省" also finds "广东省深圳市".
        conditions.append(Customer.region.startswith(region.strip(), autoescape=True))
    if kind is not None:
        conditions.append(Customer.kind == kind)
    return conditions


def _visible_query(
    session: Session, *, conditions: list[ColumnElement[bool]], user_id: int, clearance: int
) -> Select[Customer]:
    visible = _readable_clause(session, user_id=user_id, clearance=clearance, conditions=conditions)
    return select(Customer).where(*conditions, visible)


def search_customers(
    session: Session,
    *,
    user_id: int,
    clearance: int,
    q: str | None = None,
    grade: CustomerGrade | None = None,
    region: str | None = None,
    kind: CustomerKind | None = None,
    phone_region: str = "CN",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Customer], int]:
    """Files matching the search that the user may read; a phone number in any spelling matches."""
    conditions = search_conditions(q=q, grade=grade, region=region, kind=kind, phone_region=phone_region)
    query = _visible_query(session, conditions=conditions, user_id=user_id, clearance=clearance)
    return paginate(session, query, Customer.code, offset=offset, limit=limit)


def lookup_by_phone(
    session: Session, *, phone: str, user_id: int, clearance: int, phone_region: str = "CN"
) -> list[Customer]:
    """The screen pop: every readable file holding exactly this number (families share numbers)."""
    e164 = phones_.normalise_field(phone, phone_region, "phone")
    owners = select(CustomerPhone.customer_id).where(CustomerPhone.number == e164)
    query = _visible_query(
        session, conditions=[Customer.id.in_(owners)], user_id=user_id, clearance=clearance
    )
    return list(session.scalars(query.order_by(Customer.code)).all())


# --- writing -----------------------------------------------------------------------------------


def next_code(session: Session) -> str:
    """C + 6 digits, from the row count on, skipping codes typed in by hand."""
    n = (session.scalar(select(func.max(Customer.id))) or 0) + 1
    while True:
        code = f"{CODE_PREFIX}{n:0{CODE_DIGITS}d}"
        if session.scalar(select(Customer.id).where(Customer.code == code)) is None:
            return code
        n += 1


def _code_problem(session: Session, code: str | None, own_id: int | None) -> list[FieldProblem]:
    if code and session.scalar(select(Customer.id).where(Customer.code == code, Customer.id != own_id)):
        return [FieldProblem(("code",), "validation.duplicate", value=code)]
    return []


def _normalise_phones(
    phones: list[PhoneIn], region: str
) -> tuple[list[tuple[str, PhoneIn]], list[FieldProblem]]:
    """E.164 of each number; a bad or repeated one is a problem on ``phones.<i>.number``."""
    good: list[tuple[str, PhoneIn]] = []
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for index, item in enumerate(phones):
        try:
            e164 = phones_.normalise(item.number, region)
        except ValueError:
            problems.append(
                FieldProblem(("phones", index, "number"), "validation.phone_invalid", value=item.number)
            )
            continue
        if e164 in seen:
            problems.append(
                FieldProblem(("phones", index, "number"), "validation.duplicate", value=item.number)
            )
            continue
        seen.add(e164)
        good.append((e164, item))
    return good, problems


def _set_phones(customer: Customer, phones: list[tuple[str, PhoneIn]]) -> None:
    """Replaces the numbers, keeping the rows of numbers that stay; exactly one is primary."""
    primary = next((i for i, (_, item) in enumerate(phones) if item.is_primary), 0)
    existing = {row.number: row for row in customer.phones}
    rows: list[CustomerPhone] = []
    for index, (e164, item) in enumerate(phones):
        row = existing.get(e164) or CustomerPhone(number=e164)
        row.label = item.label
        row.is_primary = index == primary
        rows.append(row)
    # Primary first, as the relationship orders them when loaded.
    customer.phones = sorted(rows, key=lambda r: not r.is_primary)


def _user_problems(
    session: Session, refs: list[tuple[tuple[str | int, ...], int | None]]
) -> list[FieldProblem]:
    wanted = {user_id for _, user_id in refs if user_id is not None}
    if not wanted:
        return []
    known = set(session.scalars(select(User.id).where(User.id.in_(wanted))).all())
    return [
        FieldProblem(loc, "validation.unknown_reference", value=user_id)
        for loc, user_id in refs
        if user_id is not None and user_id not in known
    ]


def _profile_problems(
    kind: CustomerKind, corporate: CorporateProfileIn | None, individual: IndividualProfileIn | None
) -> list[FieldProblem]:
    problems = []
    if corporate is not None and kind is not CustomerKind.CORPORATE:
        problems.append(FieldProblem(("corporate",), "validation.profile_kind_mismatch", kind=kind.value))
    if individual is not None and kind is not CustomerKind.INDIVIDUAL:
        problems.append(FieldProblem(("individual",), "validation.profile_kind_mismatch", kind=kind.value))
    return problems


def _payment_problems(values: dict[str, int | None]) -> list[FieldProblem]:
    total = sum(values.get(name) or 0 for name in PAYMENT_FIELDS)
    if total > 100:
        return [
            FieldProblem(("corporate", "payment_terms"), "validation.payment_terms_over_100", total=total)
        ]
    return []


def _windows(items: list[ContactWindowIn]) -> list[ContactWindow]:
    return [ContactWindow(**item.model_dump()) for item in items]


def _visits(items: list[VisitIn], actor: Actor) -> list[CustomerVisit]:
    return [
        CustomerVisit(
            visited_on=item.visited_on,
            reason=item.reason,
            user_id=item.by_user_id if item.by_user_id is not None else actor.user_id,
        )
        for item in items
    ]


def _history(items: list[ServiceHistoryIn]) -> list[ServiceHistory]:
    return [ServiceHistory(**item.model_dump()) for item in items]


def _visit_refs(visits: list[VisitIn] | None) -> list[tuple[tuple[str | int, ...], int | None]]:
    return [(("visits", i, "by_user_id"), v.by_user_id) for i, v in enumerate(visits or [])]


_SCALARS = ("code", "kind", "name", "address", "region", "sales_share_class", "contact_person", "email")
_SCALARS_MORE = ("notes", "owner_id")


def create_customer(
    session: Session, *, data: CustomerCreate, actor: Actor, region_default: str = "CN"
) -> Customer:
    """A new customer file; phones are normalised with ``region_default`` (the center's region)."""
    return create_customer_from(session, data=data, actor=actor, region_default=region_default)


def create_customer_from(
    session: Session,
    *,
    data: CustomerCreate,
    actor: Actor,
    region_default: str = "CN",
    source: dict[str, Any] | None = None,
) -> Customer:
    """:func:`create_customer` with where the file came from (an import job) for the audit row."""
    phones, problems = _normalise_phones(data.phones, region_default)
    problems += _code_problem(session, data.code, None)
    problems += _profile_problems(data.kind, data.corporate, data.individual)
    if data.corporate is not None:
        problems += _payment_problems(data.corporate.model_dump(include=set(PAYMENT_FIELDS)))
    problems += _user_problems(session, [(("owner_id",), data.owner_id), *_visit_refs(data.visits)])
    if problems:
        raise InvalidFields(*problems)

    customer = Customer(
        code=data.code or next_code(session),
        grade=data.grade,
        credit_rating=data.credit_rating,
        confidentiality=data.confidentiality,
        created_by_id=actor.user_id,
        **{name: getattr(data, name) for name in (*_SCALARS[1:], *_SCALARS_MORE)},
    )
    _set_phones(customer, phones)
    if data.corporate is not None:
        customer.corporate = CorporateProfile(**data.corporate.model_dump())
    if data.individual is not None:
        customer.individual = IndividualProfile(**data.individual.model_dump())
    customer.contact_windows = _windows(data.contact_windows)
    customer.visits = _visits(data.visits, actor)
    customer.service_history = _history(data.service_history)
    session.add(customer)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        object_type="customer",
        object_id=customer.id,
        detail={"code": customer.code, "fields": sorted(data.model_fields_set), **(source or {})},
    )
    return customer


# --- the caller's file from the agent's call ------------------------------------------------------------

# After the call ended, its agent may still file the caller (wrap-up, writing the record) for this long.
CALL_FILE_WINDOW = timedelta(hours=1)
CALL_MAX_LENGTH = timedelta(hours=12)  # a call with no end older than this is a row whose end was lost


class NotYourCall(PermissionDenied):
    code = "error.not_your_call"


def caller_number_of_call(
    session: Session,
    *,
    linkedid: str,
    user: User,
    live_call: Mapping[str, Any] | None,
    now: datetime,
) -> str | None:
    """The caller's number of ``linkedid`` when that call is ``user``'s own: ringing or talking with them in
    the live state (``live_call``, given by the web layer only when the call is theirs), or answered by
    them (``pbx_calls.agent_id``, or a queue leg answered on their phone) and not ended longer than
    :data:`CALL_FILE_WINDOW` ago. Anything else, an unknown linkedid included, is :class:`NotYourCall`.
    The number is ``pbx_calls.caller_number`` (E.164), else the live state's; None when withheld."""
    from acd.records.models import QueueLeg  # the telephony's tables; imported late, core loads first

    call = session.scalars(select(PbxCall).where(PbxCall.linkedid == linkedid)).first()
    mine = live_call is not None
    if not mine and call is not None:
        if call.ended_at is not None:
            recent = call.ended_at >= now - CALL_FILE_WINDOW
        else:  # still going (or its end was never seen): not a stale row of long ago
            recent = (call.started_at or call.created_at) >= now - CALL_MAX_LENGTH
        answered_by_me = call.agent_id == user.id
        if not answered_by_me and user.pbx_interface:
            answered_by_me = (
                session.scalar(
                    select(QueueLeg.id)
                    .where(
                        QueueLeg.call_id == call.id,
                        QueueLeg.interface == user.pbx_interface,
                        QueueLeg.answered_at.is_not(None),
                    )
                    .limit(1)
                )
                is not None
            )
        mine = answered_by_me and recent
    if not mine:
        raise NotYourCall(linkedid=linkedid)
    if call is not None and call.caller_number:
        return call.caller_number
    live_number = (live_call or {}).get("caller_number")
    return str(live_number) if live_number else None


def _phone_label(e164: str) -> PhoneLabel:
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return PhoneLabel.OTHER
    mobile = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return PhoneLabel.MOBILE if kind in mobile else PhoneLabel.OTHER


def create_customer_from_call(
    session: Session,
    *,
    data: CustomerFromCall,
    caller_number: str | None,
    actor: Actor,
    region_default: str = "CN",
) -> Customer:
    """A new customer file with the call's caller number added to the typed ones (after them, so a typed
    number's problems keep their ``phones.<i>`` path; primary unless the agent marked one). A call without a
    usable number and no typed number is a 422 on ``pbx_linkedid``."""
    e164: str | None = None
    if caller_number:
        try:
            e164 = phones_.normalise(caller_number, region_default)
        except ValueError:  # "anonymous", "unknown": a withheld number
            e164 = None
    phones = list(data.phones)
    if e164 is None and not phones:
        raise InvalidFields.one("pbx_linkedid", "validation.call_without_number")
    typed: set[str] = set()
    for item in phones:
        with contextlib.suppress(ValueError):  # reported at its own path by create_customer_from
            typed.add(phones_.normalise(item.number, region_default))
    if e164 is not None and e164 not in typed:
        primary = not any(item.is_primary for item in phones)
        phones.append(PhoneIn(number=e164, label=_phone_label(e164), is_primary=primary))
    fields = data.model_dump(exclude={"pbx_linkedid", "phones"}, exclude_unset=True)
    create = CustomerCreate.model_validate({**fields, "phones": [p.model_dump() for p in phones]})
    return create_customer_from(
        session,
        data=create,
        actor=actor,
        region_default=region_default,
        source={"phone_from_call": data.pbx_linkedid, "caller_number_added": e164 is not None},
    )


def _snapshot(customer: Customer) -> dict[str, Any]:
    """Comparable values of every updatable part, to name what an update really changed."""

    def columns(obj: Any, names: Sequence[str]) -> tuple[Any, ...]:
        return tuple(getattr(obj, name) for name in names)

    corporate_names = tuple(CorporateProfileIn.model_fields)
    individual_names = tuple(IndividualProfileIn.model_fields)
    return {
        **{name: getattr(customer, name) for name in (*_SCALARS, *_SCALARS_MORE)},
        "phones": [(p.number, p.label, p.is_primary) for p in customer.phones],
        "corporate": columns(customer.corporate, corporate_names) if customer.corporate else None,
        "individual": columns(customer.individual, individual_names) if customer.individual else None,
        "contact_windows": sorted(
            (w.weekday, w.start, w.end, w.note or "") for w in customer.contact_windows
        ),
        "visits": sorted((v.visited_on, v.reason, v.user_id or 0) for v in customer.visits),
        "service_history": sorted(
            (h.served_on, h.item, str(h.next_due), h.opinion or "") for h in customer.service_history
        ),
    }


def update_customer(
    session: Session, *, customer_id: int, data: CustomerUpdate, actor: Actor, region_default: str = "CN"
) -> Customer:
    """Changes what ``data`` carries; grade, credit rating and 密级 are not among it (see change_rating)."""
    customer = get_customer(session, customer_id)
    given = data.model_fields_set
    kind = data.kind if "kind" in given and data.kind is not None else customer.kind

    problems: list[FieldProblem] = []
    phones: list[tuple[str, PhoneIn]] = []
    if data.phones is not None:
        phones, problems = _normalise_phones(data.phones, region_default)
    if "code" in given:
        problems += _code_problem(session, data.code, customer.id)
    problems += _profile_problems(kind, data.corporate, data.individual)
    if data.corporate is not None:
        merged = {name: getattr(customer.corporate, name, None) for name in PAYMENT_FIELDS}
        merged.update(
            data.corporate.model_dump(include=set(PAYMENT_FIELDS) & data.corporate.model_fields_set)
        )
        problems += _payment_problems(merged)
    refs = _visit_refs(data.visits)
    if "owner_id" in given:
        refs.append((("owner_id",), data.owner_id))
    problems += _user_problems(session, refs)
    if problems:
        raise InvalidFields(*problems)

    before = _snapshot(customer)
    for name in (*_SCALARS, *_SCALARS_MORE):
        if name in given:
            setattr(customer, name, getattr(data, name))
    if data.phones is not None:
        _set_phones(customer, phones)
    # A customer is one kind: the other kind's profile goes with a change of kind.
    if kind is CustomerKind.INDIVIDUAL:
        customer.corporate = None
    else:
        customer.individual = None
    if "corporate" in given:
        _merge_profile(customer, "corporate", data.corporate)
    if "individual" in given:
        _merge_profile(customer, "individual", data.individual)
    if data.contact_windows is not None:
        customer.contact_windows = _windows(data.contact_windows)
    if data.visits is not None:
        customer.visits = _visits(data.visits, actor)
    if data.service_history is not None:
        customer.service_history = _history(data.service_history)
    session.flush()
    after = _snapshot(customer)
    changed = sorted(name for name in after if after[name] != before[name])
    audit.record(
        session,
        actor=actor,
        action="customer.update",
        object_type="customer",
        object_id=customer.id,
        detail={"code": customer.code, "fields": changed},
    )
    return customer


def _merge_profile(
    customer: Customer, attribute: str, data: CorporateProfileIn | IndividualProfileIn | None
) -> None:
    """null removes the profile; otherwise the fields sent overwrite the stored ones."""
    if data is None:
        setattr(customer, attribute, None)
        return
    profile = getattr(customer, attribute)
    if profile is None:
        profile = CorporateProfile() if attribute == "corporate" else IndividualProfile()
        setattr(customer, attribute, profile)
    for name in data.model_fields_set:
        setattr(profile, name, getattr(data, name))


# --- rating changes (客户信用度变更表) ------------------------------------------------------------


def _expected(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)


def _parse_rating(field: RatingField, value: str | int | None) -> tuple[Any, str | None]:
    """The typed new value and its stored text; a value the field does not allow is a 422 on ``value``."""
    text = "" if value is None else str(value).strip()
    if field is RatingField.GRADE:
        try:
            grade = CustomerGrade(text.upper())
        except ValueError:
            raise InvalidFields.one(
                "value", "validation.enum", expected=_expected([g.value for g in CustomerGrade])
            ) from None
        return grade, grade.value
    if field is RatingField.CREDIT_RATING:
        if not text:
            return None, None
        try:
            rating = CreditRating(text.lower())
        except ValueError:
            raise InvalidFields.one(
                "value", "validation.enum", expected=_expected([c.value for c in CreditRating])
            ) from None
        return rating, rating.value
    try:
        level = Clearance(int(text))
    except ValueError:
        raise InvalidFields.one(
            "value", "validation.enum", expected=_expected([str(int(c)) for c in Clearance])
        ) from None
    return int(level), str(int(level))


def _stored(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value) if hasattr(value, "value") else str(value)


def change_rating(
    session: Session, *, customer_id: int, data: RatingChangeIn, actor: Actor
) -> CustomerRatingChange:
    """Changes grade, credit rating or 密级 and logs it with the reason; the only way to change them."""
    customer = get_customer(session, customer_id)
    new_value, new_text = _parse_rating(data.field, data.value)
    old_text = _stored(getattr(customer, data.field.value))
    if new_text == old_text:
        raise InvalidFields.one("value", "validation.unchanged", value=new_text or "")
    setattr(customer, data.field.value, new_value)
    change = CustomerRatingChange(
        customer_id=customer.id,
        field=data.field,
        old_value=old_text,
        new_value=new_text,
        reason=data.reason,
        changed_by_id=actor.user_id,
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.rating_change",
        object_type="customer",
        object_id=customer.id,
        detail={
            "fields": [data.field.value],
            "old": old_text,
            "new": new_text,
            "reason": data.reason,
            "change_id": change.id,
        },
    )
    return change


def list_rating_changes(session: Session, *, customer_id: int) -> list[CustomerRatingChange]:
    get_customer(session, customer_id)
    query = (
        select(CustomerRatingChange)
        .where(CustomerRatingChange.customer_id == customer_id)
        .order_by(CustomerRatingChange.changed_at.desc(), CustomerRatingChange.id.desc())
    )
    return list(session.scalars(query).all())


# --- times not suitable for contact (不宜访问时间) -------------------------------------------------


def is_unsuitable_time(customer: Customer, at_utc: datetime, zone: ZoneInfo) -> bool:
    """True when ``at_utc`` falls in one of the customer's weekly windows, read in the center's ``zone``.

    A window whose end is not after its start runs past midnight into the next day (22:00–08:00);
    start == end blocks the whole 24 hours from start.
    """
    if at_utc.tzinfo is None:
        raise ValueError("is_unsuitable_time needs an aware datetime")
    local = at_utc.astimezone(zone)
    weekday, now = local.weekday(), local.time().replace(tzinfo=None)
    yesterday = (weekday - 1) % 7
    for window in customer.contact_windows:
        if window.start < window.end:
            if window.weekday == weekday and window.start <= now < window.end:
                return True
        elif (window.weekday == weekday and now >= window.start) or (
            window.weekday == yesterday and now < window.end
        ):
            return True
    return False
