"""LiveState from hand-built domain events: calls, queues, agents, wrap-up, seq and consumers of deltas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.events import MemberStatus, PbxConnected, PbxDisconnected, RecordingMuted, RecordingStarted
from acd.state import Delta, LiveState, agents_by_state, effective_agent_state
from core.bus import decode_event, encode_event
from tests.acd_state.helpers import (
    DeltaView,
    abandoned,
    answered,
    at,
    canceled,
    completed,
    device,
    ended,
    logged_in,
    logged_out,
    no_answer,
    paused,
    queued,
    ringing,
    ts,
    unpaused,
)


def new_state(**wrapup: float) -> LiveState:
    return LiveState(wrapup or {"support": 5}, first_seq=1)


def test_call_lifecycle_waiting_ringing_talking_gone() -> None:
    state = new_state()
    deltas = state.apply(queued(0, "c1"))
    assert sorted((d.kind, d.key) for d in deltas) == [("call", "c1"), ("queue", "support")]
    call = state.snapshot()["calls"]["c1"]
    assert call["state"] == "waiting"
    assert call["caller_number"] == "138c1"
    assert call["since"] == call["joined"] == ts(0)
    queue = state.snapshot()["queues"]["support"]
    assert (queue["waiting"], queue["count"], queue["longest_since"], queue["offered"]) == (
        ["c1"],
        1,
        ts(0),
        1,
    )

    state.apply(ringing(1, "c1", "Alice"))
    snap = state.snapshot()
    assert snap["calls"]["c1"]["state"] == "ringing"
    assert snap["calls"]["c1"]["ringing"] == ["Alice"]
    assert snap["agents"]["Alice"]["state"] == "ringing"
    assert snap["agents"]["Alice"]["call"] == "c1"
    assert snap["queues"]["support"]["agents"] == {"Alice": "ringing"}

    state.apply(no_answer(16, "c1", "Alice"))
    snap = state.snapshot()
    assert (snap["calls"]["c1"]["state"], snap["calls"]["c1"]["since"]) == ("waiting", ts(16))
    assert snap["calls"]["c1"]["joined"] == ts(0)
    assert snap["agents"]["Alice"]["state"] == "available"

    state.apply(ringing(18, "c1", "Bob"))
    state.apply(answered(20, "c1", "Bob"))
    snap = state.snapshot()
    assert snap["calls"]["c1"]["state"] == "talking"
    assert snap["calls"]["c1"]["agent"] == "Bob"
    assert snap["calls"]["c1"]["since"] == ts(20)
    assert snap["agents"]["Bob"]["state"] == "on_call"
    assert snap["queues"]["support"]["waiting"] == []
    assert snap["queues"]["support"]["longest_since"] is None
    assert snap["queues"]["support"]["answered"] == 1

    state.apply(completed(30, "c1", "Bob"))
    snap = state.snapshot()
    assert snap["calls"] == {}
    bob = snap["agents"]["Bob"]
    assert (bob["state"], bob["since"], bob["wrapup_until"]) == ("wrap_up", ts(30), ts(35))
    assert state.apply(ended(30.1, "c1")) == []  # already gone: nothing to say


def test_wrap_up_ends_lazily_from_timestamps() -> None:
    state = new_state()
    for event in (
        queued(0, "c1"),
        ringing(0, "c1", "Bob"),
        answered(2, "c1", "Bob"),
        completed(12, "c1", "Bob"),
    ):
        state.apply(event)
    # The device reports idle a moment later: still wrap-up, which began at the call's end.
    state.apply(device(12.01, "Bob", "support", MemberStatus.NOT_IN_USE))
    bob = state.snapshot()["agents"]["Bob"]
    assert (bob["state"], bob["since"]) == ("wrap_up", ts(12))
    # No timer: readers resolve it.
    assert effective_agent_state(bob, ts(16.9)) == ("wrap_up", ts(12))
    assert effective_agent_state(bob, ts(17)) == ("available", ts(17))
    assert state.agent_state("Bob", at(20)) == ("available", ts(17))
    queue = state.snapshot()["queues"]["support"]
    assert agents_by_state(queue, state.snapshot()["agents"], ts(13))["wrap_up"] == 1
    assert agents_by_state(queue, state.snapshot()["agents"], ts(18))["available"] == 1
    # The next event about Bob settles it, dated when the wrap-up ended.
    state.apply(queued(40, "c2"))
    state.apply(ringing(40, "c2", "Bob"))
    state.apply(no_answer(55, "c2", "Bob"))
    bob = state.snapshot()["agents"]["Bob"]
    assert (bob["state"], bob["since"], bob["wrapup_until"]) == ("available", ts(55), None)


def test_wrap_up_settles_available_since_its_end() -> None:
    state = new_state()
    for event in (queued(0, "c1"), answered(2, "c1", "Bob"), completed(12, "c1", "Bob")):
        state.apply(event)
    state.apply(paused(30, "Bob", "support", "lunch"))
    state.apply(unpaused(40, "Bob", "support"))
    bob = state.snapshot()["agents"]["Bob"]
    assert (bob["state"], bob["since"]) == ("available", ts(40))
    state2 = new_state()
    for event in (queued(0, "c1"), answered(2, "c1", "Bob"), completed(12, "c1", "Bob")):
        state2.apply(event)
    state2.apply(logged_in(30, "Bob", "sales"))
    bob = state2.snapshot()["agents"]["Bob"]
    assert (bob["state"], bob["since"]) == ("available", ts(17))


def test_no_wrap_up_when_the_queue_has_none() -> None:
    state = LiveState({"support": 5}, first_seq=1)
    for event in (
        queued(0, "c1", "sales"),
        answered(2, "c1", "Bob", "sales"),
        completed(12, "c1", "Bob", "sales"),
    ):
        state.apply(event)
    assert state.snapshot()["agents"]["Bob"]["state"] == "available"


def test_positions_follow_asterisk_priority_insertion() -> None:
    """priority/: arrivals 1–5 (prio 0, 0, 10, 5, 10) joined at Position/Count 1/1, 2/2, 1/2, 2/3, 2/4 and
    QueueStatus then listed 3, 5, 4, 2."""
    state = new_state()
    state.apply(queued(0, "a1", "priority", 1, 1))
    state.apply(queued(1, "a2", "priority", 2, 2))
    state.apply(answered(2, "a1", "Bob", "priority"))
    state.apply(queued(3, "a3", "priority", 1, 2))
    state.apply(queued(4, "a4", "priority", 2, 3))
    state.apply(queued(5, "a5", "priority", 2, 4))
    queue = state.snapshot()["queues"]["priority"]
    assert queue["waiting"] == ["a3", "a5", "a4", "a2"]
    assert queue["count"] == 4
    assert queue["longest_since"] == ts(1)  # a2 waits longest though it is last
    state.apply(answered(10, "a3", "Bob", "priority"))
    assert state.snapshot()["queues"]["priority"]["waiting"] == ["a5", "a4", "a2"]


def test_abandon_while_ringing_frees_the_agent_and_counts() -> None:
    state = new_state()
    state.apply(queued(0, "c1"))
    state.apply(queued(1, "c2", position=2, count=2))
    state.apply(ringing(1, "c1", "Alice"))
    state.apply(canceled(5, "c1", "Alice"))
    state.apply(ringing(6, "c1", "Alice"))
    deltas = state.apply(abandoned(8, "c1"))
    assert ("call", "c1", None) in [(d.kind, d.key, d.data) for d in deltas]
    snap = state.snapshot()
    assert list(snap["calls"]) == ["c2"]
    assert snap["agents"]["Alice"]["state"] == "available"
    queue = snap["queues"]["support"]
    assert (queue["waiting"], queue["abandoned"], queue["offered"], queue["answered"]) == (["c2"], 1, 2, 0)
    assert queue["longest_since"] == ts(1)


def test_ringall_answer_clears_the_other_ringing_agents() -> None:
    state = new_state()
    state.apply(queued(0, "c1", "ringall"))
    for agent in ("Bob", "Carol", "Dave"):
        state.apply(ringing(0.01, "c1", agent, "ringall"))
    assert state.snapshot()["calls"]["c1"]["ringing"] == ["Bob", "Carol", "Dave"]
    state.apply(answered(2, "c1", "Carol", "ringall"))
    agents = state.snapshot()["agents"]
    assert {name: a["state"] for name, a in agents.items()} == {
        "Bob": "available",
        "Carol": "on_call",
        "Dave": "available",
    }
    assert state.snapshot()["calls"]["c1"]["ringing"] == []


def test_pause_in_one_queue_or_all_with_reasons() -> None:
    state = new_state()
    state.apply(logged_in(0, "Frank", "billing"))
    state.apply(logged_in(1, "Frank", "retention"))
    state.apply(paused(3, "Frank", "billing", "coaching"))
    frank = state.snapshot()["agents"]["Frank"]
    assert frank["state"] == "available"  # still takes retention calls
    assert frank["queues"]["billing"] == {
        "state": "paused",
        "paused": True,
        "reason": "coaching",
        "penalty": 0,
        "calls_taken": 0,
    }
    assert frank["queues"]["retention"]["state"] == "available"
    assert state.snapshot()["queues"]["billing"]["agents"] == {"Frank": "paused"}

    state.apply(paused(6, "Frank", "billing", "lunch"))
    state.apply(paused(6, "Frank", "retention", "lunch"))
    frank = state.snapshot()["agents"]["Frank"]
    assert (frank["state"], frank["reason"], frank["since"]) == ("paused", "lunch", ts(6))

    state.apply(unpaused(10, "Frank", "billing"))
    state.apply(unpaused(10, "Frank", "retention"))
    frank = state.snapshot()["agents"]["Frank"]
    assert (frank["state"], frank["reason"], frank["since"]) == ("available", None, ts(10))


def test_device_unavailable_and_back() -> None:
    state = new_state()
    state.apply(logged_in(0, "Frank", "billing"))
    state.apply(device(5, "Frank", "billing", MemberStatus.UNAVAILABLE))
    assert state.snapshot()["agents"]["Frank"]["state"] == "unavailable"
    assert state.snapshot()["queues"]["billing"]["agents"] == {"Frank": "unavailable"}
    state.apply(device(9, "Frank", "billing", MemberStatus.NOT_IN_USE))
    frank = state.snapshot()["agents"]["Frank"]
    assert (frank["state"], frank["since"]) == ("available", ts(9))


def test_device_busy_outside_the_queue_is_on_call() -> None:
    state = new_state()
    state.apply(device(0, "Dave", "support", MemberStatus.IN_USE))
    assert state.snapshot()["agents"]["Dave"]["state"] == "on_call"
    state.apply(device(3, "Dave", "support", MemberStatus.NOT_IN_USE))
    assert state.snapshot()["agents"]["Dave"]["state"] == "available"


def test_logout_from_every_queue() -> None:
    state = new_state()
    state.apply(logged_in(0, "Erin", "complaints"))
    state.apply(logged_in(0, "Erin", "support"))
    state.apply(logged_out(5, "Erin", "complaints"))
    erin = state.snapshot()["agents"]["Erin"]
    assert (erin["state"], list(erin["queues"])) == ("available", ["support"])
    assert state.snapshot()["queues"]["complaints"]["agents"] == {}
    state.apply(logged_out(6, "Erin", "support"))
    erin = state.snapshot()["agents"]["Erin"]
    assert (erin["state"], erin["since"], erin["queues"]) == ("logged_out", ts(6), {})


def test_recording_and_pbx_link() -> None:
    state = new_state()
    state.apply(queued(0, "c1"))
    state.apply(answered(2, "c1", "Bob"))
    state.apply(RecordingStarted(at(2.1), "c1", "c1", "/var/spool/asterisk/monitor/c1.wav"))
    assert state.snapshot()["calls"]["c1"]["recording"] is True
    state.apply(RecordingMuted(at(3), "c1", "c1", True))
    assert state.snapshot()["calls"]["c1"]["muted"] is True
    deltas = state.apply(PbxConnected(at(4), "11.0.0"))
    assert [(d.kind, d.key) for d in deltas] == [("pbx", "link")]
    state.apply(PbxDisconnected(at(5), "closed"))
    assert state.snapshot()["pbx"]["connected"] is False


def test_counters_are_per_day_in_the_center_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    state = LiveState({}, day_zone=shanghai, first_seq=1)
    # 15:59:59 UTC is 23:59:59 in Shanghai; one second later it is the next day there.
    late = datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC)
    state.apply(queued(0, "c1").__class__(late, "c1", "c1", "support", None, None, 1, 1))
    assert state.snapshot()["queues"]["support"]["day"] == "2026-11-23"
    assert state.snapshot()["queues"]["support"]["offered"] == 1
    nxt = datetime(2026, 11, 23, 16, 0, 0, tzinfo=UTC)
    state.apply(queued(0, "c2").__class__(nxt, "c2", "c2", "support", None, None, 2, 2))
    queue = state.snapshot()["queues"]["support"]
    assert (queue["day"], queue["offered"], queue["count"]) == ("2026-11-24", 1, 2)


def test_seq_increases_by_one_and_no_delta_for_no_change() -> None:
    state = new_state()
    seqs: list[int] = []
    for event in (
        queued(0, "c1"),
        device(0.5, "Bob", "support", MemberStatus.NOT_IN_USE),
        device(0.5, "Bob", "support", MemberStatus.NOT_IN_USE),  # the same again: nothing changes
        ringing(1, "c1", "Bob"),
        answered(2, "c1", "Bob"),
        completed(9, "c1", "Bob"),
    ):
        seqs.extend(d.seq for d in state.apply(event))
    assert seqs == list(range(1, len(seqs) + 1))
    assert state.snapshot()["seq"] == seqs[-1]
    assert state.apply(device(9.5, "Bob", "support", MemberStatus.IN_USE)) != []
    assert state.apply(device(9.6, "Bob", "support", MemberStatus.IN_USE)) == []


def test_default_seq_starts_at_the_clock_so_a_restart_never_reuses_one() -> None:
    first = LiveState()
    first.apply(queued(0, "c1"))
    second = LiveState()
    assert second.snapshot()["seq"] >= first.snapshot()["seq"]


def test_snapshot_is_json_and_a_copy() -> None:
    state = new_state()
    state.apply(queued(0, "c1"))
    snap = state.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    snap["calls"]["c1"]["state"] = "mangled"
    assert state.snapshot()["calls"]["c1"]["state"] == "waiting"


def test_delta_crosses_the_bus_unchanged() -> None:
    state = new_state()
    for delta in state.apply(queued(0, "c1")) + state.apply(completed(1, "c1", "Bob")):
        assert decode_event(encode_event(delta)) == delta
    removed = Delta(7, "call", "c1", None)
    assert decode_event(encode_event(removed)) == removed


# --------------------------------------------------------------------------- property: deltas rebuild state

CALLS = [f"c{i}" for i in range(4)]
AGENTS = ["Alice", "Bob", "Carol"]
QUEUES = ["support", "sales"]


def make_event(kind: int, t: float, call: str, agent: str, queue: str, pos: int) -> object:
    if kind == 0:
        return queued(t, call, queue, pos, pos)
    if kind == 1:
        return ringing(t, call, agent, queue)
    if kind == 2:
        return no_answer(t, call, agent, queue)
    if kind == 3:
        return answered(t, call, agent, queue)
    if kind == 4:
        return completed(t, call, agent, queue)
    if kind == 5:
        return abandoned(t, call, queue, pos)
    if kind == 6:
        return ended(t, call)
    if kind == 7:
        return logged_in(t, agent, queue)
    if kind == 8:
        return logged_out(t, agent, queue)
    if kind == 9:
        return paused(t, agent, queue, "break")
    if kind == 10:
        return unpaused(t, agent, queue)
    return device(t, agent, queue, [MemberStatus.IN_USE, MemberStatus.NOT_IN_USE][pos % 2])


@st.composite
def event_sequences(draw: st.DrawFn) -> list[object]:
    steps = draw(st.lists(st.tuples(st.integers(0, 11), st.sampled_from(CALLS), st.sampled_from(AGENTS),
                                    st.sampled_from(QUEUES), st.integers(1, 4)), max_size=60))  # fmt: skip
    return [make_event(k, float(i), c, a, q, p) for i, (k, c, a, q, p) in enumerate(steps)]


@settings(max_examples=150, deadline=None)
@given(event_sequences())
def test_a_consumer_applying_deltas_has_exactly_the_snapshot(events: list[object]) -> None:
    state = new_state()
    view = DeltaView(state.snapshot())
    for event in events:
        view.apply(state.apply(event))
        snap = state.snapshot()
        assert view.as_snapshot() == snap
        # Invariants: waiting lists hold exactly the live waiting/ringing calls of that queue.
        for name, queue in snap["queues"].items():
            assert queue["count"] == len(queue["waiting"]) == len(set(queue["waiting"]))
            for linkedid in queue["waiting"]:
                assert snap["calls"][linkedid]["queue"] == name
                assert snap["calls"][linkedid]["state"] in ("waiting", "ringing")
        for call in snap["calls"].values():
            if call["state"] == "talking":
                assert snap["agents"][call["agent"]]["state"] == "on_call"
