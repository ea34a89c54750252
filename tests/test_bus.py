"""The event bus contract, run against both backends (in-process and a throwaway redis-server)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest

import core.bus as bus_module
from core.bus import (
    BusUnavailable,
    EventBus,
    EventDecodeError,
    InProcessBus,
    Subscription,
    UnknownEventType,
    decode_event,
    encode_event,
    make_bus,
    register_event,
    share_in_process,
)
from core.redis_bus import RedisBus
from tests.servers import RedisServer


class Priority(Enum):
    NORMAL = "normal"
    VIP = "vip"


@dataclass(frozen=True)
class SampleLeg:
    agent: str
    talk_seconds: Decimal
    answered_at: datetime | None = None


@register_event
@dataclass(frozen=True)
class SampleCallQueued:
    call_id: str
    queue: str
    at: datetime
    priority: Priority
    legs: list[SampleLeg] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    day: date | None = None
    counts: dict[str, int] = field(default_factory=dict)


@register_event
@dataclass(frozen=True)
class SampleCallEnded:
    call_id: str
    seq: int


@register_event
@dataclass(frozen=True)
class SampleGhost:
    """Registered to be encoded, then unregistered to play an event type from a newer producer."""

    note: str


@share_in_process
@register_event
@dataclass(frozen=True)
class SampleDelta:
    """A hot event declared immutable once published: in-process subscribers share the object."""

    seq: int
    data: dict[str, str]


AT = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def queued(call_id: str = "c-1") -> SampleCallQueued:
    return SampleCallQueued(
        call_id=call_id,
        queue="售后",
        at=AT,
        priority=Priority.VIP,
        legs=[
            SampleLeg("A0001", Decimal("12.50"), AT + timedelta(seconds=3)),
            SampleLeg("A0002", Decimal("0.05")),
        ],
        tags=("callback", "vip"),
        day=date(2024, 3, 1),
        counts={"tries": 2},
    )


def unique(prefix: str = "") -> str:
    return f"test.{uuid.uuid4().hex[:10]}.{prefix}"


async def next_event(sub: Subscription, within: float = 3.0) -> object:
    return await asyncio.wait_for(anext(sub), within)


async def settle(seconds: float = 0.3) -> None:
    """Give Redis time to deliver anything that is still on its way."""
    await asyncio.sleep(seconds)


@pytest.fixture(params=["inprocess", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    the_bus: EventBus
    if request.param == "inprocess":
        the_bus = InProcessBus()
    else:
        the_bus = RedisBus(request.getfixturevalue("redis_url"), timeout=2.0)
    await the_bus.start()
    yield the_bus
    await the_bus.close()


def reopened(bus: EventBus) -> EventBus:
    """The bus as a restarted process sees it: a new client of the same Redis; in-process, the same bus
    (its memory is the server)."""
    if isinstance(bus, RedisBus):
        return RedisBus(bus.url, timeout=bus.timeout)
    return bus


# --------------------------------------------------------------------------- wire format


def test_wire_format_is_typed_json() -> None:
    event = queued()
    text = encode_event(event)
    assert '"type":"SampleCallQueued"' in text
    assert '"at":"2024-03-01T09:30:15.123456+00:00"' in text
    assert '"priority":"vip"' in text
    assert '"talk_seconds":"12.50"' in text
    back = decode_event(text)
    assert back == event
    assert isinstance(back, SampleCallQueued)
    assert isinstance(back.legs[0], SampleLeg)
    assert back.legs[0].talk_seconds == Decimal("12.50")
    assert back.tags == ("callback", "vip")


def test_datetimes_travel_in_utc() -> None:
    plus8 = timezone(timedelta(hours=8))
    event = SampleCallQueued("c", "q", datetime(2024, 3, 1, 17, 30, tzinfo=plus8), Priority.NORMAL)
    text = encode_event(event)
    assert '"at":"2024-03-01T09:30:00+00:00"' in text
    back = decode_event(text)
    assert isinstance(back, SampleCallQueued)
    assert back.at == event.at
    assert back.at.utcoffset() == timedelta(0)


def test_bad_events_are_refused_at_the_source() -> None:
    @dataclass(frozen=True)
    class NotRegistered:
        x: int

    with pytest.raises(TypeError, match="not registered"):
        encode_event(NotRegistered(1))
    with pytest.raises(ValueError, match="naive"):
        encode_event(SampleCallQueued("c", "q", datetime(2024, 3, 1, 9, 0), Priority.NORMAL))


def test_decode_errors_are_clear() -> None:
    with pytest.raises(UnknownEventType, match="NoSuchEvent") as info:
        decode_event('{"type": "NoSuchEvent", "data": {}}')
    assert info.value.type_name == "NoSuchEvent"
    with pytest.raises(EventDecodeError):
        decode_event("not json")
    with pytest.raises(EventDecodeError):
        decode_event('{"type": "SampleCallEnded", "data": {"call_id": "x", "seq": "not a number"}}')


def test_register_event_refuses_a_name_clash() -> None:
    namespace: dict[str, object] = {}
    exec(  # a class of the same name from another module
        "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass SampleCallEnded:\n    x: int\n",
        namespace,
    )
    with pytest.raises(ValueError, match="already registered"):
        register_event(namespace["SampleCallEnded"])  # type: ignore[arg-type]
    assert decode_event(encode_event(SampleCallEnded("a", 1))) == SampleCallEnded("a", 1)


def test_make_bus_picks_the_backend() -> None:
    assert isinstance(make_bus(None), InProcessBus)
    assert isinstance(make_bus("redis://127.0.0.1:1/0"), RedisBus)


# --------------------------------------------------------------------------- live fan-out


async def test_publish_subscribe_round_trip(bus: EventBus) -> None:
    topic = unique("calls.queued")
    async with await bus.subscribe(topic) as sub:
        event = queued()
        await bus.publish(topic, event)
        got = await next_event(sub)
    assert got == event
    assert isinstance(got, SampleCallQueued)
    assert got.priority is Priority.VIP
    assert got.at == AT and got.at.tzinfo is not None
    assert got.legs[1] == SampleLeg("A0002", Decimal("0.05"))
    assert got is not event  # every subscriber gets its own copy, as it would from Redis


async def test_shared_events_reach_in_process_subscribers_as_the_object_and_redis_as_a_copy(
    bus: EventBus,
) -> None:
    topic = unique("acd.delta")
    event = SampleDelta(7, {"state": "ringing"})
    async with await bus.subscribe(topic) as first, await bus.subscribe(topic) as second:
        await bus.publish(topic, event)
        got = [await next_event(first), await next_event(second)]
    assert got == [event, event]
    if isinstance(bus, InProcessBus):
        assert got[0] is event and got[1] is event  # no encoding, no copy per subscriber
    else:
        assert got[0] is not event and got[0] is not got[1]  # the wire format, as ever


def test_sharing_needs_a_registered_event_and_unregistered_ones_are_still_refused() -> None:
    @dataclass(frozen=True)
    class Loose:
        x: int

    with pytest.raises(TypeError, match="not registered"):
        share_in_process(Loose)

    async def publish() -> None:
        await InProcessBus().publish("x", Loose(1))

    with pytest.raises(TypeError, match="not registered"):
        asyncio.run(publish())


async def test_pattern_subscription(bus: EventBus) -> None:
    base = unique()
    async with await bus.subscribe(f"{base}calls.*") as sub:
        await bus.publish(f"{base}calls.queued", SampleCallEnded("a", 1))
        await bus.publish(f"{base}agents.ready", SampleCallEnded("b", 2))
        await bus.publish(f"{base}calls.ended", SampleCallEnded("c", 3))
        assert await next_event(sub) == SampleCallEnded("a", 1)
        assert await next_event(sub) == SampleCallEnded("c", 3)
        await settle()
        assert sub.qsize() == 0


async def test_two_subscribers_both_receive(bus: EventBus) -> None:
    base = unique()
    async with await bus.subscribe(f"{base}calls.queued") as exact, await bus.subscribe(f"{base}*") as wide:
        await bus.publish(f"{base}calls.queued", SampleCallEnded("x", 7))
        assert await next_event(exact) == SampleCallEnded("x", 7)
        assert await next_event(wide) == SampleCallEnded("x", 7)
        await settle()
        assert exact.qsize() == 0 and wide.qsize() == 0


async def test_unsubscribe_stops_delivery(bus: EventBus) -> None:
    topic = unique("calls")
    leaving = await bus.subscribe(topic)
    staying = await bus.subscribe(topic)
    await bus.publish(topic, SampleCallEnded("before", 1))
    assert await next_event(leaving) == SampleCallEnded("before", 1)
    await leaving.close()
    await bus.publish(topic, SampleCallEnded("after", 2))
    assert await next_event(staying) == SampleCallEnded("before", 1)
    assert await next_event(staying) == SampleCallEnded("after", 2)
    await settle()
    assert leaving.qsize() == 0
    with pytest.raises(StopAsyncIteration):
        await next_event(leaving)
    await staying.close()
    await bus.publish(topic, SampleCallEnded("nobody", 3))  # no subscriber left: still fine


async def test_slow_subscriber_drops_oldest_without_blocking_publisher(bus: EventBus) -> None:
    topic = unique("busy")
    async with await bus.subscribe(topic, maxsize=5) as slow:
        started = time.monotonic()
        for seq in range(50):
            await bus.publish(topic, SampleCallEnded("x", seq))
        assert time.monotonic() - started < 2.0
        for _ in range(250):  # Redis delivers asynchronously: up to 5 s for all 50 to arrive
            if slow.dropped >= 45:
                break
            await asyncio.sleep(0.02)
        assert slow.dropped == 45
        assert slow.qsize() == 5
        kept = [await next_event(slow) for _ in range(5)]
    assert kept == [SampleCallEnded("x", seq) for seq in range(45, 50)]


async def test_unknown_event_type_is_skipped_and_counted(
    bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = unique("mixed")
    async with await bus.subscribe(topic) as sub:
        await bus.publish(topic, SampleGhost("from a newer producer"))
        monkeypatch.delitem(bus_module._REGISTRY, "SampleGhost")
        await bus.publish(topic, SampleCallEnded("known", 1))
        assert await next_event(sub) == SampleCallEnded("known", 1)
        assert sub.skipped == 1


# --------------------------------------------------------------------------- durable streams


async def test_stream_append_group_read_ack(bus: EventBus) -> None:
    stream = unique("stream")
    ids = [await bus.append(stream, SampleCallEnded("s", seq)) for seq in range(3)]
    assert len(set(ids)) == 3
    entries = await bus.read_stream(stream, "billing", "worker-1", block_ms=0)
    assert [e.id for e in entries] == ids
    assert [e.event for e in entries] == [SampleCallEnded("s", seq) for seq in range(3)]
    assert await bus.ack(stream, "billing", *ids) == 3
    assert await bus.pending(stream, "billing") == 0
    assert await bus.read_stream(stream, "billing", "worker-1", block_ms=100) == []


async def test_blocking_read_wakes_on_append(bus: EventBus) -> None:
    stream = unique("stream")
    await bus.read_stream(stream, "g", "c", block_ms=0)  # creates the group
    reader = asyncio.create_task(bus.read_stream(stream, "g", "c", block_ms=3000))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await bus.append(stream, SampleCallEnded("late", 1))
    entries = await asyncio.wait_for(reader, 5)
    assert [e.event for e in entries] == [SampleCallEnded("late", 1)]
    assert time.monotonic() - started < 2.0


async def test_unacked_entries_come_back_after_a_crash(bus: EventBus) -> None:
    stream = unique("stream")
    ids = [await bus.append(stream, SampleCallEnded("s", seq)) for seq in range(3)]
    first = await bus.read_stream(stream, "billing", "worker-1", block_ms=0)
    assert [e.id for e in first] == ids
    await bus.ack(stream, "billing", ids[0])
    # worker-1 dies here without acking the other two
    restarted = reopened(bus)
    try:
        again = await restarted.read_stream(stream, "billing", "worker-1", block_ms=0)
        assert [e.id for e in again] == ids[1:]
        assert [e.event for e in again] == [SampleCallEnded("s", 1), SampleCallEnded("s", 2)]
        # They are worker-1's: another consumer of the group does not get them.
        assert await restarted.read_stream(stream, "billing", "worker-2", block_ms=0) == []
        assert await restarted.ack(stream, "billing", *ids[1:]) == 2
        assert await restarted.pending(stream, "billing") == 0
    finally:
        if restarted is not bus:
            await restarted.close()


async def test_two_groups_each_get_every_entry(bus: EventBus) -> None:
    stream = unique("stream")
    ids = [await bus.append(stream, SampleCallEnded("s", seq)) for seq in range(4)]
    reports = await bus.read_stream(stream, "reports", "r1", block_ms=0)
    audit = await bus.read_stream(stream, "audit", "a1", block_ms=0)
    assert [e.id for e in reports] == ids
    assert [e.id for e in audit] == ids
    await bus.ack(stream, "reports", *ids)
    assert await bus.pending(stream, "reports") == 0
    assert await bus.pending(stream, "audit") == 4


async def test_pending_counts(bus: EventBus) -> None:
    stream = unique("stream")
    assert await bus.pending(stream, "g") == 0  # no stream, no group yet
    ids = [await bus.append(stream, SampleCallEnded("s", seq)) for seq in range(5)]
    assert await bus.pending(stream, "g") == 0
    batch = await bus.read_stream(stream, "g", "c", count=3, block_ms=0)
    assert [e.id for e in batch] == ids[:3]
    assert await bus.pending(stream, "g") == 3
    assert await bus.ack(stream, "g", ids[0]) == 1
    assert await bus.ack(stream, "g", ids[0]) == 0  # already acked
    assert await bus.pending(stream, "g") == 2
    # Own unacked entries come first, before anything new.
    assert [e.id for e in await bus.read_stream(stream, "g", "c", count=3, block_ms=0)] == ids[1:3]
    await bus.ack(stream, "g", *ids[1:3])
    assert [e.id for e in await bus.read_stream(stream, "g", "c", count=3, block_ms=0)] == ids[3:]
    assert await bus.pending(stream, "g") == 2


async def test_unknown_stream_entry_is_skipped_acked_and_counted(
    bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = unique("stream")
    await bus.append(stream, SampleGhost("newer"))
    known_id = await bus.append(stream, SampleCallEnded("known", 1))
    monkeypatch.delitem(bus_module._REGISTRY, "SampleGhost")
    entries = await bus.read_stream(stream, "g", "c", block_ms=0)
    assert [(e.id, e.event) for e in entries] == [(known_id, SampleCallEnded("known", 1))]
    assert bus.skipped == 1
    assert await bus.pending(stream, "g") == 1  # only the known one waits for its ack


async def test_in_process_stream_is_bounded() -> None:
    small = InProcessBus(maxlen=10)
    stream = unique("stream")
    for seq in range(100):
        await small.append(stream, SampleCallEnded("s", seq))
    entries = await small.read_stream(stream, "late", "c", count=1000, block_ms=0)
    assert 10 <= len(entries) <= 11
    assert entries[-1].event == SampleCallEnded("s", 99)


# --------------------------------------------------------------------------- Redis going away


@pytest.mark.redis
async def test_redis_outage_and_recovery(redis_server: RedisServer) -> None:
    topic = unique("calls")
    rbus = RedisBus(redis_server.url, timeout=1.0)
    await rbus.start()
    try:
        sub = await rbus.subscribe(topic)
        await rbus.publish(topic, SampleCallEnded("up", 1))
        assert await next_event(sub) == SampleCallEnded("up", 1)

        redis_server.stop()
        started = time.monotonic()
        with pytest.raises(BusUnavailable):
            await rbus.publish(topic, SampleCallEnded("down", 2))
        with pytest.raises(BusUnavailable):
            await rbus.append(unique("stream"), SampleCallEnded("down", 3))
        assert time.monotonic() - started < 3.0  # bounded by the timeout, no hang

        redis_server.start()
        received: object = None
        deadline = time.monotonic() + 15
        while received is None and time.monotonic() < deadline:
            # Until the listener has resubscribed, what is published is lost: keep publishing.
            await rbus.publish(topic, SampleCallEnded("back", 4))
            try:
                received = await next_event(sub, within=0.5)
            except TimeoutError:
                continue
        assert received == SampleCallEnded("back", 4)
        assert not sub.closed
    finally:
        redis_server.start()
        await rbus.close()


@pytest.mark.redis
async def test_redis_bus_raises_bus_unavailable_when_nothing_listens() -> None:
    dead = RedisBus("redis://127.0.0.1:1/0", timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(BusUnavailable, match=r"127\.0\.0\.1:1"):
            await dead.publish("x", SampleCallEnded("x", 1))
        with pytest.raises(BusUnavailable):
            await dead.read_stream("s", "g", "c", block_ms=0)
        assert time.monotonic() - started < 3.0
    finally:
        await dead.close()
