"""The PBX link: one supervised AMI connection to Asterisk, built on panoramisk's ``AMIProtocol``.

Owns: connecting, the login check, actions with a timeout and their responses (single, EventList,
and a follow-up event such as ``OriginateResponse``), the Ping watchdog, reconnecting with back-off and
the resync (QueueStatus + QueueSummary + CoreShowChannels) after every (re)connect.

What panoramisk 1.4 gives and what is replaced here, and why:
- ``AMIProtocol`` is the asyncio protocol (transport, ``connection_made``, ``close``). Its
  ``data_received`` is replaced: bytes go to ``acd.ami.frames.FrameParser`` (its own line parser strips
  values, drops the last line of ``Response: Fail…`` frames and is slower).
- The action/response matching is done here, not by panoramisk's ``Action.add_message``: that treats a
  response whose message starts with "added" and ends with "to queue" (QueueAdd's ``Added interface to
  queue``) as an EventList start and never resolves the future, resolves ``Response: Error`` as a
  success-shaped message, and has no timeout. ``Manager`` is not used at all: its fixed-delay reconnect,
  unchecked login (a wrong secret only sets ``authenticated = False``) and fire-and-forget pinger are
  the gaps this module closes.
- Frames handed to ``on_frame``: every event frame except the items and ``…Complete`` of an EventList
  that this link asked for (those go to the caller of ``action_list`` / ``on_resync``). Events that
  arrive while a resync runs are held and handed over right after ``on_resync``, so a consumer loads
  the snapshot first and then applies what happened since.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from panoramisk.ami_protocol import AMIProtocol

from acd.ami.frames import Frame, FrameParser, encode_action
from acd.events import PbxConnected, PbxDisconnected, PbxResynced
from core.clock import utcnow

log = logging.getLogger(__name__)

Fields = Mapping[str, str] | Sequence[tuple[str, str]]


# --- errors --------------------------------------------------------------------------------------


class PbxError(Exception):
    """Base of every error the link raises."""


class PbxAuthenticationFailed(PbxError):
    def __init__(self, message: str) -> None:
        super().__init__(f"AMI login refused: {message}")
        self.message = message


class PbxTimeout(PbxError):
    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(f"no answer to {action} within {timeout:g} s")
        self.action = action
        self.timeout = timeout


class PbxActionError(PbxError):
    """``Response: Error`` (or a refused follow-up); ``message`` is the PBX's own text."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


class PbxNotConnected(PbxError):
    """No usable connection within the action's timeout (the link is reconnecting or closed)."""


class PbxConnectionLost(PbxError):
    """The connection went away while an action was waiting for its answer."""


# --- results and counters --------------------------------------------------------------------------


@dataclass
class LinkStats:
    frames: int = 0
    events: int = 0
    reconnects: int = 0  # successful connections after the first one
    ping_failures: int = 0
    action_timeouts: int = 0
    connect_failures: int = 0
    auth_failures: int = 0
    malformed_frames: int = 0  # from the parser: skipped, never fatal
    malformed_lines: int = 0
    unmatched_responses: int = 0  # a response nobody waits for (e.g. after its timeout)
    callback_errors: int = 0  # on_frame / on_event / on_resync raised: logged, link kept


@dataclass
class ResyncResult:
    """The PBX's view right after a (re)connect, as the EventList item frames."""

    at: datetime
    queues: list[Frame] = field(default_factory=list)  # QueueParams
    members: list[Frame] = field(default_factory=list)  # QueueMember
    entries: list[Frame] = field(default_factory=list)  # QueueEntry (waiting callers)
    summaries: list[Frame] = field(default_factory=list)  # QueueSummary
    channels: list[Frame] = field(default_factory=list)  # CoreShowChannel
    errors: list[str] = field(default_factory=list)  # a part the PBX refused (e.g. permissions)


# --- the protocol ----------------------------------------------------------------------------------


class _Pending:
    """One action waiting for its answer."""

    __slots__ = ("collect", "future", "items", "name", "response")

    def __init__(self, name: str, collect: bool) -> None:
        self.name = name
        self.collect = collect  # an EventList action: gather items until …Complete
        self.future: asyncio.Future[tuple[Frame, list[Frame]]] = asyncio.get_running_loop().create_future()
        self.response: Frame | None = None
        self.items: list[Frame] = []


class AmiProtocol(AMIProtocol):
    """panoramisk's protocol fed through our FrameParser, with our own action matching."""

    def __init__(self, link: AmiLink | None = None) -> None:
        super().__init__()
        self.link = link  # bound at creation: the banner and early frames may arrive in the first read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.parser = FrameParser()
        self.pending: dict[str, _Pending] = {}
        self.waiters: dict[tuple[str, str], asyncio.Future[Frame]] = {}
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    # panoramisk's send() wraps into its Action (sorted keys, own ids); we write our encoded bytes.
    def write(self, data: bytes) -> None:
        if self.closed:
            raise PbxConnectionLost("connection closed")
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        stats = parser.stats
        mf, ml = stats.malformed_frames, stats.malformed_lines
        frames = parser.feed(data)
        link = self.link
        if link is None:
            return
        link.stats.malformed_frames += stats.malformed_frames - mf
        link.stats.malformed_lines += stats.malformed_lines - ml
        link.stats.frames += len(frames)
        for frame in frames:
            try:
                self.handle_frame(frame, link)
            except Exception:  # a bad frame or a failing callback must never kill the link
                link.stats.callback_errors += 1
                log.exception("AMI frame handling failed: %r", frame)

    def handle_frame(self, frame: Frame, link: AmiLink) -> None:
        action_id = frame.get("ActionID")
        event = frame.get("Event")
        if event is None:
            pending = self.pending.get(action_id) if action_id is not None else None
            if pending is None or pending.response is not None:
                link.stats.unmatched_responses += 1
                return
            pending.response = frame
            if not (
                pending.collect and frame.get("Response") == "Success" and frame.get("EventList") == "start"
            ):
                self._finish(action_id, pending)  # type: ignore[arg-type]
            return
        if action_id is not None:
            pending = self.pending.get(action_id)
            if pending is not None and pending.collect and pending.response is not None:
                if frame.get("EventList") == "Complete" or event.endswith("Complete"):
                    expected = frame.get("ListItems")
                    if expected is not None and expected != str(len(pending.items)):
                        log.warning(
                            "%s: ListItems %s but %d items", pending.name, expected, len(pending.items)
                        )
                    self._finish(action_id, pending)
                else:
                    pending.items.append(frame)
                return
            waiter = self.waiters.pop((action_id, event), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)
        link.deliver(frame)

    def _finish(self, action_id: str, pending: _Pending) -> None:
        del self.pending[action_id]
        if not pending.future.done():
            assert pending.response is not None
            pending.future.set_result((pending.response, pending.items))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = f"connection lost: {exc}" if exc else "connection closed by the PBX"
        error = PbxConnectionLost(reason)
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self.pending.clear()
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_exception(error)
        self.waiters.clear()
        if not self.lost.done():
            self.lost.set_result(reason)

    def abort(self, reason: str) -> None:
        """Drop the connection now (half-open: a FIN might never be acknowledged)."""
        if not self.lost.done():
            self.lost.set_result(reason)
        self.closed = True
        self.transport.abort()


def _retrieve(future: asyncio.Future[Any]) -> None:
    # A future failed by connection_lost that nobody awaits any more must not warn at GC time.
    if not future.cancelled():
        future.exception()


# --- the link --------------------------------------------------------------------------------------


class AmiLink:
    """A supervised AMI connection. ``await start()``, then ``action`` / ``action_list`` /
    ``action_with_event``; ``await close()`` at the end."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        on_frame: Callable[[Frame], None] | None = None,
        on_event: Callable[[object], None] | None = None,
        on_resync: Callable[[ResyncResult], None] | None = None,
        action_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        ping_interval: float = 5.0,
        ping_timeout: float | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        auth_backoff: float = 10.0,
        jitter: float = 0.25,
        stable_after: float = 2.0,
        events: str | None = None,
        resync: bool = True,
        clock: Callable[[], datetime] = utcnow,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.on_frame = on_frame
        self.on_event = on_event
        self.on_resync = on_resync
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = action_timeout if ping_timeout is None else ping_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.auth_backoff = auth_backoff
        self.jitter = jitter
        self.stable_after = stable_after  # a session shorter than this keeps the back-off growing
        self.events = events
        self.resync_on_connect = resync
        self.clock = clock
        self.rng = rng
        self.stats = LinkStats()
        self.version: str | None = None
        self.last_error: BaseException | None = None
        self.last_resync: ResyncResult | None = None
        self._protocol: AmiProtocol | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._first_outcome: asyncio.Future[None] | None = None
        self._held: list[Frame] | None = None  # events arriving during a resync
        self._ids = itertools.count(1)
        self._id_prefix = f"acd-{uuid.uuid4().hex[:8]}"
        self._connections = 0

    # --- public ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def start(self, *, wait: bool = True, time_limit: float | None = None) -> None:
        """Start the supervisor (connect, login, resync, watch, reconnect for ever).

        With ``wait`` it returns once the first connection is up; a refused login raises
        ``PbxAuthenticationFailed`` (the supervisor keeps retrying with back-off), and ``time_limit``
        raises ``PbxTimeout``. A PBX that is down simply means waiting: the link keeps trying."""
        if self._supervisor is None:
            self._closing = False
            self._first_outcome = asyncio.get_running_loop().create_future()
            self._first_outcome.add_done_callback(_retrieve)
            self._supervisor = asyncio.create_task(self._supervise(), name="ami-link-supervisor")
        if wait and not self._ready.is_set():
            assert self._first_outcome is not None
            try:
                await asyncio.wait_for(asyncio.shield(self._first_outcome), time_limit)
            except TimeoutError:
                # chained to the last failure (e.g. the PbxTimeout of an unanswered Login)
                raise PbxTimeout("connect", time_limit or 0.0) from self.last_error

    async def wait_connected(self, time_limit: float | None = None) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), time_limit)
        except TimeoutError:
            raise PbxNotConnected(f"not connected within {time_limit:g} s") from None

    async def close(self) -> None:
        """Log off (best effort), stop the supervisor and the watchdog; no task is left behind."""
        self._closing = True
        protocol = self._protocol
        if protocol is not None and self._ready.is_set():
            with contextlib.suppress(PbxError, OSError):
                await self._send(protocol, [("Action", "Logoff")], time_limit=min(1.0, self.action_timeout))
        for task in (self._watchdog, self._supervisor):
            if task is not None and not task.done():
                task.cancel()
        for task in (self._watchdog, self._supervisor):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watchdog = self._supervisor = None
        if protocol is not None and not protocol.closed:
            protocol.transport.close()
        self._protocol = None
        self._ready.clear()

    async def action(self, fields: Fields, *, time_limit: float | None = None) -> Frame:
        """Send one action; return its ``Response: Success`` frame. ``Response: Error`` →
        ``PbxActionError``; no answer → ``PbxTimeout``."""
        protocol, left = await self._usable(time_limit)
        response, _ = await self._send(protocol, fields, time_limit=left)
        return response

    async def action_list(self, fields: Fields, *, time_limit: float | None = None) -> list[Frame]:
        """Send an EventList action (QueueStatus, QueueSummary, CoreShowChannels…); return the items
        collected until the ``…Complete`` event with the same ActionID."""
        protocol, left = await self._usable(time_limit)
        _, items = await self._send(protocol, fields, time_limit=left, collect=True)
        return items

    async def action_with_event(
        self, fields: Fields, event: str, *, time_limit: float | None = None, event_timeout: float
    ) -> tuple[Frame, Frame]:
        """Send an action and wait for its response and then for ``event`` carrying the same ActionID
        (``Originate`` with ``Async: true`` → ``OriginateResponse``)."""
        protocol, left = await self._usable(time_limit)
        action_id = self._next_id()
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(_retrieve)
        protocol.waiters[(action_id, event)] = waiter  # before sending: both may come in one read
        try:
            response, _ = await self._send(protocol, fields, time_limit=left, action_id=action_id)
            try:
                followup = await asyncio.wait_for(asyncio.shield(waiter), event_timeout)
            except TimeoutError:
                self.stats.action_timeouts += 1
                raise PbxTimeout(f"{_name(fields)} ({event})", event_timeout) from None
            return response, followup
        finally:
            protocol.waiters.pop((action_id, event), None)
            if not waiter.done():
                waiter.cancel()

    async def resync(self) -> ResyncResult:
        """Ask the PBX for its queues, members, waiting callers and channels."""
        protocol, _ = await self._usable(None)
        return await self._resync(protocol)

    # --- plumbing ---------------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    async def _usable(self, time_limit: float | None) -> tuple[AmiProtocol, float]:
        limit = self.action_timeout if time_limit is None else time_limit
        if not self._ready.is_set():
            if self._closing or self._supervisor is None:
                raise PbxNotConnected("the link is not started")
            loop = asyncio.get_running_loop()
            started = loop.time()
            await self.wait_connected(limit)
            limit = max(0.0, limit - (loop.time() - started))  # one limit for waiting + answering
        protocol = self._protocol
        if protocol is None or protocol.closed:
            raise PbxNotConnected("no connection")
        return protocol, limit

    async def _send(
        self,
        protocol: AmiProtocol,
        fields: Fields,
        *,
        time_limit: float | None = None,
        collect: bool = False,
        action_id: str | None = None,
    ) -> tuple[Frame, list[Frame]]:
        limit = self.action_timeout if time_limit is None else time_limit
        items = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        name = _name(items)
        action_id = action_id or self._next_id()
        items = [(k, v) for k, v in items if k != "ActionID"]
        items.insert(1 if items and items[0][0] == "Action" else 0, ("ActionID", action_id))
        pending = _Pending(name, collect)
        pending.future.add_done_callback(_retrieve)
        protocol.pending[action_id] = pending
        try:
            protocol.write(encode_action(items))
            response, listed = await asyncio.wait_for(asyncio.shield(pending.future), limit)
        except TimeoutError:
            self.stats.action_timeouts += 1
            raise PbxTimeout(name, limit) from None
        finally:
            protocol.pending.pop(action_id, None)
        if response.get("Response") == "Error":
            raise PbxActionError(name, response.get("Message", ""))
        return response, listed

    def deliver(self, frame: Frame) -> None:
        self.stats.events += 1
        if self._held is not None:
            self._held.append(frame)
        elif self.on_frame is not None:
            self.on_frame(frame)

    def _emit(self, event: object) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("on_event failed for %r", event)

    def _delay(self, base: float) -> float:
        # Jitter spreads the reconnects of many links after a PBX restart.
        delay = min(self.backoff_max, base) * (1.0 - self.jitter + 2.0 * self.jitter * self.rng())
        return min(self.backoff_max, delay)

    async def _connect_once(self) -> AmiProtocol:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: AmiProtocol(self), self.host, self.port), self.connect_timeout
            )
        except TimeoutError:
            raise PbxTimeout("connect", self.connect_timeout) from None
        assert isinstance(protocol, AmiProtocol)
        # Events are held from the first byte until the resync is handed over: FullyBooted may share
        # the login response's read.
        self._held = []
        try:
            login: list[tuple[str, str]] = [
                ("Action", "Login"),
                ("Username", self.username),
                ("Secret", self.secret),
            ]
            if self.events is not None:
                login.append(("Events", self.events))
            try:
                await self._send(protocol, login)
            except PbxActionError as exc:
                raise PbxAuthenticationFailed(exc.message) from None
        except BaseException:
            self._held = None
            protocol.transport.close()
            raise
        self.version = protocol.parser.version
        return protocol

    async def _resync(self, protocol: AmiProtocol) -> ResyncResult:
        result = ResyncResult(at=self.clock())
        for action in ("QueueStatus", "QueueSummary", "CoreShowChannels"):
            try:
                _, items = await self._send(protocol, [("Action", action)], collect=True)
            except PbxActionError as exc:
                # A limited AMI user may not be allowed one part; the rest is still worth having.
                result.errors.append(f"{action}: {exc.message}")
                continue
            for item in items:
                kind = item.get("Event")
                if kind == "QueueParams":
                    result.queues.append(item)
                elif kind == "QueueMember":
                    result.members.append(item)
                elif kind == "QueueEntry":
                    result.entries.append(item)
                elif kind == "QueueSummary":
                    result.summaries.append(item)
                elif kind == "CoreShowChannel":
                    result.channels.append(item)
        return result

    async def _session(self, protocol: AmiProtocol) -> None:
        """Login done: resync (holding live events), announce, then watch until the connection ends."""
        self._protocol = protocol
        result: ResyncResult | None = None
        try:
            if self.resync_on_connect:
                result = await self._resync(protocol)
        except BaseException:
            self._held = None
            raise
        self._emit(PbxConnected(at=self.clock(), version=self.version))
        held, self._held = self._held or [], None
        if result is not None:
            self.last_resync = result
            if self.on_resync is not None:
                try:
                    self.on_resync(result)
                except Exception:
                    self.stats.callback_errors += 1
                    log.exception("on_resync failed")
            self._emit(
                PbxResynced(
                    at=self.clock(),
                    queues=len(result.queues),
                    members=len(result.members),
                    waiting_callers=len(result.entries),
                    channels=len(result.channels),
                )
            )
        for frame in held:
            if self.on_frame is not None:
                try:
                    self.on_frame(frame)
                except Exception:
                    self.stats.callback_errors += 1
                    log.exception("on_frame failed: %r", frame)
        self._ready.set()
        if self._first_outcome is not None and not self._first_outcome.done():
            self._first_outcome.set_result(None)
        self._watchdog = asyncio.create_task(self._watch(protocol), name="ami-link-watchdog")
        try:
            reason = await protocol.lost
        finally:
            self._ready.clear()
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
            self._protocol = None
        if not self._closing:
            log.warning("AMI link down: %s", reason)
            self._emit(PbxDisconnected(at=self.clock(), reason=reason))

    async def _watch(self, protocol: AmiProtocol) -> None:
        """Ping every ``ping_interval``; a Ping without answer means a half-open connection."""
        while not protocol.closed:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._send(protocol, [("Action", "Ping")], time_limit=self.ping_timeout)
            except PbxTimeout:
                self.stats.ping_failures += 1
                protocol.abort(f"no answer to Ping within {self.ping_timeout:g} s (half-open)")
                return
            except PbxError:
                return

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        # The first try after a drop is immediate (a restart is refused once, then accepts 0.5 s later).
        base = 0.0
        flaps = 0
        while not self._closing:
            if base:
                await asyncio.sleep(self._delay(base))
            try:
                protocol = await self._connect_once()
            except PbxAuthenticationFailed as exc:
                self.stats.auth_failures += 1
                self.last_error = exc
                log.error("%s; retrying with back-off", exc)
                self._fail_first(exc)
                # don't hammer a PBX that refuses us: a wrong secret will not fix itself in 0.5 s
                base = min(self.backoff_max, max(self.auth_backoff, base * 2))
                continue
            except (OSError, PbxError) as exc:
                self.stats.connect_failures += 1
                self.last_error = exc
                base = self.backoff_initial if not base else min(self.backoff_max, base * 2)
                continue
            try:
                if self._connections:
                    self.stats.reconnects += 1
                self._connections += 1
                self.last_error = None
                started = loop.time()
                await self._session(protocol)
                if loop.time() - started >= self.stable_after:
                    flaps, base = 0, 0.0
                else:  # up and down again at once: keep backing off instead of looping
                    flaps += 1
                    base = min(self.backoff_max, self.backoff_initial * 2 ** (flaps - 1))
            except PbxError as exc:  # resync timed out or the connection died during it
                self.last_error = exc
                self.stats.connect_failures += 1
                if not protocol.closed:
                    protocol.abort(str(exc))
                self._protocol = None
                base = self.backoff_initial

    def _fail_first(self, exc: BaseException) -> None:
        if self._first_outcome is not None and not self._first_outcome.done():
            self._first_outcome.set_exception(exc)


def _name(fields: Fields) -> str:
    items = fields.items() if isinstance(fields, Mapping) else fields
    for key, value in items:
        if key == "Action":
            return value
    return "?"
