"""Typed PBX commands over an ``AmiLink``: agent login/logout to queues, pause, penalty, agent-first
outbound calls, blind transfer, hangup, supervisor listen/whisper/barge, recording control and channel
variables.

Each command sends the action with the fields seen in the real captures
(``../shared/fixtures/asterisk/actions/ami.sent.txt``) and returns a small result dataclass, or raises
``PbxActionError`` carrying the PBX's own message (``Interface not found``, ``Channel does not exist: …``,
``Permission denied``), ``PbxTimeout`` when the PBX does not answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from acd.ami.frames import Frame
from acd.ami.link import (
    AmiLink,
    PbxActionError,
    PbxAuthenticationFailed,
    PbxConnectionLost,
    PbxError,
    PbxNotConnected,
    PbxTimeout,
)

__all__ = [
    "ActionResult",
    "OriginateOutcome",
    "OriginateResult",
    "PbxActionError",
    "PbxAuthenticationFailed",
    "PbxConnectionLost",
    "PbxError",
    "PbxNotConnected",
    "PbxTimeout",
    "SpyMode",
    "VariableValue",
    "agent_login",
    "agent_logout",
    "blind_transfer",
    "core_command",
    "get_variable",
    "hangup",
    "originate_outbound",
    "pause",
    "recording_mute",
    "recording_start",
    "recording_stop",
    "set_penalty",
    "set_variable",
    "spy",
    "unpause",
]

# Seconds to wait for OriginateResponse beyond the ring timeout: the PBX sends it only when the
# originated leg is answered or given up.
ORIGINATE_GRACE = 10.0


@dataclass(frozen=True)
class ActionResult:
    action: str
    message: str | None  # the PBX's Message (e.g. "Added interface to queue"); some actions send none


@dataclass(frozen=True)
class VariableValue:
    variable: str
    value: str  # an unset variable reads as "" (Asterisk sends ``Value: `` empty)


class OriginateOutcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"


# OriginateResponse.Reason (Asterisk's AST_CONTROL_* of the outgoing leg). A customer answering 486
# Busy Here came back as Reason 0 in the captures (not 5), so 0 counts as busy.
REASONS = {
    "4": OriginateOutcome.ANSWERED,
    "0": OriginateOutcome.BUSY,
    "5": OriginateOutcome.BUSY,
    "3": OriginateOutcome.NO_ANSWER,
    "8": OriginateOutcome.CONGESTION,
}


@dataclass(frozen=True)
class OriginateResult:
    outcome: OriginateOutcome
    reason: int | None
    channel: str | None
    uniqueid: str | None  # None when the PBX sent ``<unknown>`` (the leg never came up)
    action_id: str | None


class SpyMode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


SPY_OPTIONS = {SpyMode.LISTEN: "q", SpyMode.WHISPER: "qw", SpyMode.BARGE: "qB"}


def _result(frame: Frame) -> ActionResult:
    return ActionResult(action=frame.get("ActionID", ""), message=frame.get("Message"))


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- agents in queues ----------------------------------------------------------------------------


async def agent_login(
    link: AmiLink,
    *,
    queue: str,
    interface: str,
    member_name: str | None = None,
    state_interface: str | None = None,
    penalty: int = 0,
    paused: bool = False,
) -> ActionResult:
    """``QueueAdd``: the agent becomes a dynamic member of ``queue``."""
    fields = [("Action", "QueueAdd"), ("Queue", queue), ("Interface", interface)]
    if member_name is not None:
        fields.append(("MemberName", member_name))
    fields.append(("StateInterface", state_interface or interface))
    fields += [("Penalty", str(penalty)), ("Paused", _bool(paused))]
    return _result(await link.action(fields))


async def agent_logout(link: AmiLink, *, queue: str, interface: str) -> ActionResult:
    """``QueueRemove``."""
    fields = [("Action", "QueueRemove"), ("Queue", queue), ("Interface", interface)]
    return _result(await link.action(fields))


async def pause(
    link: AmiLink,
    *,
    interface: str,
    reason: str | None = None,
    queue: str | None = None,
) -> ActionResult:
    """``QueuePause`` with ``Paused: true``; without ``queue`` in every queue the member is in."""
    return await _queue_pause(link, interface, True, reason, queue)


async def unpause(link: AmiLink, *, interface: str, queue: str | None = None) -> ActionResult:
    return await _queue_pause(link, interface, False, None, queue)


async def _queue_pause(
    link: AmiLink, interface: str, paused: bool, reason: str | None, queue: str | None
) -> ActionResult:
    fields = [("Action", "QueuePause")]
    if queue is not None:
        fields.append(("Queue", queue))
    fields += [("Interface", interface), ("Paused", _bool(paused))]
    if reason is not None:
        fields.append(("Reason", reason))
    return _result(await link.action(fields))


async def set_penalty(
    link: AmiLink, *, interface: str, penalty: int, queue: str | None = None
) -> ActionResult:
    """``QueuePenalty``; without ``queue`` in every queue the member is in."""
    fields = [("Action", "QueuePenalty"), ("Interface", interface), ("Penalty", str(penalty))]
    if queue is not None:
        fields.append(("Queue", queue))
    return _result(await link.action(fields))


# --- calls -----------------------------------------------------------------------------------------


def _originate_result(response: Frame) -> OriginateResult:
    reason = response.get("Reason")
    if response.get("Response") == "Success":
        outcome = OriginateOutcome.ANSWERED
    else:
        outcome = REASONS.get(reason or "", OriginateOutcome.FAILED)
        if outcome is OriginateOutcome.ANSWERED:  # Failure with Reason 4 should not happen; be safe
            outcome = OriginateOutcome.FAILED
    uniqueid = response.get("Uniqueid")
    return OriginateResult(
        outcome=outcome,
        reason=int(reason) if reason and reason.isdigit() else None,
        channel=response.get("Channel"),
        uniqueid=None if uniqueid in (None, "", "<unknown>") else uniqueid,
        action_id=response.get("ActionID"),
    )


async def _originate(link: AmiLink, fields: list[tuple[str, str]], ring_timeout: float) -> OriginateResult:
    _, followup = await link.action_with_event(
        fields, "OriginateResponse", event_timeout=ring_timeout + ORIGINATE_GRACE
    )
    return _originate_result(followup)


def _caller_id(name: str | None, number: str | None) -> str | None:
    if number is None:
        return None
    return f'"{name}" <{number}>' if name else f"<{number}>"


async def originate_outbound(
    link: AmiLink,
    *,
    agent_interface: str,
    number: str,
    context: str,
    caller_id_name: str | None = None,
    caller_id_number: str | None = None,
    ring_timeout: float = 20.0,
    variables: Mapping[str, str] | None = None,
    priority: int = 1,
) -> OriginateResult:
    """Agent-first outbound call: ring the agent's phone; once answered the dialplan ``context``
    dials ``number``. Waits for ``OriginateResponse`` (answered / busy / no_answer / …)."""
    fields = [
        ("Action", "Originate"),
        ("Channel", agent_interface),
        ("Context", context),
        ("Exten", number),
        ("Priority", str(priority)),
    ]
    caller_id = _caller_id(caller_id_name, caller_id_number)
    if caller_id is not None:
        fields.append(("CallerID", caller_id))
    fields += [("Async", "true"), ("Timeout", str(int(ring_timeout * 1000)))]
    fields += [("Variable", f"{k}={v}") for k, v in (variables or {}).items()]
    return await _originate(link, fields, ring_timeout)


async def spy(
    link: AmiLink,
    *,
    supervisor_interface: str,
    target: str,
    mode: SpyMode,
    caller_id_name: str | None = "Supervisor",
    caller_id_number: str | None = None,
    ring_timeout: float = 15.0,
    dialplan_context: str | None = None,
) -> OriginateResult:
    """Listen / whisper / barge: ring the supervisor's phone and connect it to ``ChanSpy`` on
    ``target`` (an agent channel, or an interface such as ``PJSIP/1002`` which ChanSpy matches as a
    prefix). By default ``Application: ChanSpy`` with ``Data: <target>,q`` / ``,qw`` / ``,qB``. With
    ``dialplan_context`` it goes through the dialplan instead, as the lab did: ``Exten`` = the mode
    (``listen``/``whisper``/``barge``) and ``Variable: SPYTARGET=<target>``."""
    fields = [("Action", "Originate"), ("Channel", supervisor_interface)]
    if dialplan_context is None:
        fields += [("Application", "ChanSpy"), ("Data", f"{target},{SPY_OPTIONS[mode]}")]
    else:
        fields += [("Context", dialplan_context), ("Exten", mode.value), ("Priority", "1")]
    caller_id = _caller_id(caller_id_name, caller_id_number or _extension_of(supervisor_interface))
    if caller_id is not None:
        fields.append(("CallerID", caller_id))
    if dialplan_context is not None:
        fields.append(("Variable", f"SPYTARGET={target}"))
    fields += [("Async", "true"), ("Timeout", str(int(ring_timeout * 1000)))]
    return await _originate(link, fields, ring_timeout)


def _extension_of(interface: str) -> str | None:
    _, _, rest = interface.partition("/")
    return rest or None


async def blind_transfer(
    link: AmiLink, *, channel: str, exten: str, context: str, priority: int = 1
) -> ActionResult:
    """``Redirect`` of ``channel`` to ``exten@context`` (the other leg is hung up by the PBX)."""
    fields = [
        ("Action", "Redirect"),
        ("Channel", channel),
        ("Context", context),
        ("Exten", exten),
        ("Priority", str(priority)),
    ]
    return _result(await link.action(fields))


async def hangup(link: AmiLink, *, channel: str, cause: int | None = 16) -> ActionResult:
    """``Hangup`` (cause 16 = normal clearing)."""
    fields = [("Action", "Hangup"), ("Channel", channel)]
    if cause is not None:
        fields.append(("Cause", str(cause)))
    return _result(await link.action(fields))


# --- recordings ------------------------------------------------------------------------------------


async def recording_start(
    link: AmiLink, *, channel: str, file: str, options: str | None = "b"
) -> ActionResult:
    """``MixMonitor`` (option ``b``: record only while bridged)."""
    fields = [("Action", "MixMonitor"), ("Channel", channel), ("File", file)]
    if options:
        fields.append(("Options", options))
    return _result(await link.action(fields))


async def recording_mute(
    link: AmiLink, *, channel: str, muted: bool = True, direction: str = "both"
) -> ActionResult:
    """``MixMonitorMute`` both directions (e.g. while a card number is read out), or unmute."""
    fields = [
        ("Action", "MixMonitorMute"),
        ("Channel", channel),
        ("Direction", direction),
        ("State", "1" if muted else "0"),
    ]
    return _result(await link.action(fields))


async def recording_stop(link: AmiLink, *, channel: str) -> ActionResult:
    fields = [("Action", "StopMixMonitor"), ("Channel", channel)]
    return _result(await link.action(fields))


# --- channel variables, CLI --------------------------------------------------------------------------


async def set_variable(link: AmiLink, *, channel: str, variable: str, value: str) -> ActionResult:
    fields = [("Action", "Setvar"), ("Channel", channel), ("Variable", variable), ("Value", value)]
    return _result(await link.action(fields))


async def get_variable(link: AmiLink, *, channel: str, variable: str) -> VariableValue:
    """``Getvar``; dialplan functions work too (``CALLERID(num)``)."""
    fields = [("Action", "Getvar"), ("Channel", channel), ("Variable", variable)]
    frame = await link.action(fields)
    return VariableValue(variable=frame.get("Variable", variable), value=frame.get("Value", ""))


async def core_command(link: AmiLink, command: str) -> list[str]:
    """``Command``: a CLI command; returns the ``Output:`` lines."""
    frame = await link.action([("Action", "Command"), ("Command", command)])
    return frame.values_of("Output")
