"""The wallboard's "today" and an agent's "my day" equal the reports' day rows for the same data: service
level per queue (each queue's variant, threshold and short-abandon rule) and three-ring compliance per offer
per agent (issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from acd.events import CallOutcome
from acd.records.models import QueueLeg, RingAttempt, RingOutcome
from core.security.roles import Role
from reports.aggregates import ReportConfig, rebuild
from tests.conftest import LoginAs
from tests.wallboard.helpers import add_leg

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai: the day's calls have ended
DAY_START = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 00:00 on the 24th in Shanghai
DAY = "2026-11-24"
ME, OTHER = "PJSIP/1001", "PJSIP/1002"

FIGURES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_threshold",
    "threshold_s",
    "target_pct",
    "sl_variant",
    "service_level_pct",
)
THREE_RINGS = ("met_3_rings", "missed_3_rings", "three_ring_compliance_pct")


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("acd.wallboard_views.utcnow", lambda: NOW)
    monkeypatch.setattr("agent_desktop.my_day.utcnow", lambda: NOW)


def _attempt(
    db: Session, leg: QueueLeg, interface: str, outcome: RingOutcome, ring_s: float, *, after_s: float
) -> None:
    started = leg.joined_at + timedelta(seconds=after_s)
    db.add(
        RingAttempt(
            leg_id=leg.id,
            agent=interface.split("/")[-1],
            interface=interface,
            started_at=started,
            ended_at=started + timedelta(seconds=ring_s),
            outcome=outcome,
            ring_ms=int(ring_s * 1000),
        )
    )
    db.commit()


def _a_day(db: Session) -> None:
    """Three queues, each a different variant, with late answers, short and long abandons, timeouts, an
    unknown wait, and offers of every kind (met, answered late, rang out, cancelled within / after three
    rings); plus yesterday's calls that must not count."""
    for hour, queue in ((1, "support"), (3, "vip"), (5, "billing")):
        t = DAY_START + timedelta(hours=hour)
        for n, wait in enumerate((3, 9, 12, 18, 25, 40)):
            interface = ME if n % 2 else OTHER
            add_leg(db, queue=queue, joined_at=t + timedelta(minutes=n), wait_s=wait, interface=interface)
        add_leg(db, queue=queue, joined_at=t, wait_s=None, interface=ME)  # answered, wait unknown
        add_leg(db, queue=queue, joined_at=t, answered=False, wait_s=2)  # short abandon
        add_leg(db, queue=queue, joined_at=t, answered=False, wait_s=6)
        add_leg(db, queue=queue, joined_at=t, answered=False, wait_s=70)
        add_leg(db, queue=queue, joined_at=t, answered=False, wait_s=90, outcome=CallOutcome.TIMED_OUT)
        add_leg(db, queue=queue, joined_at=t, answered=False, outcome=CallOutcome.LEFT_EMPTY_QUEUE)
        add_leg(
            db, queue=queue, joined_at=t, answered=False, wait_s=None, outcome=CallOutcome.REFUSED_AT_JOIN
        )
        add_leg(db, queue=queue, joined_at=t, wait_s=8, interface=OTHER, ring_s=17, missed_by=ME)
        leg = add_leg(db, queue=queue, joined_at=t + timedelta(minutes=9), wait_s=30, interface=OTHER)
        _attempt(db, leg, ME, RingOutcome.CANCELED, 4, after_s=1)  # cancelled within three rings: left out
        _attempt(db, leg, ME, RingOutcome.CANCELED, 20, after_s=6)  # cancelled after three rings: missed
    add_leg(db, joined_at=DAY_START - timedelta(minutes=30), wait_s=60, interface=ME, missed_by=OTHER)


def _configure(app: FastAPI) -> None:
    settings = app.state.settings
    settings.service_level_variants = {"vip": "offered", "billing": "answered"}
    settings.service_level_thresholds = {"vip": 10}
    settings.service_level_targets = {"vip": 90}
    settings.short_abandon_seconds = 5
    settings.exclude_short_abandons = True


def _reports(client: Any, by: str) -> dict[str, dict[str, Any]]:
    response = client.get("/api/reports/calls", params={"from": DAY, "to": DAY, "grain": "day", "by": by})
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()["rows"]}


def _aggregate(app: FastAPI, db: Session) -> None:
    rebuild(
        db, DAY_START - timedelta(days=1), DAY_START + timedelta(days=1), ReportConfig.of(app.state.settings)
    )
    db.commit()


def test_today_service_level_per_queue_equals_the_reports(
    app: FastAPI, db: Session, login_as: LoginAs
) -> None:
    _configure(app)
    _a_day(db)
    _aggregate(app, db)
    client = login_as(Role.SUPERVISOR)
    board = client.get("/api/acd/wallboard")
    assert board.status_code == 200, board.text
    queues = {q["name"]: q for q in board.json()["queues"]}
    reports = _reports(client, "queue")
    assert set(queues) == set(reports) == {"support", "vip", "billing"}
    for name, q in queues.items():
        assert {k: q[k] for k in FIGURES} == {k: reports[name][k] for k in FIGURES}, name
    # Worked by hand, support (answered_abandoned, T 20 s, short ≤ 5 s excluded):
    #   answered: 6 + 1 (wait unknown) + 1 (after 8 s) + 1 (after 30 s) = 9; within 20 s: 3, 9, 12, 18, 8 = 5
    #   abandoned: 2 s (short), 6 s, 70 s = 3; offered: 9 + 3 + timeout + left empty = 14
    #   SL = 5 / (9 + 3 − 1) = 45.5 %
    support = queues["support"]
    assert (support["offered"], support["answered"], support["abandoned"], support["short_abandoned"]) == (
        14,
        9,
        3,
        1,
    )
    assert support["service_level_pct"] == 45.5
    # vip (offered, T 10 s): within 10 s: 3, 9, 8 = 3; SL = 3 / (14 − 1) = 23.1 %
    assert (queues["vip"]["sl_variant"], queues["vip"]["service_level_pct"]) == ("offered", 23.1)
    # billing (answered): 5 / 9 = 55.6 %
    assert (queues["billing"]["sl_variant"], queues["billing"]["service_level_pct"]) == ("answered", 55.6)


def test_three_ring_figures_equal_the_reports_for_the_same_agent(
    app: FastAPI, db: Session, login_as: LoginAs, make_user: Any
) -> None:
    _configure(app)
    agent = login_as(Role.AGENT, pbx_interface=ME, full_name="王芳")
    make_user(Role.AGENT, pbx_interface=OTHER, full_name="李娜")
    _a_day(db)
    _aggregate(app, db)
    client = login_as(Role.SUPERVISOR)
    board = client.get("/api/acd/wallboard")
    assert board.status_code == 200, board.text
    rows = {a["interface"]: a for a in board.json()["agents"]}
    reports = _reports(client, "agent")  # an agent row's key is the member name (1001, 1002)
    for interface in (ME, OTHER):
        member = interface.split("/")[-1]
        assert {k: rows[interface][k] for k in THREE_RINGS} == {k: reports[member][k] for k in THREE_RINGS}
    # Worked by hand for 1001, per queue (× 3 queues): answered 3 (9, 18, 40 s waits) + 1 (wait unknown),
    # each ringing 4 s → 4 met; rang out once → missed; cancelled after 20 s → missed; cancelled after
    # 4 s → left out. met 12, missed 6: 12 / 18 = 66.7 %. Yesterday's answer is not today's.
    assert (rows[ME]["met_3_rings"], rows[ME]["missed_3_rings"], rows[ME]["offers"]) == (12, 6, 21)
    assert rows[ME]["three_ring_compliance_pct"] == 66.7
    # 1002: 3 + 1 (after 30 s) met, one answer after ringing 17 s missed, per queue: 12 / 15 = 80.0 %
    assert (rows[OTHER]["met_3_rings"], rows[OTHER]["missed_3_rings"]) == (12, 3)

    my_day = agent.get("/api/desktop/my-day")
    assert my_day.status_code == 200, my_day.text
    figures = my_day.json()["figures"]
    mine = reports["1001"]
    assert (
        figures["within_three_rings"],
        figures["missed_three_rings"],
        figures["within_three_rings_pct"],
    ) == (
        mine["met_3_rings"],
        mine["missed_3_rings"],
        mine["three_ring_compliance_pct"],
    )
