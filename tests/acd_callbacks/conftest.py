"""The app with the PBX simulator in its process (scenario ``idle``), its ACD connected, a queue ``cb`` of
these tests and two agents with phones 1005/1006 that answer quickly. The app's own dialer is stopped so
each test drives its dialers tick by tick (one test keeps it: ``app_dialer``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from acd import commands
from acd.callbacks import ATTEMPT_ACTION, CallbackDialer
from acd.service import AcdService
from callcenter.app import create_app
from callcenter.models import load_all_models
from core.audit.models import AuditEntry
from core.config import Settings
from core.people.models import Team, User
from core.security.roles import Role
from ivr import service as ivr_service
from ivr.models import CallbackReason, CallbackStatus, IvrCallbackRequest
from pbxsim.engine import Channel
from pbxsim.queues import Phone, QueueConfig
from pbxsim.simulator import Simulator
from tests.acd_link.helpers import until
from tests.live import free_port

QUEUE = "cb"
OTHER_QUEUE = "cb2"
# member name → (username, phone)
AGENTS = {"王芳": ("wang", "PJSIP/1006"), "李强": ("li", "PJSIP/1005")}


class Clock:
    """The dialers' clock: real time plus what a test skips ahead."""

    def __init__(self) -> None:
        self.skipped = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skipped


@dataclass
class Bench:
    app: FastAPI
    sim: Simulator
    acd: AcdService
    ids: dict[str, int]
    clock: Clock = field(default_factory=Clock)

    def dialer(self, **kw: Any) -> CallbackDialer:
        kw.setdefault("retry_delay", 60.0)
        kw.setdefault("ring_timeout", 3.0)
        return CallbackDialer(self.app.state.session_factory, self.acd, clock=self.clock, **kw)

    def agent(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.acd.state.snapshot()["agents"].get(name) or {}
        return found

    async def login(self, name: str, *, queue: str = QUEUE, paused: bool = False) -> None:
        interface = AGENTS[name][1]
        await commands.agent_login(
            self.acd.link, queue=queue, interface=interface, member_name=name, paused=paused
        )

        def member() -> dict[str, Any]:
            found: dict[str, Any] = (self.agent(name).get("queues") or {}).get(queue) or {}
            return found

        await until(lambda: member().get("state") == ("paused" if paused else "available"), 5.0)

    def request(self, caller: str = "+8613900139001", queue: str | None = QUEUE) -> int:
        with self.app.state.session_factory() as session:
            row = ivr_service.add_callback_request(
                session,
                caller=caller,
                reason=CallbackReason.LONG_WAIT,
                linkedid=None,
                customer_id=None,
                queue=queue,
                requested_at=self.clock(),
            )
            session.commit()
            return row.id

    def status(self, request_id: int) -> CallbackStatus:
        with Session(self.app.state.engine) as session:
            row = session.get(IvrCallbackRequest, request_id)
            assert row is not None
            return row.status

    def row(self, request_id: int) -> IvrCallbackRequest:
        """The request as stored (detached: its columns are loaded)."""
        with Session(self.app.state.engine, expire_on_commit=False) as session:
            row = session.get(IvrCallbackRequest, request_id)
            assert row is not None
            return row

    def attempts(self, request_id: int) -> list[dict[str, Any]]:
        """The attempts' audit trail (the dialer writes it, never reads it)."""
        with Session(self.app.state.engine) as session:
            query = (
                select(AuditEntry)
                .where(AuditEntry.action == ATTEMPT_ACTION, AuditEntry.object_id == str(request_id))
                .order_by(AuditEntry.id)
            )
            return [dict(entry.detail or {}) for entry in session.scalars(query)]

    def legs_to(self, exten: str) -> list[Channel]:
        """The agent legs the simulator brought up for an Originate towards ``exten``."""
        return [c for c in self.sim.engine.channels.values() if c.exten == exten]


def _seed(app: FastAPI) -> dict[str, int]:
    load_all_models().metadata.create_all(app.state.engine)
    with Session(app.state.engine) as session:
        team = Team(name="一组")
        session.add(team)
        session.flush()
        users = {
            username: User(
                username=username,
                full_name=name,
                role=Role.AGENT,
                password_hash="x",
                pbx_interface=phone,
                team_id=team.id,
            )
            for name, (username, phone) in AGENTS.items()
        }
        session.add_all(users.values())
        session.commit()
        return {username: user.id for username, user in users.items()}


async def _bench(tmp_path: Path, *, keep_app_dialer: bool) -> AsyncIterator[Bench]:
    settings = Settings(
        data_dir=tmp_path, simulator="idle", ami_host="127.0.0.1", ami_port=free_port(), ami_secret="demo"
    )
    app = create_app(settings)
    ids = _seed(app)
    async with app.router.lifespan_context(app):
        sim: Simulator = app.state.simulator
        sim.engine.add_queue(QueueConfig(QUEUE, "rrmemory", 15, 2, 3))
        sim.engine.add_queue(QueueConfig(OTHER_QUEUE, "rrmemory", 15, 2, 3))
        for _, phone in AGENTS.values():
            sim.engine.devices[phone].phone = Phone(answer_after=0.2)
        acd: AcdService = app.state.acd
        await acd.link.wait_connected(5)
        if not keep_app_dialer:
            await app.state.callbacks.stop()
        yield Bench(app, sim, acd, ids)


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    async for value in _bench(tmp_path, keep_app_dialer=False):
        yield value


@pytest.fixture
async def app_dialer(tmp_path: Path) -> AsyncIterator[Bench]:
    async for value in _bench(tmp_path, keep_app_dialer=True):
        yield value
