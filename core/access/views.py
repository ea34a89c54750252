"""HTTP API for borrowing permissions on customer files (``/api/access``) and for customer-data change
requests with their approval (``/api/change-requests``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from core import i18n
from core.access import service
from core.access.models import AccessGrant, ChangeRequest, ChangeRequestStatus
from core.access.schemas import (
    ApproveIn,
    ChangeRequestCreate,
    ChangeRequestOut,
    GrantCreate,
    GrantOut,
    GrantRevoke,
    RejectIn,
)
from core.clock import as_utc, utcnow
from core.config import Settings
from core.security.roles import Permission
from core.tabular import MEDIA_TYPES, Column, write_table
from core.web import (
    DB,
    AppSettings,
    Authenticated,
    CurrentUser,
    Language,
    Page,
    PageParams,
    deny,
    require,
)

P = Permission
AccessReader = Annotated[CurrentUser, Depends(require(P.ACCESS_READ))]
AccessGranter = Annotated[CurrentUser, Depends(require(P.ACCESS_GRANT))]
Requester = Annotated[CurrentUser, Depends(require(P.CHANGE_REQUESTS_CREATE))]
Reviewer = Annotated[CurrentUser, Depends(require(P.CHANGE_REQUESTS_REVIEW))]
ExportFormat = Annotated[Literal["csv", "xlsx"], Query(alias="format")]

# Two resources, one router: borrowing permissions under /api/access, change requests beside them.
router = APIRouter(prefix="/api", tags=["access"])


def _attachment(data: bytes, fmt: str, stem: str) -> Response:
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}.{fmt}"
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _local_times(row: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Spreadsheets are read by people: times in the center's zone (still with their offset)."""
    return {k: v.astimezone(settings.zone) if isinstance(v, datetime) else v for k, v in row.items()}


# --- grants (借阅权限) -------------------------------------------------------------------------


def grant_outs(db: Session, rows: Sequence[AccessGrant]) -> list[GrantOut]:
    labels = service.customer_labels(db, {g.customer_id for g in rows if g.customer_id is not None})
    now = utcnow()
    out = []
    for grant in rows:
        item = GrantOut.model_validate(grant)
        item.user_name = grant.user.full_name
        item.user_agent_number = grant.user.agent_number
        item.granted_by_name = grant.granted_by.full_name if grant.granted_by else None
        item.revoked_by_name = grant.revoked_by.full_name if grant.revoked_by else None
        if grant.customer_id is not None:
            item.customer_code, item.customer_name = labels.get(grant.customer_id, (None, None))
        item.status = service.grant_status(grant, now)
        out.append(item)
    return out


@router.get("/access/grants", response_model=Page[GrantOut], summary="Borrowing permissions (借阅权限)")
def list_grants(
    db: DB,
    paging: PageParams,
    current: AccessReader,
    q: str | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    active_only: bool = False,
) -> Page[GrantOut]:
    rows, total = service.list_grants(
        db,
        q=q,
        user_id=user_id,
        customer_id=customer_id,
        active_only=active_only,
        offset=paging.offset,
        limit=paging.limit,
    )
    return Page(items=grant_outs(db, rows), total=total, offset=paging.offset, limit=paging.limit)


GRANT_COLUMNS = (
    "id",
    "user_name",
    "user_agent_number",
    "customer_code",
    "customer_name",
    "max_level",
    "reason",
    "note",
    "valid_from",
    "valid_until",
    "granted_by_name",
    "granted_at",
    "revoked_at",
    "revoked_by_name",
    "status",
)


@router.get("/access/grants/export", summary="Borrowing permissions as CSV or XLSX")
def export_grants(
    db: DB,
    settings: AppSettings,
    language: Language,
    current: AccessReader,
    fmt: ExportFormat = "csv",
    q: str | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    active_only: bool = False,
) -> Response:
    rows, _total = service.list_grants(
        db,
        q=q,
        user_id=user_id,
        customer_id=customer_id,
        active_only=active_only,
        limit=service.EXPORT_LIMIT,
    )
    columns = [Column(key, i18n.translate(f"ui.access.column.{key}", language)) for key in GRANT_COLUMNS]
    table: list[dict[str, Any]] = []
    for item in grant_outs(db, rows):
        row = _local_times(item.model_dump(), settings)
        row["status"] = i18n.translate(f"enum.GrantStatus.{item.status.value}", language)
        if item.max_level is not None:
            row["max_level"] = i18n.translate(f"enum.Clearance.{item.max_level}", language)
        table.append(row)
    return _attachment(write_table(table, columns, fmt), fmt, "access-grants")


@router.get("/access/grants/mine", response_model=Page[GrantOut], summary="My own borrowing permissions")
def my_grants(
    db: DB, paging: PageParams, current: Authenticated, active_only: bool = False
) -> Page[GrantOut]:
    rows, total = service.list_grants(
        db, user_id=current.id, active_only=active_only, offset=paging.offset, limit=paging.limit
    )
    return Page(items=grant_outs(db, rows), total=total, offset=paging.offset, limit=paging.limit)


@router.post(
    "/access/grants", response_model=GrantOut, status_code=201, summary="Grant a borrowing permission"
)
def create_grant(data: GrantCreate, db: DB, settings: AppSettings, current: AccessGranter) -> GrantOut:
    grant = service.create_grant(db, data=data, zone=settings.zone, actor=current.actor)
    return grant_outs(db, [grant])[0]


@router.post(
    "/access/grants/{grant_id}/revoke", response_model=GrantOut, summary="Revoke a borrowing permission"
)
def revoke_grant(grant_id: int, db: DB, current: AccessGranter, data: GrantRevoke | None = None) -> GrantOut:
    grant = service.revoke_grant(db, grant_id=grant_id, note=data.note if data else None, actor=current.actor)
    return grant_outs(db, [grant])[0]


# --- change requests (客户信息更改申请) ------------------------------------------------------------


def _scope(current: CurrentUser, requested_by_id: int | None) -> int | None:
    """Reviewers see every request; everyone else only their own."""
    return requested_by_id if current.can(P.CHANGE_REQUESTS_REVIEW) else current.id


def _aware(value: datetime | None, settings: Settings) -> datetime | None:
    return as_utc(value, settings.zone) if value is not None else None


def _masked(values: dict[str, Any], current: CurrentUser, region: str) -> dict[str, Any]:
    """Phone numbers and bank accounts in a change set follow the customer file's masking rule."""
    if current.can(P.PHONES_UNMASKED):
        return values
    from core.customers import service as customers

    out = dict(values)
    if isinstance(out.get("phones"), list):
        out["phones"] = [
            {**item, "number": customers.show_phone(str(item["number"]), unmasked=False, region=region)}
            if isinstance(item, dict) and item.get("number")
            else item
            for item in out["phones"]
        ]
    corporate = out.get("corporate")
    if isinstance(corporate, dict) and corporate.get("bank_account"):
        out["corporate"] = {
            **corporate,
            "bank_account": customers.mask_account(str(corporate["bank_account"])),
        }
    return out


def request_outs(
    db: Session, rows: Sequence[ChangeRequest], current: CurrentUser, settings: Settings
) -> list[ChangeRequestOut]:
    labels = service.customer_labels(db, {r.customer_id for r in rows})
    out = []
    for row in rows:
        item = ChangeRequestOut.model_validate(row)
        item.customer_code, item.customer_name = labels.get(row.customer_id, (None, None))
        item.requested_by_name = row.requested_by.full_name if row.requested_by else None
        item.reviewed_by_name = row.reviewed_by.full_name if row.reviewed_by else None
        item.changes = _masked(row.changes, current, settings.phone_region)
        item.old_values = _masked(row.old_values, current, settings.phone_region)
        out.append(item)
    return out


@router.get(
    "/change-requests", response_model=Page[ChangeRequestOut], summary="Change requests (客户信息更改申请)"
)
def list_requests(
    db: DB,
    settings: AppSettings,
    paging: PageParams,
    current: Authenticated,
    q: str | None = None,
    status: ChangeRequestStatus | None = None,
    customer_id: int | None = None,
    requested_by_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[ChangeRequestOut]:
    """Reviewers see every request; everyone else only their own."""
    rows, total = service.list_change_requests(
        db,
        q=q,
        status=status,
        customer_id=customer_id,
        requested_by_id=_scope(current, requested_by_id),
        since=_aware(since, settings),
        until=_aware(until, settings),
        offset=paging.offset,
        limit=paging.limit,
    )
    items = request_outs(db, rows, current, settings)
    return Page(items=items, total=total, offset=paging.offset, limit=paging.limit)


REQUEST_COLUMNS = (
    "id",
    "customer_code",
    "customer_name",
    "changes",
    "old_values",
    "reason",
    "requested_by_name",
    "requested_at",
    "status",
    "reviewed_by_name",
    "reviewed_at",
    "review_note",
)


@router.get("/change-requests/export", summary="Change requests as CSV or XLSX")
def export_requests(
    db: DB,
    settings: AppSettings,
    language: Language,
    current: Reviewer,
    fmt: ExportFormat = "csv",
    q: str | None = None,
    status: ChangeRequestStatus | None = None,
    customer_id: int | None = None,
    requested_by_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    rows, _total = service.list_change_requests(
        db,
        q=q,
        status=status,
        customer_id=customer_id,
        requested_by_id=requested_by_id,
        since=_aware(since, settings),
        until=_aware(until, settings),
        limit=service.EXPORT_LIMIT,
    )
    columns = [
        Column(key, i18n.translate(f"ui.change_requests.column.{key}", language)) for key in REQUEST_COLUMNS
    ]
    table: list[dict[str, Any]] = []
    for item in request_outs(db, rows, current, settings):
        row = _local_times(item.model_dump(), settings)
        row["changes"] = json.dumps(item.changes, ensure_ascii=False)
        row["old_values"] = json.dumps(item.old_values, ensure_ascii=False)
        row["status"] = i18n.translate(f"enum.ChangeRequestStatus.{item.status.value}", language)
        table.append(row)
    return _attachment(write_table(table, columns, fmt), fmt, "change-requests")


@router.post(
    "/change-requests", response_model=ChangeRequestOut, status_code=201, summary="File a change request"
)
def create_request(
    data: ChangeRequestCreate, request: Request, db: DB, settings: AppSettings, current: Requester
) -> ChangeRequestOut:
    # Asking to change a file one may not read would disclose it (old values come back).
    if not service.can_read_customer(
        db, customer_id=data.customer_id, user_id=current.id, clearance=current.clearance
    ):
        raise deny(request, current, "error.above_clearance", customer_id=data.customer_id)
    row = service.create_change_request(
        db, data=data, phone_region=settings.phone_region, actor=current.actor
    )
    return request_outs(db, [row], current, settings)[0]


def _own_or_reviewer(request: Request, current: CurrentUser, row: ChangeRequest) -> None:
    if row.requested_by_id != current.id and not current.can(P.CHANGE_REQUESTS_REVIEW):
        raise deny(request, current, "error.not_own_request", change_request_id=row.id)


@router.get("/change-requests/{request_id}", response_model=ChangeRequestOut, summary="One change request")
def get_request(
    request_id: int, request: Request, db: DB, settings: AppSettings, current: Authenticated
) -> ChangeRequestOut:
    row = service.get_change_request(db, request_id)
    _own_or_reviewer(request, current, row)
    service.record_request_read(db, row=row, actor=current.actor)
    return request_outs(db, [row], current, settings)[0]


@router.post(
    "/change-requests/{request_id}/approve", response_model=ChangeRequestOut, summary="Approve and apply"
)
def approve_request(
    request_id: int, db: DB, settings: AppSettings, current: Reviewer, data: ApproveIn | None = None
) -> ChangeRequestOut:
    row = service.approve_change_request(
        db,
        request_id=request_id,
        note=data.note if data else None,
        phone_region=settings.phone_region,
        actor=current.actor,
    )
    return request_outs(db, [row], current, settings)[0]


@router.post(
    "/change-requests/{request_id}/reject", response_model=ChangeRequestOut, summary="Reject, with a note"
)
def reject_request(
    request_id: int, data: RejectIn, db: DB, settings: AppSettings, current: Reviewer
) -> ChangeRequestOut:
    row = service.reject_change_request(db, request_id=request_id, note=data.note, actor=current.actor)
    return request_outs(db, [row], current, settings)[0]


@router.post(
    "/change-requests/{request_id}/withdraw", response_model=ChangeRequestOut, summary="Withdraw one's own"
)
def withdraw_request(
    request_id: int, request: Request, db: DB, settings: AppSettings, current: Requester
) -> ChangeRequestOut:
    row = service.get_change_request(db, request_id)
    if row.requested_by_id != current.id:
        raise deny(request, current, "error.not_own_request", change_request_id=row.id)
    row = service.withdraw_change_request(db, request_id=request_id, actor=current.actor)
    return request_outs(db, [row], current, settings)[0]
