"""The simulator's log writers: Asterisk's queue_log (file format ``epoch|callid|queue|agent|VERB|data…``),
cdr_csv's Master.csv rows (one per agent attempt, ``unanswered=yes``) and cel_custom's Master.csv rows
(``CelLog``; which events and values is the engine's business, see engine.CelTracker).

Lines are kept in memory (tests read them) and optionally appended to a file; the files are small appends
flushed per line, like Asterisk's own logger.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class QueueLog:
    def __init__(self, path: Path | None = None) -> None:
        self.lines: list[str] = []
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path else None

    def write(self, epoch: float, callid: str, queue: str, agent: str, verb: str, *data: object) -> str:
        fields = [str(int(epoch)), callid, queue, agent, verb, *(str(d) for d in data)]
        if len(fields) == 5:
            fields.append("")  # QUEUESTART|, ADDMEMBER|: Asterisk always writes the data1 separator
        line = "|".join(fields)
        self.lines.append(line)
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()
        return line

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


CDR_COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
)
NUMERIC = {"duration", "billsec", "sequence"}


def cdr_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


class CdrLog:
    """cdr_csv's Master.csv (``loguniqueid``, ``loguserfield``, ``newcdrcolumns``): every field quoted but
    the numbers, ``"`` doubled inside values. One row per agent attempt of a queue call (``unanswered``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.rows: list[dict[str, str]] = []
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path else None

    def add(self, **row: str) -> str:
        full = {k: row.get(k, "") for k in CDR_COLUMNS}
        self.rows.append(full)
        line = ",".join(
            full[k] if k in NUMERIC else '"' + full[k].replace('"', '""') + '"' for k in CDR_COLUMNS
        )
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()
        return line

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


CEL_COLUMNS = (
    "EventType",
    "EventTime",
    "CallerIDname",
    "CallerIDnum",
    "ANI",
    "RDNIS",
    "DNID",
    "Exten",
    "Context",
    "Channel",
    "AppName",
    "AppData",
    "AMAFlags",
    "AccountCode",
    "UniqueID",
    "LinkedID",
    "BridgePeer",
    "UserField",
    "UserDefType",
    "EventExtra",
)


class CelLog:
    """cel_custom's Master.csv as the lab configured it: the 20 columns above, every value quoted (empty ones
    too), ``"`` doubled inside values, EventTime ``%F %T`` in UTC."""

    def __init__(self, path: Path | None = None) -> None:
        self.rows: list[dict[str, str]] = []
        self.lines: list[str] = []
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path else None

    def add(self, epoch: float, **row: str) -> str:
        full = {k: row.get(k, "") for k in CEL_COLUMNS}
        full["EventTime"] = cdr_time(epoch)
        self.rows.append(full)
        line = ",".join('"' + full[k].replace('"', '""') + '"' for k in CEL_COLUMNS)
        self.lines.append(line)
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()
        return line

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
