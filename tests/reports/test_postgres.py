"""The aggregates on PostgreSQL: the rebuild, the maintainer's upserts (ON CONFLICT) and the summary equal the
recomputation, as on SQLite."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from acd.records.models import QueueLeg
from core.db import Base, make_engine, make_session_factory
from reports.aggregates import refresh, upsert
from reports.models import QueueDay, QueueInterval
from reports.queries import series, summary, summary_from_raw
from tests.acd_records.truth import FIXTURES
from tests.reports.helpers import CONFIG, DAY, NOW


def test_aggregates_upsert_on_postgres(fresh_postgres_url: str) -> None:
    from acd.records.replay import load_queues, replay_into

    engine = make_engine(fresh_postgres_url)
    try:
        Base.metadata.create_all(engine)
        with make_session_factory(engine)() as session:
            replay_into(
                session, FIXTURES / "answered", translate=None, queues=load_queues(FIXTURES / "answered")
            )
            assert refresh(session, CONFIG, now=NOW) == -1  # the first step builds everything
            session.commit()
            first = summary(session, settings=CONFIG)
            assert first == summary_from_raw(session, settings=CONFIG)
            assert first["queues"]["support"]["offered"] == 8

            # a call ends after the watermark: the maintainer upserts its bucket and day on PostgreSQL
            replay_into(
                session, FIXTURES / "abandoned", translate=None, queues=load_queues(FIXTURES / "abandoned")
            )
            assert refresh(session, CONFIG, now=NOW, lag=timedelta(days=1)) > 0
            session.commit()
            second = summary(session, settings=CONFIG)
            assert second == summary_from_raw(session, settings=CONFIG)
            assert second["queues"]["support"]["offered"] == 13
            assert second["queues"]["support"]["abandoned"] == 5
            day_rows = series(session, start=DAY, end=DAY, grain="day", by="queue", settings=CONFIG)["totals"]
            assert {r["key"] for r in day_rows} == {"support", "complaints", "sales"}

            # the upsert itself: a second write of the same key updates the row in place
            (row,) = session.scalars(select(QueueDay).where(QueueDay.queue == "support"))
            upsert(
                session,
                QueueDay,
                [{"queue": "support", "day": row.day, "offered": 99, "answered": 1}],
                ("queue", "day"),
            )
            session.expire_all()
            assert session.scalar(select(QueueDay.offered).where(QueueDay.queue == "support")) == 99
            assert (
                session.scalar(select(func.count()).select_from(QueueDay).where(QueueDay.queue == "support"))
                == 1
            )
            assert (session.scalar(select(func.count()).select_from(QueueInterval)) or 0) >= 3
            # answered/ 8 legs; abandoned/ 5 + 2 + 1 joined and the refusal at the door of sales
            assert session.scalar(select(func.count()).select_from(QueueLeg)) == 8 + 9
            session.rollback()
    finally:
        engine.dispose()
