"""``callcenter ivr serve``: the FastAGI server alone (migrates the database and seeds the default flow
first, like ``callcenter replay`` does, so a fresh installation answers calls at once)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.config import Settings
from core.db import make_engine, make_session_factory


async def serve_ivr(settings: Settings, *, host: str, port: int, max_sessions: int = 200) -> None:
    """Run until cancelled; stops cleanly (sessions finish or are cancelled, the pool is closed)."""
    from ivr.application import build_server

    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    server, store = build_server(
        factory,
        zone=settings.zone,
        host=host,
        port=port,
        phone_region=settings.phone_region,
        max_sessions=max_sessions,
    )
    try:
        await store.seed_default_flow()
        await server.start()
        print(f"FastAGI server on {host}:{server.port} (scripts: ivr, callback, survey)", flush=True)
        await server.serve_forever()
    finally:
        await server.stop()
        await store.aclose()
        engine.dispose()


def run(settings: Settings, *, host: str, port: int, max_sessions: int) -> int:
    from callcenter import migrate

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a person stops it
        asyncio.run(serve_ivr(settings, host=host, port=port, max_sessions=max_sessions))
    return 0
