"""The team lead's wallboard: today's figures per queue from the durable call records, the live picture
(callers waiting, longest wait, agents by state) from the ACD's live state, per-agent rows and alerts.

Owns the wallboard's shapes (``WallboardOut`` and its parts) and ``build_wallboard``. The day is the center's
calendar day (``Settings.timezone``), so a day starts at local midnight whatever UTC says. Today's counts
are aggregated in SQL, one grouped query per interval bucket and queue (a busy day holds tens of thousands
of queue legs: they are never loaded as objects). The figures' definitions are ``core.metrics``'.

Without a PBX link (``app.state.acd`` is None) the live parts are empty or zero and the figures still come
from the records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from acd.events import CallOutcome
from acd.records.models import QueueLeg
from acd.records.queue_log import DEFAULT_SERVICE_LEVEL_S
from acd.state import AGENT_STATES, LOGGED_OUT, agents_by_state, effective_agent_state
from core import metrics, phone
from core.clock import day_bounds_utc
from core.config import Settings
from core.people.models import User

__all__ = [
    "MIN_CALLS_FOR_SL_ALERT",
    "UNANSWERED_OUTCOMES",
    "AlertKind",
    "LegCounts",
    "Viewer",
    "WallboardAgent",
    "WallboardAlert",
    "WallboardInterval",
    "WallboardOut",
    "WallboardQueue",
    "answered_per_agent",
    "bucket_expression",
    "build_wallboard",
    "leg_counts",
]

# A service level computed from fewer calls is noise (one slow answer at 07:01 would be "0 %"): the alert
# waits for this many counted calls (answered + unanswered after the threshold) in the queue today.
MIN_CALLS_FOR_SL_ALERT = 10

# The outcomes of a stay the caller left without being answered.
UNANSWERED_OUTCOMES = (CallOutcome.ABANDONED, CallOutcome.TIMED_OUT, CallOutcome.LEFT_EMPTY_QUEUE)


class AlertKind(StrEnum):
    SERVICE_LEVEL = "service_level"  # service level so far today below the queue's target
    LONG_WAIT = "long_wait"  # a caller has waited longer than wait_alert_seconds


class WallboardInterval(BaseModel):
    start: datetime
    offered: int
    answered: int
    abandoned: int
    service_level_pct: float | None


class WallboardQueue(BaseModel):
    name: str
    waiting: int
    longest_wait_s: float
    offered: int
    answered: int
    abandoned: int
    answered_within_threshold: int
    service_level_pct: float | None
    target_pct: int
    threshold_s: int
    avg_wait_s: float | None
    avg_talk_s: float | None
    agents_by_state: dict[str, int]
    intervals: list[WallboardInterval]


class WallboardAgent(BaseModel):
    user_id: int | None
    name: str
    agent_number: str | None
    team_id: int | None
    interface: str | None
    state: str
    since: float | None
    reason: str | None
    calls_today: int
    current_caller: str | None
    queues: list[str]


class WallboardAlert(BaseModel):
    kind: AlertKind
    queue: str
    value: float
    threshold: float


class WallboardOut(BaseModel):
    generated_at: datetime
    day: str
    queues: list[WallboardQueue]
    agents: list[WallboardAgent]
    alerts: list[WallboardAlert]
    wait_alert_seconds: int  # the long-wait threshold, so a screen can alert between two refreshes


# --------------------------------------------------------------------------- today's counts (SQL)


@dataclass
class LegCounts:
    """Counts of queue stays, as summed in SQL; they add up across interval buckets."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within: int = 0
    unanswered_after: int = 0
    wait_ms: int = 0
    wait_n: int = 0
    talk_ms: int = 0
    talk_n: int = 0

    def add(self, other: LegCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def service_level_pct(self) -> float | None:
        return metrics.service_level_pct(self.within, self.answered, self.unanswered_after)

    @property
    def counted(self) -> int:
        """Calls the service level is computed over."""
        return self.answered + self.unanswered_after


def bucket_expression(session: Session, start: datetime, step_s: int) -> ColumnElement[int]:
    """The interval bucket of a leg's join (0 = the first ``step_s`` seconds after ``start``), in SQL."""
    origin = int(start.timestamp())
    if session.get_bind().dialect.name == "sqlite":
        # The UTC column is stored as naive UTC text, which strftime reads as UTC; integer division floors
        # (the values are never negative: the query keeps joins after ``start``).
        epoch = cast(func.strftime("%s", QueueLeg.joined_at), Integer)
        return cast((epoch - origin) / step_s, Integer)
    return cast(func.floor((func.extract("epoch", QueueLeg.joined_at) - origin) / step_s), Integer)


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def leg_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    step_s: int,
    thresholds_s: Mapping[str, int],
    default_threshold_s: int = DEFAULT_SERVICE_LEVEL_S,
) -> dict[str, dict[int, LegCounts]]:
    """Per queue and interval bucket, the counts of the stays that joined in ``[start, end]`` (refusals at
    the door excluded: they were never offered)."""
    leg = QueueLeg
    default_ms = default_threshold_s * 1000
    threshold_ms: ColumnElement[int] = (
        case({q: t * 1000 for q, t in thresholds_s.items()}, value=leg.queue, else_=default_ms)
        if thresholds_s
        else literal(default_ms)
    )
    answered = leg.answered_at.is_not(None)
    bucket = bucket_expression(session, start, step_s).label("bucket")
    query = (
        select(
            leg.queue,
            bucket,
            func.count(),
            _sum_if(answered),
            _sum_if(leg.outcome == CallOutcome.ABANDONED),
            _sum_if(and_(answered, leg.wait_ms.is_not(None), leg.wait_ms <= threshold_ms)),
            _sum_if(
                and_(
                    leg.answered_at.is_(None),
                    leg.outcome.in_(UNANSWERED_OUTCOMES),
                    or_(leg.wait_ms.is_(None), leg.wait_ms > threshold_ms),
                )
            ),
            _sum_if(and_(answered, leg.wait_ms.is_not(None)), leg.wait_ms),
            _sum_if(and_(answered, leg.wait_ms.is_not(None))),
            _sum_if(and_(answered, leg.talk_ms.is_not(None)), leg.talk_ms),
            _sum_if(and_(answered, leg.talk_ms.is_not(None))),
        )
        .where(
            leg.joined_at >= start,
            leg.joined_at <= end,
            or_(leg.outcome.is_(None), leg.outcome != CallOutcome.REFUSED_AT_JOIN),
        )
        .group_by(leg.queue, bucket)
    )
    out: dict[str, dict[int, LegCounts]] = {}
    for row in session.execute(query):
        queue, index, *values = row
        out.setdefault(queue, {})[int(index)] = LegCounts(*(int(v or 0) for v in values))
    return out


def answered_per_agent(
    session: Session, *, start: datetime, end: datetime
) -> dict[tuple[str | None, str | None], int]:
    """Answered stays today per (interface, member name) of the answering agent."""
    query = (
        select(QueueLeg.interface, QueueLeg.agent, func.count())
        .where(QueueLeg.joined_at >= start, QueueLeg.joined_at <= end, QueueLeg.answered_at.is_not(None))
        .group_by(QueueLeg.interface, QueueLeg.agent)
    )
    return {(interface, agent): int(n) for interface, agent, n in session.execute(query)}


# --------------------------------------------------------------------------- the board


@dataclass(frozen=True)
class Viewer:
    """Who looks: a team lead sees the agents of ``team_id`` only; ``unmasked`` shows callers' numbers."""

    team_only: bool
    team_id: int | None
    unmasked: bool


def _users_by_phone(
    session: Session, interfaces: Iterable[str], names: Iterable[str]
) -> tuple[dict[str, User], dict[str, User]]:
    interfaces, names = set(interfaces), set(names)
    if not interfaces and not names:
        return {}, {}
    conditions = []
    if interfaces:
        conditions.append(User.pbx_interface.in_(interfaces))
    if names:
        conditions.append(User.full_name.in_(names))
    users = session.scalars(select(User).where(or_(*conditions))).all()
    by_interface = {u.pbx_interface: u for u in users if u.pbx_interface}
    by_name: dict[str, User] = {}
    for u in users:
        by_name.setdefault(u.full_name, u)
    return by_interface, by_name


def _agent_rows(
    session: Session,
    *,
    snapshot: Mapping[str, Any],
    per_agent: Mapping[tuple[str | None, str | None], int],
    viewer: Viewer,
    now: float,
    region: str,
) -> list[WallboardAgent]:
    live_agents: Mapping[str, Mapping[str, Any]] = snapshot.get("agents", {})
    calls: Mapping[str, Mapping[str, Any]] = snapshot.get("calls", {})
    interfaces = {a["interface"] for a in live_agents.values() if a.get("interface")}
    interfaces |= {interface for interface, _ in per_agent if interface}
    names = set(live_agents) | {name for interface, name in per_agent if name and not interface}
    by_interface, by_name = _users_by_phone(session, interfaces, names)

    def calls_of(interface: str | None, name: str | None) -> int:
        total = 0
        for (leg_interface, leg_agent), n in per_agent.items():
            if (interface and leg_interface == interface) or (not leg_interface and leg_agent == name):
                total += n
        return total

    rows: list[WallboardAgent] = []
    seen_users: set[int] = set()
    for name, agent in sorted(live_agents.items()):
        interface = agent.get("interface")
        user = (by_interface.get(interface) if interface else None) or by_name.get(name)
        if viewer.team_only and (user is None or viewer.team_id is None or user.team_id != viewer.team_id):
            continue
        if user is not None:
            seen_users.add(user.id)
        state, since = effective_agent_state(agent, now)
        call = calls.get(agent.get("call") or "")
        rows.append(
            WallboardAgent(
                user_id=user.id if user else None,
                name=user.full_name if user else name,
                agent_number=user.agent_number if user else None,
                team_id=user.team_id if user else None,
                interface=interface,
                state=state,
                since=since,
                reason=agent.get("reason"),
                calls_today=calls_of(interface, name),
                current_caller=phone.for_reader(
                    call.get("caller_number"), unmasked=viewer.unmasked, region=region
                )
                if call
                else None,
                queues=sorted(agent.get("queues", {})),
            )
        )
    # Agents who answered calls today but are not in the live picture (logged out, or no PBX link).
    for user in sorted({*by_interface.values(), *by_name.values()}, key=lambda u: (u.full_name, u.id)):
        if user.id in seen_users:
            continue
        if viewer.team_only and (viewer.team_id is None or user.team_id != viewer.team_id):
            continue
        n = calls_of(user.pbx_interface, None)
        if not n:
            continue
        seen_users.add(user.id)
        rows.append(
            WallboardAgent(
                user_id=user.id,
                name=user.full_name,
                agent_number=user.agent_number,
                team_id=user.team_id,
                interface=user.pbx_interface,
                state=LOGGED_OUT,
                since=None,
                reason=None,
                calls_today=n,
                current_caller=None,
                queues=[],
            )
        )
    return rows


def build_wallboard(
    session: Session,
    *,
    settings: Settings,
    snapshot: Mapping[str, Any] | None,
    thresholds_s: Mapping[str, int],
    viewer: Viewer,
    now: datetime,
    interval_minutes: int = 30,
) -> WallboardOut:
    """The wallboard at ``now`` (aware). ``snapshot``: the live state's snapshot, None without a PBX link;
    ``thresholds_s``: each queue's service-level threshold (queues not named: 20 s)."""
    zone = settings.zone
    local_now = now.astimezone(zone)
    day = local_now.date()
    start, end = day_bounds_utc(day, zone)
    step_s = interval_minutes * 60
    now_ts = now.timestamp()
    live = snapshot or {}
    live_queues: Mapping[str, Mapping[str, Any]] = live.get("queues", {})
    live_agents: Mapping[str, Mapping[str, Any]] = live.get("agents", {})

    counts = leg_counts(session, start=start, end=end, step_s=step_s, thresholds_s=thresholds_s)
    # Buckets from the day's start to now (a chart needs the empty ones too), and any later one with data.
    day_buckets = max(1, math.ceil((end - start).total_seconds() / step_s))
    elapsed = max(0.0, min(now_ts, end.timestamp()) - start.timestamp())
    shown = min(day_buckets, max(1, math.floor(elapsed / step_s) + 1))
    for by_bucket in counts.values():
        if by_bucket:
            shown = max(shown, min(day_buckets, max(by_bucket) + 1))

    names = sorted(set(counts) | set(live_queues) | set(thresholds_s))
    queues: list[WallboardQueue] = []
    alerts: list[WallboardAlert] = []
    for name in names:
        by_bucket = counts.get(name, {})
        total = LegCounts()
        intervals = []
        for index in range(shown):
            c = by_bucket.get(index, LegCounts())
            total.add(c)
            intervals.append(
                WallboardInterval(
                    start=(start + timedelta(seconds=index * step_s)).astimezone(zone),
                    offered=c.offered,
                    answered=c.answered,
                    abandoned=c.abandoned,
                    service_level_pct=c.service_level_pct,
                )
            )
        lq = live_queues.get(name)
        waiting = int(lq["count"]) if lq else 0
        longest = lq.get("longest_since") if lq else None
        longest_wait = round(max(0.0, now_ts - longest), 1) if longest and waiting else 0.0
        target = settings.service_level_targets.get(name, settings.service_level_target_percent)
        threshold = int(thresholds_s.get(name, DEFAULT_SERVICE_LEVEL_S))
        sl = total.service_level_pct
        by_state = agents_by_state(lq, live_agents, now_ts) if lq else dict.fromkeys(AGENT_STATES[1:], 0)
        queues.append(
            WallboardQueue(
                name=name,
                waiting=waiting,
                longest_wait_s=longest_wait,
                offered=total.offered,
                answered=total.answered,
                abandoned=total.abandoned,
                answered_within_threshold=total.within,
                service_level_pct=sl,
                target_pct=target,
                threshold_s=threshold,
                avg_wait_s=metrics.average_ms_as_s(total.wait_ms, total.wait_n),
                avg_talk_s=metrics.average_ms_as_s(total.talk_ms, total.talk_n),
                agents_by_state=by_state,
                intervals=intervals,
            )
        )
        if sl is not None and total.counted >= MIN_CALLS_FOR_SL_ALERT and sl < target:
            alerts.append(
                WallboardAlert(kind=AlertKind.SERVICE_LEVEL, queue=name, value=sl, threshold=target)
            )
        if longest_wait > settings.wait_alert_seconds:
            alerts.append(
                WallboardAlert(
                    kind=AlertKind.LONG_WAIT,
                    queue=name,
                    value=longest_wait,
                    threshold=settings.wait_alert_seconds,
                )
            )

    agents = _agent_rows(
        session,
        snapshot=live,
        per_agent=answered_per_agent(session, start=start, end=end),
        viewer=viewer,
        now=now_ts,
        region=settings.phone_region,
    )
    return WallboardOut(
        generated_at=local_now,
        day=day.isoformat(),
        queues=queues,
        agents=agents,
        alerts=alerts,
        wait_alert_seconds=settings.wait_alert_seconds,
    )
