"""The database layer: UTC columns, and savepoints that really roll back on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine, make_session_factory
from core.people.models import Skill, Team


def test_savepoint_after_commit_rolls_back_on_sqlite(tmp_path: Path) -> None:
    from callcenter.models import load_all_models

    engine = make_engine(f"sqlite:///{tmp_path / 'sp.db'}")
    load_all_models().metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        session.add(Skill(code="kept", name="kept"))
        session.commit()
        # Without an explicit BEGIN the SAVEPOINT would open the transaction itself, and releasing it
        # would commit: the outer rollback below could no longer undo the row.
        with session.begin_nested():
            session.add(Skill(code="released", name="released"))
        nested = session.begin_nested()
        session.add(Skill(code="undone", name="undone"))
        session.flush()
        nested.rollback()
        session.rollback()
    with factory() as session:
        assert session.scalars(select(Skill.code)).all() == ["kept"]
    engine.dispose()


def test_datetimes_come_back_aware_utc(db: Session) -> None:
    shanghai = timezone(timedelta(hours=8))
    team = Team(name="时区组", created_at=datetime(2026, 11, 24, 9, 30, tzinfo=shanghai))
    db.add(team)
    db.commit()
    db.expire_all()
    stored = db.get(Team, team.id)
    assert stored is not None
    assert stored.created_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    assert stored.created_at.tzinfo is not None


def test_naive_datetime_is_refused(db: Session) -> None:
    db.add(Team(name="naive", created_at=datetime(2026, 11, 24, 9, 30)))
    with pytest.raises(Exception, match="naive datetime"):
        db.commit()
    db.rollback()
