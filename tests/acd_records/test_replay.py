"""Replaying each capture folder from its files (queue_log + CEL + CDR) gives what dialog.txt and queue_log
say: the calls, their outcomes, who was rung and who answered, waits and talk times to the second."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acd.records.models import PbxCall, PbxChannel, QueueLeg, RingAttempt, RingOutcome
from acd.records.replay import load_queues, replay_folder, replay_into, summarise
from acd.records.service import ingest_cdr, ingest_cel, ingest_queue_log
from core.customers.models import Customer, CustomerGrade, CustomerPhone
from core.db import Base, make_engine, make_session_factory, transaction
from tests.acd_records.truth import FIXTURES, TruthLeg, dialog_legs

FOLDERS = [
    "answered",
    "abandoned",
    "transfer",
    "ringall",
    "priority",
    "penalty",
    "ivr",
    "actions",
    "agent-states",
]
MODELS = (PbxCall, QueueLeg, RingAttempt, PbxChannel)


def replay(tmp_path: Path, folder: str, name: str = "records.db") -> tuple[dict[str, Any], str]:
    url = f"sqlite:///{tmp_path / name}"
    return replay_folder(FIXTURES / folder, url, translate=None), url


def open_session(url: str) -> Session:
    return make_session_factory(make_engine(url))()


def row_counts(url: str) -> dict[str, int]:
    with open_session(url) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in MODELS
        }


def legs_by_call(session: Session) -> dict[str, list[QueueLeg]]:
    found: dict[str, list[QueueLeg]] = {}
    for leg in session.scalars(select(QueueLeg).order_by(QueueLeg.joined_at, QueueLeg.id)):
        found.setdefault(leg.linkedid, []).append(leg)
    return found


def expected_summary(
    truth: dict[str, list[TruthLeg]],
) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    queues: dict[str, Counter[str]] = {}
    agents: dict[str, Counter[str]] = {}
    for legs in truth.values():
        for leg in legs:
            if leg.outcome == "refused_at_join":
                continue
            counts = queues.setdefault(leg.queue, Counter())
            counts["offered"] += 1
            if leg.agent:
                counts["answered"] += 1
                agents.setdefault(leg.agent, Counter())["answered"] += 1
            outcome_key = {
                "abandoned": "abandoned",
                "timed_out": "exit_with_timeout",
                "left_empty_queue": "exit_empty",
                "transferred": "transferred",
            }.get(leg.outcome or "")
            if outcome_key:
                counts[outcome_key] += 1
            for agent in leg.ring_no_answer:
                agents.setdefault(agent, Counter())["ring_no_answer"] += 1
    return queues, agents


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_leg_matches_dialog(tmp_path: Path, folder: str) -> None:
    truth = dialog_legs(folder)
    _summary, url = replay(tmp_path, folder)
    with open_session(url) as session:
        stored = legs_by_call(session)
        assert set(stored) == set(truth)
        for linkedid, expected in truth.items():
            legs = stored[linkedid]
            assert len(legs) == len(expected), linkedid
            for leg, want in zip(legs, expected, strict=True):
                assert leg.outcome is not None and leg.outcome.value == want.outcome, linkedid
                if want.outcome == "refused_at_join":
                    assert leg.position is None and leg.answered_at is None
                    continue
                assert (leg.queue, leg.position, leg.agent) == (want.queue, want.position, want.agent), (
                    linkedid
                )
                assert leg.wait_s == want.wait_s, linkedid
                if want.talk_s is not None:
                    assert leg.talk_s == want.talk_s, linkedid
                rna = sorted(a.agent for a in leg.attempts if a.outcome == RingOutcome.RING_NO_ANSWER)
                assert rna == sorted(want.ring_no_answer), linkedid
                answered = [a.agent for a in leg.attempts if a.outcome == RingOutcome.ANSWERED]
                assert answered == ([want.agent] if want.agent else [])


@pytest.mark.parametrize("folder", FOLDERS)
def test_summary_counts_match_dialog(tmp_path: Path, folder: str) -> None:
    queues, agents = expected_summary(dialog_legs(folder))
    summary, _url = replay(tmp_path, folder)
    for name, counts in queues.items():
        for key in ("offered", "answered", "abandoned", "exit_with_timeout", "exit_empty", "transferred"):
            assert summary["queues"][name][key] == counts[key], (name, key)
    for name, counts in agents.items():
        assert summary["agents"][name]["answered"] == counts["answered"], name
        assert summary["agents"][name]["ring_no_answer"] == counts["ring_no_answer"], name


def test_answered_folder(tmp_path: Path) -> None:
    summary, url = replay(tmp_path, "answered")
    assert summary == {
        "queues": {
            "support": {
                "offered": 8,
                "answered": 8,
                "answered_within_sl": 7,  # 13800138004 waited 71 s (servicelevel=20)
                "abandoned": 0,
                "exit_with_timeout": 0,
                "exit_empty": 0,
                "transferred": 0,
                "avg_wait_answered_s": round((20 + 2 + 2 + 71 + 4 + 2 + 3 + 2) / 8, 2),
                "avg_talk_s": round((40 + 12 + 27 + 20 + 15 + 26 + 87 + 21) / 8, 2),
            }
        },
        "agents": {
            "Alice": {"answered": 0, "ring_no_answer": 5, "ring_canceled": 0},
            "Bob": {"answered": 3, "ring_no_answer": 0, "ring_canceled": 0},
            "Carol": {"answered": 2, "ring_no_answer": 0, "ring_canceled": 0},
            "Dave": {"answered": 3, "ring_no_answer": 0, "ring_canceled": 0},
        },
        "refused_at_join": {},
    }
    with open_session(url) as session:
        call = session.scalars(select(PbxCall).where(PbxCall.linkedid == "1795400391.7")).one()
        assert call.caller_number == "+8613800138004"
        assert call.queue == "support" and call.outcome == "answered"
        assert call.recording_file == "1795400391.7.wav"  # support records (monitor-format=wav)
        assert call.started_at is not None and call.answered_at is not None and call.ended_at is not None
        assert (call.answered_at - call.started_at).total_seconds() == 71
        assert (call.ended_at - call.answered_at).total_seconds() == 20
        leg = session.scalars(select(QueueLeg).where(QueueLeg.linkedid == "1795400391.7")).one()
        assert (leg.interface, leg.wrapup_s, leg.ended_by) == ("PJSIP/1004", 5.0, "agent")
        assert [(a.agent, a.outcome, a.ring_s) for a in leg.attempts] == [
            ("Alice", RingOutcome.RING_NO_ANSWER, 15.0),
            ("Alice", RingOutcome.RING_NO_ANSWER, 15.0),
            ("Alice", RingOutcome.RING_NO_ANSWER, 15.0),
            ("Alice", RingOutcome.RING_NO_ANSWER, 15.0),
            ("Dave", RingOutcome.ANSWERED, 2.0),
        ]
        carol = session.scalars(select(QueueLeg).where(QueueLeg.linkedid == "1795400357.0")).one()
        assert carol.ended_by == "caller" and carol.talk_s == 40


def test_abandoned_folder(tmp_path: Path) -> None:
    summary, url = replay(tmp_path, "abandoned")
    support, complaints, sales = (summary["queues"][q] for q in ("support", "complaints", "sales"))
    assert (support["offered"], support["abandoned"], support["answered"]) == (5, 5, 0)
    assert (complaints["offered"], complaints["exit_with_timeout"], complaints["abandoned"]) == (2, 2, 0)
    assert (sales["offered"], sales["exit_empty"]) == (1, 1)
    assert summary["refused_at_join"] == {"sales": 1}
    # 3 abandons while Alice rang (RINGCANCELED), one RNA before the third of them; Erin rang out in sales
    assert summary["agents"] == {
        "Alice": {"answered": 0, "ring_no_answer": 1, "ring_canceled": 3},
        "Erin": {"answered": 0, "ring_no_answer": 1, "ring_canceled": 0},
    }
    assert support["avg_wait_answered_s"] is None and support["avg_talk_s"] is None
    with open_session(url) as session:
        refused = session.scalars(select(PbxCall).where(PbxCall.linkedid == "1795400534.3")).one()
        assert refused.outcome == "refused_at_join" and refused.caller_number == "+8613700137008"
        waits = {leg.linkedid: leg.wait_s for leg in session.scalars(select(QueueLeg))}
        assert waits["1795400542.7"] == 25 and waits["1795400531.2"] == 30 and waits["1795400573.12"] == 15


def test_transfer_folder(tmp_path: Path) -> None:
    summary, url = replay(tmp_path, "transfer")
    support, complaints = summary["queues"]["support"], summary["queues"]["complaints"]
    assert (support["offered"], support["answered"], support["transferred"]) == (2, 2, 2)
    assert support["avg_talk_s"] == 8.0
    assert (complaints["offered"], complaints["answered"], complaints["transferred"]) == (1, 1, 0)
    assert complaints["avg_wait_answered_s"] == 2.0  # counted from the second join, not the call start
    with open_session(url) as session:
        targets = sorted(
            leg.transfer_target
            for leg in session.scalars(select(QueueLeg))
            if leg.transfer_target is not None
        )
        assert targets == ["601@from-internal", "700@from-internal"]
        erin = session.scalars(select(QueueLeg).where(QueueLeg.queue == "complaints")).one()
        assert erin.interface == "PJSIP/1005"  # CONNECT's agent uniqueid → CEL channel, Erin is dynamic


def test_ringall_folder(tmp_path: Path) -> None:
    summary, url = replay(tmp_path, "ringall")
    ringall = summary["queues"]["ringall"]
    assert (ringall["offered"], ringall["answered"], ringall["answered_within_sl"]) == (5, 5, 5)
    assert ringall["avg_wait_answered_s"] == round((2 + 2 + 13 + 1 + 2) / 5, 2)
    assert ringall["avg_talk_s"] == 6.0
    assert {name: (a["answered"], a["ring_no_answer"]) for name, a in summary["agents"].items()} == {
        "Bob": (2, 1),
        "Carol": (2, 1),
        "Dave": (1, 1),
    }
    with open_session(url) as session:
        leg = session.scalars(select(QueueLeg).where(QueueLeg.linkedid == "1795403053.7")).one()
        assert leg.wait_s == 13 and leg.wrapup_s == 2
        assert len(leg.attempts) == 4


def test_priority_folder(tmp_path: Path) -> None:
    summary, url = replay(tmp_path, "priority")
    queue = summary["queues"]["priority"]
    assert (queue["offered"], queue["answered"]) == (5, 5)
    assert queue["answered_within_sl"] == 3  # 25 s and 37 s are over servicelevel=20
    assert queue["avg_wait_answered_s"] == round((2 + 8 + 15 + 25 + 37) / 5, 2)
    with open_session(url) as session:
        legs = list(session.scalars(select(QueueLeg).order_by(QueueLeg.joined_at)))
        assert [leg.position for leg in legs] == [1, 2, 1, 2, 2]  # join positions after priority insertion
        service_order = [
            leg.linkedid for leg in sorted(legs, key=lambda leg: leg.answered_at or leg.joined_at)
        ]
        arrival = [leg.linkedid for leg in legs]
        assert [arrival.index(linkedid) + 1 for linkedid in service_order] == [1, 3, 5, 4, 2]


def test_penalty_folder(tmp_path: Path) -> None:
    summary, _url = replay(tmp_path, "penalty")
    queue = summary["queues"]["penalty"]
    assert (queue["offered"], queue["answered"], queue["answered_within_sl"]) == (9, 9, 9)
    assert queue["avg_talk_s"] == round((12 * 6 + 8 * 3) / 9, 2)
    assert {name: a["answered"] for name, a in summary["agents"].items()} == {"Bob": 3, "Carol": 3, "Dave": 3}


@pytest.mark.parametrize("folder", ["answered", "abandoned", "transfer", "ringall"])
def test_replaying_twice_changes_nothing(tmp_path: Path, folder: str) -> None:
    first, url = replay(tmp_path, folder)
    counts = row_counts(url)
    second, _ = replay(tmp_path, folder)
    assert second == first
    assert row_counts(url) == counts


def test_source_order_does_not_matter(tmp_path: Path) -> None:
    """queue_log before CEL/CDR (and twice) gives the same records as the replay order."""
    expected, _ = replay(tmp_path, "abandoned", "a.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    Base.metadata.create_all(engine)
    folder = FIXTURES / "abandoned"
    queues = load_queues(folder)
    with transaction(make_session_factory(engine)) as session:
        ingest_queue_log(session, (folder / "queue_log").read_text(), queues=queues)
        ingest_cdr(session, (folder / "cdr.csv").read_text())
        ingest_cel(session, (folder / "cel.csv").read_text())
        replay_into(session, folder, translate=None, queues=queues)
    with transaction(make_session_factory(engine)) as session:
        levels = {name: q.service_level_s for name, q in queues.items()}
        assert summarise(session, service_level_s=levels) == expected


def test_service_level_threshold_is_per_queue(tmp_path: Path) -> None:
    _summary, url = replay(tmp_path, "priority")
    with open_session(url) as session:
        assert (
            summarise(session, service_level_s={"priority": 25})["queues"]["priority"]["answered_within_sl"]
            == 4
        )
        assert summarise(session)["queues"]["priority"]["answered_within_sl"] == 3  # 20 s default


def test_caller_is_matched_to_customer_by_number(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with transaction(make_session_factory(engine)) as session:
        customer = Customer(code="C000001", name="刘洋", grade=next(iter(CustomerGrade)))
        session.add(customer)
        session.flush()
        session.add(CustomerPhone(customer_id=customer.id, number="+8613800138004"))
    replay_folder(FIXTURES / "answered", url, translate=None)
    with open_session(url) as session:
        matched = {call.linkedid: call.customer_id for call in session.scalars(select(PbxCall))}
        assert matched.pop("1795400391.7") == customer.id
        assert set(matched.values()) == {None}


@pytest.mark.postgres
def test_replay_on_postgres(fresh_postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_postgres_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    first = replay_folder(FIXTURES / "transfer", fresh_postgres_url, translate=None, create_schema=False)
    counts = row_counts(fresh_postgres_url)
    second = replay_folder(FIXTURES / "transfer", fresh_postgres_url, translate=None, create_schema=False)
    assert first == second
    assert (
        row_counts(fresh_postgres_url)
        == counts
        == {
            "pbx_calls": 2,
            "pbx_queue_legs": 3,
            "pbx_ring_attempts": 3,
            "pbx_channels": 6,
        }
    )
    sqlite_summary, _ = replay(tmp_path, "transfer")
    assert first == sqlite_summary
