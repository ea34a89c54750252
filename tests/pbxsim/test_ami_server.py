"""The simulator's AMI server against actions/ami.txt: same bytes where they can be, same header names in
the same order everywhere else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pbxsim import Simulator
from tests.pbxsim.amitest import FIXTURES, Client, Frame, capture, get, kind, split_frames


def names(frame: Frame) -> list[str]:
    return [k for k, _ in frame]


def first_shape(frames: list[Frame], what: str) -> list[str]:
    return names(next(f for f in frames if kind(f) == what))


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    s = Simulator(scenario="idle")
    await s.start()
    yield s
    await s.stop()


async def test_login_matches_the_capture_shape(sim: Simulator) -> None:
    client = await Client.connect(sim.port)
    assert client.raw == b"Asterisk Call Manager/11.0.0\r\n"
    frames = await client.login()
    real = capture("answered")[:3]
    assert [names(f) for f in frames] == [names(f) for f in real]
    assert frames[0] == [
        ("Response", "Success"),
        ("ActionID", "lab-001"),
        ("Message", "Authentication accepted"),
    ]
    assert get(frames[1], "Status") == "Fully Booted"
    assert get(frames[2], "AccountID") == "admin"
    await client.close()


async def test_wrong_secret_is_byte_identical_and_closes(sim: Simulator) -> None:
    client = await Client.connect(sim.port)
    await client.send(Action="Login", ActionID="bad-1", Username="admin", Secret="wrongsecret")
    rest = await asyncio.wait_for(client.reader.read(), 5)  # EOF: the server closed the connection
    assert client.raw + rest == (FIXTURES / "actions" / "bad-login.txt").read_bytes()
    await client.close()


async def test_action_before_login_is_refused(sim: Simulator) -> None:
    client = await Client.connect(sim.port)
    await client.send(Action="Ping", ActionID="x")
    assert get(await client.frame(), "Response") == "Error"
    await client.close()


async def test_ping_unknown_errors_and_logoff(sim: Simulator) -> None:
    client = await Client.connect(sim.port)
    await client.login()
    real = capture("actions")
    await client.send(Action="Ping", ActionID="lab-002")
    ping = await client.frame()
    real_ping = next(f for f in real if get(f, "Ping") == "Pong")
    assert names(ping) == names(real_ping) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert get(ping, "Ping") == "Pong"
    unknown = "Invalid/unknown command: FooBarBaz. Use Action: ListCommands to show available commands."
    redirect = {"Action": "Redirect", "Channel": "PJSIP/9999-00000000", "Exten": "700"}
    pause = {"Action": "QueuePause", "Interface": "PJSIP/1005", "Paused": "true", "Queue": "support"}
    expected_errors = [
        ({"Action": "FooBarBaz"}, unknown),
        ({"Action": "QueueAdd", "Queue": "support"}, "'Interface' not specified."),
        ({"Action": "Originate", "Exten": "600"}, "Channel not specified"),
        (redirect, "Channel does not exist: PJSIP/9999-00000000"),
        (pause, "Interface not found"),
    ]
    captured_errors = [get(f, "Message") for f in real if get(f, "Response") == "Error"]
    for n, (fields, message) in enumerate(expected_errors):
        assert message in captured_errors
        await client.send(ActionID=f"e{n}", **fields)
        frame = await client.frame()
        assert frame == [("Response", "Error"), ("ActionID", f"e{n}"), ("Message", message)]
    await client.send(Action="Logoff", ActionID="lab-042")
    bye = await client.frame()
    assert bye == [("Response", "Goodbye"), ("ActionID", "lab-042"), ("Message", "Thanks for all the fish.")]
    assert await asyncio.wait_for(client.reader.read(), 5) == b""
    await client.close()


def eventlist(frames: list[Frame], action_id: str) -> list[Frame]:
    """The response and items of one EventList in a capture."""
    out = [f for f in frames if get(f, "ActionID") == action_id and "Privilege" not in names(f)]
    return out


async def test_idle_eventlists_have_the_captured_shape() -> None:
    sim = Simulator(scenario="idle")
    for name in ("priority", "penalty", "ringall", "billing", "retention"):
        del sim.engine.queues[name]  # the actions/ capture had only support, complaints and sales
    await sim.start()
    client = await Client.connect(sim.port)
    await client.login()
    real = capture("actions")
    for action_id, action, end in (
        ("lab-003", "QueueStatus", "QueueStatusComplete"),
        ("lab-004", "QueueSummary", "QueueSummaryComplete"),
        ("lab-005", "CoreShowChannels", "CoreShowChannelsComplete"),
    ):
        await client.send(Action=action, ActionID=action_id)
        ours = await client.until(end)
        theirs = eventlist(real, action_id)
        assert [names(f) for f in ours] == [names(f) for f in theirs], action
        assert [kind(f) for f in ours] == [kind(f) for f in theirs]
        assert ours[-1] == theirs[-1]  # Complete frame: identical, with ListItems
    await client.close()
    await sim.stop()


async def test_live_eventlists_put_actionid_where_asterisk_does() -> None:
    sim = Simulator(scenario="priority")
    await sim.start()
    client = await Client.connect(sim.port)
    await client.login()
    await sim.virtual.advance(7.0)  # Bob talks to arrival 1, four callers wait
    await client.send(Action="QueueStatus", ActionID="q1", Queue="priority")
    frames = [f for f in await client.until("QueueStatusComplete") if "Privilege" not in names(f)]
    entries = [f for f in frames if kind(f) == "QueueEntry"]
    real_entry = next(f for f in capture("priority") if kind(f) == "QueueEntry")
    assert names(entries[0]) == names(real_entry)
    assert [get(f, "CallerIDNum") for f in entries] == [
        "13400134003",
        "13400134005",
        "13400134004",
        "13400134002",
    ]
    assert [get(f, "Priority") for f in entries] == ["10", "10", "5", "0"]
    await client.send(Action="CoreShowChannels", ActionID="c1")
    frames = [f for f in await client.until("CoreShowChannelsComplete") if "Privilege" not in names(f)]
    item = next(f for f in frames if kind(f) == "CoreShowChannel")
    real_item = next(f for f in capture("actions") if kind(f) == "CoreShowChannel")
    assert names(item) == names(real_item)
    assert names(item)[1] == "ActionID"
    await client.close()
    await sim.stop()


async def test_events_carry_timestamp_third_and_empty_values_keep_the_space() -> None:
    sim = Simulator(scenario="answered")
    await sim.start()
    client = await Client.connect(sim.port)
    await client.login()
    await sim.virtual.advance(30.0)
    await asyncio.sleep(0.05)
    await client.send(Action="Ping", ActionID="end")
    frames = await client.until("Response:Success")
    await client.close()
    await sim.stop()
    events = [f for f in frames if get(f, "Event")]
    assert events and all(names(f)[:3] == ["Event", "Privilege", "Timestamp"] for f in events)
    assert b"AccountCode: \r\n" in client.raw
    real = capture("answered")
    for f in events:  # every event type we send has the captured header names in the same order
        same = [r for r in real if kind(r) == kind(f)]
        if same:
            assert names(f) == names(same[0]), kind(f)


async def test_member_actions_answer_and_log_like_asterisk() -> None:
    sim = Simulator(scenario="idle")
    await sim.start()
    client = await Client.connect(sim.port)
    await client.login()
    await client.send(
        Action="QueueAdd",
        ActionID="a1",
        Queue="billing",
        Interface="PJSIP/1006",
        MemberName="Frank",
        Paused="false",
    )
    frames = await client.until("QueueMemberAdded")
    assert get(frames[0], "Message") == "Added interface to queue"
    real = capture("agent-states")
    assert names(frames[-1]) == first_shape(real, "QueueMemberAdded")
    await client.send(
        Action="QueuePause", ActionID="a2", Interface="PJSIP/1006", Paused="true", Reason="lunch"
    )
    frames = await client.until("QueueMemberPause")
    assert get(frames[0], "Message") == "Interface paused successfully"
    assert get(frames[-1], "PausedReason") == "lunch"
    await client.send(
        Action="QueueMemberRingInUse",
        ActionID="a3",
        Interface="PJSIP/1006",
        RingInUse="true",
        Queue="billing",
    )
    frames = await client.until("QueueMemberRinginuse")
    assert get(frames[0], "Message") == "Interface ringinuse set successfully"
    await client.send(
        Action="QueuePenalty", ActionID="a4", Interface="PJSIP/1002", Penalty="10", Queue="penalty"
    )
    frames = await client.until("QueueMemberPenalty")
    assert get(frames[0], "Message") == "Interface penalty set successfully"
    assert names(frames[-1]) == first_shape(capture("penalty"), "QueueMemberPenalty")
    await client.send(Action="QueueRemove", ActionID="a5", Queue="billing", Interface="PJSIP/1006")
    frames = await client.until("QueueMemberRemoved")
    assert get(frames[0], "Message") == "Removed interface from queue"
    verbs = [line.split("|")[4] for line in sim.queue_log.lines]
    assert verbs == ["QUEUESTART", "ADDMEMBER", "PAUSEALL", "PAUSE", "RINGINUSE", "PENALTY", "REMOVEMEMBER"]
    assert sim.queue_log.lines[1].endswith("|MANAGER|billing|PJSIP/1006|ADDMEMBER|")
    assert sim.queue_log.lines[2].endswith("|NONE|NONE|Frank|PAUSEALL|lunch")
    assert sim.queue_log.lines[5].endswith("|NONE|penalty|PJSIP/1002|PENALTY|10")
    await client.close()
    await sim.stop()


async def test_channel_actions_on_a_live_call() -> None:
    sim = Simulator(scenario="priority")
    await sim.start()
    client = await Client.connect(sim.port)
    await client.login()
    await sim.virtual.advance(4.0)  # arrival 1 talks to Bob
    caller = "PJSIP/customers-00000000"
    await client.send(Action="Setvar", ActionID="s1", Channel=caller, Variable="CASE_ID", Value="C-1")
    frames = await client.until("Response:Success")
    assert get(frames[-1], "Message") == "Variable Set"
    for variable, value in (("CASE_ID", "C-1"), ("NO_SUCH_VAR", ""), ("CALLERID(num)", "13400134001")):
        await client.send(Action="Getvar", ActionID="g", Channel=caller, Variable=variable)
        frames = await client.until("Response:Success")
        assert frames[-1] == [
            ("Response", "Success"),
            ("ActionID", "g"),
            ("Variable", variable),
            ("Value", value),
        ]
    await client.send(Action="MixMonitorMute", ActionID="m1", Channel=caller, Direction="both", State="1")
    frames = await client.until("MixMonitorMute")
    assert get(frames[-1], "State") == "1"
    await client.send(Action="Command", ActionID="c1", Command="core show version")
    frames = await client.until("Response:Success")
    assert names(frames[-1]) == ["Response", "ActionID", "Message", "Output"]
    await client.send(
        Action="Originate",
        ActionID="o1",
        Channel="PJSIP/1005",
        Context="supervisor",
        Exten="listen",
        Async="true",
    )
    frames = await client.until("Response:Success")
    assert get(frames[-1], "Message") == "Originate successfully queued"
    await sim.virtual.advance(2.5)  # 1005 answers after 2 s; Bob still talks (until t+9)
    frames = await client.until("OriginateResponse")
    real = next(f for f in capture("actions") if kind(f) == "OriginateResponse")
    assert names(frames[-1]) == names(real)
    assert get(frames[-1], "ActionID") == "o1" and get(frames[-1], "Reason") == "4"
    await client.send(
        Action="Redirect", ActionID="r1", Channel=caller, Context="from-internal", Exten="700", Priority="1"
    )
    frames = await client.until("AgentComplete")
    assert get(frames[-1], "Reason") == "caller"
    assert any(line.split("|")[4] == "COMPLETECALLER" for line in sim.queue_log.lines)
    await client.close()
    await sim.stop()


async def test_many_clients_and_a_client_that_stops_reading_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pbxsim import ami_server

    monkeypatch.setattr(ami_server, "MAX_CLIENT_QUEUE", 500)
    sim = Simulator(scenario="demo", demo_hours=6.0)
    await sim.start()
    readers = [await Client.connect(sim.port) for _ in range(4)]
    for c in readers:
        await c.login()
    before = set(sim.server.clients)
    stalled = await Client.connect(sim.port, rcvbuf=4096)
    await stalled.login()  # and never reads again
    (stalled_on_server,) = set(sim.server.clients) - before
    received = [0] * len(readers)

    async def consume(i: int, c: Client) -> None:
        while data := await c.reader.read(65536):
            received[i] += len(data)

    tasks = [asyncio.create_task(consume(i, c)) for i, c in enumerate(readers)]
    try:
        await sim.virtual.advance(6 * 3600.0)  # ~15 MB of events: more than any socket buffer
        await asyncio.sleep(0.1)
        assert stalled_on_server.closed and stalled_on_server not in sim.server.clients
        assert len(sim.server.clients) == len(readers)  # everyone else is still served
        assert all(n > 1_000_000 for n in received), received
    finally:
        for c in [*readers, stalled]:
            await c.close()
        await sim.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_capture_helper_reads_the_fixture() -> None:
    banner, frames = split_frames((FIXTURES / "actions" / "ami.txt").read_bytes())
    assert banner == "Asterisk Call Manager/11.0.0"
    assert len(frames) == 517
