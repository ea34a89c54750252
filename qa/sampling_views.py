"""HTTP API of QA sampling and results (qa-sampling): the sampling rules (read, replace), a sampling run
over a period, and the QA results per agent, team or month with their CSV/XLSX export.

A second router module of the qa package (qa-core's is ``qa.views``); register ``qa.sampling_views``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.clock import day_bounds_utc, utcnow
from core.errors import InvalidFields
from core.people.models import User
from core.security.roles import Permission
from core.tabular import MEDIA_TYPES
from core.web import DB, AppSettings, CurrentUser, Language, require
from qa import results as qa_results
from qa import sampling
from qa.models import Scorecard
from qa.results import ResultGroup
from qa.sampling_models import SamplingRule, SamplingRuleKind

router = APIRouter(prefix="/api/qa", tags=["qa"])
P = Permission

Manager = Annotated[CurrentUser, Depends(require(P.QA_MANAGE))]
ResultsReader = Annotated[CurrentUser, Depends(require(P.QA_RESULTS))]

MAX_RUN_DAYS = 366


class SamplingRuleIn(BaseModel):
    code: Annotated[str, Field(pattern=sampling.CODE_PATTERN)]
    kind: SamplingRuleKind
    params: dict[str, Any] = Field(default_factory=dict)
    active: bool = True
    inspector_ids: list[int] = Field(default_factory=list)
    scorecard_id: int | None = None


class InspectorRef(BaseModel):
    id: int
    name: str


class SamplingRuleOut(BaseModel):
    id: int
    code: str
    kind: SamplingRuleKind
    params: dict[str, Any]
    active: bool
    inspector_ids: list[int]
    inspectors: list[InspectorRef]
    scorecard_id: int | None
    scorecard_name: str | None


class SamplingRunIn(BaseModel):
    period_start: date  # calendar days in the center's zone, both inclusive
    period_end: date


class SamplingRunOut(BaseModel):
    run_id: int
    created: int
    by_rule: dict[str, int]
    skipped: list[str]  # active rules without a usable inspector or scorecard


class QaResultRow(BaseModel):
    key: str
    label: str
    evaluations: int
    avg_pct: float | None
    min_pct: float | None
    max_pct: float | None
    failed: int
    disputed: int
    rescored: int
    grade_counts: dict[str, int]


class QaTrendPoint(BaseModel):
    month: str
    key: str
    avg_pct: float | None


class QaResultsOut(BaseModel):
    group: ResultGroup
    rows: list[QaResultRow]
    trend: list[QaTrendPoint]


def _rules_out(db: Session, rules: list[SamplingRule]) -> list[SamplingRuleOut]:
    user_ids = {uid for rule in rules for uid in rule.inspector_ids}
    names = {
        uid: name for uid, name in db.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
    }
    scorecards = {sid: name for sid, name in db.execute(select(Scorecard.id, Scorecard.name))}
    return [
        SamplingRuleOut(
            id=rule.id,
            code=rule.code,
            kind=rule.kind,
            params=rule.params,
            active=rule.active,
            inspector_ids=rule.inspector_ids,
            inspectors=[InspectorRef(id=uid, name=names.get(uid, "")) for uid in rule.inspector_ids],
            scorecard_id=rule.scorecard_id,
            scorecard_name=scorecards.get(rule.scorecard_id) if rule.scorecard_id is not None else None,
        )
        for rule in rules
    ]


@router.get("/sampling-rules", response_model=list[SamplingRuleOut], summary="The sampling rules")
def get_sampling_rules(db: DB, current: Manager) -> list[SamplingRuleOut]:
    return _rules_out(db, sampling.list_rules(db))


@router.put(
    "/sampling-rules",
    response_model=list[SamplingRuleOut],
    summary="Replace the sampling rules (matched by code; codes left out are deleted)",
)
def put_sampling_rules(db: DB, current: Manager, body: list[SamplingRuleIn]) -> list[SamplingRuleOut]:
    specs = [
        sampling.RuleSpec(
            code=rule.code,
            kind=rule.kind,
            params=rule.params,
            active=rule.active,
            inspector_ids=rule.inspector_ids,
            scorecard_id=rule.scorecard_id,
        )
        for rule in body
    ]
    return _rules_out(db, sampling.replace_rules(db, rules=specs, actor=current.actor))


@router.post("/sampling/run", response_model=SamplingRunOut, summary="Sample the calls of a period")
def run_sampling(db: DB, settings: AppSettings, current: Manager, body: SamplingRunIn) -> SamplingRunOut:
    if body.period_end < body.period_start:
        raise InvalidFields.one("period_end", "validation.end_before_start")
    if (body.period_end - body.period_start).days >= MAX_RUN_DAYS:
        raise InvalidFields.one("period_end", "validation.qa_sampling.period_too_long", max_days=MAX_RUN_DAYS)
    start = day_bounds_utc(body.period_start, settings.zone)[0]
    end = day_bounds_utc(body.period_end + timedelta(days=1), settings.zone)[0]
    result = sampling.run_sampling(
        db, period_start=start, period_end=end, zone=settings.zone, actor=current.actor
    )
    return SamplingRunOut(
        run_id=result.run.id, created=result.created, by_rule=result.by_rule, skipped=result.skipped
    )


def _team_scope(current: CurrentUser) -> int | None:
    """None: every team. A team lead (QA_RESULTS without reading all records) sees their own team only;
    without a team, nothing (-1 matches no team)."""
    if current.can(P.RECORDS_READ_ALL):
        return None
    return current.team_id if current.team_id is not None else -1


def _check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidFields.one("to", "validation.end_before_start")


GroupParam = Annotated[ResultGroup, Query()]
FromParam = Annotated[date | None, Query(alias="from")]
ToParam = Annotated[date | None, Query(alias="to")]


@router.get("/results", response_model=QaResultsOut, summary="QA results per agent, team or month")
def get_results(
    db: DB,
    settings: AppSettings,
    language: Language,
    current: ResultsReader,
    group: GroupParam = ResultGroup.AGENT,
    start: FromParam = None,
    end: ToParam = None,
) -> QaResultsOut:
    _check_period(start, end)
    data = qa_results.results(
        db,
        group=group,
        start=start,
        end=end,
        zone=settings.zone,
        team_id=_team_scope(current),
        language=language,
    )
    return QaResultsOut(
        group=group,
        rows=[QaResultRow(**row) for row in data["rows"]],
        trend=[QaTrendPoint(**point) for point in data["trend"]],
    )


@router.get("/results/export", summary="QA results as CSV or XLSX")
def export_results(
    db: DB,
    settings: AppSettings,
    language: Language,
    current: ResultsReader,
    group: GroupParam = ResultGroup.AGENT,
    start: FromParam = None,
    end: ToParam = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    _check_period(start, end)
    team_id = _team_scope(current)
    data = qa_results.results(
        db, group=group, start=start, end=end, zone=settings.zone, team_id=team_id, language=language
    )
    content = qa_results.export_table(data, group, fmt, language)
    audit.record(
        db,
        actor=current.actor,
        action="qa.results.export",
        object_type="qa_results",
        detail={
            "group": group.value,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "format": fmt,
            "team_id": team_id,
            "rows": len(data["rows"]),
        },
    )
    filename = f"qa-results-{group.value}-{utcnow().astimezone(settings.zone):%Y%m%d-%H%M}.{fmt}"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
