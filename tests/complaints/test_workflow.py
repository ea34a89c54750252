"""The complaint state machine on its own: reachable states, terminal states, each step's requirements."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.complaints import workflow
from core.complaints.workflow import TRANSITIONS, ComplaintAcceptance, ComplaintStatus, Facts
from core.errors import InvalidFields, InvalidTransition

S = ComplaintStatus
ALL = list(ComplaintStatus)
FULL = Facts(
    resolution="exchange",
    acceptance=ComplaintAcceptance.ACCEPTED,
    investigation_result="批次缺陷",
    rejection_reason="非本公司产品",
)


def test_every_state_has_a_row_and_every_target_is_a_state() -> None:
    assert set(TRANSITIONS) == set(ComplaintStatus)
    for targets in TRANSITIONS.values():
        assert targets <= set(ComplaintStatus)


def test_the_flow_as_specified() -> None:
    assert TRANSITIONS[S.REGISTERED] == {S.INVESTIGATING, S.REJECTED}
    assert TRANSITIONS[S.INVESTIGATING] == {S.SOLUTION_PROPOSED, S.ESCALATED, S.REJECTED}
    assert TRANSITIONS[S.SOLUTION_PROPOSED] == {S.NEGOTIATING, S.ESCALATED}
    assert TRANSITIONS[S.NEGOTIATING] == {S.IN_PROGRESS, S.SOLUTION_PROPOSED, S.ESCALATED}
    assert TRANSITIONS[S.ESCALATED] == {S.INVESTIGATING, S.NEGOTIATING, S.SOLUTION_PROPOSED}
    assert TRANSITIONS[S.IN_PROGRESS] == {S.CLOSED}
    assert TRANSITIONS[S.CLOSED] == set() and TRANSITIONS[S.REJECTED] == set()


@given(st.lists(st.integers(min_value=0, max_value=1000), max_size=60))
def test_random_walks_stay_in_defined_states_and_stop_at_terminals(choices: list[int]) -> None:
    state = S.REGISTERED
    for choice in choices:
        targets = sorted(workflow.allowed_targets(state))
        if not targets:
            assert workflow.is_terminal(state)
            break
        target = targets[choice % len(targets)]
        workflow.check_transition(state, target, FULL)  # a defined step with its fields never raises
        state = target
        assert state in ComplaintStatus
    assert state in ComplaintStatus
    assert workflow.can_record_callback(state) == (state is S.CLOSED)


@given(st.sampled_from(ALL), st.sampled_from(ALL))
def test_undefined_steps_are_refused_with_from_and_to(
    source: ComplaintStatus, target: ComplaintStatus
) -> None:
    if target in TRANSITIONS[source]:
        workflow.check_transition(source, target, FULL)
        return
    with pytest.raises(InvalidTransition) as caught:
        workflow.check_transition(source, target, FULL)
    assert caught.value.status == 409
    assert caught.value.code == "error.invalid_transition"
    assert caught.value.params == {"from": source.value, "to": target.value}


@given(st.sampled_from([S.CLOSED, S.REJECTED]), st.sampled_from(ALL))
def test_closed_and_rejected_are_terminal(terminal: ComplaintStatus, target: ComplaintStatus) -> None:
    assert workflow.is_terminal(terminal)
    with pytest.raises(InvalidTransition):
        workflow.check_transition(terminal, target, FULL)


def test_only_a_closed_complaint_gets_a_call_back() -> None:
    assert [s for s in ALL if workflow.can_record_callback(s)] == [S.CLOSED]


def test_every_non_terminal_state_can_reach_closed() -> None:
    for start in workflow.OPEN:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.CLOSED in seen, start


@pytest.mark.parametrize(
    ("source", "target", "facts", "field", "code"),
    [
        (S.INVESTIGATING, S.SOLUTION_PROPOSED, Facts(), "resolution", "validation.required_for_status"),
        (S.NEGOTIATING, S.SOLUTION_PROPOSED, Facts(), "resolution", "validation.required_for_status"),
        (S.NEGOTIATING, S.IN_PROGRESS, Facts(), "acceptance", "validation.complaint_not_agreed"),
        (
            S.NEGOTIATING,
            S.IN_PROGRESS,
            Facts(acceptance=ComplaintAcceptance.REJECTED),
            "acceptance",
            "validation.complaint_not_agreed",
        ),
        (S.IN_PROGRESS, S.CLOSED, Facts(investigation_result="  "), "investigation_result", None),
        (S.REGISTERED, S.REJECTED, Facts(), "rejection_reason", "validation.required_for_status"),
        (S.INVESTIGATING, S.REJECTED, Facts(rejection_reason=""), "rejection_reason", None),
    ],
)
def test_each_step_names_its_missing_field(
    source: ComplaintStatus, target: ComplaintStatus, facts: Facts, field: str, code: str | None
) -> None:
    with pytest.raises(InvalidFields) as caught:
        workflow.check_transition(source, target, facts)
    assert [p.loc for p in caught.value.problems] == [(field,)]
    assert caught.value.problems[0].code == (code or "validation.required_for_status")


@given(
    st.builds(
        Facts,
        resolution=st.none() | st.just("repair"),
        acceptance=st.none() | st.sampled_from(list(ComplaintAcceptance)),
        investigation_result=st.none() | st.text(max_size=5),
        rejection_reason=st.none() | st.text(max_size=5),
    )
)
def test_requirements_are_exactly_the_documented_ones(facts: Facts) -> None:
    missing = {p.loc[0] for target in ALL for p in workflow.missing_requirements(target, facts)}
    expected = set()
    if not facts.resolution:
        expected.add("resolution")
    if facts.acceptance is not ComplaintAcceptance.ACCEPTED:
        expected.add("acceptance")
    if not (facts.investigation_result or "").strip():
        expected.add("investigation_result")
    if not (facts.rejection_reason or "").strip():
        expected.add("rejection_reason")
    assert missing == expected
