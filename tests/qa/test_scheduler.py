"""Sampling on a schedule: the period (this week in the center's zone, the week before too on a Monday),
the settings, and the running component — calls stored while it runs get assigned at the next pass, a pass
that finds nothing new leaves no run row, a database error is logged and the loop goes on, stop() is clean
and prompt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.clock import utcnow
from core.config import Settings
from core.people.models import User
from core.security.roles import Role
from qa.config import QaSettings
from qa.models import Assignment, Scorecard, ScorecardVersion
from qa.sampling_models import SamplingRule, SamplingRuleKind, SamplingRun
from qa.scheduler import SamplingScheduler, sampling_period, start_sampling_scheduler
from recording.models import Recording, RecordingStatus
from tests.qa.conftest import card_definition

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A wall time in Shanghai as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        # a Wednesday: Monday 00:00 to Thursday 00:00 (today included)
        ("2026-11-25 15:00", "2026-11-23 00:00", "2026-11-26 00:00"),
        # a Sunday evening: the whole week
        ("2026-11-29 23:59", "2026-11-23 00:00", "2026-11-30 00:00"),
        # a Monday just after midnight: last week too (late Sunday calls are stored after midnight)
        ("2026-11-30 00:05", "2026-11-23 00:00", "2026-12-01 00:00"),
        # a Tuesday: this week only
        ("2026-12-01 00:00", "2026-11-30 00:00", "2026-12-02 00:00"),
    ],
)
def test_the_period_is_this_week_in_the_centers_zone(now: str, start: str, end: str) -> None:
    assert sampling_period(at(now), SHANGHAI) == (at(start), at(end))


def test_the_week_follows_the_zone_not_utc() -> None:
    # Sunday 17:00 UTC is Monday 01:00 in Shanghai: Shanghai's Monday rules
    now = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    assert sampling_period(now, SHANGHAI) == (at("2026-11-23 00:00"), at("2026-12-01 00:00"))
    assert sampling_period(now, ZoneInfo("UTC"))[0] == datetime(2026, 11, 23, tzinfo=UTC)


def test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLCENTER_QA_SAMPLING_INTERVAL_S", raising=False)
    assert QaSettings().sampling_interval_s == 0 and not QaSettings().sampling_enabled
    monkeypatch.setenv("CALLCENTER_QA_SAMPLING_INTERVAL_S", "300")
    assert QaSettings().sampling_interval_s == 300 and QaSettings().sampling_enabled
    monkeypatch.setenv("CALLCENTER_QA_SAMPLING_INTERVAL_S", "-1")
    with pytest.raises(ValueError, match="greater than or equal"):
        QaSettings()
    with pytest.raises(ValueError, match="interval_s"):
        SamplingScheduler(lambda: None, interval_s=0, zone=SHANGHAI)  # type: ignore[arg-type]


async def test_off_by_default(settings: Settings, app: FastAPI) -> None:
    assert (
        await start_sampling_scheduler(settings, app.state.session_factory, qa_settings=QaSettings()) is None
    )


# --- the running component ----------------------------------------------------------------------------


def setup_rule(db: Session) -> tuple[User, User]:
    """A random rule (5 calls per agent and week) for one inspector on a scorecard; an agent."""
    inspector = User(username="sched-qa", full_name="质检员陈静", role=Role.QA_INSPECTOR, password_hash="-")
    agent = User(
        username="sched-agent", full_name="王芳", role=Role.AGENT, agent_number="1005", password_hash="-"
    )
    card = Scorecard(name="通话质检", current_version=1)
    db.add_all([inspector, agent, card])
    db.flush()
    db.add(
        ScorecardVersion(scorecard_id=card.id, version=1, definition=card_definition(), standard_score=100)
    )
    db.add(
        SamplingRule(
            code="random_weekly",
            kind=SamplingRuleKind.RANDOM_PER_AGENT,
            params={"per_week": 5},
            active=True,
            inspector_ids=[inspector.id],
            scorecard_id=card.id,
        )
    )
    db.commit()
    return inspector, agent


def store_call(db: Session, agent: User, n: int, *, minutes_ago: int = 1) -> Recording:
    row = Recording(
        uniqueid=f"1790000000.{n}",
        linkedid=f"1790000000.{n}",
        queue="support",
        agent=agent.full_name,
        agent_user_id=agent.id,
        started_at=utcnow() - timedelta(minutes=minutes_ago),
        duration_ms=60_000,
        status=RecordingStatus.STORED,
        format="mp3",
        channels=2,
    )
    db.add(row)
    db.commit()
    return row


def count(db: Session, entity: Any) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(entity)) or 0)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_calls_stored_while_it_runs_get_assigned(app: FastAPI, db: Session) -> None:
    inspector, agent = setup_rule(db)
    first = [store_call(db, agent, n) for n in (1, 2)]
    store_call(db, agent, 3, minutes_ago=60 * 24 * 15)  # two weeks ago: not this week's
    store_call(db, agent, 4).status = RecordingStatus.CORRUPT  # not stored: never sampled
    db.commit()
    scheduler = SamplingScheduler(app.state.session_factory, interval_s=0.2, zone=SHANGHAI)
    await scheduler.start()
    try:
        assert scheduler.running
        await until(lambda: count(db, Assignment) == 2)
        assigned = db.scalars(select(Assignment)).all()
        assert sorted(a.recording_id for a in assigned) == sorted(r.id for r in first)
        assert {(a.inspector_id, a.reason) for a in assigned} == {(inspector.id, "random_weekly")}
        # a call stored later is picked at the next pass
        late = store_call(db, agent, 5)
        await until(lambda: count(db, Assignment) == 3)
        assert late.id in set(db.scalars(select(Assignment.recording_id)))
        passes = scheduler.passes
        await until(lambda: scheduler.passes >= passes + 3)  # idle passes: nothing new to assign
    finally:
        await scheduler.stop()
    assert not scheduler.running and scheduler.errors == 0
    assert count(db, Assignment) == 3 and scheduler.created == 3
    # only the passes that assigned something are recorded (a run row and an audit row each)
    runs = db.scalars(select(SamplingRun).order_by(SamplingRun.id)).all()
    assert [run.created for run in runs] == [2, 1]
    assert all(run.triggered_by is None for run in runs)  # the system, not a person
    audited = db.scalars(select(AuditEntry).where(AuditEntry.action == "qa.sampling.run")).all()
    assert len(audited) == 2
    assert scheduler.last_pass is not None and scheduler.last_pass.created == 0
    assert scheduler.last_pass.period_start <= utcnow() < scheduler.last_pass.period_end


async def test_a_database_error_is_logged_and_the_loop_goes_on(
    app: FastAPI, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    _inspector, agent = setup_rule(db)
    store_call(db, agent, 1)
    real = app.state.session_factory
    calls = {"n": 0}

    def flaky() -> Session:
        calls["n"] += 1
        if calls["n"] <= 2:  # the database is away for two passes
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        session: Session = real()
        return session

    scheduler = SamplingScheduler(flaky, interval_s=0.1, zone=SHANGHAI)  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="qa.scheduler"):
        await scheduler.start()
        try:
            await until(lambda: count(db, Assignment) == 1)
        finally:
            await scheduler.stop()
    assert scheduler.errors == 2 and scheduler.last_error is None
    messages = [r.getMessage() for r in caplog.records]
    assert sum("failed" in m for m in messages) == 2
    assert [r.exc_info is not None for r in caplog.records if "failed" in r.getMessage()] == [True, False]
    assert any("work again" in m for m in messages)


async def test_stop_is_prompt_and_idempotent(app: FastAPI, db: Session) -> None:
    setup_rule(db)
    scheduler = SamplingScheduler(app.state.session_factory, interval_s=3600, zone=SHANGHAI)
    await scheduler.start()
    await scheduler.start()  # already running: no second loop
    await until(lambda: scheduler.passes == 1)
    started = time.monotonic()
    await scheduler.stop()
    assert time.monotonic() - started < 1.0  # no waiting out the hour
    assert not scheduler.running
    await scheduler.stop()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "qa-sampling-scheduler"]
    assert count(db, SamplingRun) == 0  # nothing to assign: nothing recorded


async def test_started_from_the_settings(settings: Settings, app: FastAPI, db: Session) -> None:
    _inspector, agent = setup_rule(db)
    store_call(db, agent, 1)
    scheduler = await start_sampling_scheduler(
        settings, app.state.session_factory, qa_settings=QaSettings(sampling_interval_s=300)
    )
    assert scheduler is not None
    try:
        assert (scheduler.interval_s, scheduler.zone) == (300, settings.zone)
        await until(lambda: count(db, Assignment) == 1)  # the first pass runs at start
    finally:
        await scheduler.stop()
