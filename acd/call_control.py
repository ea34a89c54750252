"""Call control behind the agent desktop and the supervisor console: which live call is an agent's own,
answer, hang up, blind transfer (to a queue, an extension or a department), recording mute, click-to-dial,
and the supervisor's listen / whisper / barge and moves between queues.

These functions work on the live state (``acd.state`` records, read from a snapshot) and send PBX commands
(``acd.commands``) through the link; they touch no database (the views do that, in worker threads). The
result of a command shows up later as PBX events in the live state, never from here.

Rules that live here:

* An agent acts only on its own call: the one whose ``agent`` is the agent's live record. A ``linkedid``
  naming any other call raises ``NotYourCall`` (the view audits the refusal), whether or not it exists.
* A transfer is an AMI ``Redirect`` of the caller's channel (as in ``actions/``, lab-029). The translator is
  told first, so that the leg's ``AgentComplete`` (Reason ``caller``) is recorded as ``CallTransferred``
  with the target (``acd.translate.Translator.note_redirect``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from acd import commands
from acd.agent_session import Member, pbx
from acd.ami.link import AmiLink
from acd.state import TALKING, effective_agent_state
from core import phone as phones_
from core.errors import Conflict, InvalidFields, PermissionDenied

__all__ = [
    "AgentNotLoggedIn",
    "AgentNotOnCall",
    "AnswerOnPhone",
    "NoActiveCall",
    "NoRingingCall",
    "NotRecording",
    "NotYourCall",
    "QuietHours",
    "TransferKind",
    "TransferTarget",
    "agent_view",
    "answer",
    "call_view",
    "dial",
    "dial_string",
    "find_agent",
    "hangup",
    "move",
    "my_call",
    "set_recording_muted",
    "spy",
    "transfer",
    "transfer_target",
]

# What an extension typed by an agent may contain: digits and the keypad's * and # (nothing a dialplan
# would read as a pattern or a second argument).
_EXTENSION = re.compile(r"^[0-9*#]{1,32}$")


class NotYourCall(PermissionDenied):
    code = "error.not_your_call"


class NoActiveCall(Conflict):
    code = "error.no_active_call"


class NoRingingCall(Conflict):
    code = "error.no_ringing_call"


class AnswerOnPhone(Conflict):
    code = "error.answer_on_phone"


class NotRecording(Conflict):
    code = "error.not_recording"


class AgentNotOnCall(Conflict):
    code = "error.agent_not_on_call"


class AgentNotLoggedIn(Conflict):
    code = "error.agent_not_logged_in"


class QuietHours(Conflict):
    code = "error.quiet_hours"


class TransferKind(StrEnum):
    QUEUE = "queue"
    EXTENSION = "extension"
    DEPARTMENT = "department"


@dataclass(frozen=True)
class TransferTarget:
    context: str
    exten: str


class Translating(Protocol):
    """The part of ``acd.translate.Translator`` a transfer needs."""

    def note_redirect(self, uniqueid: str, exten: str, context: str) -> None: ...

    def forget_redirect(self, uniqueid: str) -> None: ...


class Answering(Protocol):
    async def answer(self, interface: str) -> bool: ...


# --- whose call is it -----------------------------------------------------------------------------


def find_agent(agents: Mapping[str, Mapping[str, Any]], member: Member) -> dict[str, Any] | None:
    """The live agent record of ``member``: the one on its phone, else the one with its name (as the
    websocket scopes match them). A phone that is also a static member under another name (queues.conf)
    has two records: the one with the user's own name wins."""
    by_phone = by_name = None
    for agent in agents.values():
        on_phone = agent.get("interface") == member.interface
        if on_phone and agent.get("name") == member.name:
            return dict(agent)
        if on_phone and by_phone is None:
            by_phone = agent
        elif by_name is None and agent.get("name") == member.name:
            by_name = agent
    found = by_phone if by_phone is not None else by_name
    return dict(found) if found is not None else None


def my_call(snapshot: Mapping[str, Any], member: Member, linkedid: str | None = None) -> dict[str, Any]:
    """The call the agent is talking on. ``linkedid`` (optional, from the client) must name that very
    call: anything else is ``NotYourCall``. No call at all: ``NoActiveCall``."""
    agent = find_agent(snapshot["agents"], member)
    calls: Mapping[str, Mapping[str, Any]] = snapshot["calls"]
    if linkedid is not None:
        call = calls.get(linkedid)
        if call is None or agent is None or call.get("agent") != agent["name"] or call["state"] != TALKING:
            raise NotYourCall(linkedid=linkedid)
        return dict(call)
    if agent is not None:
        current = calls.get(agent.get("call") or "")
        if current is not None and current.get("agent") == agent["name"] and current["state"] == TALKING:
            return dict(current)
    raise NoActiveCall()


def agent_view(agent: Mapping[str, Any] | None, now: float) -> dict[str, Any] | None:
    """The desktop's own agent record: state at ``now`` (a finished wrap-up reads as available)."""
    if agent is None:
        return None
    state, since = effective_agent_state(agent, now)
    return {
        "state": state,
        "since": since,
        "reason": agent.get("reason"),
        "wrapup_until": agent.get("wrapup_until") if state == "wrap_up" else None,
        "call": agent.get("call"),
    }


def call_view(call: Mapping[str, Any] | None, *, unmasked: bool, region: str) -> dict[str, Any] | None:
    """The desktop's current call, its number shown as this reader may see it."""
    if call is None:
        return None
    return {
        "linkedid": call["linkedid"],
        "uniqueid": call["uniqueid"],
        "queue": call.get("queue"),
        "state": call["state"],
        "caller_number": phones_.for_reader(call.get("caller_number"), unmasked=unmasked, region=region),
        "joined": call.get("joined"),
        "since": call.get("since"),
        "recording": bool(call.get("recording")),
        "muted": bool(call.get("muted")),
    }


# --- the agent's own call -------------------------------------------------------------------------


async def answer(softphone: Answering | None, snapshot: Mapping[str, Any], member: Member) -> None:
    """Pick up the agent's ringing phone (demo: the simulated phone)."""
    if softphone is None:
        raise AnswerOnPhone()
    agent = find_agent(snapshot["agents"], member)
    ringing = agent is not None and any(
        agent["name"] in (call.get("ringing") or ()) for call in snapshot["calls"].values()
    )
    if not ringing or not await softphone.answer(member.interface):
        raise NoRingingCall()


async def hangup(link: AmiLink, call: Mapping[str, Any]) -> None:
    """AMI ``Hangup`` of the agent's leg: app_queue ends the call as Reason ``agent``."""
    channel = call.get("agent_channel")
    if not channel:
        raise NoActiveCall()
    await pbx(commands.hangup(link, channel=channel))


def transfer_target(
    kind: TransferKind,
    target: str,
    *,
    queues: Collection[str],
    departments: Mapping[str, str],
    queue_context: str,
    transfer_context: str,
) -> TransferTarget:
    """Where a blind transfer sends the caller; an unknown queue/department or a malformed extension is a
    field error on ``target``."""
    if kind is TransferKind.QUEUE:
        if target not in queues:
            raise InvalidFields.one("target", "validation.unknown_queue", value=target)
        return TransferTarget(queue_context, target)
    if kind is TransferKind.DEPARTMENT:
        exten = departments.get(target)
        if exten is None:
            expected = "、".join(departments) or "-"
            raise InvalidFields.one(
                "target", "validation.unknown_department", value=target, expected=expected
            )
        return TransferTarget(transfer_context, exten)
    if not _EXTENSION.match(target):
        raise InvalidFields.one("target", "validation.bad_extension", value=target)
    return TransferTarget(transfer_context, target)


async def transfer(
    link: AmiLink, translator: Translating, call: Mapping[str, Any], target: TransferTarget
) -> None:
    """Blind transfer: ``Redirect`` of the caller's channel to ``target`` (the PBX hangs up the agent leg)."""
    channel = call.get("channel")
    if not channel:
        raise NoActiveCall()
    uniqueid: str = call["uniqueid"]
    translator.note_redirect(uniqueid, target.exten, target.context)
    try:
        await pbx(commands.blind_transfer(link, channel=channel, exten=target.exten, context=target.context))
    except Exception:
        translator.forget_redirect(uniqueid)
        raise


async def set_recording_muted(link: AmiLink, call: Mapping[str, Any], muted: bool) -> None:
    """``MixMonitorMute`` of the call's recording (the queue records the caller's channel), e.g. while a
    card number is read out; the ``RecordingMuted`` event then shows it in the live state."""
    channel = call.get("channel")
    if not call.get("recording") or not channel:
        raise NotRecording()
    await pbx(commands.recording_mute(link, channel=channel, muted=muted))


# --- outbound --------------------------------------------------------------------------------------


def dial_string(e164: str, region: str) -> str:
    """What the outbound dialplan is given: the national digits for the center's own region (a trunk
    dials them as they are), else the international prefix 00 and the full number."""
    national = phones_.display(e164, region)
    if not national.startswith("+"):
        return "".join(ch for ch in national if ch.isdigit())
    return "00" + e164.lstrip("+")


async def dial(
    link: AmiLink, *, member: Member, number: str, context: str, customer_name: str | None
) -> commands.OriginateResult:
    """Agent-first outbound call: the agent's phone rings first; once picked up the dialplan dials the
    customer. Waits for the PBX's ``OriginateResponse``."""
    return await pbx(
        commands.originate_outbound(
            link,
            agent_interface=member.interface,
            number=number,
            context=context,
            caller_id_name=customer_name,
            caller_id_number=number,
        )
    )


# --- supervisors -------------------------------------------------------------------------------------


async def spy(
    link: AmiLink,
    snapshot: Mapping[str, Any],
    *,
    supervisor_interface: str,
    agent: Member,
    mode: commands.SpyMode,
    supervisor_name: str,
) -> commands.OriginateResult:
    """Listen / whisper / barge: ChanSpy from the supervisor's phone onto the agent's interface (ChanSpy
    matches its channels by prefix). Only while the agent is on a call."""
    record = find_agent(snapshot["agents"], agent)
    calls: Mapping[str, Mapping[str, Any]] = snapshot["calls"]
    on_call = record is not None and any(
        call.get("agent") == record["name"] and call["state"] == TALKING for call in calls.values()
    )
    if not on_call:
        raise AgentNotOnCall()
    return await pbx(
        commands.spy(
            link,
            supervisor_interface=supervisor_interface,
            target=agent.interface,
            mode=mode,
            caller_id_name=supervisor_name,
        )
    )


async def move(
    link: AmiLink, snapshot: Mapping[str, Any], *, agent: Member, from_queue: str, to_queue: str
) -> None:
    """Move an agent from one queue to another, keeping its penalty and pause. QueueAdd first: if the PBX
    refuses it, the agent is still where it was."""
    record = find_agent(snapshot["agents"], agent)
    memberships: Mapping[str, Mapping[str, Any]] = (record or {}).get("queues") or {}
    if from_queue not in memberships:
        raise InvalidFields.one("from_queue", "validation.agent_not_in_queue", value=from_queue)
    if to_queue not in snapshot["queues"]:
        raise InvalidFields.one("to_queue", "validation.unknown_queue", value=to_queue)
    if to_queue in memberships:
        raise InvalidFields.one("to_queue", "validation.agent_already_in_queue", value=to_queue)
    old = memberships[from_queue]
    await pbx(
        commands.agent_login(
            link,
            queue=to_queue,
            interface=agent.interface,
            member_name=agent.name,
            state_interface=agent.interface,
            penalty=int(old.get("penalty") or 0),
            paused=bool(old.get("paused")),
        )
    )
    await pbx(commands.agent_logout(link, queue=from_queue, interface=agent.interface))


def queues_of(snapshot: Mapping[str, Any], agent: Member) -> list[str]:
    """The queues the PBX says the agent is in."""
    record = find_agent(snapshot["agents"], agent)
    return sorted((record or {}).get("queues") or {})
