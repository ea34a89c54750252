"""Change requests (客户信息更改申请表): filing with validation against the customers' own update form,
approval that applies the change through the customers service (rating changes logged with the reason),
rejection with a note, withdrawal, the four-eyes rule, stale requests, visibility and audit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.models import ChangeRequest, ChangeRequestStatus
from core.customers.models import Customer, CustomerRatingChange
from core.security.roles import Role
from tests.access.conftest import MakeCustomer, audit_rows, field_errors
from tests.conftest import LoginAs


def _file(
    client: TestClient, customer: Customer, changes: dict[str, Any], reason: str = "客户来电要求更正"
) -> Any:
    return client.post(
        "/api/change-requests", json={"customer_id": customer.id, "changes": changes, "reason": reason}
    )


def _customer(db: Session, customer_id: int) -> Customer:
    db.expire_all()
    customer = db.get(Customer, customer_id)
    assert customer is not None
    return customer


def test_grade_change_end_to_end(login_as: LoginAs, make_customer: MakeCustomer, db: Session) -> None:
    agent, officer = login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    customer = make_customer(name="华东贸易", grade="AAA")

    filed = _file(agent, customer, {"grade": "aa"}, reason="近两年采购额明显下降")
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["status"] == "pending"
    assert request["changes"] == {"grade": "AA"}  # stored as the customers service spells it
    assert request["old_values"] == {"grade": "AAA"}
    assert request["customer_code"] == customer.code
    assert request["requested_by_name"] == agent.user.full_name  # type: ignore[attr-defined]
    assert _customer(db, customer.id).grade == "AAA"  # nothing changes before approval

    approved = officer.post(f"/api/change-requests/{request['id']}/approve", json={"note": "同意"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["review_note"] == "同意"
    assert body["reviewed_by_name"] == officer.user.full_name  # type: ignore[attr-defined]
    assert body["reviewed_at"] is not None

    assert _customer(db, customer.id).grade == "AA"
    [change] = db.scalars(
        select(CustomerRatingChange).where(CustomerRatingChange.customer_id == customer.id)
    ).all()
    assert (change.field, change.old_value, change.new_value) == ("grade", "AAA", "AA")
    assert change.reason == "近两年采购额明显下降"
    assert change.changed_by_id == officer.user.id  # type: ignore[attr-defined]

    assert len(audit_rows(db, "change_request.create", object_id=str(request["id"]))) == 1
    [approval] = audit_rows(db, "change_request.approve", object_id=str(request["id"]))
    assert approval.user_id == officer.user.id  # type: ignore[attr-defined]
    assert len(audit_rows(db, "customer.rating_change", object_id=str(customer.id))) == 1


def test_general_and_rating_fields_in_one_request(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent, supervisor = login_as(Role.AGENT), login_as(Role.SUPERVISOR)
    customer = make_customer(name="旧名称", grade="B", region="上海市")
    original_number = customer.phones[0].number
    filed = _file(
        agent,
        customer,
        {
            "name": "新名称",
            "region": "江苏省苏州市",
            "phones": [{"number": "021-6234 5678", "label": "office"}],
            "credit_rating": "good",
            "confidentiality": 0,
        },
        reason="工商变更后的新资料",
    )
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["old_values"]["name"] == "旧名称"
    assert request["old_values"]["credit_rating"] is None
    assert request["old_values"]["confidentiality"] == 1
    # Phone numbers in the request are masked for an agent, like in the file itself.
    assert "****" in request["old_values"]["phones"][0]["number"]
    assert "****" in request["changes"]["phones"][0]["number"]
    assert request["changes"]["phones"][0]["label"] == "office"
    # Filing ran the update on trial only: the file and the audit trail are as they were.
    before = _customer(db, customer.id)
    assert (before.name, before.region, before.credit_rating) == ("旧名称", "上海市", None)
    assert [p.number for p in before.phones] == [original_number]
    assert audit_rows(db, "customer.update") == []

    approved = supervisor.post(f"/api/change-requests/{request['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["changes"]["phones"][0]["number"] == "+862162345678"  # supervisors see numbers
    after = _customer(db, customer.id)
    assert (after.name, after.region, after.credit_rating, after.confidentiality) == (
        "新名称",
        "江苏省苏州市",
        "good",
        0,
    )
    assert [p.number for p in after.phones] == ["+862162345678"]
    logged = db.scalars(
        select(CustomerRatingChange.field).where(CustomerRatingChange.customer_id == customer.id)
    )
    assert sorted(logged) == ["confidentiality", "credit_rating"]
    [update] = audit_rows(db, "customer.update", object_id=str(customer.id))
    assert update.user_id == supervisor.user.id  # type: ignore[attr-defined]


def test_changes_are_validated_against_the_customer_form(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent = login_as(Role.AGENT)
    customer = make_customer(grade="A", name="校验客户")

    bad = field_errors(_file(agent, customer, {"grade": "Z", "email": "not-an-email", "nickname": "x"}))
    assert set(bad) == {"changes.grade", "changes.email", "changes.nickname"}
    assert bad["changes.grade"]["code"] == "validation.enum"
    assert bad["changes.grade"]["message"].startswith("不是允许的选项")
    assert bad["changes.nickname"]["code"] == "validation.extra_forbidden"
    assert bad["changes.email"]["loc"] == ["changes", "email"]

    empty = field_errors(_file(agent, customer, {}))
    assert empty["changes"]["message"] == "请至少填写一项更改内容"

    same = field_errors(_file(agent, customer, {"grade": "A", "name": "校验客户"}))
    assert {k: v["code"] for k, v in same.items()} == {
        "changes.grade": "validation.unchanged",
        "changes.name": "validation.unchanged",
    }

    # Domain rules of the customers service, found by a trial run that leaves nothing behind.
    phone = field_errors(_file(agent, customer, {"phones": [{"number": "12"}, {"number": "hello"}]}))
    assert phone["changes.phones.0.number"]["code"] == "validation.string_too_short"
    phone = field_errors(_file(agent, customer, {"phones": [{"number": "hello-world"}]}))
    assert phone["changes.phones.0.number"]["code"] == "validation.phone_invalid"
    other = make_customer(code="TAKEN-1")
    duplicate = field_errors(_file(agent, customer, {"code": other.code}))
    assert duplicate["changes.code"]["code"] == "validation.duplicate"

    english = agent.post(
        "/api/change-requests?lang=en",
        json={"customer_id": customer.id, "changes": {"confidentiality": 7}, "reason": "x"},
    )
    assert (
        field_errors(english)["changes.confidentiality"]["message"]
        == "Not an allowed choice (allowed: 0, 1, 2, 3)"
    )

    no_reason = field_errors(_file(agent, customer, {"grade": "B"}, reason=" "))
    assert set(no_reason) == {"reason"}
    ghost = agent.post(
        "/api/change-requests", json={"customer_id": 999_999, "changes": {"grade": "B"}, "reason": "x"}
    )
    assert field_errors(ghost)["customer_id"]["code"] == "validation.unknown_reference"

    assert db.scalars(select(ChangeRequest)).all() == []
    assert _customer(db, customer.id).phones[0].number.startswith("+86137")
    assert audit_rows(db, "customer.update") == []


def test_rejection_needs_a_note(login_as: LoginAs, make_customer: MakeCustomer, db: Session) -> None:
    agent, officer = login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    customer = make_customer(grade="AA")
    request = _file(agent, customer, {"grade": "AAA"}).json()

    assert (
        field_errors(officer.post(f"/api/change-requests/{request['id']}/reject", json={}))["note"]["message"]
        == "必填"
    )
    blank = field_errors(officer.post(f"/api/change-requests/{request['id']}/reject", json={"note": "  "}))
    assert blank["note"]["code"] == "validation.string_too_short"

    rejected = officer.post(f"/api/change-requests/{request['id']}/reject", json={"note": "缺少销售数据佐证"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_note"] == "缺少销售数据佐证"
    assert _customer(db, customer.id).grade == "AA"
    [row] = audit_rows(db, "change_request.reject", object_id=str(request["id"]))
    assert row.detail and row.detail["note"] == "缺少销售数据佐证"

    again = officer.post(f"/api/change-requests/{request['id']}/approve")
    assert again.status_code == 409 and again.json()["error"] == "error.change_request_not_pending"


def test_own_request_cannot_be_self_approved(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    officer = login_as(Role.INFO_OFFICER)
    customer = make_customer(grade="B")
    request = _file(officer, customer, {"grade": "A"}).json()
    response = officer.post(f"/api/change-requests/{request['id']}/approve")
    assert response.status_code == 409
    assert response.json() == {"error": "error.own_request", "message": "不能审批本人提交的更改申请"}
    assert _customer(db, customer.id).grade == "B"
    assert db.get(ChangeRequest, request["id"]).status is ChangeRequestStatus.PENDING  # type: ignore[union-attr]
    # Another reviewer may.
    assert (
        login_as(Role.INFO_OFFICER).post(f"/api/change-requests/{request['id']}/approve").status_code == 200
    )


def test_withdrawn_request_cannot_be_approved(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent, officer = login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    customer = make_customer(grade="A")
    request = _file(agent, customer, {"grade": "B"}).json()

    stranger = login_as(Role.AGENT)
    refused = stranger.post(f"/api/change-requests/{request['id']}/withdraw")
    assert refused.status_code == 403 and refused.json()["error"] == "error.not_own_request"
    stranger_id = stranger.user.id  # type: ignore[attr-defined]
    refusals = audit_rows(db, "auth.forbidden", user_id=stranger_id)
    assert [r.detail["reason"] for r in refusals if r.detail] == ["error.not_own_request"]

    withdrawn = agent.post(f"/api/change-requests/{request['id']}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["withdrawn_at"]
    assert len(audit_rows(db, "change_request.withdraw", object_id=str(request["id"]))) == 1

    approve = officer.post(f"/api/change-requests/{request['id']}/approve", headers={"Accept-Language": "en"})
    assert approve.status_code == 409
    assert approve.json()["message"] == "This request is no longer pending"
    assert agent.post(f"/api/change-requests/{request['id']}/withdraw").status_code == 409
    assert _customer(db, customer.id).grade == "A"


def test_agents_cannot_review_and_refusals_are_audited(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent = login_as(Role.AGENT)
    request = _file(login_as(Role.AGENT), make_customer(grade="A"), {"grade": "B"}).json()
    for action, body in (("approve", {}), ("reject", {"note": "不同意"})):
        response = agent.post(f"/api/change-requests/{request['id']}/{action}", json=body)
        assert response.status_code == 403
    assert agent.get("/api/change-requests/export").status_code == 403
    refusals = audit_rows(db, "auth.forbidden", user_id=agent.user.id)  # type: ignore[attr-defined]
    assert [r.detail["permission"] for r in refusals if r.detail] == ["change_requests.review"] * 3
    assert all(not r.allowed for r in refusals)


def test_stale_request_is_refused_and_nothing_changes(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent, officer = login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    customer = make_customer(name="甲公司", region="北京市")
    request = _file(agent, customer, {"name": "甲公司（更名）", "region": "天津市"}).json()
    # Someone edits the file directly in the meantime.
    assert officer.patch(f"/api/customers/{customer.id}", json={"name": "甲集团"}).status_code == 200

    response = officer.post(f"/api/change-requests/{request['id']}/approve")
    assert response.status_code == 409
    assert response.json()["error"] == "error.change_request_stale"
    assert "name" in response.json()["message"]
    after = _customer(db, customer.id)
    assert (after.name, after.region) == ("甲集团", "北京市")
    assert db.get(ChangeRequest, request["id"]).status is ChangeRequestStatus.PENDING  # type: ignore[union-attr]


def test_approval_that_no_longer_validates_is_a_422_and_changes_nothing(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent, officer = login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    customer = make_customer(code="OLD-1", grade="A")
    request = _file(agent, customer, {"code": "NEW-1", "grade": "AA"}).json()
    make_customer(code="NEW-1")  # the code is taken before approval

    response = officer.post(f"/api/change-requests/{request['id']}/approve")
    errors = field_errors(response)
    assert errors["changes.code"]["code"] == "validation.duplicate"
    after = _customer(db, customer.id)
    assert (after.code, after.grade) == ("OLD-1", "A")
    assert (
        db.scalars(select(CustomerRatingChange).where(CustomerRatingChange.customer_id == customer.id)).all()
        == []
    )
    assert db.get(ChangeRequest, request["id"]).status is ChangeRequestStatus.PENDING  # type: ignore[union-attr]
    assert audit_rows(db, "change_request.approve") == []


def test_approval_is_all_or_nothing_at_service_level(
    db: Session, make_customer: MakeCustomer, login_as: LoginAs
) -> None:
    """Even when the caller goes on to commit, a failed approval leaves no half-applied change."""
    import pytest

    from core.access import service
    from core.audit.service import Actor
    from core.errors import InvalidFields

    agent = login_as(Role.AGENT)
    customer = make_customer(code="KEEP-1", grade="A", name="原名")
    request = _file(agent, customer, {"name": "新名", "code": "DUP-1", "grade": "B"}).json()
    make_customer(code="DUP-1")
    officer = login_as(Role.INFO_OFFICER).user  # type: ignore[attr-defined]
    with pytest.raises(InvalidFields):
        service.approve_change_request(
            db, request_id=request["id"], phone_region="CN", actor=Actor(officer.id, officer.username)
        )
    db.commit()
    after = _customer(db, customer.id)
    assert (after.name, after.code, after.grade) == ("原名", "KEEP-1", "A")


def test_requests_are_visible_to_their_requester_and_to_reviewers(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    ann, bob, officer = login_as(Role.AGENT), login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    customer = make_customer(grade="A", name="可见性客户")
    mine = _file(ann, customer, {"grade": "B"}).json()
    theirs = _file(bob, customer, {"grade": "AA"}).json()
    officer.post(f"/api/change-requests/{theirs['id']}/reject", json={"note": "依据不足"})

    def ids(client: TestClient, query: str = "") -> list[int]:
        response = client.get(f"/api/change-requests{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(ann) == [mine["id"]]
    assert ids(ann, f"?requested_by_id={bob.user.id}") == [mine["id"]]  # type: ignore[attr-defined]
    assert sorted(ids(officer)) == sorted([mine["id"], theirs["id"]])
    assert ids(officer, "?status=pending") == [mine["id"]]
    assert ids(officer, "?status=rejected") == [theirs["id"]]
    assert ids(officer, "?q=可见性") != []
    assert (
        field_errors(officer.get("/api/change-requests?status=bogus"))["status"]["code"] == "validation.enum"
    )

    assert ann.get(f"/api/change-requests/{mine['id']}").status_code == 200
    assert len(audit_rows(db, "change_request.read", object_id=str(mine["id"]))) == 1
    assert ann.get(f"/api/change-requests/{theirs['id']}").status_code == 403
    assert officer.get(f"/api/change-requests/{theirs['id']}").status_code == 200
    assert officer.get("/api/change-requests/999999").status_code == 404

    export = officer.get("/api/change-requests/export?format=csv&status=rejected")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    text = export.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("申请编号,客户代码,客户名称,更改后内容,原内容,更改原因")
    assert "已驳回" in text and "依据不足" in text and len(text.strip().splitlines()) == 2


def test_files_above_clearance_need_a_grant_to_request_a_change(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    agent, officer = login_as(Role.AGENT), login_as(Role.INFO_OFFICER)
    secret = make_customer(confidentiality=3, grade="A")
    refused = _file(agent, secret, {"grade": "B"})
    assert refused.status_code == 403 and refused.json()["error"] == "error.above_clearance"
    assert audit_rows(db, "auth.forbidden", user_id=agent.user.id)[0].detail["customer_id"] == secret.id  # type: ignore[attr-defined, index]

    officer.post(
        "/api/access/grants",
        json={"user_id": agent.user.id, "customer_id": secret.id, "reason": "客户要求下调等级"},  # type: ignore[attr-defined]
    )
    assert _file(agent, secret, {"grade": "B"}).status_code == 201
