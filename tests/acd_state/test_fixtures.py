"""LiveState against the real Asterisk captures: replays through the translator, checked against what
Asterisk itself listed (QueueStatus) at the same moment, and resyncs from the QueueStatus frames."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from acd.ami.frames import Frame
from acd.state import LiveState, effective_agent_state
from tests.acd_state.helpers import FIXTURES, DeltaView, capture_frames, list_items

translate = pytest.importorskip("acd.translate")

# The lab's queues.conf wrapuptime per queue (fixtures README, "Lab configuration").
WRAPUP = {
    "support": 5,
    "complaints": 5,
    "priority": 1,
    "penalty": 2,
    "ringall": 2,
    "billing": 10,
    "retention": 10,
}
FOLDERS = [
    "answered",
    "abandoned",
    "actions",
    "ivr",
    "transfer",
    "priority",
    "penalty",
    "ringall",
    "agent-states",
]

if not FIXTURES.is_dir():  # pragma: no cover - the fixtures are part of the workspace
    pytest.skip(f"fixtures not found at {FIXTURES}", allow_module_level=True)


def replay(folder: str) -> tuple[LiveState, list[object], DeltaView]:
    state = LiveState(WRAPUP, first_seq=1)
    view = DeltaView(state.snapshot())
    events = translate.translate_frames(capture_frames(folder))
    for event in events:
        view.apply(state.apply(event))
    return state, events, view


def end_of(events: list[object]) -> float:
    last: datetime = events[-1].at  # type: ignore[attr-defined]
    return last.timestamp()


@pytest.mark.parametrize("folder", FOLDERS)
def test_replay_ends_with_no_call_and_deltas_rebuild_the_state(folder: str) -> None:
    state, events, view = replay(folder)
    snap = state.snapshot()
    assert snap["calls"] == {}
    assert all(queue["waiting"] == [] for queue in snap["queues"].values())
    assert view.as_snapshot() == snap  # seq consecutive (checked by the view) and nothing lost
    end = end_of(events) + 60
    states = {name: effective_agent_state(agent, end)[0] for name, agent in snap["agents"].items()}
    assert set(states.values()) <= {"available", "logged_out"}, states


def test_answered_counts_and_agents() -> None:
    state, events, _view = replay("answered")
    snap = state.snapshot()
    support = snap["queues"]["support"]
    assert (support["offered"], support["answered"], support["abandoned"]) == (8, 8, 0)
    end = end_of(events) + 10
    assert {n: effective_agent_state(a, end)[0] for n, a in snap["agents"].items()} == {
        "Alice": "available",
        "Bob": "available",
        "Carol": "available",
        "Dave": "available",
    }


def test_abandoned_counts_each_way_of_leaving() -> None:
    state, _events, _view = replay("abandoned")
    queues = state.snapshot()["queues"]
    assert (queues["support"]["offered"], queues["support"]["abandoned"]) == (5, 5)
    assert (queues["complaints"]["offered"], queues["complaints"]["timed_out"]) == (2, 2)
    assert queues["sales"]["left_empty"] == 1
    assert queues["sales"]["refused"] == 1  # JOINEMPTY: refused at the door, never offered
    assert queues["sales"]["offered"] == 1


def _member_items(frames: list[Frame]) -> dict[str, list[Frame]]:
    """QueueStatus QueueMember/QueueEntry items by ActionID."""
    out: dict[str, list[Frame]] = {}
    for frame in frames:
        if frame.event in ("QueueMember", "QueueEntry") and frame.action_id:
            out.setdefault(frame.action_id, []).append(frame)
    return out


def _replay_checking(folder: str, check: Any) -> list[str]:
    """Feed the capture frame by frame; at each QueueStatus answer, call ``check(state, items)``."""
    frames = capture_frames(folder)
    items = _member_items(frames)
    translator = translate.Translator()
    state = LiveState(WRAPUP, first_seq=1)
    checked: list[str] = []
    for frame in frames:
        for event in translator.feed(frame):
            state.apply(event)
        if frame.event == "QueueStatusComplete" and frame.action_id in items:
            check(state, items[frame.action_id])
            checked.append(frame.action_id or "")
    return checked


def test_agent_states_pauses_match_what_asterisk_listed() -> None:
    """agent-states/: at each QueueStatus Frank's per-queue paused flag and reason are Asterisk's."""
    reasons: list[tuple[str, str | None]] = []

    def check(state: LiveState, items: list[Frame]) -> None:
        frank = state.snapshot()["agents"].get("Frank")
        for item in items:
            if item.event != "QueueMember":
                continue
            assert frank is not None
            member = frank["queues"][item["Queue"]]
            assert member["paused"] is (item["Paused"] == "1")
            assert member["reason"] == (item["PausedReason"] or None)
            assert member["penalty"] == int(item["Penalty"])
            reasons.append((item["Queue"], member["reason"]))
            if item["Status"] == "5":
                assert frank["state"] == "unavailable"

    checked = _replay_checking("agent-states", check)
    assert checked == ["lab-006", "lab-008", "lab-010", "lab-011", "lab-013", "lab-015"]
    assert ("billing", "coaching") in reasons
    assert ("billing", "lunch") in reasons and ("retention", "lunch") in reasons


def test_agent_states_timeline() -> None:
    frames = capture_frames("agent-states")
    translator = translate.Translator()
    state = LiveState(WRAPUP, first_seq=1)
    seen: list[tuple[str, str | None]] = []
    for frame in frames:
        for event in translator.feed(frame):
            for delta in state.apply(event):
                if delta.kind == "agent" and delta.data is not None:
                    step = (delta.data["state"], delta.data["reason"])
                    if not seen or seen[-1] != step:
                        seen.append(step)
    assert seen == [
        ("available", None),  # logged in (billing, then retention)
        ("paused", "lunch"),  # coaching was billing only: still available in retention
        ("available", None),
        ("ringing", None),
        ("on_call", None),
        ("wrap_up", None),
        ("ringing", None),  # the second caller is rung when the 10 s wrap-up ends
        ("on_call", None),
        ("wrap_up", None),
        ("unavailable", None),
        ("wrap_up", None),
        ("available", None),  # logged out of billing after the wrap-up ended
        ("logged_out", None),
    ]


def test_priority_positions_match_queue_status() -> None:
    """priority/: the waiting order built from QueueCallerJoin positions is the QueueEntry order."""

    def check(state: LiveState, items: list[Frame]) -> None:
        entries = sorted((e for e in items if e.event == "QueueEntry"), key=lambda e: int(e["Position"]))
        if entries:
            queue = state.snapshot()["queues"]["priority"]
            assert queue["waiting"] == [e["Uniqueid"] for e in entries]

    assert _replay_checking("priority", check) == ["lab-002", "lab-003"]


# --------------------------------------------------------------------------- resync from QueueStatus


def resync_from(folder: str, status: str, channels: str | None = None, at: float = 0.0) -> LiveState:
    frames = capture_frames(folder)
    items = list_items(frames, status)
    chans = list_items(frames, channels).get("CoreShowChannel", []) if channels else []
    state = LiveState(WRAPUP, first_seq=1)
    state.load_resync(
        items.get("QueueParams", []),
        items.get("QueueMember", []),
        items.get("QueueEntry", []),
        chans,
        at=datetime.fromtimestamp(at, UTC),
    )
    return state


def test_resync_from_actions_queue_status_paused_members() -> None:
    """actions/ lab-014 (QueueStatus during the live call) + lab-013 (CoreShowChannels)."""
    at = 1795400610.0
    state = resync_from("actions", "lab-014", "lab-013", at)
    snap = state.snapshot()
    agents = snap["agents"]
    assert set(agents) == {"Alice", "Bob", "Carol", "Dave"}
    assert {n: (a["state"], a["reason"]) for n, a in agents.items()} == {
        "Alice": ("paused", "training"),
        "Carol": ("paused", "outbound"),
        "Dave": ("paused", "back office"),
        "Bob": ("on_call", None),
    }
    assert agents["Dave"]["since"] == 1795400604.0  # LastPause
    assert agents["Bob"]["interface"] == "PJSIP/1002"
    call = snap["calls"]["1795400605.0"]
    assert (call["state"], call["agent"], call["queue"]) == ("talking", "Bob", "support")
    assert call["caller_number"] == "13600136001"
    assert call["since"] == at - 4  # the agent leg's Duration 00:00:04
    assert agents["Bob"]["call"] == "1795400605.0"
    support = snap["queues"]["support"]
    assert support["strategy"] == "rrmemory"
    assert support["agents"] == {"Alice": "paused", "Bob": "on_call", "Carol": "paused", "Dave": "paused"}


def test_resync_idle_lists_every_queue_and_member() -> None:
    state = resync_from("actions", "lab-003", "lab-005", 1795400598.0)
    snap = state.snapshot()
    assert set(snap["queues"]) == {"support", "complaints", "sales"}
    assert {n: (a["state"], a["since"]) for n, a in snap["agents"].items()} == dict.fromkeys(
        ["Alice", "Bob", "Carol", "Dave"],
        ("available", 1795400597.0),  # LoginTime
    )
    assert snap["calls"] == {}


def test_resync_waiting_callers_in_asterisk_order() -> None:
    state = resync_from("priority", "lab-003", None, 1795402912.0)
    snap = state.snapshot()
    queue = snap["queues"]["priority"]
    assert queue["waiting"] == ["1795402909.3", "1795402911.5", "1795402910.4", "1795402907.2"]
    assert queue["longest_since"] == 1795402912.0 - 5  # Arrival Two, Wait 5, though last in line
    assert snap["calls"]["1795402911.5"]["caller_number"] == "13400134005"
    assert snap["agents"]["Bob"]["state"] == "on_call"


def test_resync_during_wrap_up() -> None:
    """agent-states/ lab-011: Frank's LastCall 1795403110 and billing's 10 s wrap-up, 3 s later."""
    state = resync_from("agent-states", "lab-011", None, 1795403113.0)
    frank = state.snapshot()["agents"]["Frank"]
    assert (frank["state"], frank["since"], frank["wrapup_until"]) == ("wrap_up", 1795403110.0, 1795403120.0)
    assert state.snapshot()["queues"]["billing"]["waiting"] == ["1795403111.2"]


def test_resync_replaces_the_state_and_emits_a_reset() -> None:
    state, _events, view = replay("answered")
    offered = state.snapshot()["queues"]["support"]["offered"]
    frames = capture_frames("actions")
    items = list_items(frames, "lab-014")
    day = datetime.fromtimestamp(end_of(_events), UTC)
    deltas = state.load_resync(items["QueueParams"], items["QueueMember"], [], [], at=day)
    assert deltas[0].kind == "reset"
    assert [d.seq for d in deltas] == list(range(deltas[0].seq, deltas[0].seq + len(deltas)))
    view.apply(deltas)
    snap = state.snapshot()
    assert view.as_snapshot() == snap
    assert snap["agents"]["Dave"]["reason"] == "back office"
    # Today's counters are history, not state: a resync keeps them.
    assert snap["queues"]["support"]["offered"] == offered
    assert "complaints" not in snap["queues"]


@pytest.mark.parametrize(
    "action_id", ["lab-006", "lab-008", "lab-010", "lab-011", "lab-013", "lab-015", "lab-018"]
)
def test_resync_from_each_agent_states_queue_status(action_id: str) -> None:
    frames = capture_frames("agent-states")
    items = list_items(frames, action_id)
    state = resync_from("agent-states", action_id, None, 1795403113.0)
    agents = state.snapshot()["agents"]
    members = items.get("QueueMember", [])
    if not members:  # lab-018: after logout nobody is listed
        assert agents == {}
        return
    frank = agents["Frank"]
    for item in members:
        member = frank["queues"][item["Queue"]]
        assert (member["paused"], member["reason"]) == (item["Paused"] == "1", item["PausedReason"] or None)
    status = {item["Status"] for item in members}
    expected = {"5": "unavailable", "2": "on_call"}.get(max(status))
    if expected:
        assert frank["state"] == expected
    assert set(state.snapshot()["queues"]) >= {item["Queue"] for item in members}
