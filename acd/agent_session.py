"""An agent's own session with the PBX: log the phone in to queues, pause with a reason, resume, log out.

Each is a PBX command; the desktop shows the state the PBX then reports (events → live state), not what
was clicked. PBX failures become errors a person can act on (``PbxUnavailable``, ``PbxRefused``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from acd import commands
from acd.ami.link import AmiLink, PbxActionError, PbxError
from core.errors import Conflict, DomainError, InvalidFields

T = TypeVar("T")


class PbxUnavailable(DomainError):
    status = 503
    code = "error.pbx_unavailable"


class PbxRefused(Conflict):
    code = "error.pbx_refused"


class NoPhone(Conflict):
    code = "error.no_phone"


@dataclass(frozen=True)
class Member:
    """How the PBX knows an agent: the phone's interface and the name app_queue reports."""

    interface: str
    name: str


def member_of(*, pbx_interface: str | None, full_name: str) -> Member:
    if not pbx_interface:
        raise NoPhone()
    return Member(interface=pbx_interface, name=full_name)


async def pbx(call: Awaitable[T]) -> T:
    """Await a PBX command; its failures as errors a person can act on (409 refused, 503 unreachable)."""
    try:
        return await call
    except PbxActionError as exc:
        raise PbxRefused(message=exc.message) from exc
    except PbxError as exc:  # not connected, timed out, connection lost
        raise PbxUnavailable() from exc


async def log_in(link: AmiLink, member: Member, queues: list[str]) -> list[str]:
    """QueueAdd into every queue; returns the PBX's message per queue."""
    messages = []
    for queue in queues:
        result = await pbx(
            commands.agent_login(
                link,
                queue=queue,
                interface=member.interface,
                member_name=member.name,
                state_interface=member.interface,
            )
        )
        messages.append(result.message or "")
    return messages


async def log_out(link: AmiLink, member: Member, queues: list[str]) -> None:
    for queue in queues:
        await pbx(commands.agent_logout(link, queue=queue, interface=member.interface))


async def pause(link: AmiLink, member: Member, reason: str, allowed: list[str]) -> None:
    if reason not in allowed:
        raise InvalidFields.one("reason", "validation.unknown_pause_reason", expected=", ".join(allowed))
    await pbx(commands.pause(link, interface=member.interface, reason=reason))


async def unpause(link: AmiLink, member: Member) -> None:
    await pbx(commands.unpause(link, interface=member.interface))
