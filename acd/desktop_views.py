"""HTTP API of the agent's own session with the PBX: which queues the phone is logged in to, pause with a
reason, back to available. The PBX's answer comes back as events; the desktop shows what the PBX says."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StringConstraints

from acd.agent_session import Member, PbxUnavailable, log_in, log_out, member_of, pause, unpause
from acd.service import AcdService
from core.people.models import User
from core.security.roles import Permission
from core.web import AppSettings, CurrentUser, require, session_factory_of

router = APIRouter(prefix="/api/desktop", tags=["desktop"])
DesktopUser = Annotated[CurrentUser, Depends(require(Permission.DESKTOP_USE))]


class QueuesIn(BaseModel):
    queues: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=20
    )


class QueuesOut(BaseModel):
    queues: list[str]


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=64)


class SessionOut(BaseModel):
    pbx_connected: bool
    interface: str | None
    pause_reasons: list[str]
    queues: list[str]  # the queues the PBX has (live state)
    my_queues: list[str]  # those the PBX says this agent is logged in to
    state: str | None


def _acd(request: Request) -> AcdService:
    service: AcdService | None = getattr(request.app.state, "acd", None)
    if service is None:
        raise PbxUnavailable()
    return service


async def _member(request: Request, current: CurrentUser) -> Member:
    def load() -> Member:
        with session_factory_of(request)() as session:
            user = session.get(User, current.id)
            assert user is not None
            return member_of(pbx_interface=user.pbx_interface, full_name=user.full_name)

    return await asyncio.to_thread(load)


def _my_agent(service: AcdService, member: Member) -> dict[str, Any] | None:
    for agent in service.state.snapshot()["agents"].values():
        if agent.get("interface") == member.interface:
            found: dict[str, Any] = agent
            return found
    return None


@router.get("/session", response_model=SessionOut, summary="The agent's queues, state and pause reasons")
async def session_info(request: Request, current: DesktopUser, settings: AppSettings) -> SessionOut:
    service = getattr(request.app.state, "acd", None)
    member = await _member(request, current)
    agent = _my_agent(service, member) if service is not None else None
    queues = sorted(service.state.snapshot()["queues"]) if service is not None else []
    return SessionOut(
        pbx_connected=bool(service and service.link.connected),
        interface=member.interface,
        pause_reasons=settings.pause_reasons,
        queues=queues,
        my_queues=sorted((agent or {}).get("queues", {})),
        state=(agent or {}).get("state"),
    )


@router.post("/queues/login", response_model=QueuesOut, summary="Log my phone in to queues (QueueAdd)")
async def queues_login(data: QueuesIn, request: Request, current: DesktopUser) -> QueuesOut:
    service = _acd(request)
    member = await _member(request, current)
    await log_in(service.link, member, data.queues)
    return QueuesOut(queues=data.queues)


@router.post("/queues/logout", response_model=QueuesOut, summary="Log my phone out of queues (QueueRemove)")
async def queues_logout(data: QueuesIn, request: Request, current: DesktopUser) -> QueuesOut:
    service = _acd(request)
    member = await _member(request, current)
    await log_out(service.link, member, data.queues)
    return QueuesOut(queues=data.queues)


@router.post("/pause", status_code=204, summary="Pause in every queue with a reason (QueuePause)")
async def pause_me(data: PauseIn, request: Request, current: DesktopUser, settings: AppSettings) -> None:
    service = _acd(request)
    await pause(service.link, await _member(request, current), data.reason, settings.pause_reasons)


@router.post("/unpause", status_code=204, summary="Back to available in every queue")
async def unpause_me(request: Request, current: DesktopUser) -> None:
    service = _acd(request)
    await unpause(service.link, await _member(request, current))
