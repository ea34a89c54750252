"""The running ACD end to end: captured Asterisk events arrive over a real TCP AMI connection; the live
state ends as Asterisk left it and the durable records equal a replay of the same capture, although they
were written in several batches while the call was still going on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.orm import Session

from acd.ami.frames import parse_capture
from acd.records.replay import load_queues, summarise
from acd.records.service import ingest_events
from acd.service import AcdService
from acd.translate import translate_frames
from callcenter.models import load_all_models
from core.bus import InProcessBus
from core.db import make_engine, make_session_factory
from tests.acd_link.fake_ami import FIXTURES, FakeAmi, split_blocks
from tests.acd_link.helpers import until

ANSWERED = FIXTURES / "answered"


def event_blocks(folder: Path) -> list[bytes]:
    """The capture's unsolicited events (not the lab client's own action replies)."""
    _banner, blocks = split_blocks((folder / "ami.txt").read_bytes())
    return [
        b for b in blocks if b.startswith(b"Event: ") and b"ActionID:" not in b and b"FullyBooted" not in b
    ]


async def test_capture_over_tcp_gives_live_state_and_records(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    load_all_models().metadata.create_all(engine)
    queues = load_queues(ANSWERED)
    fake = FakeAmi()
    await fake.start()
    bus = InProcessBus()
    await bus.start()
    service = AcdService(
        bus=bus,
        session_factory=make_session_factory(engine),
        host="127.0.0.1",
        port=fake.port,
        username="lab",
        secret="labsecret",
        queues=queues,
        flush_interval=0.05,
    )
    deltas = await bus.subscribe("acd.delta")
    try:
        await service.start()
        await service.link.wait_connected(5)
        blocks = event_blocks(ANSWERED)
        # In four parts with pauses: the records are written in several batches mid-call.
        quarter = len(blocks) // 4 + 1
        for start in range(0, len(blocks), quarter):
            fake.push(b"".join(blocks[start : start + quarter]))
            await asyncio.sleep(0.2)
        await until(lambda: service.translator.stats.frames >= len(blocks) and service._live.empty(), 10.0)
        await service.flush_records()
        assert service.stats.record_batches_failed == 0
        assert service.stats.records_written > 0

        snapshot = service.state.snapshot()
        assert snapshot["calls"] == {}  # every call of the capture ended
        assert deltas.qsize() > 0  # deltas went out on the bus

        with Session(engine) as session:
            live_records = summarise(session)
        expected_engine = make_engine(f"sqlite:///{tmp_path / 'replay.db'}")
        load_all_models().metadata.create_all(expected_engine)
        _parser, frames = parse_capture((ANSWERED / "ami.txt").read_bytes())
        with Session(expected_engine) as session:
            ingest_events(session, translate_frames(frames), queues=queues)
            session.commit()
            expected = summarise(session)
        expected_engine.dispose()
        assert live_records == expected
        assert live_records["queues"]["support"]["answered"] == 8
        assert live_records["agents"]["Alice"]["ring_no_answer"] == 5
    finally:
        await deltas.close()
        await service.close()
        await bus.close()
        await fake.stop()
        engine.dispose()


async def test_app_serves_the_live_view_from_the_pbx(tmp_path: Path) -> None:
    import httpx2 as httpx

    from callcenter.app import create_app
    from core.config import Settings
    from core.people.models import User
    from core.security.passwords import hash_password
    from core.security.roles import Role

    fake = FakeAmi()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path,
        ami_host="127.0.0.1",
        ami_port=fake.port,
        ami_username="lab",
        ami_secret="labsecret",
        queues_conf=FIXTURES / "conf" / "queues.conf",
    )
    app = create_app(settings)
    load_all_models().metadata.create_all(app.state.engine)
    with Session(app.state.engine) as session:
        session.add_all(
            [
                User(
                    username="lead",
                    full_name="组长",
                    role=Role.TEAM_LEAD,
                    password_hash=hash_password("pw-12345678"),
                ),
                User(
                    username="agent",
                    full_name="坐席",
                    role=Role.AGENT,
                    password_hash=hash_password("pw-12345678"),
                ),
            ]
        )
        session.commit()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                await app.state.acd.link.wait_connected(5)
                blocks = event_blocks(ANSWERED)
                fake.push(b"".join(blocks[: len(blocks) // 2]))  # the capture half-way: calls in progress
                await until(lambda: app.state.acd.translator.stats.frames >= len(blocks) // 2, 10.0)
                await until(lambda: app.state.acd._live.empty(), 10.0)
                login = await client.post(
                    "/api/auth/login", json={"username": "lead", "password": "pw-12345678"}
                )
                assert login.status_code == 200
                view = (await client.get("/api/acd/live")).json()
                assert view["pbx"] == {"configured": True, "connected": True, "version": "11.0.0"}
                (support,) = [q for q in view["queues"] if q["name"] == "support"]
                assert support["offered"] >= 1 and support["answered"] >= 1
                assert {a["name"] for a in view["agents"]} >= {"Alice", "Bob", "Carol", "Dave"}
                assert view["calls"] and all(c["queue"] == "support" for c in view["calls"])
                await client.post("/api/auth/logout")
                await client.post("/api/auth/login", json={"username": "agent", "password": "pw-12345678"})
                assert (await client.get("/api/acd/live")).status_code == 403
    finally:
        await fake.stop()


async def test_demo_pbx_is_the_simulator_staffed_with_our_agents(tmp_path: Path) -> None:
    import httpx2 as httpx

    from callcenter.app import create_app
    from core.config import Settings
    from core.people.models import Skill, User, UserSkill
    from core.security.passwords import hash_password
    from core.security.roles import Role
    from tests.live import free_port

    settings = Settings(
        data_dir=tmp_path, simulator="demo", ami_host="127.0.0.1", ami_port=free_port(), ami_secret="demo"
    )
    app = create_app(settings)
    load_all_models().metadata.create_all(app.state.engine)
    with Session(app.state.engine) as session:
        billing = Skill(code="billing", name="账单")
        session.add(
            User(
                username="lead",
                full_name="组长",
                role=Role.TEAM_LEAD,
                password_hash=hash_password("pw-12345678"),
            )
        )
        for n in range(3):
            agent = User(
                username=f"a{n}",
                full_name=f"坐席{n}",
                role=Role.AGENT,
                password_hash="x",
                pbx_interface=f"PJSIP/10{n:02d}",
            )
            agent.skills = [UserSkill(skill=billing, level=8)]
            session.add(agent)
        session.commit()
    async with app.router.lifespan_context(app):
        await app.state.acd.link.wait_connected(5)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post("/api/auth/login", json={"username": "lead", "password": "pw-12345678"})
            await until(lambda: app.state.acd.state.snapshot()["agents"], 10.0)
            view = (await client.get("/api/acd/live")).json()
    assert view["pbx"]["connected"] is True
    assert {q["name"] for q in view["queues"]} == {"billing", "sales", "support"}
    assert {a["name"] for a in view["agents"]} == {"坐席0", "坐席1", "坐席2"}
    assert all(a["queues"] == ["billing"] for a in view["agents"])
