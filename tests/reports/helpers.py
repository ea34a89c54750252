"""Shared helpers of the reports tests: replaying a capture folder into a database and aggregating it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from acd.records.queue_log import QueueConfig
from acd.records.replay import load_queues, replay_into
from core.db import Base, make_engine, make_session_factory
from reports import models as report_models
from reports.agent_states import ingest_agent_states
from reports.aggregates import ReportConfig, refresh
from tests.acd_records.truth import FIXTURES

assert report_models  # the reports' tables join the metadata before create_all

NOW = datetime(2026, 11, 24, tzinfo=UTC)  # after every capture: no span is open "until now"
DAY = date(2026, 11, 23)  # every capture's day (UTC 2026-11-23 ≈ the same day in Asia/Shanghai)
CONFIG = ReportConfig()


def translate(data: bytes) -> list[object]:
    from acd.ami.frames import parse_capture
    from acd.translate import translate_frames

    _parser, frames = parse_capture(data)
    return translate_frames(frames)


def replayed(tmp_path: Path, folder: str, *, ami: bool = False, states: bool = True) -> Session:
    """A session on a fresh SQLite database holding the folder's call records (files; ``ami``: ami.txt
    too), its agent-state spans from queue_log, and the aggregates (one maintainer step)."""
    engine = make_engine(f"sqlite:///{tmp_path / f'{folder}.db'}")
    Base.metadata.create_all(engine)
    session = make_session_factory(engine)()
    queues: dict[str, QueueConfig] = load_queues(FIXTURES / folder)
    replay_into(session, FIXTURES / folder, translate=translate if ami else None, queues=queues)
    if states:
        ingest_agent_states(session, (FIXTURES / folder / "queue_log").read_text(), queues=queues)
    refresh(session, CONFIG, now=NOW)
    session.commit()
    return session
