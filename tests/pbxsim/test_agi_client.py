"""The simulator as FastAGI client, byte for byte against the captures (../shared/fixtures/asterisk/ivr/
agi-raw): a fake IVR server sends the commands the lab's server sent and receives exactly what Asterisk sent
(header block, replies, the HANGUP line and the 511 of a caller hanging up during GET DATA)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from pbxsim import Simulator, VirtualClock
from pbxsim.agi_client import AgiCall, AgiTarget, IvrScript, split_command
from pbxsim.engine import CallerSpec, Channel, Engine
from pbxsim.frames import Headers

RAW = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk" / "ivr" / "agi-raw"
CAPTURED_URL = b"agi://127.0.0.1:4573/ivr"


def commands_of(prefix: str) -> list[bytes]:
    """The command lines the captured server sent, in order."""
    return (RAW / f"{prefix}.out.bin").read_bytes().splitlines(keepends=True)


class FakeIvr:
    """Sends the captured commands one by one, each after the complete reply to the previous one."""

    def __init__(self, commands: list[bytes], *, close_after: int | None = None) -> None:
        self.commands = commands
        self.received = b""
        self.close_after = len(commands) if close_after is None else close_after
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # the header block
                line = await reader.readline()
                self.received += line
                if line in (b"\n", b""):
                    break
            for command in self.commands[: self.close_after]:
                writer.write(command)
                await writer.drain()
                while True:
                    line = await reader.readline()
                    self.received += line
                    if not line or line != b"HANGUP\n":
                        break
                if not line:
                    break
            # the server has nothing more to say: it ends the AGI (half-close), then reads what is left
            if writer.can_write_eof():
                writer.write_eof()
            self.received += await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def captured_channel(engine: Engine, prefix: str) -> Channel:
    """The caller channel of the capture (name, uniqueid, caller id, dialplan position)."""
    values: dict[str, str] = {}
    for line in (RAW / f"{prefix}.in.bin").read_bytes().decode().split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(": ")
        values[key.rstrip(":")] = value
    chan = Channel(
        name=values["agi_channel"],
        uniqueid=values["agi_uniqueid"],
        linkedid=values["agi_uniqueid"],
        cid_num=values["agi_callerid"],
        cid_name=values["agi_calleridname"],
        context=values["agi_context"],
        exten=values["agi_extension"],
        priority=int(values["agi_priority"]),
        state=6,
    )
    engine.channels[chan.name] = chan
    return chan


def thread_id(prefix: str) -> int:
    data = (RAW / f"{prefix}.in.bin").read_bytes().decode()
    return int(data.split("agi_threadid: ", 1)[1].split("\n", 1)[0])


async def pump(clock: VirtualClock, until: Callable[[], bool], *, limit: float = 300.0) -> None:
    """Let simulated time pass in small steps while the sockets talk in real time."""
    spent = 0.0
    while not until():
        await clock.advance(0.1)
        await asyncio.sleep(0.001)
        spent += 0.1
        assert spent < limit, "simulated time ran out"


async def converse(prefix: str, script: IvrScript) -> tuple[bytes, bytes, str, list[Headers]]:
    """(bytes our client sent, the capture's bytes with our URL, AGISTATUS, AMI frames)."""
    clock = VirtualClock()
    engine = Engine(clock)
    engine.record_frames = True
    fake = FakeIvr(commands_of(prefix))
    await fake.start()
    target = AgiTarget("127.0.0.1", fake.port)
    call = AgiCall(engine, captured_channel(engine, prefix), script, target, thread_id=thread_id(prefix))
    task = asyncio.create_task(call.run())
    await pump(clock, task.done)
    await fake.stop()
    expected = (RAW / f"{prefix}.in.bin").read_bytes().replace(CAPTURED_URL, target.url.encode())
    return fake.received, expected, task.result(), engine.frames


def event(frames: list[Headers], name: str) -> list[dict[str, str]]:
    return [dict(f) for f in frames if f[0] == ("Event", name)]


async def test_wrong_id_then_valid_id_is_answered_byte_for_byte() -> None:
    received, expected, status, frames = await converse(
        "agi-003-021440", IvrScript(keys=("1", "123456", "123455"))
    )
    assert received == expected
    assert status == "SUCCESS"
    varsets = [(f["Variable"], f["Value"]) for f in event(frames, "VarSet")]
    assert varsets == [("IVR_CHOICE", "1"), ("CUSTOMER_ID", "123455"), ("IVR_QUEUE", "support")]
    assert "".join(f["Digit"] for f in event(frames, "DTMFEnd")) == "1123456123455"
    starts, ends = event(frames, "AGIExecStart"), event(frames, "AGIExecEnd")
    assert len(starts) == len(ends) == 11
    assert [s["CommandId"] for s in starts] == [e["CommandId"] for e in ends]
    assert {e["ResultCode"] for e in ends} == {"200"}


async def test_agent_key_is_answered_byte_for_byte() -> None:
    received, expected, status, _ = await converse("agi-004-021443", IvrScript(keys=("0",)))
    assert received == expected
    assert status == "SUCCESS"


async def test_hangup_during_get_data_sends_minus_one_hangup_then_511() -> None:
    received, expected, status, frames = await converse(
        "agi-005-021446", IvrScript(hangup_at=0, hangup_after=2.0)
    )
    assert received == expected
    dead = b"511 Command Not Permitted on a dead channel or intercept routine\n"
    assert received.endswith(b"200 result=-1\nHANGUP\n" + dead)
    assert status == "HANGUP"
    names = [f[0][1] for f in frames]
    assert names.index("HangupRequest") < len(names) - 3  # before the GET DATA's AGIExecEnd
    ends = event(frames, "AGIExecEnd")
    assert [e["ResultCode"] for e in ends] == ["200", "200", "200", "511"]
    assert ends[-1]["Result"] == "Command Not Permitted on a dead channel or intercept routine"


async def test_partial_and_empty_entries_time_out() -> None:
    clock = VirtualClock()
    engine = Engine(clock)
    commands = [b"GET DATA custom/enter-id 6000 6\n", b"GET DATA custom/menu 5000 1\n", b"GET DATA x 100 4\n"]
    fake = FakeIvr(commands)
    await fake.start()
    chan = captured_channel(engine, "agi-003-021440")
    script = IvrScript(keys=("23", "", "12#"))
    call = AgiCall(engine, chan, script, AgiTarget("127.0.0.1", fake.port), thread_id=1)
    task = asyncio.create_task(call.run())
    await pump(clock, task.done)
    await fake.stop()
    assert [reply for _, reply in call.commands] == [
        "200 result=23 (timeout)",
        "200 result= (timeout)",
        "200 result=12",
    ]


async def test_prompt_answers_say_number_and_the_linkedid_argument() -> None:
    clock = VirtualClock()
    engine = Engine(clock)
    commands = [
        b'SAY NUMBER 8 ""\n',
        b"GET DATA custom/wait-offer 5000 1\n",  # answered from on_prompt: the keys are not used up
        b"GET DATA custom/menu 5000 1\n",
        b"GET DATA custom/survey 5000 1\n",
    ]
    fake = FakeIvr(commands)
    await fake.start()
    chan = captured_channel(engine, "agi-003-021440")
    script = IvrScript(keys=("0", "4"), on_prompt=(("wait-offer", "1"),))
    call = AgiCall(
        engine, chan, script, AgiTarget("127.0.0.1", fake.port, "survey"), thread_id=7, args=("1795400079.0",)
    )
    task = asyncio.create_task(call.run())
    await pump(clock, task.done)
    await fake.stop()
    assert [reply for _, reply in call.commands] == [
        "200 result=0",
        "200 result=1",
        "200 result=0",
        "200 result=4",
    ]
    head = fake.received.split(b"\n\n", 1)[0].decode().splitlines()
    assert head[1] == "agi_network_script: survey"
    assert head[-2:] == ["agi_threadid: 7", "agi_arg_1: 1795400079.0"]  # after threadid, as Asterisk does
    assert len(head) == 23


async def test_unreachable_server_is_agistatus_failure_and_the_call_hangs_up() -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        sim = Simulator(scenario="idle", agi_address=f"127.0.0.1:{port}")
        sim.engine.record_frames = True
        await sim.start(serve=False)
        call = sim.engine.place_call(CallerSpec("13900139001", "Sun Qiang", ivr=IvrScript(keys=("0",))))
        await pump(sim.virtual, lambda: call.done)
        await sim.stop()
    varsets = [(dict(f).get("Variable"), dict(f).get("Value")) for f in sim.engine.frames]
    assert ("AGISTATUS", "FAILURE") in varsets
    assert not any(f[0] == ("Event", "QueueCallerJoin") for f in sim.engine.frames)
    assert call.outcome == "ivr_done"
    assert not sim.engine.agi_tasks


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('STREAM FILE custom/welcome ""', ["STREAM", "FILE", "custom/welcome", ""]),
        ('VERBOSE "IVR: to queue support" 1', ["VERBOSE", "IVR: to queue support", "1"]),
        (r'SET VARIABLE X "a \"b\" c"', ["SET", "VARIABLE", "X", 'a "b" c']),
    ],
)
def test_command_words(line: str, words: list[str]) -> None:
    assert split_command(line) == words


def test_target_parse() -> None:
    assert AgiTarget.parse("10.0.0.5:4573").url == "agi://10.0.0.5:4573/ivr"
    assert AgiTarget.parse("agi://h:1/survey") == AgiTarget("h", 1, "survey")
