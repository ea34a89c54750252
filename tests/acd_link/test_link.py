"""AmiLink against the scripted fake AMI server: login, timeouts, errors, EventLists, the watchdog,
reconnects after a kill / a ``core restart now``, garbage on the wire, clean shutdown."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from acd.ami.frames import Frame
from acd.ami.link import (
    AmiLink,
    PbxActionError,
    PbxAuthenticationFailed,
    PbxConnectionLost,
    PbxNotConnected,
    PbxTimeout,
)
from acd.events import PbxConnected, PbxDisconnected, PbxResynced
from tests.acd_link.fake_ami import (
    ACTIONS,
    CLOSE,
    RESTART_AFTER,
    RESTART_BEFORE,
    FakeAmi,
    Fields,
    header,
    split_blocks,
)
from tests.acd_link.helpers import T0, Recorder, list_items, make_link, until

# --- login ----------------------------------------------------------------------------------------


async def test_login_resync_and_events(fake: FakeAmi) -> None:
    rec = Recorder()
    link = make_link(fake, rec)
    await link.start(time_limit=2)
    try:
        login = fake.sent("Login")[0]
        assert [(k, v) for k, v in login if k != "ActionID"] == [
            ("Action", "Login"),
            ("Username", "lab"),
            ("Secret", "labsecret"),
        ]
        assert link.connected and link.version == "11.0.0"
        # resync: the three lists, each complete (item count = ListItems)
        assert [dict(f)["Action"] for _, f in fake.received[1:4]] == [
            "QueueStatus",
            "QueueSummary",
            "CoreShowChannels",
        ]
        (result,) = rec.resyncs
        assert len(result.queues) + len(result.members) + len(result.entries) == list_items("lab-003")
        assert len(result.queues) == 3 and len(result.members) == 4
        assert {f["Queue"] for f in result.queues} == {"support", "complaints", "sales"}
        assert len(result.summaries) == list_items("lab-004") == 3
        assert result.channels == [] and result.errors == []
        assert result.at == T0
        (connected,) = rec.of(PbxConnected)
        assert connected == PbxConnected(at=T0, version="11.0.0")
        (resynced,) = rec.of(PbxResynced)
        assert (resynced.queues, resynced.members, resynced.waiting_callers, resynced.channels) == (
            3,
            4,
            0,
            0,
        )
        # the login's FullyBooted / SuccessfulAuth are held during the resync and handed over after it
        assert rec.order[:5] == [
            "PbxConnected",
            "resync",
            "PbxResynced",
            "frame:FullyBooted",
            "frame:SuccessfulAuth",
        ]
        # list items never reach on_frame (they went to on_resync)
        assert not any(f.event in ("QueueParams", "QueueMember", "QueueSummary") for f in rec.frames)
        pong = await link.action({"Action": "Ping"})
        assert pong["Ping"] == "Pong"
        assert link.stats.frames == 3 + 9 + 5 + 2 + 1 and link.stats.events == 2
    finally:
        await link.close()


async def test_wrong_secret_raises_and_backs_off(fake: FakeAmi) -> None:
    rec = Recorder()
    link = make_link(fake, rec, secret="wrongsecret", auth_backoff=0.4, jitter=0.0)
    try:
        with pytest.raises(PbxAuthenticationFailed) as info:
            await link.start(time_limit=2)
        assert info.value.message == "Authentication failed"
        assert "Authentication failed" in str(info.value)
        await asyncio.sleep(1.0)
        # back-off: 0.4 s, then 0.8 s — not a retry per event-loop turn
        assert 2 <= fake.logins <= 3
        gaps = [b - a for a, b in zip(fake.login_times, fake.login_times[1:], strict=False)]
        assert all(gap >= 0.35 for gap in gaps), gaps
        assert link.stats.auth_failures == fake.logins
        assert not link.connected and rec.of(PbxConnected) == []
        assert isinstance(link.last_error, PbxAuthenticationFailed)
    finally:
        await link.close()


async def test_login_without_answer_times_out(fake: FakeAmi) -> None:
    fake.silent.add("Login")
    link = make_link(fake, Recorder(), action_timeout=0.3, rng=lambda: 0.5)
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(PbxTimeout) as info:
            await link.start(time_limit=1.0)
        assert isinstance(info.value.__cause__, PbxTimeout) and info.value.__cause__.action == "Login"
        assert loop.time() - start < 1.2
        error = link.last_error
        assert isinstance(error, PbxTimeout) and error.action == "Login" and error.timeout == 0.3
        await until(lambda: len(fake.sent("Login")) >= 2)  # and tries again, 0.5 s later
        assert not link.connected
    finally:
        await link.close()


# --- actions ---------------------------------------------------------------------------------------


async def test_action_without_answer_times_out(fake: FakeAmi) -> None:
    fake.silent.add("QueueReload")
    link = make_link(fake, Recorder(), action_timeout=0.3)
    await link.start(time_limit=2)
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(PbxTimeout) as info:
            await link.action({"Action": "QueueReload", "Queue": "support"})
        elapsed = loop.time() - start
        assert 0.28 <= elapsed < 0.6, elapsed
        assert info.value.action == "QueueReload" and info.value.timeout == 0.3
        assert link.stats.action_timeouts == 1
        with pytest.raises(PbxTimeout):
            await link.action({"Action": "QueueReload"}, time_limit=0.1)
        assert link.stats.action_timeouts == 2
        assert (await link.action({"Action": "Ping"}))["Ping"] == "Pong"  # the link is fine
    finally:
        await link.close()


@pytest.mark.parametrize(
    ("captured_id", "message"),
    [
        (
            "lab-033",
            "Invalid/unknown command: FooBarBaz. Use Action: ListCommands to show available commands.",
        ),
        ("lab-034", "'Interface' not specified."),
        ("lab-035", "Channel not specified"),
        ("lab-036", "Channel does not exist: PJSIP/9999-00000000"),
        ("lab-037", "Interface not found"),
    ],
)
async def test_error_responses_carry_the_pbx_message(fake: FakeAmi, captured_id: str, message: str) -> None:
    link = make_link(fake, Recorder())
    await link.start(time_limit=2)
    try:
        fields = [(k, v) for k, v in ACTIONS.action(captured_id) if k != "ActionID"]
        with pytest.raises(PbxActionError) as info:
            await link.action(fields)
        assert info.value.message == message
        assert info.value.action == fields[0][1]
        assert link.connected
    finally:
        await link.close()


@pytest.mark.parametrize("captured_id", ["lab-003", "lab-004", "lab-005", "lab-013", "lab-014"])
async def test_eventlist_collects_items_until_complete(fake: FakeAmi, captured_id: str) -> None:
    rec = Recorder()
    link = make_link(fake, rec)
    await link.start(time_limit=2)
    try:
        fields = [(k, v) for k, v in ACTIONS.action(captured_id) if k != "ActionID"]
        fake.script[fields[0][1]] = captured_id  # lab-005 and lab-013 are the same action, idle vs live
        items = await link.action_list(fields)
        assert len(items) == list_items(captured_id)
        assert all(item.action_id is not None and item.action_id.startswith("acd-") for item in items)
        assert not any(f.event and f.event.endswith("Complete") for f in rec.frames)
    finally:
        await link.close()


async def test_eventlist_with_events_interleaved_and_split_reads(fake: FakeAmi) -> None:
    """Live events between list items go to on_frame; the list still completes; bytes dribble in."""
    _, varset = split_blocks(b"".join(b for b in ACTIONS.blocks if header(b, "Event") == "VarSet")[:2000])
    chunks: list[bytes] = []

    def queue_status(fields: Fields, number: int) -> bytes | None:
        action_id = dict(fields)["ActionID"]
        _, blocks = split_blocks(ACTIONS.reply("lab-014", action_id))
        mixed = [blocks[0], varset[0], *blocks[1:3], varset[1], *blocks[3:]]
        data = b"".join(mixed)
        chunks.extend(data[i : i + 7] for i in range(0, len(data), 7))
        return b""

    link = make_link(fake, Recorder())
    rec = Recorder()
    link.on_frame = rec.on_frame
    await link.start(time_limit=2)
    fake.handlers["QueueStatus"] = queue_status
    before = len(rec.frames)
    try:
        task = asyncio.create_task(link.action_list({"Action": "QueueStatus", "Queue": "support"}))
        await until(lambda: bool(chunks))
        for chunk in chunks:  # 7-byte writes: frames split anywhere, even inside "\r\n\r\n"
            fake.push(chunk)
            await asyncio.sleep(0)
        items = await task
        assert len(items) == list_items("lab-014") == 5
        assert [f.event for f in rec.frames[before:]] == ["VarSet", "VarSet"]
    finally:
        await link.close()


# --- the watchdog and reconnects ---------------------------------------------------------------------


async def test_half_open_connection_is_detected_and_replaced(fake: FakeAmi) -> None:
    fake.mute_pings_on = {1}  # the first connection stops answering Pings: half-open
    rec = Recorder()
    link = make_link(fake, rec, ping_interval=0.2, ping_timeout=0.3)
    await link.start(time_limit=2)
    try:
        await until(lambda: len(rec.of(PbxResynced)) == 2, limit=3)
        assert link.stats.ping_failures == 1
        assert link.stats.reconnects == 1
        assert fake.connections == 2 and fake.logins == 2
        (down,) = rec.of(PbxDisconnected)
        assert "Ping" in down.reason and "half-open" in down.reason
        assert len(rec.resyncs) == 2
        await asyncio.sleep(0.5)  # the new connection answers: no more failures
        assert link.stats.ping_failures == 1 and link.connected
    finally:
        await link.close()


async def test_server_killed_and_restarted(fake: FakeAmi) -> None:
    rec = Recorder()
    link = make_link(fake, rec)
    await link.start(time_limit=2)
    try:
        await fake.stop()  # Asterisk gone: the connection drops, new connections are refused
        await until(lambda: bool(rec.of(PbxDisconnected)))
        assert not link.connected
        with pytest.raises(PbxNotConnected):
            await link.action({"Action": "Ping"}, time_limit=0.2)
        await asyncio.sleep(0.8)
        assert link.stats.connect_failures >= 1  # refused at least once
        await fake.start()  # same port
        took = await until(lambda: len(rec.resyncs) == 2, limit=3)
        assert took < 2.0, took
        assert link.stats.reconnects == 1 and link.connected
        assert [type(e).__name__ for e in rec.events] == [
            "PbxConnected",
            "PbxResynced",
            "PbxDisconnected",
            "PbxConnected",
            "PbxResynced",
        ]
        assert (await link.action({"Action": "Ping"}))["Ping"] == "Pong"
    finally:
        await link.close()


async def test_core_restart_capture_reconnects(fake: FakeAmi) -> None:
    """restart/: the server closes after ``core restart now``; the first reconnect is refused, the
    PBX accepts again 0.5 s later (as in steps.txt)."""
    fake.captures = [RESTART_BEFORE, RESTART_AFTER]
    restarted: list[asyncio.Task[None]] = []

    async def come_back() -> None:
        await fake.stop()
        await asyncio.sleep(0.5)
        await fake.start()

    def command(fields: Fields, number: int) -> bytes | None:
        values = dict(fields)
        if values["Command"] == "core restart now":
            # Stop listening before the connection closes, as Asterisk does: otherwise the link's immediate
            # retry could slip in before come_back() runs and never be refused.
            assert fake.server is not None
            fake.server.close()
            restarted.append(asyncio.create_task(come_back()))
            return CLOSE  # no response and no Shutdown event reached the client
        return RESTART_BEFORE.reply_and_after("lab-005", values["ActionID"], 1)

    def module_load(fields: Fields, number: int) -> bytes | None:
        return RESTART_BEFORE.reply_and_after("lab-003", dict(fields)["ActionID"], 1)

    fake.handlers["Command"] = command
    fake.handlers["ModuleLoad"] = module_load
    rec = Recorder()
    # The first retry must fall inside the PBX's 0.5 s absence (a short session keeps the back-off from
    # its initial value, which would otherwise race the PBX's return).
    link = make_link(fake, rec, rng=lambda: 0.5, backoff_initial=0.1)
    await link.start(time_limit=2)
    try:
        summary = await link.action_list([("Action", "QueueSummary"), ("Queue", "support")])
        assert [f["Queue"] for f in summary] == ["support"]
        reload = await link.action(
            [("Action", "ModuleLoad"), ("Module", "app_queue.so"), ("LoadType", "reload")]
        )
        assert reload["Message"] == "Module reloaded."
        queue_reload = await link.action(
            [
                ("Action", "QueueReload"),
                ("Queue", "support"),
                ("Members", "yes"),
                ("Rules", "yes"),
                ("Parameters", "yes"),
            ]
        )
        assert queue_reload["Message"] == "Queue reloaded successfully"
        out = await link.action([("Action", "Command"), ("Command", "module reload app_queue.so")])
        assert out.values_of("Output") == ["Module 'app_queue.so' reloaded successfully."]
        assert [f["Module"] for f in rec.frames if f.event == "Reload"] == ["app_queue.so"] * 2
        with pytest.raises(PbxConnectionLost):
            await link.action([("Action", "Command"), ("Command", "core restart now")])
        took = await until(lambda: len(rec.resyncs) == 2, limit=3)
        assert took < 2.0
        assert link.stats.connect_failures >= 1  # the refused first try
        (down,) = rec.of(PbxDisconnected)
        assert "closed" in down.reason
        booted = [f for f in rec.frames if f.event == "FullyBooted"]
        assert [f["Uptime"] for f in booted] == ["0", "0"]
        assert fake.connections == 2 and link.stats.reconnects == 1
        # the resync ran on both connections
        assert [n for n, f in fake.received if dict(f)["Action"] == "CoreShowChannels"] == [1, 2]
    finally:
        await link.close()
        await asyncio.gather(*restarted)


async def test_flapping_pbx_is_not_hammered(fake: FakeAmi) -> None:
    """A PBX that accepts, answers the resync and hangs up at once: reconnects back off too."""

    def then_close(fields: Fields, number: int) -> bytes | None:
        return ACTIONS.reply("lab-005", dict(fields)["ActionID"]) + CLOSE

    fake.handlers["CoreShowChannels"] = then_close
    rec = Recorder()
    link = make_link(fake, rec, backoff_initial=0.2, rng=lambda: 0.5)
    await link.start(time_limit=2)
    await asyncio.sleep(1.3)  # sessions end at once: the next tries come after 0.2, 0.4, 0.8 s
    await link.close()
    assert 3 <= fake.connections <= 4, fake.connections
    assert len(rec.of(PbxDisconnected)) >= fake.connections - 1  # close() may cut the last one short


async def test_backoff_schedule_doubles_to_the_cap() -> None:
    link = AmiLink("127.0.0.1", 1, "lab", "x", backoff_initial=0.05, backoff_max=0.2, rng=lambda: 0.5)
    loop = asyncio.get_running_loop()
    tries: list[float] = []

    async def refused() -> Any:
        tries.append(loop.time())
        raise ConnectionRefusedError(111, "Connection refused")

    link._connect_once = refused  # type: ignore[method-assign]
    await link.start(wait=False)
    await until(lambda: len(tries) >= 6, limit=3)
    await link.close()
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(tries)][:5]
    assert gaps == pytest.approx([0.05, 0.1, 0.2, 0.2, 0.2], abs=0.03)
    assert link.stats.connect_failures >= 6
    # jitter stays within ±25 % of the base
    assert AmiLink("h", 1, "u", "s", rng=lambda: 0.0)._delay(4.0) == 3.0
    assert AmiLink("h", 1, "u", "s", rng=lambda: 1.0)._delay(4.0) == 5.0
    assert AmiLink("h", 1, "u", "s", rng=lambda: 1.0)._delay(100.0) == 30.0  # the cap holds


# --- robustness and shutdown ---------------------------------------------------------------------------


async def test_garbage_is_counted_and_skipped(fake: FakeAmi) -> None:
    rec = Recorder()
    link = make_link(fake, rec)
    await link.start(time_limit=2)
    try:
        before = len(rec.frames)
        fake.push(
            b"this is not AMI at all\r\n\r\n"
            b"\x00\xff\xfe binary junk\r\nno colon here\r\n\r\n"
            b"Event: NoSuchEventType\r\nPrivilege: call,all\r\nJunkLine\r\n"
            b"Channel: PJSIP/1002-00000001\r\n\r\n"
            b"Response: Success\r\nActionID: nobody-asked\r\n\r\n"
        )
        await until(lambda: len(rec.frames) > before)
        assert link.stats.malformed_frames == 2
        assert link.stats.malformed_lines == 4  # the 3 lines of the two junk frames + JunkLine
        assert link.stats.unmatched_responses == 1
        unknown = rec.frames[-1]
        assert unknown.event == "NoSuchEventType" and unknown["Channel"] == "PJSIP/1002-00000001"
        assert (await link.action({"Action": "Ping"}))["Ping"] == "Pong"
        assert link.connected and rec.of(PbxDisconnected) == []
    finally:
        await link.close()


async def test_failing_callback_does_not_kill_the_link(fake: FakeAmi) -> None:
    def explode(frame: Frame) -> None:
        raise RuntimeError("consumer bug")

    link = make_link(fake, Recorder())
    await link.start(time_limit=2)
    link.on_frame = explode
    try:
        fake.push(b"Event: Reload\r\nPrivilege: system,all\r\nModule: app_queue.so\r\nStatus: 0\r\n\r\n")
        await until(lambda: link.stats.callback_errors == 1)
        assert (await link.action({"Action": "Ping"}))["Ping"] == "Pong"
    finally:
        await link.close()


async def test_close_leaves_no_tasks(fake: FakeAmi) -> None:
    baseline = asyncio.all_tasks()
    link = make_link(fake, Recorder(), ping_interval=0.05)
    await link.start(time_limit=2)
    await asyncio.sleep(0.2)  # a few watchdog rounds
    assert any(t.get_name() == "ami-link-watchdog" for t in asyncio.all_tasks())
    await link.close()
    assert fake.sent("Logoff")  # logged off politely
    await fake.stop()
    await asyncio.sleep(0.05)
    leaked = [t for t in asyncio.all_tasks() - baseline if not t.done()]
    assert leaked == []
    assert not link.connected
    # closing twice, and closing a link that never started, are harmless
    await link.close()
    await AmiLink("127.0.0.1", 1, "u", "s").close()
