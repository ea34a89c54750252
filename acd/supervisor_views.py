"""HTTP API of the team lead's / supervisor's live console actions on an agent: listen, whisper, barge
(ChanSpy from the acting user's own phone), force pause / unpause / log out, move between queues.

Target agents are users (by id). A team lead acts only on the agents of its own team (same ``team_id``,
or the team it leads); supervisors and admins on everyone. A refusal is audited (403); every action leaves
an audit row (``acd.spy``, ``acd.force_pause``, ``acd.force_unpause``, ``acd.force_logout``, ``acd.move``).
The PBX's answer comes back as events in the live state.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select

from acd import call_control
from acd.agent_session import Member, NoPhone, PbxUnavailable, log_out, pause, unpause
from acd.commands import OriginateOutcome, SpyMode
from acd.service import AcdService
from core.audit import service as audit
from core.db import transaction
from core.errors import Conflict, NotFound
from core.pause_reasons import service as pause_reasons
from core.people.models import Team, User
from core.security.roles import Permission, Role
from core.web import AppSettings, CurrentUser, deny, require, session_factory_of

router = APIRouter(prefix="/api/acd/agents", tags=["acd"])
Supervisor = Annotated[CurrentUser, Depends(require(Permission.ACD_SUPERVISE))]
QueueName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AgentHasNoPhone(Conflict):
    code = "error.agent_no_phone"


class SpyIn(BaseModel):
    mode: SpyMode


class SpyOut(BaseModel):
    outcome: OriginateOutcome
    channel: str | None


class ForcePauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=64)


class ForceLogoutIn(BaseModel):
    queues: list[QueueName] | None = Field(default=None, max_length=20)  # None: every queue it is in


class MoveAgentIn(BaseModel):
    from_queue: QueueName
    to_queue: QueueName


def _acd(request: Request) -> AcdService:
    service: AcdService | None = getattr(request.app.state, "acd", None)
    if service is None:
        raise PbxUnavailable()
    return service


async def _target(request: Request, current: CurrentUser, user_id: int) -> tuple[Member, Member | None]:
    """The agent (as the PBX knows it) if the acting user may act on it, and the acting user's own phone
    (None without one). A team lead on another team's agent: 403, audited."""

    def load() -> tuple[Member, Member | None]:
        with transaction(session_factory_of(request)) as session:
            target = session.get(User, user_id)
            if target is None:
                raise NotFound(object="user", id=user_id)
            if current.role == Role.TEAM_LEAD:
                led = set(session.scalars(select(Team.id).where(Team.lead_id == current.id)).all())
                if current.team_id is not None:
                    led.add(current.team_id)
                if target.team_id not in led:
                    raise deny(request, current, "error.not_your_team", user_id=user_id)
            if not target.pbx_interface:
                raise AgentHasNoPhone()
            me = session.get(User, current.id)
            mine = (
                Member(interface=me.pbx_interface, name=me.full_name)
                if me is not None and me.pbx_interface
                else None
            )
            return Member(interface=target.pbx_interface, name=target.full_name), mine

    return await asyncio.to_thread(load)


async def _audit(request: Request, current: CurrentUser, action: str, user_id: int, **detail: Any) -> None:
    def write() -> None:
        with transaction(session_factory_of(request)) as session:
            audit.record(
                session,
                actor=current.actor,
                action=action,
                object_type="user",
                object_id=user_id,
                detail=detail,
            )

    await asyncio.to_thread(write)


@router.post("/{user_id}/spy", response_model=SpyOut, summary="Listen, whisper or barge on an agent's call")
async def spy_on_agent(user_id: int, data: SpyIn, request: Request, current: Supervisor) -> SpyOut:
    service = _acd(request)
    agent, mine = await _target(request, current, user_id)
    if mine is None:
        raise NoPhone()
    result = await call_control.spy(
        service.link,
        service.state.snapshot(),
        supervisor_interface=mine.interface,
        agent=agent,
        mode=data.mode,
        supervisor_name=mine.name,
    )
    await _audit(
        request,
        current,
        "acd.spy",
        user_id,
        mode=data.mode.value,
        agent_interface=agent.interface,
        phone=mine.interface,
        outcome=result.outcome.value,
    )
    return SpyOut(outcome=result.outcome, channel=result.channel)


async def _pause_codes(request: Request, defaults: list[str]) -> list[str]:
    """The active pause reasons of the table (the settings' while it is empty)."""

    def load() -> list[str]:
        with session_factory_of(request)() as session:
            return pause_reasons.active_codes(session, defaults=defaults)

    return await asyncio.to_thread(load)


@router.post("/{user_id}/pause", status_code=204, summary="Force an agent into pause with a reason")
async def force_pause(
    user_id: int, data: ForcePauseIn, request: Request, current: Supervisor, settings: AppSettings
) -> None:
    service = _acd(request)
    agent, _ = await _target(request, current, user_id)
    allowed = await _pause_codes(request, settings.pause_reasons)
    await pause(service.link, agent, data.reason, allowed)
    await _audit(request, current, "acd.force_pause", user_id, reason=data.reason)


@router.post("/{user_id}/unpause", status_code=204, summary="Take an agent out of pause")
async def force_unpause(user_id: int, request: Request, current: Supervisor) -> None:
    service = _acd(request)
    agent, _ = await _target(request, current, user_id)
    await unpause(service.link, agent)
    await _audit(request, current, "acd.force_unpause", user_id)


@router.post("/{user_id}/logout", status_code=204, summary="Log an agent out of queues (all by default)")
async def force_logout(
    user_id: int, request: Request, current: Supervisor, data: ForceLogoutIn | None = None
) -> None:
    service = _acd(request)
    agent, _ = await _target(request, current, user_id)
    queues = data.queues if data is not None and data.queues is not None else None
    if queues is None:
        queues = call_control.queues_of(service.state.snapshot(), agent)
        if not queues:
            raise call_control.AgentNotLoggedIn()
    await log_out(service.link, agent, queues)
    await _audit(request, current, "acd.force_logout", user_id, queues=queues)


@router.post("/{user_id}/move", status_code=204, summary="Move an agent from one queue to another")
async def move_agent(user_id: int, data: MoveAgentIn, request: Request, current: Supervisor) -> None:
    service = _acd(request)
    agent, _ = await _target(request, current, user_id)
    await call_control.move(
        service.link,
        service.state.snapshot(),
        agent=agent,
        from_queue=data.from_queue,
        to_queue=data.to_queue,
    )
    await _audit(request, current, "acd.move", user_id, from_queue=data.from_queue, to_queue=data.to_queue)
