"""The event bus over Redis (``core.bus.EventBus``): pub/sub (PSUBSCRIBE for patterns) for live events,
Streams with consumer groups for durable ones. Kept apart from ``core.bus`` so that a deployment without
Redis never loads redis-py; ``core.bus.make_bus`` picks it when a Redis URL is configured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.bus import (
    DEFAULT_MAXLEN,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_TIMEOUT,
    BusUnavailable,
    EventBus,
    EventDecodeError,
    StreamEntry,
    Subscription,
    _check_ids,
    _check_topic,
    decode_event,
    encode_event,
)

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- Redis backend

_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
_FIELD = "e"
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def _redis_pattern(topic: str) -> str:
    # Only a trailing * is a wildcard for us; any glob character in the name itself is literal.
    return _GLOB_SPECIAL.sub(r"\\\1", topic[:-1]) + "*"


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedisBus(EventBus):
    """The bus over Redis: pub/sub (PSUBSCRIBE for patterns) for live events, Streams for durable ones.

    Every call is bounded by ``timeout`` seconds; ``BusUnavailable`` says Redis could not be reached. The
    pub/sub listener survives Redis going away: it reconnects with exponential back-off and resubscribes,
    and existing subscriptions keep receiving (events published while it was away are lost — that is what
    streams are for).
    """

    BACKOFF_START = 0.1
    BACKOFF_MAX = 5.0
    # Without traffic, the listener pings this often so that a silently dead connection is noticed.
    PING_INTERVAL = 5.0

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        maxlen: int = DEFAULT_MAXLEN,
    ) -> None:
        super().__init__(queue_size=queue_size, maxlen=maxlen)
        self.url = url
        self.timeout = timeout
        # One retry (no back-off) replaces a pooled connection that died; more would only delay the
        # BusUnavailable a caller needs to see. redis-py's own default is ten.
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        # Blocking XREADGROUP may outlast socket_timeout; its reads get their own client with no socket
        # timeout, bounded instead by asyncio.timeout(block + timeout).
        self._blocking: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self._subs: dict[str, set[Subscription]] = {}
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._pattern_topic: dict[str, str] = {}
        self._pubsub: Any = None  # redis.asyncio.client.PubSub while connected
        self._wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._groups: set[tuple[str, str]] = set()
        self._closed = False

    # -- lifecycle

    async def start(self) -> None:
        self._closed = False
        self._ensure_listener()
        try:
            async with self._guard("PING"):
                await self._client.ping()
        except BusUnavailable as exc:
            # Not fatal: the listener keeps trying and calls raise BusUnavailable until Redis is back.
            log.warning("event bus: %s", exc)

    async def close(self) -> None:
        self._closed = True
        for subs in list(self._subs.values()):
            for sub in list(subs):
                await sub.close()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._client.aclose()
        await self._blocking.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event bus is closed")

    @contextlib.asynccontextmanager
    async def _guard(self, what: str, extra: float = 0.0) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.timeout + extra):
                yield
        except _REDIS_DOWN as exc:
            raise BusUnavailable(
                f"Redis at {_safe_url(self.url)} unreachable for {what}: {exc or type(exc).__name__}"
            ) from exc

    # -- live fan-out

    async def publish(self, topic: str, event: object) -> None:
        self._check_open()
        payload = encode_event(event)
        async with self._guard("PUBLISH"):
            await self._client.publish(topic, payload)

    async def subscribe(self, topic: str, *, maxsize: int | None = None) -> Subscription:
        self._check_open()
        _check_topic(topic)
        sub = Subscription(topic, maxsize or self.queue_size, self._unsubscribe)
        is_new = topic not in self._subs
        self._subs.setdefault(topic, set()).add(sub)
        self._ensure_listener()
        if topic in self._confirmed:
            return sub
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(topic, []).append(waiter)
        # No await between adding the topic above and this check: either the listener's connect saw the
        # topic, or the pubsub is already set and we send the command ourselves.
        pubsub = self._pubsub
        if is_new and pubsub is not None:
            with contextlib.suppress(*_REDIS_DOWN):
                async with asyncio.timeout(self.timeout):
                    await self._send_subscribe(pubsub, topic)
        self._wake.set()
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except TimeoutError:
            # Still a valid subscription: the listener subscribes it as soon as Redis answers.
            log.warning("event bus: subscription to %r not confirmed by Redis yet", topic)
        finally:
            waiters = self._waiters.get(topic, [])
            if waiter in waiters:
                waiters.remove(waiter)
        return sub

    async def _send_subscribe(self, pubsub: Any, topic: str) -> None:
        if topic.endswith("*"):
            pattern = _redis_pattern(topic)
            self._pattern_topic[pattern] = topic
            await pubsub.psubscribe(pattern)
        else:
            await pubsub.subscribe(topic)

    async def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs is None:
            return
        subs.discard(sub)
        if subs:
            return
        del self._subs[sub.topic]
        self._confirmed.discard(sub.topic)
        pubsub = self._pubsub
        if pubsub is None:
            return
        # Best effort: if the connection is gone there is nothing left to unsubscribe from.
        with contextlib.suppress(*_REDIS_DOWN):
            async with asyncio.timeout(self.timeout):
                if sub.topic.endswith("*"):
                    await pubsub.punsubscribe(_redis_pattern(sub.topic))
                else:
                    await pubsub.unsubscribe(sub.topic)

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="redis-bus-listener")

    async def _listen(self) -> None:
        backoff = self.BACKOFF_START
        loop = asyncio.get_running_loop()
        while not self._closed:
            if not self._subs:
                self._wake.clear()
                await self._wake.wait()
                continue
            pubsub = self._client.pubsub()
            try:
                async with asyncio.timeout(self.timeout):
                    await pubsub.connect()
                self._pubsub = pubsub
                self._confirmed.clear()
                for topic in list(self._subs):
                    async with asyncio.timeout(self.timeout):
                        await self._send_subscribe(pubsub, topic)
                last_seen = loop.time()
                ping_at: float | None = None
                while not self._closed:
                    message = await pubsub.get_message(timeout=1.0)
                    now = loop.time()
                    if message is None:
                        if ping_at is not None and now - ping_at > self.timeout:
                            raise RedisTimeoutError("pub/sub connection did not answer PING")
                        if ping_at is None and now - last_seen > self.PING_INTERVAL:
                            ping_at = now
                            await pubsub.ping()
                        continue
                    last_seen, ping_at = now, None
                    backoff = self.BACKOFF_START
                    self._dispatch(message)
            except _REDIS_DOWN as exc:
                reason = exc or type(exc).__name__
                log.warning("event bus: pub/sub connection lost (%s); reconnecting", reason)
            finally:
                self._pubsub = None
                self._confirmed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if self._closed:
                break
            # Full back-off cap with jitter, so a fleet of processes does not reconnect in lockstep.
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
            backoff = min(backoff * 2, self.BACKOFF_MAX)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("subscribe", "psubscribe"):
            channel = message["channel"]
            topic = channel if kind == "subscribe" else self._pattern_topic.get(channel, channel)
            if topic in self._subs:
                self._confirmed.add(topic)
            for waiter in self._waiters.pop(topic, []):
                if not waiter.done():
                    waiter.set_result(None)
        elif kind == "message":
            for sub in list(self._subs.get(message["channel"], ())):
                sub._offer(message["data"])
        elif kind == "pmessage":
            topic = self._pattern_topic.get(message["pattern"])
            if topic is not None:
                for sub in list(self._subs.get(topic, ())):
                    sub._offer(message["data"])

    # -- durable streams

    async def append(self, stream: str, event: object) -> str:
        self._check_open()
        payload = encode_event(event)
        async with self._guard("XADD"):
            entry_id = await self._client.xadd(
                stream, {_FIELD: payload}, maxlen=self.maxlen, approximate=True
            )
        return str(entry_id)

    async def _ensure_group(self, stream: str, group: str) -> None:
        if (stream, group) in self._groups:
            return
        try:
            async with self._guard("XGROUP CREATE"):
                await self._client.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((stream, group))

    async def read_stream(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 1000
    ) -> list[StreamEntry]:
        self._check_open()
        try:
            return await self._read_stream(stream, group, consumer, count, block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The group vanished under us (e.g. Redis restarted without persistence): recreate it.
            self._groups.discard((stream, group))
            return await self._read_stream(stream, group, consumer, count, block_ms)

    async def _read_stream(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int
    ) -> list[StreamEntry]:
        await self._ensure_group(stream, group)
        while True:
            # "0": this consumer's own delivered-but-unacked entries, e.g. from before a crash.
            async with self._guard("XREADGROUP"):
                reply = await self._client.xreadgroup(group, consumer, {stream: "0"}, count=count)
            raw = _stream_reply(reply)
            if raw:
                out = await self._entries(stream, group, raw)
                if out:
                    return out
                continue  # all of them were skipped: there may be more pending, or new entries
            block = block_ms if block_ms > 0 else None
            async with self._guard("XREADGROUP", extra=max(block_ms, 0) / 1000):
                reply = await self._blocking.xreadgroup(
                    group, consumer, {stream: ">"}, count=count, block=block
                )
            raw = _stream_reply(reply)
            if not raw:
                return []
            out = await self._entries(stream, group, raw)
            if out:
                return out

    async def _entries(
        self, stream: str, group: str, raw: list[tuple[str, dict[str, str] | None]]
    ) -> list[StreamEntry]:
        out: list[StreamEntry] = []
        dead: list[str] = []
        for entry_id, fields in raw:
            if not fields or _FIELD not in fields:  # trimmed while pending
                dead.append(entry_id)
                continue
            try:
                out.append(StreamEntry(entry_id, decode_event(fields[_FIELD])))
            except EventDecodeError as exc:
                # Acked so it cannot wedge the group; the entry stays in the stream for inspection.
                dead.append(entry_id)
                self.skipped += 1
                log.warning("stream %r entry %s skipped: %s", stream, entry_id, exc)
        if dead:
            await self.ack(stream, group, *dead)
        return out

    async def ack(self, stream: str, group: str, *ids: str) -> int:
        _check_ids(ids)
        if not ids:
            return 0
        try:
            async with self._guard("XACK"):
                return int(await self._client.xack(stream, group, *ids))
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                return 0
            raise

    async def pending(self, stream: str, group: str) -> int:
        try:
            async with self._guard("XPENDING"):
                summary = await self._client.xpending(stream, group)
        except ResponseError as exc:
            if "NOGROUP" in str(exc) or "no such key" in str(exc):
                return 0
            raise
        return int(summary["pending"])


def _stream_reply(reply: Any) -> list[tuple[str, dict[str, str] | None]]:
    """The entries of a one-stream XREADGROUP reply, in RESP2 (list) or RESP3 (dict) shape."""
    if not reply:
        return []
    if isinstance(reply, dict):
        entries = next(iter(reply.values()))
        if isinstance(entries, list) and entries and isinstance(entries[0], list):
            entries = entries[0]
    else:
        entries = reply[0][1]
    return [(str(entry_id), fields) for entry_id, fields in entries if entry_id is not None]
