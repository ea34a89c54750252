"""The event bus: how domain events travel between the packages and between processes.

Owns the event registry (``@register_event``) and its JSON wire format, the ``EventBus`` interface and its
two backends: ``InProcessBus`` (asyncio only, for a single process and for tests) and ``RedisBus`` (Redis
pub/sub for live fan-out, Redis Streams with consumer groups for durable delivery).

Two ways to receive events:

* ``publish``/``subscribe`` — live fan-out, fire and forget. A subscriber sees events published while it is
  subscribed; a slow one loses its oldest events (counted in ``Subscription.dropped``) rather than slowing
  the publisher.
* ``append``/``read_stream``/``ack`` — durable, at least once. ``read_stream`` first returns the entries the
  consumer was given but has not acknowledged (so after a crash it gets them again), then new ones.

Wire format: ``{"type": ClassName, "data": {...}}``. Datetimes are ISO-8601 strings in UTC, dates and times
ISO, enums by value, ``Decimal`` and ``UUID`` as strings, timedeltas as seconds; nested dataclasses, lists,
tuples, sets and dicts are rebuilt from the event class's type hints.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import dataclasses
import json
import logging
import re
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

__all__ = [
    "BusUnavailable",
    "EventBus",
    "EventDecodeError",
    "InProcessBus",
    "StreamEntry",
    "Subscription",
    "UnknownEventType",
    "decode_event",
    "encode_event",
    "make_bus",
    "register_event",
    "share_in_process",
]

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
DEFAULT_MAXLEN = 100_000
DEFAULT_TIMEOUT = 5.0

T = TypeVar("T")


# --------------------------------------------------------------------------- errors


class BusUnavailable(Exception):
    """The bus's server (Redis) could not be reached within the timeout."""


class EventDecodeError(Exception):
    """A payload on the bus is not a valid event."""


class UnknownEventType(EventDecodeError):
    """A payload names an event type this process has not registered (e.g. a newer producer's)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(
            f"unknown event type {type_name!r}: no class registered with @register_event under that name"
        )
        self.type_name = type_name


# --------------------------------------------------------------------------- registry and wire format

_REGISTRY: dict[str, type] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def register_event(cls: type[T]) -> type[T]:
    """Class decorator: make a dataclass an event that can travel on the bus under its class name."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"@register_event needs a dataclass, got {cls!r}")
    name = cls.__name__
    known = _REGISTRY.get(name)
    # Same module and qualname means the module was reloaded; anything else is a real clash that would
    # make one domain's events decode as another's.
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(
            f"event name {name!r} is already registered by {known.__module__}.{known.__qualname__}"
        )
    _REGISTRY[name] = cls
    _HINTS.pop(cls, None)
    return cls


_SHARED: set[type] = set()


def share_in_process(cls: type[T]) -> type[T]:
    """Declare a registered event class's instances never changed once published (frozen, and whatever
    they hold is only read): ``InProcessBus`` then hands the very object to every subscriber, without
    encoding and decoding it per event. ``RedisBus`` encodes them as ever. For hot topics (the ACD's
    deltas); subscribers of such events must not mutate them."""
    if _REGISTRY.get(cls.__name__) is not cls:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} is not registered with @register_event")
    _SHARED.add(cls)
    return cls


def encode_event(event: object) -> str:
    """The JSON text of a registered event."""
    cls = type(event)
    if _REGISTRY.get(cls.__name__) is not cls:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} is not registered with @register_event")
    return json.dumps({"type": cls.__name__, "data": _to_json(event)}, separators=(",", ":"))


def decode_event(payload: str | bytes) -> object:
    """The event encoded in ``payload``; ``UnknownEventType`` or ``EventDecodeError`` if it cannot be."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventDecodeError(f"payload is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str) or "data" not in doc:
        raise EventDecodeError('payload is not an event: expected {"type": ..., "data": {...}}')
    cls = _REGISTRY.get(doc["type"])
    if cls is None:
        raise UnknownEventType(doc["type"])
    try:
        return _from_json(doc["data"], cls)
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        raise EventDecodeError(f"cannot rebuild {doc['type']}: {exc}") from exc


def _to_json(value: Any) -> Any:
    # Enum before the scalars: a StrEnum/IntEnum is also a str/int but must go out by value.
    if isinstance(value, Enum):
        return _to_json(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: events carry aware (UTC) datetimes")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple | set | frozenset):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {_key_to_json(k): _to_json(v) for k, v in value.items()}
    raise TypeError(f"cannot put a {type(value).__name__} on the bus")


def _key_to_json(key: Any) -> str:
    out = _to_json(key)
    if isinstance(out, str):
        return out
    if isinstance(out, bool | int | float):
        return json.dumps(out)
    raise TypeError(f"cannot use a {type(key).__name__} as a dict key on the bus")


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        # Resolved lazily and cached: modules use `from __future__ import annotations`.
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


def _from_json(value: Any, tp: Any) -> Any:
    if tp is Any or tp is object or isinstance(tp, TypeVar | str | typing.ForwardRef):
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _from_json(value, args[0])
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        errors: list[str] = []
        # Declared order decides ambiguous cases (e.g. `str | datetime` keeps the string).
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _from_json(value, arg)
            except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
                errors.append(str(exc))
        raise TypeError(f"{value!r} matches none of {tp}: {'; '.join(errors)}")
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"{value!r} is not one of {args}")
        return value
    if origin is not None:
        return _from_json_generic(value, origin, args)
    if getattr(tp, "__supertype__", None) is not None:  # typing.NewType
        return _from_json(value, tp.__supertype__)
    if not isinstance(tp, type):
        return value
    if value is None:
        raise TypeError(f"null where a {tp.__name__} is expected")
    if dataclasses.is_dataclass(tp):
        return _dataclass_from_json(value, tp)
    if issubclass(tp, Enum):
        return tp(value)
    if issubclass(tp, datetime):
        parsed = datetime.fromisoformat(_expect(value, str))
        # Naive on the wire can only come from a foreign producer; the house rule is UTC.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if issubclass(tp, date):
        return date.fromisoformat(_expect(value, str))
    if issubclass(tp, time):
        return time.fromisoformat(_expect(value, str))
    if issubclass(tp, timedelta):
        return timedelta(seconds=_expect(value, int | float))
    if issubclass(tp, Decimal):
        return Decimal(_expect(value, str | int))
    if issubclass(tp, UUID):
        return UUID(_expect(value, str))
    if tp is bool:
        return _expect(value, bool)
    if tp is int:
        if isinstance(value, bool):
            raise TypeError(f"{value!r} is not an int")
        return _expect(value, int)
    if tp is float:
        if isinstance(value, bool):
            raise TypeError(f"{value!r} is not a float")
        return float(_expect(value, int | float))
    if tp is str:
        return _expect(value, str)
    if tp in (list, tuple, set, frozenset):
        return tp(_expect(value, list))
    if tp is dict:
        return _expect(value, dict)
    return value


def _from_json_generic(value: Any, origin: Any, args: tuple[Any, ...]) -> Any:
    item = args[0] if args else Any
    if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence, collections.abc.Iterable):
        return [_from_json(v, item) for v in _expect(value, list)]
    if origin is tuple:
        items = _expect(value, list)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(v, args[0]) for v in items)
        if not args:
            return tuple(items)
        if len(items) != len(args):
            raise ValueError(f"expected {len(args)} items, got {len(items)}")
        return tuple(_from_json(v, a) for v, a in zip(items, args, strict=True))
    if origin in (set, collections.abc.MutableSet):
        return {_from_json(v, item) for v in _expect(value, list)}
    if origin in (frozenset, collections.abc.Set):
        return frozenset(_from_json(v, item) for v in _expect(value, list))
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        key_tp = args[0] if args else Any
        value_tp = args[1] if len(args) > 1 else Any
        return {_key_from_json(k, key_tp): _from_json(v, value_tp) for k, v in _expect(value, dict).items()}
    return value


def _key_from_json(key: str, tp: Any) -> Any:
    # JSON object keys are always strings: numbers went out as their JSON text.
    if tp in (int, float) or (isinstance(tp, type) and issubclass(tp, Enum) and not issubclass(tp, str)):
        with contextlib.suppress(ValueError):
            return _from_json(json.loads(key), tp)
    return _from_json(key, tp)


def _dataclass_from_json(value: Any, cls: type) -> Any:
    data = _expect(value, dict)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        # Absent fields take their defaults; fields the producer has and we do not are ignored, so old and
        # new versions of an event can coexist on the bus.
        if f.init and f.name in data:
            kwargs[f.name] = _from_json(data[f.name], hints.get(f.name, Any))
    return cls(**kwargs)


def _expect(value: Any, kind: Any) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind}, got {type(value).__name__} {value!r}")
    return value


# --------------------------------------------------------------------------- shared pieces


@dataclasses.dataclass(frozen=True)
class StreamEntry:
    """One durable stream entry handed to a consumer: ack it with ``bus.ack(stream, group, entry.id)``."""

    id: str
    event: object


_ID_RE = re.compile(r"^\d+-\d+$")


def _check_ids(ids: tuple[str, ...]) -> None:
    for entry_id in ids:
        if not _ID_RE.match(entry_id):
            raise ValueError(f"not a stream entry id: {entry_id!r}")


def _check_topic(topic: str) -> None:
    if not topic or "*" in topic[:-1]:
        raise ValueError(f"bad topic {topic!r}: a topic is a name, optionally ending in '*'")


def _topic_matches(pattern: str, topic: str) -> bool:
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return topic == pattern


_CLOSED = object()


class Subscription:
    """Events published on a topic (or topic pattern) while subscribed.

    Async iterator and async context manager (leaving the block unsubscribes). Delivery goes through a
    bounded queue: when it is full the oldest event is dropped and counted in ``dropped``, so that a slow
    subscriber never blocks a publisher. Payloads that cannot be decoded (e.g. an event type this process
    does not know) are skipped and counted in ``skipped``.
    """

    def __init__(
        self,
        topic: str,
        maxsize: int,
        on_close: Callable[[Subscription], Awaitable[None]],
    ) -> None:
        if maxsize < 1:
            raise ValueError("a subscription queue holds at least one event")
        self.topic = topic
        self.dropped = 0
        self.skipped = 0
        self.closed = False
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize)
        self._on_close = on_close

    def _offer(self, payload: object) -> None:
        """Queue a payload without ever waiting (called from the publisher or the listener)."""
        if self.closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(payload)

    def qsize(self) -> int:
        """Events waiting to be read (0 once closed)."""
        return 0 if self.closed else self._queue.qsize()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> object:
        while True:
            if self.closed and self._queue.empty():
                raise StopAsyncIteration
            payload = await self._queue.get()
            if payload is _CLOSED:
                raise StopAsyncIteration
            try:
                # Decoding here rather than at publish time gives every subscriber its own copy and keeps a
                # bad payload the consumer's (counted) problem, never the publisher's.
                return payload if not isinstance(payload, str | bytes) else decode_event(payload)
            except EventDecodeError as exc:
                self.skipped += 1
                log.warning("subscription %r skipped a payload: %s", self.topic, exc)

    async def close(self) -> None:
        """Unsubscribe; an ``async for`` over this subscription then ends."""
        if self.closed:
            return
        self.closed = True
        # Wake a consumer blocked in __anext__; what was still queued is discarded.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_CLOSED)
        await self._on_close(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# --------------------------------------------------------------------------- the interface


class EventBus(ABC):
    """Live fan-out (publish/subscribe) and durable streams with consumer groups (append/read_stream/ack)."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE, maxlen: int = DEFAULT_MAXLEN) -> None:
        self.queue_size = queue_size
        self.maxlen = maxlen
        # Stream entries skipped because they could not be decoded (they are acked, see read_stream).
        self.skipped = 0

    @abstractmethod
    async def publish(self, topic: str, event: object) -> None:
        """Send ``event`` to the current subscribers of ``topic``; nobody listening is fine."""

    @abstractmethod
    async def subscribe(self, topic: str, *, maxsize: int | None = None) -> Subscription:
        """Subscribe to ``topic``, or to every topic starting with a prefix when it ends in ``*``."""

    @abstractmethod
    async def append(self, stream: str, event: object) -> str:
        """Append ``event`` to a durable stream; returns the entry id."""

    @abstractmethod
    async def read_stream(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 1000
    ) -> list[StreamEntry]:
        """Entries for ``consumer`` of ``group``: its unacknowledged ones first, else new ones.

        A group created by its first read starts at the oldest retained entry. Waits up to ``block_ms``
        for new entries when there are none (0: do not wait). Entries that cannot be decoded are acked,
        counted in ``skipped`` and left out.
        """

    @abstractmethod
    async def ack(self, stream: str, group: str, *ids: str) -> int:
        """Acknowledge entries for ``group``; returns how many were pending."""

    @abstractmethod
    async def pending(self, stream: str, group: str) -> int:
        """How many entries were delivered to ``group`` and not yet acknowledged."""

    @abstractmethod
    async def start(self) -> None:
        """Get ready; idempotent. Methods also work without it."""

    @abstractmethod
    async def close(self) -> None:
        """Close every subscription and release connections."""

    async def __aenter__(self) -> EventBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# --------------------------------------------------------------------------- in-process backend


@dataclasses.dataclass
class _Group:
    last_delivered: int = 0
    # seq -> consumer, for entries delivered and not acked (dicts keep insertion order = delivery order).
    pending: dict[int, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Stream:
    entries: list[str] = dataclasses.field(default_factory=list)
    first_seq: int = 1  # seq of entries[0]; seqs are contiguous, so lookup is by index
    next_seq: int = 1
    groups: dict[str, _Group] = dataclasses.field(default_factory=dict)
    appended: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def get(self, seq: int) -> str | None:
        index = seq - self.first_seq
        return self.entries[index] if 0 <= index < len(self.entries) else None


class InProcessBus(EventBus):
    """The bus inside one process, asyncio only. Events are still encoded as on the wire, so an
    unregistered or unserialisable event fails here just as it would with Redis; only the classes declared
    with ``share_in_process`` travel as the object itself (still refused if unregistered)."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE, maxlen: int = DEFAULT_MAXLEN) -> None:
        super().__init__(queue_size=queue_size, maxlen=maxlen)
        self._subs: list[Subscription] = []
        self._streams: dict[str, _Stream] = {}
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        for sub in list(self._subs):
            await sub.close()
        for stream in self._streams.values():
            stream.appended.set()  # release blocked readers

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the event bus is closed")

    async def publish(self, topic: str, event: object) -> None:
        self._check_open()
        cls = type(event)
        payload: object
        if cls in _SHARED and _REGISTRY.get(cls.__name__) is cls:
            payload = event
        else:
            payload = encode_event(event)
        for sub in self._subs:
            if _topic_matches(sub.topic, topic):
                sub._offer(payload)

    async def subscribe(self, topic: str, *, maxsize: int | None = None) -> Subscription:
        self._check_open()
        _check_topic(topic)
        sub = Subscription(topic, maxsize or self.queue_size, self._unsubscribe)
        self._subs.append(sub)
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)

    def _stream(self, name: str) -> _Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _Stream()
        return stream

    async def append(self, stream: str, event: object) -> str:
        self._check_open()
        payload = encode_event(event)
        st = self._stream(stream)
        seq = st.next_seq
        st.next_seq += 1
        st.entries.append(payload)
        # Trim in chunks, like Redis's MAXLEN ~, so that appends stay O(1) amortised.
        excess = len(st.entries) - self.maxlen
        if excess > max(1, self.maxlen // 10):
            del st.entries[:excess]
            st.first_seq += excess
        st.appended.set()
        st.appended = asyncio.Event()
        return _seq_id(seq)

    async def read_stream(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 1000
    ) -> list[StreamEntry]:
        self._check_open()
        st = self._stream(stream)
        grp = st.groups.get(group)
        if grp is None:
            # A new group starts at the oldest retained entry, as XGROUP CREATE ... 0 does.
            grp = st.groups[group] = _Group(last_delivered=st.first_seq - 1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(block_ms, 0) / 1000
        while True:
            own = [seq for seq, owner in grp.pending.items() if owner == consumer]
            if own:
                out = self._entries(stream, st, grp, own[:count])
                if out:
                    return out
                continue  # those were trimmed or undecodable, and so dropped from pending: look again
            start = max(grp.last_delivered + 1, st.first_seq)
            seqs = list(range(start, min(st.next_seq, start + count)))
            if seqs:
                grp.last_delivered = seqs[-1]
                for seq in seqs:
                    grp.pending[seq] = consumer
                out = self._entries(stream, st, grp, seqs)
                if out:
                    return out
                continue
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closed:
                return []
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await st.appended.wait()

    def _entries(self, stream: str, st: _Stream, grp: _Group, seqs: list[int]) -> list[StreamEntry]:
        out: list[StreamEntry] = []
        for seq in seqs:
            payload = st.get(seq)
            if payload is None:  # trimmed away while pending: nothing left to deliver
                grp.pending.pop(seq, None)
                continue
            try:
                out.append(StreamEntry(_seq_id(seq), decode_event(payload)))
            except EventDecodeError as exc:
                grp.pending.pop(seq, None)
                self.skipped += 1
                log.warning("stream %r entry %s skipped: %s", stream, _seq_id(seq), exc)
        return out

    async def ack(self, stream: str, group: str, *ids: str) -> int:
        _check_ids(ids)
        st = self._streams.get(stream)
        grp = st.groups.get(group) if st else None
        if grp is None:
            return 0
        return sum(grp.pending.pop(int(i.split("-")[0]), None) is not None for i in ids)

    async def pending(self, stream: str, group: str) -> int:
        st = self._streams.get(stream)
        grp = st.groups.get(group) if st else None
        return len(grp.pending) if grp else 0


def _seq_id(seq: int) -> str:
    return f"{seq}-0"


def make_bus(redis_url: str | None) -> EventBus:
    """The bus for this deployment: Redis when a URL is configured, otherwise in-process."""
    if redis_url is None:
        return InProcessBus()
    from core.redis_bus import RedisBus  # redis-py costs ~26 MB of memory: loaded only when configured

    return RedisBus(redis_url)


def __getattr__(name: str) -> Any:
    # ``core.bus.RedisBus`` stays importable from here without loading redis-py for in-process deployments
    if name == "RedisBus":
        from core.redis_bus import RedisBus

        return RedisBus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
