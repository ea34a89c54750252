"""QA sampling (qa-sampling): the rules that pick recorded calls for inspection, their validation, the
default rule set, and the sampling run that turns picks into ``qa_assignments`` (through qa-core's
``qa.service.assign``).

A run over a period looks at recordings with status ``stored`` that started in the period and have no
assignment yet (calibration assignments do not count: they are an exercise, not an inspection). Targeted
rules (complaint, low survey, long silence, overtalk, new agent) go first, then the random ones, so a call
picked by one rule is not picked again by another. Each created assignment goes to the rule's inspector
with the fewest open assignments, ties taken in turn (round robin), never to the agent of the call.
A rerun creates nothing new: picked calls are assigned, and the random rule's quota per agent and week
counts the assignments it already made.

Where the facts come from:
- long silence / overtalk: ``recording_analyses.longest_silence_ms`` / ``overtalk_ms`` (overtalk is null for
  a mixed mono file: such a call is never picked by that rule).
- low survey: ``ivr_survey_results`` with the call's linkedid. The survey scale is 1 非常满意 … 5 非常不满意,
  so "low" means a score at or ABOVE ``min_score`` (default 4: 不满意 or 非常不满意).
- complaint: ``complaints.pbx_call_linkedid`` (the call it was registered on) = the recording's linkedid,
  or ``complaints.pbx_call_id`` = the recording's ``call_id``.
- new agent: ``users.hired_on`` of the recording's ``agent_user_id``; a call in [hired_on, hired_on + days).
  Users without ``hired_on`` are never "new" (``created_at`` is when the account was made, not the hire).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.audit.service import SYSTEM, Actor
from core.complaints.models import Complaint
from core.errors import FieldProblem, InvalidFields
from core.people.models import User
from core.security.roles import ROLE_PERMISSIONS, Permission, Role
from ivr.models import SurveyResult
from qa.models import Assignment, AssignmentStatus, Scorecard
from qa.sampling_models import SamplingRule, SamplingRuleKind, SamplingRun
from recording.models import Recording, RecordingAnalysis, RecordingStatus

K = SamplingRuleKind

# Parameters per kind: name → (lowest, highest) allowed integer.
PARAM_SPECS: dict[SamplingRuleKind, dict[str, tuple[int, int]]] = {
    K.RANDOM_PER_AGENT: {"per_week": (1, 100)},
    K.LONG_SILENCE: {"min_silence_ms": (1_000, 3_600_000)},
    K.OVERTALK: {"min_overtalk_ms": (100, 3_600_000)},
    K.LOW_SURVEY: {"min_score": (1, 5)},
    K.COMPLAINT: {},
    K.NEW_AGENT: {"days": (1, 365)},
}

# Targeted rules first, random last (see the module docstring).
KIND_ORDER = (K.COMPLAINT, K.LOW_SURVEY, K.LONG_SILENCE, K.OVERTALK, K.NEW_AGENT, K.RANDOM_PER_AGENT)

DEFAULT_RULES: tuple[tuple[str, SamplingRuleKind, dict[str, int]], ...] = (
    ("random_weekly", K.RANDOM_PER_AGENT, {"per_week": 5}),
    ("long_silence", K.LONG_SILENCE, {"min_silence_ms": 20_000}),
    ("overtalk", K.OVERTALK, {"min_overtalk_ms": 5_000}),
    ("low_survey", K.LOW_SURVEY, {"min_score": 4}),
    ("complaint", K.COMPLAINT, {}),
    ("new_agent", K.NEW_AGENT, {"days": 30}),
)

CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
INSPECTOR_ROLES = frozenset(role for role in Role if Permission.QA_EVALUATE in ROLE_PERMISSIONS[role])


# --- rules: validation, listing, replacement, seed ------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """A rule as a manager edits it (the PUT body's items)."""

    code: str
    kind: SamplingRuleKind
    params: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    inspector_ids: list[int] = field(default_factory=list)
    scorecard_id: int | None = None


def param_problems(
    kind: SamplingRuleKind, params: Mapping[str, Any], loc: tuple[str | int, ...]
) -> list[FieldProblem]:
    """What is wrong with ``params`` for ``kind`` (empty when valid); paths start with ``loc``."""
    spec = PARAM_SPECS[kind]
    problems = []
    for name in params:
        if name not in spec:
            # The survey stores 1 = very satisfied: a "max_score" would sample the happiest callers.
            code = (
                "validation.qa_sampling.survey_scale"
                if name == "max_score"
                else "validation.qa_sampling.unknown_param"
            )
            problems.append(FieldProblem((*loc, name), code, name=name))
    for name, (lowest, highest) in spec.items():
        value = params.get(name)
        if name not in params:
            problems.append(FieldProblem((*loc, name), "validation.missing"))
        elif isinstance(value, bool) or not isinstance(value, int):
            problems.append(FieldProblem((*loc, name), "validation.int_type"))
        elif value < lowest:
            problems.append(FieldProblem((*loc, name), "validation.greater_than_equal", ge=lowest))
        elif value > highest:
            problems.append(FieldProblem((*loc, name), "validation.less_than_equal", le=highest))
    return problems


def list_rules(session: Session) -> list[SamplingRule]:
    return list(session.scalars(select(SamplingRule).order_by(SamplingRule.id)))


def _inspector_ok(user: User | None) -> bool:
    return user is not None and user.active and user.role in INSPECTOR_ROLES


def replace_rules(session: Session, *, rules: Sequence[RuleSpec], actor: Actor) -> list[SamplingRule]:
    """Makes the rule set exactly ``rules`` (matched by code: updated, created; codes not given are
    deleted). Every problem is reported at once, with paths like ``2.params.min_score``; nothing is
    changed when any is found."""
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    user_ids = {uid for rule in rules for uid in rule.inspector_ids}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    scorecard_ids = {rule.scorecard_id for rule in rules if rule.scorecard_id is not None}
    known_scorecards = (
        set(session.scalars(select(Scorecard.id).where(Scorecard.id.in_(scorecard_ids))))
        if scorecard_ids
        else set()
    )
    for n, rule in enumerate(rules):
        if rule.code in seen:
            problems.append(FieldProblem((n, "code"), "validation.duplicate", value=rule.code))
        seen.add(rule.code)
        problems += param_problems(rule.kind, rule.params, (n, "params"))
        for m, uid in enumerate(rule.inspector_ids):
            if not _inspector_ok(users.get(uid)):
                problems.append(
                    FieldProblem((n, "inspector_ids", m), "validation.qa_sampling.not_inspector", value=uid)
                )
        if len(set(rule.inspector_ids)) != len(rule.inspector_ids):
            problems.append(FieldProblem((n, "inspector_ids"), "validation.qa_sampling.repeated_inspector"))
        if rule.scorecard_id is not None and rule.scorecard_id not in known_scorecards:
            problems.append(
                FieldProblem((n, "scorecard_id"), "validation.unknown_reference", value=rule.scorecard_id)
            )
        if rule.active and rule.scorecard_id is None:
            problems.append(FieldProblem((n, "scorecard_id"), "validation.qa_sampling.required_when_active"))
        if rule.active and not rule.inspector_ids:
            problems.append(FieldProblem((n, "inspector_ids"), "validation.qa_sampling.required_when_active"))
    if problems:
        raise InvalidFields(*problems)
    existing = {rule.code: rule for rule in list_rules(session)}
    for code, row in existing.items():
        if code not in seen:
            session.delete(row)
    for rule in rules:
        row = existing.get(rule.code) or SamplingRule(code=rule.code)
        row.kind = rule.kind
        row.params = dict(rule.params)
        row.active = rule.active
        row.inspector_ids = list(rule.inspector_ids)
        row.scorecard_id = rule.scorecard_id
        session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="qa.sampling_rules.update",
        object_type="qa_sampling_rules",
        detail={
            "rules": [
                {"code": r.code, "kind": r.kind.value, "params": r.params, "active": r.active} for r in rules
            ],
            "deleted": sorted(set(existing) - seen),
        },
    )
    return list_rules(session)


def seed_rules(session: Session) -> list[SamplingRule]:
    """The default rules, for those codes not present yet: random 5 per agent per week, long silence ≥ 20 s,
    overtalk ≥ 5 s, survey 不满意 or worse (score ≥ 4), complaint, new agent (30 days). Inspectors: every
    active QA inspector; scorecard: the first one. A rule lacking either is seeded inactive."""
    inspectors = list(
        session.scalars(
            select(User.id).where(User.role == Role.QA_INSPECTOR, User.active.is_(True)).order_by(User.id)
        )
    )
    scorecard_id = session.scalar(select(Scorecard.id).order_by(Scorecard.id).limit(1))
    present = set(session.scalars(select(SamplingRule.code)))
    created = []
    for code, kind, params in DEFAULT_RULES:
        if code in present:
            continue
        row = SamplingRule(
            code=code,
            kind=kind,
            params=dict(params),
            active=bool(inspectors) and scorecard_id is not None,
            inspector_ids=inspectors,
            scorecard_id=scorecard_id,
        )
        session.add(row)
        created.append(row)
    session.flush()
    return created


# --- selection ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A stored recording that could be sampled."""

    recording_id: int
    started_at: datetime
    agent_user_id: int | None
    agent: str | None

    @property
    def agent_key(self) -> str | None:
        if self.agent_user_id is not None:
            return f"user:{self.agent_user_id}"
        return f"member:{self.agent}" if self.agent else None


def week_of(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week (Monday first) of an instant in the center's zone, e.g. "2026-W48"."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def random_seed(rule_code: str, agent_key: str, week: str) -> str:
    """The RNG seed for one (rule, agent, week): a rerun shuffles the same calls the same way."""
    return f"qa-sampling:{rule_code}:{agent_key}:{week}"


def random_picks(
    rule_code: str,
    per_week: int,
    candidates: Sequence[Candidate],
    *,
    pool: set[int],
    already: Mapping[tuple[str, str], int],
    zone: ZoneInfo,
) -> list[Candidate]:
    """Up to ``per_week`` calls per agent and week, minus those the rule already assigned (``already``,
    keyed by (agent_key, week)). ``candidates`` are all the agent's calls in the period (assigned or not);
    they are shuffled by a seeded RNG and the first still in ``pool`` (unassigned) are taken."""
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.agent_key is not None:
            groups[(candidate.agent_key, week_of(candidate.started_at, zone))].append(candidate)
    picks: list[Candidate] = []
    for (agent_key, week), calls in sorted(groups.items()):
        quota = per_week - already.get((agent_key, week), 0)
        if quota <= 0:
            continue
        ordered = sorted(calls, key=lambda c: c.recording_id)
        random.Random(random_seed(rule_code, agent_key, week)).shuffle(ordered)
        picks += [c for c in ordered if c.recording_id in pool][:quota]
    return picks


def pick_inspector(inspectors: Sequence[int], loads: Mapping[int, int], last: int | None) -> int:
    """The inspector with the fewest open assignments; among equals, the next one after ``last`` in the
    rule's order (round robin)."""
    start = (inspectors.index(last) + 1) % len(inspectors) if last in inspectors else 0
    rotated = [*inspectors[start:], *inspectors[:start]]
    return min(rotated, key=lambda uid: loads.get(uid, 0))  # min keeps the first of equals


def _stored_in_period(start: datetime, end: datetime) -> Select[Any]:
    return select(Recording.id).where(
        Recording.status == RecordingStatus.STORED, Recording.started_at >= start, Recording.started_at < end
    )


def _matching_ids(session: Session, rule: SamplingRule, start: datetime, end: datetime) -> set[int]:
    """Recordings of the period the rule's condition holds for (targeted kinds)."""
    in_period = Recording.id.in_(_stored_in_period(start, end))
    params = rule.params
    query: Select[Any]
    if rule.kind is K.LONG_SILENCE:
        query = select(RecordingAnalysis.recording_id).where(
            RecordingAnalysis.recording_id.in_(_stored_in_period(start, end)),
            RecordingAnalysis.longest_silence_ms >= int(params["min_silence_ms"]),
        )
    elif rule.kind is K.OVERTALK:
        query = select(RecordingAnalysis.recording_id).where(
            RecordingAnalysis.recording_id.in_(_stored_in_period(start, end)),
            RecordingAnalysis.overtalk_ms >= int(params["min_overtalk_ms"]),
        )
    elif rule.kind is K.LOW_SURVEY:
        query = (
            select(Recording.id)
            .join(SurveyResult, SurveyResult.linkedid == Recording.linkedid)
            .where(in_period, SurveyResult.score >= int(params["min_score"]))
        )
    elif rule.kind is K.COMPLAINT:
        query = (
            select(Recording.id)
            .join(
                Complaint,
                or_(
                    Complaint.pbx_call_linkedid == Recording.linkedid,
                    (Complaint.pbx_call_id == Recording.call_id) & Recording.call_id.is_not(None),
                ),
            )
            .where(in_period)
        )
    elif rule.kind is K.NEW_AGENT:
        rows = session.execute(
            select(Recording.id, Recording.started_at, User.hired_on)
            .join(User, User.id == Recording.agent_user_id)
            .where(in_period, User.hired_on.is_not(None))
        ).all()
        days = timedelta(days=int(params["days"]))
        # Compared in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.
        return {
            rid
            for rid, started, hired in rows
            if started is not None and hired is not None and hired <= started < hired + days
        }
    else:  # pragma: no cover - random rules are handled by random_picks
        raise ValueError(rule.kind)
    return set(session.scalars(query))


def _candidates(session: Session, start: datetime, end: datetime) -> list[Candidate]:
    rows = session.execute(
        select(Recording.id, Recording.started_at, Recording.agent_user_id, Recording.agent)
        .where(Recording.id.in_(_stored_in_period(start, end)))
        .order_by(Recording.started_at, Recording.id)
    ).all()
    return [Candidate(rid, started, uid, agent) for rid, started, uid, agent in rows if started is not None]


def _assigned_ids(session: Session, start: datetime, end: datetime) -> set[int]:
    return set(
        session.scalars(
            select(Assignment.recording_id).where(
                Assignment.calibration_id.is_(None),
                Assignment.recording_id.in_(_stored_in_period(start, end)),
            )
        )
    )


def _already_random(
    session: Session, rule_code: str, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[tuple[str, str], int]:
    """What the random rule already assigned per (agent, week), over the whole weeks the period touches
    (a run over Monday–Wednesday and then Thursday–Sunday still takes N in that week)."""
    first = start.astimezone(zone)
    week_start = (first - timedelta(days=first.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.execute(
        select(Recording.id, Recording.started_at, Recording.agent_user_id, Recording.agent)
        .join(Assignment, Assignment.recording_id == Recording.id)
        .where(
            Assignment.reason == rule_code,
            Assignment.calibration_id.is_(None),
            Recording.started_at >= week_start,
            Recording.started_at < end + timedelta(days=7),
        )
        .distinct()
    ).all()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for rid, started, uid, agent in rows:
        if started is None:
            continue
        agent_key = Candidate(rid, started, uid, agent).agent_key
        if agent_key is not None:
            counts[(agent_key, week_of(started, zone))] += 1
    return counts


def _open_loads(session: Session, inspectors: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(Assignment.inspector_id, func.count())
        .where(Assignment.status == AssignmentStatus.OPEN, Assignment.inspector_id.in_(inspectors))
        .group_by(Assignment.inspector_id)
    ).all()
    return {uid: int(n) for uid, n in rows}


@dataclass
class RunResult:
    run: SamplingRun
    created: int
    by_rule: dict[str, int]
    skipped: list[str]


def run_sampling(
    session: Session, *, period_start: datetime, period_end: datetime, zone: ZoneInfo, actor: Actor
) -> RunResult:
    """Samples the stored recordings that started in [period_start, period_end) (UTC instants) with every
    active rule and assigns what they pick. Idempotent: a rerun over the same period creates nothing."""
    from qa import service as qa_service  # qa-core's; imported here so the rules work without it

    # Row locks serialise concurrent runs on PostgreSQL (SQLite serialises writers anyway), so two runs
    # cannot both see a call as unassigned.
    active = session.scalars(select(SamplingRule).where(SamplingRule.active.is_(True)).with_for_update())
    rules = sorted(active, key=lambda r: (KIND_ORDER.index(r.kind), r.id))
    candidates = _candidates(session, period_start, period_end)
    pool = {c.recording_id for c in candidates} - _assigned_ids(session, period_start, period_end)
    by_id = {c.recording_id: c for c in candidates}
    by_rule: dict[str, int] = {}
    skipped: list[str] = []
    for rule in rules:
        inspector_users = {
            u.id: u for u in session.scalars(select(User).where(User.id.in_(rule.inspector_ids)))
        }
        inspectors = [uid for uid in rule.inspector_ids if _inspector_ok(inspector_users.get(uid))]
        if not inspectors or rule.scorecard_id is None:
            skipped.append(rule.code)
            continue
        if rule.kind is K.RANDOM_PER_AGENT:
            already = _already_random(session, rule.code, period_start, period_end, zone)
            picks = random_picks(
                rule.code, int(rule.params["per_week"]), candidates, pool=pool, already=already, zone=zone
            )
        else:
            matching = _matching_ids(session, rule, period_start, period_end) & pool
            picks = [by_id[rid] for rid in sorted(matching, key=lambda rid: (by_id[rid].started_at, rid))]
        loads = _open_loads(session, inspectors)
        last: int | None = None
        created = 0
        for candidate in picks:
            eligible = [
                uid for uid in inspectors if uid != candidate.agent_user_id
            ]  # nobody scores themselves
            if not eligible:
                continue
            inspector = pick_inspector(eligible, loads, last)
            qa_service.assign(
                session,
                recording_id=candidate.recording_id,
                scorecard_id=rule.scorecard_id,
                inspector_id=inspector,
                reason=rule.code,
                actor=actor,
            )
            loads[inspector] = loads.get(inspector, 0) + 1
            last = inspector
            pool.discard(candidate.recording_id)
            created += 1
        by_rule[rule.code] = created
    total = sum(by_rule.values())
    run = SamplingRun(
        period_start=period_start,
        period_end=period_end,
        created=total,
        by_rule=by_rule,
        skipped=skipped,
        triggered_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="qa.sampling.run",
        object_type="qa_sampling_run",
        object_id=run.id,
        detail={
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "created": total,
            "by_rule": by_rule,
            "skipped": skipped,
        },
    )
    return RunResult(run=run, created=total, by_rule=by_rule, skipped=skipped)


def previous_week(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of the week before ``now``'s, in the center's zone, as UTC."""
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    # Aware arithmetic in the same zone is wall-clock arithmetic: midnight stays midnight.
    return (monday - timedelta(days=7)).astimezone(UTC), monday.astimezone(UTC)


def run_previous_week(session: Session, *, now: datetime, zone: ZoneInfo, actor: Actor = SYSTEM) -> RunResult:
    """For a periodic job (e.g. every Monday morning): samples last week. Safe to repeat (idempotent)."""
    start, end = previous_week(now, zone)
    return run_sampling(session, period_start=start, period_end=end, zone=zone, actor=actor)
