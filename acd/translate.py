"""AMI frames → the domain events of ``acd.events``: the only place that knows what app_queue's events mean.

Owns the small amount of per-channel memory the translation needs (which agent legs are ringing for
whom, an abandon waiting for its ``QUEUESTATUS``, the recording file name, the last blind transfer) and
nothing else: it is not the live state. Work per frame is a dict lookup on ``Event`` plus a few header
reads; frames of other types (``VarSet`` other than ``QUEUESTATUS``/``MIXMONITOR_FILENAME``, RTCP,
bridges, …) cost one lookup.

Facts the mapping rests on (``/work/shared/fixtures/asterisk/README.md``, Asterisk 22):

- ``AgentRingNoAnswer.RingTime`` is in ms; every other HoldTime/RingTime/TalkTime is whole seconds.
- Every agent leg that stops ringing gets ``DialEnd DialStatus: CANCEL`` — after an RNA too, and twice
  for a leg cancelled by an abandon or by another agent answering (ringall). So a ring attempt is
  remembered from ``AgentCalled`` until its RNA, its ``DialEnd`` or its ``Hangup``; only a CANCEL (or a
  hang-up while still remembered) yields ``AgentRingCanceled``, once.
- ``QueueCallerAbandon`` is also sent for the ``Queue()`` timeout and for leavewhenempty; only the
  ``VarSet QUEUESTATUS`` that follows on the same channel tells them apart (a true abandon has none:
  the channel is gone). So the abandon is held until that VarSet, the channel's ``Hangup``, another
  ``QueueCallerAbandon``/``QueueCallerJoin`` on it, or ``flush()``; the event keeps the abandon's time.
- ``JOINEMPTY``/``FULL``/``JOINUNAVAIL`` come with no queue event at all; the queue name is taken from
  the channel's ``Newexten`` of ``Queue`` (``AppData: sales,t,,,60``) when seen.
- ``AgentComplete`` can arrive after the caller's channel is gone and then has no channel headers
  (``actions/``: a Redirect), so the caller is looked up from the ``AgentConnect`` of that
  queue/interface.
- ``MIXMONITOR_FILENAME`` is set just before ``MixMonitorStart`` in every capture; if it came after, the
  ``RecordingStarted`` is not held back: it carries ``filename=None``.
- An AMI ``Redirect`` of the queue caller (the desktop's blind transfer, ``acd.call_control``) sends no
  ``BlindTransfer``: app_queue ends the leg with ``AgentComplete Reason: caller`` — on a real Asterisk only
  when the caller's channel finally hangs up, without channel headers (``actions/``, lab-029: 8 s later,
  TalkTime counting the talk with the target). Only the sender knows it was a transfer, so it tells the
  translator first (``note_redirect``). The caller's ``Newexten`` at the target (sent right after the
  Redirect's response) then ends the leg as ``CallTransferred`` — the agent is free at once, as on the
  PBX — and the late headerless ``AgentComplete`` of that leg is dropped. If the ``AgentComplete`` comes
  first, it is the one that becomes ``CallTransferred``.

Bad input never raises. A required header that is missing or garbled skips the frame's event
(``stats.skipped`` and ``stats.bad_values``); an optional one that is garbled (``Cause``, a
``Timestamp``, an ``OriginalPosition``) is counted in ``stats.bad_values`` and replaced by None / the
time of arrival, because losing e.g. a whole ``CallEnded`` over its cause would leave a ghost call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from acd.ami.frames import Frame
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
    CallLeftQueue,
    CallQueued,
    CallRefused,
    CallTimedOut,
    CallTransferred,
    EndedBy,
    RecordingMuted,
    RecordingStarted,
    RecordingStopped,
)
from core.clock import utcnow

# QUEUESTATUS after a QueueCallerAbandon: the caller did not hang up, the queue let it go.
_EXIT_BY_STATUS: dict[str, type[CallLeftQueue]] = {
    "TIMEOUT": CallTimedOut,
    "LEAVEEMPTY": CallLeftEmptyQueue,
    "LEAVEUNAVAIL": CallLeftEmptyQueue,
}
# QUEUESTATUS when Queue() refused the caller before any QueueCallerJoin.
_REFUSED = frozenset({"JOINEMPTY", "FULL", "JOINUNAVAIL"})
# app_queue sends QUEUESTATUS within a millisecond of the abandon, on the same channel thread; an abandon
# still held this long after another one has lost its Hangup (e.g. a dropped link) and is a true abandon.
_STALE_ABANDON = timedelta(seconds=2)
_TRUE = frozenset({"1", "true", "yes"})
# Redirects noted by the app whose AgentComplete has not come yet; a bound so that a lost one cannot leak.
_MAX_REDIRECTS = 1000
_FALSE = frozenset({"0", "false", "no", ""})


class _Bad(Exception):
    """A required header is missing or garbled: the frame's event is skipped."""


@dataclass
class TranslatorStats:
    frames: int = 0  # frames fed
    events: int = 0  # domain events returned (feed + flush)
    skipped: int = 0  # frames of a handled type whose event was dropped for a bad/missing value
    bad_values: int = 0  # header values that were missing or garbled (skipped or degraded)


@dataclass(slots=True)
class _Ring:
    linkedid: str
    uniqueid: str  # the caller's
    queue: str
    agent: str
    interface: str


@dataclass(slots=True)
class _Connected:
    linkedid: str
    queue: str
    agent: str
    interface: str
    at: datetime
    wait_seconds: float


@dataclass(slots=True)
class _HeldAbandon:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    position: int
    original_position: int | None
    wait_seconds: float

    def resolve(self, cls: type[CallLeftQueue] = CallAbandoned) -> CallLeftQueue:
        return cls(
            at=self.at,
            linkedid=self.linkedid,
            uniqueid=self.uniqueid,
            queue=self.queue,
            position=self.position,
            original_position=self.original_position,
            wait_seconds=self.wait_seconds,
        )


def _req(frame: Frame, key: str) -> str:
    value = frame.get(key)
    if value is None:
        raise _Bad(key)
    return value


def _int(frame: Frame, key: str, *, minimum: int | None = 0) -> int:
    value = frame.get(key)
    if value is None:
        raise _Bad(key)
    try:
        number = int(value)
    except ValueError:
        raise _Bad(key) from None
    if minimum is not None and number < minimum:
        raise _Bad(key)
    return number


def _opt_int(frame: Frame, key: str, default: int) -> int:
    return default if key not in frame else _int(frame, key, minimum=None)


def _bool(frame: Frame, key: str) -> bool:
    value = frame.get(key, "").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Bad(key)


def _caller_id(value: str | None) -> str | None:
    return None if not value or value == "<unknown>" else value


class Translator:
    """Streaming AMI → domain events. ``feed`` each frame in order; ``flush`` when the stream ends or
    the link drops (it releases held abandons as true abandons)."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self.stats = TranslatorStats()
        self._rings: dict[str, _Ring] = {}  # agent leg uniqueid → the ring attempt on it
        self._held: dict[str, _HeldAbandon] = {}  # caller uniqueid → abandon awaiting QUEUESTATUS
        self._queue_app: dict[str, str] = {}  # channel uniqueid → queue of its last Queue() step
        self._recording_file: dict[str, str] = {}  # channel uniqueid → MIXMONITOR_FILENAME
        self._transfers: dict[str, tuple[str, str]] = {}  # uniqueid (either side) → (exten, context)
        self._talking: dict[tuple[str, str], tuple[str, str]] = {}  # (queue, iface) → (uniqueid, linkedid)
        # Redirects the app announced: caller uniqueid → (exten, context) it is sent to.
        self._redirects: dict[str, tuple[str, str]] = {}
        self._connected: dict[str, _Connected] = {}  # caller uniqueid → its queue leg being talked
        self._redirected: dict[tuple[str, str], str] = {}  # (queue, iface) → uniqueid ended by a Redirect
        self._handlers: dict[str, Callable[[Frame, list[object]], None]] = {
            "VarSet": self._var_set,
            "Newexten": self._newexten,
            "DialEnd": self._dial_end,
            "Hangup": self._hangup,
            "QueueCallerJoin": self._caller_join,
            "AgentCalled": self._agent_called,
            "AgentRingNoAnswer": self._ring_no_answer,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "BlindTransfer": self._blind_transfer,
            "QueueCallerAbandon": self._caller_abandon,
            "MixMonitorStart": self._mixmonitor_start,
            "MixMonitorMute": self._mixmonitor_mute,
            "MixMonitorStop": self._mixmonitor_stop,
            "QueueMemberAdded": self._member_added,
            "QueueMemberRemoved": self._member_removed,
            "QueueMemberPause": self._member_pause,
            "QueueMemberStatus": self._member_status,
            "QueueMemberPenalty": self._member_penalty,
        }

    # --- public API ---------------------------------------------------------------------------------

    def feed(self, frame: Frame) -> list[object]:
        stats = self.stats
        stats.frames += 1
        handler = self._handlers.get(frame.get("Event"))  # type: ignore[arg-type]
        if handler is None:
            return []
        out: list[object] = []
        try:
            handler(frame, out)
        except _Bad:
            # Events appended before the bad value (e.g. a released abandon) are complete and kept.
            stats.skipped += 1
            stats.bad_values += 1
        stats.events += len(out)
        return out

    def flush(self) -> list[object]:
        out: list[object] = [held.resolve() for held in self._held.values()]
        self._held.clear()
        self.stats.events += len(out)
        return out

    def note_redirect(self, uniqueid: str, exten: str, context: str) -> None:
        """The app is about to ``Redirect`` the caller channel ``uniqueid`` out of its queue call: the leg's
        ``AgentComplete`` is then a transfer to ``exten@context``. Call before sending the action (the PBX's
        events may arrive before its response)."""
        if len(self._redirects) >= _MAX_REDIRECTS:  # a redirect whose leg never completed: forget the oldest
            del self._redirects[next(iter(self._redirects))]
        self._redirects[uniqueid] = (exten, context)

    def forget_redirect(self, uniqueid: str) -> None:
        """The Redirect was refused: the leg goes on as before."""
        self._redirects.pop(uniqueid, None)

    @property
    def held(self) -> int:
        """Abandons waiting for a QUEUESTATUS (for tests and the link's diagnostics)."""
        return len(self._held)

    # --- helpers ------------------------------------------------------------------------------------

    def _at(self, frame: Frame) -> datetime:
        stamp = frame.get("Timestamp")
        if stamp is None:
            return self._clock()
        try:
            return datetime.fromtimestamp(float(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            self.stats.bad_values += 1
            return self._clock()

    def _opt_cause(self, frame: Frame) -> int | None:
        value = frame.get("Cause")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            self.stats.bad_values += 1
            return None

    # --- channel-level frames -----------------------------------------------------------------------

    def _var_set(self, frame: Frame, out: list[object]) -> None:
        variable = frame.get("Variable")
        if variable == "QUEUESTATUS":
            self._queue_status(frame, out)
        elif variable == "MIXMONITOR_FILENAME":
            uniqueid = _req(frame, "Uniqueid")
            value = frame.get("Value")
            if value:
                self._recording_file[uniqueid] = value
            else:
                self._recording_file.pop(uniqueid, None)

    def _queue_status(self, frame: Frame, out: list[object]) -> None:
        uniqueid = _req(frame, "Uniqueid")
        status = frame.get("Value", "").strip().upper()
        held = self._held.pop(uniqueid, None)
        if held is not None:
            out.append(held.resolve(_EXIT_BY_STATUS.get(status, CallAbandoned)))
        elif status in _REFUSED:
            out.append(
                CallRefused(
                    at=self._at(frame),
                    linkedid=_req(frame, "Linkedid"),
                    uniqueid=uniqueid,
                    queue=self._queue_app.get(uniqueid),
                    reason=status.lower(),
                )
            )

    def _newexten(self, frame: Frame, out: list[object]) -> None:
        uniqueid = frame.get("Uniqueid")
        if self._redirects and uniqueid in self._redirects:
            self._redirect_arrived(frame, uniqueid, out)
        if frame.get("Application") == "Queue":
            queue = frame.get("AppData", "").partition(",")[0].strip()
            if uniqueid and queue:
                self._queue_app[uniqueid] = queue

    def _redirect_arrived(self, frame: Frame, uniqueid: str, out: list[object]) -> None:
        """The caller we redirected is at its target: its queue leg ends here, as a transfer."""
        exten, context = self._redirects[uniqueid]
        leg = self._connected.get(uniqueid)
        if leg is None or frame.get("Exten") != exten or frame.get("Context") != context:
            return
        del self._redirects[uniqueid], self._connected[uniqueid]
        key = (leg.queue, leg.interface)
        if self._talking.get(key, ("",))[0] == uniqueid:
            del self._talking[key]
        self._redirected[key] = uniqueid
        at = self._at(frame)
        out.append(
            CallTransferred(
                at=at,
                linkedid=leg.linkedid,
                uniqueid=uniqueid,
                queue=leg.queue,
                agent=leg.agent,
                interface=leg.interface,
                target_extension=exten,
                target_context=context,
                wait_seconds=leg.wait_seconds,
                talk_seconds=float(max(int((at - leg.at).total_seconds()), 0)),  # whole s, like TalkTime
            )
        )

    def _dial_end(self, frame: Frame, out: list[object]) -> None:
        agent_uniqueid = frame.get("DestUniqueid")
        if agent_uniqueid is None:
            return
        ring = self._rings.pop(agent_uniqueid, None)
        # ANSWER / BUSY / CONGESTION / CHANUNAVAIL (and a NOANSWER without RNA) just end the attempt.
        if ring is not None and frame.get("DialStatus") == "CANCEL":
            out.append(self._canceled(frame, ring, agent_uniqueid))

    def _canceled(self, frame: Frame, ring: _Ring, agent_uniqueid: str) -> AgentRingCanceled:
        return AgentRingCanceled(
            at=self._at(frame),
            linkedid=ring.linkedid,
            uniqueid=ring.uniqueid,
            queue=ring.queue,
            agent=ring.agent,
            interface=ring.interface,
            agent_uniqueid=agent_uniqueid,
        )

    def _hangup(self, frame: Frame, out: list[object]) -> None:
        uniqueid = _req(frame, "Uniqueid")
        ring = self._rings.pop(uniqueid, None)
        if ring is not None:  # an agent leg torn down while still ringing, without DialEnd CANCEL
            out.append(self._canceled(frame, ring, uniqueid))
        held = self._held.pop(uniqueid, None)
        if held is not None:  # the channel is gone without a QUEUESTATUS: a true abandon
            out.append(held.resolve())
        self._queue_app.pop(uniqueid, None)
        self._recording_file.pop(uniqueid, None)
        self._transfers.pop(uniqueid, None)
        self._connected.pop(uniqueid, None)  # a caller gone can no longer arrive at a Redirect target
        if frame.get("Linkedid") == uniqueid:
            cause_text = frame.get("Cause-txt")
            out.append(
                CallEnded(
                    at=self._at(frame),
                    linkedid=uniqueid,
                    uniqueid=uniqueid,
                    cause=self._opt_cause(frame),
                    cause_text=cause_text or None,
                )
            )

    # --- queue calls --------------------------------------------------------------------------------

    def _caller_join(self, frame: Frame, out: list[object]) -> None:
        uniqueid = _req(frame, "Uniqueid")
        held = self._held.pop(uniqueid, None)
        if held is not None:
            out.append(held.resolve())
        out.append(
            CallQueued(
                at=self._at(frame),
                linkedid=_req(frame, "Linkedid"),
                uniqueid=uniqueid,
                queue=_req(frame, "Queue"),
                caller_number=_caller_id(frame.get("CallerIDNum")),
                caller_name=_caller_id(frame.get("CallerIDName")),
                position=_int(frame, "Position", minimum=1),
                count=_int(frame, "Count"),
                channel=frame.get("Channel") or None,
            )
        )

    def _agent_called(self, frame: Frame, out: list[object]) -> None:
        ring = _Ring(
            linkedid=_req(frame, "Linkedid"),
            uniqueid=_req(frame, "Uniqueid"),
            queue=_req(frame, "Queue"),
            agent=_req(frame, "MemberName"),
            interface=_req(frame, "Interface"),
        )
        agent_uniqueid = _req(frame, "DestUniqueid")
        agent_channel = _req(frame, "DestChannel")
        self._rings[agent_uniqueid] = ring
        out.append(
            AgentRinging(
                at=self._at(frame),
                linkedid=ring.linkedid,
                uniqueid=ring.uniqueid,
                queue=ring.queue,
                agent=ring.agent,
                interface=ring.interface,
                agent_channel=agent_channel,
                agent_uniqueid=agent_uniqueid,
            )
        )

    def _ring_no_answer(self, frame: Frame, out: list[object]) -> None:
        agent_uniqueid = frame.get("DestUniqueid")
        if agent_uniqueid is not None:
            self._rings.pop(agent_uniqueid, None)  # its DialEnd CANCEL that follows is no cancel
        out.append(
            AgentRingNoAnswer(
                at=self._at(frame),
                linkedid=_req(frame, "Linkedid"),
                uniqueid=_req(frame, "Uniqueid"),
                queue=_req(frame, "Queue"),
                agent=_req(frame, "MemberName"),
                interface=_req(frame, "Interface"),
                ring_seconds=_int(frame, "RingTime") / 1000,  # milliseconds here, unlike elsewhere
            )
        )

    def _agent_connect(self, frame: Frame, out: list[object]) -> None:
        agent_uniqueid = _req(frame, "DestUniqueid")
        self._rings.pop(agent_uniqueid, None)
        uniqueid = _req(frame, "Uniqueid")
        linkedid = _req(frame, "Linkedid")
        queue = _req(frame, "Queue")
        interface = _req(frame, "Interface")
        event = CallAnswered(
            at=self._at(frame),
            linkedid=linkedid,
            uniqueid=uniqueid,
            queue=queue,
            agent=_req(frame, "MemberName"),
            interface=interface,
            agent_uniqueid=agent_uniqueid,
            wait_seconds=float(_int(frame, "HoldTime")),
            ring_seconds=float(_int(frame, "RingTime")),
        )
        self._talking[(queue, interface)] = (uniqueid, linkedid)
        self._connected[uniqueid] = _Connected(
            linkedid, queue, event.agent, interface, event.at, event.wait_seconds
        )
        out.append(event)

    def _agent_complete(self, frame: Frame, out: list[object]) -> None:
        queue = _req(frame, "Queue")
        interface = _req(frame, "Interface")
        uniqueid = frame.get("Uniqueid")
        linkedid = frame.get("Linkedid")
        key = (queue, interface)
        if self._redirected and key in self._redirected and uniqueid in (None, self._redirected[key]):
            del self._redirected[key]  # the leg already ended at its Redirect target
            return
        talking = self._talking.get(key)
        if talking is not None and (uniqueid is None or talking[0] == uniqueid):
            del self._talking[key]
            # Sent after the caller's channel is gone (a Redirect): no channel headers at all.
            uniqueid = uniqueid or talking[0]
            linkedid = linkedid or talking[1]
        if uniqueid is None or linkedid is None:
            raise _Bad("Uniqueid")
        reason = _req(frame, "Reason")
        agent = _req(frame, "MemberName")
        wait = float(_int(frame, "HoldTime"))
        talk = float(_int(frame, "TalkTime"))
        at = self._at(frame)
        self._connected.pop(uniqueid, None)
        redirect = self._redirects.pop(uniqueid, None)
        if reason == "transfer" or redirect is not None:
            # Attended transfers (no BlindTransfer stored) leave the target unknown: empty strings.
            stored: tuple[str, str] | None = self._transfers.pop(uniqueid, None)
            extension, context = stored or redirect or ("", "")
            out.append(
                CallTransferred(
                    at=at,
                    linkedid=linkedid,
                    uniqueid=uniqueid,
                    queue=queue,
                    agent=agent,
                    interface=interface,
                    target_extension=extension,
                    target_context=context,
                    wait_seconds=wait,
                    talk_seconds=talk,
                )
            )
            return
        if reason == "agent":
            ended_by = EndedBy.AGENT
        elif reason == "caller":
            ended_by = EndedBy.CALLER
        else:
            raise _Bad("Reason")
        out.append(
            CallCompleted(
                at=at,
                linkedid=linkedid,
                uniqueid=uniqueid,
                queue=queue,
                agent=agent,
                interface=interface,
                wait_seconds=wait,
                talk_seconds=talk,
                ended_by=ended_by,
            )
        )

    def _blind_transfer(self, frame: Frame, out: list[object]) -> None:
        if frame.get("Result", "Success") != "Success":
            return
        target = (_req(frame, "Extension"), frame.get("Context", ""))
        # Stored under both sides: app_queue ends the call as "transfer" whichever side transferred.
        for key in ("TransfereeUniqueid", "TransfererUniqueid"):
            uniqueid = frame.get(key)
            if uniqueid:
                self._transfers[uniqueid] = target

    def _caller_abandon(self, frame: Frame, out: list[object]) -> None:
        uniqueid = _req(frame, "Uniqueid")
        at = self._at(frame)
        if self._held:
            previous = self._held.pop(uniqueid, None)
            if previous is not None:
                out.append(previous.resolve())
            stale = [key for key, held in self._held.items() if at - held.at > _STALE_ABANDON]
            for key in stale:
                out.append(self._held.pop(key).resolve())
        original: int | None = None
        if "OriginalPosition" in frame:
            try:
                original = int(frame["OriginalPosition"])
            except ValueError:
                self.stats.bad_values += 1
        self._held[uniqueid] = _HeldAbandon(
            at=at,
            linkedid=_req(frame, "Linkedid"),
            uniqueid=uniqueid,
            queue=_req(frame, "Queue"),
            position=_int(frame, "Position", minimum=1),
            original_position=original,
            wait_seconds=float(_int(frame, "HoldTime")),
        )

    # --- recordings ---------------------------------------------------------------------------------

    def _mixmonitor_start(self, frame: Frame, out: list[object]) -> None:
        uniqueid = _req(frame, "Uniqueid")
        out.append(
            RecordingStarted(
                at=self._at(frame),
                linkedid=_req(frame, "Linkedid"),
                uniqueid=uniqueid,
                filename=self._recording_file.get(uniqueid),
            )
        )

    def _mixmonitor_mute(self, frame: Frame, out: list[object]) -> None:
        out.append(
            RecordingMuted(
                at=self._at(frame),
                linkedid=_req(frame, "Linkedid"),
                uniqueid=_req(frame, "Uniqueid"),
                muted=_bool(frame, "State"),
            )
        )

    def _mixmonitor_stop(self, frame: Frame, out: list[object]) -> None:
        out.append(
            RecordingStopped(
                at=self._at(frame), linkedid=_req(frame, "Linkedid"), uniqueid=_req(frame, "Uniqueid")
            )
        )

    # --- queue members ------------------------------------------------------------------------------

    def _member_added(self, frame: Frame, out: list[object]) -> None:
        out.append(
            AgentLoggedIn(
                at=self._at(frame),
                queue=_req(frame, "Queue"),
                agent=_req(frame, "MemberName"),
                interface=_req(frame, "Interface"),
                state_interface=frame.get("StateInterface") or None,
                penalty=_opt_int(frame, "Penalty", 0),
                paused=_bool(frame, "Paused"),
                dynamic=frame.get("Membership", "dynamic") == "dynamic",
            )
        )

    def _member_removed(self, frame: Frame, out: list[object]) -> None:
        out.append(
            AgentLoggedOut(
                at=self._at(frame),
                queue=_req(frame, "Queue"),
                agent=_req(frame, "MemberName"),
                interface=_req(frame, "Interface"),
            )
        )

    def _member_pause(self, frame: Frame, out: list[object]) -> None:
        queue = _req(frame, "Queue")
        agent = _req(frame, "MemberName")
        interface = _req(frame, "Interface")
        if "Paused" not in frame:
            raise _Bad("Paused")
        if _bool(frame, "Paused"):
            reason = frame.get("PausedReason") or None
            out.append(AgentPaused(self._at(frame), queue, agent, interface, reason))
        else:
            out.append(AgentUnpaused(self._at(frame), queue, agent, interface))

    def _member_status(self, frame: Frame, out: list[object]) -> None:
        status = STATUS_CODES.get(_req(frame, "Status").strip())
        if status is None:
            raise _Bad("Status")
        out.append(
            AgentStateChanged(
                at=self._at(frame),
                queue=_req(frame, "Queue"),
                agent=_req(frame, "MemberName"),
                interface=_req(frame, "Interface"),
                status=status,
                in_call=_bool(frame, "InCall"),
                paused=_bool(frame, "Paused"),
                paused_reason=frame.get("PausedReason") or None,
                calls_taken=_opt_int(frame, "CallsTaken", 0),
                penalty=_opt_int(frame, "Penalty", 0),
            )
        )

    def _member_penalty(self, frame: Frame, out: list[object]) -> None:
        out.append(
            AgentPenaltyChanged(
                at=self._at(frame),
                queue=_req(frame, "Queue"),
                agent=_req(frame, "MemberName"),
                interface=_req(frame, "Interface"),
                penalty=_int(frame, "Penalty", minimum=None),
            )
        )


def translate_frames(frames: Iterable[Frame], *, clock: Callable[[], datetime] = utcnow) -> list[object]:
    """Every domain event of a finished stream (a capture), held abandons released at the end."""
    translator = Translator(clock=clock)
    events: list[object] = []
    for frame in frames:
        events.extend(translator.feed(frame))
    events.extend(translator.flush())
    return events
