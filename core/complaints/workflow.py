"""The complaint flow (客户投诉处理流程) as a state machine: which status may follow which, and what each
step needs. Pure functions over plain values: no database, so the rules can be property-tested alone.

registered → investigating → solution_proposed → negotiating → in_progress → closed, with ``escalated``
(the customer is not satisfied: a higher level takes over) and ``rejected`` (不予受理, with a reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.errors import FieldProblem, InvalidFields, InvalidTransition


class ComplaintStatus(StrEnum):
    REGISTERED = "registered"  # 已登记
    INVESTIGATING = "investigating"  # 调查中
    SOLUTION_PROPOSED = "solution_proposed"  # 已提出方案
    NEGOTIATING = "negotiating"  # 协商中
    IN_PROGRESS = "in_progress"  # 方案实施中
    ESCALATED = "escalated"  # 已升级
    CLOSED = "closed"  # 已结案
    REJECTED = "rejected"  # 不予受理


class ComplaintAcceptance(StrEnum):
    """Whether the complaint and its handling are accepted: pending until the customer agrees or it is
    turned down."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


S = ComplaintStatus

TRANSITIONS: Mapping[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.REGISTERED: frozenset({S.INVESTIGATING, S.REJECTED}),
    S.INVESTIGATING: frozenset({S.SOLUTION_PROPOSED, S.ESCALATED, S.REJECTED}),
    S.SOLUTION_PROPOSED: frozenset({S.NEGOTIATING, S.ESCALATED}),
    # Back to solution_proposed: the customer made a counter-proposal.
    S.NEGOTIATING: frozenset({S.IN_PROGRESS, S.SOLUTION_PROPOSED, S.ESCALATED}),
    S.ESCALATED: frozenset({S.INVESTIGATING, S.SOLUTION_PROPOSED, S.NEGOTIATING}),
    S.IN_PROGRESS: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
}

TERMINAL: frozenset[ComplaintStatus] = frozenset({S.CLOSED, S.REJECTED})
OPEN: frozenset[ComplaintStatus] = frozenset(ComplaintStatus) - TERMINAL


@dataclass(frozen=True)
class Facts:
    """What the complaint will hold once the transition's own fields are applied."""

    resolution: str | None = None
    acceptance: ComplaintAcceptance | None = None
    investigation_result: str | None = None
    rejection_reason: str | None = None


def allowed_targets(status: ComplaintStatus) -> frozenset[ComplaintStatus]:
    return TRANSITIONS[status]


def can_transition(source: ComplaintStatus, target: ComplaintStatus) -> bool:
    return target in TRANSITIONS[source]


def is_terminal(status: ComplaintStatus) -> bool:
    return status in TERMINAL


def can_record_callback(status: ComplaintStatus) -> bool:
    """回访 follows the summary: only a closed complaint is called back."""
    return status is S.CLOSED


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())


def missing_requirements(target: ComplaintStatus, facts: Facts) -> list[FieldProblem]:
    """The fields that keep ``target`` from being entered (empty when it may be)."""
    problems: list[FieldProblem] = []
    if target is S.SOLUTION_PROPOSED and not facts.resolution:
        problems.append(FieldProblem(("resolution",), "validation.required_for_status", status=target.value))
    if target is S.IN_PROGRESS and facts.acceptance is not ComplaintAcceptance.ACCEPTED:
        problems.append(FieldProblem(("acceptance",), "validation.complaint_not_agreed"))
    if target is S.CLOSED and not _filled(facts.investigation_result):
        problems.append(
            FieldProblem(("investigation_result",), "validation.required_for_status", status=target.value)
        )
    if target is S.REJECTED and not _filled(facts.rejection_reason):
        problems.append(
            FieldProblem(("rejection_reason",), "validation.required_for_status", status=target.value)
        )
    return problems


def check_transition(source: ComplaintStatus, target: ComplaintStatus, facts: Facts) -> None:
    """Raises 409 for a step the flow does not have, 422 for a step whose requirements are not met."""
    if not can_transition(source, target):
        raise InvalidTransition(**{"from": source.value, "to": target.value})
    problems = missing_requirements(target, facts)
    if problems:
        raise InvalidFields(*problems)
