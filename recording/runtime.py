"""What the web process runs for recordings, started and stopped by the app's lifespan: the store the HTTP
API serves from, the in-process ingestion worker (only without Redis: with Redis the arq worker of
``recording.arq_worker`` does the ingestion, next to the PBX's spool) and the policy applier (only with a
PBX link: it sends MixMonitor at answer for the queues Asterisk does not record by itself).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.bus import EventBus
from core.config import Settings
from recording.config import RecordingSettings
from recording.policy import RecordingPolicyApplier
from recording.storage import RecordingStore, make_store
from recording.worker import Ingestor, RecordingWorker

__all__ = ["RecordingRuntime", "start_recordings"]

log = logging.getLogger(__name__)


@dataclass
class RecordingRuntime:
    settings: RecordingSettings
    store: RecordingStore
    worker: RecordingWorker | None
    policy: RecordingPolicyApplier | None

    async def stop(self) -> None:
        for part in (self.policy, self.worker):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.stop()


def pbx_recorded_queues(queues: Mapping[str, Any]) -> set[str]:
    """The queues with ``monitor-format`` in queues.conf (``QueueConfig.records``): Asterisk records them."""
    return {name for name, config in queues.items() if getattr(config, "records", False)}


async def start_recordings(
    settings: Settings,
    bus: EventBus,
    session_factory: sessionmaker[Session],
    *,
    acd: Any = None,
    in_process_worker: bool | None = None,
) -> RecordingRuntime:
    """Start what the settings call for. ``acd`` is the running ``acd.service.AcdService`` (or None without
    a PBX link); ``in_process_worker`` defaults to "no Redis configured"."""
    rec = RecordingSettings.from_app(settings)
    store = make_store(rec)
    if in_process_worker is None:
        in_process_worker = settings.redis_url is None
    worker = None
    if in_process_worker:
        rec.spool.mkdir(parents=True, exist_ok=True)
        worker = RecordingWorker(Ingestor(session_factory, store, rec), bus=bus)
        await worker.start()
    policy = None
    if acd is not None:
        policy = RecordingPolicyApplier(
            bus=bus,
            session_factory=session_factory,
            settings=rec,
            link=lambda: acd.link,
            pbx_recorded_queues=pbx_recorded_queues(acd.queues),
        )
        await policy.start()
    log.info(
        "recordings: store=%s spool=%s worker=%s policy=%s",
        rec.store,
        rec.spool,
        "in-process" if worker else "arq",
        "on" if policy else "off",
    )
    return RecordingRuntime(rec, store, worker, policy)
