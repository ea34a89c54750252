"""IVR figures for the reports: containment (self-service completions), outcomes, menu choices, and the
post-call survey by agent and by queue, over a period (``start`` inclusive, ``end`` exclusive, UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.models import IvrOutcome, IvrSession, SurveyResult


def ivr_figures(session: Session, *, start: datetime, end: datetime) -> dict[str, Any]:
    in_period = (IvrSession.started_at >= start, IvrSession.started_at < end, IvrSession.script == "ivr")
    outcomes = {
        str(outcome): count
        for outcome, count in session.execute(
            select(IvrSession.outcome, func.count()).where(*in_period).group_by(IvrSession.outcome)
        ).all()
    }
    calls = sum(outcomes.values())
    self_service = outcomes.get(IvrOutcome.SELF_SERVICE.value, 0)
    choices = {
        choice: count
        for choice, count in session.execute(
            select(IvrSession.choice, func.count())
            .where(*in_period, IvrSession.choice.is_not(None))
            .group_by(IvrSession.choice)
            .order_by(IvrSession.choice)
        ).all()
    }
    answered = (SurveyResult.answered_at >= start, SurveyResult.answered_at < end)

    def survey_by(column: Any) -> dict[str, dict[str, float | int]]:
        rows = session.execute(
            select(column, func.count(), func.avg(SurveyResult.score))
            .where(*answered)
            .group_by(column)
            .order_by(column)
        ).all()
        return {
            str(key): {"answers": count, "average": round(float(average), 2)} for key, count, average in rows
        }

    return {
        "calls": calls,
        "outcomes": outcomes,
        "containment_percent": round(100.0 * self_service / calls, 1) if calls else None,
        "choices": choices,
        "survey_by_agent": survey_by(func.coalesce(SurveyResult.agent_name, SurveyResult.agent_interface)),
        "survey_by_queue": survey_by(SurveyResult.queue),
    }
