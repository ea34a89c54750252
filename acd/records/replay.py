"""The core of ``callcenter replay DIR --db URL``: load a capture folder into the call records and report
per-queue, per-agent figures as JSON. The composition root wires the CLI and passes the AMI translator.

A folder may hold ``cel.csv``, ``cdr.csv``, ``queue_log`` and ``ami.txt``; they are ingested in that order
(CEL first so queue_log's callids map to linkedids; AMI events and queue_log then complete each other).
The queues' configuration is the first ``queues.conf`` found in the folder, ``DIR/conf/`` or ``DIR/../conf/``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.events import CallOutcome
from acd.records.models import QueueLeg, RingAttempt, RingOutcome
from acd.records.queue_log import DEFAULT_SERVICE_LEVEL_S, QueueConfig, parse_queues_conf
from acd.records.service import infer_refusals, ingest_cdr, ingest_cel, ingest_events, ingest_queue_log
from core.db import Base, make_engine, make_session_factory, transaction

log = logging.getLogger(__name__)

QUEUE_FIGURES = (
    "offered",
    "answered",
    "answered_within_sl",
    "abandoned",
    "exit_with_timeout",
    "exit_empty",
    "transferred",
    "avg_wait_answered_s",
    "avg_talk_s",
)


def find_queues_conf(folder: Path) -> Path | None:
    for candidate in (
        folder / "queues.conf",
        folder / "conf" / "queues.conf",
        folder.parent / "conf" / "queues.conf",
    ):
        if candidate.is_file():
            return candidate
    return None


def load_queues(folder: Path) -> dict[str, QueueConfig]:
    path = find_queues_conf(folder)
    return parse_queues_conf(path.read_text(encoding="utf-8", errors="replace")) if path else {}


def replay_folder(
    folder: Path,
    database_url: str,
    *,
    translate: Callable[[bytes], list[object]] | None,
    create_schema: bool = True,
) -> dict[str, Any]:
    """Ingest every source the folder has into the database at ``database_url`` (idempotent: a second
    replay of the same folder adds nothing) and return :func:`summarise` of what the database then holds.
    ``translate`` turns the bytes of ``ami.txt`` into domain events (``acd.translate``); None leaves ami.txt
    out (the files alone)."""
    queues = load_queues(folder)
    engine = make_engine(database_url)
    try:
        if create_schema:
            Base.metadata.create_all(engine)
        with transaction(make_session_factory(engine)) as session:
            replay_into(session, folder, translate=translate, queues=queues)
        with transaction(make_session_factory(engine)) as session:
            return summarise(session, service_level_s={name: q.service_level_s for name, q in queues.items()})
    finally:
        engine.dispose()


def replay_into(
    session: Session,
    folder: Path,
    *,
    translate: Callable[[bytes], list[object]] | None,
    queues: Mapping[str, QueueConfig],
) -> None:
    def read(name: str) -> str | None:
        path = folder / name
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None

    if (text := read("cel.csv")) is not None:
        log.info("cel.csv: %s", ingest_cel(session, text))
    if (text := read("cdr.csv")) is not None:
        log.info("cdr.csv: %s", ingest_cdr(session, text))
    ami = folder / "ami.txt"
    covered = False
    if translate is not None and ami.is_file():
        log.info("ami.txt: %s", ingest_events(session, translate(ami.read_bytes()), queues=queues))
        covered = True
    if (text := read("queue_log")) is not None:
        log.info("queue_log: %s", ingest_queue_log(session, text, queues=queues))
        covered = True
    if covered:
        log.info("refusals inferred from CDR: %d", infer_refusals(session))


def _avg_s(values_ms: list[int]) -> float | None:
    return round(sum(values_ms) / len(values_ms) / 1000.0, 2) if values_ms else None


def summarise(session: Session, *, service_level_s: dict[str, int] | None = None) -> dict[str, Any]:
    """The replay report, ``{"queues": {...}, "agents": {...}, "refused_at_join": {...}}``, over every queue
    leg in the database. Per queue (every queue with a leg; keys sorted):

    * ``offered`` — legs that joined the queue (one per call per stay; refusals are not offered), including
      legs still in progress;
    * ``answered`` — offered legs a member answered (``answered_at`` set), whatever happened afterwards, so a
      call answered and then transferred counts here and in ``transferred``;
    * ``answered_within_sl`` — answered legs whose wait (join → answer, whole seconds as app_queue counts it)
      is at most the queue's ``servicelevel`` (``service_level_s[queue]``, 20 s when not given);
    * ``abandoned`` — legs the caller left by hanging up while waiting (queue_log ABANDON);
    * ``exit_with_timeout`` — legs ended by the ``Queue()`` timeout (EXITWITHTIMEOUT);
    * ``exit_empty`` — legs pushed out because the queue had no usable member left (EXITEMPTY);
    * ``transferred`` — answered legs the member transferred away (BLINDTRANSFER / ATTENDEDTRANSFER);
    * ``avg_wait_answered_s`` — mean wait of the answered legs, seconds (2 decimals), null when none;
    * ``avg_talk_s`` — mean talk time (answer → end or transfer) of the answered legs whose talk is known,
      seconds (2 decimals), null when none.

    Per agent (the member name; every member rung at least once): ``answered`` — ring attempts it answered;
    ``ring_no_answer`` — attempts that rang out (queue ``timeout``, RINGNOANSWER); ``ring_canceled`` —
    attempts stopped because the caller hung up or another member answered first (ringall losers are known
    from AMI only: queue_log does not write them).

    ``refused_at_join`` — per queue, calls refused at the door (JOINEMPTY etc.): no join, not offered.
    """
    levels = service_level_s or {}
    queues: dict[str, dict[str, Any]] = {}
    refused: dict[str, int] = defaultdict(int)
    waits: dict[str, list[int]] = defaultdict(list)
    talks: dict[str, list[int]] = defaultdict(list)
    counters = {
        CallOutcome.ABANDONED: "abandoned",
        CallOutcome.TIMED_OUT: "exit_with_timeout",
        CallOutcome.LEFT_EMPTY_QUEUE: "exit_empty",
        CallOutcome.TRANSFERRED: "transferred",
    }
    for leg in session.scalars(select(QueueLeg).order_by(QueueLeg.queue, QueueLeg.joined_at)):
        figures = queues.setdefault(leg.queue, {key: 0 for key in QUEUE_FIGURES})
        if leg.outcome == CallOutcome.REFUSED_AT_JOIN:
            refused[leg.queue] += 1
            continue
        figures["offered"] += 1
        if leg.outcome in counters:
            figures[counters[leg.outcome]] += 1
        if leg.answered_at is not None:
            figures["answered"] += 1
            if leg.wait_ms is not None:
                waits[leg.queue].append(leg.wait_ms)
                if leg.wait_ms <= levels.get(leg.queue, DEFAULT_SERVICE_LEVEL_S) * 1000:
                    figures["answered_within_sl"] += 1
            if leg.talk_ms is not None:
                talks[leg.queue].append(leg.talk_ms)
    for name, figures in queues.items():
        figures["avg_wait_answered_s"] = _avg_s(waits[name])
        figures["avg_talk_s"] = _avg_s(talks[name])

    agents: dict[str, dict[str, int]] = {}
    column = {
        RingOutcome.ANSWERED: "answered",
        RingOutcome.RING_NO_ANSWER: "ring_no_answer",
        RingOutcome.CANCELED: "ring_canceled",
    }
    for attempt in session.scalars(select(RingAttempt).order_by(RingAttempt.agent)):
        counts = agents.setdefault(attempt.agent, {"answered": 0, "ring_no_answer": 0, "ring_canceled": 0})
        if attempt.outcome is not None:
            counts[column[attempt.outcome]] += 1
    return {
        "queues": dict(sorted(queues.items())),
        "agents": dict(sorted(agents.items())),
        "refused_at_join": dict(sorted(refused.items())),
    }
