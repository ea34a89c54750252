"""Faults: the PBX's AMI goes away several times during a few hundred calls while the PBX itself keeps
taking calls. The link is back within 2 s of each return, the live state equals what the PBX reports after
the resync, and — once queue_log fills what the link missed — no call record is lost or duplicated."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acd.records.models import QueueLeg
from acd.records.service import ingest_queue_log
from acd.service import AcdService
from callcenter.models import load_all_models
from core.bus import InProcessBus
from core.calls.models import PbxCall
from core.db import make_engine, make_session_factory
from pbxsim.ami_server import AmiServer
from pbxsim.simulator import Simulator

OUTAGES = 3


async def settle(service: AcdService, sim: Simulator, seconds: float = 0.05) -> None:
    """Let the bytes already sent reach the live state (virtual time stands still meanwhile)."""
    await asyncio.sleep(seconds)
    deadline = time.monotonic() + 5
    while not service._live.empty() and time.monotonic() < deadline:  # noqa: ASYNC110 - a queue draining
        await asyncio.sleep(0.01)


async def waiting_by_queue_from_pbx(service: AcdService) -> dict[str, set[str]]:
    entries = await service.link.action_list({"Action": "QueueStatus"})
    waiting: dict[str, set[str]] = {}
    for item in entries:
        if item.event == "QueueParams":
            waiting.setdefault(item["Queue"], set())
        elif item.event == "QueueEntry":
            waiting.setdefault(item["Queue"], set()).add(item["Uniqueid"])
    return waiting


async def test_ami_outages_lose_no_call(tmp_path: Path) -> None:
    queue_log = tmp_path / "queue_log"
    sim = Simulator(
        scenario="demo", clock="virtual", demo_hours=2.0, queue_log_path=queue_log, secret="s3cret"
    )
    await sim.start()
    engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    load_all_models().metadata.create_all(engine)
    bus = InProcessBus()
    await bus.start()
    service = AcdService(
        bus=bus,
        session_factory=make_session_factory(engine),
        host="127.0.0.1",
        port=sim.port,
        username="admin",
        secret="s3cret",
        flush_interval=0.05,
        queue_log=queue_log,
        queue_log_interval=3600,  # the test drives the follower itself, at the end
    )
    reconnect_times: list[float] = []
    try:
        await service.start()
        await service.link.wait_connected(5)
        total = sim.scenario.duration + 600.0
        outage_at = {round(total * (n + 1) / (OUTAGES + 2)) for n in range(OUTAGES)}
        elapsed = 0.0
        while elapsed < total:
            await sim.virtual.advance(5.0)
            elapsed += 5.0
            await settle(service, sim, 0.002)
            if any(abs(elapsed - at) < 2.5 for at in outage_at):
                # The AMI endpoint dies; the PBX keeps answering calls for 2 simulated minutes.
                port = sim.server.port
                resync_before = service.link.last_resync
                await sim.server.stop()
                await sim.virtual.advance(120.0)
                elapsed += 120.0
                sim.server = AmiServer(sim.engine, port=port, username="admin", secret="s3cret")
                await sim.server.start()
                back = time.monotonic()
                # polling: the link's state is what is measured, there is no event to wait on
                while not (service.link.connected and service.link.last_resync is not resync_before):
                    assert time.monotonic() - back < 5, "link not back"
                    await asyncio.sleep(0.01)
                reconnect_times.append(time.monotonic() - back)
                await settle(service, sim)
                # Right after the resync, with time standing still: live state = what the PBX says.
                truth = await waiting_by_queue_from_pbx(service)
                live = service.state.snapshot()["queues"]
                for queue, uniqueids in truth.items():
                    assert set(live.get(queue, {}).get("waiting", [])) == uniqueids, queue
        await settle(service, sim, 0.2)
        await service.flush_records()
        assert service.stats.record_batches_failed == 0
        with Session(engine) as session:
            live_only = session.scalar(select(func.count()).select_from(QueueLeg)) or 0
        await asyncio.to_thread(service.ingest_queue_log_tail)  # what the ACD does every few seconds
    finally:
        await service.close()
        await bus.close()
        await sim.stop()

    assert len(reconnect_times) == OUTAGES
    assert max(reconnect_times) < 2.0, reconnect_times

    entered = [line.split("|") for line in queue_log.read_text().splitlines() if "|ENTERQUEUE|" in line]
    assert len(entered) >= 200  # a few hundred calls
    with Session(engine) as session:
        assert live_only < len(entered)  # the outages really cost the link some calls
        print(f"queue visits {len(entered)}, seen live {live_only}, reconnects {reconnect_times}")
        legs = session.scalar(select(func.count()).select_from(QueueLeg)) or 0
        calls = session.scalar(select(func.count()).select_from(PbxCall)) or 0
        # every queue visit exactly once (queue_log's ENTERQUEUE lines), every call once
        assert legs == len(entered)
        assert calls == len({fields[1] for fields in entered})
        # and ingesting the same queue_log again changes nothing
        ingest_queue_log(session, queue_log.read_text())
        session.commit()
        assert session.scalar(select(func.count()).select_from(QueueLeg)) == legs
    engine.dispose()


def test_queue_log_follower_reads_complete_lines_and_survives_rotation(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    load_all_models().metadata.create_all(engine)
    service = AcdService(
        bus=InProcessBus(),
        session_factory=make_session_factory(engine),
        host="127.0.0.1",
        port=1,
        username="x",
        secret="x",
        queue_log=log,
    )
    assert service.ingest_queue_log_tail() == 0  # no file yet
    first = "1795400357|1795400357.0|support|NONE|ENTERQUEUE||13800138001|1\n"
    half = "1795400359|1795400357.0|support|Bob|CONN"
    log.write_text(first + half)
    assert service.ingest_queue_log_tail() == len(first)  # the half-written line waits
    with log.open("a") as handle:
        handle.write("ECT|2|1795400357.1|2\n")
    assert service.ingest_queue_log_tail() == len(half) + len("ECT|2|1795400357.1|2\n")
    with Session(engine) as session:
        (leg,) = session.scalars(select(QueueLeg)).all()
        assert leg.agent == "Bob" and leg.wait_s == 2
    log.write_text("1795400400|1795400400.3|support|NONE|ENTERQUEUE||13800138002|1\n")  # rotated, smaller
    assert service.ingest_queue_log_tail() > 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(QueueLeg)) == 2
    engine.dispose()
