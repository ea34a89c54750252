"""Fixtures for QA sampling and results: the app with qa-sampling's router and tables, and builders for
recordings, analyses, surveys, complaints, scorecards and evaluations."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

import qa.sampling_models  # noqa: F401  # its tables join the metadata before create_all
from callcenter.app import create_app
from callcenter.models import load_all_models
from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintProblemType,
    ComplaintUrgency,
)
from core.config import Settings
from ivr.models import SurveyResult
from qa.models import Evaluation, EvaluationStatus, Scorecard, ScorecardVersion
from recording.models import Recording, RecordingAnalysis, RecordingStatus

_n = itertools.count(1)

# Monday 2026-11-02 10:00 in Asia/Shanghai (02:00 UTC): a whole ISO week (W45) follows.
MONDAY = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    application = create_app(settings)
    load_all_models().metadata.create_all(application.state.engine)
    return application


DEFINITION: dict[str, Any] = {
    "sections": [
        {
            "key": "s1",
            "title": "开场",
            "weight": 1,
            "critical": False,
            "items": [{"key": "greet", "title": "问候", "weight": 1, "kind": "yes_no", "allow_na": False}],
        }
    ],
    "grade_bands": [
        {"grade": "优秀", "min_pct": 90},
        {"grade": "合格", "min_pct": 60},
        {"grade": "不合格", "min_pct": 0},
    ],
    "standard_score": 100,
}


@pytest.fixture
def scorecard(db: Session) -> Scorecard:
    card = Scorecard(name="客服通话质检表", current_version=1)
    db.add(card)
    db.flush()
    db.add(ScorecardVersion(scorecard_id=card.id, version=1, definition=DEFINITION, standard_score=100))
    db.commit()
    return card


MakeRecording = Callable[..., Recording]


@pytest.fixture
def make_recording(db: Session) -> MakeRecording:
    """A stored recording; ``analysis`` (a dict of RecordingAnalysis fields) adds its analysis."""

    def make(
        started_at: datetime = MONDAY,
        *,
        agent_user_id: int | None = None,
        agent: str | None = "1001",
        status: RecordingStatus = RecordingStatus.STORED,
        analysis: dict[str, Any] | None = None,
        linkedid: str | None = None,
        call_id: int | None = None,
    ) -> Recording:
        n = next(_n)
        row = Recording(
            uniqueid=f"17000{n:05d}.{n}",
            linkedid=linkedid or f"17000{n:05d}.{n}",
            call_id=call_id,
            queue="support",
            agent=agent,
            agent_user_id=agent_user_id,
            started_at=started_at,
            duration_ms=120_000,
            status=status,
            format="mp3",
            channels=2,
        )
        db.add(row)
        db.flush()
        if analysis is not None:
            db.add(RecordingAnalysis(recording_id=row.id, **analysis))
        db.commit()
        return row

    return make


def add_survey(db: Session, linkedid: str | None, score: int) -> None:
    db.add(SurveyResult(linkedid=linkedid, score=score, queue="support"))
    db.commit()


def add_complaint(db: Session, *, linkedid: str | None = None, call_id: int | None = None) -> Complaint:
    n = next(_n)
    row = Complaint(
        case_number=f"TS20261102-{n:04d}",
        received_at=MONDAY,
        channel=ComplaintChannel.PHONE,
        customer_name="王先生",
        category=ComplaintCategory.SERVICE,
        problem_type=ComplaintProblemType.ATTITUDE,
        reason="坐席态度差",
        urgency=ComplaintUrgency.NORMAL,
        promised_deadline=MONDAY + timedelta(days=3),
        pbx_call_linkedid=linkedid,
        pbx_call_id=call_id,
    )
    db.add(row)
    db.commit()
    return row


def add_evaluation(
    db: Session,
    *,
    version_id: int,
    inspector_id: int,
    agent_user_id: int | None,
    total_pct: float,
    grade: str,
    submitted_at: datetime | None = MONDAY,
    status: EvaluationStatus = EvaluationStatus.SUBMITTED,
    failed: bool = False,
    disputed: bool = False,
    rescored: bool = False,
    calibration_id: int | None = None,
    agent: str | None = None,
) -> Evaluation:
    from qa.models import DisputeOutcome

    n = next(_n)
    recording = Recording(
        uniqueid=f"eval-{n}", linkedid=f"eval-{n}", status=RecordingStatus.STORED, started_at=MONDAY
    )
    db.add(recording)
    db.flush()
    row = Evaluation(
        recording_id=recording.id,
        scorecard_version_id=version_id,
        inspector_id=inspector_id,
        agent_user_id=agent_user_id,
        agent=agent,
        queue="support",
        status=status,
        total_pct=total_pct,
        score=total_pct,
        grade=grade,
        failed=failed,
        submitted_at=submitted_at,
        disputed_at=submitted_at if disputed else None,
        resolution=DisputeOutcome.RESCORED if rescored else None,
        calibration_id=calibration_id,
    )
    db.add(row)
    db.commit()
    return row
