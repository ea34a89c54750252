"""Helpers for the customer-file tests: a valid payload, unique numbers, audit rows, 422 bodies."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry

_numbers = itertools.count(1)


def payload(**overrides: Any) -> dict[str, Any]:
    """A valid CustomerCreate body for an individual customer."""
    body: dict[str, Any] = {
        "name": "张三",
        "kind": "individual",
        "grade": "A",
        "region": "北京市",
        "address": "北京市海淀区中关村大街1号",
        "contact_person": "张三",
        "phones": [{"number": "13900139001", "label": "mobile"}],
    }
    body.update(overrides)
    return body


def unique_mobile() -> str:
    """A fresh valid CN mobile number per call (138 0000 xxxx)."""
    return f"1380000{next(_numbers):04d}"


def audit_rows(db: Session, action: str, **where: Any) -> list[AuditEntry]:
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action == action)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db.scalars(query.order_by(AuditEntry.id)).all())


def field_errors(response: Any) -> dict[str, dict[str, Any]]:
    """The 422 body's field problems keyed by path (e.g. "phones.1.number")."""
    assert response.status_code == 422, response.text
    return {f["field"]: f for f in response.json()["fields"]}
