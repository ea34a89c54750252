"""QA (qa-core): scorecards and their versions, assignments, evaluations with the state machine
draft → submitted → acknowledged | disputed → resolved (upheld | rescored), and calibration.

Keyword-only functions taking a session; they flush, never commit (the request's transaction does). Every
change leaves an audit row. Object-level refusals raise ``PermissionDenied``; the views audit them.

The recording read API (``recording.service``: get_recording, hold, release) belongs to rec-core; the
small adapters at the top of this module call it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.audit.service import Actor
from core.clock import utcnow
from core.db import paginate
from core.errors import Conflict, InvalidFields, InvalidTransition, NotFound, PermissionDenied
from core.people.models import User
from core.security.roles import Permission, Role, has_permission
from qa.models import (
    Assignment,
    AssignmentStatus,
    Calibration,
    DisputeOutcome,
    Evaluation,
    EvaluationStatus,
    Scorecard,
    ScorecardVersion,
)
from qa.schemas import Answer, Comment, ScorecardIn
from qa.scoring import ScoreResult, answer_problems, answer_value, definition_problems, items_of, score
from recording import service as recordings
from recording.models import Recording, RecordingStatus

__all__ = [
    "TRANSITIONS",
    "CalibrationSummary",
    "CalibrationView",
    "acknowledge",
    "assign",
    "calibration_view",
    "can_read_evaluation",
    "create_calibration",
    "create_scorecard",
    "dispute",
    "evaluation_result",
    "get_assignment",
    "get_evaluation",
    "get_readable_assignment",
    "get_scorecard",
    "get_version",
    "list_assignments",
    "list_calibrations",
    "list_disputes",
    "list_inspectors",
    "list_mine",
    "list_scorecards",
    "preview",
    "resolve",
    "save_evaluation",
    "update_scorecard",
]

# The only moves of an evaluation; anything else is a 409 (InvalidTransition).
TRANSITIONS: dict[EvaluationStatus, frozenset[EvaluationStatus]] = {
    EvaluationStatus.DRAFT: frozenset({EvaluationStatus.DRAFT, EvaluationStatus.SUBMITTED}),
    EvaluationStatus.SUBMITTED: frozenset({EvaluationStatus.ACKNOWLEDGED, EvaluationStatus.DISPUTED}),
    EvaluationStatus.ACKNOWLEDGED: frozenset(),
    EvaluationStatus.DISPUTED: frozenset({EvaluationStatus.RESOLVED}),
    EvaluationStatus.RESOLVED: frozenset(),
}
# What the agent sees: everything after the inspector submitted.
VISIBLE_TO_AGENT = (
    EvaluationStatus.SUBMITTED,
    EvaluationStatus.ACKNOWLEDGED,
    EvaluationStatus.DISPUTED,
    EvaluationStatus.RESOLVED,
)
HOLD_EVALUATION = "evaluation"
HOLD_DISPUTE = "dispute"


# --- the recording read API (rec-core's recording.service) ----------------------------------------


def _recording(session: Session, recording_id: int) -> Recording:
    return recordings.get_recording(session, recording_id)


def _hold(session: Session, *, recording_id: int, reason: str, ref: str) -> None:
    recordings.hold(session, recording_id=recording_id, reason=reason, ref=ref)


def _release(session: Session, *, recording_id: int, reason: str, ref: str) -> None:
    recordings.release(session, recording_id=recording_id, reason=reason, ref=ref)


def recordings_by_id(session: Session, ids: Sequence[int]) -> dict[int, Recording]:
    """Recordings of a page of assignments or evaluations, in one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {r.id: r for r in session.scalars(select(Recording).where(Recording.id.in_(wanted)))}


def _ref(evaluation: Evaluation) -> str:
    return f"evaluation:{evaluation.id}"


# --- scorecards ------------------------------------------------------------------------------------


def list_scorecards(session: Session) -> list[tuple[Scorecard, ScorecardVersion]]:
    """Every scorecard with its current version, by name."""
    query = (
        select(Scorecard, ScorecardVersion)
        .join(
            ScorecardVersion,
            (ScorecardVersion.scorecard_id == Scorecard.id)
            & (ScorecardVersion.version == Scorecard.current_version),
        )
        .order_by(Scorecard.name, Scorecard.id)
    )
    return [(card, version) for card, version in session.execute(query).unique().all()]


def get_scorecard(session: Session, scorecard_id: int) -> Scorecard:
    card = session.get(Scorecard, scorecard_id)
    if card is None:
        raise NotFound(object="scorecard", id=scorecard_id)
    return card


def get_version(session: Session, scorecard_id: int, version: int | None = None) -> ScorecardVersion:
    """A version of a scorecard (its current one when ``version`` is None); NotFound otherwise."""
    card = get_scorecard(session, scorecard_id)
    wanted = card.current_version if version is None else version
    row = session.scalar(
        select(ScorecardVersion).where(
            ScorecardVersion.scorecard_id == card.id, ScorecardVersion.version == wanted
        )
    )
    if row is None:
        raise NotFound(object="scorecard_version", id=scorecard_id, version=wanted)
    return row


def version_numbers(session: Session, scorecard_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ScorecardVersion.version)
            .where(ScorecardVersion.scorecard_id == scorecard_id)
            .order_by(ScorecardVersion.version)
        )
    )


def _checked_definition(data: ScorecardIn) -> dict[str, Any]:
    definition = data.definition.model_dump(mode="json")
    problems = definition_problems(definition)
    if problems:
        raise InvalidFields(*problems)
    for section in definition["sections"]:
        for item in section["items"]:
            if item["kind"] != "scale":
                item["scale_max"] = None  # yes/no: max is 1
    return definition


def create_scorecard(session: Session, *, data: ScorecardIn, actor: Actor) -> Scorecard:
    """A new scorecard with its version 1."""
    definition = _checked_definition(data)
    card = Scorecard(name=data.name, description=data.description, current_version=1)
    session.add(card)
    session.flush()
    _add_version(session, card, definition, actor=actor, action="scorecard.create")
    return card


def update_scorecard(session: Session, *, scorecard_id: int, data: ScorecardIn, actor: Actor) -> Scorecard:
    """An edit is a new version; earlier versions (and the evaluations made with them) stay as they were."""
    card = get_scorecard(session, scorecard_id)
    definition = _checked_definition(data)
    latest = max(version_numbers(session, card.id), default=0)
    card.name = data.name
    card.description = data.description
    card.current_version = latest + 1
    _add_version(session, card, definition, actor=actor, action="scorecard.update")
    return card


def _add_version(
    session: Session, card: Scorecard, definition: dict[str, Any], *, actor: Actor, action: str
) -> None:
    """The card's ``current_version`` as an immutable row, audited."""
    session.add(
        ScorecardVersion(
            scorecard_id=card.id,
            version=card.current_version,
            definition=definition,
            standard_score=definition["standard_score"],
            created_by=actor.user_id,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="qa_scorecard",
        object_id=card.id,
        detail={"name": card.name, "version": card.current_version},
    )


def _answers_json(answers: Mapping[str, Answer]) -> dict[str, Any]:
    return {key: {"value": a.value, "evidence": a.evidence.strip()} for key, a in answers.items()}


def preview(
    session: Session, *, scorecard_id: int, version: int | None, answers: Mapping[str, Answer]
) -> ScoreResult:
    """The live total of a form being filled in (unscored items count as not scored yet)."""
    row = get_version(session, scorecard_id, version)
    plain = _answers_json(answers)
    problems = answer_problems(row.definition, plain, complete=False)
    if problems:
        raise InvalidFields(*problems)
    return score(row.definition, plain)


# --- assignments -----------------------------------------------------------------------------------


def _check_inspector(session: Session, inspector_id: int, field: str | tuple[str | int, ...]) -> User:
    user = session.get(User, inspector_id)
    if user is None or not user.active:
        raise InvalidFields.one(field, "validation.unknown_reference", value=inspector_id)
    if not has_permission(user.role, Permission.QA_EVALUATE):
        raise InvalidFields.one(field, "validation.qa_not_inspector", name=user.full_name)
    return user


def _evaluable_recording(session: Session, recording_id: int) -> Recording:
    try:
        recording = _recording(session, recording_id)
    except NotFound:
        raise InvalidFields.one("recording_id", "validation.unknown_reference", value=recording_id) from None
    if recording.status is not RecordingStatus.STORED:
        raise InvalidFields.one(
            "recording_id", "validation.qa_recording_unavailable", status=recording.status.value
        )
    return recording


def assign(
    session: Session,
    *,
    recording_id: int,
    scorecard_id: int,
    inspector_id: int,
    reason: str,
    actor: Actor,
    calibration_id: int | None = None,
    due_at: datetime | None = None,
) -> Assignment:
    """Gives a stored recording to an inspector to score with the scorecard's current version. Refuses a
    second open assignment of the same recording to the same inspector (Conflict, 409)."""
    recording = _evaluable_recording(session, recording_id)
    try:
        version = get_version(session, scorecard_id)
    except NotFound:
        raise InvalidFields.one("scorecard_id", "validation.unknown_reference", value=scorecard_id) from None
    _check_inspector(session, inspector_id, "inspector_id")
    if recording.agent_user_id == inspector_id:  # nobody scores their own call
        raise InvalidFields.one("inspector_id", "validation.qa_own_call")
    clash = session.scalar(
        select(Assignment.id).where(
            Assignment.recording_id == recording_id,
            Assignment.inspector_id == inspector_id,
            Assignment.status == AssignmentStatus.OPEN,
        )
    )
    if clash is not None:
        raise Conflict("error.qa_duplicate_assignment", assignment_id=clash)
    assignment = Assignment(
        recording_id=recording_id,
        scorecard_version_id=version.id,
        inspector_id=inspector_id,
        assigned_by=actor.user_id,
        reason=reason[:40],
        calibration_id=calibration_id,
        status=AssignmentStatus.OPEN,
        due_at=due_at,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assignment.create",
        object_type="qa_assignment",
        object_id=assignment.id,
        detail={"recording_id": recording_id, "inspector_id": inspector_id, "reason": assignment.reason},
    )
    return assignment


def get_assignment(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(object="assignment", id=assignment_id)
    return assignment


def get_readable_assignment(
    session: Session, *, assignment_id: int, user_id: int, can_manage: bool
) -> Assignment:
    """One assignment for its inspector, or for a QA manager (anyone's); PermissionDenied for anyone
    else, NotFound when there is no such assignment."""
    assignment = get_assignment(session, assignment_id)
    if assignment.inspector_id != user_id and not can_manage:
        raise PermissionDenied("error.qa_not_your_assignment", assignment_id=assignment_id)
    return assignment


def inspector_roles() -> list[Role]:
    """The roles that may score calls (the role matrix decides, not a list kept here)."""
    return [role for role in Role if has_permission(role, Permission.QA_EVALUATE)]


def list_inspectors(session: Session) -> list[tuple[User, int]]:
    """Active users who may score calls, by name, each with their number of open assignments."""
    open_counts = (
        select(Assignment.inspector_id, func.count().label("n"))
        .where(Assignment.status == AssignmentStatus.OPEN)
        .group_by(Assignment.inspector_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(open_counts.c.n, 0))
        .outerjoin(open_counts, open_counts.c.inspector_id == User.id)
        .where(User.active.is_(True), User.role.in_(inspector_roles()))
        .order_by(User.full_name, User.id)
    ).unique()
    return [(user, int(n)) for user, n in rows]


def list_assignments(
    session: Session,
    *,
    inspector_id: int | None = None,
    status: AssignmentStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Assignment], int]:
    """Assignments, oldest first (work is done in the order it came)."""
    query = select(Assignment)
    if inspector_id is not None:
        query = query.where(Assignment.inspector_id == inspector_id)
    if status is not None:
        query = query.where(Assignment.status == status)
    return paginate(session, query, Assignment.created_at, Assignment.id, offset=offset, limit=limit)


def evaluations_of_assignments(session: Session, ids: Sequence[int]) -> dict[int, Evaluation]:
    if not ids:
        return {}
    rows = session.scalars(select(Evaluation).where(Evaluation.assignment_id.in_(set(ids)))).unique()
    return {e.assignment_id: e for e in rows if e.assignment_id is not None}


# --- evaluations -----------------------------------------------------------------------------------


def get_evaluation(session: Session, evaluation_id: int) -> Evaluation:
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(object="evaluation", id=evaluation_id)
    return evaluation


def evaluation_result(evaluation: Evaluation) -> ScoreResult:
    """The result with its per-section detail, from the exact version the evaluation used."""
    return score(evaluation.scorecard_version.definition, evaluation.answers or {})


def _move(evaluation: Evaluation, to: EvaluationStatus) -> None:
    if to not in TRANSITIONS[evaluation.status]:
        raise InvalidTransition(from_status=evaluation.status.value, to_status=to.value)
    evaluation.status = to


def _apply_result(evaluation: Evaluation, result: ScoreResult) -> None:
    evaluation.total_pct = result.total_pct
    evaluation.score = result.score
    evaluation.grade = result.grade
    evaluation.failed = result.failed
    evaluation.failed_sections = list(result.failed_sections)


def _fill(
    evaluation: Evaluation,
    *,
    answers: Mapping[str, Answer],
    comments: Sequence[Comment],
    summary: str | None,
    submit: bool,
) -> None:
    plain = _answers_json(answers)
    definition = evaluation.scorecard_version.definition
    problems = answer_problems(definition, plain, complete=submit)
    if problems:
        raise InvalidFields(*problems)
    evaluation.answers = plain
    evaluation.comments = [
        {"at_ms": c.at_ms, "text": c.text} for c in sorted(comments, key=lambda c: c.at_ms)
    ]
    evaluation.summary = (summary or "").strip() or None
    _apply_result(evaluation, score(definition, plain))


def _submit(session: Session, evaluation: Evaluation, assignment: Assignment | None, actor: Actor) -> None:
    _move(evaluation, EvaluationStatus.SUBMITTED)
    evaluation.submitted_at = utcnow()
    if assignment is not None:
        assignment.status = AssignmentStatus.DONE
    session.flush()
    _hold(session, recording_id=evaluation.recording_id, reason=HOLD_EVALUATION, ref=_ref(evaluation))
    audit.record(
        session,
        actor=actor,
        action="evaluation.submit",
        object_type="qa_evaluation",
        object_id=evaluation.id,
        detail={
            "recording_id": evaluation.recording_id,
            "agent_user_id": evaluation.agent_user_id,
            "total_pct": evaluation.total_pct,
            "grade": evaluation.grade,
            "failed": evaluation.failed,
        },
    )


def save_evaluation(
    session: Session,
    *,
    assignment_id: int,
    answers: Mapping[str, Answer],
    comments: Sequence[Comment],
    summary: str | None,
    submit: bool,
    user_id: int,
    actor: Actor,
) -> Evaluation:
    """The assigned inspector starts the evaluation of an open assignment (a draft, or submitted at once).
    One evaluation per assignment: a second one is a Conflict; someone else's assignment is refused."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise InvalidFields.one("assignment_id", "validation.unknown_reference", value=assignment_id)
    if assignment.inspector_id != user_id:
        raise PermissionDenied("error.qa_not_your_assignment", assignment_id=assignment_id)
    existing = session.scalar(select(Evaluation.id).where(Evaluation.assignment_id == assignment.id))
    if existing is not None:
        raise Conflict("error.qa_evaluation_exists", evaluation_id=existing)
    if assignment.status is not AssignmentStatus.OPEN:
        raise InvalidTransition(from_status=assignment.status.value, to_status=EvaluationStatus.DRAFT.value)
    recording = _recording(session, assignment.recording_id)
    evaluation = Evaluation(
        assignment_id=assignment.id,
        recording_id=recording.id,
        scorecard_version_id=assignment.scorecard_version_id,
        scorecard_version=assignment.scorecard_version,
        inspector_id=user_id,
        agent_user_id=recording.agent_user_id,
        agent=recording.agent,
        queue=recording.queue,
        status=EvaluationStatus.DRAFT,
        calibration_id=assignment.calibration_id,
        history=[],
    )
    _fill(evaluation, answers=answers, comments=comments, summary=summary, submit=submit)
    session.add(evaluation)
    session.flush()
    if submit:
        _submit(session, evaluation, assignment, actor)
    else:
        audit.record(
            session,
            actor=actor,
            action="evaluation.save",
            object_type="qa_evaluation",
            object_id=evaluation.id,
        )
    return evaluation


def update_evaluation(
    session: Session,
    *,
    evaluation: Evaluation,
    answers: Mapping[str, Answer],
    comments: Sequence[Comment],
    summary: str | None,
    submit: bool,
    user_id: int,
    actor: Actor,
) -> Evaluation:
    """The inspector saves (or submits) their draft; 409 once it is submitted."""
    if evaluation.inspector_id != user_id:
        raise PermissionDenied("error.qa_not_your_evaluation", evaluation_id=evaluation.id)
    if evaluation.status is not EvaluationStatus.DRAFT:
        target = EvaluationStatus.SUBMITTED if submit else EvaluationStatus.DRAFT
        raise InvalidTransition(from_status=evaluation.status.value, to_status=target.value)
    _fill(evaluation, answers=answers, comments=comments, summary=summary, submit=submit)
    session.flush()
    if submit:
        assignment = session.get(Assignment, evaluation.assignment_id) if evaluation.assignment_id else None
        _submit(session, evaluation, assignment, actor)
    else:
        audit.record(
            session,
            actor=actor,
            action="evaluation.save",
            object_type="qa_evaluation",
            object_id=evaluation.id,
        )
    return evaluation


def _own(evaluation: Evaluation, user_id: int) -> None:
    """Only the agent evaluated acknowledges or disputes, and only what they can see."""
    if (
        evaluation.agent_user_id != user_id
        or evaluation.status not in VISIBLE_TO_AGENT
        or evaluation.calibration_id is not None
    ):
        raise PermissionDenied("error.qa_not_your_evaluation", evaluation_id=evaluation.id)


def acknowledge(session: Session, *, evaluation: Evaluation, user_id: int, actor: Actor) -> Evaluation:
    _own(evaluation, user_id)
    _move(evaluation, EvaluationStatus.ACKNOWLEDGED)
    evaluation.acknowledged_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="evaluation.acknowledge",
        object_type="qa_evaluation",
        object_id=evaluation.id,
    )
    return evaluation


def dispute(
    session: Session, *, evaluation: Evaluation, reason: str, user_id: int, actor: Actor
) -> Evaluation:
    """The agent disputes a submitted evaluation; the recording is held for the dispute too."""
    _own(evaluation, user_id)
    _move(evaluation, EvaluationStatus.DISPUTED)
    evaluation.dispute_reason = reason.strip()
    evaluation.disputed_at = utcnow()
    session.flush()
    _hold(session, recording_id=evaluation.recording_id, reason=HOLD_DISPUTE, ref=_ref(evaluation))
    audit.record(
        session,
        actor=actor,
        action="evaluation.dispute",
        object_type="qa_evaluation",
        object_id=evaluation.id,
        detail={"reason": evaluation.dispute_reason},
    )
    return evaluation


def resolve(
    session: Session,
    *,
    evaluation: Evaluation,
    outcome: DisputeOutcome,
    note: str | None,
    answers: Mapping[str, Answer] | None,
    user_id: int,
    actor: Actor,
) -> Evaluation:
    """A QA lead resolves a dispute: upheld (the result stands) or rescored (new answers; the original
    answers and result go to the history). The dispute's hold on the recording is released."""
    if evaluation.status is not EvaluationStatus.DISPUTED:
        raise InvalidTransition(
            from_status=evaluation.status.value, to_status=EvaluationStatus.RESOLVED.value
        )
    before = {"total_pct": evaluation.total_pct, "grade": evaluation.grade}
    if outcome is DisputeOutcome.RESCORED:
        if answers is None:
            raise InvalidFields.one("answers", "validation.missing")
        plain = _answers_json(answers)
        definition = evaluation.scorecard_version.definition
        problems = answer_problems(definition, plain, complete=True)
        if problems:
            raise InvalidFields(*problems)
        now = utcnow()
        evaluation.history = [
            *(evaluation.history or []),
            {
                "at": now.isoformat(),
                "by": user_id,
                "answers": evaluation.answers,
                "result": evaluation_result(evaluation).to_dict(),
            },
        ]
        evaluation.answers = plain
        _apply_result(evaluation, score(definition, plain))
    _move(evaluation, EvaluationStatus.RESOLVED)
    evaluation.resolution = outcome
    evaluation.resolution_note = (note or "").strip() or None
    evaluation.resolved_by = user_id
    evaluation.resolved_at = utcnow()
    session.flush()
    session.refresh(evaluation, ["resolver"])
    _release(session, recording_id=evaluation.recording_id, reason=HOLD_DISPUTE, ref=_ref(evaluation))
    audit.record(
        session,
        actor=actor,
        action="evaluation.resolve",
        object_type="qa_evaluation",
        object_id=evaluation.id,
        detail={
            "outcome": outcome.value,
            "before": before,
            "after": {"total_pct": evaluation.total_pct, "grade": evaluation.grade},
        },
    )
    return evaluation


def list_mine(
    session: Session, *, agent_user_id: int, offset: int = 0, limit: int = 50
) -> tuple[list[Evaluation], int]:
    """An agent's evaluations from submission on (never drafts, never calibration scorings), newest first."""
    query = select(Evaluation).where(
        Evaluation.agent_user_id == agent_user_id,
        Evaluation.status.in_(VISIBLE_TO_AGENT),
        Evaluation.calibration_id.is_(None),
    )
    return paginate(
        session, query, Evaluation.submitted_at.desc(), Evaluation.id.desc(), offset=offset, limit=limit
    )


def list_disputes(
    session: Session, *, status: str | None = "open", offset: int = 0, limit: int = 50
) -> tuple[list[Evaluation], int]:
    """Disputes: ``open`` (waiting for a QA lead, oldest first), ``resolved`` (newest first) or all."""
    query: Select[Evaluation] = select(Evaluation).where(Evaluation.disputed_at.is_not(None))
    if status == "open":
        query = query.where(Evaluation.status == EvaluationStatus.DISPUTED)
        return paginate(session, query, Evaluation.disputed_at, Evaluation.id, offset=offset, limit=limit)
    if status == "resolved":
        query = query.where(Evaluation.status == EvaluationStatus.RESOLVED)
    return paginate(
        session, query, Evaluation.disputed_at.desc(), Evaluation.id.desc(), offset=offset, limit=limit
    )


def _submitted_in_calibration(session: Session, calibration_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(Evaluation.id).where(
                Evaluation.calibration_id == calibration_id,
                Evaluation.inspector_id == user_id,
                Evaluation.status != EvaluationStatus.DRAFT,
            )
        )
        is not None
    )


def can_read_evaluation(
    session: Session, *, evaluation: Evaluation, user_id: int, role: Role, team_id: int | None
) -> bool:
    """Who reads an evaluation: its inspector; QA_MANAGE; the agent once submitted (not calibration
    scorings); other evaluators once submitted — a team lead only for their own team's agents, and in a
    calibration only after submitting their own scoring."""
    if evaluation.inspector_id == user_id or has_permission(role, Permission.QA_MANAGE):
        return True
    if evaluation.status is EvaluationStatus.DRAFT:
        return False
    if evaluation.agent_user_id == user_id:
        return evaluation.calibration_id is None
    if not has_permission(role, Permission.QA_EVALUATE):
        return False
    if evaluation.calibration_id is not None:
        return _submitted_in_calibration(session, evaluation.calibration_id, user_id)
    if role is Role.TEAM_LEAD:
        agent = evaluation.agent_user
        return team_id is not None and agent is not None and agent.team_id == team_id
    return True


# --- calibration -----------------------------------------------------------------------------------


def create_calibration(
    session: Session,
    *,
    recording_id: int,
    scorecard_id: int,
    inspector_ids: Sequence[int],
    note: str | None,
    actor: Actor,
) -> tuple[Calibration, list[Assignment]]:
    """Several inspectors score the same call with the same version: one assignment each."""
    recording = _evaluable_recording(session, recording_id)
    seen: set[int] = set()
    for index, inspector_id in enumerate(inspector_ids):
        if inspector_id in seen:
            raise InvalidFields.one(("inspector_ids", index), "validation.duplicate", value=inspector_id)
        seen.add(inspector_id)
        _check_inspector(session, inspector_id, ("inspector_ids", index))
        if recording.agent_user_id == inspector_id:
            raise InvalidFields.one(("inspector_ids", index), "validation.qa_own_call")
    try:
        version = get_version(session, scorecard_id)
    except NotFound:
        raise InvalidFields.one("scorecard_id", "validation.unknown_reference", value=scorecard_id) from None
    calibration = Calibration(
        recording_id=recording_id,
        scorecard_version_id=version.id,
        created_by=actor.user_id,
        note=(note or "").strip() or None,
    )
    session.add(calibration)
    session.flush()
    assignments = [
        assign(
            session,
            recording_id=recording_id,
            scorecard_id=scorecard_id,
            inspector_id=inspector_id,
            reason="calibration",
            calibration_id=calibration.id,
            actor=actor,
        )
        for inspector_id in inspector_ids
    ]
    audit.record(
        session,
        actor=actor,
        action="calibration.create",
        object_type="qa_calibration",
        object_id=calibration.id,
        detail={"recording_id": recording_id, "inspector_ids": list(inspector_ids)},
    )
    return calibration, assignments


def spread_of(totals: Sequence[float]) -> dict[str, float | None]:
    """min, max, range and population stdev of the submitted totals (all None without any)."""
    if not totals:
        return {"min": None, "max": None, "range": None, "stdev": None}
    return {
        "min": min(totals),
        "max": max(totals),
        "range": round(max(totals) - min(totals), 2),
        "stdev": round(statistics.pstdev(totals), 2),
    }


@dataclass(frozen=True)
class CalibrationView:
    calibration: Calibration
    assignments: list[Assignment]
    evaluations: dict[int, Evaluation]  # by assignment id
    submitted: list[Evaluation]  # submitted (or later), in assignment order
    spread: dict[str, float | None]
    items: list[dict[str, Any]]


def get_calibration(session: Session, calibration_id: int) -> Calibration:
    calibration = session.get(Calibration, calibration_id)
    if calibration is None:
        raise NotFound(object="calibration", id=calibration_id)
    return calibration


def calibration_view(
    session: Session, *, calibration_id: int, user_id: int, can_manage: bool
) -> CalibrationView:
    """The spread of a calibration. A QA manager sees it whenever; a taking-part inspector only after
    submitting their own scoring (PermissionDenied before, and for anyone else)."""
    calibration = get_calibration(session, calibration_id)
    assignments = list(
        session.scalars(
            select(Assignment).where(Assignment.calibration_id == calibration.id).order_by(Assignment.id)
        ).unique()
    )
    if not can_manage:
        if user_id not in {a.inspector_id for a in assignments}:
            raise PermissionDenied("error.qa_not_in_calibration", calibration_id=calibration_id)
        if not _submitted_in_calibration(session, calibration.id, user_id):
            raise PermissionDenied("error.qa_calibration_submit_first", calibration_id=calibration_id)
    evaluations = evaluations_of_assignments(session, [a.id for a in assignments])
    submitted = [
        evaluations[a.id]
        for a in assignments
        if a.id in evaluations and evaluations[a.id].status is not EvaluationStatus.DRAFT
    ]
    spread = spread_of([e.total_pct for e in submitted if e.total_pct is not None])
    definition = calibration.scorecard_version.definition
    items = []
    for section in definition.get("sections", []):
        for item in section["items"]:
            values = {e.inspector_id: answer_value(e.answers or {}, item["key"]) for e in submitted}
            items.append(
                {
                    "key": item["key"],
                    "title": item.get("title", ""),
                    "section": section["key"],
                    "values": values,
                    "agree": len(set(values.values())) <= 1,
                }
            )
    assert len(items) == len(items_of(definition))
    return CalibrationView(calibration, assignments, evaluations, submitted, spread, items)


@dataclass(frozen=True)
class CalibrationSummary:
    """A calibration as the list shows it: its assignments and evaluations, how many are submitted, the
    spread once two are (None before, and for an inspector who has not submitted their own yet)."""

    calibration: Calibration
    assignments: list[Assignment]
    evaluations: dict[int, Evaluation]  # by assignment id
    submitted: int
    spread: dict[str, float | None] | None
    mine: Assignment | None  # the caller's own assignment in it


CalibrationStatus = Literal["open", "done", "all"]


def list_calibrations(
    session: Session,
    *,
    user_id: int,
    can_manage: bool,
    status: CalibrationStatus = "all",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[CalibrationSummary], int]:
    """Calibrations, newest first: all of them for a QA manager, else those the user takes part in.
    ``open``: some inspector has not submitted yet; ``done``: everyone has."""
    query: Select[Calibration] = select(Calibration)
    if not can_manage:
        query = query.where(
            exists().where(Assignment.calibration_id == Calibration.id, Assignment.inspector_id == user_id)
        )
    pending = exists().where(
        Assignment.calibration_id == Calibration.id, Assignment.status == AssignmentStatus.OPEN
    )
    if status == "open":
        query = query.where(pending)
    elif status == "done":
        query = query.where(~pending)
    rows, total = paginate(
        session, query, Calibration.created_at.desc(), Calibration.id.desc(), offset=offset, limit=limit
    )
    ids = [c.id for c in rows]
    assignments = (
        list(
            session.scalars(
                select(Assignment).where(Assignment.calibration_id.in_(ids)).order_by(Assignment.id)
            ).unique()
        )
        if ids
        else []
    )
    evaluations = evaluations_of_assignments(session, [a.id for a in assignments])
    summaries = []
    for calibration in rows:
        own = [a for a in assignments if a.calibration_id == calibration.id]
        done = [
            evaluations[a.id]
            for a in own
            if a.id in evaluations and evaluations[a.id].status is not EvaluationStatus.DRAFT
        ]
        mine = next((a for a in own if a.inspector_id == user_id), None)
        # The blind rule of calibration_view: no scores before one's own is submitted.
        may_see = can_manage or any(e.inspector_id == user_id for e in done)
        totals = [e.total_pct for e in done if e.total_pct is not None]
        summaries.append(
            CalibrationSummary(
                calibration=calibration,
                assignments=own,
                evaluations={a.id: evaluations[a.id] for a in own if a.id in evaluations},
                submitted=len(done),
                spread=spread_of(totals) if may_see and len(totals) >= 2 else None,
                mine=mine,
            )
        )
    return summaries, total
