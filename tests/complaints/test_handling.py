"""Handling through the API: the happy path to closed and the call-back, each refused step, rejection,
escalation, edits, who sees what, and the audit rows every change leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.clock import utcnow
from core.complaints import service
from core.complaints.models import Complaint, ComplaintEvent
from core.complaints.schemas import CallbackIn, TransitionIn
from core.complaints.workflow import TRANSITIONS, ComplaintStatus
from core.config import Settings
from core.errors import InvalidTransition
from core.security.roles import Role
from tests.complaints.helpers import HAPPY_PATH, actor_of, payload, register, walk
from tests.conftest import LoginAs, MakeUser

S = ComplaintStatus


def _audit(db: Session, action: str, complaint_id: int) -> list[AuditEntry]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == str(complaint_id))
        ).all()
    )


def _step(client: TestClient, complaint_id: int, to: str, **fields: Any) -> Any:
    return client.post(f"/api/complaints/{complaint_id}/transition", json={"to": to, **fields})


def test_the_full_happy_path_to_closed_and_the_call_back(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    officer = login_as(Role.COMPLAINTS_OFFICER)
    cid = agent.post("/api/complaints", json=payload()).json()["id"]

    assert _step(officer, cid, "investigating", note="转质量部调查").status_code == 200
    edit = officer.patch(
        f"/api/complaints/{cid}",
        json={
            "handler_id": officer.user.id,  # type: ignore[attr-defined]
            "handling_department": "质量部",
            "cause": "accidental",
            "own_fault": True,
            "loss_amount_cents": 129900,
        },
    )
    assert edit.status_code == 200, edit.text
    assert edit.json()["handler_name"] == officer.user.full_name  # type: ignore[attr-defined]

    missing = _step(officer, cid, "solution_proposed")
    assert missing.status_code == 422
    assert missing.json()["fields"][0]["field"] == "resolution"
    assert missing.json()["fields"][0]["message"] == "转入该状态前必须填写“处理方式”"
    assert _step(officer, cid, "solution_proposed", resolution="exchange").status_code == 200
    assert _step(officer, cid, "negotiating").status_code == 200
    # Counter-proposal: the customer wants money back instead.
    assert _step(officer, cid, "solution_proposed", resolution="return").status_code == 200
    assert _step(officer, cid, "negotiating").status_code == 200

    not_agreed = _step(officer, cid, "in_progress")
    assert not_agreed.status_code == 422
    assert not_agreed.json()["fields"][0] == {
        "loc": ["acceptance"],
        "field": "acceptance",
        "code": "validation.complaint_not_agreed",
        "message": "客户尚未同意处理方案，不能开始实施",
    }
    assert _step(officer, cid, "in_progress", acceptance="accepted").status_code == 200

    early = officer.post(f"/api/complaints/{cid}/callback", json={"satisfaction": 2})
    assert early.status_code == 409 and early.json()["error"] == "error.complaint_callback_not_closed"

    no_result = _step(officer, cid, "closed")
    assert no_result.status_code == 422 and no_result.json()["fields"][0]["field"] == "investigation_result"
    closed = _step(officer, cid, "closed", investigation_result="滤芯批次缺陷", summary_evaluation="已退货")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["allowed_transitions"] == []
    today = utcnow().astimezone(Settings().zone)
    assert body["closing_number"] == f"JA{today:%Y%m%d}-0001"
    completed = datetime.fromisoformat(body["actual_completed_at"])
    assert abs(completed - utcnow()) < timedelta(minutes=1)
    assert body["resolution"] == "return" and body["acceptance"] == "accepted"

    callback = officer.post(
        f"/api/complaints/{cid}/callback", json={"satisfaction": 2, "note": "客户表示满意"}
    )
    assert callback.status_code == 200, callback.text
    result = callback.json()
    assert result["satisfaction"] == 2 and result["callback_note"] == "客户表示满意"
    assert result["callback_by_id"] == officer.user.id  # type: ignore[attr-defined]
    assert result["callback_at"] is not None
    assert result["status"] == "closed"

    history = [(e["action"], e["from_status"], e["to_status"]) for e in result["events"]]
    assert history == [
        ("register", None, "registered"),
        ("transition", "registered", "investigating"),
        ("update", "investigating", "investigating"),
        ("transition", "investigating", "solution_proposed"),
        ("transition", "solution_proposed", "negotiating"),
        ("transition", "negotiating", "solution_proposed"),
        ("transition", "solution_proposed", "negotiating"),
        ("transition", "negotiating", "in_progress"),
        ("transition", "in_progress", "closed"),
        ("callback", "closed", "closed"),
    ]
    assert result["events"][1]["note"] == "转质量部调查"
    assert result["events"][5]["changes"] == {"resolution": ["exchange", "return"]}
    assert len(_audit(db, "complaint.transition", cid)) == 7
    assert len(_audit(db, "complaint.update", cid)) == 1
    assert len(_audit(db, "complaint.callback", cid)) == 1
    assert _audit(db, "complaint.update", cid)[0].detail == {
        "fields": ["cause", "handler_id", "handling_department", "loss_amount_cents", "own_fault"]
    }


def test_english_message_for_a_missing_transition_field(login_as: LoginAs, db: Session) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    cid = officer.post("/api/complaints", json=payload()).json()["id"]
    response = officer.post(f"/api/complaints/{cid}/transition?lang=en", json={"to": "rejected"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["message"] == "“Rejection reason” is required for this step"


def test_rejection_needs_a_reason(login_as: LoginAs, db: Session) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    cid = officer.post("/api/complaints", json=payload()).json()["id"]
    refused = _step(officer, cid, "rejected")
    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "rejection_reason"
    assert refused.json()["fields"][0]["message"] == "转入该状态前必须填写“不受理原因”"
    db.expire_all()
    assert db.get(Complaint, cid).status is S.REGISTERED  # type: ignore[union-attr]
    done = _step(officer, cid, "rejected", rejection_reason="非本公司销售的产品")
    assert done.status_code == 200
    assert done.json()["status"] == "rejected" and done.json()["acceptance"] == "rejected"
    again = _step(officer, cid, "investigating")
    assert again.status_code == 409 and again.json()["error"] == "error.invalid_transition"
    assert officer.post(f"/api/complaints/{cid}/callback", json={"satisfaction": 3}).status_code == 409


def test_every_undefined_step_is_409_and_changes_nothing(
    db: Session, settings: Settings, make_user: MakeUser
) -> None:
    officer = make_user(Role.COMPLAINTS_OFFICER)
    complaint = register(db, settings, officer)
    refused = 0
    for source in ComplaintStatus:
        for target in ComplaintStatus:
            if target in TRANSITIONS[source]:
                continue
            complaint.status = source
            db.commit()
            data = TransitionIn.model_validate(
                {
                    "to": target,
                    "resolution": "repair",
                    "acceptance": "accepted",
                    "investigation_result": "x",
                    "rejection_reason": "y",
                }
            )
            with pytest.raises(InvalidTransition) as caught:
                service.transition(db, complaint_id=complaint.id, data=data, actor=actor_of(officer))
            assert caught.value.params == {"from": source.value, "to": target.value}
            db.rollback()
            refused += 1
            assert complaint.status is source and complaint.resolution is None
    assert refused == 64 - sum(len(t) for t in TRANSITIONS.values())
    assert db.scalars(select(ComplaintEvent).where(ComplaintEvent.action == "transition")).all() == []


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), "negotiating"),
        ((), "closed"),
        ((), "escalated"),
        ((S.INVESTIGATING,), "in_progress"),
        ((S.INVESTIGATING, S.SOLUTION_PROPOSED), "rejected"),
        ((S.INVESTIGATING, S.SOLUTION_PROPOSED), "closed"),
        ((S.INVESTIGATING, S.SOLUTION_PROPOSED, S.NEGOTIATING, S.IN_PROGRESS), "escalated"),
        (HAPPY_PATH, "investigating"),
    ],
)
def test_invalid_steps_over_http(
    login_as: LoginAs, db: Session, settings: Settings, path: tuple[ComplaintStatus, ...], target: str
) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    complaint = register(db, settings, officer.user)  # type: ignore[attr-defined]
    walk(db, complaint, officer.user, *path)  # type: ignore[attr-defined]
    response = _step(
        officer,
        complaint.id,
        target,
        resolution="repair",
        acceptance="accepted",
        investigation_result="x",
        rejection_reason="y",
    )
    assert response.status_code == 409
    assert response.json() == {"error": "error.invalid_transition", "message": "当前状态下不能执行此操作"}


def test_escalation_counts_levels_and_returns(login_as: LoginAs, make_user: MakeUser, db: Session) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    supervisor = make_user(Role.SUPERVISOR)
    cid = officer.post("/api/complaints", json=payload()).json()["id"]
    _step(officer, cid, "investigating")
    first = _step(officer, cid, "escalated", escalated_to_id=supervisor.id, note="客户不满意调查结论")
    assert first.status_code == 200
    assert first.json()["escalation_level"] == 1 and first.json()["escalated_to_id"] == supervisor.id
    assert set(first.json()["allowed_transitions"]) == {"investigating", "negotiating", "solution_proposed"}
    assert _step(officer, cid, "solution_proposed", resolution="compensation").status_code == 200
    second = _step(officer, cid, "escalated")
    assert second.json()["escalation_level"] == 2
    assert _step(officer, cid, "negotiating").status_code == 200
    unknown = _step(officer, cid, "escalated", escalated_to_id=987654)
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "escalated_to_id"
    db.expire_all()
    assert db.get(Complaint, cid).status is S.NEGOTIATING  # type: ignore[union-attr]


def test_edits_are_refused_after_closing_except_the_evaluation(
    login_as: LoginAs, db: Session, settings: Settings
) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    complaint = register(db, settings, officer.user)  # type: ignore[attr-defined]
    walk(db, complaint, officer.user, *HAPPY_PATH)  # type: ignore[attr-defined]
    refused = officer.patch(f"/api/complaints/{complaint.id}", json={"resolution": "repair"})
    assert refused.status_code == 409 and refused.json()["error"] == "error.complaint_final"
    assert "resolution" in refused.json()["message"]
    ok = officer.patch(f"/api/complaints/{complaint.id}", json={"summary_evaluation": "供应商已整改"})
    assert ok.status_code == 200 and ok.json()["summary_evaluation"] == "供应商已整改"


def test_patch_validates_handler_and_deadline(login_as: LoginAs, db: Session) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    created = officer.post("/api/complaints", json=payload(received_at="2026-11-20T10:00:00")).json()
    cid = created["id"]
    bad_handler = officer.patch(f"/api/complaints/{cid}", json={"handler_id": 987654})
    assert bad_handler.status_code == 422 and bad_handler.json()["fields"][0]["field"] == "handler_id"
    early = officer.patch(f"/api/complaints/{cid}", json={"promised_deadline": "2026-11-20T09:00:00"})
    assert early.status_code == 422 and early.json()["fields"][0]["message"] == "承诺期限必须晚于投诉时间"
    negative = officer.patch(f"/api/complaints/{cid}?lang=en", json={"loss_amount_cents": -1})
    assert negative.status_code == 422
    assert negative.json()["fields"][0] == {
        "loc": ["loss_amount_cents"],
        "field": "loss_amount_cents",
        "code": "validation.greater_than_equal",
        "message": "Must be at least 0",
    }
    for field in ("urgency", "promised_deadline", "acceptance"):
        cleared = officer.patch(f"/api/complaints/{cid}", json={field: None})
        assert cleared.status_code == 422 and cleared.json()["fields"][0]["field"] == field
    moved = officer.patch(f"/api/complaints/{cid}", json={"urgency": "very_urgent"})
    # The deadline already promised stands when only the urgency changes.
    assert moved.json()["promised_deadline"] == created["promised_deadline"]
    assert moved.json()["events"][-1]["changes"] == {"urgency": ["urgent", "very_urgent"]}


def test_callback_satisfaction_must_be_1_to_5(login_as: LoginAs, db: Session, settings: Settings) -> None:
    officer = login_as(Role.COMPLAINTS_OFFICER)
    complaint = register(db, settings, officer.user)  # type: ignore[attr-defined]
    walk(db, complaint, officer.user, *HAPPY_PATH)  # type: ignore[attr-defined]
    response = officer.post(f"/api/complaints/{complaint.id}/callback", json={"satisfaction": 6})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "satisfaction"
    assert response.json()["fields"][0]["message"] == "不是允许的选项（可选：1, 2, 3, 4 or 5）"


def test_service_callback_then_a_second_one_replaces_it(
    db: Session, settings: Settings, make_user: MakeUser
) -> None:
    officer = make_user(Role.COMPLAINTS_OFFICER)
    complaint = walk(db, register(db, settings, officer), officer, *HAPPY_PATH)
    when = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    service.record_callback(
        db, complaint_id=complaint.id, data=CallbackIn(satisfaction=4), actor=actor_of(officer), at=when
    )
    service.record_callback(
        db, complaint_id=complaint.id, data=CallbackIn(satisfaction=1), actor=actor_of(officer)
    )
    db.commit()
    assert complaint.satisfaction == 1
    events = [e for e in complaint.events if e.action == "callback"]
    assert [e.changes["satisfaction"] for e in events if e.changes] == [[None, 4], [4, 1]]


# --- who sees what -------------------------------------------------------------------------------


def test_an_agent_sees_only_own_complaints(login_as: LoginAs, db: Session) -> None:
    alice = login_as(Role.AGENT)
    bob = login_as(Role.AGENT)
    officer = login_as(Role.COMPLAINTS_OFFICER)
    mine = alice.post("/api/complaints", json=payload(customer_name="甲")).json()["id"]
    theirs = bob.post("/api/complaints", json=payload(customer_name="乙")).json()["id"]

    listed = alice.get("/api/complaints").json()
    assert [c["id"] for c in listed["items"]] == [mine] and listed["total"] == 1
    assert listed["items"][0]["customer_phone"] == "139****9001"
    assert alice.get(f"/api/complaints/{mine}").status_code == 200

    refused = alice.get(f"/api/complaints/{theirs}")
    assert refused.status_code == 403
    assert refused.json() == {"error": "error.complaint_not_yours", "message": "只能查看本人登记或处理的投诉"}
    db.expire_all()
    row = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.forbidden", AuditEntry.user_id == alice.user.id)  # type: ignore[attr-defined]
    ).one()
    assert row.allowed is False
    assert row.detail is not None and row.detail["complaint_id"] == theirs
    assert row.detail["reason"] == "error.complaint_not_yours"

    # Assigned as handler, Alice sees Bob's complaint too.
    officer.patch(f"/api/complaints/{theirs}", json={"handler_id": alice.user.id})  # type: ignore[attr-defined]
    assert alice.get(f"/api/complaints/{theirs}").status_code == 200
    assert {c["id"] for c in alice.get("/api/complaints").json()["items"]} == {mine, theirs}
    # Those with complaints.handle see everything.
    assert {c["id"] for c in officer.get("/api/complaints").json()["items"]} == {mine, theirs}
    lead = login_as(Role.TEAM_LEAD)
    assert lead.get(f"/api/complaints/{mine}").status_code == 200


def test_agents_cannot_handle(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    cid = agent.post("/api/complaints", json=payload()).json()["id"]
    assert _step(agent, cid, "investigating").status_code == 403
    assert agent.patch(f"/api/complaints/{cid}", json={"handling_department": "x"}).status_code == 403
    assert agent.post(f"/api/complaints/{cid}/callback", json={"satisfaction": 1}).status_code == 403
    assert agent.get("/api/complaints/summary?from=2026-11-01&to=2026-11-02").status_code == 403
    db.expire_all()
    refusals = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.forbidden")).all()
    assert len(refusals) == 4 and all(not r.allowed for r in refusals)
    assert {r.detail["permission"] for r in refusals if r.detail} == {"complaints.handle"}


def test_reading_a_complaint_is_audited(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    cid = agent.post("/api/complaints", json=payload()).json()["id"]
    assert agent.get(f"/api/complaints/{cid}").status_code == 200
    rows = _audit(db, "complaint.read", cid)
    assert len(rows) == 1 and rows[0].user_id == agent.user.id and rows[0].allowed  # type: ignore[attr-defined]
    assert agent.get("/api/complaints/987654").status_code == 404


def test_screen_pop_lists_a_customers_open_complaints_for_any_agent(
    login_as: LoginAs, db: Session, settings: Settings, make_user: MakeUser
) -> None:
    from core.customers.models import Customer, CustomerGrade

    customer = Customer(code="C900001", name="明达贸易", grade=next(iter(CustomerGrade)))
    db.add(customer)
    db.commit()
    officer = make_user(Role.COMPLAINTS_OFFICER)
    old = register(
        db,
        settings,
        officer,
        customer_id=customer.id,
        urgency="very_urgent",
        received_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
    )
    new = register(db, settings, officer, customer_id=customer.id, urgency="normal")
    done = register(db, settings, officer, customer_id=customer.id)
    walk(db, done, officer, S.REJECTED)
    register(db, settings, officer)  # another complainant

    agent = login_as(Role.AGENT)  # registered none of them
    response = agent.get(f"/api/complaints/by-customer/{customer.id}")
    assert response.status_code == 200
    items = response.json()
    assert [i["id"] for i in items] == [old.id, new.id]
    assert set(items[0]) == {
        "id",
        "case_number",
        "status",
        "urgency",
        "category",
        "received_at",
        "promised_deadline",
        "overdue",
    }
    assert items[0]["overdue"] is True and items[1]["overdue"] is False
    assert agent.get(f"/api/complaints/{old.id}").status_code == 403  # the full file stays closed


# --- list filters --------------------------------------------------------------------------------


def test_list_search_and_filters(
    login_as: LoginAs, db: Session, settings: Settings, make_user: MakeUser
) -> None:
    officer = make_user(Role.COMPLAINTS_OFFICER)
    a = register(
        db,
        settings,
        officer,
        received_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
        customer_name="张三",
        customer_phone="021-6234 5678",
        product="空调",
        urgency="very_urgent",
    )
    b = register(
        db,
        settings,
        officer,
        received_at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
        customer_name="李四",
        order_number="SO-777",
        category="service",
        problem_type="attitude",
        channel="visit",
    )
    c = register(db, settings, officer, customer_name="王五")
    walk(db, c, officer, S.INVESTIGATING)
    client = login_as(Role.COMPLAINTS_OFFICER)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/complaints?{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("") == [c.id, b.id, a.id]
    assert ids("q=张三") == [a.id]
    assert ids("q=62345678") == [a.id]
    assert ids("q=02162345678") == [a.id]
    assert ids("q=SO-777") == [b.id]
    assert ids("q=空调") == [a.id]
    assert ids(f"q={b.case_number}") == [b.id]
    assert ids("status=investigating") == [c.id]
    assert ids("urgency=very_urgent") == [a.id]
    assert ids("category=service") == [b.id]
    assert ids("channel=visit") == [b.id]
    assert ids("overdue=true") == [b.id, a.id]
    assert ids("overdue=false") == [c.id]
    assert ids("received_from=2026-11-02&received_to=2026-11-02") == [b.id]
    assert ids("received_to=2026-11-01") == [a.id]
    page = client.get("/api/complaints?limit=2&offset=2").json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [a.id]
    bad = client.get("/api/complaints?status=lost")
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "status"
