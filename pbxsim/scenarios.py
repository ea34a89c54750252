"""Named scenarios: the lab's configuration (../shared/fixtures/asterisk/conf, README "Lab configuration")
and scripted runs reproducing the fixture folders (``answered``, ``abandoned``, ``priority``, ``penalty``,
``ringall``), plus ``demo`` (three queues with seeded realistic traffic, see traffic.py) and ``idle``.

A scenario configures an Engine and returns a script: (seconds after start, step) pairs the Simulator
schedules on its clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pbxsim.engine import CallerSpec, Engine
from pbxsim.queues import Phone, QueueConfig

if TYPE_CHECKING:
    from pbxsim.traffic import AgentRoster, IvrMenu

Step = Callable[[Engine], object]


@dataclass
class Scenario:
    name: str
    script: list[tuple[float, Step]] = field(default_factory=list)
    duration: float = 0.0  # simulated seconds until the script has played out


AGENTS = {
    "PJSIP/1001": ("Alice", "Agent Alice"),
    "PJSIP/1002": ("Bob", "Agent Bob"),
    "PJSIP/1003": ("Carol", "Agent Carol"),
    "PJSIP/1004": ("Dave", "Agent Dave"),
    "PJSIP/1005": ("Erin", "Agent Erin"),
    "PJSIP/1006": ("Frank", "Agent Frank"),
}


def sequence(*values: float | None) -> Callable[[], float | None]:
    """A phone behaviour that takes these values call after call (the last one repeats)."""
    it = itertools.chain(values, itertools.repeat(values[-1]))
    return lambda: next(it)


def lab(engine: Engine, phones: dict[str, Phone] | None = None) -> None:
    """queues.conf and pjsip.conf of the lab: devices 1001–1006 and the eight queues with their members."""
    phones = phones or {}
    for interface, (_, cid_name) in AGENTS.items():
        engine.add_device(interface, cid_name, phones.get(interface, Phone()))
    queues = [
        QueueConfig("support", "rrmemory", 15, 2, 5, record=True, servicelevel=20, exten="600"),
        QueueConfig("complaints", "fewestcalls", 15, 2, 5, exten="601"),
        QueueConfig("sales", "ringall", 15, 2, 0, joinempty=False, leavewhenempty=True, exten="602"),
        QueueConfig("priority", "rrmemory", 15, 2, 1, exten="603"),
        QueueConfig("penalty", "linear", 15, 2, 2, exten="604"),
        QueueConfig("ringall", "ringall", 8, 2, 2, exten="605"),
        QueueConfig("billing", "rrmemory", 15, 2, 10, exten="606"),
        QueueConfig("retention", "fewestcalls", 15, 2, 10, exten="607"),
    ]
    for config in queues:
        engine.add_queue(config)
    for n in ("1001", "1002", "1003", "1004"):
        engine.add_static_member("support", f"PJSIP/{n}", AGENTS[f"PJSIP/{n}"][0])
    engine.add_static_member("priority", "PJSIP/1002", "Bob")
    for n, penalty in (("1002", 0), ("1003", 0), ("1004", 5)):
        engine.add_static_member("penalty", f"PJSIP/{n}", AGENTS[f"PJSIP/{n}"][0], penalty)
    for n in ("1002", "1003", "1004"):
        engine.add_static_member("ringall", f"PJSIP/{n}", AGENTS[f"PJSIP/{n}"][0])


def call(number: str, name: str, queue: str, **kw: object) -> Step:
    return lambda engine: engine.place_call(CallerSpec(number, name, queue, **kw))  # type: ignore[arg-type]


def answered(engine: Engine) -> Scenario:
    """answered/: 8 calls into support; Alice never answers; talk times and who hangs up as captured."""
    lab(
        engine,
        {
            "PJSIP/1001": Phone(answer_after=None),
            "PJSIP/1002": Phone(answer_after=sequence(2, 4, 2), talk=sequence(12, 15, 21)),
            "PJSIP/1003": Phone(answer_after=sequence(2.5, 3), talk=None),
            "PJSIP/1004": Phone(answer_after=sequence(2, 2, 2.5), talk=sequence(27, 26, 20)),
        },
    )
    script: list[tuple[float, Step]] = [
        (0.0, call("13800138001", "Li Wei", "support", talk=40.5)),
        (12.0, call("13800138002", "Zhang Min", "support")),
        (22.0, call("13800138003", "Wang Fang", "support")),
        (34.0, call("13800138004", "Liu Yang", "support")),
        (46.0, call("13800138005", "Chen Jing", "support")),
        (58.0, call("13800138006", "Yang Li", "support")),
        (66.2, call("13800138007", "Huang Tao", "support", talk=87.0)),
        (100.0, call("13800138008", "Zhao Lei", "support")),
    ]
    return Scenario("answered", script, 170.0)


def abandoned(engine: Engine) -> Scenario:
    """abandoned/: Bob/Carol/Dave on break, only Alice (never answers) rings; timeouts, JOINEMPTY,
    EXITEMPTY."""
    lab(engine, {"PJSIP/1001": Phone(answer_after=None), "PJSIP/1005": Phone(answer_after=None)})
    agents = ("PJSIP/1002", "PJSIP/1003", "PJSIP/1004")

    def pause(paused: bool) -> Step:
        def step(e: Engine) -> None:
            for interface in agents:
                e.queue_pause(interface, paused, "break" if paused else "", "support")

        return step

    script: list[tuple[float, Step]] = [
        (0.0, pause(True)),
        (2.0, call("13700137001", "Ma Lin", "support", patience=6.0)),
        (5.0, call("13700137006", "Xu Ming", "complaints", queue_timeout=30.0)),
        (8.0, call("13700137008", "Song Jia", "sales")),
        (10.0, call("13700137002", "Guo Hua", "support", patience=4.0)),
        (12.0, call("13700137007", "Gao Yan", "complaints", queue_timeout=30.0)),
        (16.0, call("13700137003", "He Ping", "support", patience=25.0)),
        (18.0, call("13700137004", "Lin Na", "support", patience=7.0)),
        (20.0, call("13700137005", "Luo Gang", "support", patience=12.0)),
        (45.0, lambda e: e.queue_add("sales", "PJSIP/1005", "Erin")),
        (47.0, call("13700137009", "Tang Bo", "sales", queue_timeout=60.0)),
        (54.0, lambda e: e.queue_remove("sales", "PJSIP/1005")),
        (62.2, pause(False)),
    ]
    return Scenario("abandoned", script, 70.0)


def priority(engine: Engine) -> Scenario:
    """priority/: one member (Bob answers after 2 s, talks 6 s); arrivals with priority 0, 0, 10, 5, 10."""
    lab(engine, {"PJSIP/1002": Phone(answer_after=2.0, talk=6.0)})
    arrivals = [(1.0, 0), (2.0, 0), (3.6, 10), (4.6, 5), (5.6, 10)]
    script: list[tuple[float, Step]] = [
        (t, call(f"1340013400{i}", f"Arrival {i}", "priority", priority=prio))
        for i, (t, prio) in enumerate(arrivals, start=1)
    ]
    return Scenario("priority", script, 60.0)


def penalty(engine: Engine) -> Scenario:
    """penalty/: linear; Bob/Carol penalty 0 talk 12 s, Dave penalty 5 talks 8 s; overlapping calls."""
    lab(
        engine,
        {
            "PJSIP/1002": Phone(answer_after=2.0, talk=12.0),
            "PJSIP/1003": Phone(answer_after=2.0, talk=12.0),
            "PJSIP/1004": Phone(answer_after=2.0, talk=8.0),
        },
    )
    script: list[tuple[float, Step]] = [
        (float(t), call(f"1330013300{i}", f"Pen {i}", "penalty"))
        for i, t in enumerate((0, 3, 6, 9, 20, 23, 40, 43, 46), 1)
    ]
    script.append((38.0, lambda e: e.queue_penalty("PJSIP/1002", 10, "penalty")))
    script.append((60.0, lambda e: e.queue_penalty("PJSIP/1002", 0, "penalty")))
    script.sort(key=lambda item: item[0])
    return Scenario("penalty", script, 70.0)


def ringall(engine: Engine) -> Scenario:
    """ringall/: Bob/Carol/Dave rung together, the first to answer wins; the third caller's first round
    is not answered by anyone (3 x RNA) and the retry is answered by Dave."""
    lab(
        engine,
        {
            "PJSIP/1002": Phone(answer_after=sequence(1.5, 3.5, 1.5), talk=6.0),
            "PJSIP/1003": Phone(answer_after=sequence(2.0, 2.0, 3.0, 2.0, 2.0), talk=6.0),
            "PJSIP/1004": Phone(answer_after=2.5, talk=6.0),
        },
    )
    script: list[tuple[float, Step]] = [
        (0.0, call("13200132001", "Ring One", "ringall")),
        (3.0, call("13200132002", "Ring Two", "ringall")),
        (14.8, call("13200132003", "Ring Three", "ringall", no_answer_for=5.0)),
        (28.5, call("13200132004", "Ring Four", "ringall")),
        (31.0, call("13200132005", "Ring Five", "ringall")),
    ]
    return Scenario("ringall", script, 50.0)


def idle(engine: Engine) -> Scenario:
    lab(engine)
    return Scenario("idle", [], 0.0)


def demo(
    engine: Engine,
    *,
    seed: int = 1,
    hours: float = 8.0,
    agents: AgentRoster | None = None,
    callers: Sequence[str] = (),
    ids: Mapping[str, str] | None = None,
    ivr: IvrMenu | None = None,
) -> Scenario:
    from pbxsim.traffic import demo_traffic

    return demo_traffic(engine, seed=seed, hours=hours, agents=agents, callers=callers, ids=ids, ivr=ivr)


SCENARIOS: dict[str, Callable[[Engine], Scenario]] = {
    "answered": answered,
    "abandoned": abandoned,
    "priority": priority,
    "penalty": penalty,
    "ringall": ringall,
    "idle": idle,
    "demo": demo,
}
