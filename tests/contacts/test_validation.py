"""Every validation rule of the call forms: 422 with the field path and a localized message (zh-CN by
default, English on request), and nothing written."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.contacts.models import InboundRecord, OutboundRecord, PhoneLog
from core.customers.models import Customer
from core.security.roles import Role
from tests.conftest import LoginAs
from tests.contacts.conftest import (
    inbound_payload,
    interview_payload,
    outbound_payload,
    phone_log_payload,
)


def field_errors(response: httpx.Response) -> dict[str, tuple[str, str]]:
    assert response.status_code == 422, response.text
    return {f["field"]: (f["code"], f["message"]) for f in response.json()["fields"]}


def count(db: Session, model: type[Any]) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("kind", ["inbound", "outbound"])
def test_end_before_start_in_chinese_and_english(
    login_as: LoginAs, customer: Customer, db: Session, kind: str
) -> None:
    agent = login_as(Role.AGENT)
    build = inbound_payload if kind == "inbound" else outbound_payload
    sent = build(customer.id, started_at="2026-11-20T10:00:00+08:00", ended_at="2026-11-20T09:59:59+08:00")

    zh = field_errors(agent.post(f"/api/records/{kind}", json=sent))
    assert zh["ended_at"] == ("validation.end_before_start", "结束时间不能早于开始时间")

    en = field_errors(agent.post(f"/api/records/{kind}?lang=en", json=sent))
    assert en["ended_at"] == ("validation.end_before_start", "The end cannot be before the start")
    header = agent.post(f"/api/records/{kind}", json=sent, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert field_errors(header)["ended_at"][1] == "The end cannot be before the start"

    assert count(db, InboundRecord if kind == "inbound" else OutboundRecord) == 0


def test_end_equal_to_start_is_fine(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    at = "2026-11-20T10:00:00+08:00"
    response = agent.post(
        "/api/records/inbound", json=inbound_payload(customer.id, started_at=at, ended_at=at)
    )
    assert response.status_code == 201, response.text


def test_end_compared_after_time_zone_conversion(login_as: LoginAs, customer: Customer) -> None:
    """09:30 Shanghai (naive) is 01:30Z; an end at 02:00Z is after it, though 02 < 09 as written."""
    agent = login_as(Role.AGENT)
    sent = inbound_payload(customer.id, started_at="2026-11-20T09:30:00", ended_at="2026-11-20T02:00:00Z")
    assert agent.post("/api/records/inbound", json=sent).status_code == 201


def test_patch_cannot_put_the_end_before_the_start(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    record = agent.post("/api/records/outbound", json=outbound_payload(customer.id)).json()
    response = agent.patch(
        f"/api/records/outbound/{record['id']}", json={"ended_at": "2026-11-20T13:00:00+08:00"}
    )
    assert field_errors(response)["ended_at"][0] == "validation.end_before_start"
    assert agent.get(f"/api/records/outbound/{record['id']}").json()["ended_at"] == record["ended_at"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_no_sale_needs_a_reason(
    login_as: LoginAs, customer: Customer, db: Session, reason: str | None
) -> None:
    agent = login_as(Role.AGENT)
    sent = outbound_payload(customer.id, result="no_sale", no_sale_reason=reason)
    errors = field_errors(agent.post("/api/records/outbound", json=sent))
    assert errors["no_sale_reason"] == (
        "validation.no_sale_reason_required",
        "呼叫结果为“未成交”时必须填写未成交原因",
    )
    en = field_errors(agent.post("/api/records/outbound?lang=en", json=sent))
    assert en["no_sale_reason"][1] == "Give the reason when no sale was made"
    assert count(db, OutboundRecord) == 0


def test_other_results_need_no_reason(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    sent = outbound_payload(customer.id, result="interested", no_sale_reason=None)
    assert agent.post("/api/records/outbound", json=sent).status_code == 201


def test_patch_to_no_sale_needs_a_reason(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    sent = outbound_payload(customer.id, result="sale", no_sale_reason=None)
    record = agent.post("/api/records/outbound", json=sent).json()
    response = agent.patch(f"/api/records/outbound/{record['id']}", json={"result": "no_sale"})
    assert field_errors(response)["no_sale_reason"][0] == "validation.no_sale_reason_required"
    ok = agent.patch(
        f"/api/records/outbound/{record['id']}", json={"result": "no_sale", "no_sale_reason": "价格高"}
    )
    assert ok.status_code == 200 and ok.json()["result"] == "no_sale"


def test_repeat_call_needs_a_time(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    sent = phone_log_payload(None, repeat_call_needed=True, repeat_call_at=None)
    errors = field_errors(agent.post("/api/records/phone-log", json=sent))
    assert errors["repeat_call_at"] == (
        "validation.repeat_call_at_required",
        "需要重复呼叫时必须填写重复呼叫时间",
    )
    en = field_errors(agent.post("/api/records/phone-log", json=sent, headers={"Accept-Language": "en"}))
    assert en["repeat_call_at"][1] == "Give the time of the repeat call"
    assert count(db, PhoneLog) == 0
    no_repeat = phone_log_payload(None, repeat_call_needed=False, repeat_call_at=None)
    assert agent.post("/api/records/phone-log", json=no_repeat).status_code == 201


def test_patch_cannot_drop_the_repeat_time_while_a_repeat_is_needed(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    record = agent.post("/api/records/phone-log", json=phone_log_payload(None)).json()
    response = agent.patch(f"/api/records/phone-log/{record['id']}", json={"repeat_call_at": None})
    assert field_errors(response)["repeat_call_at"][0] == "validation.repeat_call_at_required"


def test_transfer_needs_the_department(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    sent = inbound_payload(customer.id, outcome="transferred", transferred_to_department=None)
    errors = field_errors(agent.post("/api/records/inbound", json=sent))
    assert errors["transferred_to_department"][0] == "validation.department_required"
    assert errors["transferred_to_department"][1] == "处理结果为“已转相关部门”时必须填写转交部门"


def test_several_problems_are_reported_together(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    sent = outbound_payload(
        customer.id,
        ended_at="2026-11-20T13:00:00+08:00",
        no_sale_reason=None,
        called_number="not a number",
    )
    errors = field_errors(agent.post("/api/records/outbound", json=sent))
    assert set(errors) == {"ended_at", "no_sale_reason", "called_number"}


def test_bad_phone_number(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    errors = field_errors(
        agent.post("/api/records/inbound", json=inbound_payload(customer.id, caller_number="12"))
    )
    assert errors["caller_number"] == ("validation.phone_invalid", "“12”不是有效的电话号码")
    errors = field_errors(
        agent.post("/api/records/phone-log?lang=en", json=phone_log_payload(None, phone_number="abc"))
    )
    assert errors["phone_number"] == ("validation.phone_invalid", "“abc” is not a valid phone number")


def test_unknown_customer(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    errors = field_errors(agent.post("/api/records/outbound", json=outbound_payload(987654)))
    assert errors["customer_id"] == ("validation.unknown_reference", "引用的记录不存在")


def test_unknown_agent(login_as: LoginAs, customer: Customer) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    errors = field_errors(
        supervisor.post("/api/records/inbound", json=inbound_payload(customer.id, agent_id=987654))
    )
    assert errors["agent_id"][0] == "validation.unknown_reference"


@pytest.mark.parametrize(
    ("kind", "drop"),
    [
        ("inbound", "content"),
        ("inbound", "started_at"),
        ("outbound", "customer_id"),
        ("outbound", "content"),
        ("phone-log", "party_name"),
        ("phone-log", "phone_number"),
        ("phone-log", "called_at"),
        ("interviews", "customer_id"),
        ("interviews", "customer_name"),
        ("interviews", "planned_at"),
    ],
)
def test_required_fields(login_as: LoginAs, customer: Customer, kind: str, drop: str) -> None:
    builders = {
        "inbound": inbound_payload,
        "outbound": outbound_payload,
        "phone-log": phone_log_payload,
        "interviews": interview_payload,
    }
    agent = login_as(Role.AGENT)
    sent = builders[kind](customer.id)
    del sent[drop]
    errors = field_errors(agent.post(f"/api/records/{kind}", json=sent))
    assert errors[drop] == ("validation.missing", "必填")


@pytest.mark.parametrize("field", ["content", "started_at", "agent_id"])
def test_patch_cannot_empty_a_required_field(login_as: LoginAs, customer: Customer, field: str) -> None:
    agent = login_as(Role.AGENT)
    record = agent.post("/api/records/inbound", json=inbound_payload(customer.id)).json()
    errors = field_errors(agent.patch(f"/api/records/inbound/{record['id']}", json={field: None}))
    assert errors[field][0] == "validation.missing"


def test_blank_content_is_refused(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    errors = field_errors(
        agent.post("/api/records/inbound", json=inbound_payload(customer.id, content="   "))
    )
    assert errors["content"][0] == "validation.string_too_short"


def test_negative_call_length(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    errors = field_errors(
        agent.post("/api/records/phone-log", json=phone_log_payload(None, duration_seconds=-1))
    )
    assert errors["duration_seconds"] == ("validation.greater_than_equal", "应不小于 0")


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [("inbound", "outcome", "lost"), ("outbound", "purpose", "spam"), ("outbound", "result", "maybe")],
)
def test_unknown_enum_values(
    login_as: LoginAs, customer: Customer, kind: str, field: str, value: str
) -> None:
    agent = login_as(Role.AGENT)
    build = inbound_payload if kind == "inbound" else outbound_payload
    errors = field_errors(agent.post(f"/api/records/{kind}", json=build(customer.id, **{field: value})))
    assert errors[field][0] == "validation.enum"
