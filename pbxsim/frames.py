"""AMI frames as the simulator writes them: ordered header lists, encoded the way Asterisk 22 does.

``Event``, ``Privilege`` and then ``Timestamp: <epoch>.<6 digits>`` for broadcast events; no Timestamp on
responses and EventList items; every line ``Key: value\\r\\n`` (``Key: `` with a trailing space when the value
is empty), a frame ends with an empty line.
"""

from __future__ import annotations

Headers = list[tuple[str, str]]

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def event(name: str, privilege: str, now: float, headers: Headers) -> Headers:
    return [("Event", name), ("Privilege", privilege), ("Timestamp", f"{now:.6f}"), *headers]


def encode(headers: Headers) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("utf-8")


def event_name(headers: Headers) -> str | None:
    return headers[0][1] if headers and headers[0][0] == "Event" else None


def parse_action(block: str) -> dict[str, str]:
    """One action sent by a client (``Key: value`` lines); repeated ``Variable`` lines are comma-joined."""
    fields: dict[str, str] = {}
    for line in block.split("\r\n" if "\r\n" in block else "\n"):
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key in fields and key.lower() == "variable":
            fields[key] += "," + value
        else:
            fields[key] = value
    return fields
