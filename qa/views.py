"""HTTP API of QA (qa-core): scorecards (QA_EVALUATE to read, QA_MANAGE to write), the live preview,
assignments (a list and one), the inspectors to pick from (QA_MANAGE), evaluations and their dispute (the
agent: QA_OWN; the QA lead: QA_MANAGE), and calibration (one, the list, a new one).

Object-level refusals (another inspector's assignment, another agent's evaluation, a calibration before
one's own scoring) are 403 with an audit row. Sampling rules and results are in ``qa.sampling_views``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.errors import InvalidFields, NotFound, PermissionDenied
from core.people.models import Team, User
from core.security.roles import Permission
from core.web import DB, AppSettings, CurrentUser, Page, PageParams, audit_refusal, deny, require
from qa import service
from qa.models import Assignment, AssignmentStatus, Evaluation, ScorecardVersion
from qa.schemas import (
    AssignmentIn,
    AssignmentOut,
    CalibrationCreated,
    CalibrationIn,
    CalibrationInspector,
    CalibrationItem,
    CalibrationListItem,
    CalibrationMember,
    CalibrationOut,
    DisputeIn,
    EvaluationIn,
    EvaluationOut,
    EvaluationUpdate,
    HistoryEntry,
    InspectorOut,
    PreviewIn,
    ResolveIn,
    ScorecardIn,
    ScorecardOut,
    ScorecardRef,
    ScorecardSummary,
    ScoreResultOut,
    Spread,
)
from qa.scoring import ScoreResult

router = APIRouter(prefix="/api/qa", tags=["qa"])
P = Permission
Evaluator = Annotated[CurrentUser, Depends(require(P.QA_EVALUATE))]
Manager = Annotated[CurrentUser, Depends(require(P.QA_MANAGE))]
Owner = Annotated[CurrentUser, Depends(require(P.QA_OWN))]


# --- shapes ----------------------------------------------------------------------------------------


def _ref(version: ScorecardVersion) -> ScorecardRef:
    return ScorecardRef(
        id=version.scorecard_id,
        name=version.scorecard.name,
        version=version.version,
        definition=version.definition,
        standard_score=version.standard_score,
    )


def _result(result: ScoreResult) -> ScoreResultOut:
    return ScoreResultOut.model_validate(result)


def _names(db: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        row.id: row.full_name
        for row in db.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    }


def assignments_out(db: Session, rows: list[Assignment]) -> list[AssignmentOut]:
    recordings = service.recordings_by_id(db, [a.recording_id for a in rows])
    evaluations = service.evaluations_of_assignments(db, [a.id for a in rows])
    names = _names(db, {r.agent_user_id for r in recordings.values()})
    out = []
    for a in rows:
        recording = recordings.get(a.recording_id)
        evaluation = evaluations.get(a.id)
        out.append(
            AssignmentOut(
                id=a.id,
                recording_id=a.recording_id,
                linkedid=recording.linkedid if recording else None,
                queue=recording.queue if recording else None,
                agent=recording.agent if recording else None,
                agent_name=names.get(recording.agent_user_id)
                if recording and recording.agent_user_id
                else None,
                started_at=recording.started_at if recording else None,
                duration_ms=recording.duration_ms if recording else None,
                reason=a.reason,
                inspector_id=a.inspector_id,
                inspector_name=a.inspector.full_name,
                status=a.status,
                scorecard_id=a.scorecard_version.scorecard_id,
                scorecard_version=a.scorecard_version.version,
                evaluation_id=evaluation.id if evaluation else None,
                calibration_id=a.calibration_id,
                due_at=a.due_at,
                created_at=a.created_at,
            )
        )
    return out


def evaluations_out(db: Session, rows: list[Evaluation]) -> list[EvaluationOut]:
    recordings = service.recordings_by_id(db, [e.recording_id for e in rows])
    history_by = {entry.get("by") for e in rows for entry in (e.history or [])}
    names = _names(db, history_by)
    out = []
    for e in rows:
        recording = recordings.get(e.recording_id)
        out.append(
            EvaluationOut(
                id=e.id,
                assignment_id=e.assignment_id,
                recording_id=e.recording_id,
                linkedid=recording.linkedid if recording else None,
                queue=e.queue,
                agent=e.agent,
                agent_name=e.agent_user.full_name if e.agent_user else None,
                agent_user_id=e.agent_user_id,
                inspector_id=e.inspector_id,
                inspector_name=e.inspector.full_name,
                scorecard=_ref(e.scorecard_version),
                answers=e.answers or {},
                comments=e.comments or [],
                summary=e.summary,
                result=_result(service.evaluation_result(e)),
                status=e.status,
                submitted_at=e.submitted_at,
                acknowledged_at=e.acknowledged_at,
                dispute_reason=e.dispute_reason,
                disputed_at=e.disputed_at,
                resolution=e.resolution,
                resolution_note=e.resolution_note,
                resolved_by_name=e.resolver.full_name if e.resolver else None,
                resolved_at=e.resolved_at,
                calibration_id=e.calibration_id,
                history=[
                    HistoryEntry(**entry, by_name=names.get(entry.get("by") or 0))
                    for entry in (e.history or [])
                ],
                created_at=e.created_at,
                updated_at=e.updated_at,
            )
        )
    return out


def _one(db: Session, evaluation: Evaluation) -> EvaluationOut:
    return evaluations_out(db, [evaluation])[0]


def _refused(request: Request, current: CurrentUser, refused: PermissionDenied) -> PermissionDenied:
    return deny(request, current, refused.code, **refused.params)


def _readable(request: Request, db: Session, current: CurrentUser, evaluation_id: int) -> Evaluation:
    evaluation = service.get_evaluation(db, evaluation_id)
    if not service.can_read_evaluation(
        db, evaluation=evaluation, user_id=current.id, role=current.role, team_id=current.team_id
    ):
        raise deny(request, current, "error.qa_not_your_evaluation", evaluation_id=evaluation_id)
    return evaluation


# --- scorecards ------------------------------------------------------------------------------------


@router.get("/scorecards", response_model=list[ScorecardSummary], summary="Scorecards (current versions)")
def list_scorecards(db: DB, current: Evaluator) -> list[ScorecardSummary]:
    return [
        ScorecardSummary(
            id=card.id,
            name=card.name,
            description=card.description,
            version=version.version,
            standard_score=version.standard_score,
        )
        for card, version in service.list_scorecards(db)
    ]


def _scorecard_out(db: Session, version: ScorecardVersion) -> ScorecardOut:
    card = version.scorecard
    return ScorecardOut(
        id=card.id,
        name=card.name,
        description=card.description,
        version=version.version,
        standard_score=version.standard_score,
        definition=version.definition,
        versions=service.version_numbers(db, card.id),
    )


@router.get("/scorecards/{scorecard_id}", response_model=ScorecardOut, summary="A scorecard version")
def get_scorecard(scorecard_id: int, db: DB, current: Evaluator, version: int | None = None) -> ScorecardOut:
    return _scorecard_out(db, service.get_version(db, scorecard_id, version))


@router.post("/scorecards", response_model=ScorecardOut, status_code=201, summary="Create a scorecard")
def create_scorecard(data: ScorecardIn, db: DB, current: Manager) -> ScorecardOut:
    card = service.create_scorecard(db, data=data, actor=current.actor)
    return _scorecard_out(db, service.get_version(db, card.id))


@router.put(
    "/scorecards/{scorecard_id}", response_model=ScorecardOut, summary="Edit a scorecard (a new version)"
)
def update_scorecard(scorecard_id: int, data: ScorecardIn, db: DB, current: Manager) -> ScorecardOut:
    card = service.update_scorecard(db, scorecard_id=scorecard_id, data=data, actor=current.actor)
    return _scorecard_out(db, service.get_version(db, card.id))


@router.post(
    "/scorecards/{scorecard_id}/preview", response_model=ScoreResultOut, summary="Live total of a form"
)
def preview(scorecard_id: int, data: PreviewIn, db: DB, current: Evaluator) -> ScoreResultOut:
    return _result(service.preview(db, scorecard_id=scorecard_id, version=data.version, answers=data.answers))


# --- assignments -----------------------------------------------------------------------------------


@router.get("/assignments", response_model=Page[AssignmentOut], summary="Assigned calls")
def list_assignments(
    db: DB,
    paging: PageParams,
    current: Evaluator,
    mine: bool = True,
    status: AssignmentStatus | None = None,
    inspector_id: int | None = None,
) -> Page[AssignmentOut]:
    """One's own assignments; a QA manager may ask for everyone's (``mine=false``) or one inspector's.
    Without QA_MANAGE the list is always one's own."""
    if mine or not current.can(P.QA_MANAGE):
        inspector_id = current.id
    rows, total = service.list_assignments(
        db, inspector_id=inspector_id, status=status, offset=paging.offset, limit=paging.limit
    )
    return Page(items=assignments_out(db, rows), total=total, offset=paging.offset, limit=paging.limit)


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut, summary="One assigned call")
def get_assignment(assignment_id: int, request: Request, db: DB, current: Evaluator) -> AssignmentOut:
    """Its inspector's, or anyone's for a QA manager. A refusal (403) and an unknown id (404) are audited:
    someone is trying ids."""
    try:
        assignment = service.get_readable_assignment(
            db, assignment_id=assignment_id, user_id=current.id, can_manage=current.can(P.QA_MANAGE)
        )
    except PermissionDenied as refused:
        raise _refused(request, current, refused) from None
    except NotFound:
        audit_refusal(
            request, "assignment.read", current, {"reason": "error.not_found", "assignment_id": assignment_id}
        )
        raise
    return assignments_out(db, [assignment])[0]


@router.get("/inspectors", response_model=list[InspectorOut], summary="Who may score calls")
def list_inspectors(db: DB, current: Manager) -> list[InspectorOut]:
    """Active users whose role holds QA_EVALUATE, by name, with their open assignments (their backlog):
    the choices of a manual assignment, a sampling rule and a calibration."""
    rows = service.list_inspectors(db)
    team_ids = {user.team_id for user, _n in rows if user.team_id is not None}
    teams = (
        dict(db.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).tuples().all())
        if team_ids
        else {}
    )
    return [
        InspectorOut(
            id=user.id,
            name=user.full_name,
            agent_number=user.agent_number,
            username=user.username,
            role=user.role,
            team_id=user.team_id,
            team_name=teams.get(user.team_id) if user.team_id is not None else None,
            open_assignments=open_count,
        )
        for user, open_count in rows
    ]


@router.post("/assignments", response_model=AssignmentOut, status_code=201, summary="Assign a call")
def create_assignment(data: AssignmentIn, db: DB, current: Manager, settings: AppSettings) -> AssignmentOut:
    assignment = service.assign(
        db,
        recording_id=data.recording_id,
        scorecard_id=data.scorecard_id,
        inspector_id=data.inspector_id,
        reason="manual",
        due_at=as_utc(data.due_at, settings.zone) if data.due_at else None,
        actor=current.actor,
    )
    return assignments_out(db, [assignment])[0]


# --- evaluations -----------------------------------------------------------------------------------


@router.post("/evaluations", response_model=EvaluationOut, status_code=201, summary="Score an assigned call")
def create_evaluation(data: EvaluationIn, request: Request, db: DB, current: Evaluator) -> EvaluationOut:
    try:
        evaluation = service.save_evaluation(
            db,
            assignment_id=data.assignment_id,
            answers=data.answers,
            comments=data.comments,
            summary=data.summary,
            submit=data.submit,
            user_id=current.id,
            actor=current.actor,
        )
    except PermissionDenied as refused:
        raise _refused(request, current, refused) from None
    return _one(db, evaluation)


@router.get("/evaluations/mine", response_model=Page[EvaluationOut], summary="My evaluations")
def my_evaluations(db: DB, paging: PageParams, current: Owner) -> Page[EvaluationOut]:
    rows, total = service.list_mine(db, agent_user_id=current.id, offset=paging.offset, limit=paging.limit)
    return Page(items=evaluations_out(db, rows), total=total, offset=paging.offset, limit=paging.limit)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationOut, summary="An evaluation")
def get_evaluation(evaluation_id: int, request: Request, db: DB, current: Owner) -> EvaluationOut:
    """QA evaluators (in their scope) and the agent evaluated, once submitted (QA_OWN)."""
    return _one(db, _readable(request, db, current, evaluation_id))


@router.put("/evaluations/{evaluation_id}", response_model=EvaluationOut, summary="Save or submit a draft")
def update_evaluation(
    evaluation_id: int, data: EvaluationUpdate, request: Request, db: DB, current: Evaluator
) -> EvaluationOut:
    evaluation = service.get_evaluation(db, evaluation_id)
    if data.assignment_id is not None and data.assignment_id != evaluation.assignment_id:
        raise InvalidFields.one("assignment_id", "validation.qa_assignment_mismatch")
    try:
        service.update_evaluation(
            db,
            evaluation=evaluation,
            answers=data.answers,
            comments=data.comments,
            summary=data.summary,
            submit=data.submit,
            user_id=current.id,
            actor=current.actor,
        )
    except PermissionDenied as refused:
        raise _refused(request, current, refused) from None
    return _one(db, evaluation)


@router.post("/evaluations/{evaluation_id}/acknowledge", response_model=EvaluationOut, summary="Accept it")
def acknowledge(evaluation_id: int, request: Request, db: DB, current: Owner) -> EvaluationOut:
    evaluation = service.get_evaluation(db, evaluation_id)
    try:
        service.acknowledge(db, evaluation=evaluation, user_id=current.id, actor=current.actor)
    except PermissionDenied as refused:
        raise _refused(request, current, refused) from None
    return _one(db, evaluation)


@router.post("/evaluations/{evaluation_id}/dispute", response_model=EvaluationOut, summary="Dispute it")
def dispute(evaluation_id: int, data: DisputeIn, request: Request, db: DB, current: Owner) -> EvaluationOut:
    evaluation = service.get_evaluation(db, evaluation_id)
    try:
        service.dispute(
            db, evaluation=evaluation, reason=data.reason, user_id=current.id, actor=current.actor
        )
    except PermissionDenied as refused:
        raise _refused(request, current, refused) from None
    return _one(db, evaluation)


@router.get("/disputes", response_model=Page[EvaluationOut], summary="Disputes to resolve")
def list_disputes(
    db: DB,
    paging: PageParams,
    current: Manager,
    status: Literal["open", "resolved", "all"] = "open",
) -> Page[EvaluationOut]:
    rows, total = service.list_disputes(
        db, status=None if status == "all" else status, offset=paging.offset, limit=paging.limit
    )
    return Page(items=evaluations_out(db, rows), total=total, offset=paging.offset, limit=paging.limit)


@router.post(
    "/evaluations/{evaluation_id}/resolve", response_model=EvaluationOut, summary="Resolve a dispute"
)
def resolve(evaluation_id: int, data: ResolveIn, db: DB, current: Manager) -> EvaluationOut:
    evaluation = service.get_evaluation(db, evaluation_id)
    service.resolve(
        db,
        evaluation=evaluation,
        outcome=data.outcome,
        note=data.note,
        answers=data.answers,
        user_id=current.id,
        actor=current.actor,
    )
    return _one(db, evaluation)


# --- calibration -----------------------------------------------------------------------------------


@router.post(
    "/calibrations", response_model=CalibrationCreated, status_code=201, summary="Start a calibration"
)
def create_calibration(data: CalibrationIn, db: DB, current: Manager) -> CalibrationCreated:
    calibration, assignments = service.create_calibration(
        db,
        recording_id=data.recording_id,
        scorecard_id=data.scorecard_id,
        inspector_ids=data.inspector_ids,
        note=data.note,
        actor=current.actor,
    )
    return CalibrationCreated(id=calibration.id, assignments=assignments_out(db, assignments))


@router.get("/calibrations", response_model=Page[CalibrationListItem], summary="Calibrations")
def list_calibrations(
    db: DB,
    paging: PageParams,
    current: Evaluator,
    status: Annotated[Literal["open", "done", "all"], Query()] = "all",
) -> Page[CalibrationListItem]:
    """Newest first: every calibration for a QA manager, else those one takes part in. ``open``: someone
    has not submitted yet. The spread shows once two have submitted, and to an inspector only after their
    own scoring (as the calibration itself)."""
    summaries, total = service.list_calibrations(
        db,
        user_id=current.id,
        can_manage=current.can(P.QA_MANAGE),
        status=status,
        offset=paging.offset,
        limit=paging.limit,
    )
    recordings = service.recordings_by_id(db, [s.calibration.recording_id for s in summaries])
    names = _names(db, {r.agent_user_id for r in recordings.values()})
    items = []
    for summary in summaries:
        calibration = summary.calibration
        recording = recordings.get(calibration.recording_id)
        agent_name = None
        if recording is not None:
            agent_name = names.get(recording.agent_user_id or 0) or recording.agent
        version = calibration.scorecard_version
        members = []
        for a in summary.assignments:
            evaluation = summary.evaluations.get(a.id)
            members.append(
                CalibrationMember(
                    inspector_id=a.inspector_id,
                    name=a.inspector.full_name,
                    status=evaluation.status.value if evaluation else a.status.value,
                )
            )
        mine = summary.mine
        mine_evaluation = summary.evaluations.get(mine.id) if mine else None
        items.append(
            CalibrationListItem(
                id=calibration.id,
                recording_id=calibration.recording_id,
                linkedid=recording.linkedid if recording else None,
                agent_name=agent_name,
                scorecard_id=version.scorecard_id,
                scorecard_name=version.scorecard.name,
                scorecard_version=version.version,
                note=calibration.note,
                created_at=calibration.created_at,
                inspectors=members,
                submitted=summary.submitted,
                spread=Spread(**summary.spread) if summary.spread else None,
                my_assignment_id=mine.id if mine else None,
                my_status=(mine_evaluation.status.value if mine_evaluation else mine.status.value)
                if mine
                else None,
            )
        )
    return Page(items=items, total=total, offset=paging.offset, limit=paging.limit)


@router.get("/calibrations/{calibration_id}", response_model=CalibrationOut, summary="A calibration's spread")
def get_calibration(calibration_id: int, request: Request, db: DB, current: Evaluator) -> CalibrationOut:
    try:
        view = service.calibration_view(
            db, calibration_id=calibration_id, user_id=current.id, can_manage=current.can(P.QA_MANAGE)
        )
    except PermissionDenied as refused:
        raise _refused(request, current, refused) from None
    inspectors = []
    for a in view.assignments:
        evaluation = view.evaluations.get(a.id)
        shown = evaluation is not None and evaluation in view.submitted
        inspectors.append(
            CalibrationInspector(
                inspector_id=a.inspector_id,
                name=a.inspector.full_name,
                status=evaluation.status.value if evaluation else a.status.value,
                evaluation_id=evaluation.id if shown and evaluation else None,
                total_pct=evaluation.total_pct if shown and evaluation else None,
                grade=evaluation.grade if shown and evaluation else None,
            )
        )
    return CalibrationOut(
        id=view.calibration.id,
        recording_id=view.calibration.recording_id,
        note=view.calibration.note,
        created_at=view.calibration.created_at,
        scorecard=_ref(view.calibration.scorecard_version),
        inspectors=inspectors,
        spread=Spread(**view.spread),
        items=[CalibrationItem(**item) for item in view.items],
    )
