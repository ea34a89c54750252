"""The dialplan after Queue(), played by the simulator against our FastAGI server: the agent hangs up →
the caller goes on to [survey] (Queue option ``F(survey^s^1)``) and answers the 1–5 question; Queue()
returns unanswered → ``AGI(…/callback)`` offers a call-back. Every AGI carries the call's linkedid as its
first argument. Also: deploy/asterisk/extensions.conf says what the simulator does and what we serve."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.models import CallbackReason, IvrCallbackRequest, IvrOutcome, IvrSession, SurveyResult
from ivr.server import IVR_SCRIPTS, FastAgiServer
from pbxsim import Simulator
from pbxsim.agi_client import IvrScript
from pbxsim.engine import Call, CallerSpec
from tests.ivr.test_sim_walk import frames, pump, serve_one_at_a_time, varsets

EXTENSIONS = Path(__file__).resolve().parents[2] / "deploy" / "asterisk" / "extensions.conf"


async def rows_of(
    factory: sessionmaker[Session], linkedid: str, count: int, model: Any = IvrSession
) -> list[Any]:
    """The rows of the call once ``count`` are there (each is written as its AGI session ends)."""
    found: list[Any] = []
    for _ in range(300):
        with factory() as session:
            found = list(session.scalars(select(model).where(model.linkedid == linkedid)).all())
            for row in found:
                session.expunge(row)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(found)} of {count} {model.__name__} rows for {linkedid}")


def agi_steps(sim: Simulator, call: Call) -> list[tuple[str, str, str]]:
    """(context, priority, command) of every AGI command run on the caller's channel."""
    return [
        (f["Context"], f["Priority"], f["Command"])
        for f in frames(sim, "AGIExecStart", call.channel.uniqueid)
    ]


async def test_after_the_agent_hangs_up_the_caller_answers_the_survey(
    sim: Simulator, agi: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    serve_one_at_a_time(sim, talk=5.0)  # Bob answers after 1 s and hangs up after 5 s
    script = IvrScript(keys=("0",), survey=IvrScript(keys=("9", "2")))  # an invalid key, then 2 (满意)
    call = sim.engine.place_call(CallerSpec("13900139001", "Sun Qiang", ivr=script))
    await pump(sim.virtual, lambda: call.done and call.agi is None and not sim.engine.agi_tasks)

    [complete] = frames(sim, "AgentComplete", call.channel.uniqueid)
    assert (complete["Reason"], complete["Interface"]) == ("agent", "PJSIP/1002")
    steps = agi_steps(sim, call)
    survey = [s for s in steps if s[0] == "survey"]
    assert survey and {s[1] for s in survey} == {"1"}  # [survey] s,1
    assert [s[2] for s in survey if s[2].startswith("GET DATA")] == ["GET DATA custom/survey 5000 1"] * 2
    # the caller's channel stays up through the survey and is hung up after it (Hangup() in [survey])
    hangups = frames(sim, "Hangup", call.channel.uniqueid)
    assert [h["Cause"] for h in hangups] == ["16"]
    assert [
        f["Value"] for f in frames(sim, "VarSet", call.channel.uniqueid) if f["Variable"] == "AGISTATUS"
    ] == [
        "SUCCESS",
        "SUCCESS",
    ]

    [result] = await rows_of(factory, call.channel.linkedid, 1, SurveyResult)
    assert (result.score, result.agent_interface, result.agent_name, result.queue) == (
        2,
        "PJSIP/1002",
        "Bob",
        "support",
    )
    rows = await rows_of(factory, call.channel.linkedid, 2)
    assert sorted(r.script for r in rows) == ["ivr", "survey"]
    survey_row = next(r for r in rows if r.script == "survey")
    assert survey_row.outcome is IvrOutcome.SELF_SERVICE
    assert [(e["result"], e.get("input")) for e in survey_row.path if e["step"] == "ask"] == [
        ("invalid", "9"),
        ("ok", "2"),
    ]
    assert agi.connections == 0


async def test_a_caller_who_hangs_up_at_the_survey_leaves_no_answer(
    sim: Simulator, factory: sessionmaker[Session]
) -> None:
    serve_one_at_a_time(sim, talk=4.0)
    script = IvrScript(keys=("0",), survey=IvrScript(hangup_at=0, hangup_after=1.0))
    call = sim.engine.place_call(CallerSpec("13900139002", "Li Lei", ivr=script))
    await pump(sim.virtual, lambda: call.done and call.agi is None and not sim.engine.agi_tasks)
    rows = await rows_of(factory, call.channel.linkedid, 2)
    survey_row = next(r for r in rows if r.script == "survey")
    assert survey_row.outcome is IvrOutcome.HANGUP
    with factory() as session:
        assert session.scalars(select(SurveyResult)).all() == []
    assert varsets(sim, call)["AGISTATUS"] == "HANGUP"
    assert [h["Cause"] for h in frames(sim, "Hangup", call.channel.uniqueid)] == ["0"]  # the caller's own
    assert call.channel.name not in sim.engine.channels


async def test_out_of_the_queue_unanswered_the_caller_is_offered_a_call_back(
    sim: Simulator, factory: sessionmaker[Session]
) -> None:
    # complaints has no members (joinempty=yes): the caller waits until Queue()'s 30 s timeout
    script = IvrScript(keys=("3",), callback=IvrScript(keys=("1",)))
    call = sim.engine.place_call(CallerSpec("13900139003", "Wu Xia", queue_timeout=30.0, ivr=script))
    await pump(sim.virtual, lambda: call.done and call.agi is None and not sim.engine.agi_tasks)

    assert varsets(sim, call)["QUEUESTATUS"] == "TIMEOUT"
    callback = [s for s in agi_steps(sim, call) if s[0] == "queues"]
    assert callback and {(s[0], s[1]) for s in callback} == {("queues", "5")}
    assert callback[0][2] == "GET DATA custom/callback-offer 5000 1"
    [request] = await rows_of(factory, call.channel.linkedid, 1, IvrCallbackRequest)
    assert (request.reason, request.queue, request.caller) == (
        CallbackReason.LONG_WAIT,
        "complaints",
        "+8613900139003",
    )
    rows = await rows_of(factory, call.channel.linkedid, 2)
    assert {r.script: r.outcome for r in rows} == {
        "ivr": IvrOutcome.TO_QUEUE,
        "callback": IvrOutcome.CALLBACK,
    }
    assert not frames(sim, "AgentComplete", call.channel.uniqueid)


async def test_a_refused_join_also_ends_in_the_call_back_offer(
    sim: Simulator, factory: sessionmaker[Session]
) -> None:
    # sales: no members and joinempty=no → QUEUESTATUS=JOINEMPTY, the dialplan goes on to the AGI
    script = IvrScript(keys=("4",), callback=IvrScript(keys=("2",)))  # declines
    call = sim.engine.place_call(CallerSpec("13900139004", "Zheng Hao", ivr=script))
    await pump(sim.virtual, lambda: call.done and call.agi is None and not sim.engine.agi_tasks)
    assert varsets(sim, call)["QUEUESTATUS"] == "JOINEMPTY"
    rows = await rows_of(factory, call.channel.linkedid, 2)
    assert {r.script for r in rows} == {"ivr", "callback"}
    with factory() as session:
        assert session.scalars(select(IvrCallbackRequest)).all() == []


async def test_every_agi_carries_the_linkedid_as_its_first_argument(
    sim: Simulator, agi: FastAgiServer
) -> None:
    call = sim.engine.place_call(CallerSpec("13900139005", ivr=IvrScript(keys=("0",))))
    assert call.agi is not None and call.agi.args == (call.channel.linkedid,)
    header = call.agi.header_block().decode()
    assert header.endswith(f"agi_threadid: {call.agi.thread_id}\nagi_arg_1: {call.channel.linkedid}\n\n")
    await pump(sim.virtual, lambda: call.agi is None)


# --- the dialplan in deploy/ -------------------------------------------------------------------------------


def dialplan() -> dict[str, dict[str, list[str]]]:
    """context → extension → applications in priority order (``same => n`` continues the extension)."""
    out: dict[str, dict[str, list[str]]] = {}
    context = exten = ""
    for raw in EXTENSIONS.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if match := re.fullmatch(r"\[([^\]]+)\].*", line):
            context = match.group(1)
            out.setdefault(context, {})
        elif match := re.fullmatch(r"exten\s*=>\s*([^,]+),\s*1(?:\([^)]*\))?,(.*)", line):
            exten = match.group(1)
            out[context][exten] = [match.group(2)]
        elif match := re.fullmatch(r"same\s*=>\s*n(?:\([^)]*\))?,(.*)", line):
            out[context][exten].append(match.group(1))
    return out


def test_the_dialplan_is_what_the_simulator_plays_and_the_server_serves() -> None:
    plan = dialplan()
    hotline = plan["from-pstn"]["_X."]
    assert hotline[2] == "AGI(${AGI_SERVER}/ivr,${CHANNEL(linkedid)})"  # priority 3, as the simulator
    assert hotline[1] == "Answer()"
    queues = plan["queues"]["_[a-z]."]
    assert queues[2].startswith("Queue(${EXTEN},tF(survey^s^1),")  # priority 3
    assert queues[4] == "AGI(${AGI_SERVER}/callback,${CHANNEL(linkedid)})"  # priority 5
    assert queues[5] == "Hangup()"
    survey = plan["survey"]["s"]
    assert survey == ["AGI(${AGI_SERVER}/survey,${CHANNEL(linkedid)})", "Hangup()"]
    scripts = set(re.findall(r"AGI\(\$\{AGI_SERVER\}/(\w+)", EXTENSIONS.read_text()))
    assert scripts == set(IVR_SCRIPTS)


async def test_a_simulated_caller_told_of_a_long_wait_takes_the_call_back(
    sim: Simulator, factory: sessionmaker[Session]
) -> None:
    from core.db import transaction
    from tests.ivr.test_wait_offer import busy_queue

    with transaction(factory) as session:
        busy_queue(session, "support", waiting=4)  # today's records: 8 minutes for a new caller
    takes = IvrScript(keys=("0",), on_prompt=(("wait-offer", "1"),))
    stays = IvrScript(keys=("0",), on_prompt=(("wait-offer", ""),))
    gone = sim.engine.place_call(CallerSpec("13900139006", ivr=takes))
    waits = sim.engine.place_call(CallerSpec("13900139007", ivr=stays))
    await pump(
        sim.virtual, lambda: gone.done and bool(frames(sim, "QueueCallerJoin", waits.channel.uniqueid))
    )

    assert not frames(sim, "QueueCallerJoin", gone.channel.uniqueid)  # no IVR_QUEUE: hung up
    assert "IVR_QUEUE" not in varsets(sim, gone)
    assert gone.outcome == "ivr_done"
    [request] = await rows_of(factory, gone.channel.linkedid, 1, IvrCallbackRequest)
    assert (request.reason, request.queue) == (CallbackReason.WAIT_OFFER, "support")
    [row] = await rows_of(factory, gone.channel.linkedid, 1)
    assert row.outcome is IvrOutcome.CALLBACK
    assert varsets(sim, waits)["IVR_QUEUE"] == "support"
    said = [f["Command"] for f in frames(sim, "AGIExecStart", waits.channel.uniqueid)]
    assert 'SAY NUMBER 8 ""' in said
