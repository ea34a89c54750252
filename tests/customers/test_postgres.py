"""The customer rules on PostgreSQL: phone search and lookup, LIKE escaping, and an import whose rows run
in SAVEPOINTs (a duplicate code rolls back only its own row)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from callcenter.models import load_all_models
from core.audit.service import Actor
from core.customers import importer, service
from core.customers.models import Customer, CustomerImportJob, CustomerPhone
from core.customers.schemas import CustomerCreate


@pytest.mark.postgres
def test_search_lookup_and_import_on_postgresql(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url)
    load_all_models().metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    actor = Actor(None, "test")
    try:
        with factory() as session:
            first = service.create_customer(
                session,
                data=CustomerCreate(name="沪上100%客户", grade="AAA", phones=[{"number": "13900139001"}]),
                actor=actor,
            )
            service.create_customer(
                session,
                data=CustomerCreate(name="家人", grade="B", phones=[{"number": "+86 139 0013 9001"}]),
                actor=actor,
            )
            session.commit()
            _, total = service.search_customers(session, user_id=0, clearance=1, q="0086-139-0013-9001")
            assert total == 2
            assert [
                c.name for c in service.search_customers(session, user_id=0, clearance=1, q="100%")[0]
            ] == [first.name]
            popped = service.lookup_by_phone(session, phone="139 0013 9001", user_id=0, clearance=1)
            assert len(popped) == 2

            text = (
                "客户代码,客户名称,客户等级,电话\n"
                "PG-1,甲,A,13900139011\nPG-1,乙,A,13900139012\nPG-3,丙,X,13900139013\n,丁,B,13900139014\n"
            )
            parsed = importer.parse_upload(text.encode(), "pg.csv", "zh-CN")
            job = importer.create_job(
                session, filename="pg.csv", parsed=parsed, language="zh-CN", actor=actor
            )
            session.commit()
            job_id = job.id

        importer.run_import(
            factory, job_id=job_id, parsed=parsed, actor=actor, phone_region="CN", language="zh-CN"
        )
        with factory() as session:
            stored = session.get(CustomerImportJob, job_id)
            assert stored is not None and stored.status == "done"
            assert (stored.created_count, stored.error_count) == (2, 2)
            assert [(e["row"], e["field"]) for e in stored.errors] == [(3, "code"), (4, "grade")]
            assert session.scalar(select(func.count()).select_from(Customer)) == 4
            assert session.scalar(select(func.count()).select_from(CustomerPhone)) == 4
    finally:
        engine.dispose()
