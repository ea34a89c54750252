"""Fixtures for the access-control tests: customer files made through the real customers service."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.audit.service import Actor
from core.customers import service as customers
from core.customers.models import Customer
from core.customers.schemas import CustomerCreate

MakeCustomer = Callable[..., Customer]
_numbers = itertools.count(1)


def unique_mobile() -> str:
    return f"1370000{next(_numbers):04d}"


@pytest.fixture
def make_customer(db: Session) -> MakeCustomer:
    """A committed customer file; keyword arguments override the defaults (an individual, grade A)."""

    def make(**overrides: Any) -> Customer:
        body: dict[str, Any] = {
            "name": "王五",
            "kind": "individual",
            "grade": "A",
            "region": "上海市",
            "phones": [{"number": unique_mobile(), "label": "mobile"}],
            **overrides,
        }
        customer = customers.create_customer(
            db, data=CustomerCreate.model_validate(body), actor=Actor(None, "test")
        )
        db.commit()
        return customer

    return make


def audit_rows(db: Session, action: str, **where: Any) -> list[AuditEntry]:
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action == action)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db.scalars(query.order_by(AuditEntry.id)).all())


def field_errors(response: Any) -> dict[str, dict[str, Any]]:
    """A 422 body's field problems keyed by path (e.g. "changes.grade")."""
    assert response.status_code == 422, response.text
    return {f["field"]: f for f in response.json()["fields"]}
