"""At connect the simulator sets app_queue's channel variables as Asterisk 22 did in the captures: with
``setinterfacevar=yes`` MEMBERINTERFACE, MEMBERNAME, MEMBERCALLS, MEMBERLASTCALL, MEMBERPENALTY,
MEMBERDYNAMIC, MEMBERREALTIME on the caller's channel then on the agent's, with ``setqueueentryvar=yes``
QEHOLDTIME and QEORIGINALPOS (caller, agent) — one VarSet each, right after MusicOnHoldStop. acd's
translation is unchanged by them, and the post-call survey reads the member from them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from acd.ami.frames import parse_capture
from acd.translate import translate_frames
from pbxsim import Simulator
from pbxsim.agi_client import IvrScript
from pbxsim.clock import VirtualClock
from pbxsim.engine import CallerSpec
from pbxsim.frames import encode
from pbxsim.queues import Phone
from tests.pbxsim.amitest import Frame, capture, get, kind, split_frames
from tests.pbxsim.test_call_sequences import simulated

MEMBER_VARS = [
    "MEMBERINTERFACE",
    "MEMBERNAME",
    "MEMBERCALLS",
    "MEMBERLASTCALL",
    "MEMBERPENALTY",
    "MEMBERDYNAMIC",
    "MEMBERREALTIME",
]
ENTRY_VARS = ["QEHOLDTIME", "QEORIGINALPOS"]
CAPTURED_ORDER = (
    [("caller", v) for v in MEMBER_VARS]
    + [("agent", v) for v in MEMBER_VARS]
    + [("caller", v) for v in ENTRY_VARS]
    + [("agent", v) for v in ENTRY_VARS]
)


def is_connect_var(frame: Frame) -> bool:
    return kind(frame) == "VarSet" and str(get(frame, "Variable")).startswith(("MEMBER", "QE"))


@dataclass
class Connect:
    """One AgentConnect and the MEMBER*/QE* VarSets since the winning DialEnd, as (side, variable, value)."""

    member: str
    hold: int
    at: float  # the AgentConnect's Timestamp
    vars: list[tuple[str, str, str]]
    straight_after_moh: bool  # nothing between MusicOnHoldStop and the first of them
    before_leave: bool  # all of them before QueueCallerLeave

    def value(self, side: str, name: str) -> str:
        return next(v for s, n, v in self.vars if (s, n) == (side, name))


def connects(frames: list[Frame]) -> list[Connect]:
    out = []
    for i, frame in enumerate(frames):
        if kind(frame) != "AgentConnect":
            continue
        caller, agent = get(frame, "Uniqueid"), get(frame, "DestUniqueid")
        k = i
        while not (
            kind(frames[k]) == "DialEnd"
            and get(frames[k], "DialStatus") == "ANSWER"
            and get(frames[k], "Uniqueid") == caller
        ):
            k -= 1
        window = frames[k:i]
        sides = {caller: "caller", agent: "agent"}
        variables = [
            (sides.get(get(f, "Uniqueid"), "?"), str(get(f, "Variable")), str(get(f, "Value")))
            for f in window
            if is_connect_var(f)
        ]
        kinds = [kind(f) for f in window]
        positions = [n for n, f in enumerate(window) if is_connect_var(f)]
        out.append(
            Connect(
                member=str(get(frame, "MemberName")),
                hold=int(str(get(frame, "HoldTime"))),
                at=float(str(get(frame, "Timestamp"))),
                vars=variables,
                straight_after_moh=bool(positions) and kinds[positions[0] - 1] == "MusicOnHoldStop",
                before_leave=bool(positions) and positions[-1] < kinds.index("QueueCallerLeave"),
            )
        )
    return out


@pytest.mark.parametrize("folder", ["answered", "priority", "penalty", "ringall"])
async def test_connect_vars_in_the_captured_order_and_values(folder: str) -> None:
    real, ours = connects(capture(folder)), connects(await simulated(folder))
    assert [c.member for c in ours] == [c.member for c in real]
    for n, (mine, theirs) in enumerate(zip(ours, real, strict=True), start=1):
        assert [(side, name) for side, name, _ in theirs.vars] == CAPTURED_ORDER, n
        assert [(side, name) for side, name, _ in mine.vars] == CAPTURED_ORDER, n
        assert mine.straight_after_moh and mine.before_leave, n
        for side in ("caller", "agent"):
            # the same member, its calls taken so far, its penalty (Bob's 10 after QueuePenalty in
            # penalty/), static, and the caller's join position
            for name in (
                "MEMBERINTERFACE",
                "MEMBERNAME",
                "MEMBERCALLS",
                "MEMBERPENALTY",
                "MEMBERDYNAMIC",
                "MEMBERREALTIME",
                "QEORIGINALPOS",
            ):
                assert mine.value(side, name) == theirs.value(side, name), (n, side, name)
            # hold time: as the AgentConnect says (this run's timing differs by a second here and there)
            assert mine.value(side, "QEHOLDTIME") == str(mine.hold)
            assert abs(int(mine.value(side, "QEHOLDTIME")) - int(theirs.value(side, "QEHOLDTIME"))) <= 1
            # last call: 0 before the first call, else an epoch of the run's clock, as long before the
            # connect as in the capture
            for c in (mine, theirs):
                assert (c.value(side, "MEMBERLASTCALL") == "0") == (c.value(side, "MEMBERCALLS") == "0")
            if mine.value(side, "MEMBERLASTCALL") != "0":
                ago = mine.at - int(mine.value(side, "MEMBERLASTCALL"))
                ago_real = theirs.at - int(theirs.value(side, "MEMBERLASTCALL"))
                assert abs(ago - ago_real) <= 2.5, (n, ago, ago_real)


async def test_dynamic_members_say_so() -> None:
    sim = Simulator(scenario="idle")
    sim.engine.record_frames = True
    await sim.start(serve=False)
    sim.engine.queue_add("billing", "PJSIP/1006", "Frank")
    sim.engine.devices["PJSIP/1006"].phone = Phone(answer_after=1.0, talk=2.0)
    call = sim.engine.place_call(CallerSpec("13900139001", "Sun Qiang", "billing"))
    await pump(sim.virtual, lambda: call.done)
    await sim.stop()
    frames = split_frames(b"".join(encode(f) for f in sim.engine.frames))[1]
    [connect] = connects(frames)
    # as agent-states/ shows for Frank, logged in with QueueAdd
    assert connect.value("caller", "MEMBERDYNAMIC") == connect.value("agent", "MEMBERDYNAMIC") == "1"
    assert connect.value("caller", "MEMBERINTERFACE") == "PJSIP/1006"


async def test_acd_translates_the_same_events_with_or_without_them() -> None:
    frames = await simulated("answered")
    without = [f for f in frames if not is_connect_var(f)]
    assert len(without) == len(frames) - 8 * 18  # 18 per answered call

    def events(chosen: list[Frame]) -> list[object]:
        raw = b"".join(encode(f) for f in chosen)
        _, parsed = parse_capture(raw)
        return translate_frames(parsed, clock=lambda: datetime(2026, 11, 23, tzinfo=UTC))

    assert events(frames) == events(without)


# --- the survey after the call reads the member from the channel -----------------------------------------


class ScriptServer:
    """A FastAGI server for both scripts: ``ivr`` sends the caller to support, ``survey`` asks for the
    variables app_queue left on the channel; the replies are kept per script."""

    SURVEY = ("MEMBERINTERFACE", "MEMBERNAME", "QEHOLDTIME")

    def __init__(self) -> None:
        self.replies: dict[str, list[str]] = {}
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = []
        while (line := await reader.readline()) not in (b"\n", b""):
            header.append(line.decode().rstrip("\n"))
        script = next(h.split(": ", 1)[1] for h in header if h.startswith("agi_network_script:"))
        if script == "ivr":
            commands = ["SET VARIABLE IVR_QUEUE support"]
        else:
            commands = [f"GET VARIABLE {name}" for name in self.SURVEY]
        got = []
        for command in commands:
            writer.write(f"{command}\n".encode())
            await writer.drain()
            got.append((await reader.readline()).decode().rstrip("\n"))
        self.replies[script] = got
        if writer.can_write_eof():
            writer.write_eof()
        await reader.read()
        writer.close()


async def pump(clock: VirtualClock, until: Callable[[], bool], *, limit: float = 300.0) -> None:
    spent = 0.0
    while not until():
        await clock.advance(0.1)
        await asyncio.sleep(0.001)
        spent += 0.1
        assert spent < limit, "simulated time ran out"


async def survey_replies(*, setinterfacevar: bool) -> tuple[list[str], list[Frame]]:
    server = ScriptServer()
    await server.start()
    sim = Simulator(scenario="idle", agi_address=f"127.0.0.1:{server.port}")
    sim.engine.record_frames = True
    await sim.start(serve=False)
    if not setinterfacevar:  # queues.conf without setinterfacevar (QueueConfig has no such field yet)
        setattr(sim.engine.queues["support"].config, "setinterfacevar", False)  # noqa: B010
    for interface in ("PJSIP/1001", "PJSIP/1003", "PJSIP/1004"):
        sim.engine.queue_pause(interface, True, "break", "support")
    sim.engine.devices["PJSIP/1002"].phone = Phone(answer_after=1.0, talk=3.0)  # Bob hangs up: the survey
    call = sim.engine.place_call(CallerSpec("13900139001", "Sun Qiang", ivr=IvrScript(survey=IvrScript())))
    await pump(sim.virtual, lambda: "survey" in server.replies and call.done and not sim.engine.agi_tasks)
    await sim.stop()
    await server.stop()
    return server.replies["survey"], split_frames(b"".join(encode(f) for f in sim.engine.frames))[1]


async def test_the_survey_reads_the_member_app_queue_left_on_the_channel() -> None:
    replies, frames = await survey_replies(setinterfacevar=True)
    [connect] = connects(frames)
    assert replies == ["200 result=1 (PJSIP/1002)", "200 result=1 (Bob)", f"200 result=1 ({connect.hold})"]


async def test_without_setinterfacevar_the_survey_learns_no_member() -> None:
    replies, frames = await survey_replies(setinterfacevar=False)
    names = [str(get(f, "Variable")) for f in frames if is_connect_var(f)]
    assert names == ENTRY_VARS * 2  # setqueueentryvar still on: QEHOLDTIME, QEORIGINALPOS on both legs
    assert replies[:2] == ["200 result=0", "200 result=0"]  # as Asterisk: nothing to read
    assert replies[2].startswith("200 result=1 (")
