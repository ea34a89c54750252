"""Public entry points: ``Simulator`` (in-process, for tests and benchmarks) and ``run_simulator`` (the CLI's
long-running server). A Simulator owns one Engine, one AmiServer and the scenario's script on a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pbxsim.agi_client import AgiTarget
from pbxsim.ami_server import AmiServer
from pbxsim.clock import Clock, RealClock, VirtualClock
from pbxsim.engine import Engine
from pbxsim.scenarios import SCENARIOS, Scenario, demo
from pbxsim.writers import CdrLog, CelLog, QueueLog

if TYPE_CHECKING:
    from pbxsim.recordings import Recorder
    from pbxsim.traffic import AgentRoster, IvrMenu


def make_clock(kind: str) -> Clock:
    if kind == "real":
        return RealClock()
    if kind == "virtual":
        return VirtualClock()
    raise ValueError(f"unknown clock {kind!r} (real or virtual)")


class Simulator:
    """An in-process PBX: ``await sim.start()`` (port 0 picks a free port, see ``sim.port``), then
    ``await sim.stop()``.

    With a VirtualClock, time moves only through ``await sim.clock.advance(seconds)``.

    ``agi_address`` (``host:port``): callers with an IVR script (the demo's, when ``demo_ivr`` describes
    the IVR's menu) dial the hotline and walk the IVR at that FastAGI server before their queue.
    """

    def __init__(
        self,
        *,
        scenario: str = "idle",
        clock: Clock | str = "virtual",
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 1,
        queue_log_path: Path | None = None,
        cdr_path: Path | None = None,
        cel_path: Path | None = None,
        username: str = "admin",
        secret: str = "admin",
        demo_hours: float = 8.0,
        demo_agents: AgentRoster | None = None,
        demo_callers: Sequence[str] = (),
        demo_ids: Mapping[str, str] | None = None,
        demo_ivr: IvrMenu | None = None,
        agi_address: str | None = None,
        recordings_dir: Path | None = None,
        recordings_language: str = "zh",
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}")
        self.clock: Clock = make_clock(clock) if isinstance(clock, str) else clock
        self.queue_log = QueueLog(queue_log_path)
        self.cdr = CdrLog(cdr_path)
        self.cel = CelLog(cel_path)
        self.engine = Engine(self.clock, seed=seed, queue_log=self.queue_log, cdr=self.cdr, cel=self.cel)
        if agi_address:
            self.engine.agi = AgiTarget.parse(agi_address)
        if scenario == "demo":
            self.scenario: Scenario = demo(
                self.engine,
                seed=seed,
                hours=demo_hours,
                agents=demo_agents,
                callers=demo_callers,
                ids=demo_ids,
                ivr=demo_ivr if agi_address else None,
            )
        else:
            self.scenario = SCENARIOS[scenario](self.engine)
        self.server = AmiServer(self.engine, host=host, port=port, username=username, secret=secret)
        self._started = False
        # recordings_dir: write a real recording per recorded call (pbxsim/recordings.py); off when None
        self.recorder: Recorder | None = None
        if recordings_dir is not None:
            from pbxsim.recordings import Recorder  # numpy: only loaded when recordings are on

            self.recorder = Recorder(recordings_dir, language=recordings_language)
            self.engine.listeners.append(self.recorder.on_frame)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def virtual(self) -> VirtualClock:
        assert isinstance(self.clock, VirtualClock), "this simulator runs on the real clock"
        return self.clock

    def schedule_script(self) -> None:
        """Put the scenario's steps on the clock (relative to now)."""
        for offset, step in self.scenario.script:
            self.clock.call_later(offset, lambda step=step: step(self.engine))  # type: ignore[misc]

    async def start(self, *, serve: bool = True, play: bool = True) -> None:
        if serve:
            await self.server.start()
        if play and not self._started:
            self.schedule_script()
        self._started = True

    async def stop(self) -> None:
        # callers still in the IVR: their FastAGI connections are closed, no task is left behind
        tasks = set(self.engine.agi_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        await self.server.stop()
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.close)  # the recordings still being written
        self.queue_log.close()
        self.cdr.close()
        self.cel.close()

    def answer(self, interface: str) -> bool:
        """A person-driven phone (``Phone(manual=True)``) picks up its ringing call."""
        return self.engine.answer(interface)

    def hangup(self, interface: str) -> bool:
        """The agent on ``interface`` hangs up the queue call in progress."""
        return self.engine.agent_hangup(interface)

    async def run_scenario(self) -> None:
        """Virtual clock: play the whole script (plus a margin for the last calls to end)."""
        await self.virtual.advance(self.scenario.duration + 600.0)


async def run_simulator(
    *,
    host: str,
    port: int,
    scenario: str,
    clock: str = "real",
    seed: int = 1,
    queue_log_path: Path | None = None,
    cel_path: Path | None = None,
    cdr_path: Path | None = None,
    username: str = "admin",
    secret: str = "admin",
    recordings_dir: Path | None = None,
) -> None:
    """Serve AMI until cancelled. With ``clock="virtual"`` simulated time runs as fast as it can in
    one-second steps (clients connected meanwhile see the rest), slowing down once nothing is scheduled."""
    sim = Simulator(
        scenario=scenario,
        clock=clock,
        host=host,
        port=port,
        seed=seed,
        queue_log_path=queue_log_path,
        cel_path=cel_path,
        cdr_path=cdr_path,
        username=username,
        secret=secret,
        recordings_dir=recordings_dir,
    )
    await sim.start()
    try:
        if isinstance(sim.clock, VirtualClock):
            while True:
                idle = sim.clock.next_due() is None
                await sim.clock.advance(1.0)
                # nothing scheduled: let simulated time pass gently instead of spinning a core
                await asyncio.sleep(0.05 if idle else 0)
        else:
            await asyncio.Event().wait()
    finally:
        await sim.stop()
