"""Fixtures of the IVR tests: a throwaway database with the default flow, a running FastAGI server, and the
PBX simulator (the lab's queues, idle) dialling it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.models import load_all_models
from core.customers.models import Customer, CustomerGrade, CustomerPhone
from core.db import make_engine, make_session_factory, transaction
from ivr.application import build_server
from ivr.server import FastAgiServer
from ivr.service import seed_default_flow
from pbxsim import Simulator

ZONE = ZoneInfo("Asia/Shanghai")
# the capture's time: Monday 2026-11-23 10:14 in Shanghai, inside the default opening hours
CAPTURE_TIME = datetime.fromtimestamp(1795400080, UTC)
_codes = itertools.count(1)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ivr.db'}")
    load_all_models().metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        seed_default_flow(session)
    return factory


AddCustomer = Callable[..., Customer]


@pytest.fixture
def add_customer(factory: sessionmaker[Session]) -> AddCustomer:
    def add(
        grade: CustomerGrade = CustomerGrade.A, *, code: str | None = None, phone: str | None = None
    ) -> Customer:
        with transaction(factory) as session:
            customer = Customer(code=code or f"C9{next(_codes):05d}", name="测试客户", grade=grade)
            if phone:
                customer.phones.append(CustomerPhone(number=phone, is_primary=True))
            session.add(customer)
            session.flush()
            return customer

    return add


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(CAPTURE_TIME)


@pytest.fixture
async def server(factory: sessionmaker[Session], clock: Clock) -> AsyncIterator[FastAgiServer]:
    agi, store = build_server(
        factory, zone=ZONE, port=0, clock=clock, header_timeout=1.0, command_timeout=1.0
    )
    await agi.start()
    yield agi
    await agi.stop(grace=2.0)
    await store.aclose()


@pytest.fixture
async def agi(factory: sessionmaker[Session], clock: Clock) -> AsyncIterator[FastAgiServer]:
    server, store = build_server(factory, zone=ZONE, port=0, clock=clock, command_timeout=10.0)
    await server.start()
    yield server
    await server.stop(grace=2.0)
    await store.aclose()


@pytest.fixture
async def sim(agi: FastAgiServer) -> AsyncIterator[Simulator]:
    """The simulator whose hotline callers walk ``agi`` (frames recorded for the assertions)."""
    sim = Simulator(scenario="idle", agi_address=f"127.0.0.1:{agi.port}")
    sim.engine.record_frames = True
    await sim.start(serve=False)
    yield sim
    await sim.stop()
