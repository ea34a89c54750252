"""The team lead's wallboard: today's figures per queue from the durable call records, the live picture
(callers waiting, longest wait, agents by state) from the ACD's live state, per-agent rows and alerts.

Owns the wallboard's shapes (``WallboardOut`` and its parts) and ``build_wallboard``. The day is the center's
calendar day (``Settings.timezone``), so a day starts at local midnight whatever UTC says. Today's counts
are aggregated in SQL, one grouped query per interval bucket and queue (a busy day holds tens of thousands
of queue legs: they are never loaded as objects). The figures' definitions are ``core.metrics``'.

The figures are the reports' (``/api/reports/calls``), for today: each queue's threshold, target, formula
(variant) and short-abandon rule are resolved by ``core.service_levels`` exactly as
``reports.aggregates.ReportConfig`` resolves them; a stay counts once answered or ended (the reports count
it when it ends, so during a call the board is one answered call ahead; a caller still waiting shows in
``waiting``), refusals at the door are not offered; *abandoned* is
a caller who hung up in the queue (timeouts and "no agents" exits are offered, not abandoned), *short* when
the wait was at most ``short_abandon_seconds``. Three-ring compliance per agent is per offer
(``core.metrics.classify_offer`` over today's ring attempts): met / (met + missed).

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
from acd.records.models import QueueLeg, RingAttempt, RingOutcome
from acd.records.queue_log import parse_queues_conf
from acd.state import AGENT_STATES, LOGGED_OUT, agents_by_state, effective_agent_state
from core import metrics, phone
from core.clock import day_bounds_utc
from core.config import Settings
from core.people.models import User
from core.service_levels import ServiceLevelConfig

__all__ = [
    "MIN_CALLS_FOR_SL_ALERT",
    "AlertKind",
    "LegCounts",
    "OfferCounts",
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
    "offer_counts",
    "queues_conf_thresholds",
    "service_level_config",
]

# A service level computed from fewer calls is noise (one slow answer at 07:01 would be "0 %"): the alert
# waits for this many counted calls (the queue's variant's denominator) in the queue today.
MIN_CALLS_FOR_SL_ALERT = 10


class AlertKind(StrEnum):
    SERVICE_LEVEL = "service_level"  # service level so far today below the queue's target
    LONG_WAIT = "long_wait"  # a caller has waited longer than wait_alert_seconds


class WallboardInterval(BaseModel):
    start: datetime
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    service_level_pct: float | None


class WallboardQueue(BaseModel):
    name: str
    waiting: int
    longest_wait_s: float
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within_threshold: int
    service_level_pct: float | None
    sl_variant: str  # the queue's formula: answered | answered_abandoned | offered (core.metrics)
    exclude_short: bool  # short abandons left out of the denominator
    short_abandon_s: int  # an abandon within this many seconds is short (0: none)
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
    offers: int  # today's ring attempts on the agent's phone (ended)
    met_3_rings: int
    missed_3_rings: int
    three_ring_compliance_pct: float | None  # met / (met + missed), core.metrics.classify_offer
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
    """Counts of ended queue stays, as summed in SQL; they add up across interval buckets."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    within: int = 0
    wait_ms: int = 0
    wait_n: int = 0
    talk_ms: int = 0
    talk_n: int = 0

    def add(self, other: LegCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def service_level_pct(self, config: ServiceLevelConfig, queue: str) -> float | None:
        """The queue's service level by its variant (``None`` when nothing counts)."""
        return config.service_level_pct(
            queue,
            answered_within=self.within,
            answered=self.answered,
            abandoned=self.abandoned,
            offered=self.offered,
            short_abandoned=self.short_abandoned,
        )

    def counted(self, config: ServiceLevelConfig, queue: str) -> int:
        """Calls the queue's service level is computed over (its variant's denominator)."""
        return config.counted(
            queue,
            answered=self.answered,
            abandoned=self.abandoned,
            offered=self.offered,
            short_abandoned=self.short_abandoned,
        )


def bucket_expression(
    session: Session, start: datetime, step_s: int, column: Any = QueueLeg.joined_at
) -> ColumnElement[int]:
    """The interval bucket of ``column`` (a leg's join; 0 = the first ``step_s`` seconds after ``start``)."""
    origin = int(start.timestamp())
    if session.get_bind().dialect.name == "sqlite":
        # The UTC column is stored as naive UTC text, which strftime reads as UTC; integer division floors
        # (the values are never negative: the query keeps joins after ``start``).
        epoch = cast(func.strftime("%s", column), Integer)
        return cast((epoch - origin) / step_s, Integer)
    return cast(func.floor((func.extract("epoch", column) - origin) / step_s), Integer)


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def leg_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    step_s: int,
    config: ServiceLevelConfig,
) -> dict[str, dict[int, LegCounts]]:
    """Per queue and interval bucket, the counts of the stays that joined in ``[start, end]`` and were
    answered or have ended (``reports.aggregates``' queue counters once they end); refusals excluded."""
    leg = QueueLeg
    default_ms = config.default_threshold_s * 1000
    threshold_ms: ColumnElement[int] = (
        case({q: int(t) * 1000 for q, t in config.thresholds_s.items()}, value=leg.queue, else_=default_ms)
        if config.thresholds_s
        else literal(default_ms)
    )
    answered = leg.answered_at.is_not(None)
    abandoned = leg.outcome == CallOutcome.ABANDONED
    short_ms = config.short_abandon_ms
    short: ColumnElement[bool] = (
        and_(abandoned, leg.wait_ms.is_not(None), leg.wait_ms <= short_ms) if short_ms > 0 else literal(False)
    )
    bucket = bucket_expression(session, start, step_s).label("bucket")
    query = (
        select(
            leg.queue,
            bucket,
            func.count(),
            _sum_if(answered),
            _sum_if(abandoned),
            _sum_if(short),
            _sum_if(and_(answered, leg.wait_ms.is_not(None), leg.wait_ms <= threshold_ms)),
            _sum_if(and_(answered, leg.wait_ms.is_not(None)), leg.wait_ms),
            _sum_if(and_(answered, leg.wait_ms.is_not(None))),
            _sum_if(and_(answered, leg.talk_ms.is_not(None)), leg.talk_ms),
            _sum_if(and_(answered, leg.talk_ms.is_not(None))),
        )
        .where(
            leg.joined_at >= start,
            leg.joined_at <= end,
            # answered (a team lead sees the answer at once) or ended; refusals were never offered
            or_(
                leg.answered_at.is_not(None),
                and_(leg.outcome.is_not(None), leg.outcome != CallOutcome.REFUSED_AT_JOIN),
            ),
        )
        .group_by(leg.queue, bucket)
    )
    out: dict[str, dict[int, LegCounts]] = {}
    for row in session.execute(query):
        queue, index, *values = row
        out.setdefault(queue, {})[int(index)] = LegCounts(*(int(v or 0) for v in values))
    return out


@dataclass
class OfferCounts:
    """An agent's offers (ring attempts) for three-ring compliance (``metrics.classify_offer``)."""

    offers: int = 0
    met: int = 0
    missed: int = 0

    def add(self, other: OfferCounts) -> None:
        self.offers += other.offers
        self.met += other.met
        self.missed += other.missed

    @property
    def compliance_pct(self) -> float | None:
        return metrics.percent(self.met, self.met + self.missed)


def offer_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    ring_cycle_s: float,
    mine: ColumnElement[bool] | None = None,
) -> dict[tuple[str | None, str | None], OfferCounts]:
    """Per (interface, member name), the ended ring attempts that started in ``[start, end]`` (the reports'
    rule), each classified by ``core.metrics.classify_offer``. Grouped in SQL by outcome and by whether the
    ring time is within / over three rings / unknown, then classified once per group with a representative
    ring time (the classification only depends on that)."""
    att = RingAttempt
    three = metrics.three_rings_ms(ring_cycle_s)
    ring_class = case(
        (att.ring_ms.is_(None), literal(-1)), (att.ring_ms <= three, literal(0)), else_=literal(1)
    ).label("ring_class")
    query = (
        select(att.interface, att.agent, att.outcome, ring_class, func.count())
        .where(att.started_at >= start, att.started_at <= end, att.outcome.is_not(None))
        .group_by(att.interface, att.agent, att.outcome, ring_class)
    )
    if mine is not None:
        query = query.where(mine)
    representative = {-1: None, 0: 0, 1: three + 1}
    out: dict[tuple[str | None, str | None], OfferCounts] = {}
    for interface, agent, outcome, klass, n in session.execute(query):
        verdict = metrics.classify_offer(RingOutcome(outcome).value, representative[int(klass)], ring_cycle_s)
        counts = out.setdefault((interface, agent), OfferCounts())
        counts.add(
            OfferCounts(
                offers=int(n),
                met=int(n) if verdict == "met" else 0,
                missed=int(n) if verdict == "missed" else 0,
            )
        )
    return out


def queues_conf_thresholds(settings: Settings) -> dict[str, int]:
    """Each queue's ``servicelevel`` in Asterisk's queues.conf (``Settings.queues_conf``; none when unset)."""
    if settings.queues_conf is None or not settings.queues_conf.is_file():
        return {}
    text = settings.queues_conf.read_text(encoding="utf-8", errors="replace")
    return {name: q.service_level_s for name, q in parse_queues_conf(text).items()}


def service_level_config(settings: Settings) -> ServiceLevelConfig:
    """Each queue's service-level settings, resolved as the reports resolve them (``ReportConfig.of``)."""
    return ServiceLevelConfig.from_settings(settings, queues_conf_thresholds(settings))


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
    offers: Mapping[tuple[str | None, str | None], OfferCounts],
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

    def mine(key: tuple[str | None, str | None], interface: str | None, name: str | None) -> bool:
        # by phone; queue_log names the member only, so a record without interface goes by the name
        row_interface, row_agent = key
        return bool((interface and row_interface == interface) or (not row_interface and row_agent == name))

    def calls_of(interface: str | None, name: str | None) -> int:
        return sum(n for key, n in per_agent.items() if mine(key, interface, name))

    def offers_of(interface: str | None, name: str | None) -> dict[str, Any]:
        total = OfferCounts()
        for key, counts in offers.items():
            if mine(key, interface, name):
                total.add(counts)
        return {
            "offers": total.offers,
            "met_3_rings": total.met,
            "missed_3_rings": total.missed,
            "three_ring_compliance_pct": total.compliance_pct,
        }

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
                **offers_of(interface, name),
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
                **offers_of(user.pbx_interface, None),
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
    viewer: Viewer,
    now: datetime,
    interval_minutes: int = 30,
    config: ServiceLevelConfig | None = None,
    configured_queues: Iterable[str] = (),
) -> WallboardOut:
    """The wallboard at ``now`` (aware). ``snapshot``: the live state's snapshot, None without a PBX link;
    ``config``: each queue's service-level settings (default: :func:`service_level_config` of ``settings``,
    the reports' resolution); ``configured_queues``: queues shown even without calls today."""
    config = config or service_level_config(settings)
    zone = settings.zone
    local_now = now.astimezone(zone)
    day = local_now.date()
    start, end = day_bounds_utc(day, zone)
    step_s = interval_minutes * 60
    now_ts = now.timestamp()
    live = snapshot or {}
    live_queues: Mapping[str, Mapping[str, Any]] = live.get("queues", {})
    live_agents: Mapping[str, Mapping[str, Any]] = live.get("agents", {})

    counts = leg_counts(session, start=start, end=end, step_s=step_s, config=config)
    # Buckets from the day's start to now (a chart needs the empty ones too), and any later one with data.
    day_buckets = max(1, math.ceil((end - start).total_seconds() / step_s))
    elapsed = max(0.0, min(now_ts, end.timestamp()) - start.timestamp())
    shown = min(day_buckets, max(1, math.floor(elapsed / step_s) + 1))
    for by_bucket in counts.values():
        if by_bucket:
            shown = max(shown, min(day_buckets, max(by_bucket) + 1))

    names = sorted(set(counts) | set(live_queues) | set(configured_queues))
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
                    short_abandoned=c.short_abandoned,
                    service_level_pct=c.service_level_pct(config, name),
                )
            )
        lq = live_queues.get(name)
        waiting = int(lq["count"]) if lq else 0
        longest = lq.get("longest_since") if lq else None
        longest_wait = round(max(0.0, now_ts - longest), 1) if longest and waiting else 0.0
        target = config.target_pct(name)
        sl = total.service_level_pct(config, name)
        by_state = agents_by_state(lq, live_agents, now_ts) if lq else dict.fromkeys(AGENT_STATES[1:], 0)
        queues.append(
            WallboardQueue(
                name=name,
                waiting=waiting,
                longest_wait_s=longest_wait,
                offered=total.offered,
                answered=total.answered,
                abandoned=total.abandoned,
                short_abandoned=total.short_abandoned,
                answered_within_threshold=total.within,
                service_level_pct=sl,
                sl_variant=config.variant(name),
                exclude_short=config.exclude_short,
                short_abandon_s=config.short_abandon_s,
                target_pct=target,
                threshold_s=config.threshold_s(name),
                avg_wait_s=metrics.average_ms_as_s(total.wait_ms, total.wait_n),
                avg_talk_s=metrics.average_ms_as_s(total.talk_ms, total.talk_n),
                agents_by_state=by_state,
                intervals=intervals,
            )
        )
        if sl is not None and total.counted(config, name) >= MIN_CALLS_FOR_SL_ALERT and sl < target:
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
        offers=offer_counts(session, start=start, end=end, ring_cycle_s=config.ring_cycle_s),
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
