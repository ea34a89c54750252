"""The production ingestion worker: the same ``Ingestor`` as the demo's in-process runner, run by arq on
Redis (``arq recording.arq_worker.WorkerSettings``), so that ffmpeg and hashing happen in a process of
their own, on the machine that sees the PBX's spool.

* ``ingest_recording(ctx, uniqueid)`` — one recording (idempotent; safe to enqueue twice or retry).
* ``scan_spool(ctx)`` — every ``scan_interval`` (cron, every 10 s): enqueue ``ingest_recording`` for each
  finished WAV, with a job id naming the file's size and mtime so the same file is queued once.
* ``apply_retention(ctx)`` — hourly (cron): delete the audio past retention unless held.

Configuration: ``CALLCENTER_REDIS_URL`` (the broker), ``CALLCENTER_DATABASE_URL`` / ``CALLCENTER_DATA_DIR``
(core settings) and the ``CALLCENTER_RECORDING_*`` settings (``recording.config``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings

from core.config import Settings
from core.db import make_engine, make_session_factory
from recording.config import RecordingSettings
from recording.storage import make_store
from recording.worker import Ingestor

__all__ = ["WorkerSettings", "apply_retention", "ingest_recording", "job_id", "scan_spool"]

log = logging.getLogger(__name__)


def job_id(uniqueid: str, size: int, mtime_ns: int) -> str:
    """The same file (same size and mtime) is queued once while its result is kept."""
    return f"recording:ingest:{uniqueid}:{size}:{mtime_ns}"


async def startup(ctx: dict[str, Any]) -> None:
    """Builds the ingestor unless the caller (a test) put one in ``ctx``."""
    if "ingestor" in ctx:
        return
    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    ctx["engine"] = engine
    rec = RecordingSettings.from_app(settings)
    ctx["ingestor"] = Ingestor(make_session_factory(engine), make_store(rec), rec)


async def shutdown(ctx: dict[str, Any]) -> None:
    engine = ctx.pop("engine", None)
    if engine is not None:
        engine.dispose()


async def ingest_recording(ctx: dict[str, Any], uniqueid: str) -> str:
    ingestor: Ingestor = ctx["ingestor"]
    result = await asyncio.to_thread(ingestor.ingest, uniqueid)
    return result.status.value


async def apply_retention(ctx: dict[str, Any]) -> int:
    ingestor: Ingestor = ctx["ingestor"]
    return await asyncio.to_thread(ingestor.apply_retention)


async def scan_spool(ctx: dict[str, Any]) -> int:
    """Enqueue the finished recordings; returns how many jobs were new."""
    ingestor: Ingestor = ctx["ingestor"]
    uniqueids = await asyncio.to_thread(ingestor.candidates)
    queued = 0
    for uniqueid in uniqueids:
        path = ingestor.path_of(uniqueid)
        try:
            st = path.stat()
            key = job_id(uniqueid, st.st_size, st.st_mtime_ns)
        except OSError:
            key = job_id(uniqueid, -1, 0)  # expected but absent: marked missing once
        job = await ctx["redis"].enqueue_job("ingest_recording", uniqueid, _job_id=key)
        queued += job is not None
    return queued


def _redis_settings() -> RedisSettings:
    url = Settings().redis_url or "redis://127.0.0.1:6379/0"
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    """``arq recording.arq_worker.WorkerSettings``."""

    functions: ClassVar[list[Any]] = [ingest_recording, apply_retention, scan_spool]
    cron_jobs: ClassVar[list[Any]] = [
        cron(scan_spool, second={0, 10, 20, 30, 40, 50}, unique=True, run_at_startup=True),
        cron(apply_retention, minute=7, second=0, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis_settings()
    max_jobs = 2  # ffmpeg per job: two at a time is plenty next to the PBX
    job_timeout = 600
    max_tries = 3
