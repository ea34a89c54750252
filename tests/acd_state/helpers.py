"""Builders for domain events with sensible defaults, and a delta consumer as a desktop would write it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acd.ami.frames import Frame, parse_capture
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentRingCanceled,
    AgentRinging,
    AgentRingNoAnswer,
    AgentStateChanged,
    AgentUnpaused,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallQueued,
    EndedBy,
    MemberStatus,
)
from acd.state import Delta

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk"
T0 = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)
IFACE = {"Alice": "PJSIP/1001", "Bob": "PJSIP/1002", "Carol": "PJSIP/1003", "Dave": "PJSIP/1004"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ts(seconds: float) -> float:
    return at(seconds).timestamp()


def iface(agent: str) -> str:
    return IFACE.get(agent, f"PJSIP/{agent}")


def queued(t: float, call: str, queue: str = "support", position: int = 1, count: int = 1) -> CallQueued:
    return CallQueued(at(t), call, call, queue, f"138{call}", f"Caller {call}", position, count)


def ringing(t: float, call: str, agent: str, queue: str = "support") -> AgentRinging:
    return AgentRinging(at(t), call, call, queue, agent, iface(agent), f"{iface(agent)}-1", f"{call}.a")


def no_answer(t: float, call: str, agent: str, queue: str = "support") -> AgentRingNoAnswer:
    return AgentRingNoAnswer(at(t), call, call, queue, agent, iface(agent), 15.0)


def canceled(t: float, call: str, agent: str, queue: str = "support") -> AgentRingCanceled:
    return AgentRingCanceled(at(t), call, call, queue, agent, iface(agent), f"{call}.a")


def answered(t: float, call: str, agent: str, queue: str = "support") -> CallAnswered:
    return CallAnswered(at(t), call, call, queue, agent, iface(agent), f"{call}.a", 2.0, 2.0)


def completed(t: float, call: str, agent: str, queue: str = "support") -> CallCompleted:
    return CallCompleted(at(t), call, call, queue, agent, iface(agent), 2.0, 10.0, EndedBy.AGENT)


def abandoned(t: float, call: str, queue: str = "support", position: int = 1) -> CallAbandoned:
    return CallAbandoned(at(t), call, call, queue, position, position, 5.0)


def ended(t: float, call: str) -> CallEnded:
    return CallEnded(at(t), call, call, 16, "Normal Clearing")


def logged_in(t: float, agent: str, queue: str, paused: bool = False) -> AgentLoggedIn:
    return AgentLoggedIn(at(t), queue, agent, iface(agent), iface(agent), 0, paused, True)


def logged_out(t: float, agent: str, queue: str) -> AgentLoggedOut:
    return AgentLoggedOut(at(t), queue, agent, iface(agent))


def paused(t: float, agent: str, queue: str, reason: str | None) -> AgentPaused:
    return AgentPaused(at(t), queue, agent, iface(agent), reason)


def unpaused(t: float, agent: str, queue: str) -> AgentUnpaused:
    return AgentUnpaused(at(t), queue, agent, iface(agent))


def device(
    t: float, agent: str, queue: str, status: MemberStatus, paused: bool = False, reason: str | None = None
) -> AgentStateChanged:
    return AgentStateChanged(at(t), queue, agent, iface(agent), status, status == MemberStatus.IN_USE,
                             paused, reason, 0, 0)  # fmt: skip


class DeltaView:
    """What a desktop holds: a snapshot, then deltas applied in order (checking there is no gap)."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.seq: int = snapshot["seq"]
        self.records: dict[str, dict[str, Any]] = {
            "call": dict(snapshot["calls"]),
            "queue": dict(snapshot["queues"]),
            "agent": dict(snapshot["agents"]),
        }
        self.pbx: dict[str, Any] = dict(snapshot["pbx"])

    def apply(self, deltas: list[Delta]) -> None:
        for delta in deltas:
            assert delta.seq == self.seq + 1, f"gap or repeat: had {self.seq}, got {delta.seq}"
            self.seq = delta.seq
            if delta.kind == "reset":
                for records in self.records.values():
                    records.clear()
            elif delta.kind == "pbx":
                assert delta.data is not None
                self.pbx = dict(delta.data)
            elif delta.data is None:
                del self.records[delta.kind][delta.key]
            else:
                self.records[delta.kind][delta.key] = delta.data

    def as_snapshot(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "calls": self.records["call"],
            "queues": self.records["queue"],
            "agents": self.records["agent"],
            "pbx": self.pbx,
        }


def capture_frames(folder: str, name: str = "ami.txt") -> list[Frame]:
    _parser, frames = parse_capture((FIXTURES / folder / name).read_bytes())
    return frames


def list_items(frames: list[Frame], action_id: str) -> dict[str, list[Frame]]:
    """The EventList items an action produced, by event name."""
    out: dict[str, list[Frame]] = {}
    for frame in frames:
        if frame.action_id == action_id and frame.event and not frame.event.endswith("Complete"):
            out.setdefault(frame.event, []).append(frame)
    return out
