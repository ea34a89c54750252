"""The equipment list. Keyword-only functions taking a session; the caller commits. Every change leaves
an audit row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.audit.service import Actor
from core.db import paginate
from core.equipment.models import Equipment, EquipmentCategory, EquipmentStatus
from core.equipment.schemas import EquipmentCreate, EquipmentUpdate
from core.errors import FieldProblem, InvalidFields, NotFound
from core.people.models import User

REQUIRED = frozenset({"number", "category", "quantity", "status"})


def get_equipment(session: Session, equipment_id: int) -> Equipment:
    item = session.get(Equipment, equipment_id)
    if item is None:
        raise NotFound(object="equipment", id=equipment_id)
    return item


def list_equipment(
    session: Session,
    *,
    q: str | None = None,
    category: EquipmentCategory | None = None,
    status: EquipmentStatus | None = None,
    user_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Equipment], int]:
    query = select(Equipment).outerjoin(User, Equipment.user_id == User.id)
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(
            or_(
                Equipment.number.ilike(like),
                Equipment.name.ilike(like),
                Equipment.phone_extension.ilike(like),
                Equipment.user_name.ilike(like),
                Equipment.remarks.ilike(like),
                User.full_name.ilike(like),
                User.agent_number.ilike(like),
            )
        )
    if category is not None:
        query = query.where(Equipment.category == category)
    if status is not None:
        query = query.where(Equipment.status == status)
    if user_id is not None:
        query = query.where(Equipment.user_id == user_id)
    return paginate(session, query, Equipment.number, offset=offset, limit=limit)


def _problems(session: Session, values: dict[str, Any], own_id: int | None) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    number = values.get("number")
    if number and session.scalar(
        select(Equipment.id).where(Equipment.number == number, Equipment.id != own_id)
    ):
        problems.append(FieldProblem(("number",), "validation.duplicate", value=number))
    user_id = values.get("user_id")
    if user_id is not None and session.get(User, user_id) is None:
        problems.append(FieldProblem(("user_id",), "validation.unknown_reference", value=user_id))
    return problems


def create_equipment(session: Session, *, data: EquipmentCreate, actor: Actor) -> Equipment:
    values = data.model_dump()
    problems = _problems(session, values, None)
    if problems:
        raise InvalidFields(*problems)
    item = Equipment(**values)
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="equipment.create",
        object_type="equipment",
        object_id=item.id,
        detail={"number": item.number, "category": item.category.value},
    )
    return item


def update_equipment(
    session: Session, *, equipment_id: int, data: EquipmentUpdate, actor: Actor
) -> Equipment:
    item = get_equipment(session, equipment_id)
    changes = data.model_dump(exclude_unset=True)
    problems = [
        FieldProblem((name,), "validation.missing")
        for name, value in changes.items()
        if value is None and name in REQUIRED
    ]
    problems += _problems(session, changes, item.id)
    if problems:
        raise InvalidFields(*problems)
    for name, value in changes.items():
        setattr(item, name, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="equipment.update",
        object_type="equipment",
        object_id=item.id,
        detail={"fields": sorted(changes)},
    )
    return item


def retire_equipment(session: Session, *, equipment_id: int, actor: Actor) -> Equipment:
    """Equipment is not erased from the list: it is marked retired, and the list keeps its history."""
    item = get_equipment(session, equipment_id)
    previous = item.status
    item.status = EquipmentStatus.RETIRED
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="equipment.retire",
        object_type="equipment",
        object_id=item.id,
        detail={"previous_status": previous.value},
    )
    return item
