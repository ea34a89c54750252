"""Clocks and the CLI entry point."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from pbxsim import RealClock, VirtualClock, run_simulator
from tests.pbxsim.amitest import Client, get


async def test_virtual_clock_fires_timers_in_order_and_wakes_sleepers() -> None:
    clock = VirtualClock(start=1000.0)
    fired: list[tuple[str, float]] = []
    clock.call_later(5, lambda: fired.append(("b", clock.now())))
    clock.call_later(1, lambda: fired.append(("a", clock.now())))
    cancelled = clock.call_later(3, lambda: fired.append(("x", clock.now())))
    cancelled.cancel()

    async def sleeper() -> float:
        await clock.sleep(3600)
        return clock.now()

    task = asyncio.create_task(sleeper())
    began = time.perf_counter()
    await clock.advance(2 * 3600)
    assert time.perf_counter() - began < 1.0  # two hours in no time
    assert fired == [("a", 1001.0), ("b", 1005.0)]
    assert await task == 4600.0
    assert clock.now() == 1000.0 + 2 * 3600
    flag: list[int] = []
    clock.call_later(10, lambda: flag.append(1))
    assert await clock.run_until(lambda: bool(flag))
    assert clock.now() == 1000.0 + 2 * 3600 + 10


async def test_real_clock_has_the_same_interface() -> None:
    clock = RealClock()
    done = asyncio.Event()
    before = clock.now()
    clock.call_later(0.01, done.set)
    await asyncio.wait_for(done.wait(), 2)
    await clock.sleep(0.01)
    assert clock.now() - before >= 0.02 - 1e-3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("clock", ["real", "virtual"])
async def test_run_simulator_serves_until_cancelled(clock: str) -> None:
    port = free_port()
    task = asyncio.create_task(
        run_simulator(host="127.0.0.1", port=port, scenario="priority", clock=clock, username="u", secret="s")
    )
    client = None
    for _ in range(100):
        try:
            client = await Client.connect(port)
            break
        except OSError:
            await asyncio.sleep(0.02)
    assert client is not None
    frames = await client.login("u", "s")
    assert get(frames[0], "Message") == "Authentication accepted"
    await client.send(Action="Ping", ActionID="p")
    frames = await client.until("Response:Success")
    assert get(frames[-1], "Ping") == "Pong"
    if clock == "real":  # callers arrive 1 s apart in real time
        await client.until("QueueCallerJoin", wait=3)
    await client.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with pytest.raises(OSError):
        await Client.connect(port)


def test_unknown_scenario_is_refused() -> None:
    from pbxsim import Simulator

    with pytest.raises(ValueError, match="unknown scenario"):
        Simulator(scenario="nope")
