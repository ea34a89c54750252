"""What the lifespan starts: the in-process worker without Redis, the policy applier with a PBX link."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI

from acd.records.queue_log import parse_queues_conf
from core.bus import InProcessBus
from core.config import Settings
from recording.runtime import start_recordings
from recording.storage import LocalStore

QUEUES_CONF = Path(__file__).resolve().parents[2] / "deploy" / "asterisk" / "queues.conf"


async def test_demo_runs_the_worker_and_the_policy_skips_queues_asterisk_records(
    app: FastAPI, settings: Settings
) -> None:
    bus = InProcessBus()
    await bus.start()
    queues = parse_queues_conf(QUEUES_CONF.read_text())
    queues["outbound-qa"] = type(queues["support"])(name="outbound-qa")  # no monitor-format
    acd = SimpleNamespace(link=None, queues=queues)
    runtime = await start_recordings(settings, bus, app.state.session_factory, acd=acd)
    try:
        assert runtime.worker is not None and runtime.policy is not None
        assert (
            isinstance(runtime.store, LocalStore) and runtime.store.root == settings.data_dir / "recordings"
        )
        assert (settings.data_dir / "monitor").is_dir()
        assert {"support", "billing", "complaints"} <= runtime.policy.pbx_recorded_queues
        assert "outbound-qa" not in runtime.policy.pbx_recorded_queues
    finally:
        await runtime.stop()
        await bus.close()


async def test_with_redis_the_arq_worker_ingests(app: FastAPI, settings: Settings) -> None:
    bus = InProcessBus()
    await bus.start()
    runtime = await start_recordings(
        settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}), bus, app.state.session_factory
    )
    assert runtime.worker is None and runtime.policy is None
    await runtime.stop()
    await bus.close()
