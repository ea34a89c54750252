"""Migrations upgrade an empty database to head on SQLite and PostgreSQL, leave nothing for autogenerate
to add (the model and the migrations agree), and round-trip every form's data on both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from callcenter import migrate
from callcenter.models import load_all_models
from core.audit.service import SYSTEM, Actor
from core.config import Settings
from core.db import make_engine, make_session_factory


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        yield request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
def migrated(database_url: str) -> Iterator[Engine]:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_upgrade_from_empty_reaches_the_model(migrated: Engine) -> None:
    metadata = load_all_models().metadata
    tables = set(inspect(migrated).get_table_names())
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
    with migrated.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(database_url)


def test_round_trip_of_every_form(migrated: Engine, tmp_path: Path) -> None:
    from core.complaints import service as complaints
    from core.complaints.schemas import CallbackIn, ComplaintCreate, TransitionIn
    from core.contacts import service as contacts
    from core.contacts.models import InboundRecord, InterviewPlan, OutboundRecord, PhoneLog
    from core.contacts.schemas import InboundCreate, InterviewPlanCreate, OutboundCreate, PhoneLogCreate
    from core.customers import service as customers
    from core.customers.models import Customer
    from core.customers.schemas import CustomerCreate
    from core.people.models import Team, User
    from core.security.roles import Role

    settings = Settings(data_dir=tmp_path)
    factory = make_session_factory(migrated)
    with factory() as session:
        team = Team(name="一组")
        session.add(team)
        session.flush()
        agent = User(
            username="a1",
            full_name="王芳",
            role=Role.AGENT,
            password_hash="x",
            agent_number="1001",
            team_id=team.id,
            pbx_interface="PJSIP/1001",
        )
        officer = User(username="c1", full_name="李强", role=Role.COMPLAINTS_OFFICER, password_hash="x")
        session.add_all([agent, officer])
        session.flush()
        customer = customers.create_customer(
            session,
            data=CustomerCreate.model_validate(
                {
                    "code": "C900001",
                    "kind": "corporate",
                    "name": "上海华信科技有限公司",
                    "grade": "AAA",
                    "credit_rating": "good",
                    "confidentiality": 2,
                    "region": "上海",
                    "phones": [
                        {"number": "+86 139 0013 9001", "is_primary": True},
                        {"number": "021-62345678", "label": "office"},
                    ],
                    "corporate": {
                        "legal_rep_name": "赵强",
                        "employees": 120,
                        "annual_output_cents": 123456789012,
                        "bank_account": "6222020200112233",
                        "payment_cash_pct": 20,
                        "payment_cheque_pct": 30,
                        "payment_draft_pct": 50,
                        "payment_behaviour": "good",
                    },
                    "contact_windows": [{"weekday": 0, "start": "12:00", "end": "13:30", "note": "午休"}],
                }
            ),
            actor=SYSTEM,
        )
        actor = Actor(agent.id, agent.username)
        started = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        contacts.create_inbound(
            session,
            data=InboundCreate(
                customer_id=customer.id,
                started_at=started,
                content="咨询账单",
                caller_number="13900139001",
                pbx_linkedid="1795400357.0",
            ),
            actor=actor,
            agent_id=agent.id,
            settings=settings,
        )
        contacts.create_outbound(
            session,
            data=OutboundCreate(
                customer_id=customer.id,
                started_at=started,
                content="回访",
                result="no_sale",
                no_sale_reason="价格",
            ),  # type: ignore[arg-type]
            actor=actor,
            agent_id=agent.id,
            settings=settings,
        )
        contacts.create_phone_log(
            session,
            data=PhoneLogCreate(
                party_name="华信",
                phone_number="02162345678",
                called_at=started,
                duration_seconds=65,
                repeat_call_needed=True,
                repeat_call_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
            ),
            actor=actor,
            agent_id=agent.id,
            settings=settings,
        )
        contacts.create_interview_plan(
            session,
            data=InterviewPlanCreate(
                customer_id=customer.id,
                customer_name="赵强",
                planned_at=started,
                date_of_birth=date(1970, 5, 1),
            ),
            actor=actor,
            agent_id=agent.id,
            settings=settings,
        )
        complaint = complaints.register_complaint(
            session,
            data=ComplaintCreate.model_validate(
                {
                    "channel": "phone",
                    "customer_id": customer.id,
                    "customer_name": "赵强",
                    "category": "product",
                    "problem_type": "quality",
                    "reason": "故障",
                    "urgency": "urgent",
                }
            ),
            actor=actor,
            settings=settings,
            received_at=started,
        )
        officer_actor = Actor(officer.id, officer.username)
        for step in (
            {"to": "investigating"},
            {"to": "solution_proposed", "resolution": "repair"},
            {"to": "negotiating"},
            {"to": "in_progress", "acceptance": "accepted"},
            {"to": "closed", "investigation_result": "属实"},
        ):
            complaints.transition(
                session,
                complaint_id=complaint.id,
                data=TransitionIn.model_validate(step),
                actor=officer_actor,
                settings=settings,
            )
        complaints.record_callback(
            session,
            complaint_id=complaint.id,
            data=CallbackIn.model_validate({"satisfaction": 2}),
            actor=officer_actor,
        )
        session.commit()
        complaint_id, customer_id = complaint.id, customer.id

    with Session(migrated) as session:
        stored = session.get(Customer, customer_id)
        assert stored is not None
        assert [p.number for p in stored.phones] == ["+8613900139001", "+862162345678"]
        assert stored.corporate is not None and stored.corporate.annual_output_cents == 123456789012
        assert stored.contact_windows[0].start == time(12, 0)
        inbound = session.scalars(select(InboundRecord)).one()
        assert inbound.started_at == started and inbound.started_at.tzinfo is not None
        assert inbound.caller_number == "+8613900139001" and inbound.agent_number == "1001"
        assert session.scalars(select(OutboundRecord)).one().no_sale_reason == "价格"
        assert session.scalars(select(PhoneLog)).one().repeat_call_needed is True
        assert session.scalars(select(InterviewPlan)).one().date_of_birth == date(1970, 5, 1)
        from core.complaints.models import Complaint

        done = session.get(Complaint, complaint_id)
        assert done is not None
        assert done.case_number == "TS20261123-0001"
        assert done.status.value == "closed" and done.satisfaction == 2
        assert done.closing_number and done.actual_completed_at is not None
