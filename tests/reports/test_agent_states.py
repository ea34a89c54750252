"""Agent-state spans from the ACD's events on the bus, and the maintainer picking them up (occupancy)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from acd import events as ev
from core.bus import InProcessBus
from core.db import Base, make_engine, make_session_factory
from reports.agent_states import AgentStateSubscriber
from reports.aggregates import AggregateMaintainer, ReportConfig
from reports.models import AgentStateKind, AgentStateSpan
from reports.queries import series

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_bus_events_make_spans_and_the_maintainer_counts_them(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'states.db'}")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    bus = InProcessBus()
    await bus.start()
    subscriber = AgentStateSubscriber(bus, factory)
    await subscriber.start()
    events: list[object] = [
        ev.AgentLoggedIn(at(0), "support", "Gina", "PJSIP/1007", None, 0, False, True),
        ev.AgentLoggedIn(at(1), "billing", "Gina", "PJSIP/1007", None, 0, False, True),
        ev.AgentPaused(at(10), "support", "Gina", "PJSIP/1007", "休息"),  # billing still open: not paused
        ev.AgentPaused(at(20), "billing", "Gina", "PJSIP/1007", "休息"),  # paused everywhere from 20
        ev.AgentUnpaused(at(35), "support", "Gina", "PJSIP/1007"),  # available again at 35
        ev.AgentLoggedOut(at(60), "support", "Gina", "PJSIP/1007"),
        ev.AgentLoggedOut(at(61), "billing", "Gina", "PJSIP/1007"),  # logged out at 61
        ev.CallEnded(at(62), "x", "x", None, None),  # not an agent event: ignored
    ]
    for event in events:
        await bus.publish("acd.event", event)
    for _ in range(200):
        if subscriber.applied == 7:
            break
        await asyncio.sleep(0.01)
    await subscriber.stop()
    await bus.close()
    assert subscriber.applied == 7
    with factory() as session:
        spans = [
            (s.kind, s.started_at, s.ended_at, s.reason)
            for s in session.scalars(select(AgentStateSpan).order_by(AgentStateSpan.started_at))
        ]
    assert spans == [
        (AgentStateKind.LOGGED_IN, at(0), at(61), None),
        (AgentStateKind.PAUSED, at(20), at(35), "休息"),
        # out of support at 60, Gina is left only in billing, where she is still paused
        (AgentStateKind.PAUSED, at(60), at(61), "休息"),
    ]
    maintainer = AggregateMaintainer(factory, ReportConfig(), clock=lambda: at(120))
    maintainer.step()
    with factory() as session:
        (gina,) = series(
            session, start=T0.date(), end=T0.date(), grain="day", by="agent", settings=ReportConfig()
        )["totals"]
    # logged in 61 min, paused 16 min, no calls: 0 % occupied of 45 available minutes
    assert gina["key"] == "Gina" and gina["occupancy_pct"] == 0.0 and gina["utilisation_pct"] == 0.0
    engine.dispose()
