"""Domain events of the telephony core: what happened to calls, queues and agents, in words a call-center
person uses. Plain frozen dataclasses; times are aware UTC datetimes, durations float seconds (AMI's mix
of milliseconds and seconds is normalised in ``acd.translate``). Nothing outside acd/ivr sees AMI.

``linkedid`` identifies the whole call (all legs); ``uniqueid`` the caller's channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.bus import register_event


class MemberStatus(StrEnum):
    """A queue member's device as app_queue reports it (QueueMemberStatus.Status)."""

    UNKNOWN = "unknown"  # 0
    NOT_IN_USE = "not_in_use"  # 1
    IN_USE = "in_use"  # 2
    BUSY = "busy"  # 3
    INVALID = "invalid"  # 4
    UNAVAILABLE = "unavailable"  # 5
    RINGING = "ringing"  # 6
    RING_IN_USE = "ring_in_use"  # 7
    ON_HOLD = "on_hold"  # 8


class CallOutcome(StrEnum):
    """How a call's stay in one queue ended (counted once per queue, as queue_log does)."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMED_OUT = "timed_out"
    LEFT_EMPTY_QUEUE = "left_empty_queue"
    REFUSED_AT_JOIN = "refused_at_join"
    TRANSFERRED = "transferred"


class EndedBy(StrEnum):
    AGENT = "agent"
    CALLER = "caller"
    TRANSFER = "transfer"


# --- calls in queues -----------------------------------------------------------------------------


@register_event
@dataclass(frozen=True)
class CallQueued:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    caller_number: str | None
    caller_name: str | None
    position: int
    count: int
    channel: str | None = (
        None  # the caller's channel (QueueCallerJoin's Channel): what Redirect/Hangup target
    )


@register_event
@dataclass(frozen=True)
class AgentRinging:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    agent: str  # MemberName
    interface: str
    agent_channel: str
    agent_uniqueid: str


@register_event
@dataclass(frozen=True)
class AgentRingNoAnswer:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    agent: str
    interface: str
    ring_seconds: float  # AMI RingTime is in ms


@register_event
@dataclass(frozen=True)
class AgentRingCanceled:
    """The agent's phone stopped ringing because the caller hung up or another agent answered."""

    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    agent: str
    interface: str
    agent_uniqueid: str


@register_event
@dataclass(frozen=True)
class CallAnswered:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    agent: str
    interface: str
    agent_uniqueid: str
    wait_seconds: float  # HoldTime
    ring_seconds: float  # this attempt's ringing


@register_event
@dataclass(frozen=True)
class CallCompleted:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    agent: str
    interface: str
    wait_seconds: float
    talk_seconds: float
    ended_by: EndedBy


@register_event
@dataclass(frozen=True)
class CallTransferred:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    agent: str
    interface: str
    target_extension: str
    target_context: str
    wait_seconds: float
    talk_seconds: float


@register_event
@dataclass(frozen=True)
class CallLeftQueue:
    """Base shape of the three ways a caller leaves a queue unanswered."""

    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    position: int  # where the caller was when leaving
    original_position: int | None  # where it joined (queue_log's origposition)
    wait_seconds: float


@register_event
@dataclass(frozen=True)
class CallAbandoned(CallLeftQueue):
    """The caller hung up while waiting (a true abandon)."""


@register_event
@dataclass(frozen=True)
class CallTimedOut(CallLeftQueue):
    """The Queue() timeout sent the caller on (QUEUESTATUS=TIMEOUT)."""


@register_event
@dataclass(frozen=True)
class CallLeftEmptyQueue(CallLeftQueue):
    """The queue had no usable members left (leavewhenempty; QUEUESTATUS=LEAVEEMPTY)."""


@register_event
@dataclass(frozen=True)
class CallRefused:
    """The queue refused the caller at the door (QUEUESTATUS=JOINEMPTY, FULL, …); no queue_log line."""

    at: datetime
    linkedid: str
    uniqueid: str
    queue: str | None
    reason: str  # joinempty / full / joinunavail


@register_event
@dataclass(frozen=True)
class CallEnded:
    """The caller's channel hung up: the whole call is over."""

    at: datetime
    linkedid: str
    uniqueid: str
    cause: int | None
    cause_text: str | None


@register_event
@dataclass(frozen=True)
class RecordingStarted:
    at: datetime
    linkedid: str
    uniqueid: str
    filename: str | None  # MIXMONITOR_FILENAME when known


@register_event
@dataclass(frozen=True)
class RecordingMuted:
    at: datetime
    linkedid: str
    uniqueid: str
    muted: bool


@register_event
@dataclass(frozen=True)
class RecordingStopped:
    at: datetime
    linkedid: str
    uniqueid: str


# --- agents ----------------------------------------------------------------------------------------


@register_event
@dataclass(frozen=True)
class AgentLoggedIn:
    at: datetime
    queue: str
    agent: str
    interface: str
    state_interface: str | None
    penalty: int
    paused: bool
    dynamic: bool


@register_event
@dataclass(frozen=True)
class AgentLoggedOut:
    at: datetime
    queue: str
    agent: str
    interface: str


@register_event
@dataclass(frozen=True)
class AgentPaused:
    at: datetime
    queue: str
    agent: str
    interface: str
    reason: str | None


@register_event
@dataclass(frozen=True)
class AgentUnpaused:
    at: datetime
    queue: str
    agent: str
    interface: str


@register_event
@dataclass(frozen=True)
class AgentStateChanged:
    """The member's device state in one queue (ringing, in use, unavailable, …)."""

    at: datetime
    queue: str
    agent: str
    interface: str
    status: MemberStatus
    in_call: bool
    paused: bool
    paused_reason: str | None
    calls_taken: int
    penalty: int


@register_event
@dataclass(frozen=True)
class AgentPenaltyChanged:
    at: datetime
    queue: str
    agent: str
    interface: str
    penalty: int


# --- the PBX link itself ---------------------------------------------------------------------------


@register_event
@dataclass(frozen=True)
class PbxConnected:
    at: datetime
    version: str | None


@register_event
@dataclass(frozen=True)
class PbxDisconnected:
    at: datetime
    reason: str


@register_event
@dataclass(frozen=True)
class PbxResynced:
    """Live state was rebuilt from QueueStatus / QueueSummary / CoreShowChannels after a (re)connect."""

    at: datetime
    queues: int
    members: int
    waiting_callers: int
    channels: int


STATUS_CODES = {
    "0": MemberStatus.UNKNOWN,
    "1": MemberStatus.NOT_IN_USE,
    "2": MemberStatus.IN_USE,
    "3": MemberStatus.BUSY,
    "4": MemberStatus.INVALID,
    "5": MemberStatus.UNAVAILABLE,
    "6": MemberStatus.RINGING,
    "7": MemberStatus.RING_IN_USE,
    "8": MemberStatus.ON_HOLD,
}
