"""LivePublisher (deltas on the bus, catching up a reconnecting desktop) and RedisMirror (against a real,
throwaway redis-server that is stopped and started again)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from acd.live import LivePublisher, RedisMirror
from acd.state import Delta, LiveState
from core.bus import InProcessBus, Subscription
from core.redis_bus import RedisBus
from tests.acd_state.helpers import (
    DeltaView,
    answered,
    capture_frames,
    completed,
    list_items,
    logged_in,
    paused,
    queued,
    ringing,
)
from tests.servers import RedisServer


def call_events(n: int, start: float = 0.0) -> list[object]:
    """n answered-and-completed calls, one after another."""
    events: list[object] = []
    for i in range(n):
        t = start + i * 20
        call = f"c{i}"
        events += [queued(t, call), ringing(t + 1, call, "Bob"), answered(t + 2, call, "Bob")]
        events += [completed(t + 12, call, "Bob")]
    return events


async def drain(sub: Subscription, n: int) -> list[object]:
    out = []
    async with asyncio.timeout(5):
        for _ in range(n):
            out.append(await sub.__anext__())
    return out


async def test_every_delta_is_published_in_order() -> None:
    bus = InProcessBus()
    await bus.start()
    try:
        publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), bus)
        sub = await bus.subscribe("acd.delta")
        sent: list[Delta] = []
        for event in call_events(3):
            sent += await publisher.handle(event)
        received = await drain(sub, len(sent))
        assert received == sent
        assert [d.seq for d in sent] == list(range(1, len(sent) + 1))
    finally:
        await bus.close()


async def test_topic_prefix() -> None:
    bus = InProcessBus()
    await bus.start()
    try:
        publisher = LivePublisher(LiveState(first_seq=1), bus, topic_prefix="site2")
        sub = await bus.subscribe("site2.delta")
        deltas = await publisher.handle(queued(0, "c1"))
        assert await drain(sub, len(deltas)) == deltas
    finally:
        await bus.close()


async def test_reconnecting_consumer_gets_exactly_the_missing_deltas() -> None:
    bus = InProcessBus()
    publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), bus, buffer_size=50)
    events = call_events(10)
    # A desktop follows along, then drops off after the first call.
    for event in events[:4]:
        await publisher.handle(event)
    view = DeltaView(publisher.snapshot())
    last = view.seq
    produced: list[Delta] = []
    for event in events[4:8]:
        produced += await publisher.handle(event)
    missing = publisher.deltas_since(last)
    assert missing == produced
    view.apply(missing)  # no gap, no repeat (checked by the view)
    assert view.as_snapshot() == publisher.snapshot()
    assert publisher.deltas_since(view.seq) == []
    assert publisher.deltas_since(view.seq + 1) is None  # a seq this state never handed out

    # Far behind: what it missed is no longer all in the buffer → it must take a snapshot.
    for event in events[8:]:
        await publisher.handle(event)
    ring_first = publisher.state.seq - 49
    assert publisher.deltas_since(ring_first - 1) is not None
    assert len(publisher.deltas_since(ring_first - 1) or []) == 50
    assert publisher.deltas_since(ring_first - 2) is None
    assert publisher.deltas_since(0) is None


async def test_a_restarted_publisher_sends_old_consumers_to_a_snapshot() -> None:
    bus = InProcessBus()
    old = LivePublisher(LiveState({"support": 5}), bus)
    for event in call_events(2):
        await old.handle(event)
    consumer_seq = old.state.seq
    new = LivePublisher(LiveState({"support": 5}), bus)
    for event in call_events(1):
        await new.handle(event)
    assert new.state.seq > consumer_seq or new.deltas_since(consumer_seq) is None
    assert new.deltas_since(consumer_seq) is None


async def test_resync_publishes_a_reset_then_the_full_state() -> None:
    bus = InProcessBus()
    publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), bus)
    for event in call_events(2):
        await publisher.handle(event)
    view = DeltaView(publisher.snapshot())
    items = list_items(capture_frames("actions"), "lab-014")
    deltas = await publisher.resync(items["QueueParams"], items["QueueMember"], [], [])
    assert deltas[0].kind == "reset"
    assert publisher.deltas_since(view.seq) == deltas
    view.apply(deltas)
    assert view.as_snapshot() == publisher.snapshot()


class BrokenBus(InProcessBus):
    async def publish(self, topic: str, event: object) -> None:
        raise ConnectionError("bus down")


async def test_a_broken_bus_does_not_stop_live_state() -> None:
    publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), BrokenBus())
    for event in call_events(2):
        await publisher.handle(event)
    assert publisher.publish_failures == publisher.state.seq
    assert publisher.snapshot()["queues"]["support"]["answered"] == 2
    assert publisher.deltas_since(0) is not None


# --------------------------------------------------------------------------- Redis mirror


async def read_hashes(url: str, prefix: str) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=2)
    try:
        out: dict[str, Any] = {}
        for name in ("calls", "queues", "agents"):
            raw = await client.hgetall(f"{prefix}:{name}")
            out[name] = {k: json.loads(v) for k, v in raw.items()}
        seq = await client.get(f"{prefix}:seq")
        out["seq"] = int(seq) if seq is not None else None
        return out
    finally:
        await client.aclose()


def mirrored_part(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: snapshot[k] for k in ("calls", "queues", "agents", "seq")}


@pytest.mark.redis
async def test_mirror_hashes_equal_the_snapshot(redis_url: str) -> None:
    prefix = f"t{time.monotonic_ns()}"
    # Left over from an earlier process: the first write replaces it.
    stale = aioredis.Redis.from_url(redis_url)
    await stale.hset(f"{prefix}:calls", "gone", "{}")
    await stale.aclose()

    mirror = RedisMirror(redis_url, prefix=prefix, timeout=1.0)
    publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), InProcessBus(), mirror=mirror)
    mirror.start(publisher.state)
    try:
        events = call_events(3)
        events.insert(6, logged_in(25, "Frank", "billing"))
        events.insert(7, paused(26, "Frank", "billing", "coaching"))
        for event in events[:-1]:  # the last call still talking
            await publisher.handle(event)
        async with asyncio.timeout(5):
            await mirror.wait_synced()
        hashes = await read_hashes(redis_url, prefix)
        assert hashes == mirrored_part(publisher.snapshot())
        assert list(hashes["calls"]) == ["c2"]
        assert hashes["agents"]["Frank"]["queues"]["billing"]["reason"] == "coaching"

        await publisher.handle(events[-1])
        async with asyncio.timeout(5):
            await mirror.wait_synced()
        hashes = await read_hashes(redis_url, prefix)
        assert hashes == mirrored_part(publisher.snapshot())
        assert hashes["calls"] == {}
        assert mirror.failures == 0
    finally:
        await mirror.close()


@pytest.mark.redis
async def test_mirror_survives_a_redis_outage_and_catches_up(redis_server: RedisServer) -> None:
    prefix = f"t{time.monotonic_ns()}"
    mirror = RedisMirror(
        redis_server.url, prefix=prefix, timeout=0.5, retry_interval=0.05, max_retry_interval=0.2
    )
    publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), InProcessBus(), mirror=mirror)
    mirror.start(publisher.state)
    events = call_events(6)
    try:
        for event in events[:8]:
            await publisher.handle(event)
        async with asyncio.timeout(5):
            await mirror.wait_synced()

        redis_server.stop()
        started = time.monotonic()
        for event in events[8:]:
            await publisher.handle(event)  # live state goes on, never waiting for Redis
        assert time.monotonic() - started < 0.5
        for _ in range(100):
            if mirror.failures:
                break
            await asyncio.sleep(0.05)
        assert mirror.failures > 0
        assert not mirror.in_sync
        assert publisher.snapshot()["queues"]["support"]["answered"] == 6

        # Nothing new happens: the mirror retries by itself and rewrites the hashes.
        redis_server.start()
        async with asyncio.timeout(10):
            await mirror.wait_synced()
        assert await read_hashes(redis_server.url, prefix) == mirrored_part(publisher.snapshot())
        assert mirror.resyncs >= 2  # the first write, and the one after the outage
    finally:
        redis_server.start()
        await mirror.close()


async def test_the_links_resync_result_goes_through_handle() -> None:
    link = pytest.importorskip("acd.ami.link")
    frames = capture_frames("actions")
    items = list_items(frames, "lab-014")
    channels = list_items(frames, "lab-013")["CoreShowChannel"]
    result = link.ResyncResult(
        at=datetime.fromtimestamp(1795400610, UTC),
        queues=items["QueueParams"],
        members=items["QueueMember"],
        channels=channels,
    )
    publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), InProcessBus())
    deltas = await publisher.handle(result)
    assert deltas[0].kind == "reset"
    snap = publisher.snapshot()
    assert snap["calls"]["1795400605.0"]["agent"] == "Bob"
    assert snap["agents"]["Alice"]["reason"] == "training"
    assert publisher.deltas_since(0) == deltas


@pytest.mark.redis
async def test_deltas_cross_redis(redis_url: str) -> None:
    bus = RedisBus(redis_url, timeout=2.0)
    await bus.start()
    try:
        topic = f"t{time.monotonic_ns()}"
        publisher = LivePublisher(LiveState({"support": 5}, first_seq=1), bus, topic_prefix=topic)
        sub = await bus.subscribe(f"{topic}.delta")
        await asyncio.sleep(0.1)  # let the listener confirm the subscription
        sent: list[Delta] = []
        for event in call_events(1):
            sent += await publisher.handle(event)
        assert await drain(sub, len(sent)) == sent
    finally:
        await bus.close()
