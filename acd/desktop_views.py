"""HTTP API of the agent desktop's telephony: the agent's own session with the PBX (queues, pause, resume)
and control of its own call (answer, hang up, blind transfer, recording mute) and click-to-dial.

Everything acts on the caller's own phone (``User.pbx_interface``) and its own current call only; a
``linkedid`` naming another call is refused (403, audited). The PBX's answer comes back as events: the
desktop shows what the PBX says (live state over the websocket), not what was clicked. Database work (the
user, customer files, audit rows) runs in worker threads: these endpoints are async because they await
the PBX.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from acd import call_control
from acd.agent_session import Member, PbxUnavailable, log_in, log_out, member_of, pause, unpause
from acd.call_control import QuietHours, TransferKind
from acd.commands import OriginateOutcome
from acd.service import AcdService
from acd.softphone import Softphone
from core import phone as phones_
from core.audit import service as audit
from core.clock import utcnow
from core.config import Settings
from core.customers import service as customers
from core.customers.models import ContactWindow, Customer
from core.customers.views import readable_customer
from core.db import transaction
from core.errors import DomainError, InvalidFields
from core.pause_reasons import service as pause_reasons
from core.people.models import User
from core.security.roles import Permission
from core.web import AppSettings, CurrentUser, Language, deny, require, session_factory_of

router = APIRouter(prefix="/api/desktop", tags=["desktop"])
DesktopUser = Annotated[CurrentUser, Depends(require(Permission.DESKTOP_USE))]
Linkedid = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class QueuesIn(BaseModel):
    queues: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=20
    )


class QueuesOut(BaseModel):
    queues: list[str]


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=64)


class DesktopAgentOut(BaseModel):
    state: str
    since: float | None  # epoch seconds
    reason: str | None
    wrapup_until: float | None
    call: str | None  # linkedid


class DesktopCallOut(BaseModel):
    linkedid: str
    uniqueid: str
    queue: str | None
    state: str
    caller_number: str | None  # masked unless the reader may see numbers
    joined: float | None
    since: float | None
    recording: bool
    muted: bool


class SessionOut(BaseModel):
    pbx_connected: bool
    interface: str | None
    pause_reasons: list[str]  # the active codes, in order (what /pause accepts)
    pause_reason_labels: dict[str, str]  # code → label in the user's language (inactive codes too)
    queues: list[str]  # the queues the PBX has (live state)
    allowed_queues: list[str]  # those this agent's skills allow (settings.queue_skills)
    my_queues: list[str]  # those the PBX says this agent is logged in to
    state: str | None
    agent: DesktopAgentOut | None
    call: DesktopCallOut | None
    transfer_departments: list[str]
    ring_target_seconds: float  # three rings
    answer_in_browser: bool


class CallRefIn(BaseModel):
    linkedid: Linkedid | None = None


class TransferIn(BaseModel):
    kind: TransferKind
    target: str = Field(min_length=1, max_length=64)
    linkedid: Linkedid | None = None


class TransferOut(BaseModel):
    linkedid: str
    kind: TransferKind
    target: str
    context: str
    exten: str


class RecordingIn(BaseModel):
    muted: bool
    linkedid: Linkedid | None = None


class DialIn(BaseModel):
    customer_id: int = Field(ge=1)
    number: str | None = Field(default=None, min_length=1, max_length=32)
    confirm_quiet_hours: bool = False


class DialOut(BaseModel):
    outcome: OriginateOutcome
    channel: str | None
    uniqueid: str | None
    number_display: str


# --- helpers ------------------------------------------------------------------------------------------


def _acd(request: Request) -> AcdService:
    service: AcdService | None = getattr(request.app.state, "acd", None)
    if service is None:
        raise PbxUnavailable()
    return service


def _softphone(request: Request) -> Softphone | None:
    return cast(Softphone | None, getattr(request.app.state, "softphone", None))


def allowed_queues(
    queues: Iterable[str], skills: Collection[str], queue_skills: Mapping[str, str]
) -> list[str]:
    """The queues an agent may log in to: those needing no skill, and those needing one the agent has."""
    return sorted(q for q in queues if queue_skills.get(q) is None or queue_skills[q] in skills)


@dataclass(frozen=True)
class _Agent:
    """The acting user as the desktop needs them, read once per request."""

    pbx_interface: str | None
    full_name: str
    skills: frozenset[str]

    @property
    def member(self) -> Member:
        return member_of(pbx_interface=self.pbx_interface, full_name=self.full_name)  # NoPhone without one


async def _agent(request: Request, current: CurrentUser) -> _Agent:
    def load() -> _Agent:
        with session_factory_of(request)() as session:
            user = session.get(User, current.id)
            assert user is not None
            skills = frozenset(s.skill_code for s in user.skills)
            return _Agent(user.pbx_interface, user.full_name, skills)

    return await asyncio.to_thread(load)


async def _member(request: Request, current: CurrentUser) -> Member:
    return (await _agent(request, current)).member


async def _audit(
    request: Request, current: CurrentUser, action: str, object_type: str, object_id: object, **detail: Any
) -> None:
    def write() -> None:
        with transaction(session_factory_of(request)) as session:
            audit.record(
                session,
                actor=current.actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                detail=detail,
            )

    await asyncio.to_thread(write)


async def _my_call(
    request: Request, service: AcdService, member: Member, current: CurrentUser, linkedid: str | None
) -> dict[str, Any]:
    """My talking call; another agent's ``linkedid`` is a refusal with an audit row."""
    try:
        return call_control.my_call(service.state.snapshot(), member, linkedid)
    except call_control.NotYourCall:
        error = await asyncio.to_thread(deny, request, current, "error.not_your_call", linkedid=linkedid)
        raise error from None


def _linkedid(body: CallRefIn | None, query: str | None) -> str | None:
    return (body.linkedid if body is not None else None) or query


async def pause_choices(request: Request, settings: Settings, language: str) -> pause_reasons.Choices:
    """The pause reasons of the table (the settings' while it is empty), read in a worker thread."""

    def load() -> pause_reasons.Choices:
        with session_factory_of(request)() as session:
            return pause_reasons.choices(session, defaults=settings.pause_reasons, language=language)

    return await asyncio.to_thread(load)


# --- session ------------------------------------------------------------------------------------------


@router.get("/session", response_model=SessionOut, summary="The agent's queues, state, call and options")
async def session_info(
    request: Request, current: DesktopUser, settings: AppSettings, language: Language
) -> SessionOut:
    service: AcdService | None = getattr(request.app.state, "acd", None)
    me, reasons = await asyncio.gather(_agent(request, current), pause_choices(request, settings, language))
    member = me.member
    snapshot = service.state.snapshot() if service is not None else {"agents": {}, "calls": {}, "queues": {}}
    agent = call_control.find_agent(snapshot["agents"], member)
    call = snapshot["calls"].get((agent or {}).get("call") or "")
    view = call_control.agent_view(agent, time.time())
    return SessionOut(
        pbx_connected=bool(service and service.link.connected),
        interface=member.interface,
        pause_reasons=reasons.codes,
        pause_reason_labels=reasons.labels,
        queues=sorted(snapshot["queues"]),
        allowed_queues=allowed_queues(snapshot["queues"], me.skills, settings.queue_skills),
        my_queues=sorted((agent or {}).get("queues", {})),
        state=(agent or {}).get("state"),
        agent=DesktopAgentOut(**view) if view is not None else None,
        call=DesktopCallOut(
            **cast(
                dict[str, Any],
                call_control.call_view(
                    call, unmasked=current.can(Permission.PHONES_UNMASKED), region=settings.phone_region
                ),
            )
        )
        if call is not None
        else None,
        transfer_departments=list(settings.transfer_departments),
        ring_target_seconds=3 * settings.ring_cycle_seconds,
        answer_in_browser=_softphone(request) is not None,
    )


@router.post("/queues/login", response_model=QueuesOut, summary="Log my phone in to queues (QueueAdd)")
async def queues_login(
    data: QueuesIn, request: Request, current: DesktopUser, settings: AppSettings
) -> QueuesOut:
    service = _acd(request)
    me = await _agent(request, current)
    allowed = allowed_queues(data.queues, me.skills, settings.queue_skills)
    for index, queue in enumerate(data.queues):
        if queue not in allowed:
            raise InvalidFields.one(
                ("queues", index),
                "validation.queue_needs_skill",
                queue=queue,
                skill=settings.queue_skills[queue],
            )
    member = me.member
    softphone = _softphone(request)
    if softphone is not None:
        # Demo: the person at this desktop answers the simulated phone, not the traffic model.
        await softphone.claim(member.interface, member.name)
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
    member = await _member(request, current)
    allowed = (await pause_choices(request, settings, "zh-CN")).codes
    await pause(service.link, member, data.reason, allowed)


@router.post("/unpause", status_code=204, summary="Back to available in every queue")
async def unpause_me(request: Request, current: DesktopUser) -> None:
    service = _acd(request)
    member = await _member(request, current)
    softphone = _softphone(request)
    if softphone is not None:  # going available at the desktop: the person answers from now on
        await softphone.claim(member.interface, member.name)
    await unpause(service.link, member)


# --- my call ------------------------------------------------------------------------------------------


@router.post("/answer", status_code=204, summary="Answer my ringing phone (demo: the simulated phone)")
async def answer_call(request: Request, current: DesktopUser) -> None:
    service = _acd(request)
    member = await _member(request, current)
    await call_control.answer(_softphone(request), service.state.snapshot(), member)


@router.post("/hangup", status_code=204, summary="Hang up my call (AMI Hangup of my leg)")
async def hangup_call(
    request: Request,
    current: DesktopUser,
    data: Annotated[CallRefIn | None, Body()] = None,
    linkedid: Annotated[str | None, Query(max_length=64)] = None,
) -> None:
    service = _acd(request)
    member = await _member(request, current)
    call = await _my_call(request, service, member, current, _linkedid(data, linkedid))
    await call_control.hangup(service.link, call)
    await _audit(request, current, "call.hangup", "call", call["linkedid"])


@router.post("/transfer", response_model=TransferOut, summary="Blind transfer of my caller (AMI Redirect)")
async def transfer_call(
    data: TransferIn,
    request: Request,
    current: DesktopUser,
    settings: AppSettings,
    linkedid: Annotated[str | None, Query(max_length=64)] = None,
) -> TransferOut:
    service = _acd(request)
    member = await _member(request, current)
    call = await _my_call(request, service, member, current, data.linkedid or linkedid)
    target = call_control.transfer_target(
        data.kind,
        data.target,
        queues=service.state.snapshot()["queues"],
        departments=settings.transfer_departments,
        queue_context=settings.queue_context,
        transfer_context=settings.transfer_context,
    )
    await call_control.transfer(service.link, service.translator, call, target)
    await _audit(
        request,
        current,
        "call.transfer",
        "call",
        call["linkedid"],
        kind=data.kind.value,
        target=data.target,
        context=target.context,
        exten=target.exten,
    )
    return TransferOut(
        linkedid=call["linkedid"],
        kind=data.kind,
        target=data.target,
        context=target.context,
        exten=target.exten,
    )


@router.post("/recording", status_code=204, summary="Pause or resume my call's recording (MixMonitorMute)")
async def mute_recording(
    data: RecordingIn,
    request: Request,
    current: DesktopUser,
    linkedid: Annotated[str | None, Query(max_length=64)] = None,
) -> None:
    service = _acd(request)
    member = await _member(request, current)
    call = await _my_call(request, service, member, current, data.linkedid or linkedid)
    await call_control.set_recording_muted(service.link, call, data.muted)
    await _audit(request, current, "call.recording", "call", call["linkedid"], muted=data.muted)


# --- click-to-dial ------------------------------------------------------------------------------------


class _Windows:
    """One window dressed as a customer, to ask the customers domain's rule about that window alone."""

    def __init__(self, window: ContactWindow) -> None:
        self.contact_windows = [window]


def _window_now(customer: Customer, at: datetime, settings: Settings) -> ContactWindow | None:
    """The 不宜访问时间 window ``at`` falls in (the customers domain's rule), to name it to the agent."""
    if not customers.is_unsuitable_time(customer, at, settings.zone):
        return None
    for window in customer.contact_windows:
        if customers.is_unsuitable_time(cast(Customer, _Windows(window)), at, settings.zone):
            return window
    return None


def _pick_number(customer: Customer, number: str | None, region: str) -> str:
    """The customer's number to dial: the primary (else first) one, or the one the agent chose, given in
    full or as shown to it masked. Only the customer's own numbers: a dial is audited against this file."""
    phones = sorted(customer.phones, key=lambda p: (not p.is_primary, p.id))
    if not phones:
        raise InvalidFields.one("number", "validation.customer_has_no_phone")
    if number is None:
        return phones[0].number
    for p in phones:
        if number == phones_.mask(p.number, region):
            return p.number
    e164 = phones_.normalise_field(number, region, "number")
    if e164 not in {p.number for p in phones}:
        raise InvalidFields.one("number", "validation.not_customer_phone", value=number)
    return e164


@router.post("/dial", response_model=DialOut, summary="Click-to-dial a customer (my phone rings first)")
async def dial_customer(
    data: DialIn, request: Request, current: DesktopUser, settings: AppSettings
) -> DialOut:
    service = _acd(request)
    region = settings.phone_region

    def prepare() -> tuple[Member, str, str, bool]:
        with transaction(session_factory_of(request)) as session:
            user = session.get(User, current.id)
            assert user is not None
            member = member_of(pbx_interface=user.pbx_interface, full_name=user.full_name)
            if not current.can(Permission.CUSTOMERS_READ):
                raise deny(
                    request, current, "error.permission_denied", permission=Permission.CUSTOMERS_READ.value
                )
            customer = readable_customer(request, session, current, data.customer_id)
            e164 = _pick_number(customer, data.number, region)
            window = _window_now(customer, utcnow(), settings)
            if window is not None and not data.confirm_quiet_hours:
                span = f"{window.start:%H:%M}–{window.end:%H:%M}"
                raise QuietHours(window=f"{span} {window.note}" if window.note else span)
            customers.record_read(session, customer=customer, actor=current.actor, via="dial")
            return member, e164, customer.name, window is not None

    member, e164, name, quiet = await asyncio.to_thread(prepare)
    shown = customers.show_phone(e164, unmasked=current.can(Permission.PHONES_UNMASKED), region=region)
    detail: dict[str, Any] = {"number": phones_.mask(e164, region), "quiet_hours_confirmed": quiet}
    try:
        result = await call_control.dial(
            service.link,
            member=member,
            number=call_control.dial_string(e164, region),
            context=settings.outbound_context,
            customer_name=name,
        )
    except DomainError as exc:
        await _audit(request, current, "call.dial", "customer", data.customer_id, outcome=exc.code, **detail)
        raise
    await _audit(
        request,
        current,
        "call.dial",
        "customer",
        data.customer_id,
        outcome=result.outcome.value,
        uniqueid=result.uniqueid,
        **detail,
    )
    return DialOut(
        outcome=result.outcome, channel=result.channel, uniqueid=result.uniqueid, number_display=shown
    )
