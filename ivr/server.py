"""The FastAGI server: asyncio.start_server, one task per connection, routed by ``agi_network_script``.

It owns the connection's life: the header block within ``header_timeout``, a cap on concurrent sessions
(callers over the cap wait up to ``overflow_wait`` seconds for a slot), accounting of every session task,
and a clean stop (listening socket closed, running sessions given ``grace`` seconds, then cancelled; no task
or socket left behind). A peer that sends garbage or disconnects mid-header costs one logged line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ivr.agi import AgiError, AgiSession

log = logging.getLogger(__name__)

Handler = Callable[[AgiSession], Awaitable[None]]

IVR_SCRIPTS = ("ivr", "callback", "survey")


@dataclass
class ServerStats:
    accepted: int = 0
    completed: int = 0
    rejected: int = 0  # over the cap for longer than overflow_wait
    bad_headers: int = 0  # garbage, EOF or silence before the header block ended
    unknown_script: int = 0
    failed: int = 0  # the handler raised
    peak_sessions: int = 0


class FastAgiServer:
    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        max_sessions: int = 200,
        header_timeout: float = 10.0,
        command_timeout: float = 30.0,
        overflow_wait: float = 10.0,
    ) -> None:
        self.routes = dict(routes)
        self.host = host
        self.port = port
        self.max_sessions = max_sessions
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.overflow_wait = overflow_wait
        self.stats = ServerStats()
        self._slots = asyncio.Semaphore(max_sessions)
        self._active = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    @property
    def active_sessions(self) -> int:
        """Sessions holding a slot (past the cap check)."""
        return self._active

    @property
    def connections(self) -> int:
        """Connection tasks alive, including those waiting for a slot."""
        return len(self._tasks)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connected, self.host, self.port, limit=8192)
        sockets = self._server.sockets
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        log.info("FastAGI server on %s:%s (scripts %s)", self.host, self.port, ", ".join(self.routes))

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await asyncio.Event().wait()  # until cancelled (Ctrl-C or the app's shutdown)
        finally:
            await self.stop()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, let running sessions finish for ``grace`` seconds, cancel the rest."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        tasks = set(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        log.info("FastAGI server stopped (%s)", self.stats)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.accepted += 1
        peer = writer.get_extra_info("peername")
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), self.overflow_wait)
            except TimeoutError:
                self.stats.rejected += 1
                log.warning("FastAGI: %s concurrent sessions, refusing %s", self.max_sessions, peer)
                return
            self._active += 1
            self.stats.peak_sessions = max(self.stats.peak_sessions, self._active)
            try:
                await self._session(reader, writer, peer)
            finally:
                self._active -= 1
                self._slots.release()
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)
            self._tasks.discard(task)

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> None:
        try:
            session = await AgiSession.start(
                reader, writer, header_timeout=self.header_timeout, command_timeout=self.command_timeout
            )
        except AgiError as exc:
            self.stats.bad_headers += 1
            log.error("FastAGI: no valid header block from %s: %s", peer, exc)
            return
        script = session.headers.script
        handler = self.routes.get(script)
        if handler is None:
            self.stats.unknown_script += 1
            log.error("FastAGI: unknown script %r from %s (%s)", script, peer, session.headers.uniqueid)
            return
        try:
            await handler(session)
            self.stats.completed += 1
        except AgiError as exc:
            self.stats.failed += 1
            log.error("FastAGI %s %s: %s", script, session.headers.uniqueid, exc)
        except Exception:
            self.stats.failed += 1
            log.exception("FastAGI %s %s: handler failed", script, session.headers.uniqueid)
