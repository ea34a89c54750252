"""Durable agent-state spans (``reports_agent_state_spans``) for occupancy and utilisation.

Nothing else keeps an agent's logged-in and paused time: the live state forgets it, the call records never
had it. Two feeds fill it, idempotently (a span is (agent, kind, start)):

* the bus: :class:`AgentStateSubscriber` reads ``AgentLoggedIn/Out``, ``AgentPaused/Unpaused`` from the ACD's
  event topic (``acd.service.EVENT_TOPIC``; the ACD must publish those types there);
* app_queue's queue_log: :func:`ingest_agent_states` (ADDMEMBER / REMOVEMEMBER / PAUSE / UNPAUSE /
  PAUSEALL / UNPAUSEALL). ADDMEMBER and REMOVEMEMBER name the interface, PAUSE the member name: the interface
  is mapped to the name through queues.conf members and the call records (``pbx_queue_legs.interface``).

An agent is *logged in* while it is a member of at least one queue; *paused* while it is paused in every
queue it is logged in to (then no queue can reach it). Static members (queues.conf) have no login: their
occupancy is unknown (null), never guessed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from acd import events as ev
from acd.records.models import QueueLeg
from acd.records.queue_log import QueueConfig, parse_queue_log
from core.bus import EventBus, Subscription
from core.db import transaction
from reports.models import AgentStateKind, AgentStateSpan

log = logging.getLogger(__name__)

__all__ = ["AgentStateSubscriber", "AgentStates", "ingest_agent_states"]

STATE_EVENTS = (ev.AgentLoggedIn, ev.AgentLoggedOut, ev.AgentPaused, ev.AgentUnpaused)


@dataclass
class AgentStates:
    """Per agent, the queues it is logged in to and paused in; opens and closes spans as that changes."""

    queues: dict[str, set[str]] = field(default_factory=dict)
    paused: dict[str, set[str]] = field(default_factory=dict)
    reasons: dict[str, str | None] = field(default_factory=dict)

    def apply(
        self,
        session: Session,
        verb: str,
        at: datetime,
        *,
        agent: str,
        queue: str | None,
        interface: str | None = None,
        reason: str | None = None,
    ) -> None:
        """``verb``: ``login`` | ``logout`` | ``pause`` | ``unpause``; ``queue`` None = all its queues."""
        queues = self.queues.setdefault(agent, set())
        paused = self.paused.setdefault(agent, set())
        if verb == "login" and queue:
            if not queues:
                self._open(session, agent, AgentStateKind.LOGGED_IN, at, interface, None)
            queues.add(queue)
        elif verb == "logout" and queue:
            queues.discard(queue)
            paused.discard(queue)
            if not queues:
                self._close(session, agent, AgentStateKind.PAUSED, at)
                self._close(session, agent, AgentStateKind.LOGGED_IN, at)
                return
        elif verb == "pause":
            paused.update([queue] if queue else queues)
            self.reasons[agent] = reason
        elif verb == "unpause":
            if queue:
                paused.discard(queue)
            else:
                paused.clear()
        if queues and queues <= paused:
            self._open(session, agent, AgentStateKind.PAUSED, at, interface, self.reasons.get(agent))
        else:
            self._close(session, agent, AgentStateKind.PAUSED, at)

    @staticmethod
    def _open(
        session: Session,
        agent: str,
        kind: AgentStateKind,
        at: datetime,
        interface: str | None,
        reason: str | None,
    ) -> None:
        span = AgentStateSpan
        existing = session.scalar(
            select(span).where(
                span.agent == agent, span.kind == kind, (span.ended_at.is_(None)) | (span.started_at == at)
            )
        )
        if existing is not None:
            return  # already open, or this very span replayed
        session.add(
            AgentStateSpan(
                agent=agent, kind=kind, started_at=at, ended_at=None, interface=interface, reason=reason
            )
        )
        session.flush()

    @staticmethod
    def _close(session: Session, agent: str, kind: AgentStateKind, at: datetime) -> None:
        span = AgentStateSpan
        row = session.scalar(
            select(span).where(
                span.agent == agent, span.kind == kind, span.ended_at.is_(None), span.started_at <= at
            )
        )
        if row is not None:
            row.ended_at = at
            session.flush()


def _interface_names(session: Session, queues: Mapping[str, QueueConfig] | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for interface, agent in session.execute(
        select(QueueLeg.interface, QueueLeg.agent)
        .distinct()
        .where(QueueLeg.interface.is_not(None), QueueLeg.agent.is_not(None))
    ):
        if interface and agent:
            names.setdefault(interface, agent)
    for config in (queues or {}).values():
        for member, interface in config.members.items():
            names[interface] = member
    return names


def ingest_agent_states(
    session: Session, text: str, *, queues: Mapping[str, QueueConfig] | None = None
) -> int:
    """Logged-in and paused spans from queue_log (run after the call records are ingested, so interfaces map
    to member names). Idempotent. Returns the number of member lines applied. Flushes, never commits."""
    names = _interface_names(session, queues)
    states = AgentStates()
    applied = 0
    verbs = {
        "ADDMEMBER": "login",
        "REMOVEMEMBER": "logout",
        "PAUSE": "pause",
        "UNPAUSE": "unpause",
        "PAUSEALL": "pause",
        "UNPAUSEALL": "unpause",
    }
    for entry in parse_queue_log(text):
        verb = verbs.get(entry.verb)
        if verb is None:
            continue
        if entry.verb in ("PAUSEALL", "UNPAUSEALL"):
            continue  # the per-queue PAUSE/UNPAUSE lines that follow say the same, queue by queue
        interface = entry.agent if "/" in entry.agent else None
        agent = names.get(entry.agent, entry.agent) if interface else entry.agent
        states.apply(
            session,
            verb,
            entry.at,
            agent=agent,
            queue=entry.queue if entry.queue not in ("", "NONE") else None,
            interface=interface,
            reason=entry.field(1) or None if verb == "pause" else None,
        )
        applied += 1
    return applied


class AgentStateSubscriber:
    """Feeds the spans from the ACD's events on the bus (each event in its own short transaction, in a worker
    thread).

    Wire in ``callcenter.app``'s lifespan (after ``bus.start()``)::

        from reports.agent_states import AgentStateSubscriber
        agent_states = AgentStateSubscriber(bus, app.state.session_factory)
        await agent_states.start()
        ...  # on shutdown, before bus.close():
        await agent_states.stop()
    """

    def __init__(
        self, bus: EventBus, session_factory: sessionmaker[Session], *, topic: str = "acd.event"
    ) -> None:
        self.bus = bus
        self.session_factory = session_factory
        self.topic = topic
        self.states = AgentStates()
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    def handle(self, event: object) -> None:
        if not isinstance(event, STATE_EVENTS):
            return
        verb = {
            ev.AgentLoggedIn: "login",
            ev.AgentLoggedOut: "logout",
            ev.AgentPaused: "pause",
            ev.AgentUnpaused: "unpause",
        }[type(event)]
        with transaction(self.session_factory) as session:
            self.states.apply(
                session,
                verb,
                event.at,
                agent=event.agent,
                queue=event.queue or None,
                interface=event.interface,
                reason=getattr(event, "reason", None),
            )
            if isinstance(event, ev.AgentLoggedIn) and event.paused:
                self.states.apply(session, "pause", event.at, agent=event.agent, queue=event.queue)
        self.applied += 1

    async def _run(self) -> None:
        assert self._sub is not None
        async for event in self._sub:
            try:
                await asyncio.to_thread(self.handle, event)
            except Exception:
                log.exception("reports: agent state event not recorded: %r", event)

    async def start(self) -> None:
        self._sub = await self.bus.subscribe(self.topic, maxsize=1000)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reports-agent-states")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            await self._sub.close()
