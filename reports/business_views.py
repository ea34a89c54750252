"""HTTP API of the business measures (:mod:`reports.business`): outbound, complaints, survey and IVR
reports by day, week or month, each with its definitions, and their CSV/XLSX exports (XLSX with a sheet of
definitions). Reading needs ``reports.read``, exporting ``reports.export``; a team lead sees the agents of
the own team only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import i18n
from core.audit import service as audit
from core.clock import utcnow
from core.errors import InvalidFields
from core.people.models import User
from core.security.roles import Permission, Role
from core.tabular import MEDIA_TYPES, Column, write_table
from core.web import DB, AppSettings, CurrentUser, Language, require
from reports.business import MAX_RANGE_DAYS, Grain, Kind, Measure, Period, SurveyBy, definitions, report

router = APIRouter(prefix="/api/reports", tags=["reports"])
P = Permission
Reader = Annotated[CurrentUser, Depends(require(P.REPORTS_READ))]
Exporter = Annotated[CurrentUser, Depends(require(P.REPORTS_EXPORT))]
From = Annotated[date, Query(alias="from", description="first day (center's calendar)")]
To = Annotated[date, Query(alias="to", description="last day, included")]
GrainQ = Annotated[Grain, Query()]
ByQ = Annotated[SurveyBy, Query()]
Format = Annotated[Literal["csv", "xlsx"], Query()]


def agent_scope(db: Session, current: CurrentUser) -> list[int] | None:
    """The user ids a reader's reports are limited to: a team lead's team (none without a team)."""
    if current.role is not Role.TEAM_LEAD:
        return None
    if current.team_id is None:
        return []
    return list(db.scalars(select(User.id).where(User.team_id == current.team_id)))


def _period(first: date, last: date, grain: Grain, settings: AppSettings) -> Period:
    if last < first:
        raise InvalidFields.one("to", "validation.end_before_start")
    if last - first > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidFields.one("to", "validation.reports.period_too_long", max_days=MAX_RANGE_DAYS)
    return Period(first, last, grain, settings.zone)


def _build(
    kind: Kind,
    db: Session,
    current: CurrentUser,
    settings: AppSettings,
    language: str,
    first: date,
    last: date,
    grain: Grain,
    by: SurveyBy = SurveyBy.AGENT,
) -> tuple[dict[str, Any], tuple[Measure, ...]]:
    period = _period(first, last, grain, settings)
    data, measures = report(db, kind, period=period, agents=agent_scope(db, current), now=utcnow(), by=by)
    body = {
        "kind": kind.value,
        "grain": grain.value,
        "by": by.value if kind is Kind.SURVEY else None,
        "from": first,
        "to": last,
        **data,
        "definitions": definitions(measures, language),
    }
    return body, measures


@router.get("/outbound")
def outbound(
    db: DB,
    current: Reader,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
) -> dict[str, Any]:
    """外呼: attempts, connects, sales and results per agent and period."""
    return _build(Kind.OUTBOUND, db, current, settings, language, first, last, grain)[0]


@router.get("/complaints")
def complaints(
    db: DB,
    current: Reader,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
) -> dict[str, Any]:
    """投诉: received, resolved and resolution ratio, overdue, product-quality share per period."""
    return _build(Kind.COMPLAINTS, db, current, settings, language, first, last, grain)[0]


@router.get("/survey")
def survey(
    db: DB,
    current: Reader,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
    by: ByQ = SurveyBy.AGENT,
) -> dict[str, Any]:
    """满意度: the 1–5 answers per agent or queue and period, average and satisfied share."""
    return _build(Kind.SURVEY, db, current, settings, language, first, last, grain, by)[0]


@router.get("/ivr")
def ivr(
    db: DB,
    current: Reader,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
) -> dict[str, Any]:
    """IVR: sessions, containment, outcomes and menu choices per period."""
    return _build(Kind.IVR, db, current, settings, language, first, last, grain)[0]


# --- exports --------------------------------------------------------------------------------------------


def _export(
    kind: Kind,
    fmt: str,
    db: Session,
    current: CurrentUser,
    settings: AppSettings,
    language: str,
    first: date,
    last: date,
    grain: Grain,
    by: SurveyBy = SurveyBy.AGENT,
) -> Response:
    body, measures = _build(kind, db, current, settings, language, first, last, grain, by)
    tr = i18n.translate
    key_header = tr(f"ui.reports.key.{by.value if kind is Kind.SURVEY else kind.value}", language)
    columns = [Column("period", tr("ui.reports.period", language)), Column("label", key_header)]
    columns += [Column(m.code, d["label"]) for m, d in zip(measures, body["definitions"], strict=True)]
    everyone = tr("ui.reports.all", language)  # the label of unkeyed rows (complaints, IVR) and of the total
    rows = [
        {**row, "period": row["period_start"].date().isoformat(), "label": row["label"] or everyone}
        for row in body["rows"]
    ]
    rows.append({**body["totals"], "period": tr("ui.reports.total", language), "label": everyone})
    sheet = tr("ui.reports.definitions_sheet", language)
    heads = [
        tr("ui.reports.code", language),
        tr("ui.reports.measure", language),
        tr("ui.reports.formula", language),
    ]
    extra = {sheet: [heads, *([d["code"], d["label"], d["formula"]] for d in body["definitions"])]}
    audit.record(
        db,
        actor=current.actor,
        action="reports.export",
        object_type="report",
        object_id=kind.value,
        detail={"from": first.isoformat(), "to": last.isoformat(), "grain": grain.value, "format": fmt},
    )
    name = f"report-{kind.value}-{first.isoformat()}-{last.isoformat()}.{fmt}"
    return Response(
        write_table(rows, columns, fmt, sheets=extra if fmt == "xlsx" else None),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/outbound/export", response_class=Response)
def export_outbound(
    db: DB,
    current: Exporter,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
    format: Format = "csv",
) -> Response:
    return _export(Kind.OUTBOUND, format, db, current, settings, language, first, last, grain)


@router.get("/complaints/export", response_class=Response)
def export_complaints(
    db: DB,
    current: Exporter,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
    format: Format = "csv",
) -> Response:
    return _export(Kind.COMPLAINTS, format, db, current, settings, language, first, last, grain)


@router.get("/survey/export", response_class=Response)
def export_survey(
    db: DB,
    current: Exporter,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
    by: ByQ = SurveyBy.AGENT,
    format: Format = "csv",
) -> Response:
    return _export(Kind.SURVEY, format, db, current, settings, language, first, last, grain, by)


@router.get("/ivr/export", response_class=Response)
def export_ivr(
    db: DB,
    current: Exporter,
    settings: AppSettings,
    language: Language,
    first: From,
    last: To,
    grain: GrainQ = Grain.DAY,
    format: Format = "csv",
) -> Response:
    return _export(Kind.IVR, format, db, current, settings, language, first, last, grain)
