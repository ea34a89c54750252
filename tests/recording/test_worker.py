"""Ingestion: WAV checks on the captured files and on broken ones, storage, idempotence, a crash between
put and commit, finding finished files, retention with and without a hold."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acd.records.models import QueueLeg
from core.calls.models import PbxCall
from core.people.models import User
from recording import service
from recording.config import RecordingSettings
from recording.models import Recording, RecordingPolicy, RecordingStatus
from recording.storage import LocalStore
from recording.worker import Ingestor, WavProblem, inspect_wav, storage_key
from tests.recording.conftest import CAPTURED, Analyser, MakeUser, captured, wav_header


def _rows(db: Session) -> list[Recording]:
    db.expire_all()
    return list(db.scalars(select(Recording).order_by(Recording.id)))


# --- the WAV check ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("uniqueid", sorted(CAPTURED))
def test_captured_wavs_are_8khz_mono_with_the_talk_time(uniqueid: str) -> None:
    info = inspect_wav(captured(uniqueid))
    assert (info.channels, info.sample_rate, info.sample_width, info.data_offset) == (1, 8000, 2, 44)
    assert info.duration_ms == round(CAPTURED[uniqueid][1] * 1000)


def test_header_only_wav_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "1.1.wav"
    path.write_bytes(wav_header(0))
    assert path.stat().st_size == 44
    with pytest.raises(WavProblem) as caught:
        inspect_wav(path)
    assert caught.value.status is RecordingStatus.EMPTY


def test_truncated_and_garbage_files_are_corrupt(tmp_path: Path) -> None:
    truncated = tmp_path / "t.wav"
    truncated.write_bytes(captured("1795400369.2").read_bytes()[:5000])
    garbage = tmp_path / "g.wav"
    garbage.write_bytes(os.urandom(3000))
    short = tmp_path / "s.wav"
    short.write_bytes(wav_header(100)[:30])
    for path, words in ((truncated, "truncated"), (garbage, "not a RIFF"), (short, "truncated header")):
        with pytest.raises(WavProblem) as caught:
            inspect_wav(path)
        assert caught.value.status is RecordingStatus.CORRUPT
        assert words in caught.value.message


def test_header_never_updated_uses_the_bytes_present(tmp_path: Path) -> None:
    path = tmp_path / "u.wav"
    path.write_bytes(wav_header(0) + b"\x01\x00" * 8000)  # the PBX died before closing the file
    assert inspect_wav(path).duration_ms == 1000


# --- storing ----------------------------------------------------------------------------------------------


def test_captured_wavs_are_stored_as_mp3_with_checksum_and_analysis(
    ingestor: Ingestor, store: LocalStore, db: Session
) -> None:
    for uniqueid in ("1795400369.2", "1795401089.0"):
        result = ingestor.ingest(uniqueid, captured(uniqueid))
        assert result.status is RecordingStatus.STORED and not result.skipped
    rows = _rows(db)
    assert [r.uniqueid for r in rows] == ["1795400369.2", "1795401089.0"]
    first = rows[0]
    assert first.sha256 == hashlib.sha256(captured("1795400369.2").read_bytes()).hexdigest()
    assert (first.duration_ms, first.channels, first.sample_rate, first.format) == (12040, 1, 8000, "mp3")
    assert first.storage_key == storage_key("1795400369.2", first.sha256)
    assert first.storage_key.startswith("2026/11/")
    mp3 = store.path(first.storage_key).read_bytes()
    assert first.size_bytes == len(mp3) and 0 < len(mp3) < captured("1795400369.2").stat().st_size
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    assert first.started_at == datetime.fromtimestamp(1795400369, UTC)
    assert first.retention_until == first.started_at + timedelta(days=365)
    assert first.analysis is not None and first.analysis.mixed_mono
    assert first.analysis.waveform is not None and len(first.analysis.waveform["channels"][0]["peaks"]) == 800
    assert captured("1795400369.2").exists()  # read in place, never removed


def test_the_same_file_twice_is_stored_once(ingestor: Ingestor, store: LocalStore, db: Session) -> None:
    first = ingestor.ingest("1795400369.2", captured("1795400369.2"))
    again = ingestor.ingest("1795400369.2", captured("1795400369.2"))
    assert again.skipped and again.recording_id == first.recording_id
    assert len(_rows(db)) == 1
    assert len(store.keys()) == 1


def test_a_changed_file_replaces_the_audio(
    ingestor: Ingestor, store: LocalStore, spool: Path, db: Session
) -> None:
    path = spool / "1795400369.2.wav"
    path.write_bytes(wav_header(16000) + b"\x10\x00" * 8000)
    ingestor.ingest("1795400369.2")
    path.write_bytes(wav_header(32000) + b"\x10\x00" * 16000)  # the file had grown: taken too early
    ingestor.ingest("1795400369.2")
    rows = _rows(db)
    assert len(rows) == 1 and rows[0].duration_ms == 2000
    assert store.keys() == [rows[0].storage_key]


def test_restart_between_put_and_commit_neither_loses_nor_duplicates(
    app: FastAPI,
    ingestor: Ingestor,
    store: LocalStore,
    rec_settings: RecordingSettings,
    analyser: Analyser,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Killed(BaseException):
        pass

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed()

    monkeypatch.setattr(ingestor, "_finish", killed)
    uniqueids = ["1795400369.2", "1795401089.0"]
    with pytest.raises(Killed):
        for uniqueid in uniqueids:
            ingestor.ingest(uniqueid, captured(uniqueid))
    assert len(store.keys()) == 1  # the object was put
    assert [(r.uniqueid, r.status) for r in _rows(db)] == [("1795400369.2", RecordingStatus.PENDING)]
    # a new process runs the batch again
    rerun = Ingestor(app.state.session_factory, store, rec_settings, analyser=analyser)
    for uniqueid in uniqueids:
        assert rerun.ingest(uniqueid, captured(uniqueid)).status is RecordingStatus.STORED
    rows = _rows(db)
    assert [(r.uniqueid, r.status) for r in rows] == [(u, RecordingStatus.STORED) for u in uniqueids]
    assert sorted(store.keys()) == sorted(r.storage_key or "" for r in rows)


def test_empty_corrupt_and_missing_are_marked_and_the_worker_carries_on(
    ingestor: Ingestor, spool: Path, db: Session
) -> None:
    (spool / "1.1.wav").write_bytes(wav_header(0))
    (spool / "2.2.wav").write_bytes(captured("1795400369.2").read_bytes()[:9000])
    (spool / "3.3.wav").write_bytes(b"garbage" * 100)
    results = [ingestor.ingest(u) for u in ("1.1", "2.2", "3.3", "4.4")]
    assert [r.status for r in results] == [
        RecordingStatus.EMPTY,
        RecordingStatus.CORRUPT,
        RecordingStatus.CORRUPT,
        RecordingStatus.MISSING,
    ]
    rows = {r.uniqueid: r for r in _rows(db)}
    assert "header only" in (rows["1.1"].error or "")
    assert "truncated" in (rows["2.2"].error or "")
    assert "not a RIFF" in (rows["3.3"].error or "")
    assert "not found" in (rows["4.4"].error or "")
    assert all(r.storage_key is None for r in rows.values())
    # the file turns up after all: now stored: list[Recording], same row
    (spool / "4.4.wav").write_bytes(wav_header(1600) + b"\x00\x01" * 800)
    assert ingestor.ingest("4.4").status is RecordingStatus.STORED
    assert len(_rows(db)) == 4


def test_the_spool_wav_is_removed_once_stored(ingestor: Ingestor, spool: Path) -> None:
    ingestor.settings.remove_source = True
    path = spool / "5.5.wav"
    path.write_bytes(wav_header(1600) + b"\x00\x01" * 800)
    assert ingestor.ingest("5.5").status is RecordingStatus.STORED
    assert not path.exists()


def test_the_call_records_name_queue_agent_and_user(
    ingestor: Ingestor, db: Session, make_user: MakeUser
) -> None:
    user: User = make_user(pbx_interface="PJSIP/1002", full_name="Bob")
    answered = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
    call = PbxCall(linkedid="1795400369.2", uniqueid="1795400369.2", queue="support", ended_at=answered)
    db.add(call)
    db.flush()
    db.add(
        QueueLeg(
            call_id=call.id,
            linkedid="1795400369.2",
            uniqueid="1795400369.2",
            queue="support",
            joined_at=answered - timedelta(seconds=5),
            answered_at=answered,
            agent="Bob",
            interface="PJSIP/1002",
        )
    )
    db.add(RecordingPolicy(queue="support", mode="all", share_pct=100, retention_days=30))
    db.commit()
    ingestor.ingest("1795400369.2", captured("1795400369.2"))
    row = _rows(db)[0]
    assert (row.linkedid, row.call_id, row.queue, row.agent, row.agent_user_id) == (
        "1795400369.2",
        call.id,
        "support",
        "Bob",
        user.id,
    )
    assert row.started_at == answered
    assert row.retention_until == answered + timedelta(days=30)
    assert service.recording_for_call(db, "1795400369.2") is not None


# --- finding work -----------------------------------------------------------------------------------------


def test_candidates_are_finished_files_not_yet_ingested(ingestor: Ingestor, spool: Path, db: Session) -> None:
    now = datetime.now(UTC)
    for name in ("10.1", "11.1", "12.1", "13.1"):
        (spool / f"{name}.wav").write_bytes(wav_header(1600) + b"\x00\x01" * 800)
    old = time.time() - 600
    os.utime(spool / "11.1.wav", (old, old))  # untouched for longer than the grace period
    db.add(PbxCall(linkedid="12.0", uniqueid="12.0", recording_file="12.1.wav", ended_at=now))  # call over
    # announced, call over long ago, no file: missing
    db.add(PbxCall(linkedid="14.0", recording_file="14.1.wav", ended_at=now - timedelta(minutes=10)))
    db.commit()
    found = ingestor.candidates(ended=["13.1"], now=now)
    assert found == ["11.1", "12.1", "13.1", "14.1"]  # 10.1 is still being written
    for uniqueid in found:
        ingestor.ingest(uniqueid)
    assert ingestor.candidates(ended=["13.1"], now=now) == []  # done, not taken again
    assert {r.uniqueid: r.status for r in _rows(db)}["14.1"] is RecordingStatus.MISSING


# --- retention --------------------------------------------------------------------------------------------


def test_retention_deletes_audio_past_its_date_unless_held(
    ingestor: Ingestor, store: LocalStore, db: Session
) -> None:
    ids: list[int] = []
    for uniqueid in ("1795400369.2", "1795401089.0"):
        recording_id = ingestor.ingest(uniqueid, captured(uniqueid)).recording_id
        assert recording_id is not None
        ids.append(recording_id)
    service.hold(db, recording_id=ids[1], reason="evaluation", ref="evaluation:12")
    service.hold(db, recording_id=ids[1], reason="evaluation", ref="evaluation:12")  # the same hold once
    db.commit()
    later = datetime.now(UTC) + timedelta(days=400)
    assert ingestor.apply_retention(later) == 1
    rows = _rows(db)
    assert [r.status for r in rows] == [RecordingStatus.DELETED, RecordingStatus.STORED]
    assert store.keys() == [rows[1].storage_key]
    assert ingestor.apply_retention(later) == 0
    # released: the next pass deletes it
    service.release(db, recording_id=ids[1], reason="evaluation", ref="evaluation:12")
    db.commit()
    assert ingestor.apply_retention(later) == 1
    assert store.keys() == []
    assert db.scalar(select(func.count()).select_from(Recording)) == 2  # rows are kept
    # a deleted recording is not brought back by the same file
    assert ingestor.ingest("1795400369.2", captured("1795400369.2")).skipped
    assert store.keys() == []
