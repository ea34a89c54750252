"""HTTP API of the IVR admin (permission ``ivr.manage``): flows and their versions (list, read, validate,
save a new version, activate — rolling back is activating an older one) and the prompts (which have
audio in which language, upload a recording, listen to one).

A flow may use a prompt of the catalog (``ivr/locales/*/ivr_prompts.json``) or one an admin uploaded a
recording for: :func:`check_flow` accepts the flow validator's "unknown prompt" problems that a recording
answers. Every change and every listen leaves an audit row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.clock import utcnow
from core.errors import FieldProblem, InvalidFields, NotFound
from core.i18n import LANGUAGES
from core.people.models import User
from core.security.roles import Permission
from core.web import DB, AppSettings, CurrentUser, require
from ivr import prompts
from ivr.flows import FlowDefinition, flow_json, prompt_texts, validate_flow
from ivr.models import IvrFlow
from ivr.server import IVR_SCRIPTS

router = APIRouter(prefix="/api/ivr", tags=["ivr"])
IvrAdmin = Annotated[CurrentUser, Depends(require(Permission.IVR_MANAGE))]
FlowName = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
PromptName = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
UPLOAD_CHUNK = 64 * 1024


# --- shapes -------------------------------------------------------------------------------------


class FlowVersionBrief(BaseModel):
    version: int
    is_active: bool
    note: str | None = None
    created_at: datetime
    created_by_name: str | None = None


class FlowSummary(BaseModel):
    name: str
    active_version: int | None
    versions: list[FlowVersionBrief]


class FlowVersionOut(FlowVersionBrief):
    name: str
    definition: dict[str, Any]


class FlowDraftIn(BaseModel):
    definition: dict[str, Any]


class FlowSaveIn(FlowDraftIn):
    note: str | None = Field(default=None, max_length=300)
    activate: bool = False


class FlowCheckOut(BaseModel):
    valid: bool
    steps: int


class PromptAudioOut(BaseModel):
    language: str
    text: str | None = None
    has_audio: bool
    uploaded: bool
    duration_ms: int | None = None
    size_bytes: int | None = None
    uploaded_by: str | None = None
    uploaded_at: str | None = None


class PromptOut(BaseModel):
    name: str
    in_catalog: bool
    audio: list[PromptAudioOut]


# --- flows: the work behind the endpoints --------------------------------------------------------


def _root(settings: AppSettings) -> Path:
    return prompts.prompts_root(settings.data_dir)


def check_flow(raw: dict[str, Any], known: dict[str, set[str]]) -> FlowDefinition:
    """:func:`validate_flow`, where a prompt is also known in a language when a recording was uploaded."""
    try:
        return validate_flow(raw)
    except InvalidFields as exc:
        left = [problem for problem in exc.problems if not _answered_by_recording(problem, known)]
        if left:
            raise InvalidFields(*left) from exc
    # only prompts answered by recordings were missing: the shape and the graph are sound
    return FlowDefinition.model_validate(raw)


def _answered_by_recording(problem: FieldProblem, known: dict[str, set[str]]) -> bool:
    if problem.code != "validation.ivr_unknown_prompt":
        return False
    language, prompt = problem.params.get("language"), problem.params.get("prompt")
    return prompt in known.get(str(language), set())


def _user_names(session: Session, rows: list[IvrFlow]) -> dict[int, str]:
    ids = {row.created_by_id for row in rows if row.created_by_id is not None}
    if not ids:
        return {}
    query = select(User.id, User.full_name).where(User.id.in_(ids))
    return {user_id: full_name for user_id, full_name in session.execute(query)}


def _brief(row: IvrFlow, names: dict[int, str]) -> FlowVersionBrief:
    return FlowVersionBrief(
        version=row.version,
        is_active=row.is_active,
        note=row.note,
        created_at=row.created_at,
        created_by_name=names.get(row.created_by_id) if row.created_by_id is not None else None,
    )


def _version_out(session: Session, row: IvrFlow) -> FlowVersionOut:
    brief = _brief(row, _user_names(session, [row]))
    return FlowVersionOut(**brief.model_dump(), name=row.name, definition=row.definition)


def _get_version(session: Session, name: str, version: int) -> IvrFlow:
    row = session.scalar(select(IvrFlow).where(IvrFlow.name == name, IvrFlow.version == version))
    if row is None:
        raise NotFound()
    return row


def _check_name(session: Session, name: str) -> None:
    """A flow serves the FastAGI script of its name: the scripts the server routes, or a stored name."""
    if name in IVR_SCRIPTS:
        return
    if session.scalar(select(IvrFlow.id).where(IvrFlow.name == name).limit(1)) is None:
        raise InvalidFields.one("name", "validation.ivr_unknown_flow", scripts=", ".join(IVR_SCRIPTS))


def _activate(session: Session, row: IvrFlow) -> None:
    session.execute(update(IvrFlow).where(IvrFlow.name == row.name).values(is_active=False))
    row.is_active = True
    session.flush()


# --- flows: endpoints ---------------------------------------------------------------------------


@router.get("/flows", response_model=list[FlowSummary], summary="Flows with their versions")
def list_flows(db: DB, current: IvrAdmin) -> list[FlowSummary]:
    rows = list(db.scalars(select(IvrFlow).order_by(IvrFlow.name, IvrFlow.version.desc())))
    names = _user_names(db, rows)
    out: dict[str, FlowSummary] = {}
    for row in rows:
        summary = out.setdefault(row.name, FlowSummary(name=row.name, active_version=None, versions=[]))
        summary.versions.append(_brief(row, names))
        if row.is_active:
            summary.active_version = row.version
    return list(out.values())


@router.get("/flows/{name}/versions/{version}", response_model=FlowVersionOut)
def get_flow_version(name: FlowName, version: int, db: DB, current: IvrAdmin) -> FlowVersionOut:
    return _version_out(db, _get_version(db, name, version))


@router.post("/flows/validate", response_model=FlowCheckOut, summary="Validate a flow without saving it")
def validate(data: FlowDraftIn, current: IvrAdmin, settings: AppSettings) -> FlowCheckOut:
    flow = check_flow(data.definition, prompts.known_prompts(_root(settings)))
    return FlowCheckOut(valid=True, steps=len(flow.steps))


@router.post("/flows/{name}/versions", response_model=FlowVersionOut, status_code=201)
def save_version(
    name: FlowName, data: FlowSaveIn, db: DB, current: IvrAdmin, settings: AppSettings
) -> FlowVersionOut:
    """A new version (the next number); active at once when ``activate`` is set."""
    _check_name(db, name)
    flow = check_flow(data.definition, prompts.known_prompts(_root(settings)))
    version = (db.scalar(select(func.max(IvrFlow.version)).where(IvrFlow.name == name)) or 0) + 1
    row = IvrFlow(
        name=name,
        version=version,
        definition=flow_json(flow),
        is_active=False,
        note=data.note,
        created_by_id=current.id,
    )
    db.add(row)
    db.flush()
    if data.activate:
        _activate(db, row)
    audit.record(
        db,
        actor=current.actor,
        action="ivr.flow.save",
        object_type="ivr_flow",
        object_id=row.id,
        detail={"name": name, "version": version, "activate": data.activate, "steps": len(flow.steps)},
    )
    return _version_out(db, row)


@router.post("/flows/{name}/versions/{version}/activate", response_model=FlowVersionOut)
def activate_version(
    name: FlowName, version: int, db: DB, current: IvrAdmin, settings: AppSettings
) -> FlowVersionOut:
    """Make this version the one calls get (an older one: a roll-back); checked again before."""
    row = _get_version(db, name, version)
    check_flow(row.definition, prompts.known_prompts(_root(settings)))  # a recording may be gone since
    previous = db.scalar(select(IvrFlow.version).where(IvrFlow.name == name, IvrFlow.is_active.is_(True)))
    _activate(db, row)
    audit.record(
        db,
        actor=current.actor,
        action="ivr.flow.activate",
        object_type="ivr_flow",
        object_id=row.id,
        detail={"name": name, "version": version, "previous_version": previous},
    )
    return _version_out(db, row)


# --- prompts ------------------------------------------------------------------------------------


def _audio_out(root: Path, language: str, name: str) -> PromptAudioOut:
    path = prompts.audio_path(root, language, name)
    info = prompts.read_info(path) if path.is_file() else None
    marker = prompts.upload_info(root, language, name)
    return PromptAudioOut(
        language=language,
        text=prompt_texts(language).get(name),
        has_audio=info is not None,
        uploaded=marker is not None,
        duration_ms=info.duration_ms if info else None,
        size_bytes=path.stat().st_size if info else None,
        uploaded_by=marker.get("uploaded_by") if marker else None,
        uploaded_at=marker.get("uploaded_at") if marker else None,
    )


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidFields.one("language", "validation.ivr_prompt_language", languages=", ".join(LANGUAGES))


@router.get("/prompts", response_model=list[PromptOut], summary="Prompts and which have audio per language")
def list_prompts(current: IvrAdmin, settings: AppSettings) -> list[PromptOut]:
    root = _root(settings)
    catalog = set(prompts.catalog_names())
    names = catalog.union(*(prompts.uploaded_names(root, language) for language in LANGUAGES))
    return [
        PromptOut(
            name=name,
            in_catalog=name in catalog,
            audio=[_audio_out(root, language, name) for language in LANGUAGES],
        )
        for name in sorted(names)
    ]


def _read_capped(upload: UploadFile) -> bytes:
    """The upload's bytes, refusing past the cap without reading the rest."""
    chunks: list[bytes] = []
    size = 0
    while chunk := upload.file.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > prompts.MAX_UPLOAD_BYTES:
            raise InvalidFields.one(
                "file", "validation.ivr_audio_too_large", max_mb=prompts.MAX_UPLOAD_BYTES // (1024 * 1024)
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/prompts/{name}/{language}/audio",
    response_model=PromptAudioOut,
    status_code=201,
    summary="Upload a recording (WAV or MP3), stored as 8 kHz mono 16-bit WAV",
)
def upload_audio(
    name: PromptName,
    language: str,
    db: DB,
    current: IvrAdmin,
    settings: AppSettings,
    file: Annotated[UploadFile, File()],
) -> PromptAudioOut:
    _check_language(language)
    data = _read_capped(file)
    try:
        # a plain def endpoint: this runs in the threadpool, the event loop is not blocked by ffmpeg
        audio, info = prompts.convert_upload(data)
    except prompts.PromptConversionError as exc:
        params = {"max_mb": prompts.MAX_UPLOAD_BYTES // (1024 * 1024), "max_s": prompts.MAX_UPLOAD_SECONDS}
        raise InvalidFields.one("file", f"validation.ivr_{exc.reason}", **params) from exc
    except prompts.PromptToolMissing as exc:
        raise InvalidFields.one("file", "validation.ivr_audio_tool_missing", tool=exc.tool) from exc
    root = _root(settings)
    prompts.store_upload(
        root, language, name, audio, by=current.username, filename=file.filename, at=utcnow()
    )
    audit.record(
        db,
        actor=current.actor,
        action="ivr.prompt.upload",
        object_type="ivr_prompt",
        object_id=f"{language}/{name}",
        detail={
            "filename": (file.filename or "")[:200],
            "bytes": len(data),
            "duration_ms": info.duration_ms,
        },
    )
    return _audio_out(root, language, name)


@router.get("/prompts/{name}/{language}/audio", summary="Listen to a prompt (8 kHz WAV)")
def get_audio(name: PromptName, language: str, db: DB, current: IvrAdmin, settings: AppSettings) -> Response:
    _check_language(language)
    path = prompts.audio_path(_root(settings), language, name)
    if not path.is_file():
        raise NotFound()
    audit.record(
        db,
        actor=current.actor,
        action="ivr.prompt.listen",
        object_type="ivr_prompt",
        object_id=f"{language}/{name}",
    )
    return Response(
        path.read_bytes(),
        media_type="audio/wav",
        headers={
            "Content-Disposition": f'inline; filename="{language}-{name}.wav"',
            "Cache-Control": "no-store",
        },
    )
