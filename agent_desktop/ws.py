"""The websocket hub: ``GET /ws`` streams the ACD's live state to agent desktops and team-lead wallboards,
each client filtered to its scope (``agent_desktop.scopes``). The protocol is in ``docs/websocket.md``.

Owns the authentication of a websocket (session cookie or ``?token=``, Origin check, audited refusals), the
per-process ``Hub`` (one bus subscription to ``acd.delta``, a mirror of the state it has relayed, a history
ring for resumes) and the per-connection ``Connection`` (bounded send queue, sender and receiver tasks).

One hub per app process, started with its first client and stopped with its last (no task outlives the
connections). It never waits for a client: frames go into each client's bounded queue and a client whose
queue is full is closed with 1013 (it reconnects and resumes).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections import deque
from collections.abc import Collection
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, WebSocket
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from acd.state import Delta
from agent_desktop.notices import Notices
from agent_desktop.scopes import Member, Scope, scope_for, scopes_for_role, visible_state
from agent_desktop.screen_pop import ScreenPop
from core import i18n
from core.audit import service as audit
from core.audit.service import Actor
from core.bus import Subscription
from core.clock import utcnow
from core.db import transaction
from core.people.models import LoginSession, Team, User
from core.people.service import active_login
from core.web import LANGUAGE_COOKIE, SESSION_COOKIE, CurrentUser

__all__ = [
    "CLOSE_BAD_ORIGIN",
    "CLOSE_NOT_AUTHENTICATED",
    "CLOSE_TOO_SLOW",
    "Hub",
    "Viewer",
    "read_redis_mirror",
    "router",
    "viewer_for_token",
]

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_BAD_ORIGIN = 4403
CLOSE_TOO_SLOW = 1013  # "try again later": reconnect and resume
CLOSE_GOING_AWAY = 1001
CLOSE_SERVER_ERROR = 1011

# Defaults; an app may override them with app.state.ws_heartbeat_seconds / ws_sync_seconds /
# ws_queue_size / ws_history / ws_linger_seconds (the tests do).
HEARTBEAT_SECONDS = 15.0
SYNC_SECONDS = 5.0
QUEUE_SIZE = 2000
LINGER_SECONDS = 30.0
HISTORY = 10_000
AUDIT_DRAIN_SECONDS = 10.0
RELAY_SLICE_SECONDS = 0.005  # the longest the relay works through a backlog before letting others run
MAX_MESSAGE = 4096  # characters of one client message
TOPIC = "acd.delta"
SLOTS = 10  # sync/heartbeat frames go out to a tenth of the sockets per tick: no bursts
_SECTIONS = {"call": "calls", "queue": "queues", "agent": "agents"}
_gc_frozen = False  # see Hub._start


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Viewer:
    """The user behind a websocket, with what the scopes need: their phone and their team."""

    user: CurrentUser
    pbx_interface: str | None
    team: tuple[Member, ...] = ()
    token_hash: str = ""

    @property
    def member(self) -> Member:
        return Member(self.user.full_name, self.pbx_interface)

    def public(self) -> dict[str, Any]:
        u = self.user
        return {
            "id": u.id,
            "username": u.username,
            "full_name": u.full_name,
            "role": u.role.value,
            "team_id": u.team_id,
            "agent_number": u.agent_number,
            "pbx_interface": self.pbx_interface,
            "language": u.language,
        }


def viewer_for_token(
    session_factory: sessionmaker[Session],
    token: str,
    client_address: str | None = None,
    *,
    session_hours: int = 12,
) -> Viewer | None:
    """The login behind a token (``core.people.service.active_login``, as for HTTP), plus the user's phone
    and their team's members. Blocking: call from a thread."""
    with transaction(session_factory) as session:
        login = active_login(session, token=token, hours=session_hours)
        if login is None:
            return None
        u = login.user
        # The team: users of the same team_id, and those of the teams this user leads.
        led = select(Team.id).where(Team.lead_id == u.id)
        conditions: list[ColumnElement[bool]] = [User.team_id.in_(led)]
        if u.team_id is not None:
            conditions.append(User.team_id == u.team_id)
        rows = session.scalars(
            select(User).where(or_(*conditions), User.active.is_(True), User.id != u.id)
        ).all()
        team = tuple(Member(r.full_name, r.pbx_interface) for r in rows)
        user = CurrentUser.of(u, client_address)
        return Viewer(user=user, pbx_interface=u.pbx_interface, team=team, token_hash=login.token_hash)


def live_sessions(
    session_factory: sessionmaker[Session], token_hashes: Collection[str], *, session_hours: int = 12
) -> set[str]:
    """Which of these sessions are still valid (unexpired, active user); an open socket counts as activity,
    so their expiry slides as for HTTP requests. Blocking: call from a thread."""
    now = utcnow()
    valid: set[str] = set()
    slide: list[str] = []
    # Only the columns needed (no ORM objects: 1,000 sockets must not stall a worker holding the GIL).
    query = (
        select(LoginSession.token_hash, LoginSession.expires_at, LoginSession.last_seen_at)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash.in_(list(token_hashes)), User.active.is_(True))
    )
    with transaction(session_factory) as session:
        for token_hash, expires_at, last_seen_at in session.execute(query):
            if expires_at <= now:
                continue
            if now - last_seen_at > timedelta(minutes=1):
                slide.append(token_hash)
            valid.add(token_hash)
        if slide:
            session.execute(
                update(LoginSession)
                .where(LoginSession.token_hash.in_(slide))
                .values(last_seen_at=now, expires_at=now + timedelta(hours=session_hours))
                .execution_options(synchronize_session=False)
            )
    return valid


def _audit_refusal(
    session_factory: sessionmaker[Session],
    action: str,
    client_address: str | None,
    detail: dict[str, Any],
) -> None:
    """As ``core.web.audit_refusal``: in a transaction of its own (blocking: call from a thread)."""
    actor = Actor(None, None, client_address)
    with transaction(session_factory) as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            allowed=False,
            detail={"method": "GET", "path": "/ws", **detail},
        )


def _own_origin(websocket: WebSocket) -> str:
    scheme = "https" if websocket.url.scheme in ("wss", "https") else "http"
    return f"{scheme}://{websocket.url.netloc}"


# --------------------------------------------------------------------------- the state source


async def read_redis_mirror(redis_url: str, prefix: str = "acd") -> dict[str, Any] | None:
    """The state as ``acd.live.RedisMirror`` writes it (hashes + seq, read in one transaction); None while
    the mirror has never been written."""
    import redis.asyncio as aioredis

    client: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=2.0)
    try:
        pipe = client.pipeline(transaction=True)
        for name in ("calls", "queues", "agents"):
            pipe.hgetall(f"{prefix}:{name}")
        pipe.get(f"{prefix}:seq")
        calls, queues, agents, seq = await pipe.execute()
    finally:
        await client.aclose()
    if seq is None:
        return None

    def load(records: dict[str, str]) -> dict[str, Any]:
        return {key: json.loads(value) for key, value in records.items()}

    # The mirror does not hold the link's state.
    return {
        "seq": int(seq),
        "calls": load(calls),
        "queues": load(queues),
        "agents": load(agents),
        "pbx": None,
    }


def _empty_state(seq: int = 0) -> dict[str, Any]:
    return {"seq": seq, "calls": {}, "queues": {}, "agents": {}, "pbx": None}


# --------------------------------------------------------------------------- the hub


@dataclass(slots=True)
class _Entry:
    """A delta the hub relayed, with the record it replaced and the interfaces whose agent changed name."""

    delta: Delta
    prev: dict[str, Any] | None
    moved: frozenset[str]
    # The frame's text, encoded once for every socket (plain slots: the history holds 10,000 entries, and
    # fewer objects for the collector to scan means shorter pauses).
    _text: str | None = None
    _removal: str | None = None

    def text(self, removal: bool) -> str:
        cached = self._removal if removal else self._text
        if cached is None:
            d = self.delta
            cached = _dumps(
                {
                    "type": "delta",
                    "seq": d.seq,
                    "kind": d.kind,
                    "key": d.key,
                    "data": None if removal else d.data,
                }
            )
            if removal:
                self._removal = cached
            else:
                self._text = cached
        return cached


class Hub:
    """The process's relay of ``acd.delta`` to its websocket clients (see the module docstring)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        state = app.state
        self.heartbeat_seconds = float(getattr(state, "ws_heartbeat_seconds", HEARTBEAT_SECONDS))
        self.sync_seconds = float(getattr(state, "ws_sync_seconds", SYNC_SECONDS))
        self.queue_size = int(getattr(state, "ws_queue_size", QUEUE_SIZE))
        self.seq = 0
        self.state: dict[str, Any] = _empty_state()
        self.names_by_interface: dict[str, set[str]] = {}
        self.history: deque[_Entry] = deque(maxlen=int(getattr(state, "ws_history", HISTORY)))
        self.clients: set[Connection] = set()
        # Who may see what (ready sockets only), so that a delta goes to the few sockets it concerns rather
        # than being tested against every one: ``viewers`` every non-empty scope (reset, pbx), ``wide`` the
        # "all" scopes, ``queue_viewers`` the scopes that see queues, and the own/team scopes by the member
        # names and phone interfaces of their agents and by the member names whose calls they see.
        self.viewers: set[Connection] = set()
        self.wide: set[Connection] = set()
        self.queue_viewers: set[Connection] = set()
        self.by_name: dict[str, set[Connection]] = {}
        self.by_interface: dict[str, set[Connection]] = {}
        self.by_member: dict[str, set[Connection]] = {}
        self._slots: list[set[Connection]] = [set() for _ in range(SLOTS)]
        # Sockets by their user, and the users' phones and names (the screen pop's targets), so that a pop
        # or a notice does not scan every socket; the sockets owed a snapshot after a burst.
        self.by_user: dict[int, set[Connection]] = {}
        self.by_phone: dict[str, set[Connection]] = {}
        self.by_full_name: dict[str, set[Connection]] = {}
        self.stale: set[Connection] = set()
        self._joined = 0
        self.closed = False
        self.snapshots_loaded = 0
        self._sub: Subscription | None = None
        self._starting: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._linger: asyncio.Task[None] | None = None
        self._checking: asyncio.Task[None] | None = None
        self.linger_seconds = float(getattr(state, "ws_linger_seconds", LINGER_SECONDS))
        self.pops = ScreenPop(self)  # the screen pop (``pop`` frames), started with the hub
        self.notices = Notices(self)  # escalations to the team lead (``notice`` frames)

    # -- lifecycle

    async def join(self, conn: Connection, since: int | None) -> None:
        """Register a client and queue its first frames (snapshot, or the deltas after ``since``)."""
        self.clients.add(conn)
        viewer = conn.viewer
        self.by_user.setdefault(viewer.user.id, set()).add(conn)
        if viewer.pbx_interface:
            self.by_phone.setdefault(viewer.pbx_interface, set()).add(conn)
        if viewer.user.full_name:
            self.by_full_name.setdefault(viewer.user.full_name, set()).add(conn)
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)
        # No await from here on: the first frames and the live stream join without a gap or overlap.
        if since is None:
            conn.send_snapshot()
        else:
            conn.resume(since)
        conn.ready = True
        self.index(conn)
        # Sync and heartbeat frames go out a slot at a time: the sockets are spread over the slots.
        conn.slot = self._joined % SLOTS
        self._joined += 1
        conn.next_beat = asyncio.get_running_loop().time() + self.heartbeat_seconds
        self._slots[conn.slot].add(conn)

    def leave(self, conn: Connection) -> None:
        """Unregister a client; the last one out stops the hub, after ``linger`` seconds (so that a desktop
        reconnecting at once still gets its missed deltas rather than a snapshot). Never waits: it runs in
        the cleanup of a connection that may be being cancelled."""
        self.clients.discard(conn)
        self.unindex(conn)
        self._slots[conn.slot].discard(conn)
        self.stale.discard(conn)
        viewer = conn.viewer
        _remove(self.by_user, (viewer.user.id,), conn)
        _remove(self.by_phone, (viewer.pbx_interface,) if viewer.pbx_interface else (), conn)
        _remove(self.by_full_name, (viewer.user.full_name,), conn)
        if self.clients or self.closed or self._linger is not None:
            return
        started = self._starting is not None and self._starting.done()
        delay = self.linger_seconds if started else 0.0
        self._linger = asyncio.get_running_loop().create_task(self._close_later(delay), name="ws-hub-linger")

    async def _close_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self.clients:
            self._linger = None
            await self.close()

    def _stop(self) -> list[asyncio.Task[None]]:
        """Mark closed, close the clients and cancel the tasks (but the caller's own); returns them."""
        self.closed = True
        if getattr(self.app.state, "ws_hub", None) is self:
            self.app.state.ws_hub = None
        for conn in list(self.clients):
            conn.kill(CLOSE_GOING_AWAY)
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        current = asyncio.current_task()
        tasks = [
            t for t in [*self._tasks, self._linger, self._checking] if t is not None and t is not current
        ]
        self._tasks, self._linger, self._checking = [], None, None
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self) -> None:
        for task in self._stop():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The audit rows of the pops already sent are written before the hub goes (bounded: a database
        # that stays down cannot hold the shutdown; they are logged as not written then).
        try:
            async with asyncio.timeout(AUDIT_DRAIN_SECONDS):
                await self.pops.audits.drain()
        except TimeoutError:
            log.error("%d pop audit rows could not be written", len(self.pops.audits.pending))
        if self._sub is not None:
            await self._sub.close()
            self._sub = None

    async def _start(self) -> None:
        global _gc_frozen
        if not _gc_frozen:
            # What the app built until now (modules, classes, settings, pools) lives as long as the process:
            # moved out of the collector's sight once, so that the full collections that come with the
            # live traffic do not stop the loop for hundreds of ms scanning it (the screen pop's p99).
            _gc_frozen = True
            gc.collect()
            gc.freeze()
            # and fewer, larger young collections: at 50 calls/s × 1,000 desktops the default 700 made the
            # older generations' passes the pop's p99 (bench.desktop: 310 → ~40 ms with this and 5 s syncs)
            gc.set_threshold(50_000, 20, 100)
        bus = self.app.state.bus
        # Subscribe before the snapshot: whatever the snapshot misses comes through the subscription.
        self._sub = await bus.subscribe(TOPIC, maxsize=max(self.history.maxlen or 0, 1000))
        self._install(await self._load_snapshot())
        self._tasks = [
            asyncio.create_task(self._relay(), name="ws-hub-relay"),
            asyncio.create_task(self._tick(), name="ws-hub-tick"),
        ]
        self._tasks.append(await self.pops.start())
        self._tasks.append(await self.notices.start())

    async def _load_snapshot(self) -> dict[str, Any]:
        acd = getattr(self.app.state, "acd", None)
        if acd is not None:
            snapshot: dict[str, Any] = acd.publisher.snapshot()
            return snapshot
        settings = getattr(self.app.state, "settings", None)
        redis_url = getattr(settings, "redis_url", None)
        if redis_url:
            mirrored = await read_redis_mirror(redis_url)
            if mirrored is not None:
                return mirrored
        return _empty_state(self.seq)

    def _install(self, snapshot: dict[str, Any]) -> None:
        self.snapshots_loaded += 1
        self.seq = int(snapshot["seq"])
        self.state = {name: dict(snapshot.get(name) or {}) for name in ("calls", "queues", "agents")}
        self.state["pbx"] = snapshot.get("pbx")
        self.history.clear()  # the ring must hold consecutive seqs: older resumes get a snapshot
        self.names_by_interface = {}
        for name, agent in self.state["agents"].items():
            if agent.get("interface"):
                self.names_by_interface.setdefault(agent["interface"], set()).add(name)

    # -- who sees what

    def index(self, conn: Connection) -> None:
        """File a ready socket under what its scope may see (see ``__init__``)."""
        if conn.indexed:
            return
        conn.indexed = True
        scope = conn.scope
        if scope.empty:
            return
        self.viewers.add(conn)
        if scope.everything:
            self.wide.add(conn)
            return
        if scope.queues:
            self.queue_viewers.add(conn)
        for name in scope.names:
            self.by_name.setdefault(name, set()).add(conn)
        for interface in scope.interfaces:
            self.by_interface.setdefault(interface, set()).add(conn)
        for member in conn.members:
            self.by_member.setdefault(member, set()).add(conn)

    def unindex(self, conn: Connection) -> None:
        if not conn.indexed:
            return
        conn.indexed = False
        scope = conn.scope
        self.viewers.discard(conn)
        self.wide.discard(conn)
        self.queue_viewers.discard(conn)
        for index, keys in (
            (self.by_name, scope.names),
            (self.by_interface, scope.interfaces),
            (self.by_member, conn.members),
        ):
            _remove(index, keys, conn)

    def reindex_members(self, conn: Connection, old: frozenset[str], new: frozenset[str]) -> None:
        """A socket's member names changed (an agent moved phones): refile it under the new ones."""
        if not conn.indexed or conn.scope.everything:
            return
        _remove(self.by_member, old - new, conn)
        for member in new - old:
            self.by_member.setdefault(member, set()).add(conn)

    def _targets(self, delta: Delta, prev: dict[str, Any] | None, moved: frozenset[str]) -> set[Connection]:
        """Every ready socket that may see this delta, or saw the record it replaces (a superset: each
        socket still applies its own scope's rule in ``Connection.relay``)."""
        kind = delta.kind
        if kind in ("reset", "pbx"):
            return set(self.viewers)
        targets = set(self.wide)
        if kind == "queue":
            targets |= self.queue_viewers
        elif kind == "agent":
            by_name, by_interface = self.by_name, self.by_interface
            for record in (delta.data, prev):
                if record:
                    targets |= _at(by_name, record.get("name"))
                    targets |= _at(by_interface, record.get("interface"))
            for interface in moved:
                targets |= by_interface.get(interface, _NOBODY)
        elif kind == "call":
            by_member = self.by_member
            for record in (delta.data, prev):
                if record:
                    targets |= _at(by_member, record.get("agent"))
                    for name in record.get("ringing") or ():
                        targets |= _at(by_member, name)
        return targets

    # -- the relay

    async def _relay(self) -> None:
        sub = self._sub
        assert sub is not None
        clock = time.perf_counter
        slice_end: float | None = None
        try:
            async for item in sub:
                if slice_end is None:
                    slice_end = clock() + RELAY_SLICE_SECONDS
                if not isinstance(item, Delta):
                    continue
                try:
                    await self._take(item)
                except Exception:  # one bad delta must not stop the relay
                    log.exception("websocket hub could not relay %r", item)
                if sub.qsize() == 0:
                    self._flush_stale()
                    slice_end = None  # the next item comes after a wait
                elif clock() >= slice_end:
                    # A backlog is worked through in slices: the ACD, the pops and the senders run in
                    # between rather than starving behind it.
                    await asyncio.sleep(0)
                    slice_end = None
        finally:
            if not self.closed:
                # The bus went away (the app is stopping): clients reconnect and resume later.
                self._stop()

    async def _take(self, delta: Delta) -> None:
        if delta.seq <= self.seq:
            return  # already in the snapshot, or a duplicate
        if delta.seq > self.seq + 1:
            await self._fill_gap(delta.seq)
            if delta.seq <= self.seq:
                return
        self.apply(delta)

    async def _fill_gap(self, upto: int) -> None:
        """Deltas were lost between the bus and us: take them from the publisher's ring when this process
        runs the ACD, else a fresh snapshot (sent to every client)."""
        acd = getattr(self.app.state, "acd", None)
        missing = acd.publisher.deltas_since(self.seq) if acd is not None else None
        if missing is not None and missing and missing[0].seq == self.seq + 1:
            for delta in missing:
                if delta.seq >= upto:
                    break
                self.apply(delta)
            if self.seq == upto - 1:
                return
        # A Redis mirror may lag the bus a little: retry briefly until it covers what came before ``upto``.
        snapshot = await self._load_snapshot()
        for _ in range(20):
            if snapshot["seq"] >= upto - 1:
                break
            await asyncio.sleep(0.05)
            snapshot = await self._load_snapshot()
        self._install(snapshot)
        for conn in list(self.clients):
            if conn.ready:
                conn.send_snapshot()

    def apply(self, delta: Delta) -> None:
        """Relay one delta (the next seq) to every client whose scope it touches."""
        prev: dict[str, Any] | None = None
        moved: set[str] = set()
        kind = delta.kind
        if kind == "reset":
            for name in ("calls", "queues", "agents"):
                self.state[name] = {}
            moved.update(self.names_by_interface)
            self.names_by_interface = {}
        elif kind == "pbx":
            prev = self.state["pbx"]
            self.state["pbx"] = delta.data
        elif kind in _SECTIONS:
            records = self.state[_SECTIONS[kind]]
            prev = records.get(delta.key)
            if delta.data is None:
                records.pop(delta.key, None)
            else:
                records[delta.key] = delta.data
            if kind == "agent":
                old = prev.get("interface") if prev else None
                new = delta.data.get("interface") if delta.data else None
                if old != new:
                    if old:
                        names = self.names_by_interface.get(old)
                        if names is not None:
                            names.discard(delta.key)
                            if not names:
                                del self.names_by_interface[old]
                        moved.add(old)
                    if new:
                        self.names_by_interface.setdefault(new, set()).add(delta.key)
                        moved.add(new)
        self.seq = delta.seq
        entry = _Entry(delta, prev, frozenset(moved))
        self.history.append(entry)
        for conn in self._targets(delta, prev, entry.moved):
            conn.relay(entry)

    def send_to_user(self, user_id: int, frame: dict[str, Any]) -> int:
        """Queue ``frame`` (no seq) on every open socket of one user; how many sockets got it."""
        text = _dumps(frame)
        sent = 0
        for conn in list(self.by_user.get(user_id, ())):
            if conn.close_code is None:
                conn.send_text(text)
                sent += 1
        return sent

    def phone_users(self, interface: str, member: str) -> frozenset[int]:
        """The users connected here whose phone is ``interface`` or whose full name is ``member``."""
        conns = [*self.by_phone.get(interface, ()), *self.by_full_name.get(member, ())]
        return frozenset(conn.viewer.user.id for conn in conns)

    def entries_since(self, since: int) -> list[_Entry] | None:
        """The relayed entries after ``since``; None when they are not all in the history any more."""
        if since == self.seq:
            return []
        history = self.history
        if since > self.seq or not history:
            return None
        first = history[0].delta.seq
        if since + 1 < first:
            return None
        return list(history)[since + 1 - first :]

    def _flush_stale(self) -> None:
        if not self.stale:
            return
        stale, self.stale = self.stale, set()
        for conn in stale:
            if conn.ready and conn.stale and conn in self.clients:
                conn.send_snapshot()

    async def _tick(self) -> None:
        """Each socket gets a sync every ``sync_seconds`` (when its position is behind) and a heartbeat every
        ``heartbeat_seconds``, at its own phase: a tenth of the sockets per tick, so that 1,000 sockets
        never get their frames in one burst. The sessions are checked once per heartbeat period, a slot of
        sockets at a time too."""
        loop = asyncio.get_running_loop()
        period = min(self.sync_seconds, self.heartbeat_seconds)
        check_due = [loop.time() + self.heartbeat_seconds] * SLOTS
        tick = 0
        while True:
            await asyncio.sleep(period / SLOTS)
            self._flush_stale()
            now = loop.time()
            slot = tick % SLOTS
            checking = self._checking
            if now >= check_due[slot] and (checking is None or checking.done()):
                check_due[slot] = now + self.heartbeat_seconds
                due = [conn for conn in self._slots[slot] if conn.ready]
                if due:
                    # In the background: the relay goes on while the database answers.
                    self._checking = asyncio.create_task(self._check_sessions(due), name="ws-hub-sessions")
            seq = self.seq
            sync: str | None = None
            beat: str | None = None
            for conn in list(self._slots[slot]):
                if not conn.ready:
                    continue
                if now >= conn.next_beat:
                    conn.next_beat = now + self.heartbeat_seconds
                    if beat is None:
                        beat = _dumps({"type": "heartbeat", "seq": seq, "at": time.time()})
                    conn.send_text(beat, seq)
                elif conn.position < seq:
                    if sync is None:
                        sync = _dumps({"type": "sync", "seq": seq})
                    conn.send_text(sync, seq)
            tick += 1

    async def _check_sessions(self, checked: list[Connection]) -> None:
        """Close (4401) those of these sockets whose login ended: logged out, expired, user deactivated."""
        hashes = {conn.viewer.token_hash for conn in checked}
        if not hashes:
            return
        settings = getattr(self.app.state, "settings", None)
        try:
            valid = await run_in_threadpool(
                live_sessions,
                self.app.state.session_factory,
                hashes,
                session_hours=getattr(settings, "session_hours", 12),
            )
        except Exception:  # the database being down must not drop every desktop
            log.exception("websocket hub could not check sessions")
            return
        for conn in checked:
            if conn.viewer.token_hash not in valid:
                conn.kill(CLOSE_NOT_AUTHENTICATED)


_NOBODY: frozenset[Connection] = frozenset()
K = TypeVar("K")


def _at(index: dict[str, set[Connection]], key: object) -> AbstractSet[Connection]:
    found = index.get(key) if isinstance(key, str) else None
    return _NOBODY if found is None else found


def _remove(index: dict[K, set[Connection]], keys: Collection[K], conn: Connection) -> None:
    for key in keys:
        conns = index.get(key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del index[key]


def hub_of(app: FastAPI) -> Hub:
    hub: Hub | None = getattr(app.state, "ws_hub", None)
    if hub is None or hub.closed:
        hub = Hub(app)
        app.state.ws_hub = hub
    return hub


# --------------------------------------------------------------------------- one connection


class Connection:
    """One client: its viewer, scope, language and bounded queue of frames (JSON text) to send."""

    def __init__(self, websocket: WebSocket, viewer: Viewer, language: str, hub: Hub) -> None:
        self.websocket = websocket
        self.viewer = viewer
        self.language = language
        self.hub = hub
        self.scope = scope_for(viewer.user.role, None, viewer.member, viewer.team) or Scope("")
        self.members: frozenset[str] = frozenset()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(hub.queue_size)
        self.ready = False
        self.indexed = False  # filed in the hub's indexes (see Hub.index)
        self.slot = 0
        self.next_beat = 0.0
        self.stale = False
        self.position = 0  # the last seq this client was told about
        self.close_code: int | None = None
        self.sender: asyncio.Task[None] | None = None
        self.send(
            {"type": "hello", "user": viewer.public(), "scopes": list(scopes_for_role(viewer.user.role))}
        )

    # -- queueing (never waits)

    def send(self, frame: dict[str, Any], seq: int | None = None) -> None:
        self.send_text(_dumps(frame), seq)

    def send_text(self, text: str, seq: int | None = None) -> None:
        if self.close_code is not None:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.info("websocket client %s too slow: closed", self.viewer.user.username)
            self.kill(CLOSE_TOO_SLOW)
            return
        if seq is not None:
            self.position = seq

    def kill(self, code: int) -> None:
        """Close this client (from the hub): what is queued is dropped, the sender stops."""
        if self.close_code is not None:
            return
        self.close_code = code
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        # A sender stuck on a client that does not read would never see the None: stop it.
        if self.sender is not None and code == CLOSE_TOO_SLOW:
            self.sender.cancel()

    def error(self, code: str, **params: Any) -> None:
        message = i18n.translate(code, self.language, **params)
        self.send({"type": "error", "code": code, "message": message})

    # -- state frames

    def _members(self) -> frozenset[str]:
        return self.scope.member_names(self.hub.names_by_interface)

    def _set_members(self, members: frozenset[str]) -> None:
        old, self.members = self.members, members
        if old != members:
            self.hub.reindex_members(self, old, members)

    def send_snapshot(self) -> None:
        hub = self.hub
        self._set_members(self._members())
        self.stale = False
        data = visible_state(self.scope, hub.state, hub.names_by_interface)
        self.send({"type": "snapshot", "seq": hub.seq, "scope": self.scope.name, "data": data}, hub.seq)

    def relay(self, entry: _Entry) -> None:
        scope = self.scope
        if scope.empty:
            return
        d = entry.delta
        if d.kind == "reset":
            self.send_text(entry.text(False), d.seq)
            return
        if entry.moved and not scope.everything and entry.moved & scope.interfaces:
            members = self._members()
            if members != self.members:
                # Which calls are ours changed without a call delta: a snapshot follows the burst.
                self._set_members(members)
                self.stale = True
                self.hub.stale.add(self)
        members = self.members
        if scope.sees(d.kind, d.data, members):
            self.send_text(entry.text(False), d.seq)
        elif scope.sees(d.kind, entry.prev, members):
            self.send_text(entry.text(True), d.seq)  # gone, or left the scope: a removal for this client

    def resume(self, since: int) -> None:
        """The in-scope deltas after ``since`` then a sync, or a snapshot when they are not all known."""
        hub = self.hub
        entries = hub.entries_since(since)
        scope = self.scope
        if entries is not None and not scope.everything and any(e.moved & scope.interfaces for e in entries):
            entries = None  # whose calls are ours changed meanwhile: only a snapshot is exact
        if entries is None:
            self.send_snapshot()
            return
        self._set_members(self._members())
        for entry in entries:
            self.relay(entry)
        self.send({"type": "sync", "seq": hub.seq}, hub.seq)

    # -- client messages

    def handle(self, text: str) -> None:
        if len(text) > MAX_MESSAGE:
            self.error("error.ws.too_long", limit=MAX_MESSAGE)
            return
        try:
            message = json.loads(text)
        except ValueError:
            self.error("error.ws.not_json")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            self.error("error.ws.bad_message")
            return
        kind = message["type"]
        if kind == "ping" and message.keys() <= {"type", "id"}:
            pong: dict[str, Any] = {"type": "pong"}
            if "id" in message:
                pong["id"] = message["id"]
            self.send(pong)
        elif kind == "resume":
            since = message.get("since")
            if type(since) is not int or since < 0 or message.keys() != {"type", "since"}:
                self.error("error.ws.bad_fields", type=kind)
                return
            self.resume(since)
        elif kind == "subscribe":
            name = message.get("scope")
            if not isinstance(name, str) or message.keys() != {"type", "scope"}:
                self.error("error.ws.bad_fields", type=kind)
                return
            user = self.viewer
            scope = scope_for(user.user.role, name, user.member, user.team)
            if scope is None:
                self.error("error.scope_forbidden", scope=name)
                return
            self.hub.unindex(self)
            self.scope = scope
            self.send_snapshot()
            if self.ready:
                self.hub.index(self)
        elif kind == "ping":
            self.error("error.ws.bad_fields", type=kind)
        else:
            self.error("error.ws.unknown_type", type=kind[:40])

    async def run_sender(self) -> None:
        websocket = self.websocket
        while True:
            text = await self.queue.get()
            if text is None:
                with contextlib.suppress(Exception):
                    await websocket.close(self.close_code or 1000)
                return
            await websocket.send_text(text)

    async def run_receiver(self) -> None:
        websocket = self.websocket
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.error("error.ws.not_json")
                continue
            self.handle(text)


def _int_param(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        parsed = int(value)
    except ValueError:
        return None
    return parsed if parsed >= 0 else None


@router.websocket("/ws")
async def live_socket(websocket: WebSocket) -> None:
    """The live ACD state for this user's scope (protocol: docs/websocket.md)."""
    app: FastAPI = websocket.app
    factory: sessionmaker[Session] = app.state.session_factory
    address = websocket.client.host if websocket.client else None
    origin = websocket.headers.get("origin")
    if origin and origin.rstrip("/") != _own_origin(websocket):
        detail = {"reason": "error.bad_origin", "origin": origin[:200]}
        await run_in_threadpool(_audit_refusal, factory, "auth.forbidden", address, detail)
        # Accepted then closed: a browser sees the close code only after a completed handshake.
        await websocket.accept()
        await websocket.close(CLOSE_BAD_ORIGIN)
        return
    token = websocket.query_params.get("token") or websocket.cookies.get(SESSION_COOKIE)
    hours = getattr(getattr(app.state, "settings", None), "session_hours", 12)
    viewer = (
        await run_in_threadpool(viewer_for_token, factory, token, address, session_hours=hours)
        if token
        else None
    )
    if viewer is None:
        await run_in_threadpool(_audit_refusal, factory, "auth.unauthenticated", address, {})
        await websocket.accept()
        await websocket.close(CLOSE_NOT_AUTHENTICATED)
        return
    language = i18n.negotiate(
        websocket.query_params.get("lang"),
        websocket.cookies.get(LANGUAGE_COOKIE),
        viewer.user.language,
        accept_language=websocket.headers.get("accept-language"),
    )
    await websocket.accept()
    hub = hub_of(app)
    conn = Connection(websocket, viewer, language, hub)
    raw_since = websocket.query_params.get("since")
    since = _int_param(raw_since)
    if raw_since is not None and since is None:
        conn.error("error.ws.bad_fields", type="since")
    tasks: list[asyncio.Task[None]] = []
    try:
        try:
            await hub.join(conn, since)
        except Exception:
            log.exception("websocket hub could not start")
            conn.kill(CLOSE_SERVER_ERROR)
        conn.sender = asyncio.create_task(conn.run_sender(), name="ws-send")
        tasks = [conn.sender, asyncio.create_task(conn.run_receiver(), name="ws-receive")]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if conn.close_code is not None and conn.close_code != 1000 and conn.sender.cancelled():
            # The sender was stopped before it could say why (a client too slow to read).
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await websocket.close(conn.close_code)
    finally:
        # No await here: this also runs when the connection's task is cancelled (server shutdown).
        for task in tasks:
            task.cancel()
        hub.leave(conn)
