"""HTTP API of customer files: search, the screen-pop lookup, detail, create (also from the agent's own
call: the caller's number filled in from the PBX), update, rating changes, export, and the spreadsheet
import with its template and job progress.

Outputs are built here because they depend on the reader: phone numbers and bank accounts are masked for
users without ``customers.phones_unmasked``; files above the reader's clearance need a grant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import anyio.from_thread
from fastapi import APIRouter, BackgroundTasks, Depends, File, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session, sessionmaker

from core import i18n
from core.audit import service as audit
from core.clock import utcnow
from core.config import Settings
from core.customers import importer, service
from core.customers.models import Customer, CustomerGrade, CustomerKind, CustomerRatingChange
from core.customers.schemas import (
    ContactWindowOut,
    CorporateProfileOut,
    CustomerCreate,
    CustomerFromCall,
    CustomerListItem,
    CustomerOut,
    CustomerUpdate,
    ImportJobOut,
    IndividualProfileOut,
    PhoneOut,
    RatingChangeIn,
    RatingChangeOut,
    ServiceHistoryOut,
    VisitOut,
)
from core.errors import InvalidFields
from core.people.models import User
from core.security.roles import Permission
from core.tabular import EXPORT_ROW_LIMIT, MEDIA_TYPES, Column, write_table
from core.web import DB, AppSettings, CurrentUser, Page, PageParams, deny, request_language, require

router = APIRouter(prefix="/api/customers", tags=["customers"])
P = Permission
Reader = Annotated[CurrentUser, Depends(require(P.CUSTOMERS_READ))]
Creator = Annotated[CurrentUser, Depends(require(P.CUSTOMERS_CREATE))]
Editor = Annotated[CurrentUser, Depends(require(P.CUSTOMERS_EDIT))]
Importer = Annotated[CurrentUser, Depends(require(P.CUSTOMERS_IMPORT))]
Exporter = Annotated[CurrentUser, Depends(require(P.CUSTOMERS_EXPORT))]
Format = Annotated[Literal["csv", "xlsx"], Query(alias="format")]

EXPORT_COLUMNS = (
    "code",
    "name",
    "kind",
    "grade",
    "sales_share_class",
    "credit_rating",
    "confidentiality",
    "phones",
    "region",
    "address",
    "contact_person",
    "email",
    "notes",
    "owner",
    "created_at",
    "updated_at",
)


# --- presenting --------------------------------------------------------------------------------


def _phone_out(row: Any, *, unmasked: bool, region: str) -> PhoneOut:
    return PhoneOut(
        id=row.id,
        number=service.show_phone(row.number, unmasked=unmasked, region=region),
        e164=row.number if unmasked else None,
        label=row.label,
        is_primary=row.is_primary,
        masked=not unmasked,
    )


def customer_out(customer: Customer, *, current: CurrentUser, settings: Settings) -> CustomerOut:
    unmasked = current.can(P.PHONES_UNMASKED)
    corporate = None
    if customer.corporate is not None:
        corporate = CorporateProfileOut.model_validate(customer.corporate)
        if not unmasked:
            corporate.bank_account = service.mask_account(corporate.bank_account)
    visits = [
        VisitOut(
            id=visit.id,
            visited_on=visit.visited_on,
            reason=visit.reason,
            by_user_id=visit.user_id,
            by_user_name=visit.user.full_name if visit.user else None,
        )
        for visit in customer.visits
    ]
    return CustomerOut(
        id=customer.id,
        code=customer.code,
        kind=customer.kind,
        name=customer.name,
        address=customer.address,
        region=customer.region,
        grade=customer.grade,
        sales_share_class=customer.sales_share_class,
        credit_rating=customer.credit_rating,
        confidentiality=customer.confidentiality,
        contact_person=customer.contact_person,
        email=customer.email,
        notes=customer.notes,
        owner_id=customer.owner_id,
        owner_name=customer.owner.full_name if customer.owner else None,
        created_by_id=customer.created_by_id,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        phones=[_phone_out(p, unmasked=unmasked, region=settings.phone_region) for p in customer.phones],
        corporate=corporate,
        individual=IndividualProfileOut.model_validate(customer.individual) if customer.individual else None,
        contact_windows=[ContactWindowOut.model_validate(w) for w in customer.contact_windows],
        visits=visits,
        service_history=[ServiceHistoryOut.model_validate(h) for h in customer.service_history],
        contact_unsuitable_now=service.is_unsuitable_time(customer, utcnow(), settings.zone),
    )


def list_item(customer: Customer, *, current: CurrentUser, settings: Settings) -> CustomerListItem:
    unmasked = current.can(P.PHONES_UNMASKED)
    numbers = [
        service.show_phone(p.number, unmasked=unmasked, region=settings.phone_region) for p in customer.phones
    ]
    return CustomerListItem(
        id=customer.id,
        code=customer.code,
        kind=customer.kind,
        name=customer.name,
        region=customer.region,
        grade=customer.grade,
        sales_share_class=customer.sales_share_class,
        credit_rating=customer.credit_rating,
        confidentiality=customer.confidentiality,
        contact_person=customer.contact_person,
        primary_phone=numbers[0] if numbers else None,
        phones=numbers,
        owner_id=customer.owner_id,
        owner_name=customer.owner.full_name if customer.owner else None,
        updated_at=customer.updated_at,
    )


def _change_out(change: CustomerRatingChange) -> RatingChangeOut:
    out = RatingChangeOut.model_validate(change)
    out.changed_by_name = change.changed_by.full_name if change.changed_by else None
    return out


def readable_customer(request: Request, db: Session, current: CurrentUser, customer_id: int) -> Customer:
    """The file, if the user may read it; above clearance without a grant: 403, audited."""
    customer = service.get_customer(db, customer_id)
    if not service.can_read(db, customer=customer, user_id=current.id, clearance=current.clearance):
        raise deny(
            request,
            current,
            "error.above_clearance",
            customer_id=customer.id,
            confidentiality=customer.confidentiality,
            clearance=int(current.clearance),
        )
    return customer


def _attachment(data: bytes, fmt: str, stem: str) -> Response:
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}.{fmt}"
    return Response(
        content=data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- search, lookup, export (static paths before /{customer_id}) -------------------------------


@router.get("", response_model=Page[CustomerListItem], summary="Search customer files")
def search_customers(
    db: DB,
    paging: PageParams,
    settings: AppSettings,
    current: Reader,
    q: Annotated[str | None, Query(max_length=100, description="Code, name, contact or phone")] = None,
    grade: CustomerGrade | None = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    kind: CustomerKind | None = None,
) -> Page[CustomerListItem]:
    rows, total = service.search_customers(
        db,
        user_id=current.id,
        clearance=current.clearance,
        q=q,
        grade=grade,
        region=region,
        kind=kind,
        phone_region=settings.phone_region,
        offset=paging.offset,
        limit=paging.limit,
    )
    return Page(
        items=[list_item(c, current=current, settings=settings) for c in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.get("/lookup", response_model=list[CustomerOut], summary="Screen pop: files holding a phone number")
def lookup(
    db: DB,
    settings: AppSettings,
    current: Reader,
    phone: Annotated[str, Query(min_length=1, max_length=40)],
) -> list[CustomerOut]:
    customers = service.lookup_by_phone(
        db, phone=phone, user_id=current.id, clearance=current.clearance, phone_region=settings.phone_region
    )
    for customer in customers:
        service.record_read(db, customer=customer, actor=current.actor, via="lookup")
    return [customer_out(c, current=current, settings=settings) for c in customers]


@router.get("/export", summary="Export the search result as CSV or XLSX")
def export_customers(
    request: Request,
    db: DB,
    settings: AppSettings,
    current: Exporter,
    fmt: Format = "csv",
    q: Annotated[str | None, Query(max_length=100)] = None,
    grade: CustomerGrade | None = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    kind: CustomerKind | None = None,
) -> Response:
    language = request_language(request)
    rows, total = service.search_customers(
        db,
        user_id=current.id,
        clearance=current.clearance,
        q=q,
        grade=grade,
        region=region,
        kind=kind,
        phone_region=settings.phone_region,
        offset=0,
        limit=EXPORT_ROW_LIMIT,
    )
    unmasked = current.can(P.PHONES_UNMASKED)

    def label(enum_name: str, value: Any) -> str:
        return "" if value is None else i18n.translate(f"enum.{enum_name}.{value}", language)

    def local(value: datetime) -> datetime:
        return value.astimezone(settings.zone)

    table = [
        {
            "code": c.code,
            "name": c.name,
            "kind": label("CustomerKind", c.kind.value),
            "grade": c.grade.value,
            "sales_share_class": c.sales_share_class.value if c.sales_share_class else "",
            "credit_rating": label("CreditRating", c.credit_rating.value if c.credit_rating else None),
            "confidentiality": label("Clearance", c.confidentiality),
            "phones": "; ".join(
                service.show_phone(p.number, unmasked=unmasked, region=settings.phone_region)
                for p in c.phones
            ),
            "region": c.region,
            "address": c.address,
            "contact_person": c.contact_person,
            "email": c.email,
            "notes": c.notes,
            "owner": c.owner.full_name if c.owner else "",
            "created_at": local(c.created_at),
            "updated_at": local(c.updated_at),
        }
        for c in rows
    ]
    columns = [Column(key, importer.column_label(key, language)) for key in EXPORT_COLUMNS]
    data = write_table(table, columns, fmt)
    audit.record(
        db,
        actor=current.actor,
        action="customer.export",
        object_type="customer",
        detail={
            "format": fmt,
            "rows": len(table),
            "total": total,
            "filters": {"q": q, "grade": grade, "region": region, "kind": kind},
            "masked": not unmasked,
        },
    )
    return _attachment(data, fmt, "customers")


# --- import --------------------------------------------------------------------------------------


@router.get("/import/template", summary="An empty import sheet with the headers in the user's language")
def import_template(request: Request, current: Importer, fmt: Format = "csv") -> Response:
    language = request_language(request)
    columns = [Column(c.key, importer.column_label(c.key, language)) for c in importer.COLUMNS]
    sheets = {i18n.translate("ui.customers.import.help.sheet", language): importer.template_help(language)}
    data = write_table([], columns, fmt, sheets=sheets if fmt == "xlsx" else None)
    return _attachment(data, fmt, "customers-import-template")


@router.post("/import", response_model=ImportJobOut, status_code=202, summary="Import a CSV or XLSX file")
def start_import(
    request: Request,
    background: BackgroundTasks,
    db: DB,
    settings: AppSettings,
    current: Importer,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX, at most 10 MB")],
) -> ImportJobOut:
    language = request_language(request)
    data = file.file.read(importer.MAX_UPLOAD_BYTES + 1)
    filename = file.filename or "upload"
    parsed = importer.parse_upload(data, filename, language)
    job = importer.create_job(db, filename=filename, parsed=parsed, language=language, actor=current.actor)
    factory: sessionmaker[Session] = request.app.state.session_factory
    # Runs after the response, when this request's transaction (holding the job row) has committed.
    background.add_task(
        importer.run_import,
        factory,
        job_id=job.id,
        parsed=parsed,
        actor=current.actor,
        phone_region=settings.phone_region,
        language=language,
    )
    return ImportJobOut.model_validate(job)


@router.get("/import/{job_id}", response_model=ImportJobOut, summary="Progress and row errors of an import")
def import_job(job_id: int, db: DB, current: Importer) -> ImportJobOut:
    return ImportJobOut.model_validate(importer.get_job(db, job_id))


# --- one file ------------------------------------------------------------------------------------


@router.post("", response_model=CustomerOut, status_code=201, summary="Create a customer file")
def create_customer(data: CustomerCreate, db: DB, settings: AppSettings, current: Creator) -> CustomerOut:
    if data.confidentiality > current.clearance:
        # A file one could not read afterwards: 密级 above one's own is raised through a rating change.
        raise InvalidFields.one(
            "confidentiality", "validation.above_own_clearance", clearance=int(current.clearance)
        )
    customer = service.create_customer(
        db, data=data, actor=current.actor, region_default=settings.phone_region
    )
    return customer_out(customer, current=current, settings=settings)


def _my_live_call(request: Request, user: User, linkedid: str) -> dict[str, Any] | None:
    """The call ``linkedid`` as the ACD's live state has it, when ``user`` is ringing or talking on it
    (None otherwise, and when no ACD runs in this process). The live state lives on the event loop: the
    lookup runs there (this endpoint runs in a worker thread)."""
    acd = getattr(request.app.state, "acd", None)
    if acd is None or not user.pbx_interface:
        return None
    # the telephony, when it runs in this process; imported late: core loads first
    from acd.agent_session import Member
    from acd.call_control import find_agent

    member = Member(interface=user.pbx_interface, name=user.full_name)

    def lookup() -> dict[str, Any] | None:
        snapshot = acd.state.snapshot()
        call = snapshot["calls"].get(linkedid)
        agent = find_agent(snapshot["agents"], member)
        if call is None or agent is None:
            return None
        mine = agent.get("call") == linkedid or call.get("agent") == agent["name"]
        return dict(call) if mine or agent["name"] in (call.get("ringing") or ()) else None

    try:
        return anyio.from_thread.run_sync(lookup)
    except RuntimeError:  # not in a worker thread of the app's loop (called directly): read it here
        return lookup()


@router.post(
    "/from-call",
    response_model=CustomerOut,
    status_code=201,
    summary="Create the file of the caller on my current call (the number taken from the call)",
)
def create_customer_from_call(
    data: CustomerFromCall, request: Request, db: DB, settings: AppSettings, current: Creator
) -> CustomerOut:
    """The screen pop's unknown caller: the agent sees the number masked, so the server fills it in from
    the call. ``pbx_linkedid`` must be the agent's own current call (ringing, talking, or answered by them
    and ended within the hour); any other is 403 with an audit row."""
    if data.confidentiality > current.clearance:
        raise InvalidFields.one(
            "confidentiality", "validation.above_own_clearance", clearance=int(current.clearance)
        )
    user = db.get(User, current.id)
    assert user is not None  # the logged-in user
    try:
        number = service.caller_number_of_call(
            db,
            linkedid=data.pbx_linkedid,
            user=user,
            live_call=_my_live_call(request, user, data.pbx_linkedid),
            now=utcnow(),
        )
    except service.NotYourCall:
        raise deny(request, current, "error.not_your_call", linkedid=data.pbx_linkedid) from None
    customer = service.create_customer_from_call(
        db, data=data, caller_number=number, actor=current.actor, region_default=settings.phone_region
    )
    return customer_out(customer, current=current, settings=settings)


@router.get("/{customer_id}", response_model=CustomerOut, summary="Read a customer file (audited)")
def get_customer(
    customer_id: int, request: Request, db: DB, settings: AppSettings, current: Reader
) -> CustomerOut:
    customer = readable_customer(request, db, current, customer_id)
    service.record_read(db, customer=customer, actor=current.actor, via="detail")
    return customer_out(customer, current=current, settings=settings)


@router.patch("/{customer_id}", response_model=CustomerOut, summary="Change a customer file")
def update_customer(
    customer_id: int,
    data: CustomerUpdate,
    request: Request,
    db: DB,
    settings: AppSettings,
    current: Editor,
) -> CustomerOut:
    readable_customer(request, db, current, customer_id)
    customer = service.update_customer(
        db, customer_id=customer_id, data=data, actor=current.actor, region_default=settings.phone_region
    )
    return customer_out(customer, current=current, settings=settings)


@router.post(
    "/{customer_id}/rating",
    response_model=RatingChangeOut,
    status_code=201,
    summary="Change grade, credit rating or 密级 with a reason",
)
def change_rating(
    customer_id: int, data: RatingChangeIn, request: Request, db: DB, current: Editor
) -> RatingChangeOut:
    readable_customer(request, db, current, customer_id)
    level = str(data.value).strip()
    if data.field.value == "confidentiality" and level.isdigit() and current.clearance < int(level) <= 3:
        raise InvalidFields.one("value", "validation.above_own_clearance", clearance=int(current.clearance))
    change = service.change_rating(db, customer_id=customer_id, data=data, actor=current.actor)
    return _change_out(change)


@router.get(
    "/{customer_id}/rating-changes",
    response_model=list[RatingChangeOut],
    summary="The log of grade / credit / 密级 changes (客户信用度变更表)",
)
def rating_changes(customer_id: int, request: Request, db: DB, current: Reader) -> list[RatingChangeOut]:
    customer = readable_customer(request, db, current, customer_id)
    service.record_read(db, customer=customer, actor=current.actor, via="rating_changes")
    return [_change_out(c) for c in service.list_rating_changes(db, customer_id=customer_id)]
