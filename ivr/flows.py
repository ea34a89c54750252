"""Flows as data: the JSON shape of a flow definition, and its validator.

A flow is ``{"start": step id, "prompt_dir": "custom", "answer": true, "steps": {id: step}}``; each step
has a ``kind``: ``menu``, ``input``, ``lookup``, ``hours``, ``say``, ``route``, ``transfer_to_agent``,
``hangup``, ``callback`` (leave a call-back request), ``survey`` (the post-call 1–5 question).
``route``, ``transfer_to_agent`` and ``hangup`` end the IVR. A ``route`` / ``transfer_to_agent`` step may
carry a ``wait_offer``: over ``wait_over_s`` of estimated wait the caller hears the estimate and may press a
key to keep their place and be called back instead of waiting. A menu option may carry a ``caption`` (a
key of ``ivr.choice.*`` in the catalogs, or plain text) that the agent's screen pop shows next to the digit.

:func:`validate_flow` checks the shape (pydantic) and the graph (every reference exists, no step is
unreachable, every step can reach an end, every prompt exists in every language, menu digits are unique,
retries ≥ 1) and reports every problem with its field path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.complaints.workflow import ComplaintStatus
from core.errors import FieldProblem, InvalidFields
from core.i18n import LANGUAGES

LOCALES = Path(__file__).parent / "locales"
PROMPT_KEY = "ivr.prompt."
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

StepId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
PromptName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]


class StepKind(StrEnum):
    MENU = "menu"
    INPUT = "input"
    LOOKUP = "lookup"
    HOURS = "hours"
    SAY = "say"
    ROUTE = "route"
    TRANSFER_TO_AGENT = "transfer_to_agent"
    HANGUP = "hangup"
    CALLBACK = "callback"
    SURVEY = "survey"


class InputCheck(StrEnum):
    DIGITS = "digits"  # only the length rules
    LUHN = "luhn"  # the last digit is a Luhn check digit (customer ids given over the phone)
    CASE_NUMBER = "case_number"  # complaint case number typed as YYYYMMDDNNNN


class LookupTarget(StrEnum):
    CUSTOMER_BY_CALLER = "customer_by_caller"
    CUSTOMER_BY_ID = "customer_by_id"
    COMPLAINT_STATUS = "complaint_status"


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MenuOption(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digit: str = Field(pattern=r"^[0-9*#]$")
    next: StepId
    caption: str | None = Field(default=None, min_length=1, max_length=64)  # shown in the screen pop


class MenuStep(_Step):
    kind: Literal["menu"]
    prompt: PromptName
    options: list[MenuOption] = Field(min_length=1)
    timeout_ms: int = Field(default=5000, ge=500, le=60000)
    retries: int = 2  # the caller gets 1 + retries tries; checked ≥ 1 by the validator
    invalid_prompt: PromptName | None = None
    on_fail: StepId
    variable: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")  # e.g. IVR_CHOICE


class InputStep(_Step):
    kind: Literal["input"]
    prompt: PromptName
    min_digits: int = Field(default=1, ge=1, le=32)
    max_digits: int = Field(default=6, ge=1, le=32)
    timeout_ms: int = Field(default=6000, ge=500, le=60000)
    check: InputCheck = InputCheck.DIGITS
    retries: int = 2
    invalid_prompt: PromptName | None = None
    next: StepId
    on_fail: StepId


class LookupStep(_Step):
    kind: Literal["lookup"]
    target: LookupTarget
    source: StepId | None = None  # the input step whose digits are looked up (not for the caller number)
    found: StepId
    missing: StepId


class HoursStep(_Step):
    kind: Literal["hours"]
    # wall-clock opening hours of the center's zone per weekday: {"mon": [["08:00", "20:00"]], …}
    weekly: dict[str, list[tuple[time, time]]]
    holidays: list[date] = []
    open: StepId
    closed: StepId
    callback_when_closed: bool = True  # leave a call-back request for callers out of hours


class SayStep(_Step):
    kind: Literal["say"]
    prompt: PromptName
    next: StepId


class WaitOffer(BaseModel):
    """Before the caller joins the queue: over ``wait_over_s`` of estimated wait (see
    :func:`ivr.service.estimate_wait`) they hear ``estimate_prompt``, the minutes (SAY NUMBER),
    ``minutes_prompt``, then ``offer_prompt``; ``offer_key`` leaves a call-back request (reason
    ``wait_offer``) that keeps their place, anything else (or nothing) and they join the queue."""

    model_config = ConfigDict(extra="forbid")
    wait_over_s: int = Field(default=120, ge=0, le=86400)
    offer_key: str = Field(default="1", pattern=r"^[0-9*#]$")
    estimate_prompt: PromptName = "wait-estimate"
    minutes_prompt: PromptName = "wait-minutes"
    offer_prompt: PromptName = "wait-offer"
    confirmed_prompt: PromptName = "callback-confirmed"
    timeout_ms: int = Field(default=5000, ge=500, le=60000)


class RouteStep(_Step):
    kind: Literal["route"]
    queue: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)
    prompt: PromptName | None = None
    wait_offer: WaitOffer | None = None


class TransferToAgentStep(_Step):
    kind: Literal["transfer_to_agent"]
    queue: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)
    prompt: PromptName | None = None
    wait_offer: WaitOffer | None = None


class HangupStep(_Step):
    kind: Literal["hangup"]
    prompt: PromptName | None = None


class CallbackStep(_Step):
    """Leave a call-back request for the caller (queue: the IVR_QUEUE the call waited in)."""

    kind: Literal["callback"]
    reason: Literal["out_of_hours", "long_wait"] = "long_wait"
    next: StepId


class SurveyStep(_Step):
    """The post-call question: one key 1–5, stored with the agent (MEMBERINTERFACE) and the queue."""

    kind: Literal["survey"]
    prompt: PromptName
    timeout_ms: int = Field(default=5000, ge=500, le=60000)
    retries: int = 1
    invalid_prompt: PromptName | None = None
    next: StepId
    on_fail: StepId


Step = Annotated[
    MenuStep
    | InputStep
    | LookupStep
    | HoursStep
    | SayStep
    | RouteStep
    | TransferToAgentStep
    | HangupStep
    | CallbackStep
    | SurveyStep,
    Field(discriminator="kind"),
]
TERMINAL_KINDS = frozenset({StepKind.ROUTE, StepKind.TRANSFER_TO_AGENT, StepKind.HANGUP})


class FlowDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: StepId
    prompt_dir: str = Field(default="custom", pattern=r"^[A-Za-z0-9_/-]*$")
    answer: bool = True
    max_steps: int = Field(default=60, ge=5, le=1000)  # a guard against loops the caller never leaves
    steps: dict[StepId, Step] = Field(min_length=1)


# --- prompts --------------------------------------------------------------------------------------


@lru_cache(maxsize=len(LANGUAGES))
def prompt_texts(language: str) -> dict[str, str]:
    """Prompt name → the text spoken in ``language`` (what the prompt generator feeds to TTS)."""
    out: dict[str, str] = {}
    for file in sorted((LOCALES / language).glob("*.json")):
        for key, text in json.loads(file.read_text(encoding="utf-8")).items():
            if key.startswith(PROMPT_KEY):
                out[key.removeprefix(PROMPT_KEY)] = text
    return out


def complaint_status_prompt(status: str) -> str:
    """The prompt telling a caller their complaint's status."""
    return f"complaint-{status.replace('_', '-')}"


def _targets(step: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(field path inside the step, step id) for every reference a step makes."""
    if isinstance(step, MenuStep):
        for index, option in enumerate(step.options):
            yield ("options", index, "next"), option.next
        yield ("on_fail",), step.on_fail
    elif isinstance(step, InputStep):
        yield ("next",), step.next
        yield ("on_fail",), step.on_fail
    elif isinstance(step, LookupStep):
        yield ("found",), step.found
        yield ("missing",), step.missing
    elif isinstance(step, HoursStep):
        yield ("open",), step.open
        yield ("closed",), step.closed
    elif isinstance(step, SayStep | CallbackStep):
        yield ("next",), step.next
    elif isinstance(step, SurveyStep):
        yield ("next",), step.next
        yield ("on_fail",), step.on_fail


WAIT_OFFER_PROMPTS = ("estimate_prompt", "minutes_prompt", "offer_prompt", "confirmed_prompt")


def step_prompts(step: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """(field path inside the step, prompt name) for every prompt a step may play."""
    for name in ("prompt", "invalid_prompt"):
        value = getattr(step, name, None)
        if value:
            yield (name,), value
    offer = getattr(step, "wait_offer", None)
    if isinstance(offer, WaitOffer):
        for name in WAIT_OFFER_PROMPTS:
            yield ("wait_offer", name), getattr(offer, name)
    if isinstance(step, LookupStep) and step.target is LookupTarget.COMPLAINT_STATUS:
        for status in ComplaintStatus:
            yield ("target",), complaint_status_prompt(status.value)


def flow_prompts(flow: FlowDefinition) -> set[str]:
    """Every prompt the flow may play, as the FastAGI server names it in STREAM FILE / GET DATA
    (``<prompt_dir>/<name>``, relative to Asterisk's ``sounds/<language>/``)."""
    prefix = flow.prompt_dir.strip("/")
    return {
        f"{prefix}/{name}" if prefix else name
        for step in flow.steps.values()
        for _, name in step_prompts(step)
    }


def _shape_problems(error: ValidationError, raw: Mapping[str, Any]) -> list[FieldProblem]:
    problems = []
    steps = raw.get("steps") if isinstance(raw.get("steps"), Mapping) else {}
    for item in error.errors():
        loc = tuple(item["loc"])
        # pydantic puts the discriminator value after the step id: steps.main.menu.retries
        if len(loc) > 2 and loc[0] == "steps" and isinstance(steps, Mapping):
            kind = steps.get(loc[1], {}).get("kind") if isinstance(steps.get(loc[1]), Mapping) else None
            if loc[2] == kind:
                loc = loc[:2] + loc[3:]
        params = {key: str(value) for key, value in (item.get("ctx") or {}).items()}
        problems.append(FieldProblem(loc, f"validation.{item['type']}", **params))
    return problems


def graph_problems(flow: FlowDefinition) -> list[FieldProblem]:
    """The rules pydantic cannot express; empty when the flow is sound."""
    problems: list[FieldProblem] = []
    steps = flow.steps
    if flow.start not in steps:
        problems.append(FieldProblem(("start",), "validation.ivr_unknown_step", step=flow.start))
    edges: dict[str, set[str]] = {step_id: set() for step_id in steps}
    for step_id, step in steps.items():
        for path, target in _targets(step):
            if target not in steps:
                problems.append(
                    FieldProblem(("steps", step_id, *path), "validation.ivr_unknown_step", step=target)
                )
            else:
                edges[step_id].add(target)
        if isinstance(step, MenuStep | InputStep | SurveyStep) and step.retries < 1:
            problems.append(FieldProblem(("steps", step_id, "retries"), "validation.ivr_retries_min", min=1))
        if isinstance(step, MenuStep):
            seen: set[str] = set()
            for index, option in enumerate(step.options):
                if option.digit in seen:
                    problems.append(
                        FieldProblem(
                            ("steps", step_id, "options", index, "digit"),
                            "validation.ivr_duplicate_digit",
                            digit=option.digit,
                        )
                    )
                seen.add(option.digit)
        if isinstance(step, InputStep) and step.min_digits > step.max_digits:
            problems.append(
                FieldProblem(
                    ("steps", step_id, "min_digits"), "validation.ivr_min_over_max", max=step.max_digits
                )
            )
        if isinstance(step, LookupStep) and step.target is not LookupTarget.CUSTOMER_BY_CALLER:
            source = steps.get(step.source or "")
            if not isinstance(source, InputStep):
                problems.append(FieldProblem(("steps", step_id, "source"), "validation.ivr_source_not_input"))
        if isinstance(step, HoursStep):
            for day, ranges in step.weekly.items():
                if day not in WEEKDAYS:
                    problems.append(FieldProblem(("steps", step_id, "weekly", day), "validation.ivr_weekday"))
                for index, (begin, end) in enumerate(ranges):
                    if begin >= end:
                        problems.append(
                            FieldProblem(
                                ("steps", step_id, "weekly", day, index), "validation.ivr_time_range"
                            )
                        )
        for field_path, prompt in step_prompts(step):
            for language in LANGUAGES:
                if prompt not in prompt_texts(language):
                    problems.append(
                        FieldProblem(
                            ("steps", step_id, *field_path),
                            "validation.ivr_unknown_prompt",
                            prompt=prompt,
                            language=language,
                        )
                    )
    # unreachable: not reachable from start
    reachable: set[str] = set()
    todo = [flow.start] if flow.start in steps else []
    while todo:
        current = todo.pop()
        if current not in reachable:
            reachable.add(current)
            todo.extend(edges[current])
    for step_id in steps:
        if step_id not in reachable and flow.start in steps:
            problems.append(FieldProblem(("steps", step_id), "validation.ivr_unreachable"))
    # dead ends: no way from here to a step that ends the IVR
    ends = {step_id for step_id, step in steps.items() if step.kind in TERMINAL_KINDS}
    reverse: dict[str, set[str]] = {step_id: set() for step_id in steps}
    for source_id, targets in edges.items():
        for target in targets:
            reverse[target].add(source_id)
    leaving: set[str] = set()
    todo = list(ends)
    while todo:
        current = todo.pop()
        if current not in leaving:
            leaving.add(current)
            todo.extend(reverse[current])
    for step_id in steps:
        if step_id not in leaving:
            problems.append(FieldProblem(("steps", step_id), "validation.ivr_dead_end"))
    return problems


def validate_flow(raw: Mapping[str, Any]) -> FlowDefinition:
    """The parsed flow, or :class:`InvalidFields` with every problem at its field path."""
    try:
        flow = FlowDefinition.model_validate(raw)
    except ValidationError as exc:
        raise InvalidFields(*_shape_problems(exc, raw)) from exc
    problems = graph_problems(flow)
    if problems:
        raise InvalidFields(*problems)
    return flow


def flow_json(flow: FlowDefinition) -> dict[str, Any]:
    """The stored form (times as "HH:MM:SS", dates ISO)."""
    return flow.model_dump(mode="json", exclude_none=True)
