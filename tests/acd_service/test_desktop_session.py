"""An agent's own queue session through the app: log in to queues, pause with a reason, resume, log out.
The PBX (the simulator) answers; the live state shows what the PBX then reports."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
from sqlalchemy.orm import Session

from acd.desktop_views import allowed_queues
from callcenter.app import create_app
from callcenter.models import load_all_models
from core.config import Settings
from core.people.models import User
from core.security.passwords import hash_password
from core.security.roles import Role
from pbxsim.queues import QueueConfig
from tests.acd_link.helpers import until
from tests.live import free_port

PASSWORD = "pw-12345678"


def test_allowed_queues_follow_the_skills() -> None:
    needs = {"vip": "vip_service", "billing": "billing"}
    assert allowed_queues(["support", "vip", "billing"], {"billing"}, needs) == ["billing", "support"]
    assert allowed_queues(["support", "vip"], set(), {}) == ["support", "vip"]  # no mapping: all open


async def test_agent_logs_in_pauses_resumes_and_logs_out(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, simulator="idle", ami_host="127.0.0.1", ami_port=free_port(), ami_secret="demo"
    )
    app = create_app(settings)
    load_all_models().metadata.create_all(app.state.engine)
    with Session(app.state.engine) as session:
        session.add_all(
            [
                User(
                    username="wang",
                    full_name="王芳",
                    role=Role.AGENT,
                    password_hash=hash_password(PASSWORD),
                    pbx_interface="PJSIP/1001",
                ),
                User(
                    username="nophone",
                    full_name="李强",
                    role=Role.AGENT,
                    password_hash=hash_password(PASSWORD),
                ),
                User(
                    username="qa",
                    full_name="质检",
                    role=Role.QA_INSPECTOR,
                    password_hash=hash_password(PASSWORD),
                ),
            ]
        )
        session.commit()
    async with app.router.lifespan_context(app):
        sim = app.state.simulator
        sim.engine.add_queue(QueueConfig("support", "rrmemory", 15, 2, 5.0))
        acd = app.state.acd
        await acd.link.wait_connected(5)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post("/api/auth/login", json={"username": "wang", "password": PASSWORD})
            info = (await client.get("/api/desktop/session")).json()
            assert info["pbx_connected"] is True and info["interface"] == "PJSIP/1001"
            assert info["pause_reasons"] == ["休息", "就餐", "培训", "会议"]

            assert (
                await client.post("/api/desktop/queues/login", json={"queues": ["support"]})
            ).status_code == 200

            def agent() -> dict[str, object] | None:
                return next(
                    (a for a in acd.state.snapshot()["agents"].values() if a["interface"] == "PJSIP/1001"),
                    None,
                )

            await until(lambda: agent() is not None and agent()["state"] == "available", 5.0)  # type: ignore[index]
            assert agent()["name"] == "王芳"  # type: ignore[index]

            bad = await client.post("/api/desktop/pause", json={"reason": "打游戏"})
            assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "reason"
            assert (await client.post("/api/desktop/pause", json={"reason": "就餐"})).status_code == 204
            await until(lambda: agent()["state"] == "paused" and agent()["reason"] == "就餐", 5.0)  # type: ignore[index]
            assert (await client.post("/api/desktop/unpause")).status_code == 204
            await until(lambda: agent()["state"] == "available", 5.0)  # type: ignore[index]

            # Queues within the agent's skills: "vip" needs a skill 王芳 has not got.
            app.state.settings.queue_skills = {"vip": "vip_service", "support": "general"}
            info = (await client.get("/api/desktop/session")).json()
            assert "support" in info["queues"]
            assert info["allowed_queues"] == [q for q in info["queues"] if q != "support"]
            app.state.settings.queue_skills = {"vip": "vip_service"}
            info = (await client.get("/api/desktop/session")).json()
            assert info["allowed_queues"] == info["queues"]
            needs = await client.post("/api/desktop/queues/login", json={"queues": ["support", "vip"]})
            assert needs.status_code == 422
            assert needs.json()["fields"][0]["loc"] == ["queues", 1]
            assert "vip_service" in needs.json()["fields"][0]["message"]

            # The PBX's refusal reaches the agent with the PBX's own words.
            refused = await client.post("/api/desktop/queues/login", json={"queues": ["no-such-queue"]})
            assert refused.status_code == 409
            assert refused.json()["error"] == "error.pbx_refused"

            assert (
                await client.post("/api/desktop/queues/logout", json={"queues": ["support"]})
            ).status_code == 200
            await until(lambda: agent() is None or agent()["state"] == "logged_out", 5.0)  # type: ignore[index]

            await client.post("/api/auth/logout")
            await client.post("/api/auth/login", json={"username": "nophone", "password": PASSWORD})
            no_phone = await client.post("/api/desktop/queues/login", json={"queues": ["support"]})
            assert no_phone.status_code == 409 and no_phone.json()["error"] == "error.no_phone"
            await client.post("/api/auth/logout")
            await client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD})
            assert (await client.post("/api/desktop/unpause")).status_code == 403
