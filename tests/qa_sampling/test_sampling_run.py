"""Sampling at the service level: each rule picks exactly the calls it should, reruns create nothing new,
the random sample is reproducible, and assignments are spread over the inspectors."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.audit.service import Actor
from core.security.roles import Role
from qa import sampling
from qa.models import Assignment, AssignmentStatus, Calibration, Scorecard, ScorecardVersion
from qa.sampling_models import SamplingRule, SamplingRuleKind, SamplingRun
from recording.models import RecordingStatus
from tests.conftest import MakeUser
from tests.qa_sampling.conftest import MONDAY, MakeRecording, add_complaint, add_survey

ZONE = ZoneInfo("Asia/Shanghai")
ACTOR = Actor(user_id=None, username="system")
K = SamplingRuleKind
WEEK_START = MONDAY  # W45 in the center's zone
WEEK_END = MONDAY + timedelta(days=7)


def _rule(
    db: Session, kind: K, params: dict[str, Any], inspectors: list[int], scorecard: Scorecard, code: str = ""
) -> SamplingRule:
    row = SamplingRule(
        code=code or kind.value, kind=kind, params=params, inspector_ids=inspectors, scorecard_id=scorecard.id
    )
    db.add(row)
    db.commit()
    return row


def _run(db: Session, start: datetime = WEEK_START, end: datetime = WEEK_END) -> sampling.RunResult:
    result = sampling.run_sampling(db, period_start=start, period_end=end, zone=ZONE, actor=ACTOR)
    db.commit()
    return result


def _assigned(db: Session) -> dict[int, Assignment]:
    return {a.recording_id: a for a in db.scalars(select(Assignment))}


def test_long_silence_picks_calls_at_or_over_the_threshold(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.LONG_SILENCE, {"min_silence_ms": 20_000}, [inspector.id], scorecard)
    under = make_recording(analysis={"longest_silence_ms": 19_999})
    at = make_recording(analysis={"longest_silence_ms": 20_000})
    over = make_recording(analysis={"longest_silence_ms": 45_000})
    make_recording()  # not analysed
    make_recording(status=RecordingStatus.CORRUPT, analysis={"longest_silence_ms": 60_000})
    make_recording(MONDAY - timedelta(days=1), analysis={"longest_silence_ms": 60_000})  # before the period
    make_recording(WEEK_END, analysis={"longest_silence_ms": 60_000})  # the end is exclusive

    result = _run(db)

    assert set(_assigned(db)) == {at.id, over.id}
    assert under.id not in _assigned(db)
    assert result.created == 2 and result.by_rule == {"long_silence": 2}
    assignment = _assigned(db)[at.id]
    assert (assignment.reason, assignment.inspector_id, assignment.status) == (
        "long_silence",
        inspector.id,
        AssignmentStatus.OPEN,
    )
    assert assignment.scorecard_version.scorecard_id == scorecard.id


def test_overtalk_ignores_mixed_mono_calls(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.OVERTALK, {"min_overtalk_ms": 5_000}, [inspector.id], scorecard)
    make_recording(analysis={"overtalk_ms": 4_999})
    hit = make_recording(analysis={"overtalk_ms": 5_000})
    make_recording(analysis={"overtalk_ms": None, "mixed_mono": True, "not_measurable": ["overtalk"]})

    _run(db)

    assert set(_assigned(db)) == {hit.id}


def test_low_survey_means_dissatisfied_on_the_one_is_best_scale(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.LOW_SURVEY, {"min_score": 4}, [inspector.id], scorecard)
    calls = {score: make_recording() for score in (1, 2, 3, 4, 5)}
    for score, call in calls.items():
        add_survey(db, call.linkedid, score)
    unsurveyed = make_recording()
    add_survey(db, "someone-else", 5)

    _run(db)

    assert set(_assigned(db)) == {calls[4].id, calls[5].id}
    assert unsurveyed.id not in _assigned(db)


def test_complaint_by_linkedid_or_call_id(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    from core.calls.models import PbxCall

    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.COMPLAINT, {}, [inspector.id], scorecard)
    by_linkedid = make_recording()
    call = PbxCall(linkedid="call-row-1")
    db.add(call)
    db.commit()
    by_call_id = make_recording(call_id=call.id)
    make_recording()  # no complaint
    add_complaint(db, linkedid=by_linkedid.linkedid)
    add_complaint(db, call_id=call.id)
    add_complaint(db)  # a complaint not registered on a call

    _run(db)

    assert set(_assigned(db)) == {by_linkedid.id, by_call_id.id}


def test_new_agent_uses_hired_on(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.NEW_AGENT, {"days": 30}, [inspector.id], scorecard)
    new = make_user(Role.AGENT, hired_on=MONDAY - timedelta(days=10))
    veteran = make_user(Role.AGENT, hired_on=MONDAY - timedelta(days=40))
    unknown = make_user(Role.AGENT)  # no hired_on: never "new", whatever its created_at
    edge = make_user(Role.AGENT, hired_on=MONDAY + timedelta(days=1) - timedelta(days=30))
    new_call = make_recording(agent_user_id=new.id)
    make_recording(agent_user_id=veteran.id)
    make_recording(agent_user_id=unknown.id)
    make_recording(agent=None)
    edge_inside = make_recording(MONDAY, agent_user_id=edge.id)  # day 29
    make_recording(MONDAY + timedelta(days=1), agent_user_id=edge.id)  # day 30: no longer new

    _run(db)

    assert set(_assigned(db)) == {new_call.id, edge_inside.id}


def test_random_picks_n_per_agent_per_week_reproducibly(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.RANDOM_PER_AGENT, {"per_week": 5}, [inspector.id], scorecard, code="random_weekly")
    busy = make_user(Role.AGENT)
    quiet = make_user(Role.AGENT)
    busy_week1 = [make_recording(MONDAY + timedelta(hours=i * 7), agent_user_id=busy.id) for i in range(12)]
    busy_week2 = [make_recording(WEEK_END + timedelta(hours=i), agent_user_id=busy.id) for i in range(3)]
    quiet_calls = [make_recording(MONDAY + timedelta(hours=i), agent_user_id=quiet.id) for i in range(2)]
    member_only = [make_recording(MONDAY + timedelta(hours=i), agent="2002") for i in range(7)]

    result = _run(db, WEEK_START, WEEK_END + timedelta(days=7))

    assigned = set(_assigned(db))
    assert len(assigned & {r.id for r in busy_week1}) == 5
    assert assigned >= {r.id for r in busy_week2} | {r.id for r in quiet_calls}
    assert len(assigned & {r.id for r in member_only}) == 5  # keyed by member name without a user
    assert result.by_rule == {"random_weekly": 5 + 3 + 2 + 5}

    # The picks are the seeded shuffle of the agent's calls of that week: same seed, same calls.
    ordered = sorted(r.id for r in busy_week1)
    random.Random(sampling.random_seed("random_weekly", f"user:{busy.id}", "2026-W45")).shuffle(ordered)
    assert assigned & {r.id for r in busy_week1} == set(ordered[:5])

    rerun = _run(db, WEEK_START, WEEK_END + timedelta(days=7))
    assert rerun.created == 0 and rerun.by_rule == {"random_weekly": 0}
    assert len(_assigned(db)) == 15


def test_random_quota_holds_across_runs_over_parts_of_a_week(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.RANDOM_PER_AGENT, {"per_week": 4}, [inspector.id], scorecard)
    agent = make_user(Role.AGENT)
    for day in range(7):
        for hour in range(2):
            make_recording(MONDAY + timedelta(days=day, hours=hour), agent_user_id=agent.id)

    first = _run(db, WEEK_START, WEEK_START + timedelta(days=1))  # Monday: 2 calls
    second = _run(db, WEEK_START + timedelta(days=1), WEEK_END)  # the rest of the week

    assert first.created == 2
    assert second.created == 2
    assert len(_assigned(db)) == 4


def test_same_data_same_random_picks_in_another_database(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    """What the RNG draws depends on (rule, agent, week) only: deleting the assignments and running
    again picks the same calls."""
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.RANDOM_PER_AGENT, {"per_week": 3}, [inspector.id], scorecard)
    agent = make_user(Role.AGENT)
    for i in range(10):
        make_recording(MONDAY + timedelta(hours=i), agent_user_id=agent.id)
    _run(db)
    first = set(_assigned(db))
    for row in db.scalars(select(Assignment)):
        db.delete(row)
    db.commit()
    _run(db)
    assert set(_assigned(db)) == first and len(first) == 3


def test_targeted_rules_first_each_call_assigned_once_and_reruns_create_nothing(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.RANDOM_PER_AGENT, {"per_week": 1}, [inspector.id], scorecard, code="random_weekly")
    _rule(db, K.LONG_SILENCE, {"min_silence_ms": 20_000}, [inspector.id], scorecard)
    _rule(db, K.COMPLAINT, {}, [inspector.id], scorecard)
    agent = make_user(Role.AGENT)
    both = make_recording(agent_user_id=agent.id, analysis={"longest_silence_ms": 30_000})
    add_complaint(db, linkedid=both.linkedid)
    silent = make_recording(agent_user_id=agent.id, analysis={"longest_silence_ms": 30_000})

    result = _run(db)

    assigned = _assigned(db)
    assert assigned[both.id].reason == "complaint"
    assert assigned[silent.id].reason == "long_silence"
    assert result.by_rule == {"complaint": 1, "long_silence": 1, "random_weekly": 0}  # nothing left to draw
    assert db.scalar(select(SamplingRun.created).order_by(SamplingRun.id.desc())) == 2

    again = _run(db)
    assert again.created == 0
    assert len(db.scalars(select(Assignment)).all()) == 2
    audit_rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "qa.sampling.run")).all()
    assert [(row.detail or {})["created"] for row in audit_rows] == [2, 0]


def test_already_assigned_calls_are_skipped_but_calibration_does_not_count(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    from qa import service as qa_service

    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.LONG_SILENCE, {"min_silence_ms": 20_000}, [inspector.id], scorecard)
    manual = make_recording(analysis={"longest_silence_ms": 30_000})
    calibrated = make_recording(analysis={"longest_silence_ms": 30_000})
    qa_service.assign(
        db,
        recording_id=manual.id,
        scorecard_id=scorecard.id,
        inspector_id=inspector.id,
        reason="manual",
        actor=ACTOR,
    )
    version = db.scalars(select(ScorecardVersion)).one()
    calibration = Calibration(recording_id=calibrated.id, scorecard_version_id=version.id)
    db.add(calibration)
    db.flush()
    db.add(
        Assignment(
            recording_id=calibrated.id,
            scorecard_version_id=version.id,
            inspector_id=make_user(Role.QA_LEAD).id,
            reason="calibration",
            calibration_id=calibration.id,
        )
    )
    db.commit()

    result = _run(db)

    assert result.created == 1
    reasons = sorted((a.recording_id, a.reason) for a in db.scalars(select(Assignment)))
    assert reasons == sorted(
        [(manual.id, "manual"), (calibrated.id, "calibration"), (calibrated.id, "long_silence")]
    )


def test_round_robin_balances_open_load_and_never_the_agent_themselves(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    a = make_user(Role.QA_INSPECTOR)
    b = make_user(Role.QA_INSPECTOR)
    lead = make_user(Role.TEAM_LEAD)  # has qa.evaluate; also takes calls
    _rule(db, K.LONG_SILENCE, {"min_silence_ms": 20_000}, [a.id, b.id, lead.id], scorecard)
    # a already has two open assignments from earlier work
    for _ in range(2):
        earlier = make_recording(MONDAY - timedelta(days=3))
        db.add(
            Assignment(
                recording_id=earlier.id,
                scorecard_version_id=db.scalars(select(ScorecardVersion.id)).one(),
                inspector_id=a.id,
                reason="manual",
            )
        )
    db.commit()
    own = make_recording(agent_user_id=lead.id, analysis={"longest_silence_ms": 30_000})
    for i in range(6):
        make_recording(MONDAY + timedelta(minutes=i + 1), analysis={"longest_silence_ms": 30_000})

    _run(db)

    new = [x for x in db.scalars(select(Assignment).order_by(Assignment.id)) if x.reason == "long_silence"]
    counts = {uid: sum(1 for x in new if x.inspector_id == uid) for uid in (a.id, b.id, lead.id)}
    # 7 new: open loads end as even as possible (a starts with 2)
    assert counts == {a.id: 1, b.id: 3, lead.id: 3}
    assert _assigned(db)[own.id].inspector_id != lead.id


def test_inactive_rules_and_rules_without_inspectors_do_nothing(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    gone = make_user(Role.QA_INSPECTOR, active=False)
    agent_only = make_user(Role.AGENT)
    _rule(db, K.LONG_SILENCE, {"min_silence_ms": 20_000}, [gone.id, agent_only.id], scorecard)
    off = _rule(db, K.OVERTALK, {"min_overtalk_ms": 100}, [make_user(Role.QA_INSPECTOR).id], scorecard)
    off.active = False
    db.commit()
    make_recording(analysis={"longest_silence_ms": 30_000, "overtalk_ms": 9_000})

    result = _run(db)

    assert result.created == 0
    assert result.skipped == ["long_silence"]
    assert "overtalk" not in result.by_rule


def test_seed_rules_creates_the_defaults_once(db: Session, make_user: MakeUser, scorecard: Scorecard) -> None:
    inspectors = [make_user(Role.QA_INSPECTOR).id for _ in range(2)]
    make_user(Role.QA_INSPECTOR, active=False)
    created = sampling.seed_rules(db)
    db.commit()
    rules = {r.code: r for r in db.scalars(select(SamplingRule))}
    assert [r.code for r in created] == [
        "random_weekly",
        "long_silence",
        "overtalk",
        "low_survey",
        "complaint",
        "new_agent",
    ]
    assert rules["random_weekly"].params == {"per_week": 5}
    assert rules["long_silence"].params == {"min_silence_ms": 20_000}
    assert rules["overtalk"].params == {"min_overtalk_ms": 5_000}
    assert rules["low_survey"].params == {"min_score": 4}
    assert rules["new_agent"].params == {"days": 30}
    assert all(
        r.active and r.inspector_ids == inspectors and r.scorecard_id == scorecard.id for r in rules.values()
    )
    for rule in rules.values():
        assert sampling.param_problems(rule.kind, rule.params, ()) == []
    assert sampling.seed_rules(db) == []


def test_seed_rules_without_a_scorecard_are_inactive(db: Session) -> None:
    sampling.seed_rules(db)
    assert {r.active for r in db.scalars(select(SamplingRule))} == {False}


# --- pure parts ------------------------------------------------------------------------------------


def test_pick_inspector_round_robin_on_ties() -> None:
    picks = []
    loads: dict[int, int] = {}
    last = None
    for _ in range(6):
        last = sampling.pick_inspector([7, 8, 9], loads, last)
        loads[last] = loads.get(last, 0) + 1
        picks.append(last)
    assert picks == [7, 8, 9, 7, 8, 9]
    assert sampling.pick_inspector([7, 8, 9], {7: 3, 8: 1, 9: 1}, 8) == 9


@settings(max_examples=40, deadline=None)
@given(
    calls=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 20 * 24)),
        min_size=0,
        max_size=40,
        unique_by=lambda c: c[1],
    ),
    per_week=st.integers(1, 6),
    taken=st.sets(st.integers(0, 20 * 24)),
)
def test_random_picks_respect_quota_pool_and_are_deterministic(
    calls: list[tuple[int, int]], per_week: int, taken: set[int]
) -> None:
    candidates = [
        sampling.Candidate(
            recording_id=hour, started_at=MONDAY + timedelta(hours=hour), agent_user_id=agent, agent=None
        )
        for agent, hour in calls
    ]
    pool = {c.recording_id for c in candidates} - taken
    picks = sampling.random_picks("r", per_week, candidates, pool=pool, already={}, zone=ZONE)
    again = sampling.random_picks(
        "r", per_week, list(reversed(candidates)), pool=set(pool), already={}, zone=ZONE
    )
    assert [c.recording_id for c in picks] == [c.recording_id for c in again]
    assert all(c.recording_id in pool for c in picks)
    per_group: dict[tuple[str | None, str], int] = {}
    for c in picks:
        key = (c.agent_key, sampling.week_of(c.started_at, ZONE))
        per_group[key] = per_group.get(key, 0) + 1
    assert all(n <= per_week for n in per_group.values())
    for c in candidates:  # a group with room left took every call it could
        key = (c.agent_key, sampling.week_of(c.started_at, ZONE))
        if c.recording_id in pool and per_group.get(key, 0) < per_week:
            assert c in picks


def test_week_is_taken_in_the_center_zone() -> None:
    # Sunday 17:00 UTC is already Monday 01:00 in Shanghai: the next ISO week there.
    moment = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)
    assert sampling.week_of(moment, ZONE) == "2026-W45"
    assert sampling.week_of(moment, ZoneInfo("UTC")) == "2026-W44"


def test_previous_week_for_a_periodic_job(
    db: Session, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    # Wed 2026-11-11 09:00 in Shanghai: last week is Mon 2026-11-02 00:00 .. Mon 2026-11-09 00:00 there.
    now = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
    start, end = sampling.previous_week(now, ZONE)
    assert (start, end) == (
        datetime(2026, 11, 1, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 8, 16, 0, tzinfo=UTC),
    )
    inspector = make_user(Role.QA_INSPECTOR)
    _rule(db, K.LONG_SILENCE, {"min_silence_ms": 20_000}, [inspector.id], scorecard)
    last_week = make_recording(MONDAY, analysis={"longest_silence_ms": 30_000})
    make_recording(MONDAY + timedelta(days=7), analysis={"longest_silence_ms": 30_000})  # this week
    assert sampling.run_previous_week(db, now=now, zone=ZONE).created == 1
    assert sampling.run_previous_week(db, now=now, zone=ZONE).created == 0
    assert set(_assigned(db)) == {last_week.id}
