"""HTTP API of the wallboard: ``GET /api/acd/wallboard`` (ACD_MONITOR), built by ``acd.wallboard`` from
today's call records and the live state. A team lead's board lists the agents of its own team only. The
figures use the reports' per-queue definitions (``acd.wallboard.service_level_config``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from acd.wallboard import Viewer, WallboardOut, build_wallboard, service_level_config
from core.clock import utcnow
from core.security.roles import Permission, Role
from core.web import DB, AppSettings, CurrentUser, require

router = APIRouter(prefix="/api/acd", tags=["acd"])
Monitor = Annotated[CurrentUser, Depends(require(Permission.ACD_MONITOR))]


@router.get("/wallboard", response_model=WallboardOut, summary="Today's figures per queue, agents, alerts")
def wallboard(
    request: Request,
    db: DB,
    current: Monitor,
    settings: AppSettings,
    interval_minutes: Annotated[int, Query(ge=5, le=240)] = 30,
) -> WallboardOut:
    service = getattr(request.app.state, "acd", None)
    snapshot = service.state.snapshot() if service is not None else None
    viewer = Viewer(
        team_only=current.role is Role.TEAM_LEAD,
        team_id=current.team_id,
        unmasked=current.can(Permission.PHONES_UNMASKED),
    )
    return build_wallboard(
        db,
        settings=settings,
        snapshot=snapshot,
        viewer=viewer,
        now=utcnow(),
        interval_minutes=interval_minutes,
        # the same resolution as the reports' (queues.conf, then the settings), not the live link's
        config=service_level_config(settings),
        configured_queues=list(getattr(service, "queues", {}) or {}),
    )
