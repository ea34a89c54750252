"""Grade, credit rating and 密级 change only through POST /rating, with a reason, into 客户信用度变更表."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.service import Actor
from core.customers import service
from core.customers.models import Customer, CustomerRatingChange, RatingField
from core.customers.schemas import RatingChangeIn
from core.errors import InvalidFields
from core.security.roles import Role
from tests.conftest import LoginAs
from tests.customers.conftest import MakeCustomer
from tests.customers.helpers import audit_rows, field_errors


def test_grade_change_is_logged_with_reason_and_audited(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    customer = make_customer(grade="B")
    officer = login_as(Role.INFO_OFFICER)
    response = officer.post(
        f"/api/customers/{customer.id}/rating",
        json={"field": "grade", "value": "aa", "reason": "年采购额超过 500 万"},
    )
    assert response.status_code == 201, response.text
    change = response.json()
    assert (change["field"], change["old_value"], change["new_value"]) == ("grade", "B", "AA")
    assert change["reason"] == "年采购额超过 500 万"
    assert change["changed_by_id"] == officer.user.id  # type: ignore[attr-defined]
    assert change["changed_by_name"] == officer.user.full_name  # type: ignore[attr-defined]

    db.expire_all()
    stored = db.get(Customer, customer.id)
    assert stored is not None and stored.grade == "AA"
    rows = db.scalars(
        select(CustomerRatingChange).where(CustomerRatingChange.customer_id == customer.id)
    ).all()
    assert len(rows) == 1 and rows[0].changed_at.tzinfo is not None

    entries = audit_rows(db, "customer.rating_change", object_id=str(customer.id))
    assert len(entries) == 1
    assert entries[0].detail == {
        "fields": ["grade"],
        "old": "B",
        "new": "AA",
        "reason": "年采购额超过 500 万",
        "change_id": rows[0].id,
    }


def test_the_log_lists_every_change_newest_first(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    customer = make_customer(grade="B", confidentiality=1)
    supervisor = login_as(Role.SUPERVISOR)
    url = f"/api/customers/{customer.id}/rating"
    assert (
        supervisor.post(
            url, json={"field": "credit_rating", "value": "poor", "reason": "逾期付款"}
        ).status_code
        == 201
    )
    assert (
        supervisor.post(
            url, json={"field": "confidentiality", "value": 2, "reason": "涉及商业秘密"}
        ).status_code
        == 201
    )
    assert (
        supervisor.post(url, json={"field": "credit_rating", "value": None, "reason": "重新评估"}).status_code
        == 201
    )
    log = supervisor.get(f"/api/customers/{customer.id}/rating-changes").json()
    assert [(c["field"], c["old_value"], c["new_value"]) for c in log] == [
        ("credit_rating", "poor", None),
        ("confidentiality", "1", "2"),
        ("credit_rating", None, "poor"),
    ]
    detail = supervisor.get(f"/api/customers/{customer.id}").json()
    assert detail["confidentiality"] == 2 and detail["credit_rating"] is None
    agent = login_as(Role.AGENT)  # 内部 clearance: the file is now 秘密
    assert agent.get(f"/api/customers/{customer.id}").status_code == 403


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"field": "grade", "value": "VIP", "reason": "x"}, "value", "validation.enum"),
        ({"field": "credit_rating", "value": "superb", "reason": "x"}, "value", "validation.enum"),
        ({"field": "confidentiality", "value": "9", "reason": "x"}, "value", "validation.enum"),
        ({"field": "grade", "value": "B", "reason": "x"}, "value", "validation.unchanged"),
        ({"field": "grade", "value": "AA", "reason": "   "}, "reason", "validation.missing"),
        ({"field": "grade", "value": "AA", "reason": "x" * 501}, "reason", "validation.string_too_long"),
        ({"field": "grade", "value": "AA"}, "reason", "validation.missing"),
        ({"field": "owner", "value": "AA", "reason": "x"}, "field", "validation.enum"),
    ],
)
def test_rating_change_validation(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session, body: dict[str, object], path: str, code: str
) -> None:
    customer = make_customer(grade="B")
    officer = login_as(Role.INFO_OFFICER)
    problems = field_errors(officer.post(f"/api/customers/{customer.id}/rating", json=body))
    assert problems[path]["code"] == code
    assert problems[path]["message"]
    assert db.scalar(select(CustomerRatingChange.id)) is None


def test_rating_change_messages_in_english(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    customer = make_customer(grade="B")
    officer = login_as(Role.INFO_OFFICER)
    response = officer.post(
        f"/api/customers/{customer.id}/rating?lang=en", json={"field": "grade", "value": "B", "reason": "x"}
    )
    assert field_errors(response)["value"]["message"] == "Same as the current value"
    response = officer.post(
        f"/api/customers/{customer.id}/rating", json={"field": "grade", "value": "B", "reason": "x"}
    )
    assert field_errors(response)["value"]["message"] == "与原值相同，无需变更"


def test_service_refuses_unknown_values_without_writing(make_customer: MakeCustomer, db: Session) -> None:
    customer = make_customer(grade="A")
    with pytest.raises(InvalidFields) as caught:
        service.change_rating(
            db,
            customer_id=customer.id,
            data=RatingChangeIn(field=RatingField.GRADE, value="Z", reason="test"),
            actor=Actor(None, "test"),
        )
    assert caught.value.problems[0].loc == ("value",)
    assert caught.value.problems[0].params["expected"] == "'AAA', 'AA', 'A' or 'B'"
    assert db.scalar(select(CustomerRatingChange.id)) is None
    assert customer.grade == "A"
