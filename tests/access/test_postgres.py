"""The same rules on PostgreSQL: the grant table's CHECK constraints, has_grant, and an approval whose
trial run and application use savepoints and a row lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from callcenter.models import load_all_models
from core.access import service
from core.access.models import AccessGrant, ChangeRequestStatus
from core.access.schemas import ChangeRequestCreate
from core.audit.service import Actor
from core.clock import utcnow
from core.customers import service as customers
from core.customers.models import CustomerRatingChange
from core.customers.schemas import CustomerCreate
from core.errors import InvalidFields
from core.people.models import User
from core.security.roles import Role


@pytest.mark.postgres
def test_grants_and_approval_on_postgresql(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url)
    load_all_models().metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        with factory() as session:
            agent = User(username="pg-agent", full_name="坐席", role=Role.AGENT, password_hash="x")
            officer = User(username="pg-officer", full_name="专员", role=Role.INFO_OFFICER, password_hash="x")
            session.add_all([agent, officer])
            session.flush()
            customer = customers.create_customer(
                session,
                data=CustomerCreate(
                    name="沪上客户", grade="AAA", confidentiality=3, phones=[{"number": "13900139001"}]
                ),
                actor=Actor(None, "test"),
            )
            now = utcnow()
            session.add(
                AccessGrant(
                    user_id=agent.id,
                    max_level=3,
                    reason="核对",
                    valid_from=now - timedelta(minutes=1),
                    valid_until=now + timedelta(hours=1),
                )
            )
            session.commit()
            assert service.has_grant(session, user_id=agent.id, customer_id=customer.id, level=3)

            request = service.create_change_request(
                session,
                data=ChangeRequestCreate(
                    customer_id=customer.id, changes={"name": "沪上集团", "grade": "AA"}, reason="更名并调级"
                ),
                phone_region="CN",
                actor=Actor(agent.id, agent.username),
            )
            session.commit()
            session.expire_all()
            assert customer.name == "沪上客户"  # the trial run was rolled back

            other = customers.create_customer(
                session,
                data=CustomerCreate(
                    name="占用代码", code="PG-DUP", grade="A", phones=[{"number": "13900139002"}]
                ),
                actor=Actor(None, "test"),
            )
            session.commit()
            stale_code = service.create_change_request(
                session,
                data=ChangeRequestCreate(
                    customer_id=customer.id, changes={"code": "PG-NEW"}, reason="换代码"
                ),
                phone_region="CN",
                actor=Actor(agent.id, agent.username),
            )
            session.commit()
            other.code = "PG-NEW"  # the wanted code is taken before approval
            session.commit()
            with pytest.raises(InvalidFields):
                service.approve_change_request(
                    session,
                    request_id=stale_code.id,
                    phone_region="CN",
                    actor=Actor(officer.id, officer.username),
                )
            session.commit()

            service.approve_change_request(
                session, request_id=request.id, phone_region="CN", actor=Actor(officer.id, officer.username)
            )
            session.commit()
            session.expire_all()
            assert (customer.name, customer.grade, request.status) == (
                "沪上集团",
                "AA",
                ChangeRequestStatus.APPROVED,
            )
            assert (
                session.query(CustomerRatingChange).filter_by(customer_id=customer.id).one().reason
                == "更名并调级"
            )

            session.add(AccessGrant(user_id=agent.id, reason="两者皆无", valid_until=now + timedelta(days=1)))
            with pytest.raises(IntegrityError):
                session.flush()
    finally:
        engine.dispose()
