"""app_queue's own files: the ``queue_log`` text and the ``queues.conf`` settings the records need.

queue_log lines are ``epoch|callid|queue|agent|verb|data1|data2|…`` (the callid is the caller channel's
uniqueid, or ``NONE``/``MANAGER`` for member lines); the agent field is the MemberName for call verbs. A line
that does not have that shape is counted and skipped, never fatal. queues.conf gives per queue the
``servicelevel`` (for the service-level figure), ``wrapuptime``, whether the queue records
(``monitor-format``) and the static members (``member => interface,penalty,name,state_interface``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_SERVICE_LEVEL_S = 20


@dataclass(frozen=True)
class QueueLogEntry:
    at: datetime
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]

    def field(self, index: int) -> str:
        """data1 is ``field(1)``; a missing field reads as empty."""
        return self.data[index - 1] if 0 < index <= len(self.data) else ""

    def int_field(self, index: int) -> int | None:
        text = self.field(index).strip()
        try:
            return int(text)
        except ValueError:
            return None


@dataclass
class QueueLogStats:
    lines: int = 0
    malformed: int = 0


def parse_queue_log(text: str, stats: QueueLogStats | None = None) -> Iterator[QueueLogEntry]:
    stats = stats if stats is not None else QueueLogStats()
    for raw in text.split("\n"):  # not splitlines(): U+0085 and friends are data, not line ends
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        stats.lines += 1
        parts = line.split("|")
        if len(parts) < 5 or not parts[4]:
            stats.malformed += 1
            continue
        try:
            epoch = int(parts[0])
            at = datetime.fromtimestamp(epoch, UTC)
        except (ValueError, OverflowError, OSError):
            stats.malformed += 1
            continue
        yield QueueLogEntry(
            at=at,
            callid=parts[1],
            queue=parts[2],
            agent=parts[3],
            verb=parts[4].upper(),
            data=tuple(parts[5:]),
        )


@dataclass
class QueueConfig:
    name: str
    service_level_s: int = DEFAULT_SERVICE_LEVEL_S
    wrapup_s: int | None = None
    records: bool = False  # monitor-format set: the queue records every answered call
    members: dict[str, str] = field(default_factory=dict)  # MemberName → interface


def parse_queues_conf(text: str) -> dict[str, QueueConfig]:
    """The queues of an Asterisk ``queues.conf``. ``[general]`` is skipped; templates (``[name](!)``) are not
    queues, but a section ``[name](template, …)`` first takes every setting of its templates, in order, as
    Asterisk does, then its own."""
    sections: dict[str, list[tuple[str, str]]] = {}
    parents: dict[str, list[str]] = {}
    templates: set[str] = set()
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            close = line.find("]")
            name = line[1:close].strip() if close > 0 else ""
            options = line[close + 1 :].strip() if close > 0 else ""
            inherits = [o.strip() for o in options.strip("()").split(",") if o.strip()] if options else []
            if not name or name == "general":
                current = None
                continue
            if "!" in inherits:
                templates.add(name)
            parents[name] = [o for o in inherits if o != "!"]
            current = sections.setdefault(name, [])
            continue
        if current is None:
            continue
        key, sep, value = line.partition("=")
        if sep:
            current.append((key.strip().lower(), value.lstrip(">").strip()))

    def settings_of(name: str, seen: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        inherited = [
            kv
            for parent in parents.get(name, [])
            if parent not in seen
            for kv in settings_of(parent, seen | {name})
        ]
        return inherited + sections.get(name, [])

    queues: dict[str, QueueConfig] = {}
    for name in sections:
        if name in templates:
            continue
        queue = QueueConfig(name)
        for key, value in settings_of(name):
            if key == "servicelevel":
                queue.service_level_s = _int(value, DEFAULT_SERVICE_LEVEL_S)
            elif key == "wrapuptime":
                queue.wrapup_s = _int(value, 0)
            elif key == "monitor-format":
                queue.records = bool(value)
            elif key == "member":
                parts = [part.strip() for part in value.split(",")]
                interface = parts[0]
                member = parts[2] if len(parts) > 2 and parts[2] else interface
                if interface:
                    queue.members[member] = interface
        queues[name] = queue
    return queues


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default
