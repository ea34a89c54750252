"""The three captured IVR calls replayed against our server (we play Asterisk: the captured header block,
then each captured reply), and the flow's behaviours with a scripted caller."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintProblemType,
    ComplaintStatus,
    ComplaintUrgency,
)
from core.customers.models import CustomerGrade
from core.db import transaction
from ivr.default_flow import DEFAULT_FLOW
from ivr.models import CallbackReason, IvrCallbackRequest, IvrOutcome, IvrSession
from ivr.server import FastAgiServer
from ivr.service import save_flow_version
from tests.ivr.capture import FakeAsterisk, ScriptedCaller, load_capture
from tests.ivr.conftest import AddCustomer, Clock


def sessions(factory: sessionmaker[Session]) -> list[IvrSession]:
    with factory() as session:
        return list(session.scalars(select(IvrSession).order_by(IvrSession.id)))


def steps(row: IvrSession) -> list[tuple[str, str, str | None]]:
    return [(entry["step"], entry["result"], entry.get("input")) for entry in row.path]


async def test_call_1_wrong_check_digit_then_valid_id_to_support(
    server: FastAgiServer, factory: sessionmaker[Session], add_customer: AddCustomer
) -> None:
    customer = add_customer(CustomerGrade.AAA, code="C123455")
    capture = load_capture("agi-003-021440")
    # our differences, on purpose: CUSTOMER_ID is the customer code, and the grade's QUEUE_PRIO is set
    script = [
        ("SET VARIABLE CUSTOMER_ID C123455", reply)
        if command.startswith("SET VARIABLE CUSTOMER_ID")
        else (command, reply)
        for command, reply in capture.exchanges
    ]
    at = [command for command, _ in script].index("SET VARIABLE IVR_QUEUE support") + 1
    script.insert(at, ("SET VARIABLE QUEUE_PRIO 10", [b"200 result=1\n"]))
    asterisk = FakeAsterisk(capture, replies=[reply for _, reply in script])
    await asterisk.run("127.0.0.1", server.port)

    assert asterisk.received == [command for command, _ in script]
    assert asterisk.closed_by_server  # AGI ends: the dialplan goes on to Queue(support)
    [row] = sessions(factory)
    assert steps(row) == [
        ("welcome", "ok", None),
        ("identify", "missing", None),
        ("hours", "open", None),
        ("main", "ok", "1"),
        ("enter_id", "invalid", "123456"),
        ("enter_id", "ok", "123455"),
        ("find_customer", "found", "C123455"),
        ("support", "ok", "support"),
    ]
    assert (row.outcome, row.queue, row.queue_priority, row.choice) == (
        IvrOutcome.TO_QUEUE,
        "support",
        10,
        "1",
    )
    assert row.customer_id == customer.id
    assert (row.linkedid, row.uniqueid, row.caller) == ("1795400079.0", "1795400079.0", "+8613900139001")
    assert (row.caller_name, row.language, row.commands, row.script) == ("Sun Qiang", "en", 12, "ivr")
    assert row.flow_version == 1 and row.error is None
    assert row.started_at <= row.ended_at and row.duration_ms >= 0


async def test_call_2_asks_for_an_agent_exactly_as_captured(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    capture = load_capture("agi-004-021443")
    asterisk = FakeAsterisk(capture)
    await asterisk.run("127.0.0.1", server.port)
    assert asterisk.received == capture.commands  # byte for byte the captured server's commands
    assert "\n".join(asterisk.received).encode() + b"\n" == capture.outbound
    [row] = sessions(factory)
    assert steps(row)[-2:] == [("main", "ok", "0"), ("agent", "ok", "support")]
    assert (row.outcome, row.choice, row.queue, row.queue_priority, row.customer_id) == (
        IvrOutcome.TO_QUEUE,
        "0",
        "support",
        None,
        None,
    )


async def test_call_3_hangs_up_during_get_data(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    capture = load_capture("agi-005-021446")
    asterisk = FakeAsterisk(capture)
    await asterisk.run("127.0.0.1", server.port)
    # result=-1 is the hang-up: we stop there (the captured server sent one more command and got 511)
    assert asterisk.received == capture.commands[:3]
    assert asterisk.closed_by_server
    [row] = sessions(factory)
    assert row.outcome is IvrOutcome.HANGUP and row.error is None
    assert steps(row) == [
        ("welcome", "ok", None),
        ("identify", "missing", None),
        ("hours", "open", None),
        ("main", "hangup", None),
    ]
    assert row.uniqueid == "1795400085.2" and row.queue is None


async def test_hangup_line_while_a_command_is_pending(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    """The other order Asterisk can produce: HANGUP arrives before the pending GET DATA is answered 511."""
    capture = load_capture("agi-005-021446")
    replies = [reply for _, reply in capture.exchanges[:2]]
    replies.append([b"HANGUP\n", b"511 Command Not Permitted on a dead channel or intercept routine\n"])
    asterisk = FakeAsterisk(capture, replies=replies)
    await asterisk.run("127.0.0.1", server.port)
    assert asterisk.received == capture.commands[:3]
    [row] = sessions(factory)
    assert row.outcome is IvrOutcome.HANGUP and steps(row)[-1] == ("main", "hangup", None)


# --- behaviours with a scripted caller -----------------------------------------------------------------


async def call(server: FastAgiServer, keys: list[str | None], number: str = "13900139001") -> ScriptedCaller:
    caller = ScriptedCaller(keys, caller=number)
    await caller.run("127.0.0.1", server.port)
    return caller


@pytest.mark.parametrize(
    ("grade", "priority"),
    [(CustomerGrade.AAA, 10), (CustomerGrade.AA, 6), (CustomerGrade.A, 3), (CustomerGrade.B, 0)],
)
async def test_grade_of_the_caller_sets_the_queue_priority(
    server: FastAgiServer,
    factory: sessionmaker[Session],
    add_customer: AddCustomer,
    grade: CustomerGrade,
    priority: int,
) -> None:
    customer = add_customer(grade, phone="+8613900139055")
    caller = await call(server, ["3"], number="13900139055")
    assert f"SET VARIABLE CUSTOMER_ID {customer.code}" in caller.received
    assert caller.received[-4:] == [
        "SET VARIABLE IVR_QUEUE complaints",
        f"SET VARIABLE QUEUE_PRIO {priority}",
        'STREAM FILE custom/hold ""',
        'VERBOSE "IVR: to queue complaints" 1',
    ]
    [row] = sessions(factory)
    assert (row.customer_id, row.queue_priority, row.queue, row.choice) == (
        customer.id,
        priority,
        "complaints",
        "3",
    )


async def test_too_many_wrong_choices_go_to_an_agent(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    caller = await call(server, ["7", None, "9"])
    assert caller.received.count("GET DATA custom/menu 5000 1") == 3
    assert caller.received.count('STREAM FILE custom/invalid-choice ""') == 2  # not after the last try
    assert "SET VARIABLE IVR_QUEUE support" in caller.received
    [row] = sessions(factory)
    assert [s for s in steps(row) if s[0] == "main"] == [
        ("main", "invalid", "7"),
        ("main", "timeout", None),
        ("main", "invalid", "9"),
        ("main", "too_many_tries", None),
    ]
    assert row.outcome is IvrOutcome.TO_QUEUE and row.choice is None


async def test_unknown_customer_id_is_asked_again(
    server: FastAgiServer, factory: sessionmaker[Session], add_customer: AddCustomer
) -> None:
    add_customer(CustomerGrade.AA, code="C000018")  # 000018 passes Luhn
    caller = await call(server, ["1", "000026", "000018"])  # 000026: valid check digit, no such customer
    assert 'STREAM FILE custom/unknown-id ""' in caller.received
    assert "SET VARIABLE CUSTOMER_ID C000018" in caller.received
    assert "SET VARIABLE QUEUE_PRIO 6" in caller.received
    [row] = sessions(factory)
    assert ("find_customer", "missing", "000026") in steps(row)


async def test_complaint_status_is_self_service(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        session.add(
            Complaint(
                case_number="TS20261124-0007",
                received_at=datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
                channel=ComplaintChannel.PHONE,
                status=ComplaintStatus.SOLUTION_PROPOSED,
                customer_name="王芳",
                category=ComplaintCategory.PRODUCT,
                problem_type=ComplaintProblemType.QUALITY,
                reason="质量问题",
                urgency=ComplaintUrgency.NORMAL,
                promised_deadline=datetime(2026, 11, 30, tzinfo=UTC),
            )
        )
        session.commit()
    caller = await call(server, ["2", "202611310007", "202611249999", "202611240007"])
    assert caller.received.count('STREAM FILE custom/invalid-case ""') == 1  # 31 November is no date
    assert caller.received.count('STREAM FILE custom/unknown-case ""') == 1
    assert caller.received[-2:] == [
        'STREAM FILE custom/complaint-solution-proposed ""',
        'STREAM FILE custom/goodbye ""',
    ]
    assert not any(command.startswith("SET VARIABLE IVR_QUEUE") for command in caller.received)
    [row] = sessions(factory)
    assert row.outcome is IvrOutcome.SELF_SERVICE and row.queue is None
    assert ("case_status", "found", "solution_proposed") in steps(row)


@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 11, 23, 14, 30, tzinfo=UTC), datetime(2026, 11, 22, 23, 59, tzinfo=UTC)],
    ids=["22:30 local", "07:59 local"],
)
async def test_out_of_hours_leaves_a_call_back_request(
    server: FastAgiServer, factory: sessionmaker[Session], clock: Clock, moment: datetime
) -> None:
    clock.now = moment
    caller = await call(server, [])
    assert caller.received == ["ANSWER", 'STREAM FILE custom/welcome ""', 'STREAM FILE custom/closed ""']
    [row] = sessions(factory)
    assert row.outcome is IvrOutcome.CALLBACK
    with factory() as session:
        [request] = session.scalars(select(IvrCallbackRequest)).all()
    assert (request.caller, request.reason, request.linkedid) == (
        "+8613900139001",
        CallbackReason.OUT_OF_HOURS,
        row.linkedid,
    )
    assert request.requested_at == moment


async def test_holiday_is_closed(server: FastAgiServer, factory: sessionmaker[Session], clock: Clock) -> None:
    definition = {**DEFAULT_FLOW, "steps": {**DEFAULT_FLOW["steps"]}}
    definition["steps"]["hours"] = {**definition["steps"]["hours"], "holidays": ["2026-11-23"]}
    with transaction(factory) as session:
        row = save_flow_version(session, name="ivr", definition=definition)
        assert row.version == 2
    caller = await call(server, [])
    assert caller.received[-1] == 'STREAM FILE custom/closed ""'
    [record] = sessions(factory)
    assert record.flow_version == 2 and record.outcome is IvrOutcome.CALLBACK


async def test_silent_pbx_ends_the_session_and_is_recorded(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    caller = ScriptedCaller(["0"], silent_after=1)
    await caller.run("127.0.0.1", server.port, within=5)
    assert caller.closed_by_server
    [row] = sessions(factory)
    assert row.outcome is IvrOutcome.ERROR and row.error is not None and row.error.startswith("timeout")
    assert steps(row)[-1] == ("welcome", "timeout", None)
