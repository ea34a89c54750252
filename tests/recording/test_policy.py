"""The per-queue policy: deterministic shares, and MixMonitor at answer through the ACD's live deltas."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from acd.state import Delta
from core.bus import InProcessBus
from recording.config import RecordingSettings
from recording.models import RecordingMode, RecordingPolicy
from recording.policy import PolicyRule, RecordingPolicyApplier, share_position, should_record


def rule(mode: str, pct: int = 100) -> PolicyRule:
    return PolicyRule("q", RecordingMode(mode), pct, 365)


@given(st.text(min_size=1, max_size=40), st.integers(0, 100))
def test_a_share_is_deterministic_and_monotonic(linkedid: str, pct: int) -> None:
    decided = should_record(rule("share", pct), linkedid)
    assert decided == should_record(rule("share", pct), linkedid)
    if decided:  # a larger share keeps every call a smaller one records
        assert should_record(rule("share", min(100, pct + 10)), linkedid)
    assert should_record(rule("all"), linkedid) and not should_record(rule("none"), linkedid)
    assert should_record(None, linkedid)
    assert not should_record(rule("share", 0), linkedid) and should_record(rule("share", 100), linkedid)


@settings(max_examples=20)
@given(st.integers(5, 95))
def test_a_share_records_about_that_share(pct: int) -> None:
    ids = [f"17954{n:05d}.{n % 7}" for n in range(4000)]
    recorded = sum(should_record(rule("share", pct), i) for i in ids)
    assert abs(recorded / len(ids) * 100 - pct) < 3.5
    assert all(0 <= share_position(i) < 100 for i in ids[:50])


def _delta(seq: int, linkedid: str, **data: object) -> Delta:
    record = {
        "linkedid": linkedid,
        "uniqueid": f"{linkedid}",
        "queue": "support",
        "state": "waiting",
        "channel": f"PJSIP/caller-{linkedid}",
        "recording": False,
        **data,
    }
    return Delta(seq, "call", linkedid, record)


async def test_applier_sends_mixmonitor_at_answer_per_the_queue_policy(app: FastAPI, db: Session) -> None:
    db.add_all(
        [
            RecordingPolicy(queue="support", mode="all", share_pct=100, retention_days=30),
            RecordingPolicy(queue="quiet", mode="none", share_pct=0, retention_days=30),
        ]
    )
    db.commit()
    sent: list[tuple[str, str]] = []

    async def start(channel: str, file: str) -> None:
        sent.append((channel, file))

    bus = InProcessBus()
    await bus.start()
    applier = RecordingPolicyApplier(
        bus=bus,
        session_factory=app.state.session_factory,
        settings=RecordingSettings(default_mode=RecordingMode.NONE),
        start_recording=start,
        pbx_recorded_queues={"sales"},
    )
    await applier.start()
    try:
        await bus.publish("acd.delta", _delta(1, "100.1"))  # waiting: nothing
        await bus.publish("acd.delta", _delta(2, "100.1", state="talking", agent="Bob"))
        await bus.publish("acd.delta", _delta(3, "100.1", state="talking", agent="Bob"))  # same answer
        await bus.publish("acd.delta", _delta(4, "101.1", state="talking", queue="quiet"))
        await bus.publish("acd.delta", _delta(5, "102.1", state="talking", queue="sales"))  # the PBX records
        await bus.publish("acd.delta", _delta(6, "103.1", state="talking", queue="other"))  # default: none
        await bus.publish("acd.delta", _delta(7, "104.1", state="talking", recording=True))  # already
        await bus.publish("acd.delta", Delta(8, "queue", "support", {"name": "support"}))
        for _ in range(50):
            await asyncio.sleep(0.02)
            if applier.skipped >= 2:
                break
    finally:
        await applier.stop()
        await bus.close()
    assert sent == [("PJSIP/caller-100.1", "100.1.wav")]
    assert (applier.started, applier.skipped, applier.failed) == (1, 2, 0)


async def test_applier_goes_through_acd_commands(app: FastAPI) -> None:
    """Without an injected sender it sends acd.commands.recording_start over the link."""
    actions: list[list[tuple[str, str]]] = []

    class Link:
        async def action(self, fields: list[tuple[str, str]]) -> object:
            actions.append(fields)
            return SimpleNamespace(get=lambda key, default=None: default)

    applier = RecordingPolicyApplier(
        bus=InProcessBus(), session_factory=app.state.session_factory, settings=RecordingSettings(), link=Link
    )
    assert await applier.on_answer(linkedid="1.1", uniqueid="1.2", queue="support", channel="PJSIP/x-1")
    assert actions == [
        [("Action", "MixMonitor"), ("Channel", "PJSIP/x-1"), ("File", "1.2.wav"), ("Options", "b")]
    ]
    broken = RecordingPolicyApplier(
        bus=InProcessBus(), session_factory=app.state.session_factory, settings=RecordingSettings(), link=None
    )
    assert not await broken.on_answer(linkedid="1.1", uniqueid="1.2", queue="support", channel="PJSIP/x-1")
    assert broken.failed == 1
