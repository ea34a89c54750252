"""For random call histories, the interval aggregates equal a recomputation from the raw records at every
grain (15/30/60 minutes, day, week, month; per queue and per agent), whether they were built by one rebuild
or step by step by the maintainer as calls ended."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from acd.events import CallOutcome
from acd.records.models import PbxCall, QueueLeg, RingAttempt, RingOutcome
from core import metrics
from core.db import Base, make_engine, make_session_factory
from reports.aggregates import ReportConfig, floor_bucket, rebuild, refresh
from reports.measures import derive_agent, derive_queue
from reports.models import (
    AgentDay,
    AgentInterval,
    AgentStateKind,
    AgentStateSpan,
    QueueDay,
    QueueInterval,
    ReportWatermark,
)
from reports.queries import GRAINS, INTERVAL_GRAINS, series

CONFIG = ReportConfig(thresholds_s={"vip": 10}, variants={"vip": "offered"}, short_abandon_s=5)
ORIGIN = datetime(2026, 1, 28, tzinfo=UTC)  # histories cross a week and a month boundary
SPAN_S = 8 * 24 * 3600
NOW = ORIGIN + timedelta(seconds=SPAN_S + 40_000)  # after every span a history can draw
FIRST, LAST = date(2026, 1, 27), date(2026, 2, 6)
QUEUES = ("support", "vip")
AGENTS = ("Ann", "Ben", "Cai")
OUTCOMES = (
    CallOutcome.ANSWERED,
    CallOutcome.TRANSFERRED,
    CallOutcome.ABANDONED,
    CallOutcome.TIMED_OUT,
    CallOutcome.LEFT_EMPTY_QUEUE,
    CallOutcome.REFUSED_AT_JOIN,
    None,  # still in progress: not counted yet
)

optional_ms = st.one_of(st.none(), st.integers(min_value=0, max_value=400_000))


@st.composite
def attempt(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "agent": draw(st.sampled_from(AGENTS)),
        "offset_s": draw(st.integers(min_value=0, max_value=600)),
        "outcome": draw(st.sampled_from([*RingOutcome, None])),
        "ring_ms": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=40_000))),
    }


@st.composite
def leg(draw: st.DrawFn) -> dict[str, Any]:
    outcome = draw(st.sampled_from(OUTCOMES))
    answered = outcome in (CallOutcome.ANSWERED, CallOutcome.TRANSFERRED) or (
        outcome is None and draw(st.booleans())
    )
    return {
        "queue": draw(st.sampled_from(QUEUES)),
        "joined_s": draw(st.integers(min_value=0, max_value=SPAN_S)),
        "outcome": outcome,
        "answered": answered,
        "agent": draw(st.sampled_from(AGENTS)) if answered else None,
        "wait_ms": draw(optional_ms),
        "talk_ms": draw(optional_ms) if answered else None,
        "wrapup_ms": draw(st.sampled_from([None, 5000, 10_000])) if answered else None,
        "attempts": draw(st.lists(attempt(), max_size=3, unique_by=lambda a: (a["agent"], a["offset_s"]))),
    }


@st.composite
def span(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.integers(min_value=0, max_value=SPAN_S))
    length = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=30_000)))
    return {
        "agent": draw(st.sampled_from(AGENTS)),
        "kind": draw(st.sampled_from(list(AgentStateKind))),
        "start_s": start,
        "length_s": length,
    }


history = st.tuples(
    st.lists(leg(), max_size=25),
    st.lists(span(), max_size=4, unique_by=lambda s: (s["agent"], s["kind"], s["start_s"])),
)


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as db:
        yield db
    engine.dispose()


def _clear(db: Session) -> None:
    db.rollback()
    for model in (
        RingAttempt,
        QueueLeg,
        PbxCall,
        AgentStateSpan,
        QueueInterval,
        AgentInterval,
        QueueDay,
        AgentDay,
    ):
        db.execute(delete(model))
    db.execute(delete(ReportWatermark))
    db.flush()


def _store(
    db: Session, legs: list[dict[str, Any]], spans: list[dict[str, Any]], first: int = 0
) -> list[QueueLeg]:
    stored = []
    for n, item in enumerate(legs, start=first):
        joined = ORIGIN + timedelta(seconds=item["joined_s"], microseconds=123_000)
        call = PbxCall(linkedid=f"L{n}", direction="inbound")
        db.add(call)
        db.flush()
        wait = item["wait_ms"]
        answered_at = joined + timedelta(milliseconds=wait or 0) if item["answered"] else None
        ended = None
        if item["outcome"] is not None:
            ended = (answered_at or joined) + timedelta(milliseconds=(item["talk_ms"] or 0) + (wait or 0) + 1)
        row = QueueLeg(
            call_id=call.id,
            linkedid=call.linkedid,
            queue=item["queue"],
            joined_at=joined,
            answered_at=answered_at,
            agent=item["agent"],
            interface=f"PJSIP/{item['agent']}" if item["agent"] else None,
            wait_ms=wait,
            talk_ms=item["talk_ms"],
            wrapup_ms=item["wrapup_ms"],
            outcome=item["outcome"],
            ended_at=ended,
        )
        for a in item["attempts"]:
            started = joined + timedelta(seconds=a["offset_s"])
            row.attempts.append(
                RingAttempt(
                    agent=a["agent"],
                    started_at=started,
                    ended_at=started + timedelta(milliseconds=a["ring_ms"] or 0) if a["outcome"] else None,
                    outcome=a["outcome"],
                    ring_ms=a["ring_ms"],
                )
            )
        db.add(row)
        stored.append(row)
    for s in spans:
        start = ORIGIN + timedelta(seconds=s["start_s"])
        db.add(
            AgentStateSpan(
                agent=s["agent"],
                kind=s["kind"],
                started_at=start,
                ended_at=None if s["length_s"] is None else start + timedelta(seconds=s["length_s"]),
            )
        )
    db.flush()
    return stored


# --------------------------------------------------------------------------- the recomputation (independent)


def _period(at: datetime, grain: str) -> str:
    local = at.astimezone(CONFIG.zone)
    if grain in INTERVAL_GRAINS:
        step = INTERVAL_GRAINS[grain]
        return local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0).isoformat()
    day = local.date()
    if grain == "week":
        day -= timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    return datetime.combine(day, time.min, tzinfo=CONFIG.zone).isoformat()


def _periods(lo: datetime, hi: datetime, grain: str) -> Iterator[tuple[str, int]]:
    """(period, milliseconds of [lo, hi) inside it)."""
    at = lo
    while at < hi:
        period = _period(at, grain)
        nxt = at
        while nxt < hi and _period(nxt, grain) == period:
            nxt = min(floor_bucket(nxt) + timedelta(minutes=15), hi)
        yield period, round((nxt - at).total_seconds() * 1000)
        at = nxt


def expected(db: Session, grain: str, by: str) -> dict[tuple[str, str], dict[str, Any]]:
    counters: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    three = CONFIG.three_rings_ms
    for row in db.query(QueueLeg).all():
        if row.outcome is None:
            continue
        offered = row.outcome != CallOutcome.REFUSED_AT_JOIN
        answered = offered and row.answered_at is not None
        if by == "queue":
            c = counters[(row.queue, _period(row.joined_at, grain))]
            c["refused"] += not offered
            if not offered:
                continue
            c["offered"] += 1
            c["answered"] += answered
            c["abandoned"] += row.outcome == CallOutcome.ABANDONED
            c["short_abandoned"] += (
                row.outcome == CallOutcome.ABANDONED and row.wait_ms is not None and row.wait_ms <= 5000
            )
            c["timed_out"] += row.outcome == CallOutcome.TIMED_OUT
            c["left_empty"] += row.outcome == CallOutcome.LEFT_EMPTY_QUEUE
            c["transferred"] += row.outcome == CallOutcome.TRANSFERRED
            if row.wait_ms is not None:
                c["wait_ms"] += row.wait_ms
                c["wait_n"] += 1
                c["max_wait_ms"] = max(c["max_wait_ms"], row.wait_ms)
                if answered:
                    c["wait_answered_ms"] += row.wait_ms
                    c["wait_answered_n"] += 1
                    c["answered_within"] += metrics.within_threshold(
                        row.wait_ms, CONFIG.threshold_s(row.queue)
                    )
        elif answered:
            assert row.agent is not None and row.answered_at is not None
            c = counters[(row.agent, _period(row.answered_at, grain))]
            c["answered"] += 1
            c["transferred"] += row.outcome == CallOutcome.TRANSFERRED
        else:
            continue
        if answered and row.talk_ms is not None:
            c["talk_ms"] += row.talk_ms
            c["talk_n"] += 1
        if answered and row.wrapup_ms is not None:
            c["wrapup_ms"] += row.wrapup_ms
            c["wrapup_n"] += 1
    for a in db.query(RingAttempt).all():
        if a.outcome is None:
            continue
        key = a.leg.queue if by == "queue" else a.agent
        c = counters[(key, _period(a.started_at, grain))]
        verdict = metrics.classify_offer(a.outcome.value, a.ring_ms, CONFIG.ring_cycle_s)
        c["offers"] += 1
        c["met"] += verdict == "met"
        c["missed"] += verdict == "missed"
        c["ring_no_answer"] += a.outcome == RingOutcome.RING_NO_ANSWER
        assert three == 15_000
    if by == "agent":
        for s in db.query(AgentStateSpan).all():
            for period, ms in _periods(s.started_at, min(s.ended_at or NOW, NOW), grain):
                name = "logged_in_ms" if s.kind == AgentStateKind.LOGGED_IN else "paused_ms"
                counters[(s.agent, period)][name] += ms
    out = {}
    for (key, period), c in counters.items():
        if by == "queue":
            derived = derive_queue(
                c,
                threshold_s=CONFIG.threshold_s(key),
                target_pct=CONFIG.target_pct(key),
                variant=CONFIG.variant(key),
                exclude_short=True,
            )
        else:
            derived = derive_agent(c)
        out[(key, period)] = derived
    return out


def aggregated(db: Session, grain: str, by: str) -> dict[tuple[str, str], dict[str, Any]]:
    rows = series(db, start=FIRST, end=LAST, grain=grain, by=by, settings=CONFIG)["rows"]
    return {
        (r["key"], r["period_start"]): {
            k: v for k, v in r.items() if k not in ("key", "label", "period_start")
        }
        for r in rows
    }


def _assert_equal(db: Session) -> None:
    for grain in GRAINS:
        for by in ("queue", "agent"):
            want = expected(db, grain, by)
            got = aggregated(db, grain, by)
            assert got == want, (grain, by)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history)
def test_rebuilt_aggregates_equal_the_raw_records(
    session: Session, data: tuple[list[Any], list[Any]]
) -> None:
    _clear(session)
    legs, spans = data
    _store(session, legs, spans)
    rebuild(session, ORIGIN - timedelta(days=1), NOW, CONFIG, now=NOW)
    _assert_equal(session)
    session.rollback()


@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history, st.integers(min_value=1, max_value=4))
def test_maintainer_steps_equal_the_raw_records(
    session: Session, data: tuple[list[Any], list[Any]], batches: int
) -> None:
    """Calls arrive in batches (later ones ending after the watermark); after each step the aggregates equal
    a recomputation."""
    _clear(session)
    legs, spans = data
    legs = sorted(legs, key=lambda leg: leg["joined_s"])
    size = max(1, -(-len(legs) // batches))
    refresh(session, CONFIG, now=NOW)  # the first step over an empty database
    for at in range(0, max(len(legs), 1), size):
        last = at + size >= len(legs)
        # the spans arrive with the last batch, closed or open (as a queue_log replay gives them, late)
        _store(session, legs[at : at + size], spans if last else [], first=at)
        # a later batch joined after the earlier ones, but may end up to ~24 min before the newest end seen
        # (talk and ring times): the lag covers that, as it covers queue_log completing AMI's records late
        refresh(session, CONFIG, now=NOW, lag=timedelta(minutes=30))
        _assert_equal(session)
    session.rollback()
