"""One FastAGI session over an asyncio stream: the ``agi_`` header block, then commands and replies.

The peer is Asterisk; lines end in ``\\n`` (``\\r\\n`` is tolerated). Every read has a deadline, so a dead
or silent peer ends the session with :class:`AgiTimeout` instead of hanging a task forever. The unsolicited
``HANGUP`` line (it arrives while the *next* command is pending, after ``200 result=-1`` for the one before)
only marks the session as hung up; the pending command still gets its own reply (``511``), so replies
never shift by one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.agi.errors import (
    AgiCommandError,
    AgiConnectionLost,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
)
from ivr.agi.reply import HANGUP_LINE, AgiReply, ReplyAssembler

log = logging.getLogger(__name__)

MAX_HEADER_LINES = 200
MAX_LINE_BYTES = 8192


@dataclass(frozen=True)
class AgiHeaders:
    """The ``agi_*`` variables Asterisk sends first (keys without the ``agi_`` prefix)."""

    values: Mapping[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def script(self) -> str:
        """The FastAGI path: ``agi://host:4573/ivr`` → ``ivr`` (query string and slashes dropped)."""
        return self.get("network_script").split("?", 1)[0].strip("/")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def callerid(self) -> str:
        value = self.get("callerid")
        return "" if value == "unknown" else value

    @property
    def calleridname(self) -> str:
        value = self.get("calleridname")
        return "" if value == "unknown" else value

    @property
    def language(self) -> str:
        return self.get("language")

    @property
    def args(self) -> list[str]:
        """``agi_arg_1`` … in order (the dialplan's ``AGI(agi://…/ivr,a,b)`` arguments)."""
        out: list[str] = []
        while f"arg_{len(out) + 1}" in self.values:
            out.append(self.values[f"arg_{len(out) + 1}"])
        return out


async def _readline(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readline()
    except (asyncio.LimitOverrunError, ValueError) as exc:  # a line longer than the stream limit
        raise AgiProtocolError("line too long") from exc
    except ConnectionError as exc:
        raise AgiConnectionLost(str(exc)) from exc
    if not raw:
        raise AgiConnectionLost("peer closed the connection")
    if not raw.endswith(b"\n"):
        raise AgiConnectionLost("peer closed the connection mid-line")
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        # caller names may come in a legacy encoding; keep the line, replace what cannot be read
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def read_headers(reader: asyncio.StreamReader, *, within: float) -> AgiHeaders:
    """The header block up to the empty line. Garbage, EOF or silence raise typed errors."""
    values: dict[str, str] = {}
    try:
        async with asyncio.timeout(within):
            while True:
                line = await _readline(reader)
                if line == "":
                    if not values:
                        raise AgiProtocolError("empty header block")
                    return AgiHeaders(values)
                name, sep, value = line.partition(":")
                if not sep or not name.startswith("agi_") or not name[4:].replace("_", "").isalnum():
                    raise AgiProtocolError(f"not an agi_ header line: {line[:100]!r}")
                values[name[4:]] = value[1:] if value.startswith(" ") else value
                if len(values) > MAX_HEADER_LINES:
                    raise AgiProtocolError("too many header lines")
    except TimeoutError as exc:
        raise AgiTimeout(f"no complete header block within {within:g} s") from exc


def quote(argument: str) -> str:
    """One command argument: bare when it is a plain word (as Asterisk's own examples), else quoted."""
    if "\n" in argument or "\r" in argument or "\x00" in argument:
        raise ValueError("AGI arguments cannot hold line breaks")
    if argument and not any(ch in argument for ch in ' "\\\t'):
        return argument
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Exchange:
    """One command and its reply, for the session record and for debugging."""

    command: str
    reply: AgiReply | None = None
    seconds: float = 0.0


@dataclass
class GetDataResult:
    digits: str
    timed_out: bool


@dataclass
class AgiSession:
    """Commands over one connection. Not safe for concurrent use: AGI is strictly one command at a time."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    headers: AgiHeaders
    command_timeout: float = 30.0
    hung_up: bool = False
    exchanges: list[Exchange] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        header_timeout: float = 10.0,
        command_timeout: float = 30.0,
    ) -> AgiSession:
        headers = await read_headers(reader, within=header_timeout)
        return cls(reader, writer, headers, command_timeout=command_timeout)

    async def execute(self, command: str, *, within: float | None = None, check: bool = True) -> AgiReply:
        """Send one command line and wait for its reply.

        ``check``: raise :class:`AgiHangup` for ``511`` or ``result=-1`` and :class:`AgiCommandError` for
        ``510``/``520``; without it the reply is returned whatever it says (``HANGUP`` lines are always
        consumed here and set :attr:`hung_up`)."""
        if "\n" in command or "\r" in command:
            raise ValueError("an AGI command is one line")
        if self.hung_up and check:
            raise AgiHangup(f"channel hung up before {command.split(' ', 2)[:2]}")
        exchange = Exchange(command)
        self.exchanges.append(exchange)
        started = time.monotonic()
        limit = self.command_timeout if within is None else within
        try:
            async with asyncio.timeout(limit):
                self.writer.write(command.encode("utf-8") + b"\n")
                await self.writer.drain()
                reply = await self._read_reply()
        except TimeoutError as exc:
            raise AgiTimeout(f"no reply to {command!r} within {limit:g} s") from exc
        except ConnectionError as exc:
            raise AgiConnectionLost(str(exc)) from exc
        finally:
            exchange.seconds = time.monotonic() - started
        exchange.reply = reply
        if check:
            if reply.code == 511:
                self.hung_up = True
                raise AgiHangup(reply.text)
            if reply.code in (510, 520) or not reply.ok:
                raise AgiCommandError(reply.code, reply.text)
            if reply.result_int == -1:
                self.hung_up = True
                raise AgiHangup(f"{command.split(' ', 2)[:2]} returned -1")
        return reply

    async def _read_reply(self) -> AgiReply:
        assembler = ReplyAssembler()
        while True:
            line = await _readline(self.reader)
            if line == HANGUP_LINE and not assembler.in_block:
                # unsolicited: the caller left; the pending command still gets its own reply next
                self.hung_up = True
                continue
            reply = assembler.feed(line)
            if reply is not None:
                return reply

    # --- the commands the IVR uses --------------------------------------------------------------

    async def answer(self) -> None:
        await self.execute("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        """Play a prompt; the digit that interrupted it ('' when none)."""
        reply = await self.execute(f"STREAM FILE {quote(name)} {quote(escape_digits)}")
        code = reply.result_int or 0
        return chr(code) if code > 0 else ""

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> GetDataResult:
        """Play ``prompt`` and collect up to ``max_digits`` keys; ``(timeout)`` marks an incomplete entry."""
        reply = await self.execute(
            f"GET DATA {quote(prompt)} {int(timeout_ms)} {int(max_digits)}",
            within=self.command_timeout + timeout_ms / 1000.0,
        )
        return GetDataResult(digits=reply.result or "", timed_out=reply.timed_out)

    async def say_number(self, number: int, escape_digits: str = "") -> None:
        """Speak a number in the channel's language (Asterisk's own digit sounds)."""
        await self.execute(f"SAY NUMBER {int(number)} {quote(escape_digits)}")

    async def set_variable(self, name: str, value: str) -> None:
        await self.execute(f"SET VARIABLE {quote(name)} {quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        reply = await self.execute(f"GET VARIABLE {quote(name)}")
        return reply.data if reply.result_int == 1 else None

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.execute(f"VERBOSE {quote(message)} {int(level)}")

    async def close(self) -> None:
        """Close the socket; never raises (the peer may be gone already)."""
        if self.writer.is_closing():
            return
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        except (AgiError, OSError, TimeoutError):
            log.debug("closing the AGI socket failed", exc_info=True)
