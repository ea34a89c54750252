"""The simulator's FastAGI client: what Asterisk 22 does for ``AGI(agi://host:port/ivr)`` on a caller channel.

Owns one AGI conversation (``AgiCall``): the TCP connection, the ``agi_`` header block exactly as captured in
../shared/fixtures/asterisk/ivr/agi-raw (22 lines, ``\\n`` line ends, same order), and Asterisk's answer to
each command: ANSWER ``200 result=0``, STREAM FILE ``200 result=0 endpos=<samples>`` after the prompt has
played, GET DATA the caller's scripted keys (``200 result=123456``, ``200 result=23 (timeout)``,
``200 result= (timeout)``), SET VARIABLE ``200 result=1`` (+ AMI VarSet), GET VARIABLE ``200 result=1
(value)`` / ``200 result=0``, VERBOSE ``200 result=1``, EXEC ``200 result=0``, HANGUP ``200 result=1``;
unknown commands ``510``. AMI sees AGIExecStart/AGIExecEnd per command and DTMFBegin/DTMFEnd per key.

A caller hanging up mid-command (``IvrScript.hangup_at``): the pending command is answered ``200 result=-1``,
then the unsolicited ``HANGUP`` line, then the next command ``511 Command Not Permitted on a dead channel or
intercept routine`` (the capture's order), and the socket is closed. The outcome is Asterisk's AGISTATUS:
SUCCESS, HANGUP, or FAILURE when the server cannot be reached (the dialplan goes on).

The dialplan passes the call's linkedid as the first AGI argument
(``AGI(${AGI_SERVER}/ivr,${CHANNEL(linkedid)})``), so the header block ends with ``agi_arg_1: <linkedid>``.
The same client runs the dialplan's later AGIs on the caller channel: ``survey`` after the agent hung up
(Queue option ``F(survey^s^1)``) and ``callback`` when Queue() returned unanswered, with the caller's
``IvrScript.survey`` / ``IvrScript.callback`` keys.

Time (prompt lengths, key presses, GET DATA timeouts) runs on the engine's clock, so a virtual clock plays
an IVR walk in milliseconds while the socket talk is real.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbxsim.frames import Headers

if TYPE_CHECKING:
    from pbxsim.engine import Channel, Engine

AGI_VERSION = "22.10.1"
DEAD_CHANNEL = "Command Not Permitted on a dead channel or intercept routine"
# prompt lengths in 8 kHz samples (STREAM FILE's endpos): the captured ones, 3 s for the others
PROMPT_SAMPLES = {"welcome": 31422, "invalid-id": 25678, "hold": 32169}
DEFAULT_SAMPLES = 24000
HANGUP_GRACE = 10.0  # seconds Asterisk waits for the server's next command after a hang-up before closing
_WORDS = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


@dataclass(frozen=True)
class IvrScript:
    """What a simulated caller does in the IVR: ``keys`` are typed at the successive GET DATA commands
    ('' stays silent, ``#`` ends an entry); when they run out the caller stays silent. ``hangup_at``: the
    GET DATA (0-based) during which the caller hangs up, ``hangup_after`` seconds after it started.
    ``on_prompt``: (prompt name, keys) typed whenever a GET DATA plays that prompt (e.g. ``("wait-offer",
    "1")`` takes the call-back offer) without using up ``keys``. ``survey`` / ``callback``: the caller's
    script for the AGI after the call (the agent hung up) resp. after an unanswered Queue(); None hangs up
    at once."""

    keys: tuple[str, ...] = ()
    hangup_at: int | None = None
    hangup_after: float = 2.0
    first_key: float = 0.6  # seconds from the start of GET DATA to the first key (it cuts the prompt short)
    key_gap: float = 0.4  # between keys, as in the capture
    on_prompt: tuple[tuple[str, str], ...] = ()
    survey: IvrScript | None = None
    callback: IvrScript | None = None


HANG_UP_AT_ONCE = IvrScript(hangup_at=0, hangup_after=0.5)


@dataclass(frozen=True)
class AgiTarget:
    """Where the dialplan's ``AGI(agi://host:port/<script>)`` goes."""

    host: str
    port: int
    script: str = "ivr"

    @classmethod
    def parse(cls, address: str) -> AgiTarget:
        """``host:port`` (or ``agi://host:port/script``)."""
        text = address.removeprefix("agi://")
        hostport, _, script = text.partition("/")
        host, _, port = hostport.rpartition(":")
        return cls(host or "127.0.0.1", int(port or 4573), script or "ivr")

    @property
    def url(self) -> str:
        return f"agi://{self.host}:{self.port}/{self.script}"


def split_command(line: str) -> list[str]:
    """AGI's argument splitting: words, or double-quoted strings with backslash escapes."""
    out = []
    for match in _WORDS.finditer(line):
        quoted, bare = match.group(1), match.group(2)
        out.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
    return out


def prompt_samples(name: str) -> int:
    return PROMPT_SAMPLES.get(name.rsplit("/", 1)[-1], DEFAULT_SAMPLES)


class CallerGone(Exception):
    """The caller hung up while a command was running."""


class AgiCall:
    """One AGI conversation for one caller channel; ``await run()`` returns AGISTATUS."""

    def __init__(
        self,
        engine: Engine,
        channel: Channel,
        script: IvrScript,
        target: AgiTarget,
        *,
        thread_id: int,
        args: tuple[str, ...] = (),
        connect_timeout: float = 5.0,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.script = script
        self.target = target
        self.thread_id = thread_id
        self.args = args  # AGI(url,arg1,…): agi_arg_1 …
        self.connect_timeout = connect_timeout
        self.gone = asyncio.Event()  # the caller hung up
        self.hangup_requested = False  # the AGI sent HANGUP
        self.get_data_count = 0
        self.commands: list[tuple[str, str]] = []  # (command, reply) for tests and debugging

    # --- the caller ------------------------------------------------------------------------------

    def caller_hangup(self) -> None:
        """The caller puts the phone down (scripted, or an AMI Hangup)."""
        if not self.gone.is_set():
            self.gone.set()
            self.engine.emit("HangupRequest", "call,all", self.channel.snapshot())

    async def _sleep(self, seconds: float) -> None:
        """Wait on the engine's clock; the caller hanging up meanwhile raises CallerGone."""
        if self.gone.is_set():
            raise CallerGone
        sleeper = asyncio.ensure_future(self.engine.clock.sleep(seconds))
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            await asyncio.wait({sleeper, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            gone.cancel()
        if self.gone.is_set():
            raise CallerGone

    # --- the conversation ------------------------------------------------------------------------

    def header_block(self) -> bytes:
        chan = self.channel
        lines = [
            ("network", "yes"),
            ("network_script", self.target.script),
            ("request", self.target.url),
            ("channel", chan.name),
            # [from-pstn] Set(CHANNEL(language)=${PROMPT_LANGUAGE}); Asterisk's default is en (as captured)
            ("language", self.engine.globals.get("PROMPT_LANGUAGE") or "en"),
            ("type", chan.name.split("/", 1)[0]),
            ("uniqueid", chan.uniqueid),
            ("version", AGI_VERSION),
            ("callerid", chan.cid_num or "unknown"),
            ("calleridname", chan.cid_name or "unknown"),
            ("callingpres", "0"),
            ("callingani2", "0"),
            ("callington", "0"),
            ("callingtns", "0"),
            ("dnid", chan.exten),
            ("rdnis", "unknown"),
            ("context", chan.context),
            ("extension", chan.exten),
            ("priority", str(chan.priority)),
            ("enhanced", "0.0"),
            ("accountcode", ""),
            ("threadid", str(self.thread_id)),
            *((f"arg_{n}", value) for n, value in enumerate(self.args, start=1)),
        ]
        return ("".join(f"agi_{k}: {v}\n" for k, v in lines) + "\n").encode("utf-8")

    async def run(self) -> str:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.target.host, self.target.port), self.connect_timeout
            )
        except (OSError, TimeoutError):
            return "FAILURE"  # Asterisk: "Failed to connect to …", the dialplan goes on
        try:
            writer.write(self.header_block())
            await writer.drain()
            return await self._loop(reader, writer)
        except (ConnectionError, OSError, ValueError):  # reset, or a line beyond the stream's limit
            return "HANGUP" if self.gone.is_set() else "SUCCESS"
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)

    async def _read_command(self, reader: asyncio.StreamReader, *, dead: bool) -> str | None:
        """The next command line; None when the server closed. Before the caller is gone, a hang-up while
        waiting sends ``HANGUP`` at once (Asterisk's loop notices the dead channel)."""
        if dead:
            try:
                async with asyncio.timeout(HANGUP_GRACE):
                    raw = await reader.readline()
            except TimeoutError:
                return None
        else:
            read = asyncio.ensure_future(reader.readline())
            gone = asyncio.ensure_future(self.gone.wait())
            try:
                await asyncio.wait({read, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
            if not read.done():
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await read
                return ""  # the caller left while the server was thinking
            raw = read.result()
        if not raw:
            return None
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def _loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        dead = False  # the caller is gone
        hangup_sent = False
        while True:
            line = await self._read_command(reader, dead=dead)
            if line is None:  # the server ended the AGI (or never sent another command)
                return "HANGUP" if dead or self.hangup_requested else "SUCCESS"
            if line == "" and not dead:
                # hung up between commands: Asterisk tells the server at once
                dead = hangup_sent = True
                writer.write(b"HANGUP\n")
                await writer.drain()
                continue
            if dead:
                # as captured: HANGUP once the next command is pending, then that command is refused
                if not hangup_sent:
                    writer.write(b"HANGUP\n")
                command_id = self._exec_start(line)
                self._exec_end(command_id, line, 511, DEAD_CHANNEL)
                writer.write(f"511 {DEAD_CHANNEL}\n".encode())
                await writer.drain()
                self.commands.append((line, f"511 {DEAD_CHANNEL}"))
                return "HANGUP"
            command_id = self._exec_start(line)
            try:
                reply = await self._execute(line)
            except CallerGone:
                reply, dead = "200 result=-1", True
            code = int(reply[:3])
            self._exec_end(command_id, line, code, "Success" if code == 200 else reply[4:])
            writer.write(reply.encode("utf-8") + b"\n")
            await writer.drain()
            self.commands.append((line, reply))
            if self.hangup_requested:
                return "SUCCESS"

    def _exec_start(self, command: str) -> str:
        command_id = str(self.engine.rng.randrange(1, 2**31))
        self.engine.emit(
            "AGIExecStart",
            "agi,all",
            [*self.channel.snapshot(), ("CommandId", command_id), ("Command", command)],
        )
        return command_id

    def _exec_end(self, command_id: str, command: str, code: int, result: str) -> None:
        self.engine.emit(
            "AGIExecEnd",
            "agi,all",
            [
                *self.channel.snapshot(),
                ("CommandId", command_id),
                ("Command", command),
                ("ResultCode", str(code)),
                ("Result", result),
            ],
        )

    # --- the commands ----------------------------------------------------------------------------

    async def _execute(self, line: str) -> str:
        words = split_command(line)
        upper = [w.upper() for w in words[:2]]
        if upper[:1] == ["ANSWER"]:
            return "200 result=0"
        if upper == ["STREAM", "FILE"] and len(words) >= 3:
            samples = prompt_samples(words[2])
            await self._sleep(samples / 8000.0)
            return f"200 result=0 endpos={samples}"
        if upper == ["GET", "DATA"] and len(words) >= 3:
            timeout_ms = int(words[3]) if len(words) > 3 and words[3].isdigit() else 5000
            max_digits = int(words[4]) if len(words) > 4 and words[4].isdigit() else 1024
            return await self._get_data(words[2], timeout_ms, max(1, max_digits))
        if upper == ["SET", "VARIABLE"] and len(words) >= 3:
            self.engine.set_variable(self.channel, words[2], words[3] if len(words) > 3 else "")
            return "200 result=1"
        if upper == ["GET", "VARIABLE"] and len(words) >= 3:
            value = self.engine.getvar(self.channel, words[2])
            known = words[2] in self.channel.variables or value != ""
            return f"200 result=1 ({value})" if known else "200 result=0"
        if upper == ["SAY", "NUMBER"] and len(words) >= 3:
            digits = words[2].lstrip("-")
            await self._sleep(0.6 * max(1, len(digits)))  # about one sound file per digit
            return "200 result=0"
        if upper[:1] == ["VERBOSE"]:
            return "200 result=1"
        if upper[:1] == ["EXEC"]:
            return "200 result=0"
        if upper[:1] == ["NOOP"]:
            return "200 result=0"
        if upper[:1] == ["HANGUP"]:
            self.hangup_requested = True
            return "200 result=1"
        return "510 Invalid or unknown command"

    async def _get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        script = self.script
        reactions = dict(script.on_prompt)
        heard = prompt.rsplit("/", 1)[-1]
        if heard in reactions:  # the caller answers what this prompt asks
            keys = reactions[heard]
        else:
            index = self.get_data_count
            self.get_data_count += 1
            if script.hangup_at == index:
                await self._sleep(script.hangup_after)
                self.caller_hangup()
                raise CallerGone
            keys = script.keys[index] if index < len(script.keys) else ""
        played = prompt_samples(prompt) / 8000.0
        typed = ""
        if keys:
            await self._sleep(script.first_key)
            elapsed = script.first_key
            for n, key in enumerate(keys):
                if n:
                    await self._sleep(script.key_gap)
                    elapsed += script.key_gap
                self._dtmf(key)
                if key == "#":
                    return f"200 result={typed}"
                typed += key
                if len(typed) >= max_digits:
                    return f"200 result={typed}"
            # fewer keys than wanted: the inter-digit timeout runs out
            await self._sleep(timeout_ms / 1000.0)
            return f"200 result={typed} (timeout)"
        await self._sleep(played + timeout_ms / 1000.0)
        return "200 result= (timeout)"

    def _dtmf(self, digit: str) -> None:
        snapshot: Headers = self.channel.snapshot()
        self.engine.emit("DTMFBegin", "dtmf,all", [*snapshot, ("Digit", digit), ("Direction", "Received")])
        self.engine.emit(
            "DTMFEnd",
            "dtmf,all",
            [*snapshot, ("Digit", digit), ("DurationMs", "120"), ("Direction", "Received")],
        )
