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
    """The queues of an Asterisk ``queues.conf`` (``[general]`` and templates' ``(!)`` markers skipped;
    ``[name](template)`` inherits nothing here: only what the section itself says is read)."""
    queues: dict[str, QueueConfig] = {}
    current: QueueConfig | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            name = line[1 : line.find("]")].strip() if "]" in line else ""
            is_template = "(!" in line[line.find("]") :] if "]" in line else False
            current = None if not name or name == "general" or is_template else QueueConfig(name)
            if current is not None:
                queues[name] = current
            continue
        if current is None:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.lstrip(">").strip()
        if key == "servicelevel":
            current.service_level_s = _int(value, DEFAULT_SERVICE_LEVEL_S)
        elif key == "wrapuptime":
            current.wrapup_s = _int(value, 0)
        elif key == "monitor-format":
            current.records = bool(value)
        elif key == "member":
            parts = [part.strip() for part in value.split(",")]
            interface = parts[0]
            name = parts[2] if len(parts) > 2 and parts[2] else interface
            if interface:
                current.members[name] = interface
    return queues


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default
