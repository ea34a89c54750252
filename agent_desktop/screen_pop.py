"""The screen pop: when an agent's phone rings, that agent's websockets get at once a ``pop`` frame with the
caller's customer files, last calls, open complaints and the caller's way through the IVR for this call
(protocol: ``docs/websocket.md``).

Owns the hub's subscription to the bus topic ``acd.event`` (the ACD's domain events, published by
``acd.service.AcdService``), the mapping of a ringing member to a user (``pbx_interface``, else full name),
the building of the frame in a worker thread (SQLAlchemy is sync; a read only transaction, so that it never
waits for SQLite's write lock, which the ACD's call records hold often) and, once the frame is queued on the
socket, the audit rows it owes (``customer.read`` per file shown, ``record.by_customer``): batched by
``AuditWriter``, retried until written, never dropped. A pop that cannot be built is logged and counted
(``PopStats``); it never stops the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from acd.events import AgentRinging
from core import phone as phones_
from core.audit.service import Actor
from core.clock import utcnow
from core.complaints import service as complaints
from core.contacts import service as contacts
from core.contacts.models import InboundRecord
from core.customers import service as customers
from core.db import transaction
from core.people.models import User
from core.security.roles import ROLE_CLEARANCE, ROLE_PERMISSIONS, Permission
from ivr.models import IvrOutcome, IvrSession

if TYPE_CHECKING:
    from agent_desktop.ws import Hub

__all__ = [
    "TOPIC",
    "AuditWriter",
    "PopAudit",
    "PopStats",
    "ScreenPop",
    "build_pop",
    "find_user",
    "write_audits",
]

log = logging.getLogger(__name__)

TOPIC = "acd.event"
RECENT_CALLS = 5
CALL_WAIT_SECONDS = 0.1  # how long a pop waits for the hub to have relayed the ringing call's record
AUDIT_BATCH_SECONDS = 0.05  # audit rows gather this long into one transaction
AUDIT_RETRY_SECONDS = (
    0.05,
    2.0,
)  # a failed batch (database locked or down) is retried, first and longest wait


@dataclass
class PopStats:
    events: int = 0
    sent: int = 0
    failures: int = 0
    last_ms: float = 0.0
    # From the event reaching this hub to the frame queued on the socket(s): the recent ones, for a p99.
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))


@dataclass(frozen=True, slots=True)
class PopAudit:
    """An audit row a pop owes: ``customer.read`` of a file shown (``code`` set) or ``record.by_customer``
    of the first file's last calls; ``at`` = when it was read."""

    actor: Actor
    action: str
    customer_id: int
    at: datetime
    code: str | None = None


def write_audits(session_factory: sessionmaker[Session], rows: Sequence[PopAudit]) -> None:
    """Write pops' audit rows in one transaction, each with the time of its read. Blocking (a thread)."""
    with transaction(session_factory) as session:
        for row in rows:
            if row.action == "customer.read":
                entry = customers.record_read_of(
                    session,
                    customer_id=row.customer_id,
                    code=row.code or "",
                    actor=row.actor,
                    via="screen_pop",
                )
            else:
                entry = contacts.note_by_customer(session, customer_id=row.customer_id, actor=row.actor)
            entry.at = row.at


class AuditWriter:
    """The audit rows of sent pops, written in batches in a worker thread. ``add`` never waits; a batch that
    fails (SQLite busy, database down) is kept and retried with a back-off, so no row is ever lost while the
    process runs; ``drain`` waits until everything added is written."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self.pending: list[PopAudit] = []
        self.written = 0
        self.batches = 0
        self.failures = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def add(self, rows: Sequence[PopAudit]) -> None:
        if not rows:
            return
        self.pending.extend(rows)
        self._idle.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ws-pop-audit")

    async def drain(self) -> None:
        await self._idle.wait()

    async def _run(self) -> None:
        first, longest = AUDIT_RETRY_SECONDS
        delay = first
        try:
            while self.pending:
                await asyncio.sleep(AUDIT_BATCH_SECONDS)
                batch, self.pending = self.pending, []
                try:
                    await asyncio.to_thread(write_audits, self.session_factory, batch)
                except Exception as exc:
                    self.pending[:0] = batch  # retried, in order, before what came meanwhile
                    self.failures += 1
                    log.warning("pop audit rows (%d) not written yet, retrying: %s", len(batch), exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, longest)
                    continue
                delay = first
                self.written += len(batch)
                self.batches += 1
        finally:
            if not self.pending:
                self._idle.set()


def _epoch(value: Any) -> float | None:
    return value.timestamp() if value is not None else None


def ivr_of_call(session: Session, *, linkedid: str, uniqueid: str) -> dict[str, Any] | None:
    """The caller's way through the IVR for this call (the dialplan passes the linkedid to the AGI, so a
    transferred or second leg finds it too): the menu keys with their captions (``ivr.choice.<caption>``
    in the catalogs, e.g. 3 投诉), the digits typed, the customer the IVR identified, whether the IVR
    answered a request itself. One indexed query (``ivr_sessions.linkedid`` / ``.uniqueid``)."""
    row = session.execute(
        select(IvrSession.path, IvrSession.outcome, IvrSession.queue, IvrSession.queue_priority)
        .where(
            or_(IvrSession.linkedid == linkedid, IvrSession.uniqueid == uniqueid),
            IvrSession.script == "ivr",
        )
        .order_by(IvrSession.started_at.desc(), IvrSession.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    path, outcome, queue, priority = row
    choices: list[dict[str, Any]] = []
    entered: list[str] = []
    customer_code: str | None = None
    identified_by: str | None = None
    self_service = outcome == IvrOutcome.SELF_SERVICE
    for entry in path or []:
        kind, result, value = entry.get("kind"), entry.get("result"), entry.get("input")
        if result != "ok" and result != "found":
            continue
        if kind == "menu" and value:
            choices.append({"digit": value, "caption": entry.get("caption")})
        elif kind == "input" and value:
            entered.append(value)
        elif kind == "lookup" and entry.get("target") == "complaint_status":
            self_service = True
        elif kind == "lookup" and value:
            customer_code, identified_by = value, entry.get("target")
    return {
        "choices": choices,
        "entered": entered,
        "customer_code": customer_code,
        "identified_by": identified_by,  # customer_by_id (typed) / customer_by_caller (the number)
        "self_service": self_service,
        "outcome": str(outcome.value) if outcome is not None else None,
        "queue": queue,
        "queue_priority": priority,
    }


def find_user(session: Session, *, interface: str, member: str) -> User | None:
    """The active user whose phone is ``interface``, else the one whose full name is the member name."""
    if interface:
        user = session.scalars(
            select(User).where(User.pbx_interface == interface, User.active.is_(True)).limit(1)
        ).first()
        if user is not None:
            return user
    if member:
        return session.scalars(
            select(User).where(User.full_name == member, User.active.is_(True)).limit(1)
        ).first()
    return None


def build_pop(
    session_factory: sessionmaker[Session],
    event: AgentRinging,
    *,
    caller_number: str | None,
    joined: float | None,
    ring_cycle_seconds: float = 5.0,
    region: str = "CN",
    zone: Any = None,
    user_ids: frozenset[int] | None = None,
) -> tuple[int, dict[str, Any], list[PopAudit]] | None:
    """The pop frame for the user the phone belongs to, with that user's id and the audit rows the pop owes
    (write them with ``write_audits`` once it is sent); None when no such user (or not one of ``user_ids``,
    the users connected here). Blocking: run in a thread. Reads only."""
    now = utcnow()
    audits: list[PopAudit] = []
    with transaction(session_factory) as session:
        user = find_user(session, interface=event.interface, member=event.agent)
        if user is None or (user_ids is not None and user.id not in user_ids):
            return None
        permissions = ROLE_PERMISSIONS[user.role]
        unmasked = Permission.PHONES_UNMASKED in permissions
        actor = Actor(user_id=user.id, username=user.username)
        found = []
        if caller_number:
            try:
                found = customers.lookup_by_phone(
                    session,
                    phone=caller_number,
                    user_id=user.id,
                    clearance=int(ROLE_CLEARANCE[user.role]),
                    phone_region=region,
                )
            except Exception:  # an unreadable number (anonymous, internal): nobody's file
                found = []
        files = []
        for customer in found:
            audits.append(PopAudit(actor, "customer.read", customer.id, now, code=customer.code))
            files.append(
                {
                    "id": customer.id,
                    "code": customer.code,
                    "name": customer.name,
                    "grade": customer.grade.value,
                    "confidentiality": int(customer.confidentiality),
                    "kind": customer.kind.value,
                    "region": customer.region,
                    "contact_person": customer.contact_person,
                    "unsuitable_now": bool(
                        zone is not None and customers.is_unsuitable_time(customer, now, zone)
                    ),
                }
            )
        recent: list[dict[str, Any]] = []
        open_complaints: list[dict[str, Any]] = []
        if found:
            first = found[0]
            if Permission.RECORDS_READ_ALL in permissions:
                reach = contacts.Reach.ALL
            elif Permission.RECORDS_READ_TEAM in permissions:
                reach = contacts.Reach.TEAM
            else:
                reach = contacts.Reach.OWN
            scope = contacts.Scope(user_id=user.id, team_id=user.team_id, reach=reach)
            audits.append(PopAudit(actor, "record.by_customer", first.id, now))
            for record in contacts.contacts_of_customer(
                session, customer_id=first.id, scope=scope, actor=actor, limit=RECENT_CALLS, audited=False
            ):
                inbound = isinstance(record, InboundRecord)
                number = record.caller_number if inbound else record.called_number  # type: ignore[union-attr]
                recent.append(
                    {
                        "id": record.id,
                        "direction": "inbound" if inbound else "outbound",
                        "started_at": _epoch(record.started_at),
                        "agent_name": record.agent_name,
                        "number": phones_.for_reader(number, unmasked=unmasked, region=region),
                        "content": record.content[:200],
                    }
                )
            for complaint in complaints.open_for_customer(session, customer_id=first.id):
                open_complaints.append(
                    {
                        "id": complaint.id,
                        "case_number": complaint.case_number,
                        "status": complaint.status.value,
                        "category": complaint.category.value,
                        "received_at": _epoch(complaint.received_at),
                        "promised_deadline": _epoch(complaint.promised_deadline),
                    }
                )
        frame: dict[str, Any] = {
            "type": "pop",
            "linkedid": event.linkedid,
            "uniqueid": event.uniqueid,
            "queue": event.queue,
            "caller_number": phones_.for_reader(caller_number, unmasked=unmasked, region=region),
            "waited_s": round(max(time.time() - joined, 0.0), 3) if joined is not None else None,
            "ring_started_at": event.at.timestamp(),
            "three_rings_s": 3 * ring_cycle_seconds,
            "customers": files,
            "recent_calls": recent,
            "open_complaints": open_complaints,
            "unknown_caller": not files,
            "ivr": None,
            "ivr_path": None,
        }
        ivr = ivr_of_call(session, linkedid=event.linkedid, uniqueid=event.uniqueid)
        if ivr is not None:
            frame["ivr"] = ivr
            # the inbound record's ivr_path: the menu keys in order ("1>3>0")
            frame["ivr_path"] = ">".join(choice["digit"] for choice in ivr["choices"]) or None
        return user.id, frame, audits


class ScreenPop:
    """One hub's screen pops: a subscription to ``acd.event`` and a task per ringing phone."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.stats = PopStats()
        self.audits = AuditWriter(hub.app.state.session_factory)
        self._sub: Any = None
        self._building: set[asyncio.Task[None]] = set()

    async def start(self) -> asyncio.Task[None]:
        """Subscribe (before returning, so nothing published afterwards is missed) and run."""
        self._sub = await self.hub.app.state.bus.subscribe(TOPIC, maxsize=1000)
        return asyncio.create_task(self._run(), name="ws-hub-pop")

    async def _run(self) -> None:
        sub = self._sub
        try:
            async for event in sub:
                if isinstance(event, AgentRinging):
                    self.stats.events += 1
                    task = asyncio.create_task(self._pop(event), name="ws-pop")
                    self._building.add(task)
                    task.add_done_callback(self._building.discard)
        finally:
            for task in list(self._building):
                task.cancel()
            with contextlib.suppress(Exception):
                await sub.close()

    def _targets(self, event: AgentRinging) -> frozenset[int]:
        """The users connected here who might own the ringing phone: no socket, no database work."""
        return self.hub.phone_users(event.interface, event.agent)

    async def _call(self, linkedid: str) -> dict[str, Any] | None:
        """The ringing call's caller number and queue join time."""
        # In the ACD's process its live state already holds the call (the event is published after it).
        live = getattr(getattr(self.hub.app.state, "acd", None), "state", None)
        record = getattr(live, "calls", {}).get(linkedid)
        if record is not None:
            return {"caller_number": record.caller_number, "joined": record.joined}
        # Elsewhere the record comes on acd.delta, a separate subscription: give the relay a moment.
        deadline = time.monotonic() + CALL_WAIT_SECONDS
        while True:
            call: dict[str, Any] | None = self.hub.state.get("calls", {}).get(linkedid)
            if call is not None or time.monotonic() >= deadline:
                return call
            await asyncio.sleep(0.005)

    async def _pop(self, event: AgentRinging) -> None:
        started = time.perf_counter()
        try:
            targets = self._targets(event)
            if not targets:
                return
            call = await self._call(event.linkedid)
            app = self.hub.app
            settings = getattr(app.state, "settings", None)
            built = await asyncio.to_thread(
                build_pop,
                app.state.session_factory,
                event,
                caller_number=(call or {}).get("caller_number"),
                joined=(call or {}).get("joined"),
                ring_cycle_seconds=float(getattr(settings, "ring_cycle_seconds", 5.0)),
                region=getattr(settings, "phone_region", "CN"),
                zone=getattr(settings, "zone", None),
                user_ids=targets,
            )
            if built is None:
                return
            user_id, frame, audits = built
            if self.hub.send_to_user(user_id, frame):
                self.stats.sent += 1
            # After the send, whether or not a socket was still there: the files were read for this user.
            self.audits.add(audits)
            self.stats.last_ms = (time.perf_counter() - started) * 1000
            self.stats.latencies_ms.append(self.stats.last_ms)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.stats.failures += 1
            log.exception("screen pop failed for %s ringing %s", event.interface, event.linkedid)
