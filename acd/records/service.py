"""Ingest into the durable call records, from any mix of sources, idempotently.

Sources: the domain events of ``acd.events`` (live, from AMI), app_queue's ``queue_log``, CEL and CDR CSV.
Each speaks about the same calls with different precision (AMI to the microsecond, the files to the second)
and different gaps (no AMI while the link was down; no ringall losers in queue_log; no queue in CEL), so
every ingest function *matches before it adds*:

* a call is its ``linkedid`` (queue_log's callid is the caller's uniqueid, mapped through ``pbx_channels``
  filled from CEL — so give CEL first when linkedid ≠ caller uniqueid);
* a queue leg is (linkedid, queue, join time within a second); an event about a leg whose join was never
  seen makes a provisional leg (join estimated, ``position`` None) that a later join adopts;
* a ring attempt is (leg, member, ring end within 1.5 s, or an open attempt of that member).

A value already known is kept; a missing one is filled (so queue_log's whole seconds fill waits/talk only
where AMI gave none), except that a time with sub-second digits (AMI) replaces a whole-second one, and
queue_log's verb decides a leg's outcome (AMI cannot always tell a timeout or an emptied queue from an
abandon). The same input given twice therefore changes nothing. Nothing here commits: the caller owns the
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from acd import events as ev
from acd.events import CallOutcome, EndedBy
from acd.records.cdr import CsvStats, parse_cdr, parse_cel
from acd.records.models import PbxCall, PbxChannel, QueueLeg, RingAttempt, RingOutcome
from acd.records.queue_log import QueueConfig, QueueLogEntry, QueueLogStats, parse_queue_log
from core import phone
from core.customers.models import CustomerPhone
from core.people.models import User

log = logging.getLogger(__name__)

JOIN_TOLERANCE = timedelta(seconds=1)  # queue_log truncates AMI's join time to the second
RING_TOLERANCE = timedelta(seconds=1.5)  # a ring start estimated from whole seconds may be off by more
REFUSAL_TOLERANCE = timedelta(seconds=5)  # a refusal inferred from CDR carries the call's start time

LEFT_UNANSWERED = {
    "ABANDON": CallOutcome.ABANDONED,
    "EXITWITHTIMEOUT": CallOutcome.TIMED_OUT,
    "EXITEMPTY": CallOutcome.LEFT_EMPTY_QUEUE,
}
PRELOAD_CHUNK = 500  # linkedids per IN (...) query
NOT_CALLER_NUMBERS = {"", "unknown", "<unknown>", "anonymous", "restricted", "none"}


@dataclass
class IngestStats:
    items: int = 0  # events, or non-empty lines
    malformed: int = 0  # lines that could not be parsed (skipped)
    ignored: int = 0  # well-formed but of no use to the records (member lines, other CEL events, …)
    calls_created: int = 0
    legs_created: int = 0
    attempts_created: int = 0


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _precise(value: datetime) -> bool:
    """A time with sub-second digits came from AMI; whole seconds from queue_log or CSV."""
    return value.microsecond != 0


def _near(a: datetime, b: datetime, tolerance: timedelta) -> bool:
    return abs(a - b) <= tolerance


def _better(old: datetime | None, new: datetime | None) -> datetime | None:
    """Keep a known time, but let an AMI time replace the whole-second one of the same instant."""
    if old is None:
        return new
    if new is not None and not _precise(old) and _precise(new):
        return new
    return old


def _whole(value: datetime) -> datetime:
    """To the nearest second: an estimate must not look like an AMI time (see ``_precise``)."""
    return (value + timedelta(microseconds=500_000)).replace(microsecond=0)


def _earliest(old: datetime | None, new: datetime | None) -> datetime | None:
    if old is None or new is None:
        return old or new
    return min(old, new)


def _latest(old: datetime | None, new: datetime | None) -> datetime | None:
    if old is None or new is None:
        return old or new
    return max(old, new)


class Recorder:
    """One ingest run over a session: finds or creates calls, legs and attempts, and finalises the calls it
    touched (answer time, outcome, customer, agent, recording) when :meth:`finish` is called."""

    def __init__(
        self, session: Session, *, queues: Mapping[str, QueueConfig] | None = None, region: str = "CN"
    ) -> None:
        self.session = session
        self.queues = dict(queues or {})
        self.region = region
        self.stats = IngestStats()
        self.touched: dict[str, PbxCall] = {}
        # Filled by ``preload``: the calls and the legs (with their attempts) of the linkedids in
        # ``_known``, so that a batch of events costs a few queries rather than several per event.
        self._known: set[str] = set()
        self._calls: dict[str, PbxCall] = {}
        self._legs_of: dict[str, list[QueueLeg]] = {}
        self._user_ids: dict[str, int | None] = {}

    def preload(self, linkedids: Iterable[str]) -> None:
        """Load the calls, legs and ring attempts of these linkedids in a few queries."""
        wanted = sorted({linkedid for linkedid in linkedids if linkedid} - self._known)
        session = self.session
        for start in range(0, len(wanted), PRELOAD_CHUNK):
            chunk = wanted[start : start + PRELOAD_CHUNK]
            for call in session.scalars(select(PbxCall).where(PbxCall.linkedid.in_(chunk))):
                self._calls[call.linkedid] = call
            legs = session.scalars(
                select(QueueLeg)
                .where(QueueLeg.linkedid.in_(chunk))
                .options(selectinload(QueueLeg.attempts))
                .order_by(QueueLeg.joined_at, QueueLeg.id)
            )
            for leg in legs:
                self._legs_of.setdefault(leg.linkedid, []).append(leg)
            self._known.update(chunk)

    # --- calls -----------------------------------------------------------------------------------

    def call(self, linkedid: str, *, uniqueid: str | None = None, at: datetime | None = None) -> PbxCall:
        call = self.touched.get(linkedid) or self._calls.get(linkedid)
        if call is None and linkedid not in self._known:
            self.session.flush()  # not preloaded: the database must see what this run added
            call = self.session.scalar(select(PbxCall).where(PbxCall.linkedid == linkedid))
        if call is None:
            call = PbxCall(linkedid=linkedid, direction="inbound")
            self.session.add(call)
            self.session.flush()
            self.stats.calls_created += 1
        self.touched[linkedid] = call
        if call.uniqueid is None and uniqueid:
            call.uniqueid = uniqueid
        if at is not None:
            call.started_at = _earliest(call.started_at, at)
        return call

    def linkedid_of(self, uniqueid: str) -> str:
        """queue_log's callid is the caller channel's uniqueid; CEL knows its call's linkedid."""
        linkedid = self.session.scalar(select(PbxChannel.linkedid).where(PbxChannel.uniqueid == uniqueid))
        if linkedid:
            return linkedid
        linkedid = self.session.scalar(select(PbxCall.linkedid).where(PbxCall.uniqueid == uniqueid).limit(1))
        return linkedid or uniqueid

    def set_caller(self, call: PbxCall, raw: str | None) -> None:
        if call.caller_number or raw is None or raw.strip().lower() in NOT_CALLER_NUMBERS:
            return
        try:
            call.caller_number = phone.normalise(raw, self.region)
        except ValueError:
            call.caller_number = raw.strip()[:32]

    def interface_of(self, queue: str, agent: str, agent_uniqueid: str | None = None) -> str | None:
        if agent_uniqueid:
            channel = self.session.scalar(select(PbxChannel).where(PbxChannel.uniqueid == agent_uniqueid))
            if channel is not None and channel.interface:
                return channel.interface
        config = self.queues.get(queue)
        if config is not None and agent in config.members:
            return config.members[agent]
        for other in self.queues.values():
            if agent in other.members:
                return other.members[agent]
        return None

    def _user_id(self, interface: str) -> int | None:
        if interface not in self._user_ids:
            self._user_ids[interface] = self.session.scalar(
                select(User.id).where(User.pbx_interface == interface).limit(1)
            )
        return self._user_ids[interface]

    # --- legs ------------------------------------------------------------------------------------

    def _legs(self, linkedid: str, queue: str) -> list[QueueLeg]:
        if linkedid in self._known:
            return sorted(
                (leg for leg in self._legs_of.get(linkedid, ()) if leg.queue == queue),
                key=lambda leg: leg.joined_at,
            )
        self.session.flush()  # not preloaded: the database must see what this run added
        return list(
            self.session.scalars(
                select(QueueLeg)
                .where(QueueLeg.linkedid == linkedid, QueueLeg.queue == queue)
                .order_by(QueueLeg.joined_at)
            )
        )

    def join(
        self, call: PbxCall, queue: str, at: datetime, *, uniqueid: str | None, position: int
    ) -> QueueLeg:
        legs = [leg for leg in self._legs(call.linkedid, queue) if leg.outcome != CallOutcome.REFUSED_AT_JOIN]
        leg = next((leg for leg in legs if _near(leg.joined_at, at, JOIN_TOLERANCE)), None)
        if leg is None:
            # a leg made from a later event of this stay (its join was not seen yet) is adopted
            leg = next(
                (
                    leg
                    for leg in legs
                    if leg.position is None
                    and leg.joined_at >= at - JOIN_TOLERANCE
                    and (leg.ended_at is None or leg.ended_at >= at - JOIN_TOLERANCE)
                ),
                None,
            )
            if leg is not None:
                leg.joined_at = at
        if leg is None:
            leg = self._new_leg(call, queue, at, uniqueid)
        elif leg.position is None:
            leg.joined_at = at  # the join itself beats an estimate made from a later event
        else:
            leg.joined_at = _better(leg.joined_at, at) or at
        if leg.position is None:
            leg.position = position
        if leg.original_position is None:
            leg.original_position = position
        leg.uniqueid = leg.uniqueid or uniqueid
        return leg

    def leg(
        self, call: PbxCall, queue: str, at: datetime, *, joined: datetime | None, uniqueid: str | None
    ) -> QueueLeg:
        """The stay in ``queue`` that an event at ``at`` belongs to: the last one joined before it. When none
        is known (its join was missed), a provisional leg joined at ``joined`` (estimated) or ``at``."""
        legs = [
            leg
            for leg in self._legs(call.linkedid, queue)
            if leg.outcome != CallOutcome.REFUSED_AT_JOIN and leg.joined_at <= at + JOIN_TOLERANCE
        ]
        if legs:
            leg = legs[-1]
            leg.uniqueid = leg.uniqueid or uniqueid
            return leg
        # an estimate is kept to whole seconds so that a real join time (sub-second) replaces it
        return self._new_leg(call, queue, _whole(joined or at), uniqueid)

    def _new_leg(self, call: PbxCall, queue: str, joined: datetime, uniqueid: str | None) -> QueueLeg:
        leg = QueueLeg(
            call_id=call.id,
            linkedid=call.linkedid,
            uniqueid=uniqueid,
            queue=queue,
            joined_at=joined,
            attempts=[],  # known empty: no lazy load later
        )
        self.session.add(leg)
        self.session.flush()
        if call.linkedid in self._known:
            self._legs_of.setdefault(call.linkedid, []).append(leg)
        self.stats.legs_created += 1
        return leg

    def refuse(self, call: PbxCall, queue: str, at: datetime, *, uniqueid: str | None) -> QueueLeg:
        for leg in self._legs(call.linkedid, queue):
            if leg.outcome == CallOutcome.REFUSED_AT_JOIN and _near(leg.joined_at, at, REFUSAL_TOLERANCE):
                leg.joined_at = _better(leg.joined_at, at) or at
                leg.ended_at = _better(leg.ended_at, at)
                return leg
        leg = self._new_leg(call, queue, at, uniqueid)
        leg.outcome = CallOutcome.REFUSED_AT_JOIN
        leg.ended_at = at
        return leg

    def answered(
        self,
        leg: QueueLeg,
        at: datetime,
        *,
        agent: str,
        interface: str | None,
        agent_uniqueid: str | None,
        wait_ms: int | None,
        ring_ms: int | None,
        ring_started: datetime | None,
    ) -> RingAttempt:
        leg.answered_at = _better(leg.answered_at, at)
        leg.agent = leg.agent or agent
        leg.interface = leg.interface or interface
        leg.agent_uniqueid = leg.agent_uniqueid or agent_uniqueid
        if leg.wait_ms is None:
            leg.wait_ms = wait_ms
        attempt = self.attempt(leg, agent, ended=at, started=ring_started, interface=interface)
        attempt.agent_uniqueid = attempt.agent_uniqueid or agent_uniqueid
        attempt.outcome = RingOutcome.ANSWERED  # an answer settles the attempt whatever was guessed before
        self.close_attempt(attempt, RingOutcome.ANSWERED, at, ring_ms)
        # every other phone still ringing for this caller stopped: another member answered (ringall)
        for other in leg.attempts:
            if other is not attempt and other.ended_at is None:
                self.close_attempt(other, RingOutcome.CANCELED, at, None)
        return attempt

    def ended(
        self,
        leg: QueueLeg,
        outcome: CallOutcome,
        at: datetime,
        *,
        decisive: bool,
        wait_ms: int | None = None,
        talk_ms: int | None = None,
        ended_by: EndedBy | None = None,
        exit_position: int | None = None,
        original_position: int | None = None,
        transfer_target: str | None = None,
    ) -> None:
        """``decisive``: queue_log's verb, which settles the outcome even over one already set from AMI."""
        if leg.outcome is None or (decisive and leg.outcome != outcome):
            leg.outcome = outcome
        leg.ended_at = _better(leg.ended_at, at)
        if leg.wait_ms is None:
            leg.wait_ms = wait_ms
        if leg.talk_ms is None:
            leg.talk_ms = talk_ms
        leg.ended_by = leg.ended_by or ended_by
        if leg.exit_position is None:
            leg.exit_position = exit_position
        if leg.original_position is None:
            leg.original_position = original_position
        leg.transfer_target = leg.transfer_target or transfer_target
        config = self.queues.get(leg.queue)
        if leg.answered_at is not None and leg.wrapup_ms is None and config and config.wrapup_s is not None:
            leg.wrapup_ms = config.wrapup_s * 1000
        for attempt in leg.attempts:
            if attempt.ended_at is None:
                self.close_attempt(attempt, RingOutcome.CANCELED, at, None)

    # --- ring attempts ---------------------------------------------------------------------------

    def attempt(
        self,
        leg: QueueLeg,
        agent: str,
        *,
        ended: datetime | None = None,
        started: datetime | None = None,
        interface: str | None = None,
    ) -> RingAttempt:
        mine = [a for a in leg.attempts if a.agent == agent]
        found: RingAttempt | None = None
        if ended is not None:
            found = next((a for a in mine if a.ended_at and _near(a.ended_at, ended, RING_TOLERANCE)), None)
            if found is None:
                found = next(
                    (
                        a
                        for a in reversed(mine)
                        if a.ended_at is None and a.started_at <= ended + RING_TOLERANCE
                    ),
                    None,
                )
        if found is None and started is not None:
            found = next((a for a in mine if _near(a.started_at, started, RING_TOLERANCE)), None)
        if found is None:
            found = RingAttempt(
                agent=agent, interface=interface, started_at=started or ended or leg.joined_at
            )
            leg.attempts.append(found)
            self.session.flush()
            self.stats.attempts_created += 1
        elif started is not None:
            found.started_at = _better(found.started_at, started) or started
        found.interface = found.interface or interface
        return found

    def close_attempt(
        self, attempt: RingAttempt, outcome: RingOutcome, at: datetime, ring_ms: int | None
    ) -> None:
        if attempt.outcome is None:
            attempt.outcome = outcome
        ended = attempt.ended_at = _better(attempt.ended_at, at) or at
        measured = max(0, round((ended - attempt.started_at).total_seconds() * 1000))
        if attempt.outcome == RingOutcome.RING_NO_ANSWER and ring_ms is not None:
            attempt.ring_ms = ring_ms  # app_queue's own RingTime, in ms (AMI and queue_log alike)
        elif _precise(attempt.started_at) and _precise(ended):
            attempt.ring_ms = measured  # both ends from AMI: better than a whole-second RingTime
        elif attempt.ring_ms is None:
            attempt.ring_ms = ring_ms if ring_ms is not None else measured

    # --- finishing -------------------------------------------------------------------------------

    def finish(self) -> IngestStats:
        """Derive each touched call's summary columns from its legs, and match customer and agent."""
        self.session.flush()
        for call in self.touched.values():
            if call.linkedid in self._known:
                legs = sorted(
                    (leg for leg in self._legs_of.get(call.linkedid, ()) if leg.call_id == call.id),
                    key=lambda leg: (leg.joined_at, leg.id),
                )
            else:
                legs = list(
                    self.session.scalars(
                        select(QueueLeg)
                        .where(QueueLeg.call_id == call.id)
                        .order_by(QueueLeg.joined_at, QueueLeg.id)
                    )
                )
            if legs:
                call.queue = call.queue or legs[0].queue
                answers = [leg.answered_at for leg in legs if leg.answered_at is not None]
                if answers:
                    call.answered_at = min(answers)
                last = legs[-1]
                if last.outcome is not None:
                    call.outcome = last.outcome.value
                call.started_at = _earliest(call.started_at, legs[0].joined_at)
                first_answered = next((leg for leg in legs if leg.answered_at is not None), None)
                if first_answered is not None:
                    if call.agent_id is None and first_answered.interface:
                        call.agent_id = self._user_id(first_answered.interface)
                    config = self.queues.get(first_answered.queue)
                    if call.recording_file is None and config is not None and config.records:
                        # app_queue's MixMonitor names the file after the caller channel
                        call.recording_file = (
                            f"{first_answered.uniqueid or call.uniqueid or call.linkedid}.wav"
                        )
            if call.customer_id is None and call.caller_number:
                ids = set(
                    self.session.scalars(
                        select(CustomerPhone.customer_id).where(CustomerPhone.number == call.caller_number)
                    )
                )
                if len(ids) == 1:  # a number shared by several customers is left for a person to choose
                    call.customer_id = ids.pop()
        self.session.flush()
        return self.stats


# --- domain events -----------------------------------------------------------------------------------


def ingest_events(
    session: Session,
    events: Iterable[object],
    *,
    queues: Mapping[str, QueueConfig] | None = None,
    region: str = "CN",
) -> IngestStats:
    """Records from the domain events of ``acd.events`` (in the order they happened)."""
    rec = Recorder(session, queues=queues, region=region)
    events = list(events)
    rec.preload(getattr(event, "linkedid", "") for event in events)
    with session.no_autoflush:  # the Recorder flushes where it needs ids; a flush per query is waste
        for event in events:
            rec.stats.items += 1
            _apply_event(rec, event)
    return rec.finish()


def _apply_event(rec: Recorder, event: object) -> None:
    if isinstance(event, ev.CallQueued):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid, at=event.at)
        rec.set_caller(call, event.caller_number)
        rec.join(call, event.queue, event.at, uniqueid=event.uniqueid, position=event.position)
    elif isinstance(event, ev.AgentRinging):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        leg = rec.leg(call, event.queue, event.at, joined=None, uniqueid=event.uniqueid)
        attempt = rec.attempt(leg, event.agent, started=event.at, interface=event.interface)
        attempt.agent_uniqueid = attempt.agent_uniqueid or event.agent_uniqueid
    elif isinstance(event, ev.AgentRingNoAnswer):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        started = event.at - timedelta(seconds=event.ring_seconds)
        leg = rec.leg(call, event.queue, event.at, joined=started, uniqueid=event.uniqueid)
        attempt = rec.attempt(leg, event.agent, ended=event.at, started=started, interface=event.interface)
        rec.close_attempt(attempt, RingOutcome.RING_NO_ANSWER, event.at, _ms(event.ring_seconds))
    elif isinstance(event, ev.AgentRingCanceled):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        leg = rec.leg(call, event.queue, event.at, joined=None, uniqueid=event.uniqueid)
        attempt = rec.attempt(leg, event.agent, ended=event.at, interface=event.interface)
        attempt.agent_uniqueid = attempt.agent_uniqueid or event.agent_uniqueid
        rec.close_attempt(attempt, RingOutcome.CANCELED, event.at, None)
    elif isinstance(event, ev.CallAnswered):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        joined = event.at - timedelta(seconds=event.wait_seconds)
        leg = rec.leg(call, event.queue, event.at, joined=joined, uniqueid=event.uniqueid)
        answered = rec.answered(
            leg,
            event.at,
            agent=event.agent,
            interface=event.interface,
            agent_uniqueid=event.agent_uniqueid,
            wait_ms=_ms(event.wait_seconds),
            ring_ms=None,  # measured from the AgentRinging time when known; else RingTime below
            ring_started=event.at - timedelta(seconds=event.ring_seconds),
        )
        if answered.ring_ms is None:
            answered.ring_ms = _ms(event.ring_seconds)
    elif isinstance(event, ev.CallCompleted | ev.CallTransferred):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        joined = event.at - timedelta(seconds=event.talk_seconds + event.wait_seconds)
        leg = rec.leg(call, event.queue, event.at, joined=joined, uniqueid=event.uniqueid)
        if leg.answered_at is None:
            answered_at = event.at - timedelta(seconds=event.talk_seconds)
            rec.answered(
                leg,
                answered_at,
                agent=event.agent,
                interface=event.interface,
                agent_uniqueid=None,
                wait_ms=_ms(event.wait_seconds),
                ring_ms=None,
                ring_started=None,
            )
        leg.agent = leg.agent or event.agent
        leg.interface = leg.interface or event.interface
        if isinstance(event, ev.CallTransferred):
            rec.ended(
                leg,
                CallOutcome.TRANSFERRED,
                event.at,
                decisive=False,
                wait_ms=_ms(event.wait_seconds),
                talk_ms=_ms(event.talk_seconds),
                ended_by=EndedBy.TRANSFER,
                transfer_target=f"{event.target_extension}@{event.target_context}",
            )
        else:
            rec.ended(
                leg,
                CallOutcome.ANSWERED,
                event.at,
                decisive=False,
                wait_ms=_ms(event.wait_seconds),
                talk_ms=_ms(event.talk_seconds),
                ended_by=event.ended_by,
            )
    elif isinstance(event, ev.CallLeftQueue):
        outcome = (
            CallOutcome.TIMED_OUT
            if isinstance(event, ev.CallTimedOut)
            else CallOutcome.LEFT_EMPTY_QUEUE
            if isinstance(event, ev.CallLeftEmptyQueue)
            else CallOutcome.ABANDONED
        )
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        joined = event.at - timedelta(seconds=event.wait_seconds)
        leg = rec.leg(call, event.queue, event.at, joined=joined, uniqueid=event.uniqueid)
        rec.ended(
            leg,
            outcome,
            event.at,
            decisive=False,
            wait_ms=_ms(event.wait_seconds),
            ended_by=EndedBy.CALLER if outcome == CallOutcome.ABANDONED else None,
            exit_position=event.position,
            original_position=event.original_position,
        )
    elif isinstance(event, ev.CallRefused):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid, at=event.at)
        queue = event.queue or call.queue
        if queue is None:
            call.outcome = CallOutcome.REFUSED_AT_JOIN.value  # which queue refused is unknown: no leg
        else:
            rec.refuse(call, queue, event.at, uniqueid=event.uniqueid)
    elif isinstance(event, ev.CallEnded):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        call.ended_at = _latest(call.ended_at, event.at)
    elif isinstance(event, ev.RecordingStarted):
        call = rec.call(event.linkedid, uniqueid=event.uniqueid)
        name = PurePosixPath(event.filename).name if event.filename else f"{event.uniqueid}.wav"
        call.recording_file = call.recording_file or name
    else:
        rec.stats.ignored += 1


# --- queue_log ---------------------------------------------------------------------------------------


def ingest_queue_log(
    session: Session,
    text: str,
    *,
    queues: Mapping[str, QueueConfig] | None = None,
    region: str = "CN",
) -> IngestStats:
    """Fills or completes queue legs from app_queue's queue_log (verbs: ENTERQUEUE, CONNECT, COMPLETEAGENT,
    COMPLETECALLER, BLINDTRANSFER, ATTENDEDTRANSFER, RINGNOANSWER, RINGCANCELED, ABANDON, EXITWITHTIMEOUT,
    EXITEMPTY; member and queue lines are ignored). ``queues`` (from queues.conf) names the interface of a
    member that queue_log gives by name only, and the wrap-up time."""
    rec = Recorder(session, queues=queues, region=region)
    parse_stats = QueueLogStats()
    for entry in parse_queue_log(text, parse_stats):
        if entry.callid in ("", "NONE", "MANAGER") or entry.queue in ("", "NONE"):
            rec.stats.ignored += 1
            continue
        if not _apply_queue_log(rec, entry):
            rec.stats.ignored += 1
    rec.stats.items = parse_stats.lines
    rec.stats.malformed = parse_stats.malformed
    return rec.finish()


def _apply_queue_log(rec: Recorder, entry: QueueLogEntry) -> bool:
    verb, at, queue = entry.verb, entry.at, entry.queue
    linkedid = rec.linkedid_of(entry.callid)
    if verb == "ENTERQUEUE":
        call = rec.call(linkedid, uniqueid=entry.callid, at=at)
        rec.set_caller(call, entry.field(2))
        rec.join(call, queue, at, uniqueid=entry.callid, position=entry.int_field(3) or 0)
        return True
    if verb == "CONNECT":
        hold, ring = entry.int_field(1), entry.int_field(3)
        agent_uniqueid = entry.field(2) or None
        call = rec.call(linkedid, uniqueid=entry.callid)
        joined = at - timedelta(seconds=hold) if hold is not None else None
        leg = rec.leg(call, queue, at, joined=joined, uniqueid=entry.callid)
        rec.answered(
            leg,
            at,
            agent=entry.agent,
            interface=rec.interface_of(queue, entry.agent, agent_uniqueid),
            agent_uniqueid=agent_uniqueid,
            wait_ms=None if hold is None else hold * 1000,
            ring_ms=None if ring is None else ring * 1000,
            ring_started=None if ring is None else at - timedelta(seconds=ring),
        )
        return True
    if verb in ("COMPLETEAGENT", "COMPLETECALLER", "BLINDTRANSFER", "ATTENDEDTRANSFER"):
        if verb in ("COMPLETEAGENT", "COMPLETECALLER"):
            hold, talk, origpos = entry.int_field(1), entry.int_field(2), entry.int_field(3)
            target = None
        else:
            # BLINDTRANSFER|exten|context|hold|talk|origpos; ATTENDEDTRANSFER|kind|x|y|hold|talk|origpos
            hold, talk, origpos = (entry.int_field(len(entry.data) - i) for i in (2, 1, 0))
            parts = entry.data[:-3] if len(entry.data) > 3 else ()
            target = "@".join(part for part in parts if part) or None
        call = rec.call(linkedid, uniqueid=entry.callid)
        joined = at - timedelta(seconds=(hold or 0) + (talk or 0)) if hold is not None else None
        leg = rec.leg(call, queue, at, joined=joined, uniqueid=entry.callid)
        if leg.answered_at is None:
            answered_at = at - timedelta(seconds=talk or 0)
            rec.answered(
                leg,
                answered_at,
                agent=entry.agent,
                interface=rec.interface_of(queue, entry.agent),
                agent_uniqueid=None,
                wait_ms=None if hold is None else hold * 1000,
                ring_ms=None,
                ring_started=None,
            )
        if verb == "COMPLETEAGENT":
            outcome, ended_by = CallOutcome.ANSWERED, EndedBy.AGENT
        elif verb == "COMPLETECALLER" and not (
            leg.outcome is CallOutcome.TRANSFERRED and leg.transfer_target
        ):
            outcome, ended_by = CallOutcome.ANSWERED, EndedBy.CALLER
        else:
            # a transfer; also an AMI Redirect out of the bridge (the desktop's transfer), which app_queue
            # logs as COMPLETECALLER while the ACD recorded the CallTransferred with its target
            outcome, ended_by = CallOutcome.TRANSFERRED, EndedBy.TRANSFER
        rec.ended(
            leg,
            outcome,
            at,
            decisive=True,
            wait_ms=None if hold is None else hold * 1000,
            talk_ms=None if talk is None else talk * 1000,
            ended_by=ended_by,
            original_position=origpos,
            transfer_target=target,
        )
        return True
    if verb in ("RINGNOANSWER", "RINGCANCELED"):
        ring_ms = entry.int_field(1)
        started = _whole(at - timedelta(milliseconds=ring_ms)) if ring_ms is not None else None
        call = rec.call(linkedid, uniqueid=entry.callid)
        leg = rec.leg(call, queue, at, joined=started, uniqueid=entry.callid)
        attempt = rec.attempt(
            leg, entry.agent, ended=at, started=started, interface=rec.interface_of(queue, entry.agent)
        )
        if verb == "RINGNOANSWER":
            attempt.outcome = RingOutcome.RING_NO_ANSWER  # queue_log's word on an attempt settles it
        rec.close_attempt(attempt, RingOutcome.CANCELED, at, ring_ms)
        return True
    if verb in LEFT_UNANSWERED:
        outcome = LEFT_UNANSWERED[verb]
        position, origpos, wait = entry.int_field(1), entry.int_field(2), entry.int_field(3)
        call = rec.call(linkedid, uniqueid=entry.callid)
        joined = at - timedelta(seconds=wait) if wait is not None else None
        leg = rec.leg(call, queue, at, joined=joined, uniqueid=entry.callid)
        rec.ended(
            leg,
            outcome,
            at,
            decisive=True,
            wait_ms=None if wait is None else wait * 1000,
            ended_by=EndedBy.CALLER if outcome == CallOutcome.ABANDONED else None,
            exit_position=position,
            original_position=origpos,
        )
        return True
    return False


# --- CEL and CDR -------------------------------------------------------------------------------------


def ingest_cel(session: Session, text: str, *, region: str = "CN", zone: tzinfo = UTC) -> IngestStats:
    """Channels (uniqueid → linkedid, channel name) and each call's start, end, first channel and caller
    number from cel.csv (times local to ``zone``). Other CEL events are read past."""
    rec = Recorder(session, region=region)
    parse_stats = CsvStats()
    first: dict[str, tuple[datetime, str, str, str]] = {}  # linkedid → (start, uniqueid, number, exten)
    for row in parse_cel(text, parse_stats, zone=zone):
        channel = session.scalar(select(PbxChannel).where(PbxChannel.uniqueid == row.uniqueid))
        if channel is None:
            channel = PbxChannel(uniqueid=row.uniqueid, linkedid=row.linkedid)
            session.add(channel)
        channel.linkedid = row.linkedid  # CEL is the authority on linkedid
        channel.channel = channel.channel or row.channel or None
        if row.event == "CHAN_START":
            channel.started_at = _earliest(channel.started_at, row.at)
            channel.caller_number = channel.caller_number or row.caller_number or None
            known = first.get(row.linkedid)
            # the call's first channel: the one whose uniqueid is the linkedid, else the earliest
            if known is None or (row.uniqueid == row.linkedid and known[1] != row.linkedid):
                first[row.linkedid] = (row.at, row.uniqueid, row.caller_number, row.exten)
            rec.call(row.linkedid, at=row.at)
        elif row.event == "CHAN_END":
            channel.ended_at = _latest(channel.ended_at, row.at)
        elif row.event == "LINKEDID_END":
            call = rec.call(row.linkedid)
            call.ended_at = _latest(call.ended_at, row.at)
        else:
            rec.stats.ignored += 1
        session.flush()
    for linkedid, (_at, uniqueid, number, exten) in first.items():
        call = rec.call(linkedid)
        if call.uniqueid is None or call.uniqueid == linkedid or uniqueid == linkedid:
            call.uniqueid = uniqueid
        rec.set_caller(call, number)
        call.called_number = call.called_number or exten or None
    rec.stats.items = parse_stats.lines
    rec.stats.malformed = parse_stats.malformed
    return rec.finish()


def ingest_cdr(session: Session, text: str, *, region: str = "CN", zone: tzinfo = UTC) -> IngestStats:
    """Each call's start, end, caller number and the queue it was sent to (the dialplan's
    ``CDR(userfield)=q:<queue>`` marker, or a ``Queue`` lastapp) from cdr_csv's Master.csv (times local to
    ``zone``)."""
    rec = Recorder(session, region=region)
    parse_stats = CsvStats()
    rows = sorted(parse_cdr(text, parse_stats, zone=zone), key=lambda row: (row.start, row.uniqueid))
    for row in rows:
        call = rec.call(row.linkedid, uniqueid=row.uniqueid, at=row.start)
        call.ended_at = _latest(call.ended_at, row.end)
        if row.uniqueid == call.uniqueid:
            rec.set_caller(call, row.src)
        if call.queue is None and row.queue:
            call.queue = row.queue
    rec.stats.items = parse_stats.lines
    rec.stats.malformed = parse_stats.malformed
    return rec.finish()


def infer_refusals(session: Session) -> int:
    """A call sent to a queue (``pbx_calls.queue``, from CDR) that has no leg in it was refused at the door:
    app_queue writes no queue_log line for JOINEMPTY/FULL, so after queue_log (and AMI, if any) has been
    ingested for the same period this is the only trace. Adds a ``refused_at_join`` leg at the call's start;
    returns how many. Run it only when queue_log or AMI covers the calls' time span."""
    rec = Recorder(session)
    added = 0
    calls = session.scalars(select(PbxCall).where(PbxCall.queue.is_not(None)).order_by(PbxCall.id))
    for call in list(calls):
        assert call.queue is not None
        has_leg = session.scalar(
            select(QueueLeg.id)
            .where(QueueLeg.linkedid == call.linkedid, QueueLeg.queue == call.queue)
            .limit(1)
        )
        if has_leg is not None or call.started_at is None:
            continue
        rec.touched[call.linkedid] = call
        rec.refuse(call, call.queue, call.started_at.astimezone(UTC), uniqueid=call.uniqueid)
        added += 1
    rec.finish()
    return added
