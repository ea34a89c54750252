"""GET /api/desktop/follow-ups: the agent's call-backs and follow-ups, due first — outbound records of mine
whose follow-up falls due by the end of today (center zone) or whose customer asked for a call-back, and
closed complaints I handle or registered that wait for their 回访; a later outbound record of mine for the
customer settles them; files above my clearance are left out."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_desktop.my_day import build_follow_ups
from core.audit.models import AuditEntry
from core.audit.service import SYSTEM
from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintProblemType,
    ComplaintUrgency,
)
from core.complaints.workflow import ComplaintStatus
from core.config import get_settings
from core.contacts.models import OutboundPurpose, OutboundRecord, OutboundResult
from core.customers import service as customers
from core.customers.models import Customer
from core.customers.schemas import CustomerCreate
from core.people.models import User
from core.security.roles import Clearance, Role
from tests.conftest import LoginAs, MakeUser

# 07:30 in Shanghai on 24 Nov = 23:30 UTC on the 23rd; the center's day ends at 15:59:59 UTC on the 24th.
NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
END_OF_TODAY = datetime(2026, 11, 24, 16, 0, tzinfo=UTC) - timedelta(microseconds=1)
YESTERDAY = NOW - timedelta(days=1)
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent_desktop.my_day.utcnow", lambda: NOW)


def _customer(db: Session, name: str, confidentiality: int = 1) -> Customer:
    customer = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {
                "name": name,
                "grade": "A",
                "confidentiality": confidentiality,
                "phones": [{"number": f"1390013{next(_numbers):04d}"}],
            }
        ),
        actor=SYSTEM,
    )
    db.commit()
    return customer


def _outbound(
    db: Session,
    agent: User,
    customer: Customer,
    *,
    started_at: datetime = YESTERDAY,
    follow_up_at: datetime | None = None,
    result: OutboundResult | None = None,
    content: str = "介绍新套餐",
) -> OutboundRecord:
    record = OutboundRecord(
        agent_id=agent.id,
        agent_name=agent.full_name,
        customer_id=customer.id,
        started_at=started_at,
        content=content,
        purpose=OutboundPurpose.MARKETING,
        result=result,
        next_follow_up_at=follow_up_at,
    )
    db.add(record)
    db.commit()
    return record


def _complaint(
    db: Session,
    customer: Customer | None,
    *,
    registered_by: User | None = None,
    handler: User | None = None,
    status: ComplaintStatus = ComplaintStatus.CLOSED,
    called_back: bool = False,
) -> Complaint:
    closed = status is ComplaintStatus.CLOSED
    complaint = Complaint(
        case_number=f"TS20261123-{next(_numbers):04d}",
        received_at=YESTERDAY - timedelta(days=2),
        channel=ComplaintChannel.PHONE,
        status=status,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else "路人甲",
        category=ComplaintCategory.SERVICE,
        problem_type=ComplaintProblemType.QUALITY,
        reason="账单金额有误",
        urgency=ComplaintUrgency.NORMAL,
        promised_deadline=YESTERDAY + timedelta(days=3),
        actual_completed_at=YESTERDAY if closed else None,
        investigation_result="系统计费错误，已退款" if closed else None,
        registered_by_id=registered_by.id if registered_by else None,
        handler_id=handler.id if handler else None,
        callback_at=NOW - timedelta(hours=1) if called_back else None,
        satisfaction=2 if called_back else None,
    )
    db.add(complaint)
    db.commit()
    return complaint


def _work(client: Any) -> list[dict[str, Any]]:
    response = client.get("/api/desktop/follow-ups")
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def _keys(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(item["source"], item["source_id"]) for item in items]


def test_follow_ups_due_by_the_end_of_today_due_first(
    db: Session, login_as: LoginAs, make_user: MakeUser
) -> None:
    agent = login_as(Role.AGENT, full_name="王芳")
    me: User = agent.user  # type: ignore[attr-defined]
    other = make_user(Role.AGENT, full_name="李娜")
    overdue = _outbound(db, me, _customer(db, "张伟"), follow_up_at=YESTERDAY + timedelta(hours=2))
    at_day_end = _outbound(db, me, _customer(db, "刘洋"), follow_up_at=END_OF_TODAY)
    later_today = _outbound(
        db, me, _customer(db, "陈静"), follow_up_at=NOW + timedelta(hours=6), content="报价后回访"
    )
    requested = _outbound(
        db,
        me,
        _customer(db, "杨帆"),
        started_at=NOW - timedelta(hours=3),
        result=OutboundResult.CALLBACK_REQUESTED,
    )
    # Not mine; not due yet (tomorrow, also a call-back the customer wants then); no follow-up at all.
    _outbound(db, other, _customer(db, "赵磊"), follow_up_at=NOW)
    _outbound(db, me, _customer(db, "孙丽"), follow_up_at=END_OF_TODAY + timedelta(seconds=1))
    _outbound(
        db,
        me,
        _customer(db, "周杰"),
        follow_up_at=NOW + timedelta(days=1),
        result=OutboundResult.CALLBACK_REQUESTED,
    )
    _outbound(db, me, _customer(db, "吴敏"), result=OutboundResult.INTERESTED)

    items = _work(agent)
    assert _keys(items) == [
        ("outbound", overdue.id),
        ("outbound", requested.id),
        ("outbound", later_today.id),
        ("outbound", at_day_end.id),
    ]
    first = items[2]
    assert first["kind"] == "follow_up"
    assert first["customer_name"] == "陈静"
    assert first["customer_code"]
    assert first["note"] == "报价后回访"
    # The center's wall time with its offset.
    assert first["due_at"] == "2026-11-24T13:30:00+08:00"
    assert items[1]["kind"] == "callback_requested"
    assert items[1]["due_at"] is None


def test_a_later_outbound_record_of_mine_settles_the_follow_up(
    db: Session, login_as: LoginAs, make_user: MakeUser
) -> None:
    agent = login_as(Role.AGENT, full_name="王芳")
    me: User = agent.user  # type: ignore[attr-defined]
    other = make_user(Role.AGENT, full_name="李娜")
    customer = _customer(db, "张伟")
    record = _outbound(db, me, customer, follow_up_at=NOW)
    # A colleague's call to the customer does not settle my follow-up.
    _outbound(db, other, customer, started_at=NOW - timedelta(minutes=5))
    assert _keys(_work(agent)) == [("outbound", record.id)]

    response = agent.post(
        "/api/records/outbound",
        json={
            "customer_id": customer.id,
            "started_at": (NOW + timedelta(minutes=1)).isoformat(),
            "content": "已回访，客户同意续约",
            "purpose": "follow_up",
            "result": "sale",
        },
    )
    assert response.status_code == 201, response.text
    assert _work(agent) == []

    # That call's own follow-up (due today) is the next item: only the latest record counts.
    response = agent.post(
        "/api/records/outbound",
        json={
            "customer_id": customer.id,
            "started_at": (NOW + timedelta(minutes=2)).isoformat(),
            "content": "客户要求下午再联系",
            "result": "callback_requested",
            "next_follow_up_at": (NOW + timedelta(hours=5)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    assert _keys(_work(agent)) == [("outbound", response.json()["id"])]


def test_complaints_waiting_for_their_callback(db: Session, login_as: LoginAs, make_user: MakeUser) -> None:
    agent = login_as(Role.AGENT, full_name="王芳")
    me: User = agent.user  # type: ignore[attr-defined]
    other = make_user(Role.COMPLAINTS_OFFICER, full_name="投诉专员钱")
    registered = _complaint(db, _customer(db, "张伟"), registered_by=me, handler=other)
    handled = _complaint(db, _customer(db, "刘洋"), registered_by=other, handler=me)
    walk_in = _complaint(db, None, registered_by=me)
    # Called back already, not closed yet, neither mine.
    _complaint(db, _customer(db, "陈静"), registered_by=me, called_back=True)
    _complaint(db, _customer(db, "杨帆"), registered_by=me, status=ComplaintStatus.IN_PROGRESS)
    _complaint(db, _customer(db, "赵磊"), registered_by=other, handler=other)

    items = _work(agent)
    assert sorted(_keys(items)) == sorted(
        [("complaint", registered.id), ("complaint", handled.id), ("complaint", walk_in.id)]
    )
    by_id = {item["source_id"]: item for item in items}
    assert by_id[registered.id]["kind"] == "complaint_callback"
    assert by_id[registered.id]["case_number"] == registered.case_number
    assert by_id[registered.id]["customer_name"] == "张伟"
    assert by_id[walk_in.id]["customer_id"] is None
    assert by_id[walk_in.id]["customer_name"] == "路人甲"

    # My call to the customer after the complaint closed is the call-back: it leaves the list.
    response = agent.post(
        "/api/records/outbound",
        json={
            "customer_id": registered.customer_id,
            "started_at": NOW.isoformat(),
            "content": "回访：客户对退款满意",
            "purpose": "callback",
        },
    )
    assert response.status_code == 201, response.text
    assert registered.id not in {item["source_id"] for item in _work(agent)}

    # The handler records the 回访 on the complaint: it leaves the handler's list too.
    officer = login_as(user=other)
    _complaint(db, _customer(db, "孙丽"), registered_by=other)
    # (The agent's call settled the agent's item, not the officer's.)
    assert {item["customer_name"] for item in _work(officer)} == {"张伟", "刘洋", "赵磊", "孙丽"}
    target = next(item for item in _work(officer) if item["customer_name"] == "孙丽")
    response = officer.post(f"/api/complaints/{target['source_id']}/callback", json={"satisfaction": 1})
    assert response.status_code == 200, response.text
    assert {item["customer_name"] for item in _work(officer)} == {"张伟", "刘洋", "赵磊"}


def test_files_above_my_clearance_are_not_listed(db: Session, login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT, full_name="王芳")
    me: User = agent.user  # type: ignore[attr-defined]
    lead = login_as(Role.TEAM_LEAD, full_name="组长赵")
    lead_user: User = lead.user  # type: ignore[attr-defined]
    secret = _customer(db, "机密客户", confidentiality=int(Clearance.CONFIDENTIAL))
    public = _customer(db, "普通客户", confidentiality=int(Clearance.PUBLIC))
    visible = _outbound(db, me, public, follow_up_at=NOW)
    hidden = _outbound(db, me, secret, follow_up_at=NOW)
    _complaint(db, secret, registered_by=me)
    assert _keys(_work(agent)) == [("outbound", visible.id)]

    # The team lead's clearance opens the same kind of file.
    record = _outbound(db, lead_user, secret, follow_up_at=NOW)
    assert _keys(_work(lead)) == [("outbound", record.id)]
    # The same rule at the service level, for a clearance given directly.
    wider = build_follow_ups(
        db, user_id=me.id, clearance=int(Clearance.SECRET), settings=get_settings(), now=NOW
    )
    assert ("outbound", hidden.id) in [(item.source.value, item.source_id) for item in wider]


def test_a_role_without_the_desktop_is_refused_and_audited(db: Session, login_as: LoginAs) -> None:
    inspector = login_as(Role.QA_INSPECTOR)
    response = inspector.get("/api/desktop/follow-ups")
    assert response.status_code == 403
    user: User = inspector.user  # type: ignore[attr-defined]
    refusals = db.scalars(
        select(AuditEntry).where(AuditEntry.user_id == user.id, AuditEntry.allowed.is_(False))
    ).all()
    assert refusals
