"""The IVR application behind the FastAGI server: for each script path (``ivr``, ``callback``,
``survey``) it runs the active flow of that name and stores one ``ivr_sessions`` row per call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from ivr.agi import AgiSession
from ivr.engine import FlowRun
from ivr.models import IvrOutcome
from ivr.server import IVR_SCRIPTS, FastAgiServer, Handler
from ivr.service import SessionRecord
from ivr.store import IvrStore

log = logging.getLogger(__name__)


class IvrApplication:
    def __init__(
        self,
        store: IvrStore,
        *,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.zone = zone
        self.clock = clock

    def routes(self) -> dict[str, Handler]:
        def make(script: str) -> Handler:
            async def handle(session: AgiSession) -> None:
                await self.handle(script, session)

            return handle

        return {script: make(script) for script in IVR_SCRIPTS}

    def _record(self, script: str, session: AgiSession) -> SessionRecord:
        headers = session.headers
        args = headers.args
        caller = headers.callerid
        return SessionRecord(
            script=script,
            started_at=self.clock(),
            # the dialplan may pass ${CHANNEL(linkedid)} as the first AGI argument; an inbound caller's
            # own channel is the first of its call, so its uniqueid is the linkedid otherwise
            linkedid=(args[0] if args and args[0] else headers.uniqueid) or None,
            uniqueid=headers.uniqueid or None,
            channel=headers.channel or None,
            caller=self.store.caller_number(caller) if caller else None,
            caller_name=headers.calleridname or None,
            language=headers.language or None,
        )

    async def handle(self, script: str, session: AgiSession) -> None:
        record = self._record(script, session)
        try:
            flow = await self.store.active_flow(script)
            if flow is None:
                record.error = f"no active flow named {script!r}"
                log.error("IVR %s: %s", session.headers.uniqueid, record.error)
            else:
                record.flow_id, record.flow_version = flow.id, flow.version
                run = FlowRun(session, flow, record, self.store, zone=self.zone, clock=self.clock)
                await run.run()
        except asyncio.CancelledError:
            record.outcome, record.error = IvrOutcome.ERROR, "server stopped during the call"
            record.ended_at = self.clock()
            await asyncio.shield(self._save(record))
            raise
        except Exception as exc:  # a database failure must not lose the record of the call
            log.exception("IVR %s failed", session.headers.uniqueid)
            record.outcome, record.error = IvrOutcome.ERROR, f"{type(exc).__name__}: {exc}"
        record.ended_at = self.clock()
        await self._save(record)

    async def _save(self, record: SessionRecord) -> None:
        try:
            await self.store.record_session(record)
        except Exception:
            log.exception("could not store the IVR session of %s", record.uniqueid)


def build_server(
    session_factory: sessionmaker[Session],
    *,
    zone: ZoneInfo,
    host: str = "127.0.0.1",
    port: int = 4573,
    phone_region: str = "CN",
    max_sessions: int = 200,
    header_timeout: float = 10.0,
    command_timeout: float = 30.0,
    clock: Callable[[], datetime] = utcnow,
) -> tuple[FastAgiServer, IvrStore]:
    """The server wired to the IVR application; the caller closes the store after ``server.stop()``."""
    store = IvrStore(session_factory, phone_region=phone_region)
    app = IvrApplication(store, zone=zone, clock=clock)
    server = FastAgiServer(
        app.routes(),
        host=host,
        port=port,
        max_sessions=max_sessions,
        header_timeout=header_timeout,
        command_timeout=command_timeout,
    )
    return server, store
