"""AMI frames as Asterisk sends them, and an incremental parser that survives anything on the wire.

What real Asterisk 22 sends (../shared/fixtures/asterisk/README.md): a banner line
``Asterisk Call Manager/11.0.0`` with no blank line after it; ``\\r\\n`` line ends; frames ended by an
empty line; ``Key: `` with a trailing space for empty values; responses and EventList items without a
``Timestamp``; repeated ``Output:`` lines in a ``Command`` response.
"""

from __future__ import annotations

from dataclasses import dataclass

BANNER_PREFIX = "Asterisk Call Manager/"
FRAME_END = b"\r\n\r\n"
MAX_BUFFER = 1 << 20  # a peer that never ends a frame must not grow memory without bound


class Frame(dict[str, str]):
    """One AMI frame: headers in the order received (a dict keeps it). A repeated header (``Output``,
    ``ChanVariable``) keeps every value, joined by newlines."""

    __slots__ = ()

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def values_of(self, key: str) -> list[str]:
        value = self.get(key)
        return [] if value is None else value.split("\n")


@dataclass
class ParserStats:
    frames: int = 0
    malformed_frames: int = 0  # no Event / Response header: counted and skipped
    malformed_lines: int = 0  # a line without "Key: value" inside a good frame: counted and skipped
    overflows: int = 0  # buffer over MAX_BUFFER without a frame end: dropped


def parse_block(block: str, stats: ParserStats) -> Frame | None:
    frame = Frame()
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and " " not in line:
                key, value = line[:-1], ""  # "Key:" with the space trimmed by a proxy
            else:
                if line:
                    stats.malformed_lines += 1
                continue
        if key in frame:
            frame[key] = f"{frame[key]}\n{value}"
        else:
            frame[key] = value
    if "Event" not in frame and "Response" not in frame:
        stats.malformed_frames += 1
        return None
    stats.frames += 1
    return frame


class FrameParser:
    """Feed it bytes as they arrive; it returns the complete frames and keeps the rest."""

    def __init__(self) -> None:
        self.buffer = b""
        self.banner: str | None = None
        self.stats = ParserStats()
        self._at_start = True  # the banner can only be the connection's first line

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self.buffer + data if self.buffer else data
        if self._at_start:
            prefix = BANNER_PREFIX.encode()
            if len(buffer) < len(prefix) and prefix.startswith(buffer):
                self.buffer = buffer  # too early to tell
                return []
            if buffer.startswith(prefix):
                end = buffer.find(b"\r\n")
                if end < 0:
                    self.buffer = buffer
                    return []
                self.banner = buffer[:end].decode("ascii", "replace")
                buffer = buffer[end + 2 :]
            self._at_start = False
        blocks = buffer.split(FRAME_END)
        rest = blocks.pop()
        if len(rest) > MAX_BUFFER:
            self.stats.overflows += 1
            rest = b""
        self.buffer = rest
        frames = []
        stats = self.stats
        for raw in blocks:
            if not raw:
                continue
            frame = parse_block(raw.decode("utf-8", "replace"), stats)
            if frame is not None:
                frames.append(frame)
        return frames

    @property
    def version(self) -> str | None:
        return self.banner[len(BANNER_PREFIX) :] if self.banner else None


def parse_capture(data: bytes) -> tuple[FrameParser, list[Frame]]:
    """All frames of a captured byte stream (a fixture's ami.txt)."""
    parser = FrameParser()
    return parser, parser.feed(data)


def encode_action(fields: dict[str, str] | list[tuple[str, str]]) -> bytes:
    """An action as Asterisk expects it: ``Key: value`` lines, CRLF, a blank line at the end."""
    items = fields.items() if isinstance(fields, dict) else fields
    return ("".join(f"{k}: {v}\r\n" for k, v in items) + "\r\n").encode()
