"""Business measures of the reports page: outbound calls, complaints, the post-call survey and the IVR, by
day, week or month of the center's calendar, each measure with its definition (code, label, formula).

Sources are the durable records: ``outbound_records`` (呼出记录表: purpose/result), ``complaints`` (status,
promised deadline, category/problem type), ``ivr_survey_results`` (1 非常满意 … 5 非常不满意) and
``ivr_sessions`` (through :func:`ivr.figures.ivr_figures`). Functions here compute plain dicts; the router
translates the definitions and turns the rows into JSON or a spreadsheet.

A team lead's reports are limited to the agents of the team: pass their user ids as ``agents`` (``None``
means everyone). IVR figures are not attributed to agents: they are the center's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import i18n
from core.complaints.models import Complaint, ComplaintCategory, ComplaintProblemType
from core.complaints.workflow import ComplaintStatus
from core.contacts.models import OutboundRecord, OutboundResult
from ivr.figures import ivr_figures
from ivr.models import IvrOutcome, SurveyResult

MAX_RANGE_DAYS = 1100  # three years by day is ~1100 rows per key: more is not a report anyone reads


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first (as Chinese calendars print them)
    MONTH = "month"


class Kind(StrEnum):
    OUTBOUND = "outbound"
    COMPLAINTS = "complaints"
    SURVEY = "survey"
    IVR = "ivr"


class SurveyBy(StrEnum):
    AGENT = "agent"
    QUEUE = "queue"


# Results where nobody was reached: every other result means the call connected.
NOT_CONNECTED = frozenset({OutboundResult.NO_ANSWER, OutboundResult.BUSY})
SATISFIED_SCORES = (1, 2)  # 1 非常满意, 2 满意: the survey's scale puts the best answer first
IVR_OUTCOMES = tuple(o.value for o in IvrOutcome)


# --- definitions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A column of a report: ``label`` and ``formula`` are message keys; ``params`` fill them in."""

    code: str
    label_key: str
    formula_key: str
    params: tuple[tuple[str, str], ...] = ()

    def translated(self, language: str) -> dict[str, str]:
        params = dict(self.params)
        label = i18n.translate(self.label_key, language, **params)
        return {
            "code": self.code,
            "label": label,
            "formula": i18n.translate(self.formula_key, language, **params, label=label),
        }


def _m(code: str) -> Measure:
    return Measure(code, f"reports.business.measure.{code}", f"reports.business.formula.{code}")


def _result_measure(result: str) -> Measure:
    # One column per result code; the label is the code's own (the outbound form's wording).
    return Measure(
        f"result_{result}",
        f"enum.OutboundResult.{result}" if result != "none" else "reports.business.measure.result_none",
        "reports.business.formula.result" if result != "none" else "reports.business.formula.result_none",
        (("result", result),),
    )


OUTBOUND_MEASURES: tuple[Measure, ...] = (
    _m("attempts"),
    _m("connects"),
    _m("connect_pct"),
    _m("sales"),
    _m("sale_pct"),
    *(_result_measure(r.value) for r in OutboundResult),
    _result_measure("none"),
)
COMPLAINT_MEASURES: tuple[Measure, ...] = tuple(
    _m(code)
    for code in (
        "received",
        "resolved",
        "resolution_pct",
        "rejected",
        "open",
        "overdue",
        "closed_late",
        "product_quality",
        "product_quality_pct",
    )
)
SURVEY_MEASURES: tuple[Measure, ...] = (
    _m("answers"),
    *(
        Measure(
            f"score_{n}",
            f"reports.business.measure.score_{n}",
            "reports.business.formula.score",
            (("score", str(n)),),
        )
        for n in range(1, 6)
    ),
    _m("average_score"),
    _m("satisfied"),
    _m("satisfied_pct"),
)
IVR_MEASURES: tuple[Measure, ...] = (
    _m("sessions"),
    _m("self_service"),
    _m("containment_pct"),
    *(
        Measure(f"outcome_{o}", f"enum.IvrOutcome.{o}", "reports.business.formula.outcome", (("outcome", o),))
        for o in IVR_OUTCOMES
        if o != IvrOutcome.SELF_SERVICE.value
    ),
    # the estimated-wait call-back offer (ivr.figures.wait_offer_figures)
    _m("wait_offered"),
    _m("wait_accepted"),
    _m("wait_declined"),
    _m("wait_accepted_pct"),
)


def choice_measure(choice: str) -> Measure:
    return Measure(
        f"choice_{choice}",
        "reports.business.measure.choice",
        "reports.business.formula.choice",
        (("choice", choice),),
    )


MEASURES: dict[Kind, tuple[Measure, ...]] = {
    Kind.OUTBOUND: OUTBOUND_MEASURES,
    Kind.COMPLAINTS: COMPLAINT_MEASURES,
    Kind.SURVEY: SURVEY_MEASURES,
    Kind.IVR: IVR_MEASURES,
}


def definitions(measures: Iterable[Measure], language: str) -> list[dict[str, str]]:
    return [m.translated(language) for m in measures]


# --- the calendar -----------------------------------------------------------------------------------------


def bucket_start(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def next_bucket(start: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    if grain is Grain.MONTH:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """``first``..``last`` (calendar days of the center, both included) cut into buckets of ``grain``."""

    first: date
    last: date
    grain: Grain
    zone: ZoneInfo

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone)

    @property
    def start_utc(self) -> datetime:
        return self.midnight(self.first).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return self.midnight(self.last + timedelta(days=1)).astimezone(UTC)

    def buckets(self) -> list[date]:
        out = []
        day = bucket_start(self.first, self.grain)
        while day <= self.last:
            out.append(day)
            day = next_bucket(day, self.grain)
        return out

    def bucket_bounds_utc(self, bucket: date) -> tuple[datetime, datetime]:
        """A bucket's instants, clipped to the period (a week may start before ``first``)."""
        start = max(self.midnight(bucket), self.midnight(self.first))
        end = min(
            self.midnight(next_bucket(bucket, self.grain)), self.midnight(self.last + timedelta(days=1))
        )
        return start.astimezone(UTC), end.astimezone(UTC)

    def bucket_of(self, instant: datetime) -> date:
        return bucket_start(instant.astimezone(self.zone).date(), self.grain)

    def label(self, bucket: date) -> datetime:
        """The ``period_start`` shown: the bucket's midnight in the center's zone (with its offset)."""
        return self.midnight(bucket)


# --- arithmetic -------------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> float | None:
    """Percent with one decimal; None when there is nothing to count."""
    return round(100.0 * part / whole, 1) if whole else None


def _rows_by(
    items: Iterable[Any], period: Period, when: Callable[[Any], datetime], key: Callable[[Any], str]
) -> dict[tuple[date, str], list[Any]]:
    groups: dict[tuple[date, str], list[Any]] = defaultdict(list)
    for item in items:
        groups[(period.bucket_of(when(item)), key(item))].append(item)
    return groups


def _ordered(groups: dict[tuple[date, str], Any]) -> list[tuple[date, str]]:
    return sorted(groups, key=lambda k: (k[0], k[1]))


# --- outbound -------------------------------------------------------------------------------------------


def outbound_counts(records: Iterable[OutboundRecord]) -> dict[str, Any]:
    results: Counter[str] = Counter()
    attempts = 0
    for record in records:
        attempts += 1
        results[record.result.value if record.result is not None else "none"] += 1
    connects = sum(n for code, n in results.items() if code != "none" and code not in NOT_CONNECTED)
    sales = results[OutboundResult.SALE.value]
    row: dict[str, Any] = {
        "attempts": attempts,
        "connects": connects,
        "connect_pct": pct(connects, attempts),
        "sales": sales,
        "sale_pct": pct(sales, connects),
    }
    for code in [r.value for r in OutboundResult] + ["none"]:
        row[f"result_{code}"] = results[code]
    return row


def _agent_label(record: OutboundRecord) -> str:
    return f"{record.agent_name} ({record.agent_number})" if record.agent_number else record.agent_name


def outbound_report(session: Session, *, period: Period, agents: Collection[int] | None) -> dict[str, Any]:
    """Attempts (every outbound record), connects, sales and the count per result code, per agent and
    bucket; ``groups`` per agent over the whole period; ``totals`` over everything."""
    query = select(OutboundRecord).where(
        OutboundRecord.started_at >= period.start_utc, OutboundRecord.started_at < period.end_utc
    )
    if agents is not None:
        query = query.where(OutboundRecord.agent_id.in_(list(agents)))
    records = list(session.scalars(query.order_by(OutboundRecord.started_at, OutboundRecord.id)))
    labels = {str(r.agent_id): _agent_label(r) for r in records}  # the latest snapshot names the agent
    groups = _rows_by(records, period, lambda r: r.started_at, lambda r: str(r.agent_id))
    rows = [
        {
            "period_start": period.label(bucket),
            "key": key,
            "label": labels[key],
            **outbound_counts(groups[(bucket, key)]),
        }
        for bucket, key in _ordered(groups)
    ]
    per_agent: dict[str, list[OutboundRecord]] = defaultdict(list)
    for r in records:
        per_agent[str(r.agent_id)].append(r)
    return {
        "rows": rows,
        "groups": [
            {"key": key, "label": labels[key], **outbound_counts(items)}
            for key, items in sorted(per_agent.items(), key=lambda kv: labels[kv[0]])
        ],
        "totals": {"key": "all", **outbound_counts(records)},
    }


# --- complaints -----------------------------------------------------------------------------------------

TERMINAL = frozenset({ComplaintStatus.CLOSED, ComplaintStatus.REJECTED})


def is_product_quality(c: Complaint) -> bool:
    return c.category == ComplaintCategory.PRODUCT and c.problem_type == ComplaintProblemType.QUALITY


def complaint_counts(complaints: Iterable[Complaint], *, now: datetime) -> dict[str, Any]:
    items = list(complaints)
    received = len(items)
    resolved = sum(1 for c in items if c.status == ComplaintStatus.CLOSED)
    rejected = sum(1 for c in items if c.status == ComplaintStatus.REJECTED)
    open_ = received - resolved - rejected
    overdue = sum(1 for c in items if c.status not in TERMINAL and c.promised_deadline < now)
    closed_late = sum(
        1
        for c in items
        if c.status == ComplaintStatus.CLOSED
        and c.actual_completed_at is not None
        and c.actual_completed_at > c.promised_deadline
    )
    quality = sum(1 for c in items if is_product_quality(c))
    return {
        "received": received,
        "resolved": resolved,
        "resolution_pct": pct(resolved, received),
        "rejected": rejected,
        "open": open_,
        "overdue": overdue,
        "closed_late": closed_late,
        "product_quality": quality,
        "product_quality_pct": pct(quality, received),
    }


def complaints_report(
    session: Session, *, period: Period, agents: Collection[int] | None, now: datetime
) -> dict[str, Any]:
    """Complaints received per bucket (every bucket, empty ones too) and what became of them as of ``now``.
    A team lead counts the complaints registered or handled by an agent of the team."""
    query = select(Complaint).where(
        Complaint.received_at >= period.start_utc, Complaint.received_at < period.end_utc
    )
    if agents is not None:
        ids = list(agents)
        query = query.where(or_(Complaint.registered_by_id.in_(ids), Complaint.handler_id.in_(ids)))
    complaints = list(session.scalars(query))
    by_bucket: dict[date, list[Complaint]] = defaultdict(list)
    for c in complaints:
        by_bucket[period.bucket_of(c.received_at)].append(c)
    rows = [
        {
            "period_start": period.label(b),
            "key": "all",
            "label": "",
            **complaint_counts(by_bucket[b], now=now),
        }
        for b in period.buckets()
    ]
    return {"rows": rows, "groups": [], "totals": {"key": "all", **complaint_counts(complaints, now=now)}}


# --- survey ---------------------------------------------------------------------------------------------


def survey_counts(scores: Iterable[int]) -> dict[str, Any]:
    counts = Counter(scores)
    answers = sum(counts.values())
    satisfied = sum(counts[s] for s in SATISFIED_SCORES)
    total = sum(score * n for score, n in counts.items())
    row: dict[str, Any] = {"answers": answers}
    for n in range(1, 6):
        row[f"score_{n}"] = counts[n]
    row["average_score"] = round(total / answers, 2) if answers else None
    row["satisfied"] = satisfied
    row["satisfied_pct"] = pct(satisfied, answers)
    return row


def _survey_key(result: SurveyResult, by: SurveyBy) -> str:
    if by is SurveyBy.QUEUE:
        return result.queue or ""
    return result.agent_name or result.agent_interface or ""


def survey_report(
    session: Session, *, period: Period, agents: Collection[int] | None, by: SurveyBy
) -> dict[str, Any]:
    """The 1–5 answers per agent (member name, else interface) or per queue and bucket."""
    query = select(SurveyResult).where(
        SurveyResult.answered_at >= period.start_utc, SurveyResult.answered_at < period.end_utc
    )
    if agents is not None:
        query = query.where(SurveyResult.agent_id.in_(list(agents)))
    results = list(session.scalars(query.order_by(SurveyResult.answered_at, SurveyResult.id)))
    groups = _rows_by(results, period, lambda r: r.answered_at, lambda r: _survey_key(r, by))
    rows = [
        {
            "period_start": period.label(bucket),
            "key": key,
            "label": key,
            **survey_counts(r.score for r in groups[(bucket, key)]),
        }
        for bucket, key in _ordered(groups)
    ]
    per_key: dict[str, list[int]] = defaultdict(list)
    for r in results:
        per_key[_survey_key(r, by)].append(r.score)
    return {
        "rows": rows,
        "groups": [{"key": k, "label": k, **survey_counts(v)} for k, v in sorted(per_key.items())],
        "totals": {"key": "all", **survey_counts(r.score for r in results)},
    }


# --- IVR ------------------------------------------------------------------------------------------------


def _ivr_row(figures: dict[str, Any]) -> dict[str, Any]:
    outcomes: dict[str, int] = figures["outcomes"]
    sessions = int(figures["calls"])
    self_service = outcomes.get(IvrOutcome.SELF_SERVICE.value, 0)
    row: dict[str, Any] = {
        "sessions": sessions,
        "self_service": self_service,
        "containment_pct": pct(self_service, sessions),
    }
    for o in IVR_OUTCOMES:
        if o != IvrOutcome.SELF_SERVICE.value:
            row[f"outcome_{o}"] = outcomes.get(o, 0)
    offers: dict[str, Any] = figures["wait_offer"]
    row["wait_offered"] = offers["offered"]
    row["wait_accepted"] = offers["accepted"]
    row["wait_declined"] = offers["declined"]
    row["wait_accepted_pct"] = pct(offers["accepted"], offers["offered"])
    for choice, n in figures["choices"].items():
        row[f"choice_{choice}"] = n
    return row


def ivr_report(session: Session, *, period: Period) -> dict[str, Any]:
    """Containment (self-service completions / IVR sessions), outcomes, the estimated-wait call-back offers
    (offered, accepted, declined) and menu choices per bucket, from
    :func:`ivr.figures.ivr_figures` (the main ``ivr`` script only: call-back and survey scripts are not
    an IVR visit)."""
    rows = []
    for bucket in period.buckets():
        start, end = period.bucket_bounds_utc(bucket)
        rows.append(
            {
                "period_start": period.label(bucket),
                "key": "all",
                "label": "",
                **_ivr_row(ivr_figures(session, start=start, end=end)),
            }
        )
    totals = _ivr_row(ivr_figures(session, start=period.start_utc, end=period.end_utc))
    choices = sorted(k.removeprefix("choice_") for k in totals if k.startswith("choice_"))
    for row in rows:  # every row has every choice column, 0 where nobody chose it
        for choice in choices:
            row.setdefault(f"choice_{choice}", 0)
    return {"rows": rows, "groups": [], "totals": {"key": "all", **totals}, "choices": choices}


def report(
    session: Session,
    kind: Kind,
    *,
    period: Period,
    agents: Collection[int] | None,
    now: datetime,
    by: SurveyBy = SurveyBy.AGENT,
) -> tuple[dict[str, Any], tuple[Measure, ...]]:
    """The report of ``kind`` and its measures, in column order."""
    if kind is Kind.OUTBOUND:
        return outbound_report(session, period=period, agents=agents), OUTBOUND_MEASURES
    if kind is Kind.COMPLAINTS:
        return complaints_report(session, period=period, agents=agents, now=now), COMPLAINT_MEASURES
    if kind is Kind.SURVEY:
        return survey_report(session, period=period, agents=agents, by=by), SURVEY_MEASURES
    data = ivr_report(session, period=period)
    return data, IVR_MEASURES + tuple(choice_measure(c) for c in data["choices"])
