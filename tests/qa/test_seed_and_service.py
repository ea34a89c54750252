"""The default scorecard seed and the service entry points other packages call (``assign``)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.errors import Conflict, InvalidFields
from core.people.models import User
from core.security.roles import Role
from qa import service
from qa.models import Assignment, Scorecard
from qa.scoring import score
from qa.seed import DEFAULT_SCORECARD, seed_qa
from recording.models import RecordingStatus
from tests.qa.conftest import MakeRecording


def _user(db: Session, role: Role, name: str) -> User:
    user = User(role=role, username=name, full_name=name, password_hash="-")
    db.add(user)
    db.flush()
    return user


def test_seed_creates_the_default_scorecard_once_and_demo_assignments(
    db: Session, make_recording: MakeRecording
) -> None:
    inspector = _user(db, Role.QA_INSPECTOR, "qa")
    agent = _user(db, Role.AGENT, "agent1")
    stored = [make_recording(agent) for _ in range(7)]
    make_recording(agent, status=RecordingStatus.EMPTY)
    counts = seed_qa(db, rng=random.Random(1))
    db.commit()
    assert counts == {"qa_scorecards": 1, "qa_assignments": 5}
    card = db.scalar(select(Scorecard).where(Scorecard.name == DEFAULT_SCORECARD))
    assert card is not None and card.current_version == 1
    definition = service.get_version(db, card.id).definition
    assert [s["title"] for s in definition["sections"]] == [
        "开场与礼貌用语",
        "业务处理",
        "沟通技巧",
        "合规与信息安全",
        "结束语",
    ]
    assert [(b["grade"], b["min_pct"]) for b in definition["grade_bands"]] == [
        ("优秀", 90),
        ("良好", 80),
        ("合格", 60),
        ("不合格", 0),
    ]
    assert definition["standard_score"] == 100
    compliance = definition["sections"][3]
    assert compliance["critical"] is True
    assert compliance["items"][0]["critical"] == "evaluation"  # identity before disclosing data
    assigned = list(db.scalars(select(Assignment)))
    assert {a.inspector_id for a in assigned} == {inspector.id}
    assert {a.recording_id for a in assigned} <= {r.id for r in stored}
    # full marks but the identity check: auto-fail
    answers = {
        item["key"]: {"value": item.get("scale_max") or 1, "evidence": ""}
        for section in definition["sections"]
        for item in section["items"]
    }
    assert score(definition, answers).grade == "优秀"
    answers["identity_check"] = {"value": 0, "evidence": "未核实身份"}
    assert (score(definition, answers).failed, score(definition, answers).grade) == (True, "不合格")
    # again: nothing new for the card, the two free recordings go to the inspector
    assert seed_qa(db, rng=random.Random(1)) == {"qa_scorecards": 0, "qa_assignments": 2}
    assert db.scalar(select(func.count()).select_from(Scorecard)) == 1


def test_assign_refuses_a_duplicate_open_assignment(db: Session, make_recording: MakeRecording) -> None:
    inspector = _user(db, Role.QA_INSPECTOR, "qa2")
    seed_qa(db, rng=random.Random(2))
    card = db.scalar(select(Scorecard))
    assert card is not None
    recording = make_recording()
    first = service.assign(
        db,
        recording_id=recording.id,
        scorecard_id=card.id,
        inspector_id=inspector.id,
        reason="long_silence",
        actor=SYSTEM,
    )
    assert (first.reason, first.status.value, first.scorecard_version.version) == ("long_silence", "open", 1)
    with pytest.raises(Conflict):
        service.assign(
            db,
            recording_id=recording.id,
            scorecard_id=card.id,
            inspector_id=inspector.id,
            reason="manual",
            actor=SYSTEM,
        )
    with pytest.raises(InvalidFields):
        service.assign(
            db, recording_id=recording.id, scorecard_id=card.id, inspector_id=999, reason="x", actor=SYSTEM
        )
