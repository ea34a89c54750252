"""The seeded traffic model on the virtual clock: fast, reproducible, realistic enough."""

from __future__ import annotations

import time

from pbxsim import Simulator, VirtualClock
from pbxsim.engine import Call, CallerSpec
from pbxsim.traffic import DAY_PROFILE, rate_factor


async def demo_hour(seed: int) -> Simulator:
    sim = Simulator(scenario="demo", seed=seed, demo_hours=1.0)
    await sim.start(serve=False)
    await sim.virtual.advance(3600.0)
    await sim.stop()
    return sim


async def test_one_simulated_hour_runs_in_seconds() -> None:
    began = time.perf_counter()
    sim = await demo_hour(1)
    assert time.perf_counter() - began < 5.0
    verbs = [line.split("|")[4] for line in sim.queue_log.lines]
    queues = {line.split("|")[2] for line in sim.queue_log.lines if "|ENTERQUEUE|" in line}
    assert queues == {"support", "sales", "billing"}
    assert verbs.count("ENTERQUEUE") > 60
    assert verbs.count("CONNECT") > 30
    for verb in ("ABANDON", "RINGNOANSWER", "COMPLETEAGENT", "COMPLETECALLER"):
        assert verb in verbs, verb


async def test_same_seed_same_calls_other_seed_other_calls() -> None:
    a, b, c = await demo_hour(7), await demo_hour(7), await demo_hour(8)
    assert a.queue_log.lines == b.queue_log.lines
    assert a.queue_log.lines != c.queue_log.lines


def test_rate_follows_the_time_of_day() -> None:
    clock = VirtualClock()
    # 1795400000 is 2026-11-23 02:13 UTC = 10:13 in the center's zone (UTC+8)
    assert abs(rate_factor(clock.now()) - (DAY_PROFILE[10] * 0.78 + DAY_PROFILE[11] * 0.22)) < 0.01
    assert rate_factor(clock.now() + 16 * 3600) < 0.1  # 02:13 at night


async def test_most_demo_callers_are_the_centers_customers() -> None:
    # so the demo's screen pops show customer files; the rest are strangers (the quick-create form)
    known = [f"1390000{n:04d}" for n in range(20)]
    sim = Simulator(scenario="demo", seed=3, demo_hours=1.0, demo_callers=known)
    numbers: list[str] = []
    place_call = sim.engine.place_call

    def recording(spec: CallerSpec) -> Call:
        numbers.append(spec.number)
        return place_call(spec)

    sim.engine.place_call = recording  # type: ignore[method-assign]
    await sim.start(serve=False)
    await sim.virtual.advance(3600.0)
    await sim.stop()
    share = sum(n in known for n in numbers) / len(numbers)
    assert len(numbers) > 60
    assert 0.6 < share < 0.9
