"""The captured FastAGI exchanges (../shared/fixtures/asterisk/ivr/agi-raw) and a fake Asterisk that
plays them: the header block, then one captured reply per command it receives."""

from __future__ import annotations

import ast
import asyncio
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path("/work/shared/fixtures/asterisk/ivr")
RAW = FIXTURES / "agi-raw"


@dataclass
class Capture:
    name: str
    headers: bytes
    exchanges: list[tuple[str, list[bytes]]]  # command (no \n), reply lines (with \n) as received
    inbound: bytes  # every byte Asterisk sent
    outbound: bytes  # every byte the captured server sent

    @property
    def commands(self) -> list[str]:
        return [command for command, _ in self.exchanges]


def load_capture(prefix: str) -> Capture:
    headers = b""
    exchanges: list[tuple[str, list[bytes]]] = []
    for line in (RAW / f"{prefix}.transcript.txt").read_text().splitlines():
        _epoch, direction, literal = line.split(" ", 2)
        data = ast.literal_eval(literal)
        assert isinstance(data, bytes)
        if direction == ">>":
            exchanges.append((data.decode().rstrip("\n"), []))
        elif exchanges:
            exchanges[-1][1].append(data)
        else:
            headers += data
    return Capture(
        name=prefix,
        headers=headers,
        exchanges=exchanges,
        inbound=(RAW / f"{prefix}.in.bin").read_bytes(),
        outbound=(RAW / f"{prefix}.out.bin").read_bytes(),
    )


def captures() -> dict[str, Capture]:
    index = (FIXTURES / "agi-index.tsv").read_text().splitlines()[1:]
    out: dict[str, Capture] = {}
    for row in index:
        prefix = row.split("\t")[0].removeprefix("agi-raw/")
        out[prefix] = load_capture(prefix)
    return out


@dataclass
class FakeAsterisk:
    """Connects to our server as Asterisk would and answers the i-th command with the i-th captured reply.

    ``received`` holds what our server sent; ``closed_by_server`` whether it ended the session itself."""

    capture: Capture
    replies: list[list[bytes]] | None = None  # instead of the captured ones (commands added or changed)
    received: list[str] = field(default_factory=list)
    closed_by_server: bool = False

    async def run(self, host: str, port: int, *, within: float = 10.0) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            async with asyncio.timeout(within):
                writer.write(self.capture.headers)
                await writer.drain()
                replies = self.replies or [reply for _, reply in self.capture.exchanges]
                while True:
                    line = await reader.readline()
                    if not line:
                        self.closed_by_server = True
                        return
                    self.received.append(line.decode().rstrip("\n"))
                    index = len(self.received) - 1
                    reply = replies[index] if index < len(replies) else [b"511 Command Not Permitted\n"]
                    for part in reply:
                        writer.write(part)
                    await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()


HEADERS_TEMPLATE = (
    "agi_network: yes\nagi_network_script: {script}\nagi_request: agi://127.0.0.1:4573/{script}\n"
    "agi_channel: PJSIP/customers-{n:08x}\nagi_language: {language}\nagi_type: PJSIP\n"
    "agi_uniqueid: 1795400100.{n}\nagi_version: 22.10.1\nagi_callerid: {caller}\nagi_calleridname: Test\n"
    "agi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: 500\n"
    "agi_rdnis: unknown\nagi_context: from-customers\nagi_extension: 500\nagi_priority: 3\n"
    "agi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1403066{n:08d}\n\n"
)


@dataclass
class ScriptedCaller:
    """A simulated caller behind Asterisk: answers every command like Asterisk does and types ``keys``
    (one entry per GET DATA; ``None`` = the (timeout) reply with nothing typed, ``"hangup"`` = hang up
    there: ``200 result=-1``, then ``HANGUP`` and ``511`` for whatever comes next)."""

    keys: list[str | None]
    caller: str = "13900139001"
    script: str = "ivr"
    language: str = "en"
    n: int = 0
    silent_after: int | None = None  # stop answering after this many commands (a stuck PBX)
    args: tuple[str, ...] = ()  # the dialplan's AGI(url,arg1,…): agi_arg_1 … after agi_threadid
    received: list[str] = field(default_factory=list)
    closed_by_server: bool = False

    def _reply(self, command: str) -> bytes:
        if command.startswith("GET DATA"):
            key = self.keys.pop(0) if self.keys else None
            if key == "hangup":
                self.keys = ["hangup-done"]
                return b"200 result=-1\n"
            return b"200 result= (timeout)\n" if key is None else f"200 result={key}\n".encode()
        if self.keys == ["hangup-done"]:
            return b"HANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n"
        if command.startswith("STREAM FILE"):
            return b"200 result=0 endpos=8000\n"
        if command == "ANSWER":
            return b"200 result=0\n"
        return b"200 result=1\n"

    async def run(self, host: str, port: int, *, within: float = 10.0) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            async with asyncio.timeout(within):
                header = HEADERS_TEMPLATE.format(
                    script=self.script, n=self.n, language=self.language, caller=self.caller
                )
                arguments = "".join(f"agi_arg_{i}: {value}\n" for i, value in enumerate(self.args, start=1))
                header = header[:-1] + arguments + "\n"  # before the empty line that ends the block
                writer.write(header.encode())
                await writer.drain()
                while True:
                    line = await reader.readline()
                    if not line:
                        self.closed_by_server = True
                        return
                    command = line.decode().rstrip("\n")
                    self.received.append(command)
                    if self.silent_after is not None and len(self.received) > self.silent_after:
                        continue
                    writer.write(self._reply(command))
                    await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()
