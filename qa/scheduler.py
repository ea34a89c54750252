"""Sampling on a schedule: an asyncio component of the web process that runs ``qa.sampling.run_sampling``
over the current week every ``interval_s`` seconds, so calls reach the inspectors' worklists during the
week instead of when a QA manager presses "run".

The run is idempotent (a call already assigned is never picked again; the random rule's weekly quota counts
what it already assigned), so each pass only adds the calls stored since the last one. A pass that creates
nothing is rolled back whole: no ``qa_sampling_runs`` row and no audit row every few minutes, only those
passes that assigned something are recorded (by the system actor). A failing pass (database down, a lock)
is logged and retried at the next interval; it never ends the loop.

The period is Monday 00:00 of the current week to the end of today in the center's zone. On a Monday it
starts a week earlier: a call of late Sunday is stored a little after midnight (the PBX closes the file,
the worker compresses it) and would otherwise never be looked at.

Started and stopped by the application's lifespan (``start_sampling_scheduler``), off unless
``CALLCENTER_QA_SAMPLING_INTERVAL_S`` > 0 (``qa.config.QaSettings``). Each web process that has it on runs
its own loop: run_sampling locks the rules (PostgreSQL) or takes SQLite's writer lock, so two processes
never assign the same call twice, but one scheduling process is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from core.audit.service import SYSTEM, Actor
from core.clock import day_bounds_utc, utcnow
from core.config import Settings
from qa.config import QaSettings
from qa.sampling import run_sampling

__all__ = ["SamplingPass", "SamplingScheduler", "sampling_period", "start_sampling_scheduler"]

log = logging.getLogger(__name__)


def sampling_period(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, tomorrow 00:00) of ``now``'s week in the center's zone, as UTC instants; on a Monday
    from the Monday before (late Sunday calls are stored after midnight)."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    if today == monday:
        monday -= timedelta(days=7)
    return day_bounds_utc(monday, zone)[0], day_bounds_utc(today + timedelta(days=1), zone)[0]


@dataclass(frozen=True)
class SamplingPass:
    """What one pass did: the period, how many assignments it made (per rule), the active rules it could
    not use (no inspector or scorecard), and the recorded run's id (None when it created nothing)."""

    period_start: datetime
    period_end: datetime
    created: int
    by_rule: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    run_id: int | None = None


class SamplingScheduler:
    """``start()`` runs a pass at once and then every ``interval_s`` seconds; ``stop()`` lets a pass in
    progress finish (up to ``stop_timeout_s``) and ends the loop. ``run_once()`` is one pass on demand."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        interval_s: float,
        zone: ZoneInfo,
        actor: Actor = SYSTEM,
        clock: Callable[[], datetime] = utcnow,
        first_delay_s: float = 0.0,
        stop_timeout_s: float = 30.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0 (0 means: do not start a scheduler)")
        self.session_factory = session_factory
        self.interval_s = interval_s
        self.zone = zone
        self.actor = actor
        self.clock = clock
        self.first_delay_s = first_delay_s
        self.stop_timeout_s = stop_timeout_s
        # For the health of the component (tests, a status page): counts and the latest outcome.
        self.passes = 0
        self.created = 0
        self.errors = 0
        self.last_pass: SamplingPass | None = None
        self.last_error: str | None = None
        self._failing = 0  # consecutive failed passes: the traceback is logged for the first only
        self._skipped: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="qa-sampling-scheduler")
        log.info("qa sampling scheduler: every %.0f s (%s)", self.interval_s, self.zone.key)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            # wait_for cancels the task if a pass outlives the timeout
            await asyncio.wait_for(task, self.stop_timeout_s)
        except TimeoutError:
            log.warning(
                "qa sampling scheduler: a pass outlived %.0f s at stop; cancelled", self.stop_timeout_s
            )
        except asyncio.CancelledError:
            if not task.cancelled():  # stop() itself was cancelled: pass it on
                raise
        log.info("qa sampling scheduler stopped after %d passes (%d assignments)", self.passes, self.created)

    async def _loop(self) -> None:
        delay = self.first_delay_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            await self.run_once()
            delay = self.interval_s

    async def run_once(self) -> SamplingPass | None:
        """One pass in a worker thread (the database work is synchronous); None when it failed."""
        try:
            done = await asyncio.to_thread(self._pass)
        except Exception as error:  # the loop must outlive any one pass
            self.errors += 1
            self._failing += 1
            self.last_error = f"{type(error).__name__}: {error}"
            if self._failing == 1:
                log.exception("qa sampling pass failed; retried every %.0f s", self.interval_s)
            else:
                log.warning("qa sampling pass failed again (%d in a row): %s", self._failing, self.last_error)
            return None
        if self._failing:
            log.info("qa sampling passes work again after %d failures", self._failing)
        self._failing = 0
        self.last_error = None
        self.passes += 1
        self.created += done.created
        self.last_pass = done
        if done.created:
            log.info(
                "qa sampling: %d new assignments %s (run %s, %s – %s)",
                done.created,
                {code: n for code, n in done.by_rule.items() if n},
                done.run_id,
                done.period_start.isoformat(),
                done.period_end.isoformat(),
            )
        else:
            log.debug("qa sampling: nothing new")
        if done.skipped != self._skipped:  # said once per change, not every few minutes
            if done.skipped:
                log.warning("qa sampling: active rules without inspector or scorecard: %s", done.skipped)
            self._skipped = list(done.skipped)
        return done

    def _pass(self) -> SamplingPass:
        start, end = sampling_period(self.clock(), self.zone)
        with self.session_factory() as session:
            try:
                result = run_sampling(
                    session, period_start=start, period_end=end, zone=self.zone, actor=self.actor
                )
                run_id = result.run.id if result.created else None
                if result.created:
                    session.commit()
                else:
                    session.rollback()  # nothing assigned: leave no run row nor audit row behind
            except BaseException:
                session.rollback()
                raise
        return SamplingPass(
            period_start=start,
            period_end=end,
            created=result.created,
            by_rule=dict(result.by_rule),
            skipped=list(result.skipped),
            run_id=run_id,
        )


async def start_sampling_scheduler(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    qa_settings: QaSettings | None = None,
) -> SamplingScheduler | None:
    """The scheduler the settings ask for, started; None when ``CALLCENTER_QA_SAMPLING_INTERVAL_S`` is 0."""
    config = qa_settings or QaSettings()
    if not config.sampling_enabled:
        log.info("qa sampling scheduler: off (CALLCENTER_QA_SAMPLING_INTERVAL_S=0)")
        return None
    scheduler = SamplingScheduler(session_factory, interval_s=config.sampling_interval_s, zone=settings.zone)
    await scheduler.start()
    return scheduler
