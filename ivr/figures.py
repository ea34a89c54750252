"""IVR figures for the reports: containment (self-service completions), outcomes, menu choices, the
estimated-wait call-back offers, and the post-call survey by agent and by queue, over a period (``start``
inclusive, ``end`` exclusive, UTC).

Wait offers (``wait_offer`` on a route step, see :mod:`ivr.engine`): *accepted* are the call-back requests
with reason ``wait_offer`` requested in the period (the request is the durable trace of a yes); *declined*
are the IVR sessions whose path records the offer as ``declined`` (another key, or none before the
timeout: the caller joined the queue); *offered* = accepted + declined. A caller who hangs up while the
offer is playing leaves no offer entry in the path (the engine records only the hang-up), so is in none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from ivr.models import CallbackReason, IvrCallbackRequest, IvrOutcome, IvrSession, SurveyResult

WAIT_OFFER = "wait_offer"  # the path entry kind the engine writes for the offer


def _offer_result(path: Any) -> str | None:
    """``accepted`` / ``declined`` of the session's wait offer, None when it made none."""
    for entry in path if isinstance(path, list) else ():
        if isinstance(entry, dict) and entry.get("kind") == WAIT_OFFER:
            return str(entry.get("result"))
    return None


def wait_offer_figures(session: Session, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Offered / accepted / declined estimated-wait offers in the period, in all and per queue."""
    # Only sessions whose stored path mentions the offer are read (a text match, the same on SQLite and
    # PostgreSQL); the exact result is then taken from the parsed path.
    rows = session.execute(
        select(IvrSession.queue, IvrSession.path).where(
            IvrSession.started_at >= start,
            IvrSession.started_at < end,
            IvrSession.script == "ivr",
            cast(IvrSession.path, String).like(f"%{WAIT_OFFER}%"),
        )
    ).all()
    by_queue: dict[str, dict[str, int]] = {}

    def bump(queue: str | None, key: str, n: int = 1) -> None:
        figures = by_queue.setdefault(queue or "", {"offered": 0, "accepted": 0, "declined": 0, "hung_up": 0})
        figures[key] += n
        figures["offered"] += n

    for queue, path in rows:
        result = _offer_result(path)
        if result in ("declined", "hung_up"):  # hung up while hearing it: offered, neither taken nor refused
            bump(queue, result)
    for queue, count in session.execute(
        select(IvrCallbackRequest.queue, func.count())
        .where(
            IvrCallbackRequest.reason == CallbackReason.WAIT_OFFER,
            IvrCallbackRequest.requested_at >= start,
            IvrCallbackRequest.requested_at < end,
        )
        .group_by(IvrCallbackRequest.queue)
    ).all():
        bump(queue, "accepted", int(count))
    accepted = sum(f["accepted"] for f in by_queue.values())
    declined = sum(f["declined"] for f in by_queue.values())
    hung_up = sum(f["hung_up"] for f in by_queue.values())
    offered = accepted + declined + hung_up
    return {
        "offered": offered,
        "accepted": accepted,
        "declined": declined,
        "hung_up": hung_up,
        "accepted_percent": round(100.0 * accepted / offered, 1) if offered else None,
        "by_queue": dict(sorted(by_queue.items())),
    }


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
        "wait_offer": wait_offer_figures(session, start=start, end=end),
        "survey_by_agent": survey_by(func.coalesce(SurveyResult.agent_name, SurveyResult.agent_interface)),
        "survey_by_queue": survey_by(SurveyResult.queue),
    }
