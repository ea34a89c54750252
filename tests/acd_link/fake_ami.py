"""A scripted fake AMI server for the link tests: answers actions with the bytes Asterisk sent in the
captures (``../shared/fixtures/asterisk``), with the ActionID swapped for the client's.

An action whose fields (ActionID aside) equal a captured action gets exactly that action's captured
reply: the response, its EventList items and ``…Complete``, and any follow-up event carrying the same
ActionID (``OriginateResponse``). Other actions fall back to a default captured reply per action name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk"
END = b"\r\n\r\n"

Fields = list[tuple[str, str]]


def split_blocks(data: bytes) -> tuple[bytes, list[bytes]]:
    """(banner line with its CRLF, raw frames each with its blank-line end)."""
    banner = b""
    if data.startswith(b"Asterisk Call Manager/"):
        end = data.index(b"\r\n") + 2
        banner, data = data[:end], data[end:]
    return banner, [block + END for block in data.split(END) if block]


def fields_of(block: bytes) -> Fields:
    out = []
    for line in block.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            out.append((key, value))
    return out


def header(block: bytes, key: str) -> str | None:
    for k, v in fields_of(block):
        if k == key:
            return v
    return None


def with_action_id(block: bytes, old: str, new: str) -> bytes:
    return block.replace(f"ActionID: {old}\r\n".encode(), f"ActionID: {new}\r\n".encode())


def _key(fields: Fields) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in fields if k != "ActionID"))


class Capture:
    """One captured session: the actions sent and every received frame grouped by ActionID."""

    def __init__(self, received: Path, sent: Path) -> None:
        self.banner, self.blocks = split_blocks(received.read_bytes())
        _, sent_blocks = split_blocks(sent.read_bytes())
        self.actions = [fields_of(b) for b in sent_blocks]
        self.by_key: dict[tuple[tuple[str, str], ...], str] = {}
        self.replies: dict[str, list[bytes]] = {}
        ids = set()
        for fields in self.actions:
            action_id = dict(fields)["ActionID"]
            ids.add(action_id)
            self.by_key.setdefault(_key(fields), action_id)
            self.replies[action_id] = []
        for index, block in enumerate(self.blocks):
            found = header(block, "ActionID")
            if found is not None and found in ids:
                self.replies[found].append(block)
                if header(block, "Message") == "Authentication accepted":
                    # FullyBooted and SuccessfulAuth follow the login response at once
                    for after in self.blocks[index + 1 : index + 3]:
                        if header(after, "Event") in ("FullyBooted", "SuccessfulAuth"):
                            self.replies[found].append(after)

    def action(self, action_id: str) -> Fields:
        return next(f for f in self.actions if dict(f)["ActionID"] == action_id)

    def match(self, fields: Fields) -> str | None:
        return self.by_key.get(_key(fields))

    def reply(self, captured_id: str, new_id: str, *, span: bool = False) -> bytes:
        """The captured reply; with ``span`` every frame from the response to the last frame of that
        ActionID, including the unrelated events Asterisk interleaved."""
        blocks = self.replies[captured_id]
        if span and len(blocks) > 1:
            first, last = self.blocks.index(blocks[0]), self.blocks.index(blocks[-1])
            blocks = self.blocks[first : last + 1]
        return b"".join(with_action_id(b, captured_id, new_id) for b in blocks)

    def reply_and_after(self, captured_id: str, new_id: str, after: int) -> bytes:
        """The captured reply plus the ``after`` frames that followed it (e.g. the ``Reload`` event
        after ModuleLoad's response, which carries no ActionID)."""
        last = self.blocks.index(self.replies[captured_id][-1])
        return self.reply(captured_id, new_id) + b"".join(self.blocks[last + 1 : last + 1 + after])

    def count(self, captured_id: str, event: str | None = None) -> int:
        return sum(1 for b in self.replies[captured_id] if event is None or header(b, "Event") == event)


ACTIONS = Capture(FIXTURES / "actions" / "ami.txt", FIXTURES / "actions" / "ami.sent.txt")
BAD_LOGIN = (FIXTURES / "actions" / "bad-login.txt").read_bytes()
RESTART_BEFORE = Capture(
    FIXTURES / "restart" / "ami-before.txt", FIXTURES / "restart" / "ami-before.sent.txt"
)
RESTART_AFTER = Capture(FIXTURES / "restart" / "ami-after.txt", FIXTURES / "restart" / "ami-after.sent.txt")

# What the resync and the watchdog get when nothing more specific matches: the idle lists of actions/.
DEFAULTS = {
    "Login": "lab-001",
    "Ping": "lab-002",
    "QueueStatus": "lab-003",
    "QueueSummary": "lab-004",
    "CoreShowChannels": "lab-005",
    "Originate": "lab-023",
    "Logoff": "lab-042",
}

# A handler returns the bytes to send, None for "no answer", or CLOSE to drop the connection.
CLOSE = b"<close>"
Handler = Callable[[Fields, int], bytes | None]


class FakeAmi:
    def __init__(self, captures: list[Capture] | None = None, *, secret: str = "labsecret") -> None:
        self.captures = captures or [
            ACTIONS
        ]  # per connection: the n-th connection uses captures[n] (last repeats)
        self.secret = secret
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.received: list[tuple[int, Fields]] = []  # (connection number, fields)
        self.connections = 0
        self.logins = 0
        self.login_times: list[float] = []
        self.silent: set[str] = set()  # action names never answered
        self.mute_pings_on: set[int] = set()  # connection numbers whose Pings go unanswered (half-open)
        self.handlers: dict[str, Handler] = {}
        self.script: dict[str, str] = {}  # action name → captured ActionID to answer with
        self.spans = False  # replay interleaved events too (see Capture.reply)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Kill: stop listening (connections are refused) and drop every connection."""
        if self.server is not None:
            self.server.close()
            for writer in self.writers:
                writer.transport.abort()
            await self.server.wait_closed()
            self.server = None
        self.writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def push(self, data: bytes) -> None:
        for writer in self.writers:
            writer.write(data)

    def sent(self, name: str) -> list[Fields]:
        return [f for _, f in self.received if dict(f).get("Action") == name]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        number = self.connections
        capture = self.captures[min(number, len(self.captures)) - 1]
        self.writers.append(writer)
        writer.write(capture.banner or b"Asterisk Call Manager/11.0.0\r\n")
        buffer = b""
        try:
            while data := await reader.read(65536):
                buffer += data
                while END in buffer:
                    block, buffer = buffer.split(END, 1)
                    reply = self._answer(fields_of(block), number, capture)
                    if reply and reply.endswith(CLOSE):
                        writer.write(reply[: -len(CLOSE)])
                        await writer.drain()
                        writer.close()
                        return
                    if reply:
                        writer.write(reply)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if writer in self.writers:
                self.writers.remove(writer)
            writer.close()
            self._tasks.discard(task)

    def _answer(self, fields: Fields, number: int, capture: Capture) -> bytes | None:
        self.received.append((number, fields))
        values = dict(fields)
        name, action_id = values.get("Action", ""), values.get("ActionID", "")
        if name in self.silent:
            return None
        if name == "Login":
            self.logins += 1
            self.login_times.append(asyncio.get_running_loop().time())
            if values.get("Secret") != self.secret:
                _, (bad,) = split_blocks(BAD_LOGIN)
                return with_action_id(bad, "bad-1", action_id) + CLOSE
        if name == "Ping" and number in self.mute_pings_on:
            return None
        handler = self.handlers.get(name)
        if handler is not None:
            return handler(fields, number)
        captured = self.script.get(name) or capture.match(fields)
        if captured is None and name in DEFAULTS:
            captured = DEFAULTS[name] if DEFAULTS[name] in capture.replies else None
            if captured is None:
                return ACTIONS.reply(DEFAULTS[name], action_id)
        if captured is None:
            return (
                f"Response: Error\r\nActionID: {action_id}\r\n"
                f"Message: Invalid/unknown command: {name}. Use Action: ListCommands to show available "
                f"commands.\r\n\r\n"
            ).encode()
        return capture.reply(captured, action_id, span=self.spans)
