"""Simulated callers walk our real FastAGI server (ivr.application.build_server on a free port): the PBX
simulator plays Asterisk ([from-pstn]: Answer, AGI, then the queue the IVR chose with its QUEUE_PRIO), so the
IVR's decisions reach app_queue as they would on a real PBX."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter import simulated_pbx
from callcenter.app import create_app
from callcenter.models import load_all_models
from core.config import Settings
from core.customers.models import CustomerGrade
from ivr import service as ivr_service
from ivr.flows import FlowDefinition, InputCheck
from ivr.models import IvrFlow, IvrOutcome, IvrSession
from ivr.server import FastAgiServer
from pbxsim import Simulator, VirtualClock
from pbxsim.agi_client import IvrScript
from pbxsim.engine import Call, CallerSpec
from pbxsim.queues import Phone
from tests.ivr.conftest import AddCustomer
from tests.live import free_port


async def pump(
    clock: VirtualClock, until: Callable[[], bool], *, limit: float = 600.0, step: float = 0.1
) -> None:
    """Simulated time in small steps; the FastAGI sockets and the database work in real time between."""
    spent = 0.0
    while not until():
        await clock.advance(step)
        await asyncio.sleep(0.002)
        spent += step
        assert spent < limit, "simulated time ran out"


def frames(sim: Simulator, name: str, uniqueid: str | None = None) -> list[dict[str, str]]:
    out = [dict(f) for f in sim.engine.frames if f[0] == ("Event", name)]
    return [f for f in out if uniqueid is None or f.get("Uniqueid") == uniqueid]


def varsets(sim: Simulator, call: Call) -> dict[str, str]:
    return {f["Variable"]: f["Value"] for f in frames(sim, "VarSet", call.channel.uniqueid)}


async def session_row(factory: sessionmaker[Session], uniqueid: str) -> IvrSession:
    for _ in range(200):  # the record is written when the handler ends, a moment after the socket closed
        with factory() as session:
            row = session.scalars(select(IvrSession).where(IvrSession.uniqueid == uniqueid)).first()
            if row is not None:
                session.expunge(row)
                return row
        await asyncio.sleep(0.01)
    raise AssertionError(f"no ivr_sessions row for {uniqueid}")


def steps(row: IvrSession) -> list[tuple[Any, ...]]:
    return [(e["step"], e["result"], e.get("input")) for e in row.path]


def serve_one_at_a_time(sim: Simulator, talk: float) -> None:
    """support has only Bob (the others paused): a second caller must wait for him."""
    for interface in ("PJSIP/1001", "PJSIP/1003", "PJSIP/1004"):
        sim.engine.queue_pause(interface, True, "break", "support")
    sim.engine.devices["PJSIP/1002"].phone = Phone(answer_after=1.0, talk=talk)


async def test_a_caller_walks_the_ivr_and_ends_in_its_queue(
    sim: Simulator, agi: FastAgiServer, factory: sessionmaker[Session], add_customer: AddCustomer
) -> None:
    add_customer(CustomerGrade.AA, code="C123455")
    script = IvrScript(keys=("1", "123456", "123455"))  # the capture's call 1: wrong check digit, then valid
    call = sim.engine.place_call(CallerSpec("13900139001", "Sun Qiang", "sales", ivr=script))
    await pump(sim.virtual, lambda: call.agent is not None)

    join = frames(sim, "QueueCallerJoin", call.channel.uniqueid)
    assert [f["Queue"] for f in join] == ["support"]  # the IVR's choice, not the spec's "sales"
    assert frames(sim, "AgentConnect", call.channel.uniqueid)[0]["Queue"] == "support"
    variables = varsets(sim, call)
    assert variables["IVR_CHOICE"] == "1"
    assert variables["CUSTOMER_ID"] == "C123455"
    assert variables["IVR_QUEUE"] == "support"
    assert variables["QUEUE_PRIO"] == "6"  # grade AA
    assert variables["AGISTATUS"] == "SUCCESS"
    # the AGI ran on the caller channel at [from-pstn] priority 3, as the dialplan in deploy/ puts it
    first = frames(sim, "AGIExecStart", call.channel.uniqueid)[0]
    assert (first["Context"], first["Priority"], first["Command"]) == ("from-pstn", "3", "ANSWER")
    assert call.spec.queue == "support"

    row = await session_row(factory, call.channel.uniqueid)
    assert row.outcome is IvrOutcome.TO_QUEUE
    assert (row.queue, row.queue_priority, row.choice) == ("support", 6, "1")
    assert row.linkedid == call.channel.linkedid
    assert row.caller == "+8613900139001"
    assert steps(row)[-4:] == [
        ("enter_id", "invalid", "123456"),
        ("enter_id", "ok", "123455"),
        ("find_customer", "found", "C123455"),
        ("support", "ok", "support"),
    ]
    assert ("main", "ok", "1") in steps(row)
    assert agi.connections == 0 and not sim.engine.agi_tasks


async def test_the_customers_grade_changes_the_queue_priority_that_reaches_the_pbx(
    sim: Simulator, factory: sessionmaker[Session], add_customer: AddCustomer
) -> None:
    add_customer(CustomerGrade.B, phone="+8613900139021")
    add_customer(CustomerGrade.AAA, phone="+8613900139022")
    serve_one_at_a_time(sim, talk=30.0)
    busy = sim.engine.place_call(CallerSpec("13800000000", "Busy", "support"))  # straight to the queue
    await pump(sim.virtual, lambda: busy.agent is not None)

    agent = IvrScript(keys=("0",))  # both ask for a person: the IVR routes by the caller's grade
    b = sim.engine.place_call(CallerSpec("13900139021", "Grade B", ivr=agent))
    await pump(sim.virtual, lambda: bool(frames(sim, "QueueCallerJoin", b.channel.uniqueid)))
    aaa = sim.engine.place_call(CallerSpec("13900139022", "Grade AAA", ivr=agent))
    await pump(sim.virtual, lambda: bool(frames(sim, "QueueCallerJoin", aaa.channel.uniqueid)))

    assert varsets(sim, b)["QUEUE_PRIO"] == "0"
    assert varsets(sim, aaa)["QUEUE_PRIO"] == "10"
    b_join = frames(sim, "QueueCallerJoin", b.channel.uniqueid)[0]
    aaa_join = frames(sim, "QueueCallerJoin", aaa.channel.uniqueid)[0]
    assert (b_join["Position"], b_join["Count"]) == ("1", "1")
    assert (aaa_join["Position"], aaa_join["Count"]) == ("1", "2")  # joined later, placed ahead
    assert [e.priority for e in sim.engine.queues["support"].callers] == [10, 0]

    await pump(sim.virtual, lambda: b.agent is not None)
    connects = [f["Uniqueid"] for f in frames(sim, "AgentConnect")]
    assert connects == [busy.channel.uniqueid, aaa.channel.uniqueid, b.channel.uniqueid]
    rows = [await session_row(factory, c.channel.uniqueid) for c in (b, aaa)]
    assert [r.queue_priority for r in rows] == [0, 10]


async def test_hanging_up_during_get_data_is_recorded_and_leaks_nothing(
    sim: Simulator, agi: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    call = sim.engine.place_call(
        CallerSpec("13900139003", "Wu Xia", ivr=IvrScript(hangup_at=0, hangup_after=2.0))
    )
    await pump(sim.virtual, lambda: call.done)

    row = await session_row(factory, call.channel.uniqueid)
    assert row.outcome is IvrOutcome.HANGUP
    assert steps(row)[-1] == ("main", "hangup", None)
    assert steps(row)[0] == ("welcome", "ok", None)
    assert varsets(sim, call)["AGISTATUS"] == "HANGUP"
    assert not frames(sim, "QueueCallerJoin")
    hangup = frames(sim, "Hangup", call.channel.uniqueid)
    assert [h["Cause"] for h in hangup] == ["0"]  # as captured for the caller who left in the IVR
    assert call.outcome == "ivr_hangup"
    for _ in range(100):
        if agi.connections == 0:
            break
        await asyncio.sleep(0.01)
    assert agi.connections == 0 and agi.active_sessions == 0
    assert not sim.engine.agi_tasks
    assert call.channel.name not in sim.engine.channels


async def test_a_complaint_status_caller_is_served_by_the_ivr_and_hangs_up(
    sim: Simulator, factory: sessionmaker[Session]
) -> None:
    # menu 2 with a case number that does not exist, three times: on to an agent (support)
    script = IvrScript(keys=("2", "202611240001", "202611240002", "202611240003"))
    call = sim.engine.place_call(CallerSpec("13900139004", "Zheng Hao", ivr=script))
    await pump(sim.virtual, lambda: bool(frames(sim, "QueueCallerJoin", call.channel.uniqueid)))
    row = await session_row(factory, call.channel.uniqueid)
    assert [s for s in steps(row) if s[0] == "case_status"] == [
        ("case_status", "missing", "202611240001"),
        ("case_status", "missing", "202611240002"),
        ("case_status", "missing", "202611240003"),
    ]
    assert row.queue == "support"


# --- the demo: simulated_pbx derives the callers' scripts from the active flow ------------------------------


def active_definition(factory: sessionmaker[Session]) -> FlowDefinition:
    with factory() as session:
        loaded = ivr_service.active_flow(session, name="ivr")
    assert loaded is not None
    return loaded.definition


def test_the_callers_know_the_default_menu(factory: sessionmaker[Session]) -> None:
    found = simulated_pbx.ivr_menu(active_definition(factory))
    assert found is not None
    menu, id_input = found
    assert dict(menu.keys) == {"support": "1", "complaints": "3", "sales": "4", "billing": "5"}
    assert (menu.agent_key, menu.id_keys) == ("0", frozenset({"1"}))
    assert id_input is not None and (id_input.max_digits, id_input.check) == (6, InputCheck.LUHN)


def test_known_callers_type_the_ids_that_pass_the_check(
    factory: sessionmaker[Session], add_customer: AddCustomer
) -> None:
    add_customer(code="C123455", phone="+8613900139031")  # Luhn-valid
    add_customer(code="C123456", phone="+8613900139032")  # check digit wrong: cannot be typed
    found = simulated_pbx.ivr_menu(active_definition(factory))
    assert found is not None
    with factory() as session:
        ids = simulated_pbx.typed_ids(session, "CN", found[1])
    assert ids == {"13900139031": "123455"}


async def test_the_demo_traffic_comes_through_the_ivr(
    agi: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    found = simulated_pbx.ivr_menu(active_definition(factory))
    assert found is not None
    sim = Simulator(scenario="demo", demo_hours=1.0, demo_ivr=found[0], agi_address=f"127.0.0.1:{agi.port}")
    sim.engine.record_frames = True
    await sim.start(serve=False)
    try:
        await pump(sim.virtual, lambda: len(frames(sim, "QueueCallerJoin")) >= 12, step=0.25)
    finally:
        await sim.stop()
    joined = {f["Queue"] for f in frames(sim, "QueueCallerJoin")}
    assert {"sales", "billing", "support"} <= joined
    agi_status = [f["Value"] for f in frames(sim, "VarSet") if f["Variable"] == "AGISTATUS"]
    assert len(agi_status) >= 12 and "FAILURE" not in agi_status
    with factory() as session:
        rows = session.scalars(select(IvrSession)).all()
    assert len(rows) >= 12
    assert {r.outcome for r in rows} >= {IvrOutcome.TO_QUEUE}
    assert not sim.engine.agi_tasks


def test_the_app_starts_the_ivr_before_the_simulator_and_points_it_there(tmp_path: Path) -> None:
    agi_port, ami_port = free_port(), free_port()
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        simulator="demo",
        agi_port=agi_port,
        ami_port=ami_port,
    )
    app = create_app(settings)
    load_all_models().metadata.create_all(app.state.engine)
    with TestClient(app):
        engine = app.state.simulator.engine
        assert engine.agi is not None and (engine.agi.host, engine.agi.port) == ("127.0.0.1", agi_port)
        with socket.create_connection(("127.0.0.1", agi_port), timeout=5):
            pass  # listening
        with app.state.session_factory() as session:
            notes = session.scalars(select(IvrFlow.note).where(IvrFlow.name == "ivr")).all()
        assert notes == ["default"]  # the demo runs the seeded flow as it is (it has keys for every queue)
