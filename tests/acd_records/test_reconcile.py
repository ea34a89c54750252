"""AMI-derived domain events and the files about the same calls are merged, never duplicated: the same leg
is (linkedid, queue, join within a second), AMI's sub-second times are kept, queue_log fills what AMI missed
and settles outcomes AMI cannot tell apart. The events are written by hand from answered/ and abandoned/
dialog.txt (times to the millisecond), so these tests do not need the translator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acd import events as ev
from acd.records.models import PbxCall, QueueLeg, RingAttempt, RingOutcome
from acd.records.replay import load_queues, replay_into, summarise
from acd.records.service import infer_refusals, ingest_events, ingest_queue_log
from core.db import Base, make_engine, make_session_factory
from tests.acd_records.truth import FIXTURES

ANSWERED = FIXTURES / "answered"
QUEUES = load_queues(ANSWERED)
CALL1 = "1795400357.0"


def t(clock: str, day: str = "2026-11-23") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


def call1_events() -> list[object]:
    """answered/ call 1: Alice rings out, Carol answers after 20 s, the caller hangs up after 40 s."""
    common = {"linkedid": CALL1, "uniqueid": CALL1, "queue": "support"}
    return [
        ev.CallQueued(
            at=t("02:19:17.840"),
            caller_number="13800138001",
            caller_name="Li Wei",
            position=1,
            count=1,
            **common,
        ),
        ev.AgentRinging(
            at=t("02:19:17.841"),
            agent="Alice",
            interface="PJSIP/1001",
            agent_channel="PJSIP/1001-00000001",
            agent_uniqueid="1795400357.1",
            **common,
        ),
        ev.AgentRingNoAnswer(
            at=t("02:19:32.841"), agent="Alice", interface="PJSIP/1001", ring_seconds=15.0, **common
        ),
        ev.AgentRinging(
            at=t("02:19:34.844"),
            agent="Carol",
            interface="PJSIP/1003",
            agent_channel="PJSIP/1003-00000004",
            agent_uniqueid="1795400374.4",
            **common,
        ),
        ev.RecordingStarted(
            at=t("02:19:37.350"),
            linkedid=CALL1,
            uniqueid=CALL1,
            filename="/var/spool/asterisk/monitor/1795400357.0.wav",
        ),
        ev.CallAnswered(
            at=t("02:19:37.351"),
            agent="Carol",
            interface="PJSIP/1003",
            agent_uniqueid="1795400374.4",
            wait_seconds=20.0,
            ring_seconds=2.0,
            **common,
        ),
        ev.CallCompleted(
            at=t("02:20:17.848"),
            agent="Carol",
            interface="PJSIP/1003",
            wait_seconds=20.0,
            talk_seconds=40.0,
            ended_by=ev.EndedBy.CALLER,
            **common,
        ),
        ev.CallEnded(
            at=t("02:20:17.848"), linkedid=CALL1, uniqueid=CALL1, cause=16, cause_text="Normal Clearing"
        ),
    ]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as db:
        yield db
    engine.dispose()


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (PbxCall, QueueLeg, RingAttempt)
    )


def leg_of(session: Session, linkedid: str, queue: str = "support") -> QueueLeg:
    return session.scalars(
        select(QueueLeg).where(QueueLeg.linkedid == linkedid, QueueLeg.queue == queue)
    ).one()


def files_only_summary(tmp_path: Path, folder: Path) -> dict[str, object]:
    engine = make_engine(f"sqlite:///{tmp_path / 'files.db'}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as db:
        replay_into(db, folder, translate=None, queues=load_queues(folder))
        return summarise(db)


@pytest.mark.parametrize("events_first", [True, False])
def test_events_and_queue_log_give_one_leg_with_ami_precision(
    session: Session, tmp_path: Path, events_first: bool
) -> None:
    if events_first:
        ingest_events(session, call1_events(), queues=QUEUES)
    replay_into(session, ANSWERED, translate=None, queues=QUEUES)
    if not events_first:
        ingest_events(session, call1_events(), queues=QUEUES)
    assert counts(session) == (8, 8, 13)  # as from the files alone: 8 calls, 8 legs, 13 AgentCalled
    leg = leg_of(session, CALL1)
    assert leg.joined_at == t("02:19:17.840")  # AMI's time, not queue_log's whole second
    assert leg.answered_at == t("02:19:37.351")
    assert (leg.wait_s, leg.talk_s, leg.agent, leg.interface, leg.ended_by) == (
        20,
        40,
        "Carol",
        "PJSIP/1003",
        "caller",
    )
    assert [(a.agent, a.started_at, a.outcome) for a in leg.attempts] == [
        ("Alice", t("02:19:17.841"), RingOutcome.RING_NO_ANSWER),
        ("Carol", t("02:19:34.844"), RingOutcome.ANSWERED),
    ]
    carol = leg.attempts[1]
    assert carol.ring_ms == 2507 and carol.agent_uniqueid == "1795400374.4"  # measured from AMI times
    call = session.scalars(select(PbxCall).where(PbxCall.linkedid == CALL1)).one()
    assert call.recording_file == "1795400357.0.wav"
    assert call.answered_at == t("02:19:37.351")
    assert summarise(session) == files_only_summary(tmp_path, ANSWERED)


def test_same_events_twice_change_nothing(session: Session) -> None:
    ingest_events(session, call1_events(), queues=QUEUES)
    before = counts(session)
    ingest_events(session, call1_events(), queues=QUEUES)
    assert counts(session) == before == (1, 1, 2)
    leg = leg_of(session, CALL1)
    assert (leg.wait_ms, leg.talk_ms, leg.wrapup_ms, leg.outcome) == (20000, 40000, 5000, "answered")


def test_call_missed_while_link_was_down_is_completed_from_queue_log(session: Session) -> None:
    # the link dropped right after Alice started ringing: no RNA, answer or completion came by AMI
    ingest_events(session, call1_events()[:2], queues=QUEUES)
    leg = leg_of(session, CALL1)
    assert leg.outcome is None and leg.answered_at is None
    ingest_queue_log(session, (ANSWERED / "queue_log").read_text(), queues=QUEUES)
    leg = leg_of(session, CALL1)
    assert (leg.outcome, leg.agent, leg.wait_s, leg.talk_s) == ("answered", "Carol", 20, 40)
    assert leg.joined_at == t("02:19:17.840")
    assert [(a.agent, a.outcome, a.ring_s) for a in leg.attempts] == [
        ("Alice", RingOutcome.RING_NO_ANSWER, 15.0),
        ("Carol", RingOutcome.ANSWERED, 2.0),
    ]
    assert leg.attempts[0].started_at == t("02:19:17.841")  # the open AMI attempt was closed, not doubled


def test_events_after_a_gap_adopt_the_leg_queue_log_made_first(session: Session) -> None:
    """AMI came back mid-call: an answer without its join makes a provisional leg that the join adopts."""
    ingest_events(session, call1_events()[5:], queues=QUEUES)  # CallAnswered, CallCompleted, CallEnded
    leg = leg_of(session, CALL1)
    assert leg.position is None and leg.joined_at == t("02:19:17")  # estimated: answer − wait
    ingest_events(session, call1_events()[:1], queues=QUEUES)
    leg = leg_of(session, CALL1)
    assert (leg.position, leg.joined_at) == (1, t("02:19:17.840"))
    assert counts(session) == (1, 1, 1)


def test_ringall_losers_are_cancelled_when_another_member_answers(session: Session) -> None:
    linkedid = "1795403038.0"
    common = {"linkedid": linkedid, "uniqueid": linkedid, "queue": "ringall"}
    rung = [("Carol", "03:03:58.774"), ("Bob", "03:03:58.775"), ("Dave", "03:03:58.775")]
    events: list[object] = [
        ev.CallQueued(
            at=t("03:03:58.773"), caller_number="13200132001", caller_name=None, position=1, count=1, **common
        )
    ]
    for n, (agent, clock) in enumerate(rung):
        interface = {"Bob": "PJSIP/1002", "Carol": "PJSIP/1003", "Dave": "PJSIP/1004"}[agent]
        events.append(
            ev.AgentRinging(
                at=t(clock),
                agent=agent,
                interface=interface,
                agent_channel=f"{interface}-0",
                agent_uniqueid=f"x.{n}",
                **common,
            )
        )
    events.append(
        ev.CallAnswered(
            at=t("03:04:00.284"),
            agent="Bob",
            interface="PJSIP/1002",
            agent_uniqueid="x.1",
            wait_seconds=2,
            ring_seconds=1,
            **common,
        )
    )
    queues = load_queues(FIXTURES / "ringall")
    ingest_events(session, events, queues=queues)
    ingest_queue_log(session, (FIXTURES / "ringall" / "queue_log").read_text(), queues=queues)
    leg = leg_of(session, linkedid, "ringall")
    assert sorted((a.agent, a.outcome) for a in leg.attempts) == [
        ("Bob", RingOutcome.ANSWERED),
        ("Carol", RingOutcome.CANCELED),
        ("Dave", RingOutcome.CANCELED),
    ]
    assert all(a.ended_at == t("03:04:00.284") for a in leg.attempts)
    agents = summarise(session)["agents"]
    assert agents["Carol"]["ring_canceled"] == 1 and agents["Dave"]["ring_canceled"] == 1


def test_queue_log_settles_a_timeout_that_ami_reported_as_an_abandon(session: Session) -> None:
    linkedid = "1795400531.2"
    common = {"linkedid": linkedid, "uniqueid": linkedid, "queue": "complaints"}
    joined = t("02:22:11.300")
    ingest_events(
        session,
        [
            ev.CallQueued(
                at=joined, caller_number="13700137006", caller_name=None, position=1, count=1, **common
            ),
            # a translator that missed VarSet QUEUESTATUS=TIMEOUT would say "abandoned"
            ev.CallAbandoned(
                at=joined + timedelta(seconds=30), position=1, original_position=1, wait_seconds=30, **common
            ),
        ],
    )
    assert leg_of(session, linkedid, "complaints").outcome == "abandoned"
    ingest_queue_log(session, (FIXTURES / "abandoned" / "queue_log").read_text())
    leg = leg_of(session, linkedid, "complaints")
    assert (leg.outcome, leg.wait_s, leg.joined_at) == ("timed_out", 30, joined)


def test_refusal_from_ami_and_from_cdr_is_one_leg(session: Session) -> None:
    folder = FIXTURES / "abandoned"
    refused = ev.CallRefused(
        at=t("02:22:14.420"),
        linkedid="1795400534.3",
        uniqueid="1795400534.3",
        queue="sales",
        reason="joinempty",
    )
    ingest_events(session, [refused])
    replay_into(session, folder, translate=None, queues=load_queues(folder))
    assert infer_refusals(session) == 0
    legs = session.scalars(select(QueueLeg).where(QueueLeg.linkedid == "1795400534.3")).all()
    assert [(leg.queue, leg.outcome, leg.joined_at) for leg in legs] == [
        ("sales", "refused_at_join", t("02:22:14.420"))
    ]
    assert summarise(session)["refused_at_join"] == {"sales": 1}


def test_a_redirect_transfer_stays_transferred_when_queue_log_says_completecaller(session: Session) -> None:
    # An AMI Redirect out of the queue bridge (the desktop's transfer) is logged by app_queue as
    # COMPLETECALLER; the CallTransferred the ACD recorded knows better.
    linkedid = "1795400600.1"
    common = {"linkedid": linkedid, "uniqueid": linkedid, "queue": "support"}
    joined = datetime.fromtimestamp(1795400600, UTC)
    agent = {"agent": "Bob", "interface": "PJSIP/1002"}
    ingest_events(
        session,
        [
            ev.CallQueued(
                at=joined, caller_number="13900139001", caller_name=None, position=1, count=1, **common
            ),
            ev.CallAnswered(
                at=joined + timedelta(seconds=3),
                agent_uniqueid="x.1",
                wait_seconds=3,
                ring_seconds=1,
                **agent,
                **common,
            ),
            ev.CallTransferred(
                at=joined + timedelta(seconds=50),
                target_extension="sales",
                target_context="queues",
                wait_seconds=3,
                talk_seconds=47,
                **agent,
                **common,
            ),
        ],
    )
    ingest_queue_log(
        session,
        f"1795400600|{linkedid}|support|NONE|ENTERQUEUE||13900139001|1\n"
        f"1795400603|{linkedid}|support|Bob|CONNECT|3|x.1|1\n"
        f"1795400650|{linkedid}|support|Bob|COMPLETECALLER|3|47|1\n",
    )
    leg = leg_of(session, linkedid, "support")
    assert (leg.outcome, leg.transfer_target, leg.ended_by) == ("transferred", "sales@queues", "transfer")
