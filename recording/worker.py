"""Ingestion of finished recordings and retention: from the PBX's WAV in the spool to compressed audio in the
store, a ``recordings`` row and its analysis; and, periodically, deleting audio past its retention.

When is a WAV finished? Asterisk sends no ``MixMonitorStop`` when a recorded call simply hangs up, so a file
is taken once its call has ended (the live call leaves the ACD's state, or ``pbx_calls.ended_at`` is set) or
once it has not been written for ``grace_seconds``.

Each file is checked (RIFF/WAVE header, PCM format, declared against actual length): a 44-byte header-only
file (a call that never bridged) is ``empty``, a truncated file or garbage ``corrupt`` with the reason, an
expected file that never came ``missing``; none of them stops the worker.

Idempotent, keyed by uniqueid + sha256: a file already stored with the same checksum is skipped; the object
key is derived from both, so a re-run after a crash between ``put`` and the commit re-puts the same key and
commits one row (the row turns ``pending`` → ``stored`` in one transaction after the object is put).

``Ingestor`` does the synchronous work (files, ffmpeg, the database, the store): async code runs it in a
thread. ``RecordingWorker`` is the in-process runner of the demo (an asyncio task); production runs the same
``Ingestor`` in arq (``recording.arq_worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import struct
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from acd.records.models import PbxChannel, QueueLeg
from core.bus import EventBus
from core.calls.models import PbxCall
from core.clock import utcnow
from core.people.models import User
from recording.config import RecordingSettings
from recording.models import Recording, RecordingAnalysis, RecordingHold, RecordingStatus
from recording.policy import effective_policy
from recording.storage import RecordingStore

__all__ = [
    "IngestResult",
    "Ingestor",
    "RecordingWorker",
    "WavInfo",
    "WavProblem",
    "inspect_wav",
    "sha256_of",
    "storage_key",
]

log = logging.getLogger(__name__)

FINAL = frozenset(
    {RecordingStatus.STORED, RecordingStatus.EMPTY, RecordingStatus.CORRUPT, RecordingStatus.DELETED}
)
_UNSET = (0, 0xFFFFFFFF)  # data sizes of a header never updated (the PBX died before closing the file)
Analyser = Callable[[Path], Any]


# --- the WAV itself --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavInfo:
    channels: int
    sample_rate: int
    sample_width: int  # bytes per sample
    data_offset: int
    data_bytes: int  # usable PCM bytes (whole frames)

    @property
    def duration_ms(self) -> int:
        frame = self.channels * self.sample_width
        return round(self.data_bytes / frame / self.sample_rate * 1000)


class WavProblem(Exception):
    """Why a file cannot be stored: ``status`` is ``empty`` or ``corrupt``."""

    def __init__(self, status: RecordingStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def inspect_wav(path: Path) -> WavInfo:
    """The PCM layout of a WAV file, or ``WavProblem`` (empty / corrupt) saying what is wrong with it."""
    size = path.stat().st_size
    corrupt = RecordingStatus.CORRUPT
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise WavProblem(corrupt, f"not a RIFF/WAVE file ({size} bytes)")
        fmt: tuple[int, int, int, int] | None = None
        offset = 12
        while True:
            header = handle.read(8)
            if len(header) < 8:
                what = "no data chunk" if fmt is not None else "no fmt chunk"
                raise WavProblem(corrupt, f"truncated header: {what} in {size} bytes")
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            offset += 8
            if chunk_id == b"fmt ":
                body = handle.read(chunk_size)
                if len(body) < 16:
                    raise WavProblem(corrupt, f"truncated header: fmt chunk cut short in {size} bytes")
                tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                    tag = struct.unpack("<H", body[24:26])[0]
                if tag != 1:
                    raise WavProblem(corrupt, f"unsupported WAV format tag {tag} (PCM expected)")
                if channels < 1 or rate < 1 or bits not in (8, 16, 24, 32):
                    raise WavProblem(corrupt, f"bad fmt chunk: {channels} channels, {rate} Hz, {bits} bits")
                fmt = (tag, channels, rate, bits // 8)
                offset += chunk_size + (chunk_size & 1)
                handle.seek(offset)
            elif chunk_id == b"data":
                if fmt is None:
                    raise WavProblem(corrupt, "data chunk before the fmt chunk")
                available = size - offset
                declared = chunk_size
                if declared in _UNSET:
                    declared = available
                elif declared > available:
                    raise WavProblem(
                        corrupt, f"truncated: header declares {declared} data bytes, file holds {available}"
                    )
                _tag, channels, rate, width = fmt
                frame = channels * width
                usable = declared - declared % frame
                if usable == 0:
                    raise WavProblem(RecordingStatus.EMPTY, f"header only ({size} bytes): no audio")
                return WavInfo(channels, rate, width, offset, usable)
            else:
                offset += chunk_size + (chunk_size & 1)
                if offset > size:
                    raise WavProblem(corrupt, f"truncated {chunk_id!r} chunk")
                handle.seek(offset)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def uniqueid_epoch(uniqueid: str) -> datetime | None:
    """Asterisk's uniqueid starts with the channel's creation epoch (``1795400369.2``)."""
    head = uniqueid.split(".", 1)[0]
    if not head.isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(head), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def storage_key(uniqueid: str, sha256: str, fmt: str = "mp3") -> str:
    """Derived from uniqueid and checksum only: a re-run re-puts the same key."""
    day = uniqueid_epoch(uniqueid)
    folder = f"{day:%Y/%m/%d}" if day is not None else "undated"
    safe = "".join(ch if ch.isalnum() or ch in ".-_" else "_" for ch in uniqueid)
    return f"{folder}/{safe}.{sha256[:16]}.{fmt}"


def encode_mp3(path: Path, info: WavInfo, out: Path, bitrate: str) -> None:
    """The WAV's PCM (as ``inspect_wav`` found it) as MP3 through pydub + ffmpeg (a subprocess)."""
    from pydub import AudioSegment

    with path.open("rb") as handle:
        handle.seek(info.data_offset)
        raw = handle.read(info.data_bytes)
    segment = AudioSegment(
        data=raw, sample_width=info.sample_width, frame_rate=info.sample_rate, channels=info.channels
    )
    segment.export(str(out), format="mp3", bitrate=bitrate)


# --- ingestion -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    uniqueid: str
    status: RecordingStatus
    recording_id: int | None
    skipped: bool = False  # already ingested with the same checksum
    error: str | None = None


@dataclass(frozen=True)
class _CallFacts:
    linkedid: str | None = None
    call_id: int | None = None
    queue: str | None = None
    agent: str | None = None
    agent_user_id: int | None = None
    started_at: datetime | None = None


def _analyse_file(path: Path) -> Any:
    # numpy is loaded with the first recording, not when the app starts (≈ 18 MB a process that records none)
    from recording.analytics import analyse_file

    return analyse_file(path)


_ANALYSIS_FIELDS = tuple(
    f.name
    for f in RecordingAnalysis.__table__.columns
    if f.name not in ("id", "recording_id", "waveform", "analysed_at")
)


class Ingestor:
    """Turns one spool WAV into a stored recording (synchronous: run it in a thread from async code)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        store: RecordingStore,
        settings: RecordingSettings,
        *,
        analyser: Analyser | bool | None = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.settings = settings
        self.clock = clock
        # True: recording.analytics.analyse_file; None/False: no analysis; else this callable.
        self._analyser: Analyser | None = _analyse_file if analyser is True else (analyser or None)

    # --- one file -----------------------------------------------------------------------------------------

    def path_of(self, uniqueid: str) -> Path:
        return self.settings.spool / f"{uniqueid}.wav"

    def ingest(self, uniqueid: str, path: Path | None = None) -> IngestResult:
        """Ingest the recording of ``uniqueid`` (its WAV in the spool unless ``path`` is given)."""
        path = Path(path) if path is not None else self.path_of(uniqueid)
        if not path.is_file():
            return self._mark(uniqueid, path, RecordingStatus.MISSING, f"file not found: {path}", None, None)
        sha = sha256_of(path)
        source_size = path.stat().st_size
        recording_id, done = self._begin(uniqueid, path, sha)
        if done is not None:
            if done.status is RecordingStatus.STORED:
                self._remove_source(path)  # a crash after the commit left it behind
            return done
        try:
            info = inspect_wav(path)
        except WavProblem as problem:
            result = self._mark(uniqueid, path, problem.status, problem.message, sha, source_size)
            if problem.status is RecordingStatus.EMPTY:
                self._remove_source(path)
            return result
        except OSError as exc:
            return self._mark(uniqueid, path, RecordingStatus.CORRUPT, f"unreadable: {exc}", sha, source_size)
        key = storage_key(uniqueid, sha)
        with tempfile.TemporaryDirectory(prefix="rec-") as tmp:
            out = Path(tmp) / "audio.mp3"
            try:
                encode_mp3(path, info, out, self.settings.bitrate)
            except Exception as exc:  # ffmpeg refused the audio: keep the reason, carry on with the next
                log.warning("recording %s could not be converted: %s", uniqueid, exc)
                return self._mark(
                    uniqueid, path, RecordingStatus.CORRUPT, f"conversion failed: {exc}", sha, source_size
                )
            size = self.store.put(key, out)
        analysis = self._analyse(uniqueid, path)
        result = self._finish(recording_id, key, sha, source_size, size, info, analysis)
        self._remove_source(path)
        return result

    def _begin(self, uniqueid: str, path: Path, sha: str) -> tuple[int, IngestResult | None]:
        """The row of ``uniqueid`` (created ``pending`` if new), or the result when nothing is left to do."""
        for attempt in range(2):
            try:
                with self.session_factory.begin() as session:
                    row = session.scalar(select(Recording).where(Recording.uniqueid == uniqueid))
                    if row is not None and row.status in FINAL and row.sha256 == sha:
                        return row.id, IngestResult(
                            uniqueid, row.status, row.id, skipped=True, error=row.error
                        )
                    if row is None:
                        row = Recording(uniqueid=uniqueid, status=RecordingStatus.PENDING)
                        session.add(row)
                    row.source_path = str(path)
                    self._fill_call(session, row)
                    session.flush()
                    return row.id, None
            except IntegrityError:  # another worker created it meanwhile: read it again
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _finish(
        self,
        recording_id: int,
        key: str,
        sha: str,
        source_size: int,
        size: int,
        info: WavInfo,
        analysis: Any,
    ) -> IngestResult:
        """pending → stored, with the analysis, in one transaction (after the object is in the store)."""
        old_key: str | None = None
        with self.session_factory.begin() as session:
            row = session.get(Recording, recording_id)
            assert row is not None
            if row.storage_key and row.storage_key != key:
                old_key = row.storage_key  # the file changed: the old audio goes once the new one is in
            row.status = RecordingStatus.STORED
            row.sha256 = sha
            row.storage_key = key
            row.format = "mp3"
            row.size_bytes = size
            row.source_size_bytes = source_size
            row.duration_ms = info.duration_ms
            row.channels = info.channels
            row.sample_rate = info.sample_rate
            row.error = None
            row.ingested_at = self.clock()
            self._fill_call(session, row)
            policy = effective_policy(session, row.queue, self.settings)
            row.retention_until = (row.started_at or self.clock()) + timedelta(days=policy.retention_days)
            if analysis is not None:
                self._store_analysis(session, row, analysis)
            recording_id = row.id
        if old_key is not None:
            with contextlib.suppress(Exception):
                self.store.delete(old_key)
        return IngestResult(row.uniqueid, RecordingStatus.STORED, recording_id)

    def _mark(
        self,
        uniqueid: str,
        path: Path,
        status: RecordingStatus,
        error: str,
        sha: str | None,
        source_size: int | None,
    ) -> IngestResult:
        """Record why there is no audio (empty / corrupt / missing); a stored recording is left alone."""
        with self.session_factory.begin() as session:
            row = session.scalar(select(Recording).where(Recording.uniqueid == uniqueid))
            if row is None:
                row = Recording(uniqueid=uniqueid)
                session.add(row)
            elif row.status in (RecordingStatus.STORED, RecordingStatus.DELETED):
                # the audio we have is better than a later bad copy or a cleaned-up spool
                return IngestResult(uniqueid, row.status, row.id, skipped=True)
            row.status = status
            row.error = error
            row.sha256 = sha
            row.source_size_bytes = source_size
            row.source_path = str(path)
            self._fill_call(session, row)
            session.flush()
            log.info("recording %s: %s (%s)", uniqueid, status.value, error)
            return IngestResult(uniqueid, status, row.id, error=error)

    def _analyse(self, uniqueid: str, path: Path) -> Any:
        if self._analyser is None:
            return None
        try:
            return self._analyser(path)
        except Exception:  # the audio is stored either way; analysis can be redone
            log.exception("analysis of recording %s failed", uniqueid)
            return None

    @staticmethod
    def _store_analysis(session: Session, row: Recording, analysis: Any) -> None:
        target = row.analysis or RecordingAnalysis()
        for name in _ANALYSIS_FIELDS:
            if hasattr(analysis, name):
                value = _plain(getattr(analysis, name))
                setattr(target, name, list(value or []) if name == "not_measurable" else value)
        waveform = getattr(analysis, "to_waveform", None)
        target.waveform = _plain(waveform() if callable(waveform) else getattr(analysis, "waveform", None))
        target.analysed_at = utcnow()
        if row.analysis is None:
            row.analysis = target

    def _remove_source(self, path: Path) -> None:
        if not self.settings.remove_source:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s from the spool: %s", path, exc)

    # --- the call behind a file -------------------------------------------------------------------------

    def _fill_call(self, session: Session, row: Recording) -> None:
        facts = call_facts(session, row.uniqueid)
        for name in (f.name for f in fields(facts)):
            value = getattr(facts, name)
            if value is not None:
                setattr(row, name, value)
        if row.started_at is None:
            row.started_at = uniqueid_epoch(row.uniqueid)

    # --- finding work -------------------------------------------------------------------------------------

    def candidates(self, *, ended: Iterable[str] = (), now: datetime | None = None) -> list[str]:
        """Uniqueids to ingest now: finished WAVs in the spool (their call ended — ``ended`` from the bus, or
        ``pbx_calls.ended_at`` — or untouched for the grace period) not already ingested as they are, and
        recordings the PBX announced whose call ended long ago without a file (→ missing)."""
        now = now or self.clock()
        grace = self.settings.grace_seconds
        ended_now = set(ended)
        spool = self.settings.spool
        files: dict[str, tuple[int, float]] = {}
        if spool.is_dir():
            for path in spool.glob("*.wav"):
                with contextlib.suppress(OSError):
                    st = path.stat()
                    files[path.stem] = (st.st_size, st.st_mtime)
        out: list[str] = []
        with self.session_factory() as session:
            known = (
                {
                    row.uniqueid: row
                    for row in session.scalars(select(Recording).where(Recording.uniqueid.in_(list(files))))
                }
                if files
                else {}
            )
            ended_calls = _ended_uniqueids(session, list(files)) if files else set()
            for uniqueid, (size, mtime) in sorted(files.items()):
                row = known.get(uniqueid)
                if row is not None and row.status in FINAL and row.source_size_bytes == size:
                    continue
                idle = now.timestamp() - mtime
                if uniqueid in ended_now or uniqueid in ended_calls or idle >= grace:
                    out.append(uniqueid)
            # announced (pbx_calls.recording_file) or pending, call over for the grace period, no file
            since = now - timedelta(days=self.settings.missing_lookback_days)
            before = now - timedelta(seconds=grace)
            announced = session.execute(
                select(PbxCall.recording_file, PbxCall.uniqueid).where(
                    PbxCall.recording_file.is_not(None),
                    PbxCall.ended_at.is_not(None),
                    PbxCall.ended_at >= since,
                    PbxCall.ended_at <= before,
                )
            ).all()
            expected = {PurePosixPath(name).stem for name, _uid in announced if name}
            pending = session.scalars(
                select(Recording.uniqueid).where(
                    Recording.status == RecordingStatus.PENDING, Recording.created_at <= before
                )
            ).all()
            expected |= set(pending)
            expected -= set(files)
            if expected:
                have = set(
                    session.scalars(
                        select(Recording.uniqueid).where(
                            Recording.uniqueid.in_(list(expected)),
                            Recording.status != RecordingStatus.PENDING,
                        )
                    )
                )
                out += sorted(expected - have)
        return out

    # --- retention ------------------------------------------------------------------------------------

    def apply_retention(self, now: datetime | None = None, *, batch: int = 200) -> int:
        """Delete the audio of stored recordings past ``retention_until`` without a hold; the row stays
        (``deleted``). Returns how many were deleted."""
        now = now or self.clock()
        deleted = 0
        while True:
            with self.session_factory.begin() as session:
                held = exists().where(RecordingHold.recording_id == Recording.id)
                rows = session.scalars(
                    select(Recording)
                    .where(
                        Recording.status == RecordingStatus.STORED,
                        Recording.retention_until.is_not(None),
                        Recording.retention_until < now,
                        ~held,
                    )
                    .order_by(Recording.retention_until)
                    .limit(batch)
                ).all()
                for row in rows:
                    if row.storage_key:
                        self.store.delete(row.storage_key)  # before the commit: a re-run deletes again
                    row.status = RecordingStatus.DELETED
                    row.error = None
                deleted += len(rows)
            if len(rows) < batch:
                return deleted


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values (the database driver and JSON take only those)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    for name in ("tolist", "item"):
        convert = getattr(value, name, None)
        if callable(convert):
            return _plain(convert())
    return value


def _ended_uniqueids(session: Session, uniqueids: list[str]) -> set[str]:
    """Of ``uniqueids``, those whose call has ended according to the call records."""
    names = [f"{u}.wav" for u in uniqueids]
    out: set[str] = set()
    rows = session.execute(
        select(PbxCall.uniqueid, PbxCall.recording_file).where(
            PbxCall.ended_at.is_not(None),
            (PbxCall.uniqueid.in_(uniqueids)) | (PbxCall.recording_file.in_(names)),
        )
    ).all()
    for uid, name in rows:
        if uid in uniqueids:
            out.add(uid)
        if name:
            out.add(PurePosixPath(name).stem)
    channel_calls = session.execute(
        select(PbxChannel.uniqueid)
        .join(PbxCall, PbxCall.linkedid == PbxChannel.linkedid)
        .where(PbxChannel.uniqueid.in_(uniqueids), PbxCall.ended_at.is_not(None))
    ).scalars()
    out.update(channel_calls)
    return out


def call_facts(session: Session, uniqueid: str) -> _CallFacts:
    """What the call records say about the call recorded on the caller channel ``uniqueid``."""
    leg = session.scalar(
        select(QueueLeg)
        .where(QueueLeg.uniqueid == uniqueid, QueueLeg.answered_at.is_not(None))
        .order_by(QueueLeg.joined_at)
        .limit(1)
    )
    call: PbxCall | None = None
    if leg is not None:
        call = session.get(PbxCall, leg.call_id)
    if call is None:
        call = session.scalar(
            select(PbxCall)
            .where((PbxCall.recording_file == f"{uniqueid}.wav") | (PbxCall.uniqueid == uniqueid))
            .limit(1)
        )
    if call is None:
        linkedid = session.scalar(select(PbxChannel.linkedid).where(PbxChannel.uniqueid == uniqueid))
        if linkedid is not None:
            call = session.scalar(select(PbxCall).where(PbxCall.linkedid == linkedid))
    if call is None and leg is None:
        return _CallFacts()
    agent_user_id = call.agent_id if call is not None else None
    if agent_user_id is None and leg is not None and leg.interface:
        agent_user_id = session.scalar(select(User.id).where(User.pbx_interface == leg.interface).limit(1))
    return _CallFacts(
        linkedid=call.linkedid if call is not None else leg.linkedid if leg is not None else None,
        call_id=call.id if call is not None else None,
        queue=(leg.queue if leg is not None else None) or (call.queue if call is not None else None),
        agent=leg.agent if leg is not None else None,
        agent_user_id=agent_user_id,
        started_at=(leg.answered_at if leg is not None else None)
        or (call.answered_at if call is not None else None),
    )


# --- the in-process runner -------------------------------------------------------------------------------

DELTA_TOPIC = "acd.delta"
EVENT_TOPIC = "acd.event"


class RecordingWorker:
    """The demo's ingestion runner: scans the spool every ``scan_interval`` (sooner when the bus says a
    recorded call ended), ingests in a thread one file at a time, and applies retention periodically."""

    def __init__(self, ingestor: Ingestor, *, bus: EventBus | None = None) -> None:
        self.ingestor = ingestor
        self.bus = bus
        self.settings = ingestor.settings
        self.results: list[IngestResult] = []  # the latest ones (bounded), for tests and the CLI
        self.errors = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._recorded: dict[str, str] = {}  # linkedid → caller uniqueid of calls recording now
        self._ended: dict[str, float] = {}  # uniqueid → monotonic time from which its file may be read

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._scan_loop(), name="recording-ingest"),
            asyncio.create_task(self._retention_loop(), name="recording-retention"),
        ]
        if self.bus is not None:
            deltas = await self.bus.subscribe(DELTA_TOPIC)
            events = await self.bus.subscribe(EVENT_TOPIC)
            self._tasks += [
                asyncio.create_task(self._follow(deltas), name="recording-deltas"),
                asyncio.create_task(self._follow(events), name="recording-events"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- bus -----------------------------------------------------------------------------------------------

    async def _follow(self, subscription: Any) -> None:
        async with subscription:
            async for item in subscription:
                try:
                    self.observe(item)
                except Exception:
                    log.exception("recording worker could not read %r", item)

    def observe(self, item: Any) -> None:
        """A live-state delta or a domain event: remember recorded calls, note their end."""
        name = type(item).__name__
        if name == "Delta":
            if item.kind != "call":
                return
            if item.data is None:
                uniqueid = self._recorded.pop(item.key, None)
                if uniqueid is not None:
                    self._call_ended(uniqueid)
            elif item.data.get("recording") and item.data.get("uniqueid"):
                self._recorded[item.key] = item.data["uniqueid"]
        elif name == "RecordingStarted":
            self._recorded[item.linkedid] = item.uniqueid
        elif name == "CallEnded":
            self._recorded.pop(item.linkedid, None)
            self._call_ended(item.uniqueid)

    def _call_ended(self, uniqueid: str) -> None:
        self._ended[uniqueid] = time.monotonic() + self.settings.end_delay
        self._wake.set()

    # --- loops ---------------------------------------------------------------------------------------------

    async def _scan_loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                self.errors += 1
                log.exception("recording ingest pass failed; retried at the next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.scan_interval)
            self._wake.clear()
            soonest = min(self._ended.values(), default=None)
            if soonest is not None and soonest > time.monotonic():
                await asyncio.sleep(soonest - time.monotonic())

    async def _retention_loop(self) -> None:
        while True:
            try:
                deleted = await asyncio.to_thread(self.ingestor.apply_retention)
                if deleted:
                    log.info("retention deleted the audio of %d recordings", deleted)
            except Exception:
                self.errors += 1
                log.exception("recording retention pass failed")
            await asyncio.sleep(self.settings.retention_interval)

    async def run_once(self) -> list[IngestResult]:
        """One pass: find what is finished and ingest it, one file at a time, in a worker thread."""
        now = time.monotonic()
        ready = {u for u, at in self._ended.items() if at <= now}
        uniqueids = await asyncio.to_thread(self.ingestor.candidates, ended=ready)
        for uniqueid in ready:
            self._ended.pop(uniqueid, None)
        out: list[IngestResult] = []
        for uniqueid in uniqueids:
            try:
                out.append(await asyncio.to_thread(self.ingestor.ingest, uniqueid))
            except Exception:  # the next file still gets its turn; this one is retried next pass
                self.errors += 1
                log.exception("ingest of recording %s failed", uniqueid)
        self.results = (self.results + out)[-1000:]
        return out
