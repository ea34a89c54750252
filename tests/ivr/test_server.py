"""The FastAGI server's own duties: garbage and half headers cost a logged error only, unknown scripts,
the cap on concurrent sessions, 500 concurrent calls without leaked tasks or sockets, a clean stop."""

from __future__ import annotations

import asyncio
import logging
import os
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.agi import AgiSession
from ivr.application import build_server
from ivr.models import IvrFlow, IvrOutcome, IvrSession
from ivr.server import FastAgiServer
from tests.ivr.capture import ScriptedCaller, load_capture
from tests.ivr.conftest import ZONE, Clock


def open_fds() -> tuple[int, int]:
    """(all open file descriptors, sockets among them) of this process."""
    sockets = 0
    names = os.listdir("/proc/self/fd")
    for name in names:
        try:
            sockets += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:
            continue
    return len(names), sockets


def count_sessions(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(IvrSession)) or 0


async def send_raw(port: int, data: bytes, *, wait_for_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    if not wait_for_close:
        writer.close()
        await writer.wait_closed()
        return b""
    rest = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    return rest


@pytest.mark.parametrize(
    ("data", "close_at_once"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(200)) + b"\n\n", False),
        (b"agi_network: yes\nagi_network_script: ivr\nagi_requ", True),  # disconnect mid-header
        (b"agi_network: yes\n", True),
        (b"", True),
        (b"agi_network: yes\n" + b"x" * 20000 + b"\n\n", False),  # an oversize line
    ],
    ids=["http", "tls", "mid-line", "mid-block", "nothing", "oversize"],
)
async def test_garbage_costs_a_logged_error_only(
    server: FastAgiServer,
    factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
    data: bytes,
    close_at_once: bool,
) -> None:
    with caplog.at_level(logging.ERROR, logger="ivr.server"):
        await send_raw(server.port, data, wait_for_close=not close_at_once)
        for _ in range(100):
            if server.connections == 0:
                break
            await asyncio.sleep(0.02)
    assert server.stats.bad_headers == 1 and server.connections == 0
    assert any("no valid header block" in record.message for record in caplog.records)
    assert count_sessions(factory) == 0
    caller = ScriptedCaller(["0"])  # and the server still serves the next call
    await caller.run("127.0.0.1", server.port)
    assert caller.received[-1] == 'VERBOSE "IVR: to queue support" 1'


async def test_silent_client_during_headers_is_dropped(server: FastAgiServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: yes\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 3) == b""  # closed by the server after header_timeout
    writer.close()
    await writer.wait_closed()
    assert server.stats.bad_headers == 1


async def test_unknown_script_is_refused(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    headers = load_capture("agi-004-021443").headers.replace(b"script: ivr", b"script: nope")
    assert await send_raw(server.port, headers) == b""
    assert server.stats.unknown_script == 1 and count_sessions(factory) == 0


async def test_callback_script_without_a_flow_is_recorded(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with factory() as session:  # an admin switched the callback flow off
        session.execute(update(IvrFlow).where(IvrFlow.name == "callback").values(is_active=False))
        session.commit()
    caller = ScriptedCaller([], script="callback")
    await caller.run("127.0.0.1", server.port)
    assert caller.received == [] and caller.closed_by_server
    with factory() as session:
        [row] = session.scalars(select(IvrSession)).all()
    assert (row.script, row.outcome, row.error) == (
        "callback",
        IvrOutcome.ERROR,
        "no active flow named 'callback'",
    )


async def _answer_slowly(session: AgiSession, gate: asyncio.Event, peak: list[int], live: list[int]) -> None:
    live[0] += 1
    peak[0] = max(peak[0], live[0])
    await gate.wait()
    await session.answer()
    live[0] -= 1


async def test_the_cap_on_concurrent_sessions() -> None:
    gate = asyncio.Event()
    peak, live = [0], [0]

    async def handler(session: AgiSession) -> None:
        await _answer_slowly(session, gate, peak, live)

    server = FastAgiServer({"ivr": handler}, port=0, max_sessions=5, overflow_wait=5)
    await server.start()
    callers = [ScriptedCaller([], n=n) for n in range(20)]
    runs = [asyncio.create_task(c.run("127.0.0.1", server.port)) for c in callers]
    for _ in range(100):
        if server.connections == 20:
            break
        await asyncio.sleep(0.01)
    assert server.active_sessions == 5 and server.connections == 20
    gate.set()
    await asyncio.gather(*runs)
    assert peak[0] == 5 and server.stats.peak_sessions == 5 and server.stats.completed == 20
    assert all(c.received == ["ANSWER"] for c in callers)
    await server.stop()


async def test_over_the_cap_for_too_long_is_rejected() -> None:
    gate = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        await gate.wait()

    server = FastAgiServer({"ivr": handler}, port=0, max_sessions=1, overflow_wait=0.1)
    await server.start()
    first = asyncio.create_task(ScriptedCaller([]).run("127.0.0.1", server.port))
    second = ScriptedCaller([], n=1)
    await asyncio.sleep(0.05)
    await second.run("127.0.0.1", server.port)
    assert second.closed_by_server and server.stats.rejected == 1
    gate.set()
    await first
    await server.stop()


async def test_500_concurrent_sessions_leave_no_task_or_socket(
    engine: Engine, factory: sessionmaker[Session], clock: Clock
) -> None:
    tasks_before = len(asyncio.all_tasks())
    fds_before, sockets_before = open_fds()
    server, store = build_server(factory, zone=ZONE, port=0, clock=clock, max_sessions=500)
    await server.start()
    keys: list[list[str | None]] = [["0"], ["3"], ["7", "0"], ["hangup"], ["2", "hangup"]]
    callers = [ScriptedCaller(list(keys[n % 5]), n=n, caller=f"139{n:08d}") for n in range(500)]
    await asyncio.wait_for(asyncio.gather(*(c.run("127.0.0.1", server.port, within=30) for c in callers)), 45)
    for _ in range(200):
        if server.connections == 0:
            break
        await asyncio.sleep(0.01)
    assert server.stats.completed == 500 and server.stats.peak_sessions > 50
    await server.stop()
    await store.aclose()
    assert all(c.closed_by_server for c in callers)
    with factory() as session:
        rows = session.execute(select(IvrSession.outcome, func.count()).group_by(IvrSession.outcome)).all()
        outcomes = {outcome: count for outcome, count in rows}
    assert outcomes == {IvrOutcome.TO_QUEUE: 300, IvrOutcome.HANGUP: 200}
    assert len(asyncio.all_tasks()) == tasks_before
    _fds, sockets_after = open_fds()
    assert sockets_after == sockets_before
    engine.dispose()  # the pooled SQLite connections the store's threads opened
    assert open_fds()[0] <= fds_before


async def test_stop_cancels_running_sessions_and_records_them(
    factory: sessionmaker[Session], clock: Clock
) -> None:
    server, store = build_server(
        factory, zone=ZoneInfo("Asia/Shanghai"), port=0, clock=clock, command_timeout=30
    )
    await server.start()
    stuck = ScriptedCaller(["0"], silent_after=1)  # never answers STREAM FILE: the session waits
    run = asyncio.create_task(stuck.run("127.0.0.1", server.port, within=10))
    for _ in range(100):
        if len(stuck.received) == 2:
            break
        await asyncio.sleep(0.01)
    await server.stop(grace=0.1)
    await run
    await store.aclose()
    assert stuck.closed_by_server and server.connections == 0
    with factory() as session:
        [row] = session.scalars(select(IvrSession)).all()
    assert row.outcome is IvrOutcome.ERROR and row.error == "server stopped during the call"
