"""Parsing AGI replies: the ``200 result=N [(data)] [key=value …]`` status line, the ``510``/``511``
single-line refusals and the ``520-`` … ``520 End of proper usage.`` multi-line usage block.

Pure code, no I/O: :class:`ReplyAssembler` is fed one line at a time (without its ``\\n``) and returns a
complete :class:`AgiReply` when it has one; unsolicited ``HANGUP`` lines are reported, never taken for a
reply (that is the fault that shifts every later reply by one in other implementations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ivr.agi.errors import AgiProtocolError

HANGUP_LINE = "HANGUP"

# result value up to the first space; then optional "(data)" (greedy: data may itself hold parentheses)
# and optional key=value pairs (endpos=31422). Values of pairs hold no ')' so the split is unambiguous.
_STATUS = re.compile(r"^200 result=(?P<result>\S*)(?P<rest>.*)$")
_REST = re.compile(r"^(?: \((?P<data>.*)\))?(?P<pairs>(?: [A-Za-z_][A-Za-z0-9_]*=[^\s)]*)*)$")
_CODE = re.compile(r"^(?P<code>[1-9][0-9]{2})(?P<sep>[ -])(?P<text>.*)$")


@dataclass(frozen=True)
class AgiReply:
    """One reply to one command. ``result`` and ``data``/``fields`` are set only for code 200."""

    code: int
    result: str | None = None
    data: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    text: str = ""  # the message of a non-200 reply (all lines of a 520 usage block)

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        """The result as a number (``-1`` hangup / failure, ``0``, ``1`` …); None when not numeric."""
        if self.result is None:
            return None
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"

    def format(self) -> str:
        """The wire form (without the final ``\\n``); the inverse of :func:`parse_status_line`."""
        if self.code != 200:
            lines = self.text.split("\n")
            if len(lines) == 1:
                return f"{self.code} {self.text}"
            return "\n".join([f"{self.code}-{lines[0]}", *lines[1:-1], f"{self.code} {lines[-1]}"])
        out = f"200 result={self.result or ''}"
        if self.data is not None:
            out += f" ({self.data})"
        for key, value in self.fields.items():
            out += f" {key}={value}"
        return out


def parse_status_line(line: str) -> AgiReply:
    """A complete single-line reply. Raises :class:`AgiProtocolError` for anything else."""
    match = _STATUS.match(line)
    if match:
        rest = _REST.match(match["rest"])
        if rest is None:
            raise AgiProtocolError(f"unparseable 200 reply: {line[:200]!r}")
        pairs = dict(pair.split("=", 1) for pair in rest["pairs"].split())
        return AgiReply(200, result=match["result"], data=rest["data"], fields=pairs)
    code = _CODE.match(line)
    if code is None or code["sep"] != " " or code["code"] == "200":
        raise AgiProtocolError(f"not an AGI reply: {line[:200]!r}")
    return AgiReply(int(code["code"]), text=code["text"])


class ReplyAssembler:
    """Collects the lines of one reply; handles the multi-line ``520-`` usage block."""

    def __init__(self, max_lines: int = 200) -> None:
        self._block: list[str] = []
        self._block_code: str | None = None
        self._max_lines = max_lines

    @property
    def in_block(self) -> bool:
        return self._block_code is not None

    def feed(self, line: str) -> AgiReply | None:
        """The reply completed by ``line``, or None when more lines are needed.

        ``HANGUP`` lines must be filtered by the caller before (they may arrive at any time)."""
        if self._block_code is not None:
            if line.startswith(self._block_code + " "):
                self._block.append(line[4:])
                reply = AgiReply(int(self._block_code), text="\n".join(self._block))
                self._block, self._block_code = [], None
                return reply
            self._block.append(line)
            if len(self._block) > self._max_lines:
                raise AgiProtocolError("usage block too long")
            return None
        code = _CODE.match(line)
        if code is not None and code["sep"] == "-":
            self._block_code = code["code"]
            self._block = [code["text"]]
            return None
        return parse_status_line(line)


def parse_reply_lines(lines: list[str]) -> AgiReply:
    """Convenience for tests and tools: the single reply made of ``lines`` (``HANGUP`` lines skipped)."""
    assembler = ReplyAssembler()
    for index, line in enumerate(lines):
        if line == HANGUP_LINE:
            continue
        reply = assembler.feed(line)
        if reply is not None:
            if index != len(lines) - 1:
                raise AgiProtocolError("lines after the end of the reply")
            return reply
    raise AgiProtocolError("incomplete reply")
