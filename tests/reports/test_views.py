"""The reports' HTTP API: shapes, permissions (403 audited), team scoping, validation, exports, staffing and
the abandon curve, on the answered/ and abandoned/ captures replayed into the app's database."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.records.replay import load_queues, replay_into
from core.audit.models import AuditEntry
from core.config import Settings
from core.people.models import Team
from core.security.roles import Role
from reports.aggregates import ReportConfig, refresh
from reports.measures import MEASURES
from tests.acd_records.truth import FIXTURES
from tests.conftest import LoginAs, MakeUser
from tests.reports.helpers import NOW

DAY = "2026-11-23"  # the captures' day, in the center's zone (Asia/Shanghai) as in UTC
ROW_FIELDS = {"key", "label", "period_start", *MEASURES}


@pytest.fixture
def records(db: Session, settings: Settings) -> None:
    for folder in ("answered", "abandoned"):
        replay_into(db, FIXTURES / folder, translate=None, queues=load_queues(FIXTURES / folder))
    refresh(db, ReportConfig.of(settings), now=NOW)
    db.commit()


@pytest.fixture
def teams(db: Session, make_user: MakeUser) -> tuple[Team, Team]:
    """Team 一组 has Bob (PJSIP/1002), team 二组 has Carol (PJSIP/1003)."""
    one, two = Team(name="一组"), Team(name="二组")
    db.add_all([one, two])
    db.commit()
    make_user(Role.AGENT, full_name="Bob", pbx_interface="PJSIP/1002", team_id=one.id)
    make_user(Role.AGENT, full_name="Carol", pbx_interface="PJSIP/1003", team_id=two.id)
    return one, two


def calls(client: TestClient, **params: Any) -> Any:
    response = client.get("/api/reports/calls", params={"from": DAY, "to": DAY, **params})
    assert response.status_code == 200, response.text
    return response.json()


def refusals(db: Session) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.allowed.is_(False))))


def test_definitions_in_both_languages(login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    zh = client.get("/api/reports/definitions").json()
    assert [d["code"] for d in zh] == list(MEASURES)
    by_code = {d["code"]: d for d in zh}
    assert by_code["service_level_pct"]["label"] == "服务水平（%）"
    assert "三声" in by_code["three_ring_compliance_pct"]["formula"]
    en = {d["code"]: d for d in client.get("/api/reports/definitions?lang=en").json()}
    assert en["aht_s"]["formula"].startswith("(talk + hold + wrap-up)")


@pytest.mark.usefixtures("records")
def test_calls_by_queue(login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    data = calls(client, grain="day", by="queue")
    assert {k: data[k] for k in ("grain", "by", "from", "to")} == {
        "grain": "day",
        "by": "queue",
        "from": DAY,
        "to": DAY,
    }
    rows = {r["key"]: r for r in data["rows"]}
    assert set(rows) == {"support", "complaints", "sales"}
    assert set(rows["support"]) == ROW_FIELDS
    assert rows["support"]["period_start"] == "2026-11-23T00:00:00+08:00"
    # answered/ 8 offered + abandoned/ 5 (one of them a short abandon, 4 s)
    support = rows["support"]
    assert (support["offered"], support["answered"], support["abandoned"], support["short_abandoned"]) == (
        13,
        8,
        5,
        1,
    )
    # answered_abandoned: 7 / (8 + 5 − 1) = 58.3 %
    assert support["service_level_pct"] == 58.3 and support["sl_variant"] == "answered_abandoned"
    assert support["occupancy_pct"] is None  # an agent-only figure
    totals = {t["key"]: t for t in data["totals"]}
    assert "period_start" not in totals["support"] and totals["support"]["offered"] == 13
    # the 15-minute grain splits the day: the rows add up to the same totals
    quarter = calls(client, grain="15m", by="queue", key="support")
    assert {r["key"] for r in quarter["rows"]} == {"support"}
    assert sum(r["offered"] for r in quarter["rows"]) == 13
    assert [r["period_start"] for r in quarter["rows"]] == ["2026-11-23T10:15:00+08:00"]


@pytest.mark.usefixtures("records")
def test_an_agent_is_refused_and_audited(login_as: LoginAs, db: Session) -> None:
    client = login_as(Role.AGENT)
    assert client.get("/api/reports/calls", params={"from": DAY, "to": DAY}).status_code == 403
    assert client.get("/api/reports/definitions").status_code == 403
    entries = refusals(db)
    assert len(entries) == 2
    assert all(e.detail and e.detail.get("permission") == "reports.read" for e in entries)


@pytest.mark.usefixtures("records")
def test_team_lead_sees_only_their_team(login_as: LoginAs, teams: tuple[Team, Team], db: Session) -> None:
    one, _two = teams
    lead = login_as(Role.TEAM_LEAD, team_id=one.id)
    agents = calls(lead, by="agent")
    assert [r["key"] for r in agents["totals"]] == ["Bob"]  # Alice, Carol, Dave, Erin are not theirs
    # Bob answered 3 calls in answered/: talk 12 + 15 + 21, wrap-up 3 × 5 → AHT 21.0; 3 offers all met
    bob = agents["totals"][0]
    assert bob["answered"] == 3 and bob["aht_s"] == 21.0 and bob["three_ring_compliance_pct"] == 100.0
    assert bob["offered"] is None and bob["service_level_pct"] is None  # queue-only figures
    team = calls(lead, by="team")
    assert [(r["key"], r["answered"]) for r in team["totals"]] == [("一组", 3)]
    assert calls(lead, by="queue")["totals"]  # the queues are the team lead's too (the wallboard's)

    assert (
        lead.get(
            "/api/reports/calls", params={"from": DAY, "to": DAY, "by": "agent", "key": "Carol"}
        ).status_code
        == 403
    )
    assert (
        lead.get(
            "/api/reports/calls", params={"from": DAY, "to": DAY, "by": "team", "key": "二组"}
        ).status_code
        == 403
    )
    reasons = [e.detail.get("reason") for e in refusals(db) if e.detail]
    assert reasons == ["error.reports.not_your_team", "error.reports.not_your_team"]
    # a supervisor sees every team
    supervisor = login_as(Role.SUPERVISOR)
    assert {r["key"] for r in calls(supervisor, by="team")["totals"]} == {"一组", "二组"}


def test_validation(login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    bad_date = client.get("/api/reports/calls", params={"from": "2026-13-01"})
    assert bad_date.status_code == 422
    bad_grain = client.get("/api/reports/calls", params={"grain": "5m"})
    assert bad_grain.status_code == 422
    reversed_range = client.get("/api/reports/calls", params={"from": "2026-11-24", "to": "2026-11-23"})
    assert reversed_range.status_code == 422
    assert "开始日期不能晚于结束日期" in reversed_range.text
    english = client.get(
        "/api/reports/calls", params={"from": "2026-11-24", "to": "2026-11-23", "lang": "en"}
    )
    assert "The start date cannot be after the end date" in english.text
    too_long = client.get(
        "/api/reports/calls", params={"from": "2026-01-01", "to": "2026-11-23", "grain": "15m"}
    )
    assert too_long.status_code == 422 and "62" in too_long.text
    assert (
        client.get("/api/reports/staffing", params={"queue": "support", "shrinkage_pct": 100}).status_code
        == 422
    )


@pytest.mark.usefixtures("records")
def test_export_has_a_definitions_sheet(login_as: LoginAs, db: Session) -> None:
    client = login_as(Role.SUPERVISOR)
    response = client.get("/api/reports/calls/export", params={"from": DAY, "to": DAY, "format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[1] == "定义"
    definitions = list(book["定义"].iter_rows(values_only=True))
    assert definitions[0] == ("代码", "指标", "公式")
    assert {row[0] for row in definitions[1:]} == set(MEASURES)
    english = client.get(
        "/api/reports/calls/export", params={"from": DAY, "to": DAY, "format": "xlsx", "lang": "en"}
    )
    assert load_workbook(io.BytesIO(english.content)).sheetnames[1] == "Definitions"
    csv = client.get(
        "/api/reports/calls/export", params={"from": DAY, "to": DAY, "format": "csv", "lang": "en"}
    )
    header = csv.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Queue,Period start,Offered,Answered")
    db.expire_all()
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "reports.export")) is not None


@pytest.mark.usefixtures("records")
def test_staffing(login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    data = client.get(
        "/api/reports/staffing", params={"date": DAY, "queue": "support", "grain": "30m", "shrinkage_pct": 30}
    ).json()
    assert {k: data[k] for k in ("queue", "threshold_s", "target_pct", "shrinkage_pct")} == {
        "queue": "support",
        "threshold_s": 20,
        "target_pct": 80,
        "shrinkage_pct": 30.0,
    }
    assert len(data["rows"]) == 48
    busy = [r for r in data["rows"] if r["offered"]]
    # every support call of answered/ and abandoned/ joined 10:19–10:23 local (02:19–02:23 UTC)
    assert [(r["period_start"], r["offered"]) for r in busy] == [("2026-11-23T10:00:00+08:00", 13)]
    row = busy[0]
    # 13 calls in 30 min with AHT 36 s: 0.26 Erlangs; one agent answers 80 % within 20 s, ⌈1 / 0.7⌉ = 2
    assert row["aht_s"] == 36.0 and row["required_agents"] == 1 and row["required_with_shrinkage"] == 2
    # no login recorded: the agents offered calls then (Alice, Bob, Carol, Dave in support; Erin in sales)
    assert row["staffed_agents"] == 5.0


@pytest.mark.usefixtures("records")
def test_abandon_curve(login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    rows = client.get(
        "/api/reports/abandon-curve", params={"from": DAY, "to": DAY, "queue": "support"}
    ).json()["rows"]
    assert [r["wait_s"] for r in rows] == [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, "inf"]
    by_bound = {r["wait_s"]: r for r in rows}
    # abandons waited 4, 6, 7, 12, 25 s; answered 2, 2, 2, 2, 3, 4 (≤ 5), 20, 71: 13 callers
    assert [by_bound[b]["abandoned"] for b in (5, 10, 15, 30)] == [1, 2, 1, 1]
    assert (by_bound[5]["answered"], by_bound[20]["answered"], by_bound[90]["answered"]) == (6, 1, 1)
    assert [by_bound[b]["cumulative_abandon_pct"] for b in (5, 10, 15, 20, 30, "inf")] == [
        7.7,
        23.1,
        30.8,
        30.8,
        38.5,
        38.5,
    ]
