"""The typed PBX commands: each sends exactly the fields of the captured action (actions/ami.sent.txt)
and maps the captured answer (actions/ami.txt) to its result or to ``PbxActionError``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from panoramisk.actions import Action
from panoramisk.message import Message

from acd import commands
from acd.ami.frames import Frame
from acd.ami.link import AmiLink
from acd.commands import (
    ActionResult,
    OriginateOutcome,
    PbxActionError,
    PbxTimeout,
    SpyMode,
    VariableValue,
)
from tests.acd_link.fake_ami import ACTIONS, FIXTURES, Capture, FakeAmi, Fields
from tests.acd_link.helpers import Recorder, make_link

PENALTY = Capture(FIXTURES / "penalty" / "ami.txt", FIXTURES / "penalty" / "ami.sent.txt")
LIMITED = Capture(FIXTURES / "actions" / "limited-user.txt", FIXTURES / "actions" / "limited-user.sent.txt")

Command = Callable[[AmiLink], Awaitable[Any]]


@pytest.fixture
async def rec() -> Recorder:
    return Recorder()


@pytest.fixture
async def link(fake: FakeAmi, rec: Recorder) -> AsyncIterator[AmiLink]:
    link = make_link(fake, rec)
    await link.start(time_limit=2)
    yield link
    await link.close()


def without_id(fields: Fields) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in fields if k != "ActionID")


CASES: list[tuple[str, Command, str, Any]] = [
    (
        "lab-006",
        lambda link: commands.agent_login(
            link,
            queue="complaints",
            interface="PJSIP/1005",
            member_name="Erin",
            state_interface="PJSIP/1005",
            penalty=1,
        ),
        "QueueAdd",
        "Added interface to queue",
    ),
    (
        "lab-007",
        lambda link: commands.pause(link, interface="PJSIP/1005", reason="lunch", queue="complaints"),
        "QueuePause",
        "Interface paused successfully",
    ),
    (
        "lab-008",
        lambda link: commands.unpause(link, interface="PJSIP/1005", queue="complaints"),
        "QueuePause",
        "Interface unpaused successfully",
    ),
    (
        "lab-009",
        lambda link: commands.agent_logout(link, queue="complaints", interface="PJSIP/1005"),
        "QueueRemove",
        "Removed interface from queue",
    ),
    (
        "lab-012",
        lambda link: commands.pause(link, interface="PJSIP/1004", reason="back office"),
        "QueuePause",
        "Interface paused successfully",
    ),
    (
        "lab-040",
        lambda link: commands.unpause(link, interface="PJSIP/1004"),
        "QueuePause",
        "Interface unpaused successfully",
    ),
    (
        "lab-015",
        lambda link: commands.set_variable(
            link, channel="PJSIP/customers-00000000", variable="CASE_ID", value="C-2026-0042"
        ),
        "Setvar",
        "Variable Set",
    ),
    (
        "lab-019",
        lambda link: commands.recording_start(
            link, channel="PJSIP/1002-00000001", file="manual-1795400605.1.wav"
        ),
        "MixMonitor",
        None,
    ),
    (
        "lab-020",
        lambda link: commands.recording_mute(link, channel="PJSIP/1002-00000001", muted=True),
        "MixMonitorMute",
        None,
    ),
    (
        "lab-021",
        lambda link: commands.recording_mute(link, channel="PJSIP/1002-00000001", muted=False),
        "MixMonitorMute",
        None,
    ),
    (
        "lab-022",
        lambda link: commands.recording_stop(link, channel="PJSIP/1002-00000001"),
        "StopMixMonitor",
        None,
    ),
    (
        "lab-024",
        lambda link: commands.hangup(link, channel="PJSIP/1005-00000002"),
        "Hangup",
        "Channel Hungup",
    ),
    (
        "lab-029",
        lambda link: commands.blind_transfer(
            link, channel="PJSIP/customers-00000000", exten="700", context="from-internal"
        ),
        "Redirect",
        "Redirect successful",
    ),
]


@pytest.mark.parametrize(("captured_id", "command", "action", "message"), CASES, ids=[c[0] for c in CASES])
async def test_command_sends_the_captured_fields(
    fake: FakeAmi, link: AmiLink, captured_id: str, command: Command, action: str, message: str | None
) -> None:
    result = await command(link)
    assert isinstance(result, ActionResult)
    assert result.message == message
    assert result.action.startswith("acd-")
    (sent,) = fake.sent(action)[-1:]
    assert without_id(sent) == without_id(ACTIONS.action(captured_id))
    assert [k for k, _ in sent[:2]] == ["Action", "ActionID"]


@pytest.mark.parametrize(
    ("captured_id", "variable", "value"),
    [
        ("lab-016", "CASE_ID", "C-2026-0042"),
        ("lab-017", "NO_SUCH_VAR", ""),
        ("lab-018", "CALLERID(num)", "13600136001"),
    ],
)
async def test_get_variable(
    fake: FakeAmi, link: AmiLink, captured_id: str, variable: str, value: str
) -> None:
    result = await commands.get_variable(link, channel="PJSIP/customers-00000000", variable=variable)
    assert result == VariableValue(variable=variable, value=value)
    assert without_id(fake.sent("Getvar")[-1]) == without_id(ACTIONS.action(captured_id))


async def test_set_penalty() -> None:
    fake = FakeAmi([PENALTY])
    await fake.start()
    link = make_link(fake, Recorder())
    try:
        await link.start(time_limit=2)
        result = await commands.set_penalty(link, interface="PJSIP/1002", penalty=10, queue="penalty")
        assert result.message == "Interface penalty set successfully"
        assert without_id(fake.sent("QueuePenalty")[0]) == without_id(PENALTY.action("lab-003"))
    finally:
        await link.close()
        await fake.stop()


async def test_command_errors_carry_the_pbx_message(fake: FakeAmi, link: AmiLink) -> None:
    with pytest.raises(PbxActionError) as info:
        await commands.blind_transfer(
            link, channel="PJSIP/9999-00000000", exten="700", context="from-internal"
        )
    assert (info.value.action, info.value.message) == (
        "Redirect",
        "Channel does not exist: PJSIP/9999-00000000",
    )
    with pytest.raises(PbxActionError) as info:
        await commands.pause(link, interface="PJSIP/1002", queue="sales")  # lab-037: not a member
    assert info.value.message == "Interface not found"

    def refused(fields: Fields, number: int) -> bytes:
        return LIMITED.reply("wb-3", dict(fields)["ActionID"])

    fake.handlers["Originate"] = refused
    with pytest.raises(PbxActionError) as info:
        await commands.originate_outbound(
            link, agent_interface="PJSIP/1002", number="13900000001", context="x"
        )
    assert (info.value.action, info.value.message) == ("Originate", "Permission denied")


# --- Originate -------------------------------------------------------------------------------------


async def test_originate_answered(fake: FakeAmi, link: AmiLink, rec: Recorder) -> None:
    fake.spans = True  # replay the 15 events Asterisk sent between the response and OriginateResponse
    result = await commands.originate_outbound(
        link,
        agent_interface="PJSIP/1003",
        number="13900000001",
        context="outbound",
        caller_id_name="Carol",
        caller_id_number="1003",
        ring_timeout=20,
        variables={"CAMPAIGN": "renewals"},
    )
    assert without_id(fake.sent("Originate")[0]) == without_id(ACTIONS.action("lab-030"))
    assert result.outcome is OriginateOutcome.ANSWERED
    assert (result.reason, result.channel, result.uniqueid) == (4, "PJSIP/1003-00000006", "1795400652.6")
    # OriginateResponse is an event too (it also has a Response header): the consumers see it
    seen = [f.event for f in rec.frames]
    assert "OriginateResponse" in seen and "Newchannel" in seen


async def test_originate_busy(fake: FakeAmi, link: AmiLink) -> None:
    result = await commands.originate_outbound(
        link,
        agent_interface="PJSIP/customers/sip:13900000002@127.0.0.1:5082",
        number="13900000002",
        context="outbound",
        caller_id_name="Example Telecom",
        caller_id_number="4008001000",
        ring_timeout=15,
    )
    assert without_id(fake.sent("Originate")[0]) == without_id(ACTIONS.action("lab-031"))
    assert result.outcome is OriginateOutcome.BUSY
    assert (result.reason, result.uniqueid) == (0, None)


async def test_originate_no_answer(fake: FakeAmi, link: AmiLink) -> None:
    fake.script["Originate"] = "lab-032"
    result = await commands.originate_outbound(
        link, agent_interface="PJSIP/1003", number="13900000003", context="outbound", ring_timeout=8
    )
    assert result.outcome is OriginateOutcome.NO_ANSWER
    assert (result.reason, result.uniqueid) == (3, None)
    assert dict(fake.sent("Originate")[0])["Timeout"] == "8000"


async def test_originate_response_never_comes(
    fake: FakeAmi, link: AmiLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "ORIGINATE_GRACE", 0.2)
    fake.handlers["Originate"] = lambda fields, n: ACTIONS.replies["lab-030"][0].replace(
        b"lab-030", dict(fields)["ActionID"].encode()
    )
    with pytest.raises(PbxTimeout) as info:
        await commands.originate_outbound(
            link, agent_interface="PJSIP/1003", number="1", context="outbound", ring_timeout=0.1
        )
    assert "OriginateResponse" in str(info.value)
    assert link.stats.action_timeouts == 1


@pytest.mark.parametrize(
    ("reason", "response", "outcome"),
    [
        ("4", "Success", OriginateOutcome.ANSWERED),
        ("0", "Failure", OriginateOutcome.BUSY),
        ("5", "Failure", OriginateOutcome.BUSY),
        ("3", "Failure", OriginateOutcome.NO_ANSWER),
        ("8", "Failure", OriginateOutcome.CONGESTION),
        ("1", "Failure", OriginateOutcome.FAILED),
        ("4", "Failure", OriginateOutcome.FAILED),
    ],
)
def test_originate_reason_mapping(reason: str, response: str, outcome: OriginateOutcome) -> None:
    frame = Frame(Event="OriginateResponse", Response=response, Reason=reason, Uniqueid="<unknown>")
    result = commands._originate_result(frame)
    assert result.outcome is outcome and result.reason == int(reason) and result.uniqueid is None


@pytest.mark.parametrize(
    ("mode", "captured_id", "channel"),
    [
        (SpyMode.LISTEN, "lab-023", "PJSIP/1005-00000002"),
        (SpyMode.WHISPER, "lab-025", "PJSIP/1005-00000003"),
        (SpyMode.BARGE, "lab-027", "PJSIP/1005-00000004"),
    ],
)
async def test_spy_through_the_dialplan(
    fake: FakeAmi, link: AmiLink, mode: SpyMode, captured_id: str, channel: str
) -> None:
    result = await commands.spy(
        link, supervisor_interface="PJSIP/1005", target="PJSIP/1002", mode=mode, dialplan_context="supervisor"
    )
    assert without_id(fake.sent("Originate")[0]) == without_id(ACTIONS.action(captured_id))
    assert result.outcome is OriginateOutcome.ANSWERED and result.channel == channel


@pytest.mark.parametrize(("mode", "data"), [("listen", ",q"), ("whisper", ",qw"), ("barge", ",qB")])
async def test_spy_with_chanspy_application(fake: FakeAmi, link: AmiLink, mode: str, data: str) -> None:
    result = await commands.spy(
        link, supervisor_interface="PJSIP/1005", target="PJSIP/1002-00000001", mode=SpyMode(mode)
    )
    sent = dict(fake.sent("Originate")[0])
    assert sent["Channel"] == "PJSIP/1005"
    assert sent["Application"] == "ChanSpy" and sent["Data"] == "PJSIP/1002-00000001" + data
    assert sent["CallerID"] == '"Supervisor" <1005>' and sent["Async"] == "true"
    assert "Context" not in sent and "Exten" not in sent
    assert result.outcome is OriginateOutcome.ANSWERED


# --- why the action matching is ours ---------------------------------------------------------------


async def test_panoramisk_action_never_resolves_queueadd() -> None:
    """panoramisk 1.4 takes QueueAdd's "Added interface to queue" for an EventList start: its future
    never resolves (the link resolves it; see test_command_sends_the_captured_fields[lab-006])."""
    action = Action(
        {"Action": "QueueAdd", "ActionID": "x-1", "Queue": "complaints", "Interface": "PJSIP/1005"}
    )
    action.add_message(
        Message({"Response": "Success", "ActionID": "x-1", "Message": "Added interface to queue"})
    )
    assert not action.future.done()
    action.future.cancel()
