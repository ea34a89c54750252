"""The throwaway PostgreSQL fixtures really give a PostgreSQL server."""

from __future__ import annotations

import pytest
import sqlalchemy

pytestmark = pytest.mark.postgres


def test_postgres_url_reaches_postgresql(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sqlalchemy.text("select version()")).scalar_one()
    finally:
        engine.dispose()
    assert "PostgreSQL" in version


def test_fresh_postgres_url_is_an_empty_database_of_its_own(
    postgres_url: str, fresh_postgres_url: str
) -> None:
    assert fresh_postgres_url != postgres_url
    engine = sqlalchemy.create_engine(fresh_postgres_url)
    try:
        with engine.begin() as conn:
            tables = conn.execute(
                sqlalchemy.text(
                    "select count(*) from information_schema.tables where table_schema = 'public'"
                )
            ).scalar_one()
            conn.execute(sqlalchemy.text("create table scratch (id int)"))
    finally:
        engine.dispose()
    assert tables == 0
