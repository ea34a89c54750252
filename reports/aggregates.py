"""Interval aggregates: computing them from the raw call records, storing them, keeping them up to date.

The raw records (``pbx_queue_legs``, ``pbx_ring_attempts``, ``reports_agent_state_spans``) are the truth;
the aggregates are a cache of sums that must always equal a recomputation. Attribution to a 15-minute
bucket (UTC, aligned to the epoch, so to every real zone's quarter hours):

* a queue leg counts in its queue's bucket of ``joined_at`` once it has ended (``outcome`` set), and in the
  answering agent's bucket of ``answered_at``;
* a ring attempt counts, once ended, in its agent's and its leg's queue's bucket of ``started_at``;
* logged-in and paused time is cut at bucket edges (an open span runs until ``now``).

Day rows (``reports_*_days``) are the sums of the day's interval rows, the day taken in the center's zone.

:func:`rebuild` recomputes a time range; :class:`AggregateMaintainer` (a background task of the app) every few
seconds finds the legs, attempts and spans that ended since its watermark (indexed ``ended_at``) and
recomputes exactly the buckets they fall in, and their days. Writes are upserts (SQLite and PostgreSQL
``ON CONFLICT``); nothing here commits except the maintainer's own transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, and_, case, cast, delete, func, literal, or_, select, tuple_
from sqlalchemy import insert as insert_into
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from acd.events import CallOutcome
from acd.records.models import QueueLeg, RingAttempt, RingOutcome
from acd.wallboard import queues_conf_thresholds
from core.clock import utcnow
from core.config import Settings
from core.db import transaction
from core.service_levels import ServiceLevelConfig, resolved_fields
from reports.models import (
    AGENT_COUNTERS,
    BUCKET_SECONDS,
    QUEUE_COUNTERS,
    AgentDay,
    AgentInterval,
    AgentStateKind,
    AgentStateSpan,
    QueueDay,
    QueueInterval,
    ReportWatermark,
)

log = logging.getLogger(__name__)

BUCKET = timedelta(seconds=BUCKET_SECONDS)
WATERMARK = "calls"
MAX_STAY = timedelta(days=1)  # no caller waits a day in a queue (Asterisk's timeouts are minutes)
INSERT_CHUNK = 5000

Counters = dict[str, int]
Rows = dict[tuple[str, datetime], Counters]


@dataclass(frozen=True)
class ReportConfig(ServiceLevelConfig):
    """What the figures depend on: each queue's service-level settings (threshold, target, variant, short
    abandons, ring cycle: resolved by ``core.service_levels``, as the wallboard's) and the center's zone."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    @classmethod
    def of(cls, settings: Settings) -> ReportConfig:
        """From the settings; a queue's threshold defaults to its ``servicelevel`` in queues.conf (when
        ``queues_conf`` is set), ``service_level_thresholds`` overriding it."""
        return cls(zone=settings.zone, **resolved_fields(settings, queues_conf_thresholds(settings)))


# --------------------------------------------------------------------------- time helpers


def floor_bucket(at: datetime) -> datetime:
    epoch = int(at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % BUCKET_SECONDS, UTC)


def ceil_bucket(at: datetime) -> datetime:
    floor = floor_bucket(at)
    return floor if floor == at else floor + BUCKET


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def days_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of the calendar days ``first``..``last`` (inclusive) in ``zone``."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def epoch_expression(session: Session, column: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "sqlite":
        # UTC columns are naive UTC text in SQLite, which strftime reads as UTC
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def bucket_expression(session: Session, column: Any) -> ColumnElement[Any]:
    epoch = epoch_expression(session, column)
    return (epoch / BUCKET_SECONDS) * BUCKET_SECONDS  # integer division on both dialects (positive epochs)


# --------------------------------------------------------------------------- raw → counters (SQL)


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _threshold_ms(config: ReportConfig, queue_column: Any) -> ColumnElement[int]:
    default_ms = config.default_threshold_s * 1000
    if not config.thresholds_s:
        return literal(default_ms)
    return case(
        {q: int(t) * 1000 for q, t in config.thresholds_s.items()}, value=queue_column, else_=default_ms
    )


def _queue_leg_columns(config: ReportConfig) -> list[ColumnElement[int]]:
    leg = QueueLeg
    offered = leg.outcome != CallOutcome.REFUSED_AT_JOIN
    answered = and_(offered, leg.answered_at.is_not(None))
    abandoned = leg.outcome == CallOutcome.ABANDONED
    short_ms = config.short_abandon_s * 1000
    short = (
        and_(abandoned, leg.wait_ms.is_not(None), leg.wait_ms <= short_ms) if short_ms > 0 else literal(False)
    )
    known_wait = and_(offered, leg.wait_ms.is_not(None))
    return [
        _sum_if(offered).label("offered"),
        _sum_if(answered).label("answered"),
        _sum_if(abandoned).label("abandoned"),
        _sum_if(short).label("short_abandoned"),
        _sum_if(leg.outcome == CallOutcome.TIMED_OUT).label("timed_out"),
        _sum_if(leg.outcome == CallOutcome.LEFT_EMPTY_QUEUE).label("left_empty"),
        _sum_if(leg.outcome == CallOutcome.REFUSED_AT_JOIN).label("refused"),
        _sum_if(leg.outcome == CallOutcome.TRANSFERRED).label("transferred"),
        _sum_if(
            and_(answered, leg.wait_ms.is_not(None), leg.wait_ms <= _threshold_ms(config, leg.queue))
        ).label("answered_within"),
        _sum_if(and_(answered, leg.wait_ms.is_not(None)), leg.wait_ms).label("wait_answered_ms"),
        _sum_if(and_(answered, leg.wait_ms.is_not(None))).label("wait_answered_n"),
        _sum_if(known_wait, leg.wait_ms).label("wait_ms"),
        _sum_if(known_wait).label("wait_n"),
        func.coalesce(func.max(case((known_wait, leg.wait_ms), else_=0)), 0).label("max_wait_ms"),
        _sum_if(and_(answered, leg.talk_ms.is_not(None)), leg.talk_ms).label("talk_ms"),
        _sum_if(and_(answered, leg.talk_ms.is_not(None))).label("talk_n"),
        _sum_if(and_(answered, leg.wrapup_ms.is_not(None)), leg.wrapup_ms).label("wrapup_ms"),
        _sum_if(and_(answered, leg.wrapup_ms.is_not(None))).label("wrapup_n"),
    ]


def _offer_columns(config: ReportConfig) -> list[ColumnElement[int]]:
    """Three-ring compliance per offer, in SQL: the same rule as ``core.metrics.classify_offer``."""
    att = RingAttempt
    three = config.three_rings_ms
    answered = att.outcome == RingOutcome.ANSWERED
    met = and_(answered, att.ring_ms.is_not(None), att.ring_ms <= three)
    missed = or_(
        att.outcome == RingOutcome.RING_NO_ANSWER,
        and_(answered, or_(att.ring_ms.is_(None), att.ring_ms > three)),
        and_(att.outcome == RingOutcome.CANCELED, att.ring_ms.is_not(None), att.ring_ms > three),
    )
    return [
        func.count().label("offers"),
        _sum_if(met).label("met"),
        _sum_if(missed).label("missed"),
        _sum_if(att.outcome == RingOutcome.RING_NO_ANSWER).label("ring_no_answer"),
        _sum_if(att.outcome == RingOutcome.CANCELED).label("canceled"),
    ]


def _add(rows: Rows, key: tuple[str, datetime], values: Mapping[str, Any]) -> None:
    target = rows.setdefault(key, {})
    for name, value in values.items():
        if name == "interface":
            continue
        value = int(value or 0)
        if name.startswith("max_"):
            target[name] = max(target.get(name, 0), value)
        else:
            target[name] = target.get(name, 0) + value


def queue_rows(session: Session, start: datetime, end: datetime, config: ReportConfig) -> Rows:
    """(queue, bucket start) → counters, for ``[start, end)`` (bucket-aligned)."""
    rows: Rows = {}
    leg = QueueLeg
    bucket = bucket_expression(session, leg.joined_at).label("bucket")
    query = (
        select(leg.queue, bucket, *_queue_leg_columns(config))
        .where(leg.joined_at >= start, leg.joined_at < end, leg.outcome.is_not(None))
        .group_by(leg.queue, bucket)
    )
    for row in session.execute(query).mappings():
        _add(
            rows,
            (row["queue"], _epoch(row["bucket"])),
            {k: row[k] for k in row if k not in ("queue", "bucket")},
        )
    att = RingAttempt
    bucket = bucket_expression(session, att.started_at).label("bucket")
    attempts = (
        select(leg.queue, bucket, *_offer_columns(config)[:4])
        .join(leg, leg.id == att.leg_id)
        .where(att.started_at >= start, att.started_at < end, att.outcome.is_not(None))
        .group_by(leg.queue, bucket)
    )
    for row in session.execute(attempts).mappings():
        _add(
            rows,
            (row["queue"], _epoch(row["bucket"])),
            {k: row[k] for k in row if k not in ("queue", "bucket")},
        )
    for (queue, _bucket), counters in rows.items():
        counters["threshold_s"] = config.threshold_s(queue)
    return rows


def agent_rows(
    session: Session, start: datetime, end: datetime, config: ReportConfig, *, now: datetime | None = None
) -> tuple[Rows, dict[str, str]]:
    """(agent, bucket start) → counters for ``[start, end)``, and agent → interface (when known)."""
    rows: Rows = {}
    interfaces: dict[str, str] = {}
    leg = QueueLeg
    bucket = bucket_expression(session, leg.answered_at).label("bucket")
    known_talk = leg.talk_ms.is_not(None)
    known_wrapup = leg.wrapup_ms.is_not(None)
    legs = (
        select(
            leg.agent,
            bucket,
            func.max(leg.interface).label("interface"),
            func.count().label("answered"),
            _sum_if(leg.outcome == CallOutcome.TRANSFERRED).label("transferred"),
            _sum_if(known_talk, leg.talk_ms).label("talk_ms"),
            _sum_if(known_talk).label("talk_n"),
            _sum_if(known_wrapup, leg.wrapup_ms).label("wrapup_ms"),
            _sum_if(known_wrapup).label("wrapup_n"),
        )
        .where(
            leg.answered_at >= start,
            leg.answered_at < end,
            # through the join-time index: a stay is answered within a day of joining, and never before
            leg.joined_at >= start - MAX_STAY,
            leg.joined_at < end,
            leg.agent.is_not(None),
            leg.outcome.is_not(None),
            leg.outcome != CallOutcome.REFUSED_AT_JOIN,
        )
        .group_by(leg.agent, bucket)
    )
    att = RingAttempt
    abucket = bucket_expression(session, att.started_at).label("bucket")
    attempts = (
        select(att.agent, abucket, func.max(att.interface).label("interface"), *_offer_columns(config))
        .where(att.started_at >= start, att.started_at < end, att.outcome.is_not(None))
        .group_by(att.agent, abucket)
    )
    for query in (legs, attempts):
        for row in session.execute(query).mappings():
            agent = row["agent"]
            if row["interface"]:
                interfaces[agent] = max(interfaces.get(agent, ""), row["interface"])
            _add(
                rows, (agent, _epoch(row["bucket"])), {k: row[k] for k in row if k not in ("agent", "bucket")}
            )
    for (agent, slot), (logged_ms, paused_ms, interface) in state_times(session, start, end, now=now).items():
        _add(rows, (agent, slot), {"logged_in_ms": logged_ms, "paused_ms": paused_ms})
        if interface:
            interfaces[agent] = max(interfaces.get(agent, ""), interface)
    for counters in rows.values():
        for name in AGENT_COUNTERS:
            counters.setdefault(name, 0)
    return rows, interfaces


def state_times(
    session: Session, start: datetime, end: datetime, *, now: datetime | None = None
) -> dict[tuple[str, datetime], tuple[int, int, str | None]]:
    """(agent, bucket) → (logged-in ms, paused ms, interface) of the spans overlapping ``[start, end)``, cut
    at bucket edges; an open span lasts until ``now``."""
    now = now or utcnow()
    span = AgentStateSpan
    rows = session.execute(
        select(span.agent, span.kind, span.started_at, span.ended_at, span.interface).where(
            span.started_at < end, or_(span.ended_at.is_(None), span.ended_at > start), span.started_at < now
        )
    )
    # integer milliseconds since the epoch: a year of shifts is millions of pieces
    lo_ms, hi_ms, now_ms = _ms(start), _ms(end), _ms(now)
    step = BUCKET_SECONDS * 1000
    out: dict[tuple[str, int], list[Any]] = {}
    for agent, kind, started, ended, interface in rows:
        lo = max(_ms(started), lo_ms)
        hi = min(_ms(ended) if ended is not None else now_ms, hi_ms)
        index = 0 if kind == AgentStateKind.LOGGED_IN else 1
        slot = lo - lo % step
        while slot < hi:
            entry = out.get((agent, slot))
            if entry is None:
                entry = out[(agent, slot)] = [0, 0, None]
            entry[index] += min(slot + step, hi) - max(slot, lo)
            if interface:
                entry[2] = max(entry[2] or "", interface)
            slot += step
    slots: dict[int, datetime] = {}
    result: dict[tuple[str, datetime], tuple[int, int, str | None]] = {}
    for (agent, slot), (logged, paused, interface) in out.items():
        at = slots.get(slot)
        if at is None:
            at = slots[slot] = datetime.fromtimestamp(slot // 1000, UTC)
        result[(agent, at)] = (logged, paused, interface)
    return result


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _epoch(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


# --------------------------------------------------------------------------- storing


def _insert(session: Session) -> Callable[..., Any]:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def upsert(session: Session, model: Any, rows: list[dict[str, Any]], keys: tuple[str, str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE (SQLite and PostgreSQL), one statement executed for many rows."""
    if not rows:
        return
    table = model.__table__
    statement = _insert(session)(table)
    columns = [name for name in rows[0] if name not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )
    connection = session.connection()
    for at in range(0, len(rows), INSERT_CHUNK):
        connection.execute(statement, rows[at : at + INSERT_CHUNK])


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    connection = session.connection()
    for at in range(0, len(rows), INSERT_CHUNK):
        connection.execute(insert_into(model.__table__), rows[at : at + INSERT_CHUNK])


def _queue_record(queue: str, bucket: datetime, counters: Counters) -> dict[str, Any]:
    record: dict[str, Any] = {"queue": queue, "bucket_start": bucket}
    record.update({name: counters.get(name, 0) for name in QUEUE_COUNTERS})
    record["threshold_s"] = counters.get("threshold_s", 0)
    return record


def _agent_record(agent: str, bucket: datetime, counters: Counters, interface: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"agent": agent, "bucket_start": bucket, "interface": interface}
    record.update({name: counters.get(name, 0) for name in AGENT_COUNTERS})
    return record


def write_intervals(
    session: Session,
    start: datetime,
    end: datetime,
    config: ReportConfig,
    *,
    now: datetime | None = None,
    replace: bool = False,
) -> None:
    """Recompute the interval rows of ``[start, end)`` (bucket-aligned) from the raw records and store them:
    ``replace`` deletes the range and inserts (a rebuild); otherwise upserts the new rows and deletes the
    range's rows that no longer have anything to count."""
    qrows = queue_rows(session, start, end, config)
    arows, interfaces = agent_rows(session, start, end, config, now=now)
    qrecords = [_queue_record(q, b, c) for (q, b), c in sorted(qrows.items())]
    arecords = [_agent_record(a, b, c, interfaces.get(a)) for (a, b), c in sorted(arows.items())]
    for model, records, key in (
        (QueueInterval, qrecords, "queue"),
        (AgentInterval, arecords, "agent"),
    ):
        in_range = and_(model.bucket_start >= start, model.bucket_start < end)
        if replace:
            session.execute(delete(model).where(in_range))
            bulk_insert(session, model, records)
            continue
        upsert(session, model, records, (key, "bucket_start"))
        kept = [(r[key], r["bucket_start"]) for r in records]
        stale = delete(model).where(in_range)
        if kept:
            stale = stale.where(tuple_(getattr(model, key), model.bucket_start).not_in(kept))
        session.execute(stale)


def write_days(
    session: Session, days: Iterable[date], config: ReportConfig, *, replace: bool = False
) -> None:
    """Day rows = the sums of the day's interval rows (the day in the center's zone). ``replace``: the days'
    rows are deleted and inserted anew (a rebuild) rather than upserted."""
    days = sorted(set(days))
    if replace and days:
        for model in (QueueDay, AgentDay):
            session.execute(delete(model).where(model.day >= days[0], model.day <= days[-1]))
    for day in days:
        lo, hi = days_bounds(day, day, config.zone)
        for interval, day_model, key, names in (
            (QueueInterval, QueueDay, "queue", QUEUE_COUNTERS),
            (AgentInterval, AgentDay, "agent", AGENT_COUNTERS),
        ):
            key_column = getattr(interval, key)
            sums = [
                (func.max if name.startswith("max_") else func.sum)(getattr(interval, name)).label(name)
                for name in names
            ]
            extra = (
                [func.max(QueueInterval.threshold_s).label("threshold_s")]
                if interval is QueueInterval
                else [func.max(AgentInterval.interface).label("interface")]
            )
            query = (
                select(key_column.label(key), *sums, *extra)
                .where(interval.bucket_start >= lo, interval.bucket_start < hi)
                .group_by(key_column)
            )
            records = []
            for row in session.execute(query).mappings():
                record = {key: row[key], "day": day}
                record.update({name: int(row[name] or 0) for name in names})
                if interval is QueueInterval:
                    record["threshold_s"] = int(row["threshold_s"] or 0)
                else:
                    record["interface"] = row["interface"]
                records.append(record)
            if replace:
                bulk_insert(session, day_model, records)
                continue
            upsert(session, day_model, records, (key, "day"))
            stale = delete(day_model).where(day_model.day == day)
            if records:
                stale = stale.where(getattr(day_model, key).not_in([r[key] for r in records]))
            session.execute(stale)


def days_of(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """The local days that ``[start, end)`` touches."""
    first, last = local_day(start, zone), local_day(end - timedelta(microseconds=1), zone)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def rebuild(
    session: Session,
    start: datetime,
    end: datetime,
    config: ReportConfig | None = None,
    *,
    now: datetime | None = None,
    chunk: timedelta = timedelta(days=7),
) -> None:
    """Recompute every interval and day row of ``[start, end)`` (widened to whole local days) from the raw
    records. Flushes, never commits."""
    config = config or ReportConfig()
    lo, hi = days_bounds(
        local_day(start, config.zone), local_day(end - timedelta(microseconds=1), config.zone), config.zone
    )
    at = lo
    while at < hi:
        upto = min(at + chunk, hi)
        write_intervals(session, at, upto, config, now=now, replace=True)
        at = upto
    write_days(session, days_of(lo, hi, config.zone), config, replace=True)
    session.flush()


def raw_span(session: Session) -> tuple[datetime, datetime] | None:
    """The time span of everything the aggregates count (None when there is nothing)."""
    lo_leg, hi_leg = session.execute(select(func.min(QueueLeg.joined_at), func.max(QueueLeg.ended_at))).one()
    lo_att, hi_att = session.execute(
        select(func.min(RingAttempt.started_at), func.max(RingAttempt.ended_at))
    ).one()
    lo_span, hi_span = session.execute(
        select(func.min(AgentStateSpan.started_at), func.max(AgentStateSpan.ended_at))
    ).one()
    los = [v for v in (lo_leg, lo_att, lo_span) if v is not None]
    his = [v for v in (hi_leg, hi_att, hi_span, *los) if v is not None]
    if not los:
        return None
    return min(los), max(his) + timedelta(seconds=1)


# --------------------------------------------------------------------------- keeping them up to date


def refresh(
    session: Session,
    config: ReportConfig,
    *,
    now: datetime | None = None,
    lag: timedelta = timedelta(minutes=2),
) -> int:
    """One maintainer step: recompute the buckets (and their days) of everything that ended since the
    watermark (less ``lag``, for records a slower source completes late: queue_log after AMI). The first
    step over a database rebuilds the whole span of the raw records. Returns the number of buckets redone.
    Flushes, never commits."""
    now = now or utcnow()
    mark = session.get(ReportWatermark, WATERMARK)
    if mark is None:
        mark = ReportWatermark(name=WATERMARK, at=None, zone=str(config.zone))
        session.add(mark)
    if mark.at is None or mark.zone != str(config.zone):
        span = raw_span(session)
        if span is not None:
            rebuild(
                session, span[0], max(span[1], now) if _has_open_spans(session) else span[1], config, now=now
            )
        mark.at = span[1] - timedelta(seconds=1) if span else None
        mark.span_id = session.scalar(select(func.max(AgentStateSpan.id))) or 0
        mark.zone = str(config.zone)
        session.flush()
        return -1
    since = mark.at - lag
    slots: set[datetime] = set()
    newest: datetime = mark.at
    leg = QueueLeg
    for joined, answered, ended in session.execute(
        select(leg.joined_at, leg.answered_at, leg.ended_at).where(leg.ended_at > since)
    ):
        slots.add(floor_bucket(joined))
        if answered is not None:
            slots.add(floor_bucket(answered))
        newest = max(newest, ended or newest)
    for started, ended in session.execute(
        select(RingAttempt.started_at, RingAttempt.ended_at).where(RingAttempt.ended_at > since)
    ):
        slots.add(floor_bucket(started))
        newest = max(newest, ended or newest)
    spans = AgentStateSpan
    newest_span = mark.span_id or 0
    for span_id, started, ended in session.execute(
        select(spans.id, spans.started_at, spans.ended_at).where(
            or_(spans.ended_at > since, spans.ended_at.is_(None), spans.id > (mark.span_id or 0))
        )
    ):
        # a span seen before was counted until the last step (open: until then); only its time since has
        # changed. A span new to the maintainer (a queue_log replay, say) is counted from its start.
        first = started if span_id > (mark.span_id or 0) else max(started, since - BUCKET)
        slot, upto = floor_bucket(first), ended or now
        while slot < upto:
            slots.add(slot)
            slot += BUCKET
        newest_span = max(newest_span, span_id)
        if ended is not None:
            newest = max(newest, ended)
    for slot in sorted(slots):
        write_intervals(session, slot, slot + BUCKET, config, now=now)
    write_days(session, {local_day(slot, config.zone) for slot in slots}, config)
    mark.at = newest
    mark.span_id = newest_span
    session.flush()
    return len(slots)


def _has_open_spans(session: Session) -> bool:
    return (
        session.scalar(select(AgentStateSpan.id).where(AgentStateSpan.ended_at.is_(None)).limit(1))
        is not None
    )


class AggregateMaintainer:
    """The app's background task: :func:`refresh` every ``interval_s`` seconds, each in its own transaction
    in a worker thread (the event loop never blocks on the database).

    Wire in ``callcenter.app``'s lifespan::

        from reports.aggregates import AggregateMaintainer, ReportConfig
        maintainer = AggregateMaintainer(app.state.session_factory, ReportConfig.of(settings))
        maintainer.start()
        ...  # on shutdown, before engine.dispose():
        await maintainer.stop()
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        config: ReportConfig,
        *,
        interval_s: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.config = config
        self.interval_s = interval_s
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self.steps = 0

    def step(self) -> int:
        with transaction(self.session_factory) as session:
            redone = refresh(session, self.config, now=self.clock())
        self.steps += 1
        return redone

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.step)
            except Exception:  # a bad step must not end the loop: the next one redoes the same buckets
                log.exception("reports: aggregate refresh failed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="reports-aggregates")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
