"""The S3 backend against moto's server, the HTTP audio served from it, and the arq worker against a
throwaway Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from arq import Worker
from arq.connections import RedisSettings, create_pool
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.security.roles import Role
from recording import arq_worker
from recording.config import RecordingSettings
from recording.models import Recording, RecordingStatus
from recording.storage import LocalStore, S3Store, StoreError, make_store
from recording.worker import Ingestor
from tests.recording.conftest import LoginAs, captured, wav_header
from tests.servers import _free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_store(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Store:
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    bucket = f"rec-{_free_port()}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings = RecordingSettings(
        store="s3", s3_bucket=bucket, s3_endpoint=s3_endpoint, s3_region="us-east-1", s3_prefix="cc"
    )
    store = make_store(settings)
    assert isinstance(store, S3Store)
    return store


def test_s3_store_put_range_size_delete(s3_store: S3Store, tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(bytes(range(256)) * 10)
    assert s3_store.put("2026/11/23/a.mp3", source) == 2560
    assert s3_store.put("b.mp3", b"hello") == 5
    assert s3_store.keys() == ["2026/11/23/a.mp3", "b.mp3"]
    assert s3_store.size("2026/11/23/a.mp3") == 2560 and s3_store.exists("b.mp3")
    assert b"".join(s3_store.open_range("2026/11/23/a.mp3", 10, 19)) == bytes(range(10, 20))
    s3_store.delete("b.mp3")
    s3_store.delete("b.mp3")  # absent: no error
    assert not s3_store.exists("b.mp3")
    with pytest.raises(FileNotFoundError):
        s3_store.size("b.mp3")
    with pytest.raises(StoreError):
        s3_store.put("../escape.mp3", b"x")


def test_local_store_refuses_keys_outside_its_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    for key in ("../x", "/etc/passwd", "", "a\\b"):
        with pytest.raises(StoreError):
            store.put(key, b"x")
    assert store.put("a/b.mp3", b"abc") == 3 and b"".join(store.open_range("a/b.mp3", 1, 5)) == b"bc"


def test_make_store_needs_a_bucket_for_s3(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        make_store(RecordingSettings(store="s3"))
    local = make_store(RecordingSettings(data_dir=tmp_path))
    assert isinstance(local, LocalStore) and local.root == tmp_path / "recordings"


def test_ingest_into_s3_and_play_with_ranges(
    app: FastAPI, s3_store: S3Store, rec_settings: RecordingSettings, login_as: LoginAs, db: Session
) -> None:
    app.state.recording_store = s3_store
    ingestor = Ingestor(app.state.session_factory, s3_store, rec_settings, analyser=None)
    result = ingestor.ingest("1795400369.2", captured("1795400369.2"))
    assert result.status is RecordingStatus.STORED
    row = db.get(Recording, result.recording_id)
    assert row is not None and row.storage_key is not None
    assert s3_store.keys() == [row.storage_key] and row.size_bytes == s3_store.size(row.storage_key)
    sup = login_as(Role.SUPERVISOR)
    whole = sup.get(f"/api/recordings/{row.id}/audio").content
    part = sup.get(f"/api/recordings/{row.id}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200] and len(whole) == row.size_bytes
    assert ingestor.ingest("1795400369.2", captured("1795400369.2")).skipped  # stored once


async def test_arq_worker_ingests_scanned_files_once_and_applies_retention(
    app: FastAPI, redis_url: str, ingestor: Ingestor, spool: Path, store: LocalStore, db: Session
) -> None:
    now = int(time.time())  # uniqueids start with the epoch: these are today's calls
    names = [f"{now}.{n}" for n in (1, 2, 3)]
    for name in names[:2]:
        (spool / f"{name}.wav").write_bytes(wav_header(1600) + b"\x00\x02" * 800)
    (spool / f"{names[2]}.wav").write_bytes(wav_header(0))
    ingestor.settings.grace_seconds = 0.01
    await asyncio.sleep(0.05)
    redis_settings = RedisSettings.from_dsn(redis_url)
    queue = f"arq:recording-test-{_free_port()}"
    pool = await create_pool(redis_settings, default_queue_name=queue)
    ctx = {"ingestor": ingestor, "redis": pool}
    try:
        assert await arq_worker.scan_spool(ctx) == 3
        assert await arq_worker.scan_spool(ctx) == 0  # same files: same job ids, queued once
        # a job for a file already done: skipped, not duplicated
        await pool.enqueue_job("ingest_recording", names[0], _job_id=f"again-{names[0]}")
        worker = Worker(
            functions=arq_worker.WorkerSettings.functions,
            redis_pool=pool,
            queue_name=queue,
            burst=True,
            on_startup=arq_worker.startup,
            ctx=ctx,
            handle_signals=False,
            poll_delay=0.05,
        )
        await worker.async_run()
        assert (worker.jobs_complete, worker.jobs_failed) == (4, 0)
        db.expire_all()
        statuses = {u: s for u, s in db.execute(select(Recording.uniqueid, Recording.status))}
        assert statuses == {
            names[0]: RecordingStatus.STORED,
            names[1]: RecordingStatus.STORED,
            names[2]: RecordingStatus.EMPTY,
        }
        assert len(store.keys()) == 2
        assert await arq_worker.apply_retention(ctx) == 0  # a year to go
    finally:
        await pool.delete(queue)
        await pool.aclose()
    assert db.scalar(select(func.count()).select_from(Recording)) == 3
