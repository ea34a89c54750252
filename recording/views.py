"""HTTP API of the recording package under /api/recordings: the scoped list, one recording (audited
``recording.read``), its audio with HTTP Range requests (audited ``recording.play`` once per playback: a
request without Range or starting at byte 0), its waveform, and the per-queue policy (recordings.manage).

A recording outside the user's scope is a 403 audited through ``core.web.deny``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from core.audit import service as audit
from core.errors import NotFound
from core.security.roles import Permission
from core.web import DB, AppSettings, CurrentUser, Language, Page, PageParams, deny, error_body, require
from recording import service
from recording.config import RecordingSettings
from recording.models import Recording, RecordingStatus
from recording.schemas import RecordingOut, RecordingPolicyIn, RecordingPolicyOut
from recording.storage import RecordingStore, make_store

router = APIRouter(prefix="/api/recordings", tags=["recordings"])
P = Permission
Listener = Annotated[CurrentUser, Depends(require(P.RECORDINGS_LISTEN))]
Manager = Annotated[CurrentUser, Depends(require(P.RECORDINGS_MANAGE))]
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class NoAudio(NotFound):
    code = "error.recording.no_audio"


class NotAnalysed(NotFound):
    code = "error.recording.not_analysed"


class RangeNotSatisfiable(Exception):
    pass


def recording_store(request: Request) -> RecordingStore:
    """The app's store: ``app.state.recording_store`` when the lifespan (or a test) set one, else the one
    the environment names (built once)."""
    store: RecordingStore | None = getattr(request.app.state, "recording_store", None)
    if store is None:
        store = make_store(RecordingSettings.from_app(request.app.state.settings))
        request.app.state.recording_store = store
    return store


Store = Annotated[RecordingStore, Depends(recording_store)]


def _listenable(request: Request, db: DB, current: CurrentUser, recording_id: int) -> Recording:
    row = service.get_recording(db, recording_id)
    if not service.can_listen(db, current, row):
        raise deny(request, current, "error.recording.not_yours", recording_id=recording_id)
    return row


# --- policies (before /{recording_id}) -----------------------------------------------------------------


@router.get("/policies", response_model=list[RecordingPolicyOut])
def get_policies(db: DB, current: Listener) -> list[RecordingPolicyOut]:
    return service.list_policies(db)


@router.put("/policies", response_model=list[RecordingPolicyOut])
def put_policies(items: list[RecordingPolicyIn], db: DB, current: Manager) -> list[RecordingPolicyOut]:
    return service.replace_policies(db, items=items, actor=current.actor)


# --- recordings ------------------------------------------------------------------------------------------


@router.get("", response_model=Page[RecordingOut])
def list_recordings(
    db: DB,
    current: Listener,
    settings: AppSettings,
    paging: PageParams,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    agent: Annotated[str | None, Query(max_length=100)] = None,
    date_from: Annotated[date | None, Query(alias="from", description="Center-zone date, inclusive.")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Center-zone date, inclusive.")] = None,
    status: RecordingStatus | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[RecordingOut]:
    filters = service.RecordingFilter(
        queue=queue, agent=agent, date_from=date_from, date_to=date_to, status=status, q=q
    )
    rows, total = service.list_recordings(
        db, user=current, filters=filters, zone=settings.zone, offset=paging.offset, limit=paging.limit
    )
    names = service.agent_names(db, rows)
    return Page(
        items=[service.recording_out(db, row, names=names) for row in rows],
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


@router.get("/{recording_id}", response_model=RecordingOut)
def get_recording(recording_id: int, request: Request, db: DB, current: Listener) -> RecordingOut:
    row = _listenable(request, db, current, recording_id)
    audit.record(db, actor=current.actor, action="recording.read", object_type="recording", object_id=row.id)
    return service.recording_out(db, row)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a ``Range`` header asks for; None for the whole object (no header, or
    several ranges, which we may ignore); ``RangeNotSatisfiable`` for a malformed or impossible one."""
    if header is None or not header.strip():
        return None
    if "," in header:
        return None
    match = _RANGE.match(header)
    if match is None:
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable(header)
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)


@router.get(
    "/{recording_id}/audio",
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/mpeg": {}}}, 206: {"content": {"audio/mpeg": {}}}, 416: {}},
)
def get_audio(
    recording_id: int,
    request: Request,
    db: DB,
    current: Listener,
    store: Store,
    language: Language,
    range_header: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    row = _listenable(request, db, current, recording_id)
    if row.status is not RecordingStatus.STORED or not row.storage_key:
        raise NoAudio(status=RecordingStatus(row.status).value)
    try:
        size = store.size(row.storage_key)
    except FileNotFoundError as exc:
        raise NoAudio(status="missing_object") from exc
    try:
        wanted = parse_range(range_header, size)
    except RangeNotSatisfiable:
        return JSONResponse(
            error_body("error.recording.bad_range", language),
            status_code=416,
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
        )
    start, end = wanted if wanted is not None else (0, size - 1)
    if start == 0:  # a playback starts here; the seeks and buffering after it are not new playbacks
        audit.record(
            db,
            actor=current.actor,
            action="recording.play",
            object_type="recording",
            object_id=row.id,
            detail={"range": range_header} if range_header else None,
        )
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(end - start + 1),
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{row.uniqueid}.mp3"',
    }
    body: Iterator[bytes] = store.open_range(row.storage_key, start, end) if size else iter(())
    if wanted is None:
        return StreamingResponse(body, media_type="audio/mpeg", headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(body, status_code=206, media_type="audio/mpeg", headers=headers)


@router.get("/{recording_id}/waveform")
def get_waveform(recording_id: int, request: Request, db: DB, current: Listener) -> dict[str, Any]:
    row = _listenable(request, db, current, recording_id)
    if row.analysis is None or row.analysis.waveform is None:
        raise NotAnalysed(recording_id=recording_id)
    waveform: dict[str, Any] = row.analysis.waveform
    return waveform
