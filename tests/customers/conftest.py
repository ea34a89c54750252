"""Fixtures for the customer-file tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.audit.service import Actor
from core.customers import service
from core.customers.models import Customer
from core.customers.schemas import CustomerCreate
from tests.customers.helpers import payload, unique_mobile

MakeCustomer = Callable[..., Customer]


@pytest.fixture
def make_customer(db: Session) -> MakeCustomer:
    """Creates a customer through the service (committed); keyword arguments override the payload."""

    def make(**overrides: Any) -> Customer:
        overrides.setdefault("phones", [{"number": unique_mobile()}])
        customer = service.create_customer(
            db, data=CustomerCreate.model_validate(payload(**overrides)), actor=Actor(None, "test")
        )
        db.commit()
        return customer

    return make
