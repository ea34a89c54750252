"""The app factory: one FastAPI application with every package's router and the browser UI."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

import agent_desktop
from callcenter.models import load_all_models
from core import i18n
from core.bus import make_bus
from core.config import Settings, get_settings
from core.db import make_engine, make_session_factory
from core.web import install_error_handlers

ROUTER_MODULES = (
    "core.people.views",
    "core.audit.views",
    "core.customers.views",
    "core.contacts.views",
    "core.complaints.views",
    "core.equipment.views",
    "core.access.views",
    "agent_desktop.views",  # last: it serves the UI at "/"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    load_all_models()
    i18n.register_catalog_dir(agent_desktop.LOCALES)
    engine = make_engine(settings.resolved_database_url)
    bus = make_bus(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        try:
            yield
        finally:
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
