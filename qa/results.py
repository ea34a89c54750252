"""QA results (qa-sampling): submitted evaluations summed up per agent, team or month, a monthly trend,
and the CSV/XLSX export of the same table.

What counts: evaluations that were submitted (submitted, acknowledged, disputed, resolved), not drafts and
not calibration scorings (an exercise among inspectors, not a judgement of the agent). A dispute resolved
as "rescored" counts with its rescored result: qa-core keeps the current result on the evaluation row and
the original in ``history``. The period filters on ``submitted_at`` (the day the result was given), in the
center's zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core import i18n
from core.clock import day_bounds_utc
from core.people.models import Team, User
from core.tabular import Column, write_table
from qa.models import DisputeOutcome, Evaluation, EvaluationStatus

COUNTED = (
    EvaluationStatus.SUBMITTED,
    EvaluationStatus.ACKNOWLEDGED,
    EvaluationStatus.DISPUTED,
    EvaluationStatus.RESOLVED,
)
NO_TEAM = "none"


class ResultGroup(StrEnum):
    AGENT = "agent"
    TEAM = "team"
    MONTH = "month"


@dataclass(frozen=True)
class EvaluationFact:
    """What results need of one evaluation (pure data, so the math is testable without a database)."""

    month: str  # "YYYY-MM" of submitted_at in the center's zone
    agent_key: str
    agent_label: str
    team_key: str
    team_label: str
    total_pct: float | None
    failed: bool
    disputed: bool
    rescored: bool
    grade: str | None


def _round(value: float) -> float:
    """One decimal, halves up (63.25 → 63.3, as people round; ``round`` would give 63.2)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _key_label(fact: EvaluationFact, group: ResultGroup) -> tuple[str, str]:
    if group is ResultGroup.AGENT:
        return fact.agent_key, fact.agent_label
    if group is ResultGroup.TEAM:
        return fact.team_key, fact.team_label
    return fact.month, fact.month


def _summary(facts: Sequence[EvaluationFact]) -> dict[str, Any]:
    scores = [f.total_pct for f in facts if f.total_pct is not None]
    grades: dict[str, int] = {}
    for fact in facts:
        if fact.grade:
            grades[fact.grade] = grades.get(fact.grade, 0) + 1
    return {
        "evaluations": len(facts),
        "avg_pct": _round(sum(scores) / len(scores)) if scores else None,
        "min_pct": _round(min(scores)) if scores else None,
        "max_pct": _round(max(scores)) if scores else None,
        "failed": sum(1 for f in facts if f.failed),
        "disputed": sum(1 for f in facts if f.disputed),
        "rescored": sum(1 for f in facts if f.rescored),
        "grade_counts": grades,
    }


def aggregate(
    facts: Iterable[EvaluationFact], group: ResultGroup
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows per group key (months in order, agents and teams by label) and the trend: the average per
    month and key (for ``group=month`` the key is the month itself)."""
    by_key: dict[str, list[EvaluationFact]] = defaultdict(list)
    labels: dict[str, str] = {}
    by_month_key: dict[tuple[str, str], list[EvaluationFact]] = defaultdict(list)
    for fact in facts:
        key, label = _key_label(fact, group)
        by_key[key].append(fact)
        labels[key] = label
        by_month_key[(fact.month, key)].append(fact)
    order = sorted(by_key, key=lambda k: (k,) if group is ResultGroup.MONTH else (labels[k], k))
    rows = [{"key": key, "label": labels[key], **_summary(by_key[key])} for key in order]
    trend = [
        {"month": month, "key": key, "avg_pct": _summary(items)["avg_pct"]}
        for (month, key), items in sorted(by_month_key.items())
    ]
    return rows, trend


def period_bounds(
    start: date | None, end: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Inclusive calendar days in the center's zone → [start, end) UTC instants."""
    lower = day_bounds_utc(start, zone)[0] if start else None
    upper = day_bounds_utc(end + timedelta(days=1), zone)[0] if end else None
    return lower, upper


def load_facts(
    session: Session,
    *,
    start: datetime | None,
    end: datetime | None,
    zone: ZoneInfo,
    team_id: int | None,
    language: str,
) -> list[EvaluationFact]:
    """The counted evaluations submitted in [start, end); ``team_id`` limits them to the agents of one team
    (a team lead's view; -1 matches nothing)."""
    agent = aliased(User)
    query = (
        select(Evaluation, agent, Team)
        .outerjoin(agent, agent.id == Evaluation.agent_user_id)
        .outerjoin(Team, Team.id == agent.team_id)
        .where(Evaluation.status.in_(COUNTED), Evaluation.calibration_id.is_(None))
        .where(Evaluation.submitted_at.is_not(None))
    )
    if start is not None:
        query = query.where(Evaluation.submitted_at >= start)
    if end is not None:
        query = query.where(Evaluation.submitted_at < end)
    if team_id is not None:
        query = query.where(agent.team_id == team_id)
    no_team = i18n.translate("ui.qa_results.no_team", language)
    unknown = i18n.translate("ui.qa_results.unknown_agent", language)
    facts = []
    for evaluation, user, team in session.execute(query).unique().all():
        submitted = evaluation.submitted_at
        assert submitted is not None  # filtered above
        if user is not None:
            agent_key = str(user.id)
            agent_label = f"{user.full_name} ({user.agent_number})" if user.agent_number else user.full_name
        else:  # a queue member with no user account: keyed by the member name
            agent_key = f"member:{evaluation.agent or ''}"
            agent_label = evaluation.agent or unknown
        facts.append(
            EvaluationFact(
                month=submitted.astimezone(zone).strftime("%Y-%m"),
                agent_key=agent_key,
                agent_label=agent_label,
                team_key=str(team.id) if team else NO_TEAM,
                team_label=team.name if team else no_team,
                total_pct=evaluation.total_pct,
                failed=bool(evaluation.failed),
                disputed=evaluation.disputed_at is not None,
                rescored=evaluation.resolution == DisputeOutcome.RESCORED,
                grade=evaluation.grade,
            )
        )
    return facts


def results(
    session: Session,
    *,
    group: ResultGroup,
    start: date | None,
    end: date | None,
    zone: ZoneInfo,
    team_id: int | None,
    language: str,
) -> dict[str, Any]:
    """``{rows, trend}`` as the results endpoint returns them."""
    lower, upper = period_bounds(start, end, zone)
    facts = load_facts(session, start=lower, end=upper, zone=zone, team_id=team_id, language=language)
    rows, trend = aggregate(facts, group)
    return {"rows": rows, "trend": trend}


BASE_COLUMNS = ("label", "evaluations", "avg_pct", "min_pct", "max_pct", "failed", "disputed", "rescored")


def _grades_in_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every grade seen, in first-seen order (the table's columns)."""
    seen: dict[str, None] = {}
    for row in rows:
        for grade in row["grade_counts"]:
            seen.setdefault(grade, None)
    return list(seen)


def export_table(data: dict[str, Any], group: ResultGroup, fmt: str, language: str) -> bytes:
    """The results table as CSV or XLSX with translated headers; one column per grade; XLSX adds the
    trend on a second sheet."""
    rows: list[dict[str, Any]] = data["rows"]
    grades = _grades_in_order(rows)
    columns = [Column("label", i18n.translate(f"ui.qa_results.group.{group.value}", language))]
    columns += [
        Column(name, i18n.translate(f"ui.qa_results.col.{name}", language)) for name in BASE_COLUMNS[1:]
    ]
    grade_header = i18n.translate("ui.qa_results.col.grade", language)
    columns += [Column(f"grade:{grade}", f"{grade_header}: {grade}") for grade in grades]
    flat = [{**row, **{f"grade:{g}": row["grade_counts"].get(g, 0) for g in grades}} for row in rows]
    labels = {row["key"]: row["label"] for row in rows}
    trend_sheet = [
        [
            i18n.translate("ui.qa_results.col.month", language),
            i18n.translate(f"ui.qa_results.group.{group.value}", language),
            i18n.translate("ui.qa_results.col.avg_pct", language),
        ]
    ]
    trend_sheet += [[t["month"], labels.get(t["key"], t["key"]), t["avg_pct"]] for t in data["trend"]]
    sheets = {i18n.translate("ui.qa_results.sheet.trend", language): trend_sheet}
    return write_table(flat, columns, fmt, sheets=sheets if fmt == "xlsx" else None)
