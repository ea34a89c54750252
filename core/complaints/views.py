"""HTTP API for complaints: list, export, summary, detail with history, registration, handling edits,
transitions, call-back, and a customer's open complaints for the screen pop."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from core import i18n, phone
from core.audit import service as audit
from core.clock import utcnow
from core.complaints import service, workflow
from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintUrgency,
)
from core.complaints.schemas import (
    CallbackIn,
    ComplaintBrief,
    ComplaintCreate,
    ComplaintEventOut,
    ComplaintListItem,
    ComplaintOut,
    ComplaintSummary,
    ComplaintUpdate,
    TransitionIn,
)
from core.complaints.service import ComplaintFilter
from core.complaints.workflow import ComplaintStatus
from core.config import Settings
from core.security.roles import Permission
from core.tabular import EXPORT_ROW_LIMIT, MEDIA_TYPES, Column, write_table
from core.web import DB, AppSettings, CurrentUser, Language, Page, PageParams, deny, require

router = APIRouter(prefix="/api/complaints", tags=["complaints"])
P = Permission
Reader = Annotated[CurrentUser, Depends(require(P.COMPLAINTS_READ))]
Creator = Annotated[CurrentUser, Depends(require(P.COMPLAINTS_CREATE))]
Handler = Annotated[CurrentUser, Depends(require(P.COMPLAINTS_HANDLE))]

Item = TypeVar("Item", ComplaintListItem, ComplaintOut)


def _shown_phone(e164: str | None, current: CurrentUser, region: str) -> str | None:
    if e164 is None or current.can(P.PHONES_UNMASKED):
        return e164
    return phone.mask(e164, region)


def _fill(out: Item, complaint: Complaint, current: CurrentUser, region: str, now: datetime) -> Item:
    out.customer_phone = _shown_phone(complaint.customer_phone, current, region)
    out.overdue = service.is_overdue(complaint, now)
    out.handler_name = complaint.handler.full_name if complaint.handler else None
    return out


def list_item(complaint: Complaint, current: CurrentUser, region: str, now: datetime) -> ComplaintListItem:
    return _fill(ComplaintListItem.model_validate(complaint), complaint, current, region, now)


def complaint_out(complaint: Complaint, current: CurrentUser, region: str) -> ComplaintOut:
    out = _fill(ComplaintOut.model_validate(complaint), complaint, current, region, utcnow())
    out.registered_by_name = complaint.registered_by.full_name if complaint.registered_by else None
    out.allowed_transitions = sorted(workflow.allowed_targets(complaint.status))
    out.events = [
        ComplaintEventOut.model_validate(e).model_copy(update={"by_name": e.by.full_name if e.by else None})
        for e in complaint.events
    ]
    return out


def _visible_or_deny(request: Request, current: CurrentUser, complaint: Complaint) -> None:
    if not current.can(P.COMPLAINTS_HANDLE) and not service.can_see(complaint, current.id):
        raise deny(request, current, "error.complaint_not_yours", complaint_id=complaint.id)


def complaint_filter(
    q: str | None = None,
    status: ComplaintStatus | None = None,
    urgency: ComplaintUrgency | None = None,
    category: ComplaintCategory | None = None,
    channel: ComplaintChannel | None = None,
    overdue: bool | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    customer_id: int | None = None,
    handler_id: int | None = None,
) -> ComplaintFilter:
    return ComplaintFilter(
        q=q,
        status=status,
        urgency=urgency,
        category=category,
        channel=channel,
        overdue=overdue,
        received_from=received_from,
        received_to=received_to,
        customer_id=customer_id,
        handler_id=handler_id,
    )


Filters = Annotated[ComplaintFilter, Depends(complaint_filter)]


def _scoped(flt: ComplaintFilter, current: CurrentUser) -> ComplaintFilter:
    if current.can(P.COMPLAINTS_HANDLE):
        return flt
    return ComplaintFilter(**{**flt.__dict__, "visible_to": current.id})


@router.get("", response_model=Page[ComplaintListItem])
def list_complaints(
    db: DB, paging: PageParams, settings: AppSettings, current: Reader, flt: Filters
) -> Page[ComplaintListItem]:
    now = utcnow()
    rows, total = service.list_complaints(
        db,
        flt=_scoped(flt, current),
        zone=settings.zone,
        region=settings.phone_region,
        offset=paging.offset,
        limit=paging.limit,
        now=now,
    )
    return Page(
        items=[list_item(c, current, settings.phone_region, now) for c in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


EXPORT_COLUMNS = (
    "case_number",
    "received_at",
    "channel",
    "status",
    "customer_name",
    "customer_company",
    "customer_address",
    "customer_phone",
    "product",
    "purchase_date",
    "order_number",
    "category",
    "problem_type",
    "reason",
    "customer_request",
    "acceptance",
    "rejection_reason",
    "urgency",
    "promised_deadline",
    "actual_completed_at",
    "overdue",
    "handler_name",
    "handling_department",
    "investigation_result",
    "cause",
    "own_fault",
    "resolution",
    "loss_amount",
    "follow_up_actions",
    "closing_number",
    "summary_evaluation",
    "satisfaction",
    "callback_at",
)
_ENUM_COLUMNS = {
    "channel": "ComplaintChannel",
    "status": "ComplaintStatus",
    "category": "ComplaintCategory",
    "problem_type": "ComplaintProblemType",
    "acceptance": "ComplaintAcceptance",
    "urgency": "ComplaintUrgency",
    "cause": "ComplaintCause",
    "resolution": "ComplaintResolution",
}


def _export_row(
    complaint: Complaint, current: CurrentUser, settings: Settings, language: str, now: datetime
) -> dict[str, Any]:
    zone = settings.zone
    row: dict[str, Any] = {name: getattr(complaint, name, None) for name in EXPORT_COLUMNS}
    for name, enum_name in _ENUM_COLUMNS.items():
        value = row[name]
        if value is not None:
            row[name] = i18n.translate(f"enum.{enum_name}.{value.value}", language)
    for name in ("received_at", "promised_deadline", "actual_completed_at", "callback_at"):
        if row[name] is not None:
            row[name] = row[name].astimezone(zone).strftime("%Y-%m-%d %H:%M")
    yes, no = i18n.translate("ui.complaints.yes", language), i18n.translate("ui.complaints.no", language)
    row["overdue"] = yes if service.is_overdue(complaint, now) else no
    row["own_fault"] = None if complaint.own_fault is None else (yes if complaint.own_fault else no)
    row["customer_phone"] = _shown_phone(complaint.customer_phone, current, settings.phone_region)
    row["handler_name"] = complaint.handler.full_name if complaint.handler else None
    cents = complaint.loss_amount_cents
    row["loss_amount"] = None if cents is None else str(Decimal(cents).scaleb(-2))
    if complaint.satisfaction is not None:
        row["satisfaction"] = i18n.translate(f"enum.Satisfaction.{complaint.satisfaction}", language)
    return row


@router.get("/export", summary="The list as CSV or XLSX, with the same filters")
def export_complaints(
    db: DB,
    settings: AppSettings,
    language: Language,
    current: Reader,
    flt: Filters,
    fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    now = utcnow()
    query = service.filtered_query(
        _scoped(flt, current), zone=settings.zone, region=settings.phone_region, now=now
    )
    rows = db.scalars(
        query.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(EXPORT_ROW_LIMIT)
    ).all()
    columns = [Column(name, i18n.translate(f"field.{name}", language)) for name in EXPORT_COLUMNS]
    body = write_table((_export_row(c, current, settings, language, now) for c in rows), columns, fmt)
    audit.record(
        db,
        actor=current.actor,
        action="complaint.export",
        object_type="complaint",
        detail={
            "format": fmt,
            "rows": len(rows),
            "filters": {k: str(v) for k, v in flt.__dict__.items() if v},
        },
    )
    filename = f"complaints-{now.astimezone(settings.zone):%Y%m%d-%H%M}.{fmt}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/summary", response_model=ComplaintSummary, summary="Figures per day (客户投诉报告表)")
def complaint_summary(
    db: DB,
    settings: AppSettings,
    current: Handler,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> ComplaintSummary:
    return service.summary(db, start=start, end=end, zone=settings.zone)


@router.get(
    "/by-customer/{customer_id}",
    response_model=list[ComplaintBrief],
    summary="A customer's open complaints (minimal fields, for the screen pop)",
)
def open_for_customer(customer_id: int, db: DB, current: Reader) -> list[ComplaintBrief]:
    now = utcnow()
    return [
        ComplaintBrief.model_validate(c).model_copy(update={"overdue": service.is_overdue(c, now)})
        for c in service.open_for_customer(db, customer_id=customer_id)
    ]


@router.get("/{complaint_id}", response_model=ComplaintOut)
def get_complaint(
    complaint_id: int, request: Request, db: DB, settings: AppSettings, current: Reader
) -> ComplaintOut:
    complaint = service.get_complaint(db, complaint_id)
    _visible_or_deny(request, current, complaint)
    service.record_read(db, complaint=complaint, actor=current.actor)
    return complaint_out(complaint, current, settings.phone_region)


@router.post("", response_model=ComplaintOut, status_code=201)
def register_complaint(
    data: ComplaintCreate, db: DB, settings: AppSettings, current: Creator
) -> ComplaintOut:
    complaint = service.register_complaint(db, data=data, actor=current.actor, settings=settings)
    return complaint_out(complaint, current, settings.phone_region)


@router.patch("/{complaint_id}", response_model=ComplaintOut, summary="Edit the handling fields")
def update_complaint(
    complaint_id: int, data: ComplaintUpdate, db: DB, settings: AppSettings, current: Handler
) -> ComplaintOut:
    complaint = service.update_complaint(
        db, complaint_id=complaint_id, data=data, actor=current.actor, zone=settings.zone
    )
    return complaint_out(complaint, current, settings.phone_region)


@router.post("/{complaint_id}/transition", response_model=ComplaintOut, summary="One step of the flow")
def transition(
    complaint_id: int, data: TransitionIn, db: DB, settings: AppSettings, current: Handler
) -> ComplaintOut:
    complaint = service.transition(
        db, complaint_id=complaint_id, data=data, actor=current.actor, settings=settings
    )
    return complaint_out(complaint, current, settings.phone_region)


@router.post("/{complaint_id}/callback", response_model=ComplaintOut, summary="Record the call-back (回访)")
def record_callback(
    complaint_id: int, data: CallbackIn, db: DB, settings: AppSettings, current: Handler
) -> ComplaintOut:
    complaint = service.record_callback(db, complaint_id=complaint_id, data=data, actor=current.actor)
    return complaint_out(complaint, current, settings.phone_region)
