"""The app with the PBX simulator in its process (scenario ``idle``: the lab's devices and queues, no
traffic), its ACD connected, and users of two teams. Tests place callers themselves and drive the agents'
desktops over HTTP, one client (cookie jar) per user."""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.service import AcdService
from callcenter.app import create_app
from callcenter.models import load_all_models
from core.audit.models import AuditEntry
from core.clock import utcnow
from core.config import Settings
from core.customers.models import ContactWindow, Customer, CustomerGrade, CustomerPhone
from core.people.models import Team, User
from core.security.passwords import hash_password
from core.security.roles import Role
from pbxsim.engine import Call, CallerSpec
from pbxsim.queues import QueueConfig
from pbxsim.simulator import Simulator
from tests.acd_link.helpers import until
from tests.live import free_port

PASSWORD = "pw-12345678"
_codes = itertools.count(1)
CALLER = "13800138000"

# username → (full name, role, phone, team)
PEOPLE: dict[str, tuple[str, Role, str | None, str]] = {
    "wang": ("王芳", Role.AGENT, "PJSIP/1006", "一组"),
    "li": ("李强", Role.AGENT, "PJSIP/1005", "一组"),
    "zhao": ("赵敏", Role.AGENT, "PJSIP/1007", "二组"),
    "lead": ("张组长", Role.TEAM_LEAD, "PJSIP/1003", "一组"),
    "sup": ("周主管", Role.SUPERVISOR, None, "二组"),
}


@dataclass
class Desk:
    app: FastAPI
    sim: Simulator
    acd: AcdService
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def agent(self, username: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.acd.state.snapshot()["agents"].get(PEOPLE[username][0])
        return found

    def call(self, linkedid: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.acd.state.snapshot()["calls"].get(linkedid)
        return found

    def place(self, queue: str, number: str = CALLER) -> Call:
        return self.sim.engine.place_call(CallerSpec(number, "李明", queue))

    async def login_queue(self, username: str, queue: str) -> None:
        response = await self.clients[username].post("/api/desktop/queues/login", json={"queues": [queue]})
        assert response.status_code == 200, response.text
        await until(lambda: queue in ((self.agent(username) or {}).get("queues") or {}), 5.0)

    async def ringing_call(self, username: str, queue: str) -> str:
        """Place a caller into ``queue`` and wait until it rings ``username``'s phone; its linkedid."""
        call = self.place(queue)
        linkedid = call.channel.linkedid
        name = PEOPLE[username][0]
        await until(lambda: name in ((self.call(linkedid) or {}).get("ringing") or ()), 5.0)
        return linkedid

    async def talking_call(self, username: str, queue: str) -> str:
        linkedid = await self.ringing_call(username, queue)
        assert (await self.clients[username].post("/api/desktop/answer")).status_code == 204
        await until(lambda: (self.call(linkedid) or {}).get("state") == "talking", 5.0)
        return linkedid

    def audit(self, action: str, **where: Any) -> list[AuditEntry]:
        with Session(self.app.state.engine) as session:
            query = select(AuditEntry).where(AuditEntry.action == action)
            for key, value in where.items():
                query = query.where(getattr(AuditEntry, key) == value)
            return list(session.scalars(query).all())

    def add_customer(self, *, quiet_all_day: bool = False, confidentiality: int = 1) -> int:
        """A customer with two numbers; ``quiet_all_day``: a 不宜访问时间 window covering all of today."""
        with Session(self.app.state.engine) as session:
            customer = Customer(
                code=f"C{next(_codes):06d}",
                name="李明",
                grade=CustomerGrade.AA,
                confidentiality=confidentiality,
            )
            customer.phones = [
                CustomerPhone(number="+8613900139001", is_primary=True),
                CustomerPhone(number="+8613900139002"),
            ]
            if quiet_all_day:
                today = utcnow().astimezone(self.app.state.settings.zone).weekday()
                # start == end: the whole 24 hours from start (the customers domain's rule)
                customer.contact_windows = [
                    ContactWindow(weekday=today, start=time(0, 0), end=time(0, 0), note="午休")
                ]
            session.add(customer)
            session.commit()
            return customer.id


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # deliberately slow: once per run, not per user


def _seed(app: FastAPI) -> dict[str, int]:
    load_all_models().metadata.create_all(app.state.engine)
    with Session(app.state.engine) as session:
        teams = {name: Team(name=name) for name in ("一组", "二组")}
        session.add_all(teams.values())
        session.flush()
        users = {}
        for username, (full_name, role, phone, team) in PEOPLE.items():
            users[username] = User(
                username=username,
                full_name=full_name,
                role=role,
                password_hash=_password_hash(),
                pbx_interface=phone,
                team_id=teams[team].id,
            )
        session.add_all(users.values())
        session.commit()
        return {name: user.id for name, user in users.items()}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings = Settings(
        data_dir=tmp_path, simulator="idle", ami_host="127.0.0.1", ami_port=free_port(), ami_secret="demo"
    )
    app = create_app(settings)
    ids = _seed(app)
    async with app.router.lifespan_context(app):
        sim: Simulator = app.state.simulator
        # Queues of these tests only: the lab's static members (auto-answering phones) are not in them.
        sim.engine.add_queue(QueueConfig("desk", "rrmemory", 15, 2, 3, record=True))
        sim.engine.add_queue(QueueConfig("desk2", "rrmemory", 15, 2, 3))
        acd: AcdService = app.state.acd
        # What queues.conf would tell the ACD about them (the app reads the simulator's queues at start).
        acd.state.wrapuptime.update({"desk": 3.0, "desk2": 3.0})
        await acd.link.wait_connected(5)
        desk = Desk(app, sim, acd, ids=ids)
        transport = httpx.ASGITransport(app=app)
        try:
            for username in PEOPLE:
                client = httpx.AsyncClient(transport=transport, base_url="http://test")
                response = await client.post(
                    "/api/auth/login", json={"username": username, "password": PASSWORD}
                )
                assert response.status_code == 200, response.text
                desk.clients[username] = client
            yield desk
        finally:
            for client in desk.clients.values():
                await client.aclose()
