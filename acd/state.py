"""Live state of the ACD: the calls in progress, the queues and the agents, as a pure in-memory projection of
the domain events (``acd.events``). Owns ``LiveState``, the ``Delta`` it emits per change and the read-time
helpers (``effective_agent_state``, ``agents_by_state``).

Shapes (everything JSON-native; times are epoch seconds, UTC, so readers compute durations at read time):

* call (key = linkedid): ``linkedid, uniqueid, caller_number, caller_name, queue, state`` (``waiting`` |
  ``ringing`` | ``talking``), ``since`` (start of the current state), ``joined`` (queue join), ``agent`` (the
  talking agent, or the agent last rung), ``ringing`` (agents ringing now), ``recording``, ``muted``,
  ``channel`` (the caller's channel, e.g. ``PJSIP/customers-00000000``) and ``agent_channel`` (the talking
  agent's leg, ``PJSIP/1002-00000001``): what call control (Redirect, Hangup, ChanSpy) targets; None when
  unknown.
  A call is in the live state while it is in a queue or with a queue agent: it goes when it is completed,
  transferred, abandoned, timed out, left an empty queue or hung up (a transfer into another queue brings
  it back with that queue's ``CallQueued``).
* queue (key = name): ``waiting`` (linkedids in queue order: position = index + 1), ``count``,
  ``longest_since`` (join time of the longest-waiting caller), ``day`` and today's counters ``offered,
  answered, abandoned, timed_out, left_empty, refused, transferred``, ``agents`` (member name → that member's
  state in this queue), ``strategy``, ``wrapuptime``.
* agent (key = member name): ``name, interface, state`` (``logged_out`` | ``available`` | ``ringing`` |
  ``on_call`` | ``wrap_up`` | ``paused`` | ``unavailable``), ``since``, ``reason`` (pause reason),
  ``wrapup_until``, ``call``, ``queues`` (queue → ``state, paused, reason, penalty, calls_taken``).
  ``paused`` means paused in every queue; paused in some only shows in ``queues``.

Wrap-up: Asterisk sends no event for it (fixtures README, agent-states/): after ``CallCompleted`` the agent is
in ``wrap_up`` until ``wrapup_until`` (= end of call + the queue's wrapuptime). No timer ends it: readers
apply ``effective_agent_state(data, now)``, and the next event about that agent settles it (``since`` then
is ``wrapup_until``).

Deltas: ``Delta(seq, kind, key, data)``, ``data`` None = removed. Kinds ``call``/``queue``/``agent``, plus
``pbx`` (the link's state, key ``link``) and ``reset`` (after a resync: drop everything; the full state
follows as ordinary deltas). ``seq`` goes up by one per delta and starts, by default, at the clock in
microseconds so that a restarted process never hands out a seq an old consumer already saw.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from acd.events import (
    STATUS_CODES,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentPenaltyChanged,
    AgentRingCanceled,
    AgentRinging,
    AgentRingNoAnswer,
    AgentStateChanged,
    AgentUnpaused,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallLeftEmptyQueue,
    CallQueued,
    CallRefused,
    CallTimedOut,
    CallTransferred,
    MemberStatus,
    PbxConnected,
    PbxDisconnected,
    PbxResynced,
    RecordingMuted,
    RecordingStarted,
    RecordingStopped,
)
from core.bus import register_event
from core.clock import utcnow

__all__ = [
    "AGENT_STATES",
    "CALL_STATES",
    "Delta",
    "DeltaKind",
    "LiveState",
    "agents_by_state",
    "effective_agent_state",
]

DeltaKind = Literal["call", "queue", "agent", "pbx", "reset"]

# Call states
WAITING = "waiting"
RINGING = "ringing"
TALKING = "talking"
CALL_STATES = (WAITING, RINGING, TALKING)

# Agent states
LOGGED_OUT = "logged_out"
AVAILABLE = "available"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
PAUSED = "paused"
UNAVAILABLE = "unavailable"
AGENT_STATES = (LOGGED_OUT, AVAILABLE, RINGING, ON_CALL, WRAP_UP, PAUSED, UNAVAILABLE)

# The member's device as app_queue reports it, folded into what matters for the agent's state.
_IDLE, _DEV_RINGING, _DEV_IN_USE, _DEV_UNAVAILABLE = 0, 1, 2, 3
_DEVICE = {
    MemberStatus.UNKNOWN: _IDLE,
    MemberStatus.NOT_IN_USE: _IDLE,
    MemberStatus.IN_USE: _DEV_IN_USE,
    MemberStatus.BUSY: _DEV_IN_USE,
    MemberStatus.ON_HOLD: _DEV_IN_USE,
    MemberStatus.RING_IN_USE: _DEV_IN_USE,  # ringing while already on a call: still on a call
    MemberStatus.RINGING: _DEV_RINGING,
    MemberStatus.INVALID: _DEV_UNAVAILABLE,
    MemberStatus.UNAVAILABLE: _DEV_UNAVAILABLE,
}

_COUNTERS = ("offered", "answered", "abandoned", "timed_out", "left_empty", "refused", "transferred")


@register_event
@dataclass(frozen=True, slots=True)
class Delta:
    """One change of the live state. ``data`` is the entity's whole new record, None when it is gone."""

    seq: int
    kind: DeltaKind
    key: str
    data: dict[str, Any] | None


# --------------------------------------------------------------------------- read-time helpers


def effective_agent_state(agent: Mapping[str, Any], now: float) -> tuple[str, float | None]:
    """An agent record's state and its start at ``now`` (epoch s): a finished wrap-up reads as available."""
    state: str = agent["state"]
    until = agent.get("wrapup_until")
    if state == WRAP_UP and until is not None and now >= until:
        return AVAILABLE, until
    return state, agent.get("since")


def agents_by_state(
    queue: Mapping[str, Any], agents: Mapping[str, Mapping[str, Any]], now: float
) -> dict[str, int]:
    """How many of a queue's members are in each state at ``now`` (wrap-ups resolved from the agents)."""
    out = dict.fromkeys(AGENT_STATES[1:], 0)
    for name, state in queue["agents"].items():
        if state == WRAP_UP:
            agent = agents.get(name)
            if agent is not None and (agent.get("wrapup_until") or 0) <= now:
                state = AVAILABLE
        out[state] = out.get(state, 0) + 1
    return out


# --------------------------------------------------------------------------- internal records


class _Call:
    __slots__ = (
        "agent",
        "agent_channel",
        "caller_name",
        "caller_number",
        "channel",
        "joined",
        "linkedid",
        "muted",
        "queue",
        "recording",
        "ring_channels",
        "ringing",
        "since",
        "state",
        "uniqueid",
    )

    def __init__(self, linkedid: str, uniqueid: str, queue: str | None, ts: float) -> None:
        self.linkedid = linkedid
        self.uniqueid = uniqueid
        self.caller_number: str | None = None
        self.caller_name: str | None = None
        self.queue = queue
        self.state = WAITING
        self.since = ts
        self.joined = ts
        self.agent: str | None = None
        self.ringing: list[str] = []
        self.recording = False
        self.muted = False
        self.channel: str | None = None
        self.agent_channel: str | None = None
        # The leg each ringing agent is rung on: the one that answers becomes agent_channel.
        self.ring_channels: dict[str, str] = {}

    def data(self) -> dict[str, Any]:
        return {
            "linkedid": self.linkedid,
            "uniqueid": self.uniqueid,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "queue": self.queue,
            "state": self.state,
            "since": self.since,
            "joined": self.joined,
            "agent": self.agent,
            "ringing": list(self.ringing),
            "recording": self.recording,
            "muted": self.muted,
            "channel": self.channel,
            "agent_channel": self.agent_channel,
        }


class _Queue:
    __slots__ = (
        "abandoned",
        "agents",
        "answered",
        "day",
        "joined",
        "left_empty",
        "name",
        "offered",
        "refused",
        "strategy",
        "timed_out",
        "transferred",
        "waiting",
        "wrapuptime",
    )

    def __init__(self, name: str, day: str | None, wrapuptime: float) -> None:
        self.name = name
        self.waiting: list[str] = []
        self.joined: dict[str, float] = {}  # linkedid → join time, for the longest wait
        self.agents: dict[str, str] = {}
        self.strategy: str | None = None
        self.wrapuptime = wrapuptime
        self.day = day
        self.offered = self.answered = self.abandoned = self.timed_out = 0
        self.left_empty = self.refused = self.transferred = 0

    def data(self) -> dict[str, Any]:
        joined = self.joined
        return {
            "name": self.name,
            "waiting": list(self.waiting),
            "count": len(self.waiting),
            "longest_since": min(joined.values()) if joined else None,
            "day": self.day,
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "timed_out": self.timed_out,
            "left_empty": self.left_empty,
            "refused": self.refused,
            "transferred": self.transferred,
            "agents": dict(self.agents),
            "strategy": self.strategy,
            "wrapuptime": self.wrapuptime,
        }

    def insert(self, linkedid: str, position: int, joined: float) -> None:
        if linkedid in self.joined:
            self.waiting.remove(linkedid)
        # Asterisk's position already reflects priority insertion; clamp in case we missed a caller.
        index = min(max(position - 1, 0), len(self.waiting))
        self.waiting.insert(index, linkedid)
        self.joined[linkedid] = joined

    def discard(self, linkedid: str) -> bool:
        if self.joined.pop(linkedid, None) is None:
            return False
        self.waiting.remove(linkedid)
        return True


class _Member:
    """One agent's membership of one queue."""

    __slots__ = ("calls_taken", "dynamic", "paused", "paused_at", "penalty", "queue", "reason", "state")

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.paused = False
        self.reason: str | None = None
        self.paused_at = 0.0
        self.penalty = 0
        self.calls_taken = 0
        self.dynamic = False
        self.state = ""

    def data(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "paused": self.paused,
            "reason": self.reason,
            "penalty": self.penalty,
            "calls_taken": self.calls_taken,
        }


class _Agent:
    __slots__ = (
        "calls",
        "device",
        "interface",
        "members",
        "name",
        "reason",
        "ringing_call",
        "since",
        "state",
        "wrapup_start",
        "wrapup_until",
    )

    def __init__(self, name: str, interface: str | None, ts: float) -> None:
        self.name = name
        self.interface = interface
        self.members: dict[str, _Member] = {}
        self.device = _IDLE
        self.calls: list[str] = []  # the calls the agent is talking on (one, unless ringinuse)
        self.ringing_call: str | None = None
        self.wrapup_start: float | None = None
        self.wrapup_until: float | None = None
        self.state = LOGGED_OUT
        self.since = ts
        self.reason: str | None = None

    def data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "interface": self.interface,
            "state": self.state,
            "since": self.since,
            "reason": self.reason,
            "wrapup_until": self.wrapup_until if self.state == WRAP_UP else None,
            "call": self.calls[-1] if self.calls else self.ringing_call,
            "queues": {q: m.data() for q, m in self.members.items()},
        }


# --------------------------------------------------------------------------- the projection


def _epoch(at: datetime) -> float:
    return at.timestamp()


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _hms(value: str | None) -> int:
    """CoreShowChannel's Duration ``HH:MM:SS`` in seconds."""
    if not value:
        return 0
    total = 0
    for part in value.split(":"):
        total = total * 60 + _int(part)
    return total


def _interface_of(channel: str) -> str:
    """``PJSIP/1002-00000001`` → ``PJSIP/1002`` (the device a channel belongs to)."""
    head, sep, _tail = channel.rpartition("-")
    return head if sep else channel


class LiveState:
    """The live ACD state. ``apply`` is on the hot path: it touches only the records an event names and emits
    the new record of each entity that changed (a small dict built once, never mutated afterwards)."""

    def __init__(
        self,
        wrapuptime: Mapping[str, float] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        day_zone: tzinfo = UTC,
        first_seq: int | None = None,
    ) -> None:
        self.wrapuptime: dict[str, float] = dict(wrapuptime or {})
        self.clock = clock
        self.day_zone = day_zone
        self.seq = (time.time_ns() // 1000 if first_seq is None else first_seq) - 1
        self.calls: dict[str, _Call] = {}
        self.queues: dict[str, _Queue] = {}
        self.agents: dict[str, _Agent] = {}
        self.pbx: dict[str, Any] = {"connected": False, "since": None, "version": None, "resynced": None}
        # Last published record per entity: the snapshot, and what a new record is compared with.
        self._published: dict[str, dict[str, dict[str, Any]]] = {"call": {}, "queue": {}, "agent": {}}
        self._day: str | None = None
        self._day_start = 0.0
        self._day_end = 0.0
        self._dirty: dict[tuple[str, str], None] = {}
        self._touched: dict[str, _Agent] = {}
        self._handlers: dict[type, Callable[[Any, float], None]] = {
            CallQueued: self._call_queued,
            AgentRinging: self._agent_ringing,
            AgentRingNoAnswer: self._ring_ended,
            AgentRingCanceled: self._ring_ended,
            CallAnswered: self._call_answered,
            CallCompleted: self._call_completed,
            CallTransferred: self._call_transferred,
            CallAbandoned: self._call_left,
            CallTimedOut: self._call_left,
            CallLeftEmptyQueue: self._call_left,
            CallRefused: self._call_refused,
            CallEnded: self._call_ended,
            RecordingStarted: self._recording,
            RecordingMuted: self._recording,
            RecordingStopped: self._recording,
            AgentLoggedIn: self._logged_in,
            AgentLoggedOut: self._logged_out,
            AgentPaused: self._paused,
            AgentUnpaused: self._paused,
            AgentStateChanged: self._state_changed,
            AgentPenaltyChanged: self._penalty_changed,
            PbxConnected: self._pbx,
            PbxDisconnected: self._pbx,
            PbxResynced: self._pbx,
        }

    # -- public API

    def apply(self, event: object) -> list[Delta]:
        """Project one domain event; the deltas it caused, in seq order (none if nothing changed)."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return []
        ts = _epoch(event.at)  # type: ignore[attr-defined]
        handler(event, ts)
        return self._flush(ts)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able dicts, with the seq of the last delta it includes (a copy)."""
        pub = self._published
        return copy.deepcopy(
            {
                "seq": self.seq,
                "calls": pub["call"],
                "queues": pub["queue"],
                "agents": pub["agent"],
                "pbx": self.pbx,
            }
        )

    def load_resync(
        self,
        queues: Iterable[Mapping[str, str]],
        members: Iterable[Mapping[str, str]],
        entries: Iterable[Mapping[str, str]],
        channels: Iterable[Mapping[str, str]],
        *,
        at: datetime | None = None,
    ) -> list[Delta]:
        """Replace the state with the PBX's own view: QueueParams, QueueMember, QueueEntry and CoreShowChannel
        item headers. Emits a ``reset`` delta then one delta per entity. Today's counters are kept (they
        count events, which a resync does not replay)."""
        ts = _epoch(at or self.clock())
        self._roll_day(ts)
        old_queues = self.queues
        self.calls, self.queues, self.agents = {}, {}, {}
        for kind in self._published.values():
            kind.clear()
        self._dirty.clear()
        self._touched.clear()
        out = [self._delta("reset", "", None)]

        for params in queues:
            if params.get("Queue"):
                self._queue(params["Queue"], ts).strategy = params.get("Strategy") or None
        for name, old in old_queues.items():
            if old.day == self._day and name in self.queues:
                q = self.queues[name]
                for counter in _COUNTERS:
                    setattr(q, counter, getattr(old, counter))

        by_interface: dict[str, _Agent] = {}
        # When each agent's current state began, as far as the lists tell (else: the resync time).
        since: dict[str, dict[str, float]] = {}
        for item in members:
            queue, name = item.get("Queue", ""), item.get("Name") or item.get("MemberName") or ""
            interface = item.get("Location") or item.get("Interface")
            if not queue or not name:
                continue
            agent = self._agent(name, interface, ts)
            m = self._member(agent, queue, ts)
            m.penalty = _int(item.get("Penalty"))
            m.calls_taken = _int(item.get("CallsTaken"))
            m.dynamic = item.get("Membership") == "dynamic"
            m.paused = item.get("Paused") == "1"
            m.reason = (item.get("PausedReason") or None) if m.paused else None
            m.paused_at = float(_int(item.get("LastPause"))) if m.paused else 0.0
            agent.device = _DEVICE[STATUS_CODES.get(item.get("Status", "0"), MemberStatus.UNKNOWN)]
            last_call = _int(item.get("LastCall"))
            wrap = self._wrapuptime(queue)
            if last_call and wrap and last_call + wrap > ts:
                agent.wrapup_start, agent.wrapup_until = float(last_call), float(last_call + wrap)
            hints = since.setdefault(name, {})
            login = float(max(_int(item.get("LoginTime")), last_call + wrap if last_call else 0))
            hints[AVAILABLE] = max(hints.get(AVAILABLE, 0.0), login)
            hints[PAUSED] = max(hints.get(PAUSED, 0.0), m.paused_at)
            for iface in (interface, item.get("StateInterface")):
                if iface:
                    by_interface[iface] = agent

        # CoreShowChannel: the legs of each call; the caller's channel is the one whose uniqueid is the
        # linkedid, an agent's leg runs AppQueue.
        legs: dict[str, list[Mapping[str, str]]] = {}
        linkedid_of: dict[str, str] = {}
        for ch in channels:
            linkedid = ch.get("Linkedid") or ch.get("Uniqueid", "")
            legs.setdefault(linkedid, []).append(ch)
            linkedid_of[ch.get("Uniqueid", "")] = linkedid

        waiting: set[str] = set()
        for entry in sorted(entries, key=lambda e: (e.get("Queue", ""), _int(e.get("Position")))):
            uniqueid = entry.get("Uniqueid", "")
            if not uniqueid or not entry.get("Queue"):
                continue
            linkedid = linkedid_of.get(uniqueid, uniqueid)
            joined = ts - _int(entry.get("Wait"))
            q = self._queue(entry.get("Queue", ""), ts)
            call = _Call(linkedid, uniqueid, q.name, joined)
            call.caller_number = entry.get("CallerIDNum") or None
            call.caller_name = entry.get("CallerIDName") or None
            call.channel = entry.get("Channel") or None
            self.calls[linkedid] = call
            q.insert(linkedid, _int(entry.get("Position"), len(q.waiting) + 1), joined)
            waiting.add(linkedid)
            self._dirty[("call", linkedid)] = None

        for linkedid, chans in legs.items():
            caller = next((c for c in chans if c.get("Uniqueid") == linkedid), None)
            agent_legs = [c for c in chans if c.get("Application") == "AppQueue"]
            found = self.calls.get(linkedid)
            if found is None:
                if (
                    caller is None
                    or caller.get("Application") != "Queue"
                    or not any(leg.get("BridgeId") for leg in agent_legs)
                ):
                    # Not (or no longer) an ACD call (IVR, outbound, transferred away), or a caller the
                    # queue lists did not show: only a queue call being talked is taken from channels.
                    continue
                qname = (caller.get("ApplicationData") or "").split(",")[0] or None
                call = _Call(linkedid, linkedid, qname, ts - _hms(caller.get("Duration")))
                call.caller_number = caller.get("CallerIDNum") or None
                call.caller_name = caller.get("CallerIDName") or None
                self.calls[linkedid] = call
                self._dirty[("call", linkedid)] = None
            else:
                call = found
            if caller is not None and not call.channel:
                call.channel = caller.get("Channel") or None
            for leg in agent_legs:
                leg_agent = by_interface.get(_interface_of(leg.get("Channel", "")))
                if leg_agent is None:
                    continue
                agent = leg_agent
                leg_since = ts - _hms(leg.get("Duration"))
                if leg.get("BridgeId") and linkedid not in waiting:
                    call.state, call.agent, call.since = TALKING, agent.name, leg_since
                    call.agent_channel = leg.get("Channel") or None
                    since.setdefault(agent.name, {})[ON_CALL] = leg_since
                    call.ringing.clear()
                    agent.calls.append(linkedid)
                    agent.wrapup_start = agent.wrapup_until = None
                elif linkedid in waiting:
                    call.state, call.since = RINGING, leg_since
                    since.setdefault(agent.name, {})[RINGING] = leg_since
                    call.ringing.append(agent.name)
                    call.agent = agent.name
                    if leg.get("Channel"):
                        call.ring_channels[agent.name] = leg["Channel"]
                    agent.ringing_call = linkedid

        for agent in self.agents.values():
            self._settle_resynced(agent, ts)
            self._derive(agent, ts)
            if agent.state == WRAP_UP and agent.wrapup_start is not None:
                agent.since = agent.wrapup_start
            else:
                hint = since.get(agent.name, {}).get(agent.state)
                if hint and hint <= ts:
                    agent.since = hint
        self.pbx["resynced"] = ts
        self._dirty[("pbx", "link")] = None
        out.extend(self._flush(ts))
        return out

    load_snapshot = load_resync  # the name in the shared API notes

    def agent_state(self, name: str, now: datetime | None = None) -> tuple[str, float | None]:
        """An agent's state and its start at ``now`` (wrap-up resolved)."""
        data = self._published["agent"].get(name)
        if data is None:
            return LOGGED_OUT, None
        return effective_agent_state(data, _epoch(now or self.clock()))

    # -- plumbing

    def _delta(self, kind: DeltaKind, key: str, data: dict[str, Any] | None) -> Delta:
        self.seq += 1
        return Delta(self.seq, kind, key, data)

    def _flush(self, ts: float) -> list[Delta]:
        touched = self._touched
        if touched:
            for agent in touched.values():
                self._derive(agent, ts)
            touched.clear()
        dirty = self._dirty
        if not dirty:
            return []
        out: list[Delta] = []
        published = self._published
        for kind, key in dirty:
            if kind == "pbx":
                out.append(self._delta("pbx", key, dict(self.pbx)))
                continue
            pub = published[kind]
            if kind == "call":
                call = self.calls.get(key)
                data = call.data() if call is not None else None
            elif kind == "agent":
                a = self.agents.get(key)
                data = a.data() if a is not None else None
            else:
                q = self.queues.get(key)
                data = q.data() if q is not None else None
            old = pub.get(key)
            if data == old:
                continue
            if data is None:
                del pub[key]
            else:
                pub[key] = data
            out.append(self._delta(kind, key, data))  # type: ignore[arg-type]
        dirty.clear()
        return out

    def _roll_day(self, ts: float) -> None:
        if self._day_start <= ts < self._day_end:
            return
        local = datetime.fromtimestamp(ts, self.day_zone)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self._day = start.date().isoformat()
        self._day_start = start.timestamp()
        # Next local midnight (a DST day is 23 or 25 hours long).
        nxt = (start + timedelta(days=1, hours=2)).replace(hour=0)
        self._day_end = nxt.timestamp()

    def _wrapuptime(self, queue: str) -> float:
        return self.wrapuptime.get(queue, 0.0)

    def _queue(self, name: str, ts: float) -> _Queue:
        if not (self._day_start <= ts < self._day_end):
            self._roll_day(ts)
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = _Queue(name, self._day, self._wrapuptime(name))
            self._dirty[("queue", name)] = None
        elif q.day != self._day:
            q.day = self._day
            for counter in _COUNTERS:
                setattr(q, counter, 0)
            self._dirty[("queue", name)] = None
        return q

    def _agent(self, name: str, interface: str | None, ts: float) -> _Agent:
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = _Agent(name, interface, ts)
        elif interface and agent.interface != interface:
            agent.interface = interface
        self._touched[name] = agent
        self._dirty[("agent", name)] = None
        return agent

    def _member(self, agent: _Agent, queue: str, ts: float) -> _Member:
        m = agent.members.get(queue)
        if m is None:
            # Static members produce no login event: the first event naming them in a queue adds them.
            m = agent.members[queue] = _Member(queue)
            self._queue(queue, ts)
        return m

    def _derive(self, agent: _Agent, ts: float) -> None:
        """Recompute an agent's state (and per-queue states) from its facts, at event time ``ts``."""
        members = agent.members
        if not members:
            # Removed from its queues mid-call: still on that call until it ends.
            new, reason = (ON_CALL if agent.calls else LOGGED_OUT), None
        else:
            device = agent.device
            if device == _DEV_UNAVAILABLE:
                base: str | None = UNAVAILABLE
            elif agent.calls or device == _DEV_IN_USE:
                base = ON_CALL
            elif agent.ringing_call is not None or device == _DEV_RINGING:
                base = RINGING
            else:
                base = None
            until = agent.wrapup_until
            wrapping = until is not None and ts < until
            idle = WRAP_UP if wrapping else AVAILABLE
            all_paused = True
            reason = None
            last_pause = -1.0
            queues = self.queues
            dirty = self._dirty
            for m in members.values():
                if m.paused:
                    if m.paused_at > last_pause:
                        last_pause, reason = m.paused_at, m.reason
                    state = base or PAUSED
                else:
                    all_paused = False
                    state = base or idle
                if state != m.state:
                    m.state = state
                    q = queues.get(m.queue)
                    if q is not None:
                        q.agents[agent.name] = state
                        dirty[("queue", m.queue)] = None
            if base is not None:
                new = base
            elif all_paused:
                new = PAUSED
            else:
                new = idle
            if new != PAUSED:
                reason = None
        if new != agent.state:
            since = ts
            if new == WRAP_UP and agent.state == ON_CALL and agent.wrapup_start is not None:
                since = agent.wrapup_start  # the device reports idle a moment after the call's end
            elif agent.state == WRAP_UP and agent.wrapup_until is not None and agent.wrapup_until <= ts:
                since = agent.wrapup_until  # the wrap-up ended by itself, before this event
            agent.state, agent.since = new, since
        agent.reason = reason
        if agent.wrapup_until is not None and ts >= agent.wrapup_until and new != WRAP_UP:
            agent.wrapup_start = agent.wrapup_until = None

    def _settle_resynced(self, agent: _Agent, ts: float) -> None:
        self._touched[agent.name] = agent
        self._dirty[("agent", agent.name)] = None
        for m in agent.members.values():
            self._dirty[("queue", m.queue)] = None

    def _drop_ringing(self, call: _Call, keep: str | None = None) -> None:
        for name in call.ringing:
            if name == keep:
                continue
            rung = self.agents.get(name)
            if rung is not None and rung.ringing_call == call.linkedid:
                rung.ringing_call = None
                self._touched[name] = rung
                self._dirty[("agent", name)] = None
        call.ringing.clear()

    def _remove_call(self, linkedid: str, ts: float) -> _Call | None:
        call = self.calls.pop(linkedid, None)
        if call is None:
            return None
        self._dirty[("call", linkedid)] = None
        if call.queue is not None:
            q = self.queues.get(call.queue)
            if q is not None and q.discard(linkedid):
                self._dirty[("queue", q.name)] = None
        self._drop_ringing(call)
        if call.agent is not None and call.state == TALKING:
            agent = self.agents.get(call.agent)
            if agent is not None and linkedid in agent.calls:
                agent.calls.remove(linkedid)
                self._touched[agent.name] = agent
                self._dirty[("agent", agent.name)] = None
        return call

    # -- call events

    def _call_queued(self, ev: CallQueued, ts: float) -> None:
        call = self.calls.get(ev.linkedid)
        if call is not None and (call.queue != ev.queue or call.state == TALKING):
            self._remove_call(ev.linkedid, ts)  # back in a queue (transfer): a new stay begins
            call = None
        if call is None:
            call = self.calls[ev.linkedid] = _Call(ev.linkedid, ev.uniqueid, ev.queue, ts)
        call.caller_number = ev.caller_number
        call.caller_name = ev.caller_name
        if ev.channel:
            call.channel = ev.channel
        q = self._queue(ev.queue, ts)
        q.insert(ev.linkedid, ev.position, call.joined)
        q.offered += 1
        self._dirty[("call", ev.linkedid)] = None
        self._dirty[("queue", ev.queue)] = None

    def _agent_ringing(self, ev: AgentRinging, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        self._member(agent, ev.queue, ts)
        agent.ringing_call = ev.linkedid
        call = self.calls.get(ev.linkedid)
        if call is not None and call.state != TALKING:
            if ev.agent not in call.ringing:
                call.ringing.append(ev.agent)
            call.ring_channels[ev.agent] = ev.agent_channel
            call.agent = ev.agent
            if call.state != RINGING:
                call.state, call.since = RINGING, ts
            self._dirty[("call", ev.linkedid)] = None

    def _ring_ended(self, ev: AgentRingNoAnswer | AgentRingCanceled, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        if agent.ringing_call == ev.linkedid:
            agent.ringing_call = None
        call = self.calls.get(ev.linkedid)
        if call is not None and ev.agent in call.ringing:
            call.ringing.remove(ev.agent)
            call.ring_channels.pop(ev.agent, None)
            if not call.ringing and call.state == RINGING:
                call.state, call.since = WAITING, ts
            self._dirty[("call", ev.linkedid)] = None

    def _call_answered(self, ev: CallAnswered, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        self._member(agent, ev.queue, ts)
        call = self.calls.get(ev.linkedid)
        if call is None:
            call = self.calls[ev.linkedid] = _Call(ev.linkedid, ev.uniqueid, ev.queue, ts - ev.wait_seconds)
        self._drop_ringing(call, keep=ev.agent)
        if call.queue is not None and call.queue != ev.queue:
            old = self.queues.get(call.queue)
            if old is not None and old.discard(ev.linkedid):
                self._dirty[("queue", old.name)] = None
        call.queue = ev.queue
        call.state, call.since, call.agent = TALKING, ts, ev.agent
        call.agent_channel = call.ring_channels.get(ev.agent)
        call.ring_channels.clear()
        if ev.linkedid not in agent.calls:
            agent.calls.append(ev.linkedid)
        agent.ringing_call = None
        agent.wrapup_start = agent.wrapup_until = None
        q = self._queue(ev.queue, ts)
        q.discard(ev.linkedid)
        q.answered += 1
        self._dirty[("call", ev.linkedid)] = None
        self._dirty[("queue", ev.queue)] = None

    def _start_wrapup(self, agent: _Agent, queue: str, ts: float) -> None:
        wrap = self._wrapuptime(queue)
        if wrap > 0:
            agent.wrapup_start, agent.wrapup_until = ts, ts + wrap

    def _call_completed(self, ev: CallCompleted, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        self._remove_call(ev.linkedid, ts)
        if ev.linkedid in agent.calls:
            agent.calls.remove(ev.linkedid)
        m = agent.members.get(ev.queue)
        if m is not None:
            m.calls_taken += 1
        self._start_wrapup(agent, ev.queue, ts)

    def _call_transferred(self, ev: CallTransferred, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        self._remove_call(ev.linkedid, ts)
        if ev.linkedid in agent.calls:
            agent.calls.remove(ev.linkedid)
        self._queue(ev.queue, ts).transferred += 1
        self._dirty[("queue", ev.queue)] = None
        self._start_wrapup(agent, ev.queue, ts)

    def _call_left(self, ev: CallAbandoned | CallTimedOut | CallLeftEmptyQueue, ts: float) -> None:
        q = self._queue(ev.queue, ts)
        if isinstance(ev, CallAbandoned):
            q.abandoned += 1
        elif isinstance(ev, CallTimedOut):
            q.timed_out += 1
        else:
            q.left_empty += 1
        self._dirty[("queue", ev.queue)] = None
        self._remove_call(ev.linkedid, ts)

    def _call_refused(self, ev: CallRefused, ts: float) -> None:
        if ev.queue:
            self._queue(ev.queue, ts).refused += 1
            self._dirty[("queue", ev.queue)] = None
        self._remove_call(ev.linkedid, ts)

    def _call_ended(self, ev: CallEnded, ts: float) -> None:
        self._remove_call(ev.linkedid, ts)

    def _recording(self, ev: RecordingStarted | RecordingMuted | RecordingStopped, ts: float) -> None:
        call = self.calls.get(ev.linkedid)
        if call is None:
            return
        if isinstance(ev, RecordingStarted):
            call.recording, call.muted = True, False
        elif isinstance(ev, RecordingStopped):
            call.recording, call.muted = False, False
        else:
            call.muted = ev.muted
        self._dirty[("call", ev.linkedid)] = None

    # -- agent events

    def _logged_in(self, ev: AgentLoggedIn, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        m = self._member(agent, ev.queue, ts)
        m.penalty, m.dynamic = ev.penalty, ev.dynamic
        if ev.paused and not m.paused:
            m.paused_at = ts
        m.paused = ev.paused

    def _logged_out(self, ev: AgentLoggedOut, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        if agent.members.pop(ev.queue, None) is not None:
            q = self.queues.get(ev.queue)
            if q is not None and q.agents.pop(ev.agent, None) is not None:
                self._dirty[("queue", ev.queue)] = None

    def _paused(self, ev: AgentPaused | AgentUnpaused, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        m = self._member(agent, ev.queue, ts)
        if isinstance(ev, AgentPaused):
            m.paused, m.reason, m.paused_at = True, ev.reason or None, ts
        else:
            m.paused, m.reason = False, None

    def _state_changed(self, ev: AgentStateChanged, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        m = self._member(agent, ev.queue, ts)
        agent.device = _DEVICE[ev.status]
        if ev.paused != m.paused:
            m.paused = ev.paused
            if ev.paused:
                m.paused_at = ts
        m.reason = (ev.paused_reason or None) if ev.paused else None
        m.calls_taken, m.penalty = ev.calls_taken, ev.penalty

    def _penalty_changed(self, ev: AgentPenaltyChanged, ts: float) -> None:
        agent = self._agent(ev.agent, ev.interface, ts)
        self._member(agent, ev.queue, ts).penalty = ev.penalty

    # -- the link

    def _pbx(self, ev: PbxConnected | PbxDisconnected | PbxResynced, ts: float) -> None:
        pbx = self.pbx
        if isinstance(ev, PbxConnected):
            pbx["connected"], pbx["since"], pbx["version"] = True, ts, ev.version
        elif isinstance(ev, PbxDisconnected):
            pbx["connected"], pbx["since"] = False, ts
        else:
            pbx["resynced"] = ts
        self._dirty[("pbx", "link")] = None
