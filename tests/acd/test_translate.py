"""The AMI → domain-event translator replayed over every real capture, checked against what Asterisk
itself wrote next to it (``queue_log``) and the per-call truth (``dialog.txt``); plus held abandons,
timestamps and garbage tolerance on hand-made frames."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd.ami.frames import Frame, parse_capture
from acd.events import (
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
    CallLeftQueue,
    CallQueued,
    CallRefused,
    CallTimedOut,
    CallTransferred,
    EndedBy,
    MemberStatus,
    RecordingMuted,
    RecordingStarted,
    RecordingStopped,
)
from acd.translate import Translator, translate_frames
from tests.acd import ASTERISK_FIXTURES

if not ASTERISK_FIXTURES.is_dir() and os.environ.get("CI") != "true":
    pytest.skip(f"Asterisk fixtures not found at {ASTERISK_FIXTURES}", allow_module_level=True)

FOLDERS = [
    "answered",
    "abandoned",
    "actions",
    "ivr",
    "transfer",
    "priority",
    "penalty",
    "ringall",
    "agent-states",
]
FIXED = datetime(2030, 1, 1, tzinfo=UTC)
E = TypeVar("E")


def fixed_clock() -> datetime:
    return FIXED


@cache
def frames_of(folder: str, name: str = "ami.txt") -> tuple[Frame, ...]:
    parser, frames = parse_capture((ASTERISK_FIXTURES / folder / name).read_bytes())
    assert parser.stats.malformed_frames == 0
    return tuple(frames)


@dataclass
class Replay:
    events: list[object]
    translator: Translator

    def of(self, cls: type[E]) -> list[E]:
        return [e for e in self.events if type(e) is cls]


@cache
def replay(folder: str, name: str = "ami.txt") -> Replay:
    translator = Translator(clock=fixed_clock)
    events: list[object] = []
    for frame in frames_of(folder, name):
        events.extend(translator.feed(frame))
    events.extend(translator.flush())
    return Replay(events, translator)


@dataclass(frozen=True)
class QueueLogLine:
    epoch: int
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]


def queue_log(folder: str) -> list[QueueLogLine]:
    lines = []
    for raw in (ASTERISK_FIXTURES / folder / "queue_log").read_text().splitlines():
        epoch, callid, queue, agent, verb, *data = raw.split("|")
        lines.append(QueueLogLine(int(epoch), callid, queue, agent, verb, tuple(data)))
    return lines


def verbs(folder: str, *names: str) -> list[QueueLogLine]:
    return [line for line in queue_log(folder) if line.verb in names]


@dataclass
class DialogCall:
    linkedid: str
    answered: list[tuple[str, str, int, int]]  # interface, name, HoldTime, RingTime
    outcome: list[str]


def dialog(folder: str) -> list[DialogCall]:
    calls: list[DialogCall] = []
    for line in (ASTERISK_FIXTURES / folder / "dialog.txt").read_text().splitlines():
        if m := re.match(r"call \d+: linkedid (\S+) ", line):
            calls.append(DialogCall(m.group(1), [], []))
        elif m := re.search(r"ANSWERED by (\S+) \((\w+)\) HoldTime=(\d+) RingTime=(\d+)", line):
            calls[-1].answered.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4))))
        elif line.strip().startswith("outcome:"):
            calls[-1].outcome = line.strip().removeprefix("outcome: ").split("; ")
    return calls


def near(event: Any, line: QueueLogLine) -> bool:
    """queue_log stamps whole seconds from its own clock read: within a second of the AMI Timestamp."""
    return abs(event.at.timestamp() - line.epoch) <= 1.0


# --- every capture ---------------------------------------------------------------------------------


CAPTURES = [(f, "ami.txt") for f in FOLDERS] + [
    ("actions", "bad-login.txt"),
    ("actions", "limited-user.txt"),
    ("restart", "ami-before.txt"),
    ("restart", "ami-after.txt"),
]


@pytest.mark.parametrize(("folder", "name"), CAPTURES)
def test_every_capture_translates_cleanly(folder: str, name: str) -> None:
    result = replay(folder, name)
    stats = result.translator.stats
    assert stats.frames == len(frames_of(folder, name))
    assert stats.events == len(result.events)
    assert (stats.skipped, stats.bad_values) == (0, 0)
    assert result.translator.held == 0
    for event in result.events:
        assert is_dataclass(event)
        at: datetime = vars(event)["at"]
        assert at.tzinfo is UTC
        # Every event of these captures comes from a Timestamped frame: never the injected clock.
        assert datetime(2026, 11, 23, tzinfo=UTC) <= at < datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize("folder", FOLDERS)
def test_queue_calls_agree_with_queue_log(folder: str) -> None:
    result = replay(folder)

    enter = verbs(folder, "ENTERQUEUE")
    queued = result.of(CallQueued)
    assert [(e.uniqueid, e.queue, e.caller_number, e.position) for e in queued] == [
        (q.callid, q.queue, q.data[1], int(q.data[2])) for q in enter
    ]
    assert all(near(e, q) for e, q in zip(queued, enter, strict=True))
    assert all(e.linkedid == e.uniqueid for e in queued)  # the caller's channel carries the Linkedid

    connect = verbs(folder, "CONNECT")
    answered = result.of(CallAnswered)
    assert [
        (e.uniqueid, e.queue, e.agent, e.wait_seconds, e.agent_uniqueid, e.ring_seconds) for e in answered
    ] == [(q.callid, q.queue, q.agent, float(q.data[0]), q.data[1], float(q.data[2])) for q in connect]
    assert all(near(e, q) for e, q in zip(answered, connect, strict=True))

    ended = verbs(folder, "COMPLETEAGENT", "COMPLETECALLER", "BLINDTRANSFER")
    finished = [e for e in result.events if isinstance(e, CallCompleted | CallTransferred)]
    expected: list[tuple[object, ...]] = []
    for q in ended:
        if q.verb == "BLINDTRANSFER":
            expected.append((q.callid, q.queue, q.agent, "transfer", q.data[0], q.data[1], *q.data[2:4]))
        else:
            by = "agent" if q.verb == "COMPLETEAGENT" else "caller"
            expected.append((q.callid, q.queue, q.agent, by, "", "", *q.data[0:2]))
    got: list[tuple[object, ...]] = []
    for e in finished:
        if isinstance(e, CallTransferred):
            got.append((e.uniqueid, e.queue, e.agent, "transfer", e.target_extension, e.target_context))
        else:
            got.append((e.uniqueid, e.queue, e.agent, e.ended_by.value, "", ""))
        got[-1] += (str(int(e.wait_seconds)), str(int(e.talk_seconds)))
    assert got == expected

    rna = verbs(folder, "RINGNOANSWER")
    assert [(e.uniqueid, e.queue, e.agent, e.ring_seconds * 1000) for e in result.of(AgentRingNoAnswer)] == [
        (q.callid, q.queue, q.agent, float(q.data[0])) for q in rna
    ]

    left = verbs(folder, "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY")
    kinds: dict[type, str] = {
        CallAbandoned: "ABANDON",
        CallTimedOut: "EXITWITHTIMEOUT",
        CallLeftEmptyQueue: "EXITEMPTY",
    }
    gone = [e for e in result.events if isinstance(e, CallLeftQueue)]
    assert sorted(
        (kinds[type(e)], e.uniqueid, e.queue, e.position, e.original_position, e.wait_seconds) for e in gone
    ) == sorted((q.verb, q.callid, q.queue, int(q.data[0]), int(q.data[1]), float(q.data[2])) for q in left)


@pytest.mark.parametrize("folder", FOLDERS)
def test_members_agree_with_queue_log(folder: str) -> None:
    result = replay(folder)
    assert [(e.queue, e.agent, e.reason) for e in result.of(AgentPaused)] == [
        (q.queue, q.agent, q.data[0]) for q in verbs(folder, "PAUSE")
    ]
    assert [(e.queue, e.agent) for e in result.of(AgentUnpaused)] == [
        (q.queue, q.agent) for q in verbs(folder, "UNPAUSE")
    ]
    assert [(e.queue, e.interface) for e in result.of(AgentLoggedIn)] == [
        (q.queue, q.agent) for q in verbs(folder, "ADDMEMBER")
    ]
    assert [(e.queue, e.interface) for e in result.of(AgentLoggedOut)] == [
        (q.queue, q.agent) for q in verbs(folder, "REMOVEMEMBER")
    ]
    assert [(e.queue, e.interface, e.penalty) for e in result.of(AgentPenaltyChanged)] == [
        (q.queue, q.agent, int(q.data[0])) for q in verbs(folder, "PENALTY")
    ]


@pytest.mark.parametrize("folder", FOLDERS)
def test_answers_and_rna_per_call_match_dialog(folder: str) -> None:
    result = replay(folder)
    for call in dialog(folder):
        answered = [e for e in result.of(CallAnswered) if e.linkedid == call.linkedid]
        assert [(e.interface, e.agent, e.wait_seconds, e.ring_seconds) for e in answered] == call.answered
        rna = [e.agent for e in result.of(AgentRingNoAnswer) if e.linkedid == call.linkedid]
        assert rna == [t.removeprefix("RNA:") for t in call.outcome if t.startswith("RNA:")]


# --- per folder ------------------------------------------------------------------------------------


def test_answered() -> None:
    result = replay("answered")
    assert len(result.of(CallQueued)) == 8
    assert len(result.of(CallAnswered)) == 8
    rna = result.of(AgentRingNoAnswer)
    assert [(e.agent, e.interface, e.ring_seconds) for e in rna] == [("Alice", "PJSIP/1001", 15.0)] * 5
    assert Counter(e.ended_by for e in result.of(CallCompleted)) == {EndedBy.AGENT: 6, EndedBy.CALLER: 2}
    # wait and talk of every call, straight from queue_log's CONNECT / COMPLETE* numbers
    log = queue_log("answered")
    waits = {q.callid: float(q.data[0]) for q in log if q.verb == "CONNECT"}
    talks = {q.callid: float(q.data[1]) for q in log if q.verb.startswith("COMPLETE")}
    assert {e.uniqueid: e.wait_seconds for e in result.of(CallAnswered)} == waits
    assert {e.uniqueid: e.wait_seconds for e in result.of(CallCompleted)} == waits
    assert {e.uniqueid: e.talk_seconds for e in result.of(CallCompleted)} == talks
    # The caller who waited 71 s after four RNAs on Alice.
    assert waits["1795400391.7"] == 71.0
    assert sum(e.uniqueid == "1795400391.7" for e in rna) == 4
    # Alice's RNA legs get DialEnd CANCEL after the RNA: not a cancel.
    assert result.of(AgentRingCanceled) == []
    assert len(result.of(AgentRinging)) == 13


def test_answered_recordings_and_call_ends() -> None:
    result = replay("answered")
    started = result.of(RecordingStarted)
    assert len(started) == 8
    for e in started:
        assert e.filename == f"/var/spool/asterisk/monitor/{e.uniqueid}.wav"
    rows = (ASTERISK_FIXTURES / "answered/recordings/recordings.tsv").read_text().splitlines()[1:]
    assert {row.split("\t")[1] for row in rows} <= {Path(e.filename or "").name for e in started}
    assert result.of(RecordingStopped) == []  # no MixMonitorStop when a recorded call simply hangs up
    ended = result.of(CallEnded)
    assert sorted(e.uniqueid for e in ended) == sorted(e.uniqueid for e in result.of(CallQueued))
    assert {(e.cause, e.cause_text) for e in ended} == {(16, "Normal Clearing")}


def test_answered_timestamps_are_exact_utc() -> None:
    first = replay("answered").of(CallQueued)[0]
    assert first.at == datetime(2026, 11, 23, 2, 19, 17, 840387, tzinfo=UTC)
    assert (first.caller_number, first.caller_name, first.position, first.count) == (
        "13800138001",
        "Li Wei",
        1,
        1,
    )


def test_abandoned() -> None:
    result = replay("abandoned")
    log = queue_log("abandoned")
    abandoned = result.of(CallAbandoned)
    assert len(abandoned) == 5
    assert sorted((e.uniqueid, e.position, e.original_position, e.wait_seconds) for e in abandoned) == sorted(
        (q.callid, int(q.data[0]), int(q.data[1]), float(q.data[2])) for q in log if q.verb == "ABANDON"
    )
    timed_out = result.of(CallTimedOut)
    assert [(e.queue, e.wait_seconds) for e in timed_out] == [("complaints", 30.0)] * 2
    assert {e.uniqueid for e in timed_out} == {q.callid for q in log if q.verb == "EXITWITHTIMEOUT"}
    left = result.of(CallLeftEmptyQueue)
    assert [(e.uniqueid, e.queue, e.wait_seconds) for e in left] == [
        (q.callid, "sales", 15.0) for q in log if q.verb == "EXITEMPTY"
    ]
    refused = result.of(CallRefused)
    assert [(e.uniqueid, e.queue, e.reason) for e in refused] == [("1795400534.3", "sales", "joinempty")]
    # JOINEMPTY leaves no trace in queue_log at all.
    assert all(q.callid != "1795400534.3" for q in log)
    canceled = result.of(AgentRingCanceled)
    ring_canceled = [q for q in log if q.verb == "RINGCANCELED"]
    assert len(canceled) == len(ring_canceled) == 3
    assert [(e.uniqueid, e.agent) for e in canceled] == [(q.callid, q.agent) for q in ring_canceled]
    # A true abandon is released by the caller's Hangup, before its CallEnded, with the abandon's time.
    for e in abandoned:
        position = result.events.index(e)
        ends = [
            i for i, x in enumerate(result.events) if isinstance(x, CallEnded) and x.uniqueid == e.uniqueid
        ]
        assert ends == [position + 1]
        assert result.events[position + 1].cause == 0  # type: ignore[attr-defined]


def test_abandoned_needs_no_flush() -> None:
    translator = Translator(clock=fixed_clock)
    events = [e for frame in frames_of("abandoned") for e in translator.feed(frame)]
    assert translator.held == 0
    assert translator.flush() == []
    assert Counter(type(e).__name__ for e in events) == Counter(
        type(e).__name__ for e in replay("abandoned").events
    )


def test_ringall() -> None:
    result = replay("ringall")
    assert len(result.of(AgentRinging)) == 14
    rna = result.of(AgentRingNoAnswer)
    assert [e.ring_seconds for e in rna] == [8.0] * 3
    assert len(result.of(CallAnswered)) == 5
    # Losers of every answered round: rung − RNA − the one who answered, per call (dialog's table).
    losers = 0
    for line in (ASTERISK_FIXTURES / "ringall/dialog.txt").read_text().splitlines():
        if re.match(r"\s+\d+ \| \d\d:\d\d", line):
            rung = line.split("|")[7]
            rna_count = int(m.group(1)) if (m := re.search(r"\[(\d+) RNA\]", rung)) else 0
            losers += rung.count("@") - rna_count - 1
    assert losers == 6
    canceled = result.of(AgentRingCanceled)
    assert len(canceled) == losers
    assert len({e.agent_uniqueid for e in canceled}) == losers  # once per attempt despite 2 × DialEnd CANCEL
    # Exactly the legs Asterisk hung up as "Answered elsewhere".
    elsewhere = {
        f["Uniqueid"] for f in frames_of("ringall") if f.event == "Hangup" and f.get("Cause") == "26"
    }
    assert {e.agent_uniqueid for e in canceled} == elsewhere
    assert not {e.agent_uniqueid for e in canceled} & {e.agent_uniqueid for e in result.of(CallAnswered)}


def test_transfer() -> None:
    result = replay("transfer")
    transferred = result.of(CallTransferred)
    blind = [q for q in queue_log("transfer") if q.verb == "BLINDTRANSFER"]
    assert [(e.target_extension, e.target_context) for e in transferred] == [
        ("700", "from-internal"),
        ("601", "from-internal"),
    ]
    assert [(e.uniqueid, e.agent, e.talk_seconds, e.wait_seconds) for e in transferred] == [
        (q.callid, q.agent, float(q.data[3]), float(q.data[2])) for q in blind
    ]
    # The second queue counts the same caller again, with its own wait (2 s from the second join).
    second = "1795401092.2"
    assert [(e.queue, e.position) for e in result.of(CallQueued) if e.uniqueid == second] == [
        ("support", 1),
        ("complaints", 1),
    ]
    assert [(e.queue, e.agent, e.wait_seconds) for e in result.of(CallAnswered) if e.uniqueid == second] == [
        ("support", "Carol", 2.0),
        ("complaints", "Erin", 2.0),
    ]
    [completed] = result.of(CallCompleted)
    assert (completed.uniqueid, completed.queue, completed.agent, completed.talk_seconds) == (
        second,
        "complaints",
        "Erin",
        10.0,
    )


def test_actions_redirect_and_recordings() -> None:
    result = replay("actions")
    # The Redirect's AgentComplete arrives after the caller's Hangup, without any channel headers.
    [completed] = result.of(CallCompleted)
    assert (completed.uniqueid, completed.linkedid, completed.ended_by, completed.talk_seconds) == (
        "1795400605.0",
        "1795400605.0",
        EndedBy.CALLER,
        42.0,
    )
    assert [(e.uniqueid, e.filename) for e in result.of(RecordingStarted)] == [
        ("1795400605.0", "/var/spool/asterisk/monitor/1795400605.0.wav"),
        ("1795400605.1", "/var/spool/asterisk/monitor/manual-1795400605.1.wav"),
    ]
    assert [(e.uniqueid, e.muted) for e in result.of(RecordingMuted)] == [
        ("1795400605.1", True),
        ("1795400605.1", False),
    ]
    assert [(e.uniqueid, e.linkedid) for e in result.of(RecordingStopped)] == [
        ("1795400605.1", "1795400605.0")
    ]
    causes = {e.uniqueid: e.cause for e in result.of(CallEnded)}
    assert causes["1795400668.8"] == 17  # the busy customer of the Originate


def test_agent_states() -> None:
    result = replay("agent-states")
    logged_in = result.of(AgentLoggedIn)
    assert [(e.queue, e.agent, e.interface, e.penalty, e.dynamic, e.paused) for e in logged_in] == [
        ("billing", "Frank", "PJSIP/1006", 0, True, False),
        ("retention", "Frank", "PJSIP/1006", 2, True, False),
    ]
    assert [(e.queue, e.reason) for e in result.of(AgentPaused)] == [
        ("billing", "coaching"),
        ("billing", "lunch"),
        ("retention", "lunch"),
    ]
    assert [e.queue for e in result.of(AgentUnpaused)] == ["billing", "retention"]
    for queue in ("billing", "retention"):
        statuses = [e.status for e in result.of(AgentStateChanged) if e.queue == queue]
        gone = statuses.index(MemberStatus.UNAVAILABLE)
        assert statuses[gone + 1 :] == [MemberStatus.NOT_IN_USE]  # phone back, nothing else after
        assert MemberStatus.RINGING in statuses and MemberStatus.IN_USE in statuses
    in_call = [(e.queue, e.in_call) for e in result.of(AgentStateChanged) if e.status is MemberStatus.IN_USE]
    assert in_call == [("billing", True), ("retention", False)] * 2  # InCall is per queue
    assert [e.queue for e in result.of(AgentLoggedOut)] == ["billing", "retention"]


@pytest.mark.parametrize("folder", ["priority", "penalty"])
def test_answered_agents_per_call(folder: str) -> None:
    result = replay(folder)
    calls = dialog(folder)
    assert len(calls) == len(result.of(CallQueued))
    for call in calls:
        agents = [e.agent for e in result.of(CallAnswered) if e.linkedid == call.linkedid]
        assert agents == [name for _, name, _, _ in call.answered]
        assert len(agents) == 1


def test_priority_service_order() -> None:
    answered = replay("priority").of(CallAnswered)
    arrival = [e.uniqueid for e in replay("priority").of(CallQueued)]
    assert [arrival.index(e.uniqueid) + 1 for e in answered] == [1, 3, 5, 4, 2]
    assert [e.wait_seconds for e in answered] == [2.0, 8.0, 15.0, 25.0, 37.0]


def test_penalty_changes() -> None:
    changes = replay("penalty").of(AgentPenaltyChanged)
    assert [(e.queue, e.agent, e.penalty) for e in changes] == [("penalty", "Bob", 10), ("penalty", "Bob", 0)]


# --- hand-made frames --------------------------------------------------------------------------------


def frame(**headers: str) -> Frame:
    return Frame({k.replace("_", "-"): v for k, v in headers.items()})


def abandon(uniqueid: str, stamp: str, **extra: str) -> Frame:
    return frame(
        Event="QueueCallerAbandon",
        Timestamp=stamp,
        Uniqueid=uniqueid,
        Linkedid=uniqueid,
        Queue="support",
        Position="2",
        OriginalPosition="3",
        HoldTime="12",
        **extra,
    )


def queuestatus(uniqueid: str, value: str) -> Frame:
    return frame(Event="VarSet", Uniqueid=uniqueid, Linkedid=uniqueid, Variable="QUEUESTATUS", Value=value)


def test_abandon_is_held_until_queuestatus_or_hangup_or_flush() -> None:
    t = Translator(clock=fixed_clock)
    assert t.feed(abandon("1.1", "100.5")) == []
    assert t.feed(abandon("2.2", "100.6")) == []  # concurrent: 1.1 is not released by it
    assert t.held == 2
    [timed_out] = t.feed(queuestatus("2.2", "TIMEOUT"))
    assert isinstance(timed_out, CallTimedOut)
    assert (timed_out.uniqueid, timed_out.position, timed_out.original_position, timed_out.wait_seconds) == (
        "2.2",
        2,
        3,
        12.0,
    )
    assert timed_out.at == datetime.fromtimestamp(100.6, UTC)
    assert t.feed(frame(Event="Hangup", Uniqueid="2.2", Linkedid="2.2", Cause="16"))[0].__class__ is CallEnded
    released = t.feed(frame(Event="Hangup", Uniqueid="1.1", Linkedid="1.1", Cause="0"))
    assert [type(e) for e in released] == [CallAbandoned, CallEnded]
    assert t.feed(abandon("3.3", "200")) == []
    [flushed] = t.flush()
    assert isinstance(flushed, CallAbandoned) and flushed.uniqueid == "3.3"
    assert t.flush() == [] and t.held == 0


def test_stale_abandon_released_by_a_later_one_and_leaveempty() -> None:
    t = Translator(clock=fixed_clock)
    t.feed(abandon("1.1", "100"))
    [stale] = t.feed(abandon("2.2", "103"))  # 1.1 never got its Hangup (e.g. frames lost)
    assert isinstance(stale, CallAbandoned) and stale.uniqueid == "1.1"
    [left] = t.feed(queuestatus("2.2", "LEAVEEMPTY"))
    assert isinstance(left, CallLeftEmptyQueue)


def test_refused_with_and_without_known_queue() -> None:
    t = Translator(clock=fixed_clock)
    t.feed(frame(Event="Newexten", Uniqueid="5.5", Application="Queue", AppData="sales,t,,,60"))
    [known] = t.feed(queuestatus("5.5", "FULL"))
    [unknown] = t.feed(queuestatus("6.6", "JOINUNAVAIL"))
    assert (known.queue, known.reason) == ("sales", "full")  # type: ignore[attr-defined]
    assert (unknown.queue, unknown.reason, unknown.at) == (None, "joinunavail", FIXED)  # type: ignore[attr-defined]
    assert t.feed(queuestatus("7.7", "CONTINUE")) == []


def test_ring_canceled_once_per_attempt_and_by_hangup() -> None:
    t = Translator(clock=fixed_clock)
    called = frame(
        Event="AgentCalled",
        Uniqueid="1.0",
        Linkedid="1.0",
        Queue="q",
        MemberName="Bob",
        Interface="PJSIP/1002",
        DestChannel="PJSIP/1002-1",
        DestUniqueid="1.1",
    )
    assert len(t.feed(called)) == 1
    cancel = frame(Event="DialEnd", DestUniqueid="1.1", DialStatus="CANCEL")
    assert [type(e) for e in t.feed(cancel) + t.feed(cancel)] == [AgentRingCanceled]
    assert t.feed(frame(Event="Hangup", Uniqueid="1.1", Linkedid="1.0", Cause="26")) == []
    # A leg torn down while still ringing, with no DialEnd at all.
    t.feed(Frame({**called, "DestUniqueid": "1.2"}))
    [gone] = t.feed(frame(Event="Hangup", Uniqueid="1.2", Linkedid="1.0", Cause="0"))
    assert isinstance(gone, AgentRingCanceled) and gone.agent_uniqueid == "1.2" and gone.at == FIXED
    # After a ring-no-answer the leg's DialEnd CANCEL is no cancel.
    t.feed(Frame({**called, "DestUniqueid": "1.4"}))
    rna = Frame({**called, "Event": "AgentRingNoAnswer", "DestUniqueid": "1.4", "RingTime": "15000"})
    assert [type(e) for e in t.feed(rna)] == [AgentRingNoAnswer]
    assert t.feed(frame(Event="DialEnd", DestUniqueid="1.4", DialStatus="CANCEL")) == []
    # Busy is not a cancel.
    t.feed(Frame({**called, "DestUniqueid": "1.3"}))
    assert t.feed(frame(Event="DialEnd", DestUniqueid="1.3", DialStatus="BUSY")) == []
    assert t.feed(frame(Event="Hangup", Uniqueid="1.3", Linkedid="1.0")) == []


def test_recording_filename_set_after_start_is_not_waited_for() -> None:
    t = Translator(clock=fixed_clock)
    [started] = t.feed(frame(Event="MixMonitorStart", Uniqueid="1.0", Linkedid="1.0"))
    assert started == RecordingStarted(at=FIXED, linkedid="1.0", uniqueid="1.0", filename=None)
    t.feed(frame(Event="VarSet", Uniqueid="1.0", Variable="MIXMONITOR_FILENAME", Value="/x.wav"))
    assert t.feed(frame(Event="MixMonitorStart", Uniqueid="1.0", Linkedid="1.0"))[0].filename == "/x.wav"  # type: ignore[attr-defined]


def test_missing_timestamp_uses_the_clock_and_unknown_caller_id_is_none() -> None:
    [queued] = translate_frames(
        [
            frame(
                Event="QueueCallerJoin",
                Uniqueid="9.9",
                Linkedid="9.9",
                Queue="support",
                Position="1",
                Count="1",
                CallerIDNum="<unknown>",
                CallerIDName="<unknown>",
            )
        ],
        clock=fixed_clock,
    )
    assert queued == CallQueued(FIXED, "9.9", "9.9", "support", None, None, 1, 1)


def good_frames() -> list[Frame]:
    """One real frame of every type the translator handles, from the captures."""
    wanted = {
        "QueueCallerJoin",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentConnect",
        "AgentComplete",
        "QueueCallerAbandon",
        "Hangup",
        "DialEnd",
        "MixMonitorStart",
        "MixMonitorMute",
        "MixMonitorStop",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "QueueMemberStatus",
        "QueueMemberPenalty",
        "BlindTransfer",
        "Newexten",
    }
    found: dict[str, Frame] = {}
    for folder in ("answered", "abandoned", "actions", "transfer", "penalty", "agent-states"):
        for f in frames_of(folder):
            name = f.event or ""
            if name in wanted and name not in found:
                found[name] = f
    assert set(found) == wanted
    return list(found.values())


def test_garbage_values_are_counted_not_raised() -> None:
    t = Translator(clock=fixed_clock)
    real = {f.event: f for f in good_frames()}
    bad = [
        Frame({**real["AgentConnect"], "HoldTime": "soon"}),
        Frame({**real["AgentComplete"], "TalkTime": "-3"}),
        Frame({**real["AgentComplete"], "Reason": "gremlins"}),
        Frame({k: v for k, v in real["QueueCallerJoin"].items() if k != "Uniqueid"}),
        Frame({**real["AgentRingNoAnswer"], "RingTime": ""}),
        Frame({**real["QueueMemberStatus"], "Status": "99"}),
        Frame({**real["QueueMemberPause"], "Paused": "maybe"}),
        Frame({**real["QueueCallerAbandon"], "Position": "first"}),
        Frame({k: v for k, v in real["AgentCalled"].items() if k != "DestUniqueid"}),
    ]
    for f in bad:
        assert t.feed(f) == []
    assert (t.stats.frames, t.stats.skipped, t.stats.bad_values, t.stats.events) == (9, 9, 9, 0)
    # Degraded, not dropped: a garbled Timestamp and Cause still end the call.
    hangup = Frame(
        {**real["Hangup"], "Timestamp": "yesterday", "Cause": "??", "Linkedid": real["Hangup"]["Uniqueid"]}
    )
    [ended] = t.feed(hangup)
    assert isinstance(ended, CallEnded) and ended.at == FIXED and ended.cause is None
    assert (t.stats.skipped, t.stats.bad_values, t.stats.events) == (9, 11, 1)
    # Frames that are not events at all.
    assert t.feed(Frame({"Response": "Success"})) == [] and t.feed(Frame()) == []
    assert t.stats.frames == 12


garbage = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "-1", "1e9", "nan", "inf", "<unknown>", "99999999999999999999", "1.5", " 7"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_of_real_frames_never_raises(data: st.DataObject) -> None:
    t = Translator(clock=fixed_clock)
    frames = good_frames()
    events = 0
    for original in data.draw(st.lists(st.sampled_from(frames), min_size=1, max_size=20)):
        mutated = Frame(original)
        for key in data.draw(st.lists(st.sampled_from(sorted(original)), max_size=4)):
            if data.draw(st.booleans()):
                mutated.pop(key, None)
            else:
                mutated[key] = data.draw(garbage)
        out = t.feed(mutated)
        events += len(out)
        for event in out:
            for field in fields(event):  # type: ignore[arg-type]
                assert getattr(event, field.name) is not Ellipsis
    events += len(t.flush())
    assert t.stats.events == events
    assert t.stats.skipped <= t.stats.bad_values


def test_translate_frames_equals_streaming() -> None:
    streamed = replay("abandoned").events
    assert translate_frames(frames_of("abandoned"), clock=fixed_clock) == streamed
    assert len({type(e) for e in streamed}) >= 10
