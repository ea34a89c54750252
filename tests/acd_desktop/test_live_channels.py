"""The channel names call control targets, from the real captures: the caller's channel and the answering
agent's leg in the live state (from events and from a resync), and a Redirect the app announced turning
the leg's ``AgentComplete`` (Reason caller) into a transfer with its target."""

from __future__ import annotations

from datetime import UTC, datetime

from acd.events import CallCompleted, CallQueued, CallTransferred, EndedBy
from acd.state import LiveState
from acd.translate import Translator, translate_frames
from tests.acd_state.helpers import capture_frames, list_items

CALLER = "1795400605.0"  # actions/: the queue call that is redirected to 700 (lab-029)


def translate(note: bool = False, forget: bool = False) -> list[object]:
    translator = Translator()
    if note:
        translator.note_redirect(CALLER, "700", "from-internal")
    if forget:
        translator.forget_redirect(CALLER)
    events = [e for frame in capture_frames("actions") for e in translator.feed(frame)]
    assert translator.stats.skipped == 0  # the late headerless AgentComplete is no bad frame
    return events + translator.flush()


def test_call_queued_carries_the_callers_channel() -> None:
    queued = [e for e in translate_frames(capture_frames("answered")) if isinstance(e, CallQueued)]
    assert len(queued) == 8
    assert queued[0].channel == "PJSIP/customers-00000000"
    assert all(e.channel and e.channel.startswith("PJSIP/customers-") for e in queued)


def test_an_announced_redirect_is_a_transfer_with_its_target() -> None:
    [transferred] = [e for e in translate(note=True) if isinstance(e, CallTransferred)]
    assert (transferred.linkedid, transferred.agent, transferred.queue) == (CALLER, "Bob", "support")
    assert (transferred.target_extension, transferred.target_context) == ("700", "from-internal")
    # At the caller's Newexten in 700@from-internal, right after the Redirect's response: the agent's leg
    # is gone then. (AgentComplete only comes at the caller's hang-up 8 s later, TalkTime 42 counting the
    # talk with the back office; it is dropped.)
    assert transferred.at.timestamp() == 1795400641.584433
    assert (transferred.wait_seconds, transferred.talk_seconds) == (2.0, 34.0)
    assert not [e for e in translate(note=True) if isinstance(e, CallCompleted)]

    state = LiveState({"support": 5}, first_seq=1)
    for event in translate(note=True):
        state.apply(event)
        if event is transferred:
            bob = state.snapshot()["agents"]["Bob"]
            assert (bob["state"], bob["call"]) == ("wrap_up", None)
            assert bob["wrapup_until"] == 1795400641.584433 + 5
            assert CALLER not in state.snapshot()["calls"]


def test_without_the_announcement_the_redirect_reads_as_the_caller_ending() -> None:
    for events in (translate(), translate(note=True, forget=True)):
        assert not [e for e in events if isinstance(e, CallTransferred)]
        [completed] = [e for e in events if isinstance(e, CallCompleted)]
        assert completed.ended_by is EndedBy.CALLER


def test_live_call_holds_caller_and_agent_channels() -> None:
    state = LiveState({"support": 5}, first_seq=1)
    seen: dict[str, tuple[str | None, str | None, str]] = {}
    for event in translate_frames(capture_frames("actions")):
        for delta in state.apply(event):
            if delta.kind == "call" and delta.data is not None:
                data = delta.data
                seen[data["state"]] = (data["channel"], data["agent_channel"], data["agent"])
    assert seen["waiting"] == ("PJSIP/customers-00000000", None, None)
    assert seen["ringing"] == ("PJSIP/customers-00000000", None, "Bob")
    assert seen["talking"] == ("PJSIP/customers-00000000", "PJSIP/1002-00000001", "Bob")


def test_resync_fills_the_channels() -> None:
    frames = capture_frames("actions")
    items = list_items(frames, "lab-014")  # QueueStatus during the live call
    channels = list_items(frames, "lab-013")["CoreShowChannel"]
    state = LiveState({"support": 5}, first_seq=1)
    state.load_resync(
        items["QueueParams"], items["QueueMember"], [], channels, at=datetime.fromtimestamp(1795400610, UTC)
    )
    call = state.snapshot()["calls"][CALLER]
    assert (call["channel"], call["agent_channel"]) == ("PJSIP/customers-00000000", "PJSIP/1002-00000001")

    priority = capture_frames("priority")
    waiting = list_items(priority, "lab-003")
    state = LiveState(first_seq=1)
    state.load_resync(waiting["QueueParams"], waiting["QueueMember"], waiting["QueueEntry"], [])
    channels_of = {c["linkedid"]: c["channel"] for c in state.snapshot()["calls"].values()}
    assert channels_of["1795402909.3"] == "PJSIP/customers-00000003"
    assert all(ch and ch.startswith("PJSIP/customers-") for ch in channels_of.values())
