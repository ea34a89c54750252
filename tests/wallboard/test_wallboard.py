"""GET /api/acd/wallboard: today's figures from queue legs of the center's day, the live picture from the
ACD's live state (or none without a PBX link), per-agent rows scoped by role, alerts, time-zone edges."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from acd.events import AgentLoggedIn, AgentPaused, CallAnswered, CallOutcome, CallQueued
from acd.records.models import PbxCall, QueueLeg
from acd.records.queue_log import QueueConfig
from acd.state import LiveState
from acd.wallboard import MIN_CALLS_FOR_SL_ALERT
from core.audit.models import AuditEntry
from core.people.models import Team
from core.security.roles import Role
from core.service_levels import ServiceLevelConfig
from tests.conftest import LoginAs, MakeUser
from tests.wallboard.helpers import add_leg

# 09:00 in Shanghai on 24 Nov: the center's day began at 16:00 UTC on the 23rd.
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
DAY_START = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("acd.wallboard_views.utcnow", lambda: NOW)
    return NOW


class FakeAcd:
    """What the wallboard reads of ``app.state.acd``: the live state and the queues' configuration."""

    def __init__(self, queues: dict[str, QueueConfig] | None = None) -> None:
        self.state = LiveState(clock=lambda: NOW)
        self.queues = queues or {}

    def apply(self, *events: object) -> None:
        for ev in events:
            self.state.apply(ev)


def _queue(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(q for q in body["queues"] if q["name"] == name)


def _board(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get("/api/acd/wallboard", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _day_of_calls(db: Session) -> None:
    t = DAY_START + timedelta(hours=8)  # 08:00 local
    add_leg(db, joined_at=t, wait_s=5, talk_s=100)  # within 20 s
    add_leg(db, joined_at=t, wait_s=20, talk_s=200)  # exactly at the threshold: within
    add_leg(db, joined_at=t, wait_s=21, talk_s=None)  # late; talk unknown
    add_leg(db, joined_at=t, answered=False, wait_s=4)  # short abandon (≤ 5 s)
    add_leg(db, joined_at=t, answered=False, wait_s=8)  # abandoned, not short
    add_leg(db, joined_at=t, answered=False, wait_s=45)  # abandoned
    add_leg(db, joined_at=t, answered=False, wait_s=300, outcome=CallOutcome.TIMED_OUT)  # offered only
    add_leg(db, joined_at=t, answered=False, wait_s=None, outcome=CallOutcome.REFUSED_AT_JOIN)  # not offered
    in_progress = add_leg(db, joined_at=t, answered=False, wait_s=None)
    in_progress.outcome = None  # still waiting: counted once it ends (the reports' rule)
    db.commit()


def test_figures_of_the_day_follow_the_reports_definitions(db: Session, login_as: LoginAs) -> None:
    _day_of_calls(db)
    body = _board(login_as(Role.SUPERVISOR))
    q = _queue(body, "support")
    assert body["day"] == "2026-11-24"
    # offered: 3 answered + 3 abandoned + 1 timed out = 7 (refusal and the caller still waiting left out)
    assert (q["offered"], q["answered"], q["abandoned"], q["short_abandoned"]) == (7, 3, 3, 1)
    assert q["answered_within_threshold"] == 2
    # default variant answered_abandoned, short abandons excluded:
    #   2 within / (3 answered + 3 abandoned − 1 short) = 2 / 5 = 40.0 %
    assert (q["sl_variant"], q["exclude_short"], q["short_abandon_s"]) == ("answered_abandoned", True, 5)
    assert q["service_level_pct"] == 40.0
    assert q["threshold_s"] == 20 and q["target_pct"] == 80
    assert q["avg_wait_s"] == pytest.approx((5 + 20 + 21) / 3, abs=0.05)
    assert q["avg_talk_s"] == 150.0
    assert (q["waiting"], q["longest_wait_s"]) == (0, 0.0)  # no PBX link: live parts are zero
    assert set(q["agents_by_state"]) >= {"available", "on_call", "paused"}
    assert not any(q["agents_by_state"].values())
    assert q["intervals"][16]["short_abandoned"] == 1  # 08:00 local, the 17th half hour


def test_a_call_being_talked_counts_as_answered_at_once(db: Session, login_as: LoginAs) -> None:
    t = DAY_START + timedelta(hours=9)
    add_leg(db, joined_at=t, wait_s=5, talk_s=60)
    talking = add_leg(db, joined_at=t, wait_s=30, talk_s=None)  # answered late, still talking
    talking.outcome = None
    db.commit()
    q = _queue(_board(login_as(Role.SUPERVISOR)), "support")
    # both answered (the board does not wait for the hang-up); 1 within 20 s / (2 answered + 0) = 50 %
    assert (q["offered"], q["answered"], q["answered_within_threshold"]) == (2, 2, 1)
    assert q["service_level_pct"] == 50.0


@pytest.mark.parametrize(
    ("variants", "exclude_short", "expected"),
    [
        ({"support": "answered"}, True, 66.7),  # 2 within / 3 answered
        ({"support": "offered"}, True, 33.3),  # 2 / (7 offered − 1 short) = 2 / 6
        ({"support": "offered"}, False, 28.6),  # 2 / 7 offered
        ({}, False, 33.3),  # answered_abandoned, short kept: 2 / (3 + 3) = 2 / 6
        ({"support": "bogus"}, True, 40.0),  # an unknown variant falls back to the default (2 / 5)
    ],
)
def test_each_queue_uses_its_variant(
    app: FastAPI,
    db: Session,
    login_as: LoginAs,
    variants: dict[str, str],
    exclude_short: bool,
    expected: float,
) -> None:
    app.state.settings.service_level_variants = variants
    app.state.settings.exclude_short_abandons = exclude_short
    _day_of_calls(db)
    q = _queue(_board(login_as(Role.SUPERVISOR)), "support")
    assert q["service_level_pct"] == expected
    assert q["sl_variant"] == (
        variants.get("support", "answered_abandoned").replace("bogus", "answered_abandoned")
    )
    assert q["exclude_short"] is exclude_short


def test_short_abandon_threshold_follows_the_settings(app: FastAPI, db: Session, login_as: LoginAs) -> None:
    app.state.settings.short_abandon_seconds = 10
    _day_of_calls(db)
    q = _queue(_board(login_as(Role.SUPERVISOR)), "support")
    # the abandons after 4 s and 8 s are short now: 2 / (3 + 3 − 2) = 2 / 4 = 50.0 %
    assert (q["short_abandoned"], q["service_level_pct"]) == (2, 50.0)
    app.state.settings.short_abandon_seconds = 0  # no abandon is short: 2 / 6
    q = _queue(_board(login_as(Role.SUPERVISOR)), "support")
    assert (q["short_abandoned"], q["service_level_pct"]) == (0, 33.3)


def test_no_calls_means_no_service_level_and_no_queues(login_as: LoginAs) -> None:
    body = _board(login_as(Role.SUPERVISOR))
    assert body["queues"] == [] and body["agents"] == [] and body["alerts"] == []
    assert body["generated_at"].endswith("+08:00")


def test_center_day_is_not_the_utc_day(db: Session, login_as: LoginAs) -> None:
    add_leg(db, queue="q", joined_at=DAY_START - timedelta(minutes=1))  # 23:59 local on the 23rd
    add_leg(db, queue="q", joined_at=DAY_START + timedelta(seconds=30), wait_s=3)  # 00:00:30 local, UTC 23rd
    add_leg(db, queue="q", joined_at=DAY_START + timedelta(hours=24), wait_s=3)  # 00:00 local on the 25th
    body = _board(login_as(Role.SUPERVISOR), interval_minutes=60)
    q = _queue(body, "q")
    assert q["offered"] == 1 and q["answered"] == 1
    first = q["intervals"][0]
    assert first["start"] == "2026-11-24T00:00:00+08:00"
    assert (first["offered"], first["answered"], first["service_level_pct"]) == (1, 1, 100.0)
    # 00:00 … 09:00 local: ten hourly intervals so far, the empty ones included.
    assert len(q["intervals"]) == 10
    assert [i["offered"] for i in q["intervals"][1:]] == [0] * 9
    assert q["intervals"][-1]["service_level_pct"] is None


def test_intervals_add_up_to_the_day(db: Session, login_as: LoginAs) -> None:
    for minutes, wait in [(5, 3), (29, 50), (31, 3), (95, 3), (100, 30)]:
        add_leg(db, joined_at=DAY_START + timedelta(minutes=minutes), wait_s=wait)
    q = _queue(_board(login_as(Role.SUPERVISOR)), "support")  # 30-minute intervals by default
    assert len(q["intervals"]) == 19  # 00:00 … 09:00
    assert [i["offered"] for i in q["intervals"][:4]] == [2, 1, 0, 2]
    assert [i["service_level_pct"] for i in q["intervals"][:4]] == [50.0, 100.0, None, 50.0]
    assert sum(i["offered"] for i in q["intervals"]) == q["offered"] == 5
    assert q["intervals"][1]["start"] == "2026-11-24T00:30:00+08:00"


@pytest.mark.parametrize("value", [0, 4, 241, "x"])
def test_interval_must_be_sensible(login_as: LoginAs, value: int | str) -> None:
    client = login_as(Role.SUPERVISOR)
    response = client.get("/api/acd/wallboard", params={"interval_minutes": value})
    assert response.status_code == 422
    field = response.json()["fields"][0]
    assert field["field"] == "interval_minutes"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in field["message"])
    english = client.get("/api/acd/wallboard", params={"interval_minutes": value, "lang": "en"}).json()
    assert english["fields"][0]["message"].isascii()


def test_per_queue_threshold_and_target(app: FastAPI, db: Session, login_as: LoginAs, tmp_path: Path) -> None:
    # The reports' resolution: the settings' per-queue threshold, else queues.conf's servicelevel, else the
    # default; the live link's own queue settings do not change the figures (they would differ from the
    # reports'), its queues are listed though.
    conf = tmp_path / "queues.conf"
    conf.write_text("[vip]\nservicelevel=10\n[billing]\nservicelevel=30\n", encoding="utf-8")
    app.state.settings.queues_conf = conf
    app.state.settings.service_level_thresholds = {"billing": 5}
    app.state.settings.service_level_targets = {"vip": 90}
    app.state.acd = FakeAcd({"vip": QueueConfig("vip", service_level_s=60), "idle": QueueConfig("idle")})
    t = DAY_START + timedelta(hours=1)
    add_leg(db, queue="vip", joined_at=t, wait_s=9)
    add_leg(db, queue="vip", joined_at=t, wait_s=15)  # within 20 s, not within vip's 10 s
    add_leg(db, queue="support", joined_at=t, wait_s=15)
    add_leg(db, queue="billing", joined_at=t, wait_s=6)  # within 30 s, not within the settings' 5 s
    body = _board(login_as(Role.SUPERVISOR))
    vip, support, billing = _queue(body, "vip"), _queue(body, "support"), _queue(body, "billing")
    assert (vip["threshold_s"], vip["target_pct"], vip["service_level_pct"]) == (10, 90, 50.0)  # 1 / 2
    assert (support["threshold_s"], support["target_pct"], support["service_level_pct"]) == (20, 80, 100.0)
    assert (billing["threshold_s"], billing["service_level_pct"]) == (5, 0.0)  # 0 / 1
    assert _queue(body, "idle")["service_level_pct"] is None


def test_service_level_alert_waits_for_enough_calls(db: Session, login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    t = DAY_START + timedelta(hours=2)
    for _ in range(MIN_CALLS_FOR_SL_ALERT - 1):
        add_leg(db, joined_at=t, wait_s=60)  # every one late: 0 %
    for _ in range(3):
        add_leg(db, joined_at=t, answered=False, wait_s=2)  # short abandons: not in the denominator
    add_leg(db, joined_at=t, answered=False, wait_s=200, outcome=CallOutcome.TIMED_OUT)  # nor a timeout
    # 0 within / (9 answered + 3 abandoned − 3 short) = 0 / 9: nine calls counted, one short of an alert
    assert _queue(_board(client), "support")["service_level_pct"] == 0.0
    assert _board(client)["alerts"] == []
    add_leg(db, joined_at=t, wait_s=60)
    assert _board(client)["alerts"] == [
        {"kind": "service_level", "queue": "support", "value": 0.0, "threshold": 80.0}
    ]
    for _ in range(40):
        add_leg(db, joined_at=t, wait_s=2)  # 40 / (50 + 3 − 3) = 80 %, the target: no alert
    body = _board(client)
    assert _queue(body, "support")["service_level_pct"] == 80.0 and body["alerts"] == []


def test_live_queue_waiting_longest_wait_and_alert(app: FastAPI, login_as: LoginAs) -> None:
    acd = FakeAcd({"support": QueueConfig("support")})
    acd.apply(
        CallQueued(NOW - timedelta(seconds=75), "L1", "L1", "support", "13800138001", None, 1, 1),
        CallQueued(NOW - timedelta(seconds=10), "L2", "L2", "support", "13800138002", None, 2, 2),
    )
    app.state.acd = acd
    body = _board(login_as(Role.SUPERVISOR))
    q = _queue(body, "support")
    assert q["waiting"] == 2 and q["longest_wait_s"] == 75.0
    assert q["offered"] == 0  # the records are the day's figures; nothing is written yet
    assert body["alerts"] == [{"kind": "long_wait", "queue": "support", "value": 75.0, "threshold": 60.0}]
    assert body["wait_alert_seconds"] == 60  # the screen alerts on its own between two refreshes


@pytest.fixture
def two_teams(app: FastAPI, db: Session, make_user: MakeUser) -> dict[str, Any]:
    """Two teams with an agent each, both logged in to the live state; agent 1 is on a call."""
    red, blue = Team(name="红队"), Team(name="蓝队")
    db.add_all([red, blue])
    db.commit()
    a1 = make_user(Role.AGENT, full_name="王芳", team_id=red.id, pbx_interface="PJSIP/1001")
    a2 = make_user(Role.AGENT, full_name="李娜", team_id=blue.id, pbx_interface="PJSIP/1002")
    acd = FakeAcd()
    t0 = NOW - timedelta(minutes=10)
    acd.apply(
        AgentLoggedIn(t0, "support", "王芳", "PJSIP/1001", None, 0, False, True),
        AgentLoggedIn(t0, "support", "李娜", "PJSIP/1002", None, 0, False, True),
        AgentPaused(t0 + timedelta(minutes=1), "support", "李娜", "PJSIP/1002", "就餐"),
        CallQueued(NOW - timedelta(seconds=40), "C1", "C1", "support", "13900139001", None, 1, 1),
        CallAnswered(NOW - timedelta(seconds=30), "C1", "C1", "support", "王芳", "PJSIP/1001", "a1", 10, 4),
    )
    app.state.acd = acd
    add_leg(db, joined_at=DAY_START + timedelta(hours=1), interface="PJSIP/1001", agent="王芳")
    add_leg(db, joined_at=DAY_START + timedelta(hours=2), interface="PJSIP/1001", agent="王芳")
    add_leg(db, joined_at=DAY_START + timedelta(hours=2), interface="PJSIP/1002", agent="李娜")
    return {"red": red, "blue": blue, "a1": a1, "a2": a2}


def test_supervisor_sees_every_agent(two_teams: dict[str, Any], login_as: LoginAs) -> None:
    body = _board(login_as(Role.SUPERVISOR))
    rows = {a["name"]: a for a in body["agents"]}
    assert set(rows) == {"王芳", "李娜"}
    wang, li = rows["王芳"], rows["李娜"]
    assert wang["user_id"] == two_teams["a1"].id and wang["team_id"] == two_teams["red"].id
    assert wang["state"] == "on_call" and wang["calls_today"] == 2 and wang["queues"] == ["support"]
    assert wang["current_caller"] == "13900139001"  # supervisors see numbers, unmasked
    assert wang["since"] == pytest.approx((NOW - timedelta(seconds=30)).timestamp())
    assert (li["state"], li["reason"], li["calls_today"], li["current_caller"]) == ("paused", "就餐", 1, None)
    q = _queue(body, "support")
    assert q["agents_by_state"]["on_call"] == 1 and q["agents_by_state"]["paused"] == 1


def test_team_lead_sees_own_team_only(two_teams: dict[str, Any], login_as: LoginAs) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=two_teams["blue"].id)
    body = _board(lead)
    assert [a["name"] for a in body["agents"]] == ["李娜"]
    assert [q["name"] for q in body["queues"]] == ["support"]  # queues are everyone's
    assert _queue(body, "support")["offered"] == 3
    lonely = login_as(Role.TEAM_LEAD)  # a lead without a team sees no agent
    assert _board(lonely)["agents"] == []


def test_agents_with_calls_today_but_not_live_are_listed_logged_out(
    db: Session, make_user: MakeUser, login_as: LoginAs
) -> None:
    user = make_user(Role.AGENT, full_name="赵敏", pbx_interface="PJSIP/1003")
    add_leg(db, joined_at=DAY_START + timedelta(hours=3), interface="PJSIP/1003")
    add_leg(db, joined_at=DAY_START - timedelta(hours=3), interface="PJSIP/1003")  # yesterday
    body = _board(login_as(Role.SUPERVISOR))
    assert body["agents"] == [
        {
            "user_id": user.id,
            "name": "赵敏",
            "agent_number": user.agent_number,
            "team_id": None,
            "interface": "PJSIP/1003",
            "state": "logged_out",
            "since": None,
            "reason": None,
            "calls_today": 1,
            "offers": 1,  # today's answer rang 4 s: within three 5-second rings
            "met_3_rings": 1,
            "missed_3_rings": 0,
            "three_ring_compliance_pct": 100.0,
            "current_caller": None,
            "queues": [],
        }
    ]


def test_an_agent_may_not_see_the_wallboard_and_the_refusal_is_audited(
    db: Session, login_as: LoginAs
) -> None:
    client = login_as(Role.AGENT)
    response = client.get("/api/acd/wallboard")
    assert response.status_code == 403
    assert response.json()["error"] == "error.permission_denied"
    refusal = db.scalars(
        select(AuditEntry).where(AuditEntry.user_id == client.user.id, AuditEntry.allowed.is_(False))  # type: ignore[attr-defined]
    ).one()
    assert refusal.detail is not None and refusal.detail["permission"] == "acd.monitor"


def test_anonymous_gets_401(app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as anonymous:
        assert anonymous.get("/api/acd/wallboard").status_code == 401


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", count)
    yield seen
    event.remove(app.state.engine, "before_cursor_execute", count)


def test_a_busy_day_is_aggregated_in_sql(db: Session, login_as: LoginAs, statements: list[str]) -> None:
    n = 20_000
    db.execute(insert(PbxCall), [{"linkedid": f"busy.{i}"} for i in range(n)])
    ids = {linkedid: id_ for linkedid, id_ in db.execute(select(PbxCall.linkedid, PbxCall.id))}
    legs = []
    for i in range(n):
        joined = DAY_START + timedelta(seconds=i)  # 00:00 … 05:33 local
        answered = i % 10 != 0
        wait = 5_000 if i % 2 else 30_000
        legs.append(
            {
                "call_id": ids[f"busy.{i}"],
                "linkedid": f"busy.{i}",
                "queue": f"q{i % 4}",
                "joined_at": joined,
                "answered_at": joined + timedelta(milliseconds=wait) if answered else None,
                "interface": f"PJSIP/{1000 + i % 50}" if answered else None,
                "agent": f"agent{i % 50}" if answered else None,
                "wait_ms": wait,
                "talk_ms": 60_000 if answered else None,
                "outcome": CallOutcome.ANSWERED if answered else CallOutcome.ABANDONED,
            }
        )
    db.execute(insert(QueueLeg), legs)
    db.commit()
    client = login_as(Role.SUPERVISOR)
    statements.clear()
    started = time.perf_counter()
    body = _board(client)
    elapsed = time.perf_counter() - started
    assert sum(q["offered"] for q in body["queues"]) == n
    assert sum(q["answered"] for q in body["queues"]) == n - n // 10
    assert len(statements) <= 12, statements  # a handful of grouped queries, not one per leg or agent
    print(f"wallboard over {n} legs: {elapsed * 1000:.0f} ms, {len(statements)} statements")
    assert elapsed < 5.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_session(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Session]:
    """A session on an empty model database of each supported kind (the bucket SQL differs)."""
    from callcenter.models import load_all_models
    from core.db import make_engine, make_session_factory

    url = (
        f"sqlite:///{tmp_path / 'buckets.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = make_engine(url)
    load_all_models().metadata.create_all(engine)
    session = make_session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


def test_interval_buckets_on_every_database(any_session: Session) -> None:
    db = any_session
    for seconds, wait in [(0, 3), (1799, 30), (1800, 3), (1800 * 3 + 1, 3), (-1, 3), (86400, 3)]:
        add_leg(db, joined_at=DAY_START + timedelta(seconds=seconds), wait_s=wait)
    from acd.wallboard import leg_counts
    from core.clock import day_bounds_utc

    start, end = day_bounds_utc(datetime(2026, 11, 24).date(), ZoneInfo("Asia/Shanghai"))
    counts = leg_counts(
        db, start=start, end=end, step_s=1800, config=ServiceLevelConfig(thresholds_s={"other": 5})
    )
    buckets = counts["support"]
    assert sorted(buckets) == [0, 1, 3]
    assert (buckets[0].offered, buckets[0].within, buckets[0].wait_ms) == (2, 1, 33_000)
    assert (buckets[1].offered, buckets[3].offered) == (1, 1)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_service_level_hover_text_is_translated_for_every_variant(language: str) -> None:
    # wallboard.js builds the SL figure's title from these when the viewer may not read the reports
    from core import i18n
    from core.metrics import SL_VARIANTS

    for variant in SL_VARIANTS:
        for key in (f"ui.wallboard.sl_formula.{variant}", f"enum.ServiceLevelVariant.{variant}"):
            text = i18n.translate(key, language)
            assert text != key, key
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text) is (language == "zh-CN"), text
    formula = i18n.translate("ui.wallboard.sl_formula.answered_abandoned", language)
    assert "{threshold}" in formula and "{short}" in formula
    assert "{seconds}" in i18n.translate("ui.wallboard.sl_short_excluded", language)
