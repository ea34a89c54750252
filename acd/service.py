"""The running ACD: the PBX link feeding the translator, the live state (published on the bus) and the
durable call records; Asterisk's queue_log, followed as it grows, fills in what the link missed.

    AMI bytes → AmiLink → Translator → LivePublisher (live state, deltas on the bus)
                                     ↘ records writer (batches, in a worker thread: SQLAlchemy is sync)

The link's callbacks are synchronous and must stay fast, so they only queue events; one task applies them
to the live state in order, another writes records every ``flush_interval`` seconds. A database that is
slow or down delays the records, never the live picture; a failed batch is kept and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from acd.ami.frames import Frame
from acd.ami.link import AmiLink, ResyncResult
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentRinging,
    AgentUnpaused,
    PbxDisconnected,
)
from acd.live import LivePublisher, RedisMirror
from acd.records.queue_log import QueueConfig
from acd.records.service import ingest_events, ingest_queue_log
from acd.state import LiveState
from acd.translate import Translator
from core.bus import EventBus, share_in_process
from core.db import transaction

log = logging.getLogger(__name__)
EVENT_TOPIC = "acd.event"  # domain events other processes act on (the screen pop: agent_desktop.screen_pop)
# the screen pops (AgentRinging) and the reports' agent-state spans (log-in, pauses) follow these
EVENT_TOPIC_TYPES = (AgentRinging, AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentUnpaused)
for _type in EVENT_TOPIC_TYPES:
    share_in_process(_type)  # frozen, only read by the pops: in-process, no copy per subscriber
MAX_PENDING_RECORDS = 200_000  # events kept while the database is down; beyond, queue_log fills the gap


@dataclass
class AcdStats:
    events: int = 0
    records_written: int = 0
    record_batches_failed: int = 0
    records_dropped: int = 0
    event_publish_failures: int = 0


class AcdService:
    def __init__(
        self,
        *,
        bus: EventBus,
        session_factory: sessionmaker[Session],
        host: str,
        port: int,
        username: str,
        secret: str,
        queues: Mapping[str, QueueConfig] | None = None,
        region: str = "CN",
        flush_interval: float = 0.5,
        queue_log: Path | None = None,
        queue_log_interval: float = 5.0,
        redis_url: str | None = None,
    ) -> None:
        self.queues = dict(queues or {})
        wrapups = {name: float(q.wrapup_s or 0) for name, q in self.queues.items()}
        self.state = LiveState(wrapuptime=wrapups)
        self.mirror = RedisMirror(redis_url) if redis_url else None
        self.publisher = LivePublisher(self.state, bus, mirror=self.mirror)
        self.queue_log = queue_log
        self.queue_log_interval = queue_log_interval
        self._queue_log_offset = 0
        self.translator = Translator()
        self.session_factory = session_factory
        self.region = region
        self.flush_interval = flush_interval
        self.stats = AcdStats()
        self._live: asyncio.Queue[object] = asyncio.Queue()
        self._pending_records: list[object] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.link = AmiLink(
            host,
            port,
            username,
            secret,
            on_frame=self._on_frame,
            on_event=self._on_link_event,
            on_resync=self._on_resync,
            # A refused connect to the PBX is cheap to retry: a short cap keeps the link back within 2 s of
            # the PBX's return (a refused login still backs off for longer, inside the link).
            backoff_initial=0.25,
            backoff_max=1.0,
        )

    # --- link callbacks (synchronous, fast) ---------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        for event in self.translator.feed(frame):
            self._live.put_nowait(event)
            self._pending_records.append(event)

    def _on_link_event(self, event: object) -> None:
        if isinstance(event, PbxDisconnected):
            # Calls held back (an abandon waiting for its QUEUESTATUS) are settled; a new link starts clean.
            for held in self.translator.flush():
                self._live.put_nowait(held)
                self._pending_records.append(held)
            self.translator = Translator()
        self._live.put_nowait(event)

    def _on_resync(self, result: ResyncResult) -> None:
        self._live.put_nowait(result)

    # --- tasks ------------------------------------------------------------------------------------------

    async def _apply_live(self) -> None:
        while True:
            item = await self._live.get()
            self.stats.events += 1
            try:
                await self.publisher.handle(item)
            except Exception:  # one bad event must not stop the live picture
                log.exception("live state could not apply %r", item)
            if isinstance(item, EVENT_TOPIC_TYPES):
                # After the deltas, so that a consumer already holds the call's record.
                try:
                    await self.publisher.bus.publish(EVENT_TOPIC, item)
                except Exception:  # fire and forget, like the deltas
                    self.stats.event_publish_failures += 1
                    log.exception("could not publish %r on %s", item, EVENT_TOPIC)

    async def _write_records(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush_records()

    async def flush_records(self) -> None:
        if not self._pending_records:
            return
        batch, self._pending_records = self._pending_records, []
        try:
            await asyncio.to_thread(self._write_batch, batch)
            self.stats.records_written += len(batch)
        except Exception:
            log.exception("call records batch of %d events failed; kept for the next try", len(batch))
            self.stats.record_batches_failed += 1
            self._pending_records = batch + self._pending_records
            overflow = len(self._pending_records) - MAX_PENDING_RECORDS
            if overflow > 0:
                del self._pending_records[:overflow]
                self.stats.records_dropped += overflow

    def _write_batch(self, events: list[object]) -> None:
        with transaction(self.session_factory) as session:
            ingest_events(session, events, queues=self.queues, region=self.region)

    async def _follow_queue_log(self) -> None:
        """Asterisk's queue_log completes what the link missed while it was down (ingest is idempotent)."""
        while True:
            await asyncio.sleep(self.queue_log_interval)
            try:
                await asyncio.to_thread(self.ingest_queue_log_tail)
            except Exception:
                log.exception("queue_log ingest failed; retried at the next interval")

    def ingest_queue_log_tail(self) -> int:
        """Ingest the complete lines appended since the last call; returns how many bytes were read."""
        if self.queue_log is None or not self.queue_log.exists():
            return 0
        size = self.queue_log.stat().st_size
        if size < self._queue_log_offset:  # rotated: start again from the top
            self._queue_log_offset = 0
        with self.queue_log.open("rb") as handle:
            handle.seek(self._queue_log_offset)
            data = handle.read(size - self._queue_log_offset)
        complete = data[: data.rfind(b"\n") + 1]  # a half-written last line waits for the next round
        if not complete:
            return 0
        with transaction(self.session_factory) as session:
            ingest_queue_log(
                session, complete.decode("utf-8", "replace"), queues=self.queues, region=self.region
            )
        self._queue_log_offset += len(complete)
        return len(complete)

    async def start(self) -> None:
        if self.mirror is not None:
            self.mirror.start(self.state)
        self._tasks = [
            asyncio.create_task(self._apply_live(), name="acd-live"),
            asyncio.create_task(self._write_records(), name="acd-records"),
        ]
        if self.queue_log is not None:
            self._tasks.append(asyncio.create_task(self._follow_queue_log(), name="acd-queue-log"))
        await self.link.start(wait=False)

    async def close(self) -> None:
        await self.link.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for held in self.translator.flush():
            self._pending_records.append(held)
        with contextlib.suppress(Exception):
            await self.flush_records()
        if self.mirror is not None:
            await self.mirror.close()
