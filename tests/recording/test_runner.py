"""The in-process runner of the demo: the bus says a recorded call ended → its WAV is ingested."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.events import CallEnded, RecordingStarted
from acd.state import Delta
from core.bus import InProcessBus
from core.clock import utcnow
from recording.models import Recording, RecordingStatus
from recording.worker import Ingestor, RecordingWorker
from tests.recording.conftest import wav_header


def _wav(path: Path) -> None:
    path.write_bytes(wav_header(3200) + b"\x00\x10" * 1600)


async def test_a_call_leaving_the_live_state_gets_its_recording_ingested(
    ingestor: Ingestor, spool: Path, db: Session
) -> None:
    ingestor.settings.end_delay = 0.05
    ingestor.settings.scan_interval = 30  # only the bus can wake it within the test
    ingestor.settings.retention_interval = 30
    bus = InProcessBus()
    await bus.start()
    runner = RecordingWorker(ingestor, bus=bus)
    _wav(spool / "200.1.wav")  # fresh: not finished by age
    await runner.start()
    try:
        await asyncio.sleep(0.2)
        assert runner.results == []  # the first pass found nothing finished
        record = {"linkedid": "200.0", "uniqueid": "200.1", "state": "talking", "recording": True}
        await bus.publish("acd.delta", Delta(1, "call", "200.0", record))
        await bus.publish("acd.delta", Delta(2, "call", "200.0", None))  # the call is over
        for _ in range(100):
            await asyncio.sleep(0.05)
            if runner.results:
                break
    finally:
        await runner.stop()
        await bus.close()
    assert [(r.uniqueid, r.status) for r in runner.results] == [("200.1", RecordingStatus.STORED)]
    db.expire_all()
    assert db.scalar(select(Recording.status).where(Recording.uniqueid == "200.1")) is RecordingStatus.STORED


async def test_domain_events_and_a_bad_file_do_not_stop_the_runner(
    ingestor: Ingestor, spool: Path, db: Session
) -> None:
    ingestor.settings.end_delay = 0
    runner = RecordingWorker(ingestor)
    (spool / "300.1.wav").write_bytes(b"not a wav at all")
    _wav(spool / "301.1.wav")
    now = utcnow()
    runner.observe(RecordingStarted(at=now, linkedid="300.0", uniqueid="300.1", filename=None))
    runner.observe(CallEnded(at=now, linkedid="300.0", uniqueid="300.1", cause=16, cause_text=None))
    runner.observe(CallEnded(at=now, linkedid="301.0", uniqueid="301.1", cause=16, cause_text=None))
    results = await runner.run_once()
    assert [(r.uniqueid, r.status) for r in results] == [
        ("300.1", RecordingStatus.CORRUPT),
        ("301.1", RecordingStatus.STORED),
    ]
    assert await runner.run_once() == []  # nothing left; the corrupt file is not retried as it is
