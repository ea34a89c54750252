"""The per-queue recording policy (record all / none / a share of the calls) and its application at answer.

Two ways a call gets recorded with a real Asterisk (see deploy/asterisk/README.md, "Recordings"):

* a queue with ``monitor-format=wav`` in queues.conf: app_queue itself starts MixMonitor on the caller's
  channel at answer, for every answered call ("all via queues.conf"); our policy cannot thin that out;
* any other queue: ``RecordingPolicyApplier`` watches the ACD's live call deltas (``acd.delta``) and, when a
  call of that queue is answered and ``should_record`` says so, sends ``MixMonitor`` through acd's command
  API with ``File: <caller uniqueid>.wav`` (a relative name: Asterisk writes it into its monitor spool, as
  app_queue names its own files), option ``b`` (only while bridged).

``should_record`` is deterministic for a share: the same linkedid always gets the same answer, whichever
process asks and however often (a hash of the linkedid, not a random draw).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.bus import EventBus
from recording.config import RecordingSettings
from recording.models import RecordingMode, RecordingPolicy

__all__ = [
    "PolicyRule",
    "RecordingPolicyApplier",
    "effective_policy",
    "policies_by_queue",
    "share_position",
    "should_record",
]

log = logging.getLogger(__name__)

DELTA_TOPIC = "acd.delta"
TALKING = "talking"  # acd.state.TALKING (kept literal: the applier reads deltas, it need not load acd.state)


class PolicyLike(Protocol):
    @property
    def mode(self) -> RecordingMode | str: ...

    @property
    def share_pct(self) -> int: ...


@dataclass(frozen=True)
class PolicyRule:
    """A queue's policy as applied (its row, or the default from the settings)."""

    queue: str | None
    mode: RecordingMode
    share_pct: int
    retention_days: int


def share_position(linkedid: str) -> float:
    """Where a call falls in 0..100 for a share: uniform over linkedids, the same every time."""
    digest = hashlib.sha256(linkedid.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100.0


def should_record(policy: PolicyLike | None, linkedid: str) -> bool:
    """Whether the call ``linkedid`` is recorded under ``policy`` (None: the default, all)."""
    if policy is None:
        return True
    mode = RecordingMode(policy.mode)
    if mode is RecordingMode.ALL:
        return True
    if mode is RecordingMode.NONE:
        return False
    return share_position(linkedid) < max(0, min(100, policy.share_pct))


def default_rule(settings: RecordingSettings, queue: str | None = None) -> PolicyRule:
    return PolicyRule(queue, settings.default_mode, settings.default_share_pct, settings.retention_days)


def policies_by_queue(session: Session, settings: RecordingSettings) -> dict[str, PolicyRule]:
    rows = session.scalars(select(RecordingPolicy))
    return {
        row.queue: PolicyRule(row.queue, RecordingMode(row.mode), row.share_pct, row.retention_days)
        for row in rows
    }


def effective_policy(session: Session, queue: str | None, settings: RecordingSettings) -> PolicyRule:
    """The policy of ``queue``: its own row, else the default of the settings."""
    if queue:
        row = session.scalar(select(RecordingPolicy).where(RecordingPolicy.queue == queue))
        if row is not None:
            return PolicyRule(row.queue, RecordingMode(row.mode), row.share_pct, row.retention_days)
    return default_rule(settings, queue)


StartRecording = Callable[[str, str], Any]  # (channel, file) → awaitable


class RecordingPolicyApplier:
    """On answer in a queue the PBX does not record by itself, start MixMonitor when the policy says so.

    ``start_recording(channel, file)`` sends the command (by default ``acd.commands.recording_start`` over
    the link ``link()`` returns); ``pbx_recorded_queues`` are the queues with ``monitor-format`` in
    queues.conf. Policies are read from the database at most every ``refresh_seconds``.
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        session_factory: sessionmaker[Session],
        settings: RecordingSettings,
        link: Callable[[], Any] | None = None,
        start_recording: StartRecording | None = None,
        pbx_recorded_queues: Collection[str] = (),
        refresh_seconds: float = 30.0,
    ) -> None:
        self.bus = bus
        self.session_factory = session_factory
        self.settings = settings
        self.link = link
        self._start_recording = start_recording
        self.pbx_recorded_queues = frozenset(pbx_recorded_queues)
        self.refresh_seconds = refresh_seconds
        self._policies: dict[str, PolicyRule] = {}
        self._loaded_at = float("-inf")
        self._answered: set[str] = set()  # linkedids whose answer was handled (a call is removed at its end)
        self._task: asyncio.Task[None] | None = None
        self.started = 0
        self.skipped = 0
        self.failed = 0

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        subscription = await self.bus.subscribe(DELTA_TOPIC)
        self._task = asyncio.create_task(self._run(subscription), name="recording-policy")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, subscription: Any) -> None:
        async with subscription:
            async for delta in subscription:
                try:
                    await self.handle_delta(delta)
                except Exception:  # one bad delta must not stop the policy
                    log.exception("recording policy could not handle %r", delta)

    # --- decisions ---------------------------------------------------------------------------------------

    async def handle_delta(self, delta: Any) -> bool:
        """A live-state delta: a call record turning to ``talking`` is an answer. Returns True when
        MixMonitor was started for it."""
        kind = getattr(delta, "kind", None)
        if kind == "reset":
            self._answered.clear()
            return False
        if kind != "call":
            return False
        data: Mapping[str, Any] | None = delta.data
        if data is None:
            self._answered.discard(delta.key)
            return False
        if data.get("state") != TALKING or delta.key in self._answered:
            return False
        self._answered.add(delta.key)
        if data.get("recording"):
            return False
        return await self.on_answer(
            linkedid=str(data.get("linkedid") or delta.key),
            uniqueid=str(data.get("uniqueid") or ""),
            queue=data.get("queue"),
            channel=data.get("channel"),
        )

    async def on_answer(
        self, *, linkedid: str, uniqueid: str, queue: str | None, channel: str | None
    ) -> bool:
        """Apply the policy to one answered call (the CallAnswered of ``queue``)."""
        if queue is None or queue in self.pbx_recorded_queues:
            return False
        policy = await self.policy(queue)
        if not should_record(policy, linkedid):
            self.skipped += 1
            return False
        if not channel or not uniqueid:
            log.warning("call %s answered in %s without a caller channel: not recorded", linkedid, queue)
            self.failed += 1
            return False
        try:
            await self.start_recording(channel, f"{uniqueid}.wav")
        except Exception as exc:
            self.failed += 1
            log.warning("MixMonitor for %s (%s) failed: %s", linkedid, channel, exc)
            return False
        self.started += 1
        return True

    async def start_recording(self, channel: str, file: str) -> None:
        if self._start_recording is not None:
            await self._start_recording(channel, file)
            return
        link = self.link() if self.link is not None else None
        if link is None:
            raise RuntimeError("no PBX link")
        from acd import commands

        await commands.recording_start(link, channel=channel, file=file, options="b")

    async def policy(self, queue: str) -> PolicyRule:
        if time.monotonic() - self._loaded_at > self.refresh_seconds:
            self._policies = await asyncio.to_thread(self._load)
            self._loaded_at = time.monotonic()
        return self._policies.get(queue) or default_rule(self.settings, queue)

    def invalidate(self) -> None:
        """Re-read the policies at the next answer (after an edit in this process)."""
        self._loaded_at = float("-inf")

    def _load(self) -> dict[str, PolicyRule]:
        with self.session_factory() as session:
            return policies_by_queue(session, self.settings)
