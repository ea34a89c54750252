"""Lists, search (numbers in any spelling), filters, export, a customer's recent calls and the user's counts
today in the center's time zone."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from core.contacts import service
from core.customers.models import Customer
from core.people.models import Team
from core.security.roles import Role
from tests.conftest import LoginAs
from tests.contacts.conftest import (
    AuditRows,
    MakeCustomer,
    inbound_payload,
    outbound_payload,
    phone_log_payload,
)
from tests.tables import exported


def post(client: TestClient, path: str, payload: dict[str, object]) -> int:
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    record_id: int = response.json()["id"]
    return record_id


def ids(client: TestClient, path: str, **params: object) -> list[int]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    "spelling",
    [
        "13900139001",
        "139 0013 9001",
        "139-0013-9001",
        "+86 139 0013 9001",
        "008613900139001",
        "+8613900139001",
    ],
)
def test_search_by_number_in_any_spelling(login_as: LoginAs, customer: Customer, spelling: str) -> None:
    agent = login_as(Role.AGENT)
    hit = post(agent, "/api/records/inbound", inbound_payload(customer.id, caller_number="13900139001"))
    post(agent, "/api/records/inbound", inbound_payload(customer.id, caller_number="13800138000"))
    assert ids(agent, "/api/records/inbound", q=spelling) == [hit]


def test_search_by_part_of_a_number_and_by_landline(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    landline = post(
        agent, "/api/records/outbound", outbound_payload(customer.id, called_number="010-6552 1234")
    )
    mobile = post(agent, "/api/records/outbound", outbound_payload(customer.id, called_number="13900139001"))
    assert ids(agent, "/api/records/outbound", q="(010) 65521234") == [landline]
    assert ids(agent, "/api/records/outbound", q="0013 9001") == [mobile]
    log = post(agent, "/api/records/phone-log", phone_log_payload(None, phone_number="+86 21 5888 9999"))
    assert ids(agent, "/api/records/phone-log", q="021-58889999") == [log]


def test_search_by_text(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    first = post(agent, "/api/records/inbound", inbound_payload(customer.id, caller_organisation="星河物业"))
    second = post(agent, "/api/records/inbound", inbound_payload(customer.id, content="投诉快递员态度差"))
    third = post(agent, "/api/records/inbound", inbound_payload(customer.id, caller_name="欧阳娜娜"))
    assert ids(agent, "/api/records/inbound", q="星河") == [first]
    assert ids(agent, "/api/records/inbound", q="快递员") == [second]
    assert ids(agent, "/api/records/inbound", q="欧阳") == [third]
    assert ids(agent, "/api/records/inbound", q="不存在的内容") == []


@given(
    subscriber=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    style=st.sampled_from(["plain", "spaced", "dashed", "plus86", "0086", "86 spaced"]),
)
def test_phone_search_terms_are_the_same_number(subscriber: str, style: str) -> None:
    """However a mobile number is spelled, the search looks for the same E.164 number."""
    a, b, c = subscriber[:3], subscriber[3:7], subscriber[7:]
    spelled = {
        "plain": subscriber,
        "spaced": f"{a} {b} {c}",
        "dashed": f"{a}-{b}-{c}",
        "plus86": f"+86{subscriber}",
        "0086": f"0086{subscriber}",
        "86 spaced": f"+86 {a} {b} {c}",
    }[style]
    e164, digits = service._phone_terms(spelled, "CN")
    assert e164 == f"+86{subscriber}"
    assert subscriber in digits


def test_filters(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    one, two = make_customer("甲公司"), make_customer("乙公司")
    supervisor = login_as(Role.SUPERVISOR)
    agent = login_as(Role.AGENT)
    a = post(agent, "/api/records/outbound", outbound_payload(one.id, result="sale", no_sale_reason=None))
    b = post(agent, "/api/records/outbound", outbound_payload(two.id, purpose="survey", result="busy"))
    c = post(supervisor, "/api/records/outbound", outbound_payload(two.id))
    path = "/api/records/outbound"
    assert ids(supervisor, path, customer_id=two.id) == [c, b]
    assert ids(supervisor, path, agent_id=agent.user.id) == [b, a]
    assert ids(supervisor, path, result="sale") == [a]
    assert ids(supervisor, path, purpose="survey") == [b]
    assert supervisor.get(path, params={"result": "maybe"}).status_code == 422

    inbound = post(agent, "/api/records/inbound", inbound_payload(one.id, outcome="resolved"))
    post(agent, "/api/records/inbound", inbound_payload(one.id))
    assert ids(agent, "/api/records/inbound", outcome="resolved") == [inbound]

    log = post(agent, "/api/records/phone-log", phone_log_payload(None))
    post(
        agent,
        "/api/records/phone-log",
        phone_log_payload(None, repeat_call_needed=False, repeat_call_at=None),
    )
    assert ids(agent, "/api/records/phone-log", repeat_call_needed=True) == [log]


def test_paging(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    made = [
        post(
            agent,
            "/api/records/inbound",
            inbound_payload(customer.id, started_at=f"2026-11-{day:02d}T09:00:00"),
        )
        for day in range(1, 6)
    ]
    page = agent.get("/api/records/inbound", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == 5
    assert [i["id"] for i in page["items"]] == [made[3], made[2]]  # newest first


def test_date_range_is_in_the_centers_days(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    # 2026-11-23T17:00Z is 01:00 on the 24th in Shanghai; 15:59Z is 23:59 on the 23rd.
    late = post(
        agent,
        "/api/records/inbound",
        inbound_payload(customer.id, started_at="2026-11-23T17:00:00Z", ended_at=None),
    )
    early = post(
        agent,
        "/api/records/inbound",
        inbound_payload(customer.id, started_at="2026-11-23T15:59:00Z", ended_at=None),
    )
    path = "/api/records/inbound"
    assert ids(agent, path, **{"from": "2026-11-24", "to": "2026-11-24"}) == [late]
    assert ids(agent, path, **{"from": "2026-11-23", "to": "2026-11-23"}) == [early]
    assert ids(agent, path, **{"from": "2026-11-23"}) == [late, early]
    assert ids(agent, path, to="2026-11-22") == []


def test_my_counts_today_follow_the_centers_time_zone(
    login_as: LoginAs, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = login_as(Role.AGENT)
    other = login_as(Role.AGENT)

    def inbound_at(at: str) -> dict[str, object]:
        return inbound_payload(customer.id, started_at=at, ended_at=None)

    post(agent, "/api/records/inbound", inbound_at("2026-11-23T17:00:00Z"))  # 24th 01:00 Shanghai: today
    post(agent, "/api/records/inbound", inbound_at("2026-11-24T15:59:00Z"))  # 24th 23:59: today
    post(agent, "/api/records/inbound", inbound_at("2026-11-23T15:59:00Z"))  # 23rd 23:59: yesterday
    post(agent, "/api/records/inbound", inbound_at("2026-11-24T16:00:00Z"))  # 25th 00:00: tomorrow
    post(
        agent,
        "/api/records/outbound",
        outbound_payload(customer.id, started_at="2026-11-24T02:00:00+08:00", ended_at=None),
    )
    post(agent, "/api/records/phone-log", phone_log_payload(None, called_at="2026-11-24T08:00:00"))
    post(other, "/api/records/inbound", inbound_at("2026-11-23T18:00:00Z"))  # someone else's

    # 17:30Z on the 23rd is already the 24th in Shanghai.
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2026, 11, 23, 17, 30, tzinfo=UTC))
    body = agent.get("/api/records/mine/today").json()
    assert body["day"] == "2026-11-24"
    assert body["counts"] == {"inbound": 2, "outbound": 1, "phone-log": 1, "interviews": 0}
    assert body["total"] == 4


def test_customer_recent_calls(login_as: LoginAs, make_customer: MakeCustomer, audit_rows: AuditRows) -> None:
    mine, other_customer = make_customer("丙公司"), make_customer("丁公司")
    agent = login_as(Role.AGENT)
    for day in range(1, 16):
        post(
            agent,
            "/api/records/inbound",
            inbound_payload(mine.id, started_at=f"2026-11-{day:02d}T09:00:00", ended_at=None),
        )
    for day in range(1, 11):
        post(
            agent,
            "/api/records/outbound",
            outbound_payload(mine.id, started_at=f"2026-11-{day:02d}T15:00:00", ended_at=None),
        )
    post(
        agent,
        "/api/records/inbound",
        inbound_payload(other_customer.id, started_at="2026-11-30T09:00:00", ended_at=None),
    )
    post(
        login_as(Role.AGENT),
        "/api/records/inbound",
        inbound_payload(mine.id, started_at="2026-11-30T09:00:00", ended_at=None),
    )

    response = agent.get(f"/api/records/by-customer/{mine.id}")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 20
    starts = [datetime.fromisoformat(r["started_at"]) for r in rows]
    assert starts == sorted(starts, reverse=True)
    assert starts[0] == datetime(2026, 11, 15, 1, 0, tzinfo=UTC)  # the other agent's call is not in scope
    assert {r["kind"] for r in rows} == {"inbound", "outbound"}
    outbound = next(r for r in rows if r["kind"] == "outbound")
    assert outbound["outcome"] == "no_sale"
    assert outbound["person_name"] == "李梅"
    assert audit_rows(action="record.by_customer", object_id=str(mine.id))[0].user_id == agent.user.id

    supervisor = login_as(Role.SUPERVISOR)
    assert datetime.fromisoformat(
        supervisor.get(f"/api/records/by-customer/{mine.id}").json()[0]["started_at"]
    ) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert agent.get("/api/records/by-customer/987654").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reads_back(login_as: LoginAs, team: Team, customer: Customer, fmt: str) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=team.id)
    member = login_as(Role.AGENT, team_id=team.id)
    outsider = login_as(Role.AGENT)
    post(
        member,
        "/api/records/inbound",
        inbound_payload(customer.id, started_at="2026-11-20T09:00:00", ended_at=None),
    )
    post(outsider, "/api/records/inbound", inbound_payload(customer.id))

    response = lead.get("/api/records/inbound/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    assert f".{fmt}" in response.headers["content-disposition"]
    headers, rows_iter = exported(response.content, f"export.{fmt}")
    rows = list(rows_iter)
    assert len(rows) == 1  # the team's record only
    row = rows[0]
    assert {"呼入单位", "开始时间", "来电号码", "通话内容", "处理结果", "坐席员姓名", "工号"} <= set(headers)
    assert row["呼入单位"] == "华信贸易有限公司"
    assert row["来电号码"] == "+8613900139001"  # a team lead sees numbers
    assert row["处理结果"] == "已转相关部门"
    assert row["坐席员姓名"] == member.user.full_name
    assert row["开始时间"].startswith("2026-11-20T09:00:00+08:00")  # the center's time


def test_export_in_english_with_filters(login_as: LoginAs, customer: Customer) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    post(supervisor, "/api/records/phone-log", phone_log_payload(None))
    post(
        supervisor,
        "/api/records/phone-log",
        phone_log_payload(None, party_name="其他单位", repeat_call_needed=False, repeat_call_at=None),
    )
    response = supervisor.get(
        "/api/records/phone-log/export", params={"format": "xlsx", "q": "张会计", "lang": "en"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = list(sheet.values)
    assert len(values) == 2
    row = dict(zip(values[0], values[1], strict=True))
    assert row["Person or company called"] == "华信贸易 张会计"
    assert row["Repeat call needed"] == "Yes"
    assert row["Call length (s)"] == 185


def test_export_needs_the_permission(login_as: LoginAs, audit_rows: AuditRows) -> None:
    agent = login_as(Role.AGENT)
    response = agent.get("/api/records/inbound/export")
    assert response.status_code == 403
    denial = audit_rows(user_id=agent.user.id, allowed=False)
    assert denial[0].detail is not None and denial[0].detail["permission"] == "records.export"
    assert login_as(Role.QA_INSPECTOR).get("/api/records/outbound/export").status_code == 403


def test_export_is_audited(login_as: LoginAs, customer: Customer, audit_rows: AuditRows) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    post(supervisor, "/api/records/outbound", outbound_payload(customer.id))
    assert supervisor.get("/api/records/outbound/export?format=csv").status_code == 200
    row = audit_rows(action="record.export")[0]
    assert (row.object_type, row.user_id, row.detail) == (
        "outbound",
        supervisor.user.id,
        {"count": 1, "format": "csv"},
    )
