"""Reading the reports: the summary (CLI and bench), the interval/day series (HTTP), staffing, abandon curve.

``summary`` reads the day rollup only (a year is ~365 rows per queue and agent), ``summary_from_raw`` computes
the same object from the raw records with the aggregates' own SQL (the bench compares both; tests assert
they are equal).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from acd.events import CallOutcome
from acd.records.models import QueueLeg, RingAttempt
from core import metrics
from core.config import Settings
from core.people.models import Team, User
from reports import erlang
from reports.aggregates import (
    ReportConfig,
    _offer_columns,
    _queue_leg_columns,
    days_bounds,
)
from reports.measures import add_counters, derive_agent, derive_queue
from reports.models import (
    AGENT_COUNTERS,
    QUEUE_COUNTERS,
    AgentDay,
    AgentInterval,
    QueueDay,
    QueueInterval,
)

__all__ = [
    "GRAINS",
    "INTERVAL_GRAINS",
    "WAIT_BUCKETS",
    "abandon_curve",
    "agent_directory",
    "series",
    "staffing",
    "summary",
    "summary_from_raw",
]

INTERVAL_GRAINS = {"15m": 15, "30m": 30, "60m": 60}
GRAINS = (*INTERVAL_GRAINS, "day", "week", "month")
WAIT_BUCKETS: tuple[float, ...] = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, math.inf)


def _config(settings: Settings | ReportConfig) -> ReportConfig:
    return settings if isinstance(settings, ReportConfig) else ReportConfig.of(settings)


# --------------------------------------------------------------------------- the summary (issue's JSON)


def _queue_summary(queue: str, c: Mapping[str, int], config: ReportConfig) -> dict[str, Any]:
    offered, answered, within = c.get("offered", 0), c.get("answered", 0), c.get("answered_within", 0)
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": c.get("abandoned", 0),
        "exit_with_timeout": c.get("timed_out", 0),
        "exit_empty": c.get("left_empty", 0),
        "service_level": {
            "threshold_s": config.threshold_s(queue),
            "answered_within_threshold": within,
            "pct_of_answered": metrics.percent(within, answered),
            "pct_of_offered": metrics.percent(within, offered),
        },
        "asa_s": metrics.average_ms_as_s(c.get("wait_answered_ms", 0), c.get("wait_answered_n", 0)),
        "aht_s": metrics.average_ms_as_s(c.get("talk_ms", 0) + c.get("wrapup_ms", 0), c.get("talk_n", 0)),
    }


def _agent_summary(c: Mapping[str, int]) -> dict[str, Any]:
    met, missed = c.get("met", 0), c.get("missed", 0)
    return {
        "offers": c.get("offers", 0),
        "answered_within_3_rings": met,
        "missed": missed,
        "three_ring_compliance_pct": metrics.percent(met, met + missed),
    }


def _shape(
    queues: Mapping[str, Mapping[str, int]], agents: Mapping[str, Mapping[str, int]], config: ReportConfig
) -> dict[str, Any]:
    return {
        "queues": {
            q: _queue_summary(q, c, config)
            for q, c in sorted(queues.items())
            if c.get("offered", 0) + c.get("refused", 0) > 0
        },
        "agents": {a: _agent_summary(c) for a, c in sorted(agents.items()) if c.get("offers", 0) > 0},
    }


def summary(
    session: Session, *, start: date | None = None, end: date | None = None, settings: Settings | ReportConfig
) -> dict[str, Any]:
    """``{"queues": {NAME: {...}}, "agents": {MEMBER: {...}}}`` over the days ``start``..``end`` (inclusive,
    center zone; None: unbounded) from the day rollup."""
    config = _config(settings)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for model, key, names in ((QueueDay, "queue", QUEUE_COUNTERS), (AgentDay, "agent", AGENT_COUNTERS)):
        key_column = getattr(model, key)
        sums = [(func.max if n.startswith("max_") else func.sum)(getattr(model, n)).label(n) for n in names]
        query = select(key_column.label("key"), *sums).group_by(key_column)
        if start is not None:
            query = query.where(model.day >= start)
        if end is not None:
            query = query.where(model.day <= end)
        out[key] = {
            row["key"]: {n: int(row[n] or 0) for n in names} for row in session.execute(query).mappings()
        }
    return _shape(out["queue"], out["agent"], config)


def summary_from_raw(
    session: Session, *, start: date | None = None, end: date | None = None, settings: Settings | ReportConfig
) -> dict[str, Any]:
    """The same object as :func:`summary`, recomputed from the raw records (same attribution: legs by their
    join, attempts by their ring start, both once ended)."""
    config = _config(settings)
    lo, hi = _bounds(start, end, config.zone)
    leg, att = QueueLeg, RingAttempt
    legs = select(leg.queue.label("key"), *_queue_leg_columns(config)).where(leg.outcome.is_not(None))
    attempts = select(att.agent.label("key"), *_offer_columns(config)).where(att.outcome.is_not(None))
    if lo is not None:
        legs = legs.where(leg.joined_at >= lo)
        attempts = attempts.where(att.started_at >= lo)
    if hi is not None:
        legs = legs.where(leg.joined_at < hi)
        attempts = attempts.where(att.started_at < hi)
    queues = {
        row["key"]: {k: int(v or 0) for k, v in row.items() if k != "key"}
        for row in session.execute(legs.group_by(leg.queue)).mappings()
    }
    agents = {
        row["key"]: {k: int(v or 0) for k, v in row.items() if k != "key"}
        for row in session.execute(attempts.group_by(att.agent)).mappings()
    }
    return _shape(queues, agents, config)


def _bounds(start: date | None, end: date | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    lo = days_bounds(start, start, zone)[0] if start is not None else None
    hi = days_bounds(end, end, zone)[1] if end is not None else None
    return lo, hi


# --------------------------------------------------------------------------- who is who


def agent_directory(session: Session, agents: Mapping[str, str | None]) -> dict[str, User]:
    """Member name → user, for the agents given (member name → interface): by the user's ``pbx_interface``,
    else by the full name (the member name the desktop logs agents in with)."""
    interfaces = {i for i in agents.values() if i}
    names = set(agents)
    if not agents:
        return {}
    users = session.scalars(
        select(User).where(or_(User.pbx_interface.in_(interfaces), User.full_name.in_(names)))
    ).all()
    by_interface = {u.pbx_interface: u for u in users if u.pbx_interface}
    by_name = {u.full_name: u for u in users}
    found: dict[str, User] = {}
    for agent, interface in agents.items():
        user = by_interface.get(interface) if interface else None
        user = user or by_name.get(agent)
        if user is not None:
            found[agent] = user
    return found


def known_agents(session: Session, first: date, last: date) -> dict[str, str | None]:
    """Member name → interface of every agent with a day row in ``first``..``last``."""
    rows = session.execute(
        select(AgentDay.agent, func.max(AgentDay.interface))
        .where(AgentDay.day >= first, AgentDay.day <= last)
        .group_by(AgentDay.agent)
    )
    return {agent: interface for agent, interface in rows}


# --------------------------------------------------------------------------- series (HTTP rows)


def _period(at: datetime | date, grain: str, zone: ZoneInfo) -> datetime:
    if isinstance(at, datetime):
        local = at.astimezone(zone)
        minutes = INTERVAL_GRAINS[grain]
        floored = local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)
        return floored
    day = at
    if grain == "week":
        day = day - timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    return datetime.combine(day, time.min, tzinfo=zone)


def series(
    session: Session,
    *,
    start: date,
    end: date,
    grain: str,
    by: str,
    keys: Collection[str] | None = None,
    settings: Settings | ReportConfig,
    zone: ZoneInfo | None = None,
    agents: Collection[str] | None = None,
) -> dict[str, Any]:
    """Rows per (key, period) and totals per key for the days ``start``..``end`` (center zone).

    ``by``: ``queue`` | ``agent`` | ``team`` (a team is the sum of its agents' rows, membership as of now);
    ``keys``: queue names, member names or team names to keep (None: all); ``agents``: the member names the
    viewer may see (a team lead's team), applied to agent and team rows."""
    config = _config(settings)
    zone = zone or config.zone
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    interval = grain in INTERVAL_GRAINS
    names: tuple[str, ...]
    if by == "queue":
        model: Any = QueueInterval if interval else QueueDay
        key_column = model.queue
        names = QUEUE_COUNTERS
    else:
        model = AgentInterval if interval else AgentDay
        key_column = model.agent
        names = AGENT_COUNTERS
    query = select(model)
    if interval:
        lo, hi = days_bounds(start, end, zone)
        query = query.where(model.bucket_start >= lo, model.bucket_start < hi)
    else:
        query = query.where(model.day >= start, model.day <= end)

    labels: dict[str, str] = {}
    group_of: dict[str, list[str]] = {}  # member → the row keys it counts in
    if by == "queue":
        if keys:
            query = query.where(key_column.in_(list(keys)))
    else:
        members = known_agents(session, start, end)
        users = agent_directory(session, members)
        visible = set(members) if agents is None else set(members) & set(agents)
        if by == "agent":
            for agent in visible:
                if keys and agent not in keys:
                    continue
                group_of[agent] = [agent]
                user = users.get(agent)
                labels[agent] = user.full_name if user else agent
        else:
            teams = {t.id: t.name for t in session.scalars(select(Team))}
            for agent in visible:
                user = users.get(agent)
                if user is None or user.team_id is None:
                    continue
                name = teams.get(user.team_id)
                if name is None or (keys and name not in keys):
                    continue
                group_of[agent] = [name]
                labels[name] = name
        query = query.where(key_column.in_(list(group_of)))

    buckets: dict[tuple[str, datetime], dict[str, int]] = defaultdict(dict)
    totals: dict[str, dict[str, int]] = defaultdict(dict)
    for row in session.scalars(query):
        key = getattr(row, "queue" if by == "queue" else "agent")
        counters = {n: getattr(row, n) for n in names}
        period = _period(row.bucket_start if interval else row.day, grain, zone)
        for target in group_of.get(key, [key]) if by != "queue" else [key]:
            add_counters(buckets[(target, period)], counters)
            add_counters(totals[target], counters)
            labels.setdefault(target, target)

    def derive(key: str, counters: Mapping[str, int]) -> dict[str, Any]:
        if by == "queue":
            return derive_queue(
                counters,
                threshold_s=config.threshold_s(key),
                target_pct=config.target_pct(key),
                variant=config.variant(key),
                exclude_short=config.exclude_short,
            )
        return derive_agent(counters)

    rows = [
        {"key": key, "label": labels[key], "period_start": period.isoformat(), **derive(key, counters)}
        for (key, period), counters in sorted(buckets.items())
    ]
    total_rows = [
        {"key": key, "label": labels[key], **derive(key, counters)}
        for key, counters in sorted(totals.items())
    ]
    return {
        "grain": grain,
        "by": by,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "rows": rows,
        "totals": total_rows,
    }


# --------------------------------------------------------------------------- staffing and abandon curve


def staffing(
    session: Session,
    *,
    day: date,
    queue: str,
    grain: str,
    shrinkage_pct: float,
    settings: Settings | ReportConfig,
) -> dict[str, Any]:
    """Per interval of ``day``: measured arrivals and AHT of ``queue``, the agents Erlang C needs for the
    queue's target (and with shrinkage), the agents staffed (logged-in minus paused time of every agent,
    in agent-intervals; when no login is recorded, the agents who took or were offered calls) and the
    service level Erlang C forecasts with them."""
    config = _config(settings)
    minutes = INTERVAL_GRAINS[grain]
    interval_s = minutes * 60
    lo, hi = days_bounds(day, day, config.zone)
    threshold, target = config.threshold_s(queue), config.target_pct(queue)
    arrivals: dict[datetime, dict[str, int]] = defaultdict(dict)
    for row in session.scalars(
        select(QueueInterval).where(
            QueueInterval.queue == queue, QueueInterval.bucket_start >= lo, QueueInterval.bucket_start < hi
        )
    ):
        add_counters(
            arrivals[_period(row.bucket_start, grain, config.zone)],
            {n: getattr(row, n) for n in QUEUE_COUNTERS},
        )
    staffed_ms: dict[datetime, int] = defaultdict(int)
    active: dict[datetime, set[str]] = defaultdict(set)
    for agent_row in session.scalars(
        select(AgentInterval).where(AgentInterval.bucket_start >= lo, AgentInterval.bucket_start < hi)
    ):
        period = _period(agent_row.bucket_start, grain, config.zone)
        staffed_ms[period] += max(agent_row.logged_in_ms - agent_row.paused_ms, 0)
        if agent_row.offers or agent_row.answered:
            active[period].add(agent_row.agent)
    rows = []
    period = datetime.combine(day, time.min, tzinfo=config.zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=config.zone)
    while period < end:
        c = arrivals.get(period, {})
        offered = c.get("offered", 0)
        aht = (
            (c.get("talk_ms", 0) + c.get("wrapup_ms", 0)) / c["talk_n"] / 1000.0 if c.get("talk_n") else None
        )
        required = (
            erlang.agents_needed(offered, aht, interval_s, target_pct=target, threshold_s=threshold)
            if aht
            else 0
        )
        if staffed_ms.get(period):
            staffed: float = round(staffed_ms[period] / (interval_s * 1000.0), 1)
        else:
            staffed = float(len(active.get(period, ())))
        intensity = erlang.traffic_intensity(offered, aht or 0.0, interval_s)
        forecast = (
            round(100 * erlang.service_level(math.floor(staffed), intensity, aht, threshold), 1)
            if aht and offered
            else None
        )
        rows.append(
            {
                "period_start": period.isoformat(),
                "offered": offered,
                "aht_s": None if aht is None else round(aht, 1),
                "required_agents": required,
                "required_with_shrinkage": erlang.with_shrinkage(required, shrinkage_pct),
                "staffed_agents": staffed,
                "forecast_sl_pct": forecast,
            }
        )
        period = (period.astimezone(UTC) + timedelta(seconds=interval_s)).astimezone(config.zone)
    return {
        "queue": queue,
        "threshold_s": threshold,
        "target_pct": target,
        "shrinkage_pct": shrinkage_pct,
        "rows": rows,
    }


def abandon_curve(
    session: Session, *, start: date, end: date, queue: str | None, settings: Settings | ReportConfig
) -> dict[str, Any]:
    """Abandoned and answered callers by how long they waited (bucket upper bounds in seconds, the last one
    unbounded) and the cumulative share of callers (answered + abandoned) who had abandoned by then."""
    config = _config(settings)
    lo, hi = days_bounds(start, end, config.zone)
    leg = QueueLeg
    query = select(leg.outcome, leg.answered_at.is_not(None), leg.wait_ms).where(
        leg.joined_at >= lo,
        leg.joined_at < hi,
        leg.outcome.is_not(None),
        leg.outcome != CallOutcome.REFUSED_AT_JOIN,
    )
    if queue:
        query = query.where(leg.queue == queue)
    abandoned = [0] * len(WAIT_BUCKETS)
    answered = [0] * len(WAIT_BUCKETS)
    for outcome, was_answered, wait_ms in session.execute(query):
        if wait_ms is None:
            continue
        index = next(i for i, bound in enumerate(WAIT_BUCKETS) if wait_ms <= bound * 1000)
        if was_answered:
            answered[index] += 1
        elif outcome == CallOutcome.ABANDONED:
            abandoned[index] += 1
    total = sum(abandoned) + sum(answered)
    rows, running = [], 0
    for i, bound in enumerate(WAIT_BUCKETS):
        running += abandoned[i]
        rows.append(
            {
                "wait_s": "inf" if math.isinf(bound) else int(bound),
                "abandoned": abandoned[i],
                "answered": answered[i],
                "cumulative_abandon_pct": metrics.percent(running, total),
            }
        )
    return {"rows": rows}
