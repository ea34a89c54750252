"""Getting the live ACD state out: ``LivePublisher`` (domain events → ``LiveState`` → sequenced deltas on the
bus, with a ring buffer so a reconnecting desktop gets exactly what it missed) and ``RedisMirror`` (the state
as Redis hashes ``acd:calls``, ``acd:queues``, ``acd:agents`` plus ``acd:seq``, for other processes).

A desktop's protocol: subscribe to ``acd.delta``, take a snapshot (its ``seq`` = N), apply deltas with seq > N
in order. On a gap, or after reconnecting, ask ``deltas_since(last_seq)``; None means too old: take a new
snapshot. A ``reset`` delta means: drop everything, the full state follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from acd.state import Delta, LiveState
from core.bus import EventBus, register_event, share_in_process

__all__ = ["Delta", "LivePublisher", "RedisMirror"]

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# Registered where it is defined too (acd.state), so that any process importing it can decode it.
register_event(Delta)
# Deltas are the hot topic (hundreds a second): in-process, every subscriber reads the same object (the hub
# only ever replaces records, never changes one).
share_in_process(Delta)

DEFAULT_BUFFER = 10_000


class LivePublisher:
    """Applies domain events to a ``LiveState`` and publishes every delta on ``<prefix>.delta``.

    The bus is fire and forget: a failed publish is counted (``publish_failures``) and never stops the live
    state; consumers notice the gap in seq and catch up with ``deltas_since``.
    """

    def __init__(
        self,
        state: LiveState,
        bus: EventBus,
        *,
        topic_prefix: str = "acd",
        buffer_size: int = DEFAULT_BUFFER,
        mirror: RedisMirror | None = None,
    ) -> None:
        self.state = state
        self.bus = bus
        self.topic = f"{topic_prefix}.delta"
        self.mirror = mirror
        self.publish_failures = 0
        self._ring: deque[Delta] = deque(maxlen=buffer_size)

    async def handle(self, event: object) -> list[Delta]:
        """Apply one domain event and publish what changed. The link's ``ResyncResult`` (duck-typed, so as not
        to depend on ``acd.ami.link``) is taken too: it replaces the state (see ``resync``)."""
        deltas = self.state.apply(event)
        if deltas:
            await self._emit(deltas)
        elif type(event).__name__ == "ResyncResult":
            return await self.resync(
                getattr(event, "queues", ()),
                getattr(event, "members", ()),
                getattr(event, "entries", ()),
                getattr(event, "channels", ()),
                at=getattr(event, "at", None),
            )
        return deltas

    async def resync(
        self,
        queues: Iterable[dict[str, str]],
        members: Iterable[dict[str, str]],
        entries: Iterable[dict[str, str]],
        channels: Iterable[dict[str, str]],
        *,
        at: datetime | None = None,
    ) -> list[Delta]:
        """Replace the state from a resync of the PBX link (see ``LiveState.load_resync``) and publish it."""
        deltas = self.state.load_resync(queues, members, entries, channels, at=at)
        await self._emit(deltas)
        return deltas

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    def deltas_since(self, seq: int) -> list[Delta] | None:
        """The deltas after ``seq``, oldest first; None when they are no longer all in the buffer (or ``seq``
        is not one this state handed out): take a new snapshot."""
        current = self.state.seq
        if seq == current:
            return []
        ring = self._ring
        if seq > current or not ring or ring[-1].seq != current:
            return None
        first = ring[0].seq
        if seq + 1 < first:
            return None
        return list(islice(ring, seq + 1 - first, None))

    async def _emit(self, deltas: Sequence[Delta]) -> None:
        ring = self._ring
        # The ring must hold consecutive seqs for the index arithmetic of deltas_since.
        if ring and deltas[0].seq != ring[-1].seq + 1:
            ring.clear()
        ring.extend(deltas)
        if self.mirror is not None:
            self.mirror.push(deltas)
        publish = self.bus.publish
        topic = self.topic
        for delta in deltas:
            try:
                await publish(topic, delta)
            except Exception as exc:  # the bus being down must not stop live state
                self.publish_failures += 1
                if self.publish_failures == 1 or self.publish_failures % 1000 == 0:
                    log.warning("live delta not published (%d so far): %s", self.publish_failures, exc)


HASHES = {"call": "calls", "queue": "queues", "agent": "agents"}


class RedisMirror:
    """The live state mirrored into Redis hashes, written by a background task from coalesced deltas.

    ``push`` never waits: it records the newest record per entity and wakes the writer. Every Redis call is
    bounded by ``timeout``. When a write fails the mirror counts it (``failures``), forgets the pending
    deltas and, once Redis answers again, rewrites the whole hashes from the state (``resyncs``).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "acd",
        timeout: float = 1.0,
        retry_interval: float = 0.2,
        max_retry_interval: float = 5.0,
    ) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self.keys = {kind: f"{prefix}:{name}" for kind, name in HASHES.items()}
        self.seq_key = f"{prefix}:seq"
        self.failures = 0
        self.resyncs = 0
        self.writes = 0
        self.written_seq: int | None = None
        # redis-py (~26 MB) is loaded only by a deployment that mirrors to Redis
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._client: aioredis.Redis = aioredis.Redis.from_url(
            redis_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._state: LiveState | None = None
        self._pending: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._pending_seq: int | None = None
        self._full = True  # the first write is a full one: the hashes may hold an older process's state
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def in_sync(self) -> bool:
        """Redis holds the state as of the last delta pushed."""
        return self._idle.is_set()

    def start(self, state: LiveState) -> None:
        """Start mirroring ``state`` (call from a running event loop)."""
        self._state = state
        self._full = True
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="acd-redis-mirror")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    def push(self, deltas: Iterable[Delta]) -> None:
        pending = self._pending
        for delta in deltas:
            if delta.kind in HASHES:
                pending[(delta.kind, delta.key)] = delta.data
            elif delta.kind == "reset":
                self._full = True
                pending.clear()
            self._pending_seq = delta.seq
        self._idle.clear()
        self._wake.set()

    async def wait_synced(self) -> None:
        """Wait until Redis holds everything pushed so far (bound it with ``asyncio.timeout``)."""
        await self._idle.wait()

    async def _run(self) -> None:
        delay = self.retry_interval
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._full or self._pending:
                    if self._full:
                        await self._write_full()
                    else:
                        await self._write_pending()
            except Exception as exc:  # whatever went wrong, live state goes on and the mirror retries
                self.failures += 1
                from redis.exceptions import RedisError

                if not isinstance(exc, RedisError | OSError | TimeoutError):
                    log.exception("redis mirror: unexpected error")
                elif self.failures == 1 or self.failures % 100 == 0:
                    log.warning("redis mirror write failed (%d so far): %s", self.failures, exc)
                # What was pending is lost with the failed write; the state is rewritten in full once Redis
                # answers again.
                self._full = True
                self._pending.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_interval)
                self._wake.set()
                continue
            delay = self.retry_interval
            self._idle.set()

    async def _write_full(self) -> None:
        assert self._state is not None, "RedisMirror.start(state) first"
        snap = self._state.snapshot()
        # The snapshot covers everything pushed until now: drop it before the first await.
        self._pending.clear()
        self._full = False
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(*self.keys.values())
        for kind, name in HASHES.items():
            records = snap[name]
            if records:
                pipe.hset(self.keys[kind], mapping={k: _dump(v) for k, v in records.items()})
        pipe.set(self.seq_key, snap["seq"])
        try:
            await self._execute(pipe)
        except BaseException:
            self._full = True
            raise
        self.resyncs += 1
        self.written_seq = snap["seq"]

    async def _write_pending(self) -> None:
        batch, self._pending = self._pending, {}
        seq = self._pending_seq
        pipe = self._client.pipeline(transaction=True)
        for (kind, key), data in batch.items():
            if data is None:
                pipe.hdel(self.keys[kind], key)
            else:
                pipe.hset(self.keys[kind], key, _dump(data))
        if seq is not None:
            pipe.set(self.seq_key, seq)
        await self._execute(pipe)
        self.writes += 1
        self.written_seq = seq

    async def _execute(self, pipe: Any) -> None:
        async with asyncio.timeout(self.timeout * 2):
            await pipe.execute()


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
