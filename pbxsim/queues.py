"""app_queue's data model for the simulator: devices (agent phones), queue members, queues, waiting callers,
and the member-choice strategies (ringall, rrmemory, leastrecent, fewestcalls, random, linear) with penalty
tiers. Pure data and choice logic; the engine (engine.py) drives time and emits events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

STRATEGIES = ("ringall", "rrmemory", "leastrecent", "fewestcalls", "random", "linear")


class DeviceStatus(IntEnum):
    """QueueMemberStatus.Status values (ast_device_state)."""

    NOT_INUSE = 1
    INUSE = 2
    UNAVAILABLE = 5
    RINGING = 6


DEVICE_STATE_NAME = {
    DeviceStatus.NOT_INUSE: "NOT_INUSE",
    DeviceStatus.INUSE: "INUSE",
    DeviceStatus.UNAVAILABLE: "UNAVAILABLE",
    DeviceStatus.RINGING: "RINGING",
}


def member_bucket(interface: str) -> int:
    """app_queue's member_hash_fn() (first 5 characters from the '/', 6 bits each) modulo its 37 buckets:
    the order in which a hashed member container is walked (QueueStatus lists, ringall dialling)."""

    def compress(c: str) -> int:
        o = ord(c)
        return 0 if o < 32 else (o - 64 if o > 96 else o - 32)

    name = interface[interface.find("/") :] if "/" in interface else interface
    return sum(compress(c) << (6 * i) for i, c in enumerate(name[:5])) % 37


@dataclass
class Phone:
    """An agent phone's behaviour. ``answer_after``: seconds of ringing before it answers (None: never, the
    person-driven API or a timeout decides); ``talk``: seconds after answer until the agent hangs up (None:
    waits for the caller). Either may be a callable drawing a value (traffic model)."""

    answer_after: float | Callable[[], float | None] | None = 2.0
    talk: float | Callable[[], float | None] | None = None
    manual: bool = False  # person-driven: only Simulator.answer()/hangup() act

    def draw_answer(self) -> float | None:
        if self.manual:
            return None
        value = self.answer_after
        return value() if callable(value) else value

    def draw_talk(self) -> float | None:
        if self.manual:
            return None
        value = self.talk
        return value() if callable(value) else value


@dataclass
class Device:
    """One agent endpoint (PJSIP/100X), shared by every queue it is a member of (shared_lastcall=yes)."""

    interface: str
    caller_id_name: str
    phone: Phone = field(default_factory=Phone)
    reachable: bool = True
    ringing: int = 0  # legs ringing now
    in_call: bool = False
    last_call: float = 0.0  # end of the last queue call (drives wrap-up)
    calls_taken: int = 0

    @property
    def number(self) -> str:
        return self.interface.split("/", 1)[-1]

    @property
    def status(self) -> DeviceStatus:
        if not self.reachable:
            return DeviceStatus.UNAVAILABLE
        if self.in_call:
            return DeviceStatus.INUSE
        if self.ringing:
            return DeviceStatus.RINGING
        return DeviceStatus.NOT_INUSE


@dataclass
class Member:
    """A queue membership of one device."""

    device: Device
    name: str
    penalty: int = 0
    dynamic: bool = False
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    login_time: int = 0
    ringinuse: bool = False
    in_call_here: bool = False

    @property
    def interface(self) -> str:
        return self.device.interface


@dataclass
class QueueConfig:
    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 5.0
    wrapuptime: float = 0.0
    joinempty: bool = True
    leavewhenempty: bool = False
    record: bool = False  # monitor-format=wav: MixMonitor on the caller at answer
    servicelevel: int = 0
    weight: int = 0
    maxlen: int = 0
    ringinuse: bool = False
    exten: str = ""  # the dialplan extension that leads here (600, 601, ...)
    setinterfacevar: bool = True  # MEMBER* variables on the caller at connect
    setqueueentryvar: bool = True  # QEHOLDTIME / QEORIGINALPOS at connect


@dataclass
class QueueCaller:
    """A caller waiting in (or being served by) a queue."""

    call: object  # engine.Call (kept untyped here to avoid an import cycle)
    priority: int
    joined: float
    original_position: int
    next_try: float = 0.0


@dataclass
class Queue:
    config: QueueConfig
    members: list[Member] = field(default_factory=list)
    callers: list[QueueCaller] = field(default_factory=list)
    rr_next: int = 0  # rrmemory: app_queue's rrpos
    completed: int = 0
    abandoned: int = 0
    holdtime_total: float = 0.0
    talktime_total: float = 0.0
    completed_in_sl: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    def member(self, interface: str) -> Member | None:
        return next((m for m in self.members if m.interface == interface), None)

    def insert(self, caller: QueueCaller) -> int:
        """Place behind every caller of equal or higher priority; return the 1-based position."""
        index = len(self.callers)
        for i, other in enumerate(self.callers):
            if other.priority < caller.priority:
                index = i
                break
        self.callers.insert(index, caller)
        return index + 1

    def position(self, caller: QueueCaller) -> int:
        return self.callers.index(caller) + 1

    def usable_members(self) -> list[Member]:
        """Members that count against join/leave-when-empty: not paused, device reachable."""
        return [m for m in self.members if not m.paused and m.device.reachable]

    def available_count(self) -> int:
        """num_available_members(): devices not in use (wrap-up is not considered here); 1 for ringall."""
        count = 0
        for m in self.members:
            if m.paused or not m.device.reachable:
                continue
            if m.device.status == DeviceStatus.NOT_INUSE or (
                m.ringinuse and m.device.status != DeviceStatus.RINGING
            ):
                count += 1
        if self.config.strategy == "ringall":
            return min(count, 1)
        return count

    def free_members(self, now: float) -> list[Member]:
        """Members that may be rung now: not paused, reachable, not ringing/talking (unless ringinuse),
        past their wrap-up."""
        free = []
        for m in self.members:
            d = m.device
            if m.paused or not d.reachable:
                continue
            if (d.in_call or d.ringing) and not m.ringinuse:
                continue
            if d.last_call and now < d.last_call + self.config.wrapuptime:
                continue
            free.append(m)
        return free

    def container_order(self) -> list[Member]:
        """Members as app_queue walks them: insertion order for linear, hash-bucket order otherwise."""
        if self.config.strategy == "linear":
            return list(self.members)
        return sorted(self.members, key=lambda m: member_bucket(m.interface))

    def rr_metric(self, member: Member) -> int:
        """app_queue's rrmemory metric: members from rrpos on come first, those before it after them."""
        pos = self.members.index(member)
        return member.penalty * 1_000_000 + (pos if pos >= self.rr_next else 1000 + pos)

    def rr_order(self, members: list[Member]) -> list[Member]:
        return sorted(members, key=self.rr_metric)

    def rr_after(self, rung: Member) -> int:
        """store_next_rr(): rrpos becomes the position of the best member not tried in this attempt (the
        ones ordered after the one rung), or 0 when none is left."""
        order = self.rr_order(self.members) if rung in self.members else []
        rest = order[order.index(rung) + 1 :] if rung in order else []
        return self.rr_metric(rest[0]) % 1000 if rest else 0

    def choose(self, free: list[Member], rng: random.Random) -> list[Member]:
        """The member(s) to ring for one attempt: lowest penalty tier first, then the strategy."""
        if not free:
            return []
        tier = min(m.penalty for m in free)
        cands = [m for m in free if m.penalty == tier]
        strategy = self.config.strategy
        if strategy == "ringall":
            # try_calling() prepends each call attempt, so the phones are dialled in reverse walk order
            return [m for m in reversed(self.container_order()) if m in cands]
        if strategy == "linear":
            return [cands[0]]
        if strategy == "rrmemory":
            return [self.rr_order(cands)[0]]
        if strategy == "leastrecent":
            return [min(cands, key=lambda m: m.device.last_call)]
        if strategy == "fewestcalls":
            return [min(cands, key=lambda m: m.device.calls_taken)]
        if strategy == "random":
            return [rng.choice(cands)]
        raise ValueError(f"unknown strategy {strategy}")
