"""HTTP API for the equipment list under /api/equipment: list, export, read, create, edit and retire."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from core import i18n
from core.clock import utcnow
from core.equipment import service
from core.equipment.models import Equipment, EquipmentCategory, EquipmentStatus
from core.equipment.schemas import EquipmentCreate, EquipmentOut, EquipmentUpdate
from core.security.roles import Permission
from core.tabular import MEDIA_TYPES, Column, write_table
from core.web import DB, AppSettings, CurrentUser, Language, Page, PageParams, require

router = APIRouter(prefix="/api/equipment", tags=["equipment"])
Reader = Annotated[CurrentUser, Depends(require(Permission.EQUIPMENT_READ))]
Writer = Annotated[CurrentUser, Depends(require(Permission.EQUIPMENT_WRITE))]
ExportFormat = Annotated[Literal["csv", "xlsx"], Query(alias="format")]
EXPORT_LIMIT = 100_000
EXPORTED = (
    "number",
    "name",
    "category",
    "phone_extension",
    "user_full_name",
    "quantity",
    "purchase_date",
    "status",
    "remarks",
)


def equipment_out(item: Equipment) -> EquipmentOut:
    out = EquipmentOut.model_validate(item)
    out.user_full_name = item.user.full_name if item.user else item.user_name
    return out


@router.get("", response_model=Page[EquipmentOut])
def list_equipment(
    db: DB,
    paging: PageParams,
    current: Reader,
    q: str | None = None,
    category: EquipmentCategory | None = None,
    status: EquipmentStatus | None = None,
    user_id: int | None = None,
) -> Page[EquipmentOut]:
    rows, total = service.list_equipment(
        db,
        q=q,
        category=category,
        status=status,
        user_id=user_id,
        offset=paging.offset,
        limit=paging.limit,
    )
    return Page(items=[equipment_out(r) for r in rows], total=total, offset=paging.offset, limit=paging.limit)


def _export_cell(out: EquipmentOut, name: str, language: str) -> Any:
    value = getattr(out, name)
    if isinstance(value, EquipmentCategory | EquipmentStatus):
        return i18n.translate(f"enum.{type(value).__name__}.{value.value}", language)
    return value


@router.get("/export", response_class=Response)
def export_equipment(
    db: DB,
    current: Reader,
    settings: AppSettings,
    language: Language,
    fmt: ExportFormat = "csv",
    q: str | None = None,
    category: EquipmentCategory | None = None,
    status: EquipmentStatus | None = None,
    user_id: int | None = None,
) -> Response:
    rows, _total = service.list_equipment(
        db, q=q, category=category, status=status, user_id=user_id, limit=EXPORT_LIMIT
    )
    # Form-scoped labels: the flat field.category / field.status are the complaint form's wording.
    columns = [Column(name, i18n.translate(f"field.equipment.{name}", language)) for name in EXPORTED]
    outs = [equipment_out(r) for r in rows]
    table = [{name: _export_cell(out, name, language) for name in EXPORTED} for out in outs]
    day = utcnow().astimezone(settings.zone).date().isoformat()
    return Response(
        write_table(table, columns, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="equipment-{day}.{fmt}"'},
    )


@router.get("/{equipment_id}", response_model=EquipmentOut)
def get_equipment(equipment_id: int, db: DB, current: Reader) -> EquipmentOut:
    return equipment_out(service.get_equipment(db, equipment_id))


@router.post("", response_model=EquipmentOut, status_code=201)
def create_equipment(data: EquipmentCreate, db: DB, current: Writer) -> EquipmentOut:
    return equipment_out(service.create_equipment(db, data=data, actor=current.actor))


@router.patch("/{equipment_id}", response_model=EquipmentOut)
def update_equipment(equipment_id: int, data: EquipmentUpdate, db: DB, current: Writer) -> EquipmentOut:
    return equipment_out(
        service.update_equipment(db, equipment_id=equipment_id, data=data, actor=current.actor)
    )


@router.delete("/{equipment_id}", response_model=EquipmentOut)
def retire_equipment(equipment_id: int, db: DB, current: Writer) -> EquipmentOut:
    """Retires the item (status ``retired``); it stays on the list for the record."""
    return equipment_out(service.retire_equipment(db, equipment_id=equipment_id, actor=current.actor))
