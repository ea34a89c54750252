"""Registration: case numbers (format, per-day sequence in the center's zone, concurrency), the deadline an
urgency promises, phone normalisation and masking, and the validation messages in both languages."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.models import load_all_models
from core.audit.models import AuditEntry
from core.calls.models import PbxCall
from core.complaints import service
from core.complaints.models import Complaint, ComplaintEvent
from core.complaints.schemas import ComplaintCreate
from core.config import Settings
from core.errors import InvalidFields
from core.people.models import User
from core.security.roles import Role
from tests.complaints.helpers import actor_of, payload, register
from tests.conftest import LoginAs, MakeUser

CASE = re.compile(r"^TS\d{8}-\d{4}$")


def test_two_on_the_same_day_get_0001_and_0002(db: Session, settings: Settings, make_user: MakeUser) -> None:
    user = make_user(Role.AGENT)
    first = register(db, settings, user, received_at=datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    second = register(db, settings, user, received_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    other_day = register(db, settings, user, received_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
    assert (first.case_number, second.case_number) == ("TS20261102-0001", "TS20261102-0002")
    assert other_day.case_number == "TS20261103-0001"
    assert all(CASE.match(c.case_number) for c in (first, second, other_day))


def test_the_day_of_a_case_number_is_the_center_zone_day(
    db: Session, settings: Settings, make_user: MakeUser
) -> None:
    user = make_user(Role.AGENT)
    # 17:30 UTC on the 23rd is 01:30 on the 24th in Asia/Shanghai.
    late = register(db, settings, user, received_at=datetime(2026, 11, 23, 17, 30, tzinfo=UTC))
    before = register(db, settings, user, received_at=datetime(2026, 11, 23, 15, 59, tzinfo=UTC))
    assert late.case_number == "TS20261124-0001"
    assert before.case_number == "TS20261123-0001"
    # A naive time typed by a person is the center's wall time.
    typed = register(db, settings, user, received_at=datetime(2026, 11, 24, 0, 10))
    assert typed.received_at == datetime(2026, 11, 23, 16, 10, tzinfo=UTC)
    assert typed.case_number == "TS20261124-0002"


def test_a_number_already_taken_is_skipped(db: Session, settings: Settings, make_user: MakeUser) -> None:
    user = make_user(Role.AGENT)
    first = register(db, settings, user, received_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
    # A row written past the counter (e.g. imported from the old paper register) holds -0002.
    imported = Complaint(
        **{
            k: getattr(first, k)
            for k in ("received_at", "channel", "customer_name", "category", "problem_type", "reason")
        },
        urgency=first.urgency,
        promised_deadline=first.promised_deadline,
        case_number="TS20261105-0002",
    )
    db.add(imported)
    db.commit()
    third = register(db, settings, user, received_at=datetime(2026, 11, 5, 3, 0, tzinfo=UTC))
    assert third.case_number == "TS20261105-0003"


def _register_concurrently(
    factory: sessionmaker[Session], settings: Settings, user: User, n: int
) -> list[str]:
    barrier = threading.Barrier(n)
    numbers: list[str] = []
    errors: list[BaseException] = []
    received = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)

    def worker() -> None:
        try:
            barrier.wait()
            with factory() as session:
                complaint = service.register_complaint(
                    session,
                    data=ComplaintCreate.model_validate(payload()),
                    actor=actor_of(user),
                    settings=settings,
                    received_at=received,
                )
                session.commit()
                numbers.append(complaint.case_number)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return numbers


def test_concurrent_registrations_get_distinct_numbers(
    app: FastAPI, settings: Settings, make_user: MakeUser
) -> None:
    user = make_user(Role.AGENT)
    numbers = _register_concurrently(app.state.session_factory, settings, user, 8)
    assert sorted(numbers) == [f"TS20261110-{n:04d}" for n in range(1, 9)]


@pytest.mark.postgres
def test_concurrent_registrations_get_distinct_numbers_on_postgresql(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url, pool_size=10)
    load_all_models().metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        user = User(username="pg", full_name="并发", role=Role.AGENT, password_hash="x")
        session.add(user)
        session.commit()
    try:
        numbers = _register_concurrently(factory, Settings(), user, 8)
        assert sorted(numbers) == [f"TS20261110-{n:04d}" for n in range(1, 9)]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("urgency", "hours"), [("very_urgent", 24), ("urgent", 72), ("normal", 168)])
def test_urgency_sets_the_promised_deadline(
    db: Session, settings: Settings, make_user: MakeUser, urgency: str, hours: int
) -> None:
    received = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    complaint = register(db, settings, make_user(), received_at=received, urgency=urgency)
    assert complaint.promised_deadline == received + timedelta(hours=hours)


def test_deadline_hours_come_from_the_settings(db: Session, settings: Settings, make_user: MakeUser) -> None:
    received = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    custom = settings.model_copy(update={"complaint_deadline_hours_urgent": 48})
    complaint = register(db, custom, make_user(), received_at=received, urgency="urgent")
    assert complaint.promised_deadline == received + timedelta(hours=48)


def test_an_explicit_deadline_wins(db: Session, settings: Settings, make_user: MakeUser) -> None:
    received = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    complaint = register(
        db,
        settings,
        make_user(),
        received_at=received,
        urgency="normal",
        promised_deadline="2026-11-21T18:00:00",
    )
    assert complaint.promised_deadline == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # 18:00 Shanghai


def test_register_through_the_api(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    db.add(PbxCall(linkedid="1732412345.77", direction="inbound"))
    db.commit()
    response = agent.post("/api/complaints", json=payload(pbx_call_linkedid="1732412345.77"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert CASE.match(body["case_number"])
    assert body["status"] == "registered" and body["acceptance"] == "pending"
    assert body["registered_by_id"] == agent.user.id  # type: ignore[attr-defined]
    assert body["customer_phone"] == "139****9001"  # agents see it masked
    assert body["pbx_call_id"] is not None and body["pbx_call_linkedid"] == "1732412345.77"
    received = datetime.fromisoformat(body["received_at"])
    assert received.utcoffset() == timedelta(0)
    assert datetime.fromisoformat(body["promised_deadline"]) - received == timedelta(hours=72)
    assert [e["action"] for e in body["events"]] == ["register"]
    assert body["events"][0]["to_status"] == "registered" and body["events"][0]["from_status"] is None
    stored = db.scalar(select(Complaint).where(Complaint.id == body["id"]))
    assert stored is not None and stored.customer_phone == "+8613900139001"
    row = db.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.create"))
    assert row is not None and row.object_id == str(body["id"]) and row.allowed
    assert row.user_id == agent.user.id  # type: ignore[attr-defined]


def test_unknown_complainant_without_customer_link(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    response = agent.post(
        "/api/complaints",
        json=payload(customer_phone=None, customer_company=None, customer_address=None, channel="letter"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] is None and response.json()["customer_phone"] is None


def test_officer_sees_the_phone_unmasked(login_as: LoginAs) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    response = officer.post("/api/complaints", json=payload())
    assert response.json()["customer_phone"] == "+8613900139001"


def test_missing_fields_are_422_in_chinese_by_default(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    data = payload()
    del data["customer_name"]
    response = agent.post("/api/complaints", json={**data, "channel": "pigeon"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "error.invalid_fields" and body["message"] == "请检查标出的字段"
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["customer_name"]["message"] == "必填"
    assert fields["channel"]["code"] == "validation.enum"
    assert fields["channel"]["message"].startswith("不是允许的选项")


def test_missing_fields_are_422_in_english_on_request(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    data = payload()
    del data["reason"]
    by_query = agent.post("/api/complaints?lang=en", json=data)
    by_header = agent.post("/api/complaints", json=data, headers={"Accept-Language": "en-US,en;q=0.8"})
    for response in (by_query, by_header):
        assert response.status_code == 422
        assert response.json()["message"] == "Please check the marked fields"
        assert response.json()["fields"][0]["field"] == "reason"
        assert response.json()["fields"][0]["message"] == "Required"


@pytest.mark.parametrize(
    ("overrides", "field", "zh", "en"),
    [
        (
            {"customer_phone": "12abc"},
            "customer_phone",
            "“12abc”不是有效的电话号码",
            "“12abc” is not a valid phone number",
        ),
        (
            {"purchase_date": "2026-12-30", "received_at": "2026-11-20T10:00:00"},
            "purchase_date",
            "购买日期不能晚于投诉日期",
            "The purchase date cannot be after the complaint",
        ),
        (
            {"received_at": "2099-01-01T10:00:00"},
            "received_at",
            "不能晚于当前时间",
            "Cannot be in the future",
        ),
        (
            {"received_at": "2026-11-20T10:00:00", "promised_deadline": "2026-11-20T09:00:00"},
            "promised_deadline",
            "承诺期限必须晚于投诉时间",
            "The promised deadline must be after the time received",
        ),
        ({"customer_id": 987654}, "customer_id", "引用的记录不存在", "The referenced record does not exist"),
    ],
)
def test_domain_checks_are_field_errors(
    login_as: LoginAs, db: Session, overrides: dict[str, object], field: str, zh: str, en: str
) -> None:
    agent = login_as(Role.AGENT)
    response = agent.post("/api/complaints", json=payload(**overrides))
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == field
    assert response.json()["fields"][0]["message"] == zh
    english = agent.post("/api/complaints?lang=en", json=payload(**overrides))
    assert english.json()["fields"][0]["field"] == field
    if en is not None:
        assert english.json()["fields"][0]["message"].startswith(en.split()[0])
    assert db.scalars(select(Complaint)).all() == []  # nothing half-written
    assert db.scalars(select(ComplaintEvent)).all() == []


def test_service_rejects_a_bad_phone_before_writing(
    db: Session, settings: Settings, make_user: MakeUser
) -> None:
    with pytest.raises(InvalidFields) as caught:
        register(db, settings, make_user(), customer_phone="not a phone")
    assert caught.value.problems[0].loc == ("customer_phone",)


def test_agent_may_register_but_qa_may_not(login_as: LoginAs, db: Session) -> None:
    inspector = login_as(Role.QA_INSPECTOR)
    response = inspector.post("/api/complaints", json=payload())
    assert response.status_code == 403
    row = db.scalar(select(AuditEntry).where(AuditEntry.action == "auth.forbidden"))
    assert row is not None and not row.allowed and row.detail is not None
    assert row.detail["permission"] == "complaints.create"
