"""Parsers of Asterisk's CSV call records: ``cdr_csv`` Master.csv and ``cel_custom`` cel.csv.

Only what the call records need is kept (ids, times, caller number, the queue a call was sent to); every
line is parsed on its own with a strict CSV reader, so one broken line (bad quoting, too few columns, a
time that is not a time) is counted in ``CsvStats.malformed`` and skipped without swallowing the next.

CDR columns (``loguniqueid``, ``loguserfield``, ``newcdrcolumns``): accountcode, src, dst, dcontext, clid,
channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags,
uniqueid, userfield[, peeraccount, linkedid, sequence]. Without the new columns linkedid is the uniqueid.

CEL columns (the lab's cel_custom mapping): EventType, EventTime, CallerIDname, CallerIDnum, ANI, RDNIS,
DNID, Exten, Context, Channel, AppName, AppData, AMAFlags, AccountCode, UniqueID, LinkedID, BridgePeer,
UserField, UserDefType, EventExtra. EventTime is ``%F %T`` (the lab's ``dateformat``) or an epoch.

CSV times carry no zone: they are the PBX's local time, ``zone`` (UTC unless told).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

CDR_MIN_COLUMNS = 17  # up to uniqueid
CEL_MIN_COLUMNS = 16  # up to LinkedID


@dataclass
class CsvStats:
    lines: int = 0
    malformed: int = 0


@dataclass(frozen=True)
class CdrRecord:
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: datetime
    answer: datetime | None
    end: datetime | None
    duration_s: int | None
    billsec_s: int | None
    disposition: str
    uniqueid: str
    userfield: str
    linkedid: str

    @property
    def queue(self) -> str | None:
        """The queue this record's call was sent to: the dialplan's ``CDR(userfield)=q:<queue>`` marker, else
        the first argument of a ``Queue`` lastapp."""
        if self.userfield.startswith("q:") and self.userfield[2:]:
            return self.userfield[2:]
        if self.lastapp.lower() == "queue" and self.lastdata:
            return self.lastdata.split(",", 1)[0].strip() or None
        return None


@dataclass(frozen=True)
class CelRecord:
    event: str
    at: datetime
    caller_name: str
    caller_number: str
    exten: str
    context: str
    channel: str
    app: str
    app_data: str
    uniqueid: str
    linkedid: str
    peer: str
    userdeftype: str
    extra: str


def _rows(text: str, stats: CsvStats, min_columns: int) -> Iterator[list[str]]:
    for raw in text.split("\n"):  # not splitlines(): U+0085 and friends are data, not line ends
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        stats.lines += 1
        try:
            row = next(csv.reader([line], strict=True))
        except (csv.Error, StopIteration):
            stats.malformed += 1
            continue
        if len(row) < min_columns:
            stats.malformed += 1
            continue
        yield row


def parse_time(text: str, zone: tzinfo = UTC) -> datetime | None:
    """``2026-11-23 02:19:17`` (local to ``zone``) or an epoch ``1795400357.840000``; empty → None.
    Raises ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    except (OverflowError, OSError) as exc:
        raise ValueError(text) from exc
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_cdr(text: str, stats: CsvStats | None = None, *, zone: tzinfo = UTC) -> Iterator[CdrRecord]:
    stats = stats if stats is not None else CsvStats()
    for row in _rows(text, stats, CDR_MIN_COLUMNS):
        try:
            start = parse_time(row[9], zone)
            answer = parse_time(row[10], zone)
            end = parse_time(row[11], zone)
        except ValueError:
            stats.malformed += 1
            continue
        uniqueid = row[16].strip()
        if start is None or not uniqueid:
            stats.malformed += 1
            continue
        linkedid = row[19].strip() if len(row) > 19 and row[19].strip() else uniqueid
        yield CdrRecord(
            src=row[1],
            dst=row[2],
            dcontext=row[3],
            clid=row[4],
            channel=row[5],
            dstchannel=row[6],
            lastapp=row[7],
            lastdata=row[8],
            start=start,
            answer=answer,
            end=end,
            duration_s=_int(row[12]),
            billsec_s=_int(row[13]),
            disposition=row[14],
            uniqueid=uniqueid,
            userfield=row[17] if len(row) > 17 else "",
            linkedid=linkedid,
        )


def parse_cel(text: str, stats: CsvStats | None = None, *, zone: tzinfo = UTC) -> Iterator[CelRecord]:
    stats = stats if stats is not None else CsvStats()
    for row in _rows(text, stats, CEL_MIN_COLUMNS):
        try:
            at = parse_time(row[1], zone)
        except ValueError:
            stats.malformed += 1
            continue
        uniqueid, linkedid = row[14].strip(), row[15].strip()
        if at is None or not row[0] or not uniqueid:
            stats.malformed += 1
            continue

        def col(index: int, row: list[str] = row) -> str:
            return row[index] if index < len(row) else ""

        yield CelRecord(
            event=row[0].upper(),
            at=at,
            caller_name=row[2],
            caller_number=row[3],
            exten=row[7],
            context=row[8],
            channel=row[9],
            app=row[10],
            app_data=row[11],
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            peer=col(16),
            userdeftype=col(18),
            extra=col(19),
        )
