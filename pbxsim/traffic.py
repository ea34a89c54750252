"""Seeded traffic for the demo and the benchmarks: Poisson arrivals per queue whose rate follows the time of
day, callers with patience and talk budgets, agent phones that answer after a random delay (some past the
ring timeout, some never) and talk for a random time. The same seed gives the same calls on the virtual clock.

With an ``IvrMenu`` (the simulator dials our IVR) every caller also gets a seeded IVR script: most press the
menu key of their queue (typing their customer id where that branch asks for it, some a wrong id first),
some hang up in the menu, some press the key for an agent. Told of a long wait, some take the call-back
offer (press 1 at ``wait-offer``). After the call (the agent hung up) they answer the survey: most press a
score 1–5, some an invalid key first, some hang up; out of the queue unanswered, some accept the call-back
offered there. The scripts draw from a random stream of their own, so the calls themselves stay those of
the same seed without the IVR.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from pbxsim.agi_client import IvrScript
from pbxsim.engine import CallerSpec, Engine
from pbxsim.queues import Phone, QueueConfig
from pbxsim.scenarios import Scenario, Step

CENTER_ZONE = timezone(timedelta(hours=8))  # the demo center's wall clock (Asia/Shanghai, no DST)

# relative load per hour of the center's day (0..23): quiet night, morning and afternoon peaks
DAY_PROFILE = (
    0.05, 0.03, 0.02, 0.02, 0.03, 0.05, 0.10, 0.30, 0.70, 1.00, 0.95, 0.85,
    0.60, 0.70, 0.90, 1.00, 0.90, 0.70, 0.50, 0.40, 0.30, 0.20, 0.10, 0.07,
)  # fmt: skip

# queue -> (strategy, peak calls per hour, mean talk seconds, wrap-up seconds, record)
DEMO_QUEUES = {
    "support": ("rrmemory", 90.0, 180.0, 10.0, True),
    "sales": ("leastrecent", 45.0, 240.0, 15.0, False),
    "billing": ("fewestcalls", 30.0, 150.0, 10.0, False),
}
DEMO_AGENTS = {  # interface -> (name, queues)
    "PJSIP/2001": ("Li Na", ("support", "billing")),
    "PJSIP/2002": ("Wang Wei", ("support",)),
    "PJSIP/2003": ("Zhang Jie", ("support",)),
    "PJSIP/2004": ("Liu Yang", ("support", "sales")),
    "PJSIP/2005": ("Chen Jing", ("support",)),
    "PJSIP/2006": ("Yang Fan", ("sales",)),
    "PJSIP/2007": ("Zhao Lei", ("sales",)),
    "PJSIP/2008": ("Huang Min", ("sales", "billing")),
    "PJSIP/2009": ("Zhou Tao", ("billing",)),
    "PJSIP/2010": ("Wu Hao", ("billing", "support")),
    "PJSIP/2011": ("Xu Li", ("support",)),
    "PJSIP/2012": ("Sun Qiang", ("support", "sales")),
}


def rate_factor(epoch: float) -> float:
    """Load factor at this instant, interpolated between the hourly profile points."""
    local = datetime.fromtimestamp(epoch, UTC).astimezone(CENTER_ZONE)
    h = local.hour + local.minute / 60.0
    lo = int(h) % 24
    frac = h - int(h)
    return DAY_PROFILE[lo] * (1 - frac) + DAY_PROFILE[(lo + 1) % 24] * frac


def lognormal(rng: random.Random, mean: float, sigma: float = 0.6) -> float:
    mu = math.log(mean) - sigma * sigma / 2
    return rng.lognormvariate(mu, sigma)


def agent_phone(rng: random.Random, talk_mean: float) -> Phone:
    def answer() -> float | None:
        r = rng.random()
        if r < 0.04:
            return None  # away from the desk: rings until the timeout
        if r < 0.12:
            return rng.uniform(16.0, 30.0)  # past the 15 s ring timeout
        return rng.uniform(1.5, 6.0)

    def talk() -> float | None:
        return max(5.0, lognormal(rng, talk_mean))

    return Phone(answer_after=answer, talk=talk)


def arrivals(rng: random.Random, start: float, hours: float, peak_per_hour: float) -> list[float]:
    """Non-homogeneous Poisson arrivals (thinning) as offsets from ``start``."""
    out: list[float] = []
    t = 0.0
    end = hours * 3600.0
    lam = peak_per_hour / 3600.0
    while True:
        t += rng.expovariate(lam)
        if t >= end:
            return out
        if rng.random() < rate_factor(start + t):
            out.append(t)


AgentRoster = Mapping[str, tuple[str, tuple[str, ...]]]  # interface -> (member name, queues)


@dataclass(frozen=True)
class IvrMenu:
    """What the simulated callers know of the IVR: the main-menu key leading to each queue, the key that asks
    for a person, and the keys whose branch first asks for the customer id (``id_digits`` long)."""

    keys: Mapping[str, str] = field(default_factory=lambda: {"support": "1", "complaints": "3"})
    agent_key: str = "0"
    id_keys: frozenset[str] = frozenset({"1"})
    hangup_share: float = 0.06  # hang up while the menu plays
    agent_share: float = 0.10  # press the agent key whatever they called for
    wrong_id_share: float = 0.25  # of those typing an id: a wrong one first
    wait_offer_prompt: str = "wait-offer"  # the prompt offering a call-back instead of a long wait
    wait_offer_key: str = "1"
    wait_offer_share: float = 0.35  # take that offer when it comes
    survey_hangup_share: float = 0.15  # hang up instead of answering the survey
    survey_invalid_share: float = 0.10  # press a key that is no score first
    callback_accept_share: float = 0.5  # out of the queue unanswered: accept the call-back (press 1)
    # how satisfied the callers are: score 1 (非常满意) … 5 (非常不满意)
    score_weights: tuple[float, ...] = (0.45, 0.30, 0.15, 0.06, 0.04)


def wrong_id(rng: random.Random, digits: str) -> str:
    """The id with its last digit changed: the check digit no longer fits."""
    last = (int(digits[-1]) + rng.randrange(1, 10)) % 10
    return digits[:-1] + str(last)


def survey_script(rng: random.Random, menu: IvrMenu) -> IvrScript:
    """The caller's answer to the post-call survey: a score, an invalid key then a score, or a hang-up."""
    r = rng.random()
    score = str(rng.choices(range(1, 6), weights=menu.score_weights)[0])
    if r < menu.survey_hangup_share:
        return IvrScript(hangup_at=0, hangup_after=rng.uniform(0.5, 4.0))
    if r < menu.survey_hangup_share + menu.survey_invalid_share:
        return IvrScript(keys=(rng.choice("06789*#"), score))
    return IvrScript(keys=(score,))


def callback_script(rng: random.Random, menu: IvrMenu) -> IvrScript:
    """Out of the queue unanswered: 1 accepts the call-back, 2 declines."""
    return IvrScript(keys=("1" if rng.random() < menu.callback_accept_share else "2",))


def ivr_script(rng: random.Random, menu: IvrMenu, queue: str, typed_id: str | None) -> IvrScript:
    """One caller's keys in the IVR and after the queue (see the module docstring)."""
    walk = _menu_walk(rng, menu, queue, typed_id)
    if walk.hangup_at == 0:
        return walk  # gone before the menu: no queue, no survey
    takes_offer = rng.random() < menu.wait_offer_share
    return dataclasses.replace(
        walk,
        on_prompt=((menu.wait_offer_prompt, menu.wait_offer_key if takes_offer else ""),),
        survey=survey_script(rng, menu),
        callback=callback_script(rng, menu),
    )


def _menu_walk(rng: random.Random, menu: IvrMenu, queue: str, typed_id: str | None) -> IvrScript:
    r = rng.random()
    if r < menu.hangup_share:
        return IvrScript(hangup_at=0, hangup_after=rng.uniform(1.0, 6.0))
    key = menu.keys.get(queue)
    if key is None or r < menu.hangup_share + menu.agent_share:
        return IvrScript(keys=(menu.agent_key,))
    if key in menu.id_keys:
        if not typed_id:
            return IvrScript(keys=(menu.agent_key,))  # no customer number to type: asks for a person
        if rng.random() < menu.wrong_id_share:
            return IvrScript(keys=(key, wrong_id(rng, typed_id), typed_id))
        return IvrScript(keys=(key, typed_id))
    return IvrScript(keys=(key,))


def demo_traffic(
    engine: Engine,
    *,
    seed: int = 1,
    hours: float = 8.0,
    start_hour: int | None = None,
    agents: AgentRoster | None = None,
    callers: Sequence[str] = (),
    known_share: float = 0.75,
    ids: Mapping[str, str] | None = None,
    ivr: IvrMenu | None = None,
) -> Scenario:
    """Configure the demo center (3 queues; DEMO_AGENTS unless ``agents`` names the center's own people)
    and script ``hours`` of seeded calls. With ``callers`` (numbers the center knows), ``known_share`` of
    the calls come from one of them, so the screen pop has customer files to show; the rest are strangers.
    With ``ivr`` the callers walk the IVR first; ``ids`` (caller number → customer id digits) is what the
    known callers type when the IVR asks for their customer number."""
    rng = random.Random(seed)
    ivr_rng = random.Random(f"ivr-{seed}")
    for name, (strategy, _, _, wrapup, record) in DEMO_QUEUES.items():
        engine.add_queue(QueueConfig(name, strategy, 15, 3, wrapup, record=record, servicelevel=20))
    for interface, (name, queues) in (agents or DEMO_AGENTS).items():
        talk_mean = DEMO_QUEUES[queues[0]][2]
        engine.add_device(interface, name, agent_phone(random.Random(rng.random()), talk_mean))
        for q in queues:
            engine.add_static_member(q, interface, name)
    now = engine.now()
    offset = 0.0
    if start_hour is not None:
        # begin the traffic at the next start_hour of the center's day so the profile shows
        local = datetime.fromtimestamp(now, UTC).astimezone(CENTER_ZONE)
        target = local.replace(hour=start_hour, minute=0, second=0, microsecond=0)
        if target < local:
            target += timedelta(days=1)
        offset = (target - local).total_seconds() if engine_is_virtual(engine) else 0.0
    script: list[tuple[float, Step]] = []
    if offset:
        script.append((0.0, lambda e: None))
    seq = 0
    for queue, (_, peak, talk_mean, _, _) in DEMO_QUEUES.items():
        for t in arrivals(rng, now + offset, hours, peak):
            seq += 1
            stranger = f"139{rng.randrange(10**8):08d}"
            spec = CallerSpec(
                number=rng.choice(callers) if callers and rng.random() < known_share else stranger,
                name="",
                queue=queue,
                priority=10 if rng.random() < 0.05 else 0,
                patience=max(5.0, rng.expovariate(1 / 120.0)) if rng.random() < 0.9 else None,
                talk=max(10.0, lognormal(rng, talk_mean * 1.2)) if rng.random() < 0.3 else None,
            )
            if ivr is not None:
                typed = (ids or {}).get(spec.number)
                spec.ivr = ivr_script(ivr_rng, ivr, queue, typed)
            script.append((offset + t, _placer(spec)))
    script.sort(key=lambda item: item[0])
    return Scenario("demo", script, offset + hours * 3600.0)


def engine_is_virtual(engine: Engine) -> bool:
    return type(engine.clock).__name__ == "VirtualClock"


def _placer(spec: CallerSpec) -> Callable[[Engine], object]:
    return lambda e: e.place_call(spec)
