"""HTTP API of the call reports (reports-core): measure definitions, interval/day rows per queue, agent or
team, their CSV/XLSX export (with a definitions sheet), Erlang C staffing and the abandon curve.

Permissions: REPORTS_READ (export: REPORTS_EXPORT). A team lead sees the queues and only the agents of their
own team (and only their own team among teams); asking for anyone else's is refused (403, audited).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import i18n
from core.audit import service as audit
from core.clock import utcnow
from core.errors import InvalidFields
from core.people.models import Team
from core.security.roles import Permission as P
from core.security.roles import Role
from core.tabular import MEDIA_TYPES, Column, write_table
from core.web import DB, AppSettings, CurrentUser, Language, deny, require
from reports import queries
from reports.aggregates import ReportConfig
from reports.measures import MEASURES, definitions

router = APIRouter(prefix="/api/reports", tags=["reports"])

Grain = Literal["15m", "30m", "60m", "day", "week", "month"]
By = Literal["queue", "agent", "team"]
MAX_INTERVAL_DAYS = 62  # 15-minute rows of two months at most; longer spans: day, week or month
MAX_DAYS = 3 * 366

Reader = Annotated[CurrentUser, Depends(require(P.REPORTS_READ))]
Exporter = Annotated[CurrentUser, Depends(require(P.REPORTS_EXPORT))]
FromDate = Annotated[date | None, Query(alias="from")]
ToDate = Annotated[date | None, Query(alias="to")]


def _range(start: date | None, end: date | None, settings_zone: Any, grain: str) -> tuple[date, date]:
    today = utcnow().astimezone(settings_zone).date()
    end = end or today
    start = start or end
    if start > end:
        raise InvalidFields.one(("query", "from"), "validation.reports.from_after_to")
    limit = MAX_INTERVAL_DAYS if grain in queries.INTERVAL_GRAINS else MAX_DAYS
    if (end - start).days + 1 > limit:
        raise InvalidFields.one(("query", "to"), "validation.reports.range_too_long", days=limit)
    return start, end


def _team_scope(
    request: Request, db: Session, current: CurrentUser, *, by: str, keys: list[str], start: date, end: date
) -> set[str] | None:
    """The member names a team lead may see (None: everyone's); refuses keys outside the team."""
    if current.role != Role.TEAM_LEAD or by == "queue":
        return None
    members = queries.known_agents(db, start, end)
    users = queries.agent_directory(db, members)
    allowed = {
        agent
        for agent, user in users.items()
        if current.team_id is not None and user.team_id == current.team_id
    }
    if by == "agent":
        outside = sorted(set(keys) - allowed)
        if outside:
            raise deny(request, current, "error.reports.not_your_team", agents=outside)
    else:
        own = db.scalar(select(Team.name).where(Team.id == current.team_id)) if current.team_id else None
        outside = sorted(k for k in keys if k != own)
        if outside:
            raise deny(request, current, "error.reports.not_your_team", teams=outside)
    return allowed


def _calls(
    request: Request,
    db: Session,
    settings: Any,
    current: CurrentUser,
    *,
    start: date | None,
    end: date | None,
    grain: str,
    by: str,
    keys: list[str],
) -> dict[str, Any]:
    config = ReportConfig.of(settings)
    first, last = _range(start, end, config.zone, grain)
    agents = _team_scope(request, db, current, by=by, keys=keys, start=first, end=last)
    return queries.series(
        db, start=first, end=last, grain=grain, by=by, keys=keys or None, settings=config, agents=agents
    )


@router.get("/definitions")
def get_definitions(current: Reader, language: Language) -> list[dict[str, str]]:
    return definitions(language)


@router.get("/calls")
def get_calls(
    request: Request,
    db: DB,
    settings: AppSettings,
    current: Reader,
    start: FromDate = None,
    end: ToDate = None,
    grain: Grain = "day",
    by: By = "queue",
    key: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    return _calls(request, db, settings, current, start=start, end=end, grain=grain, by=by, keys=key or [])


@router.get("/calls/export")
def export_calls(
    request: Request,
    db: DB,
    settings: AppSettings,
    current: Exporter,
    language: Language,
    start: FromDate = None,
    end: ToDate = None,
    grain: Grain = "day",
    by: By = "queue",
    key: Annotated[list[str] | None, Query()] = None,
    format: Literal["csv", "xlsx"] = "xlsx",
) -> Response:
    data = _calls(request, db, settings, current, start=start, end=end, grain=grain, by=by, keys=key or [])
    columns = [
        Column("label", i18n.translate(f"reports.by.{by}", language)),
        Column("period_start", i18n.translate("reports.period_start", language)),
        *(Column(code, i18n.translate(f"reports.measure.{code}", language)) for code in MEASURES),
    ]
    sheets = {
        i18n.translate("reports.definitions_sheet", language): [
            [
                i18n.translate("reports.definition.code", language),
                i18n.translate("reports.definition.label", language),
                i18n.translate("reports.definition.formula", language),
            ],
            *([d["code"], d["label"], d["formula"]] for d in definitions(language)),
        ]
    }
    body = write_table(data["rows"], columns, format, sheets=sheets)
    audit.record(
        db,
        actor=current.actor,
        action="reports.export",
        detail={
            "format": format,
            "grain": grain,
            "by": by,
            "from": data["from"],
            "to": data["to"],
            "keys": key or [],
        },
    )
    filename = f"calls-{by}-{grain}-{data['from']}-{data['to']}.{format}"
    return Response(
        content=body,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/staffing")
def get_staffing(
    db: DB,
    settings: AppSettings,
    current: Reader,
    queue: Annotated[str, Query(min_length=1, max_length=64)],
    day: Annotated[date | None, Query(alias="date")] = None,
    grain: Literal["15m", "30m", "60m"] = "30m",
    shrinkage_pct: Annotated[float, Query(ge=0, lt=100)] = 30.0,
) -> dict[str, Any]:
    config = ReportConfig.of(settings)
    day = day or utcnow().astimezone(config.zone).date()
    return queries.staffing(
        db, day=day, queue=queue, grain=grain, shrinkage_pct=shrinkage_pct, settings=config
    )


@router.get("/abandon-curve")
def get_abandon_curve(
    db: DB,
    settings: AppSettings,
    current: Reader,
    start: FromDate = None,
    end: ToDate = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    config = ReportConfig.of(settings)
    first, last = _range(start, end, config.zone, "day")
    if (last - first) > timedelta(days=MAX_INTERVAL_DAYS):
        raise InvalidFields.one(("query", "to"), "validation.reports.range_too_long", days=MAX_INTERVAL_DAYS)
    return queries.abandon_curve(db, start=first, end=last, queue=queue, settings=config)
