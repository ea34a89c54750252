"""The asyncio face of :mod:`ivr.service`: every database call runs in a small thread pool of its own
(so 500 callers in the IVR never block the event loop nor starve the default executor), one short
transaction per call; active flows are cached for a few seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from ivr import service
from ivr.models import CallbackReason
from ivr.service import CustomerInfo, LoadedFlow, SessionRecord, WaitEstimate

T = TypeVar("T")


class IvrStore:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        phone_region: str = "CN",
        workers: int = 4,
        flow_cache_seconds: float = 5.0,
    ) -> None:
        self._factory = session_factory
        self._region = phone_region
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ivr-db")
        self._cache_seconds = flow_cache_seconds
        self._flows: dict[str, tuple[float, LoadedFlow | None]] = {}
        self._flow_lock = asyncio.Lock()

    async def _run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        def work() -> T:
            with transaction(self._factory) as session:
                return fn(session, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(work))

    async def active_flow(self, name: str) -> LoadedFlow | None:
        async with self._flow_lock:  # one load for a burst of calls, not one per caller
            cached = self._flows.get(name)
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
            flow = await self._run(service.active_flow, name=name)
            self._flows[name] = (time.monotonic(), flow)
            return flow

    def forget_flows(self) -> None:
        """Drop the cache (after an admin saved a new version)."""
        self._flows.clear()

    async def customer_by_phone(self, number: str) -> CustomerInfo | None:
        return await self._run(service.customer_by_phone, number=number, region=self._region)

    async def customer_by_code(self, digits: str) -> CustomerInfo | None:
        return await self._run(service.customer_by_code, digits=digits)

    async def complaint_status(self, digits: str) -> str | None:
        return await self._run(service.complaint_status, digits=digits)

    async def estimate_wait(self, queue: str, *, now: datetime, zone: ZoneInfo) -> WaitEstimate:
        return await self._run(service.estimate_wait, queue=queue, now=now, zone=zone)

    async def add_callback_request(
        self,
        *,
        caller: str,
        reason: CallbackReason,
        linkedid: str | None,
        customer_id: int | None,
        queue: str | None,
        requested_at: datetime,
    ) -> int:
        def add(session: Session) -> int:
            return service.add_callback_request(
                session,
                caller=caller,
                reason=reason,
                linkedid=linkedid,
                customer_id=customer_id,
                queue=queue,
                requested_at=requested_at,
            ).id

        return await self._run(add)

    async def add_survey_result(
        self,
        *,
        score: int,
        linkedid: str | None,
        uniqueid: str | None,
        caller: str | None,
        queue: str | None,
        agent_interface: str | None,
        agent_name: str | None,
        answered_at: datetime,
    ) -> int:
        def add(session: Session) -> int:
            return service.add_survey_result(
                session,
                score=score,
                linkedid=linkedid,
                uniqueid=uniqueid,
                caller=caller,
                queue=queue,
                agent_interface=agent_interface,
                agent_name=agent_name,
                answered_at=answered_at,
            ).id

        return await self._run(add)

    async def record_session(self, record: SessionRecord) -> int:
        def add(session: Session) -> int:
            return service.record_session(session, record=record).id

        return await self._run(add)

    async def seed_default_flow(self) -> None:
        await self._run(service.seed_default_flow)
        self.forget_flows()

    def caller_number(self, raw: str) -> str:
        return service.caller_number(raw, self._region)

    def close(self) -> None:
        """Stop the pool (waits for running statements; call after the server stopped)."""
        self._executor.shutdown(wait=True)

    async def aclose(self) -> None:
        """:meth:`close` from async code, without blocking the event loop."""
        await asyncio.to_thread(self._executor.shutdown, True)
