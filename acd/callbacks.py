"""The call-back dialer: the ACD dials the IVR's call-back requests (``ivr_callback_requests``) when an agent
of the request's queue is free. Owns ``CallbackDialer`` and the database work it needs.

Every ``interval`` seconds a tick takes the oldest pending requests that are due, finds for each an
available agent of its queue in the live state (logged in, not paused there, not ringing, on a call or in
wrap-up; the longest idle first), claims the request with a conditional UPDATE (``pending`` → ``dialling``:
only one tick of one process wins it) and originates agent-first (``acd.commands.originate_outbound``: the
agent's phone rings, then the outbound dialplan dials the customer).

Outcome, on the request's own columns: each attempt counts in ``attempts``; answered → ``done`` with the
agent (``agent_id``, ``agent_name``) and ``done_at``; busy / no answer / a PBX error → back to ``pending``
with ``next_attempt_at`` = now + ``retry_delay``; the ``max_attempts``-th attempt unanswered → ``failed``
with ``done_at``. A request is due when pending and its ``next_attempt_at`` is unset or past. A PBX that is
down costs nothing: nothing is claimed while the link is down, and an Originate refused for lack of a link
puts the request back without counting an attempt. A request left ``dialling`` by a process that died is
put back to ``pending`` after ``stale_after`` seconds.

Each attempt also leaves an audit row (``callback.attempt`` on ``ivr_callback_request``, detail: attempt,
outcome, agent, interface, uniqueid) as the trail; nothing reads it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from acd import commands
from acd.call_control import dial_string
from acd.commands import ORIGINATE_GRACE, OriginateOutcome, PbxError, PbxNotConnected
from acd.state import AVAILABLE, effective_agent_state
from core.audit import service as audit
from core.clock import utcnow
from core.db import transaction
from core.people.models import User
from ivr.models import CallbackStatus, IvrCallbackRequest

if TYPE_CHECKING:
    from acd.service import AcdService

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPT_ACTION = "callback.attempt"
OBJECT_TYPE = "ivr_callback_request"
PBX_ERROR = "pbx_error"  # outcome of an attempt whose Originate timed out or lost the link


@dataclass(frozen=True)
class DueRequest:
    id: int
    caller: str
    queue: str | None
    customer_id: int | None
    attempts: int  # made so far


@dataclass(frozen=True)
class DialResult:
    request_id: int
    agent: str
    interface: str
    outcome: str  # an OriginateOutcome value, or PBX_ERROR; "not_connected" when nothing was dialled
    status: CallbackStatus
    attempt: int  # this attempt's number (the count so far when nothing was dialled)
    uniqueid: str | None = None


# --- database work (synchronous, run in a worker thread) -------------------------------------------------


def release_stale(session: Session, *, before: datetime) -> int:
    """``dialling`` requests claimed before ``before`` (their dialer died) go back to ``pending``."""
    result = session.execute(
        update(IvrCallbackRequest)
        .where(
            IvrCallbackRequest.status == CallbackStatus.DIALLING,
            IvrCallbackRequest.updated_at < before,
        )
        .values(status=CallbackStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def due_requests(session: Session, *, now: datetime, limit: int) -> list[DueRequest]:
    """Pending requests, oldest first, with no retry time or one that has come."""
    rows = session.scalars(
        select(IvrCallbackRequest)
        .where(
            IvrCallbackRequest.status == CallbackStatus.PENDING,
            or_(IvrCallbackRequest.next_attempt_at.is_(None), IvrCallbackRequest.next_attempt_at <= now),
        )
        .order_by(IvrCallbackRequest.requested_at, IvrCallbackRequest.id)
        .limit(limit)
    ).all()
    return [DueRequest(row.id, row.caller, row.queue, row.customer_id, row.attempts) for row in rows]


def claim(session: Session, *, request_id: int, now: datetime) -> bool:
    """``pending`` → ``dialling``; True for the one caller whose UPDATE changed the row. Still due: another
    process may have tried it (and set a retry time) since it was read."""
    result = session.execute(
        update(IvrCallbackRequest)
        .where(
            IvrCallbackRequest.id == request_id,
            IvrCallbackRequest.status == CallbackStatus.PENDING,
            or_(IvrCallbackRequest.next_attempt_at.is_(None), IvrCallbackRequest.next_attempt_at <= now),
        )
        .values(status=CallbackStatus.DIALLING, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release(session: Session, *, request_id: int) -> None:
    """Back to ``pending`` without an attempt (nothing was dialled)."""
    session.execute(
        update(IvrCallbackRequest)
        .where(IvrCallbackRequest.id == request_id, IvrCallbackRequest.status == CallbackStatus.DIALLING)
        .values(status=CallbackStatus.PENDING)
        .execution_options(synchronize_session=False)
    )


def agent_user_id(session: Session, *, interface: str) -> int | None:
    """The user whose phone is ``interface`` (``users.pbx_interface``, else by extension)."""
    found = session.scalar(select(User.id).where(User.pbx_interface == interface).order_by(User.id).limit(1))
    if found is not None:
        return found
    extension = interface.rsplit("/", 1)[-1]
    return session.scalar(select(User.id).where(User.extension == extension).order_by(User.id).limit(1))


def record_attempt(
    session: Session, *, result: DialResult, at: datetime, gave_up: bool, retry_delay: timedelta
) -> None:
    """The attempt on the request (count, next try or close, the agent who took it) and its audit row."""
    agent_id = agent_user_id(session, interface=result.interface)
    values: dict[str, Any] = {"status": result.status, "attempts": result.attempt, "updated_at": at}
    if result.status == CallbackStatus.PENDING:
        values["next_attempt_at"] = at + retry_delay
    else:  # done or failed: closed
        values.update(next_attempt_at=None, done_at=at)
        if result.status == CallbackStatus.DONE:
            values.update(agent_id=agent_id, agent_name=result.agent[:100])
    session.execute(
        update(IvrCallbackRequest)
        .where(IvrCallbackRequest.id == result.request_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    detail: dict[str, Any] = {
        "attempt": result.attempt,
        "outcome": result.outcome,
        "status": result.status.value,
        "agent": result.agent,
        "interface": result.interface,
        "agent_id": agent_id,
        "uniqueid": result.uniqueid,
    }
    if gave_up:
        detail["gave_up"] = True
    entry = audit.record(
        session,
        actor=audit.SYSTEM,
        action=ATTEMPT_ACTION,
        object_type=OBJECT_TYPE,
        object_id=result.request_id,
        detail=detail,
    )
    entry.at = at  # the dialer's clock, as on the request


# --- choosing an agent ---------------------------------------------------------------------------------


def free_agents(
    agents: Mapping[str, Mapping[str, Any]], queue: str | None, now: float, busy: set[str]
) -> list[Mapping[str, Any]]:
    """Agents free to take a call-back of ``queue``, longest idle first: logged in to the queue and not
    paused there, available (wrap-up over), with a phone, not already dialling a call-back (``busy``).
    Without a queue any available agent does."""
    found: list[tuple[float, str, Mapping[str, Any]]] = []
    for name, agent in agents.items():
        if name in busy or not agent.get("interface"):
            continue
        state, since = effective_agent_state(agent, now)
        if state != AVAILABLE:
            continue
        if queue is not None:
            member = (agent.get("queues") or {}).get(queue)
            if member is None or member.get("paused"):
                continue
        found.append((since if since is not None else now, name, agent))
    found.sort(key=lambda item: (item[0], item[1]))
    return [agent for _, _, agent in found]


# --- the dialer ------------------------------------------------------------------------------------------


class CallbackDialer:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        acd_service: AcdService,
        *,
        interval: float = 2.0,
        context: str = "from-internal",
        region: str | None = None,
        max_attempts: int = 3,
        retry_delay: float = 300.0,
        ring_timeout: float = 20.0,
        batch: int = 20,
        stale_after: float | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.acd = acd_service
        self.interval = interval
        self.context = context
        self.region = region or acd_service.region
        self.max_attempts = max_attempts
        self.retry_delay = timedelta(seconds=retry_delay)
        self.ring_timeout = ring_timeout
        self.batch = batch
        # Longer than any Originate can take, so a live dialer's claim is never taken back.
        self.stale_after = timedelta(
            seconds=stale_after if stale_after is not None else ring_timeout + ORIGINATE_GRACE + 30.0
        )
        self.clock = clock
        self._busy: set[str] = set()  # agents this dialer is ringing now (the live state lags the Originate)
        self._dials: set[asyncio.Task[DialResult]] = set()
        self._unrecorded: list[tuple[DialResult, datetime, bool]] = []  # outcomes the database refused
        self._recording = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def _in_db(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(self.session_factory) as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def tick(self) -> list[asyncio.Task[DialResult]]:
        """One round: claim what can be dialled now and start dialling it; the dials' tasks."""
        await self._record_pending()
        if not self.acd.link.connected:
            return []  # PBX down: nothing claimed, the requests stay pending
        now = self.clock()
        stale_before = now - self.stale_after

        def load(session: Session) -> list[DueRequest]:
            released = release_stale(session, before=stale_before)
            if released:
                log.warning("%d call-back requests left dialling were put back to pending", released)
            return due_requests(session, now=now, limit=self.batch)

        due = await self._in_db(load)
        if not due:
            return []
        agents = self.acd.state.snapshot()["agents"]
        started: list[asyncio.Task[DialResult]] = []
        for request in due:
            free = free_agents(agents, request.queue, now.timestamp(), self._busy)
            if not free:
                continue
            agent = free[0]
            won = await self._in_db(functools.partial(claim, request_id=request.id, now=now))
            if not won:
                continue  # another tick or process has it
            name = str(agent["name"])
            self._busy.add(name)
            task = asyncio.create_task(
                self._dial(request, name, str(agent["interface"])), name=f"callback-{request.id}"
            )
            self._dials.add(task)
            task.add_done_callback(self._dials.discard)
            started.append(task)
        return started

    async def run_once(self) -> list[DialResult]:
        """A tick, waiting for its dials to finish (tests, the CLI)."""
        return list(await asyncio.gather(*await self.tick()))

    def _number(self, caller: str) -> str:
        if caller.startswith("+"):
            return dial_string(caller, self.region)
        return "".join(ch for ch in caller if ch.isdigit() or ch in "*#")

    async def _dial(self, request: DueRequest, agent: str, interface: str) -> DialResult:
        attempt = request.attempts + 1
        uniqueid = None
        try:
            try:
                result = await commands.originate_outbound(
                    self.acd.link,
                    agent_interface=interface,
                    number=self._number(request.caller),
                    context=self.context,
                    caller_id_name="回拨",
                    caller_id_number=self._number(request.caller),
                    ring_timeout=self.ring_timeout,
                    variables={"CALLBACK_ID": str(request.id)},
                )
                outcome, uniqueid = result.outcome.value, result.uniqueid
            except PbxNotConnected:
                await self._in_db(functools.partial(release, request_id=request.id))
                return DialResult(
                    request.id, agent, interface, "not_connected", CallbackStatus.PENDING, request.attempts
                )
            except PbxError as exc:  # timed out, link lost: the agent may have rung; counts as a try
                log.warning("call-back %d: Originate to %s failed: %s", request.id, interface, exc)
                outcome = PBX_ERROR
        finally:
            self._busy.discard(agent)
        if outcome == OriginateOutcome.ANSWERED:
            status, gave_up = CallbackStatus.DONE, False
        elif attempt >= self.max_attempts:
            status, gave_up = CallbackStatus.FAILED, True
        else:
            status, gave_up = CallbackStatus.PENDING, False
        done = DialResult(request.id, agent, interface, outcome, status, attempt, uniqueid)
        self._unrecorded.append((done, self.clock(), gave_up))
        await self._record_pending()
        return done

    async def _record_pending(self) -> None:
        """Write the outcomes not yet recorded; a database that refuses keeps them for the next tick."""
        async with self._recording:  # dials end concurrently: each outcome is written once
            while self._unrecorded:
                result, at, gave_up = self._unrecorded[0]
                try:
                    await self._in_db(
                        functools.partial(
                            record_attempt,
                            result=result,
                            at=at,
                            gave_up=gave_up,
                            retry_delay=self.retry_delay,
                        )
                    )
                except Exception:
                    log.exception("call-back %d: outcome not recorded; retried next tick", result.request_id)
                    return
                self._unrecorded.pop(0)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a database or PBX hiccup must not stop the dialer
                log.exception("call-back tick failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="acd-callbacks")

    async def stop(self) -> None:
        """Stop ticking and cancel the dials in progress (their requests stay ``dialling`` until
        ``stale_after``: the agent may be on the phone with the customer already)."""
        tasks: list[asyncio.Task[Any]] = list(self._dials)
        if self._task is not None:
            tasks.append(self._task)
            self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self._record_pending()
