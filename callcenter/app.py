"""The app factory: one FastAPI application with every package's router and the browser UI."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import Session, sessionmaker

import acd
import agent_desktop
import ivr
from callcenter.models import load_all_models
from core import i18n
from core.bus import EventBus, make_bus
from core.config import Settings, get_settings
from core.db import make_engine, make_session_factory
from core.web import install_error_handlers

if TYPE_CHECKING:
    from acd.callbacks import CallbackDialer
    from acd.records.queue_log import QueueConfig
    from acd.service import AcdService
    from ivr.server import FastAgiServer
    from ivr.store import IvrStore

ROUTER_MODULES = (
    "core.people.views",
    "core.audit.views",
    "core.customers.views",
    "core.contacts.views",
    "core.complaints.views",
    "core.equipment.views",
    "core.access.views",
    "acd.views",
    "acd.desktop_views",
    "acd.supervisor_views",
    "acd.wallboard_views",
    "core.escalations.views",
    "core.pause_reasons.views",
    "ivr.views",
    "recording.views",
    "qa.views",
    "qa.sampling_views",
    "reports.views",
    "reports.business_views",
    "agent_desktop.ws",
    "agent_desktop.my_day",
    "agent_desktop.views",  # last: it serves the UI at "/"
)


def _acd_service(
    settings: Settings,
    bus: EventBus,
    session_factory: sessionmaker[Session],
    queues: dict[str, QueueConfig] | None = None,
) -> AcdService:
    """The PBX link and what it feeds, when the settings name an Asterisk (or the simulator)."""
    from acd.records.queue_log import parse_queues_conf
    from acd.service import AcdService

    if queues is None:
        queues = parse_queues_conf(settings.queues_conf.read_text()) if settings.queues_conf else {}
    return AcdService(
        bus=bus,
        session_factory=session_factory,
        host=settings.ami_host or "127.0.0.1",
        port=settings.ami_port,
        username=settings.ami_username,
        secret=settings.ami_secret,
        queues=queues,
        region=settings.phone_region,
        queue_log=settings.queue_log,
        redis_url=settings.redis_url,
    )


def _callback_dialer(
    settings: Settings, session_factory: sessionmaker[Session], acd: AcdService
) -> CallbackDialer:
    from acd.callbacks import CallbackDialer

    dialer = CallbackDialer(session_factory, acd, context=settings.outbound_context)
    dialer.start()
    return dialer


async def _start_ivr(
    settings: Settings, session_factory: sessionmaker[Session]
) -> tuple[FastAgiServer, IvrStore]:
    """The IVR's FastAGI server (Asterisk's dialplan hands calls to it), with the default flows seeded."""
    from ivr.application import build_server

    server, store = build_server(
        session_factory,
        zone=settings.zone,
        host=settings.agi_host,
        port=settings.agi_port or 4573,
        phone_region=settings.phone_region,
    )
    await store.seed_default_flow()
    await server.start()
    return server, store


def server_config(app: FastAPI, *, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """How the app is served, the same in ``serve``/``demo`` and the desktop benchmark. Desktops' frames are
    small JSON on a LAN: per-message compression would cost CPU on every frame and ~40 KB per socket."""
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, ws_per_message_deflate=False, access_log=False
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    load_all_models()
    i18n.register_catalog_dir(agent_desktop.LOCALES)
    i18n.register_catalog_dir(Path(acd.__file__).parent / "locales")  # acd_locales: PBX errors
    i18n.register_catalog_dir(Path(ivr.__file__).parent / "locales")
    for package in ("recording", "qa", "reports"):
        i18n.register_catalog_dir(Path(str(importlib.import_module(package).__file__)).parent / "locales")
    engine = make_engine(settings.resolved_database_url)
    bus = make_bus(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        # the reports: interval aggregates kept equal to the call records as calls end; agents' log-in and
        # pause spans (occupancy, utilisation) from the ACD's events
        from reports.agent_states import AgentStateSubscriber
        from reports.aggregates import AggregateMaintainer, ReportConfig

        maintainer = AggregateMaintainer(app.state.session_factory, ReportConfig.of(settings))
        maintainer.start()
        agent_states = AgentStateSubscriber(bus, app.state.session_factory)
        await agent_states.start()
        # the IVR listens before the simulated PBX places its first call into it (Asterisk would carry on
        # with AGISTATUS=FAILURE and no queue)
        agi = await _start_ivr(settings, app.state.session_factory) if settings.agi_port else None
        simulator = None
        queues = None
        if settings.simulator:
            from callcenter import simulated_pbx

            simulator = simulated_pbx.start_args(settings, app.state.session_factory)
            await simulator.start()
            queues = simulated_pbx.queue_configs(simulator)
        app.state.simulator = simulator
        # The desktop answers the simulated phones; a real PBX's agents answer on their SIP phones (None).
        app.state.softphone = simulated_pbx.softphone(simulator) if simulator is not None else None
        acd = _acd_service(settings, bus, app.state.session_factory, queues) if settings.ami_host else None
        app.state.acd = acd
        if acd is not None:
            await acd.start()
        # the ACD dials the IVR's call-back requests when an agent of their queue is free
        callbacks = _callback_dialer(settings, app.state.session_factory, acd) if acd is not None else None
        app.state.callbacks = callbacks
        # finished recordings (the PBX's spool) → checked, compressed, stored, analysed; the per-queue policy
        from recording.runtime import start_recordings

        recordings = await start_recordings(settings, bus, app.state.session_factory, acd=acd)
        app.state.recording_store = recordings.store
        # QA: sample the current week's calls every CALLCENTER_QA_SAMPLING_INTERVAL_S seconds (0 = off)
        from qa.scheduler import start_sampling_scheduler

        qa_sampling = await start_sampling_scheduler(settings, app.state.session_factory)
        app.state.qa_sampling = qa_sampling
        try:
            yield
        finally:
            if qa_sampling is not None:
                await qa_sampling.stop()
            await recordings.stop()
            # reverse order: the simulator hangs up its callers in the IVR before the IVR stops
            if callbacks is not None:
                await callbacks.stop()
            if acd is not None:
                await acd.close()
            if simulator is not None:
                await simulator.stop()
            if agi is not None:
                await agi[0].stop()
                await agi[1].aclose()
            await agent_states.stop()
            await maintainer.stop()
            await bus.close()
            engine.dispose()

    app = FastAPI(
        title="Call center",
        description="Call-center telephony and agent desktop: customer files, call records, complaints.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.bus = bus
    install_error_handlers(app)
    for name in ROUTER_MODULES:
        router: APIRouter = importlib.import_module(name).router
        app.include_router(router)
    return app
