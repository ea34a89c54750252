"""HTTP API of pause reasons: everyone logged in reads the active ones (the desktop's choices); supervisors
and admins (``acd.configure``) list all, add, change and deactivate them. Changes are audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from core.pause_reasons import service
from core.pause_reasons.models import PauseReason
from core.pause_reasons.schemas import PauseReasonIn, PauseReasonOut, PauseReasonUpdate
from core.security.roles import Permission
from core.web import DB, AppSettings, Authenticated, CurrentUser, Language, require

router = APIRouter(prefix="/api/pause-reasons", tags=["pause-reasons"])
# The closest existing permission to "configures the center for agents"; admin only today.
MANAGE = Permission.ACD_CONFIGURE
Manager = Annotated[CurrentUser, Depends(require(MANAGE))]


def reason_out(reason: PauseReason, language: str) -> PauseReasonOut:
    return PauseReasonOut(
        id=reason.id,
        code=reason.code,
        label=service.label_of(reason, language),
        label_zh=reason.label_zh,
        label_en=reason.label_en,
        counts_as_productive=bool(reason.counts_as_productive),
        active=bool(reason.active),
        sort_order=reason.sort_order,
        max_minutes=reason.max_minutes,
        created_at=reason.created_at,
        updated_at=reason.updated_at,
    )


@router.get("", response_model=list[PauseReasonOut], summary="The active pause reasons, in order")
def list_active(
    db: DB, current: Authenticated, settings: AppSettings, language: Language
) -> list[PauseReasonOut]:
    return [reason_out(r, language) for r in service.list_active(db, defaults=settings.pause_reasons)]


@router.get("/all", response_model=list[PauseReasonOut], summary="Every pause reason, inactive ones too")
def list_all(db: DB, current: Manager, settings: AppSettings, language: Language) -> list[PauseReasonOut]:
    rows = service.list_all(db, defaults=settings.pause_reasons, actor=current.actor)
    return [reason_out(r, language) for r in rows]


@router.post("", response_model=PauseReasonOut, status_code=201, summary="Add a pause reason")
def create(
    data: PauseReasonIn, db: DB, current: Manager, settings: AppSettings, language: Language
) -> PauseReasonOut:
    reason = service.create(db, data=data, defaults=settings.pause_reasons, actor=current.actor)
    return reason_out(reason, language)


@router.put("/{reason_id}", response_model=PauseReasonOut, summary="Change a pause reason (not its code)")
def update(
    reason_id: int, data: PauseReasonUpdate, db: DB, current: Manager, language: Language
) -> PauseReasonOut:
    return reason_out(service.update(db, reason_id=reason_id, data=data, actor=current.actor), language)


@router.delete(
    "/{reason_id}", status_code=204, summary="Deactivate a pause reason (its code stays in history)"
)
def deactivate(reason_id: int, db: DB, current: Manager) -> None:
    service.deactivate(db, reason_id=reason_id, actor=current.actor)
