"""Clocks for the PBX simulator: a real one and a virtual one with the same interface.

The engine only schedules callbacks (``call_later``) and reads ``now()``; async code may ``await
clock.sleep()``. The virtual clock runs a scenario of hours in milliseconds: ``advance(seconds)`` fires every
timer due in order, letting the event loop run pending tasks between timers so that async consumers (the AMI
server, tests) see each step.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time; timers on the running asyncio loop."""

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _VirtualTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Simulated time that only moves when told to (``advance`` / ``run_until``)."""

    def __init__(self, start: float = 1_795_400_000.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _VirtualTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> _VirtualTimer:
        timer = _VirtualTimer(self._now + max(0.0, delay), callback)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        self.call_later(seconds, wake)
        await future

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def step(self, until: float) -> bool:
        """Fire the next timer due at or before ``until`` (synchronously); False when none is due."""
        due = self.next_due()
        if due is None or due > until:
            return False
        _, _, timer = heapq.heappop(self._heap)
        self._now = max(self._now, timer.when)
        timer.callback()
        return True

    async def advance(self, seconds: float, *, yield_every: int = 1) -> None:
        """Move time forward by ``seconds``, firing timers in order; the loop runs between timers."""
        until = self._now + seconds
        fired = 0
        await _drain()
        while self.step(until):
            fired += 1
            if fired % yield_every == 0:
                await _drain()
        self._now = until
        await _drain()

    async def run_until(self, predicate: Callable[[], bool], *, limit: float = 86_400.0) -> bool:
        """Advance until ``predicate()`` holds or ``limit`` simulated seconds passed."""
        until = self._now + limit
        await _drain()
        while not predicate():
            if not self.step(until):
                return predicate()
            await _drain()
        return True


async def _drain() -> None:
    # a few zero-sleeps let chains of ready tasks (timer → queue → writer) run before time moves on
    for _ in range(3):
        await asyncio.sleep(0)
