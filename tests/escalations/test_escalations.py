"""Escalations through the HTTP API: an agent raises one (and a notice goes on the bus), team leads work
their team's inbox, supervisors everyone's; open → taken → closed and nothing else; audit rows; i18n."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.records.models import PbxCall
from core.audit.models import AuditEntry
from core.audit.service import SYSTEM
from core.bus import decode_event, encode_event
from core.customers import service as customers
from core.customers.models import Customer
from core.customers.schemas import CustomerCreate
from core.escalations import service
from core.escalations.events import NOTICE_TOPIC, EscalationRaised
from core.escalations.models import Escalation, EscalationStatus
from core.people.models import Team, User
from core.security.roles import Role
from tests.conftest import LoginAs, MakeUser


class RecordingBus:
    """Stands in for the app's bus: keeps what was published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, object]] = []

    async def publish(self, topic: str, event: object) -> None:
        encode_event(event)  # it must travel on a real bus too
        self.published.append((topic, event))


@pytest.fixture
def bus(app: FastAPI) -> RecordingBus:
    recording = RecordingBus()
    app.state.bus = recording
    return recording


@pytest.fixture
def teams(db: Session) -> tuple[Team, Team]:
    red, blue = Team(name="红队"), Team(name="蓝队")
    db.add_all([red, blue])
    db.commit()
    return red, blue


def make_customer(db: Session, *, confidentiality: int = 0, name: str = "上海华信科技有限公司") -> Customer:
    customer = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {
                "kind": "corporate",
                "name": name,
                "grade": "A",
                "confidentiality": confidentiality,
                "phones": [{"number": "13900139001", "is_primary": True}],
            }
        ),
        actor=SYSTEM,
    )
    db.commit()
    return customer


def audit_rows(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def raise_one(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"reason": "客户要求主管回电", **fields}
    response = client.post("/api/escalations", json=body)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def test_an_agent_raises_an_escalation(
    db: Session, login_as: LoginAs, teams: tuple[Team, Team], bus: RecordingBus
) -> None:
    red, _ = teams
    customer = make_customer(db)
    agent = login_as(Role.AGENT, team_id=red.id, full_name="王芳")
    out = raise_one(agent, linkedid="1795400357.7", customer_id=customer.id, caller_number="13900139001")
    assert out["status"] == "open" and out["reason"] == "客户要求主管回电"
    assert (out["agent_id"], out["agent_name"], out["team_id"]) == (agent.user.id, "王芳", red.id)  # type: ignore[attr-defined]
    assert (out["customer_id"], out["customer_name"]) == (customer.id, "上海华信科技有限公司")
    assert out["caller_number"] != "13900139001" and out["caller_number"].endswith(
        "9001"
    )  # masked for agents
    assert out["taken_by_id"] is None and out["taken_at"] is None and out["closed_at"] is None
    assert out["created_at"].endswith(("+00:00", "Z"))
    stored = db.get(Escalation, out["id"])
    assert stored is not None and stored.caller_number == "+8613900139001"
    [row] = audit_rows(db, "escalation.create")
    assert (row.object_id, row.user_id, row.allowed) == (str(out["id"]), agent.user.id, True)  # type: ignore[attr-defined]
    # A notice for the team lead's screen went out on the bus after the response.
    [(topic, notice)] = bus.published
    assert topic == NOTICE_TOPIC == "desktop.notice"
    assert isinstance(notice, EscalationRaised)
    assert (notice.escalation_id, notice.agent_name, notice.team_id) == (out["id"], "王芳", red.id)
    assert decode_event(encode_event(notice)) == notice


def test_the_call_record_fills_in_caller_and_customer(
    db: Session, login_as: LoginAs, bus: RecordingBus
) -> None:
    customer = make_customer(db)
    db.add(PbxCall(linkedid="L-42", caller_number="+8613800138000", customer_id=customer.id))
    db.commit()
    lead = login_as(Role.TEAM_LEAD)  # leads use the desktop too, and see numbers
    out = raise_one(lead, linkedid="L-42")
    assert out["linkedid"] == "L-42" and out["customer_id"] == customer.id
    assert out["caller_number"] == "13800138000"


def test_a_bare_escalation_needs_only_a_reason(login_as: LoginAs, bus: RecordingBus) -> None:
    out = raise_one(login_as(Role.AGENT), caller_number="anonymous")
    assert out["linkedid"] is None and out["customer_id"] is None and out["team_id"] is None


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "reason", "validation.missing"),
        ({"reason": ""}, "reason", "validation.string_too_short"),
        ({"reason": "x" * 2001}, "reason", "validation.string_too_long"),
        ({"reason": "r", "linkedid": "9" * 65}, "linkedid", "validation.string_too_long"),
        ({"reason": "r", "customer_id": "abc"}, "customer_id", "validation.int_parsing"),
        ({"reason": "r", "customer_id": 999999}, "customer_id", "validation.unknown_reference"),
    ],
)
def test_invalid_escalations_are_refused_field_by_field(
    login_as: LoginAs, bus: RecordingBus, body: dict[str, Any], field: str, code: str
) -> None:
    agent = login_as(Role.AGENT)
    response = agent.post("/api/escalations", json=body)
    assert response.status_code == 422
    [problem] = response.json()["fields"]
    assert (problem["field"], problem["code"]) == (field, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["message"])
    english = agent.post("/api/escalations", json=body, headers={"Accept-Language": "en"})
    assert english.json()["fields"][0]["message"].isascii()
    assert bus.published == []


def test_a_customer_file_above_clearance_cannot_be_named(
    db: Session, login_as: LoginAs, bus: RecordingBus
) -> None:
    secret = make_customer(db, confidentiality=3, name="机密客户")
    agent = login_as(Role.AGENT)
    response = agent.post("/api/escalations", json={"reason": "r", "customer_id": secret.id})
    assert response.status_code == 403 and response.json()["error"] == "error.above_clearance"
    [refusal] = [r for r in audit_rows(db, "auth.forbidden") if r.user_id == agent.user.id]  # type: ignore[attr-defined]
    assert refusal.allowed is False and refusal.detail is not None
    assert refusal.detail["reason"] == "error.above_clearance"
    assert db.scalars(select(Escalation)).all() == [] and bus.published == []


@pytest.fixture
def inbox(
    db: Session, make_user: MakeUser, login_as: LoginAs, teams: tuple[Team, Team], bus: RecordingBus
) -> dict[str, Any]:
    red, blue = teams
    red_agent = login_as(Role.AGENT, team_id=red.id)
    blue_agent = login_as(Role.AGENT, team_id=blue.id)
    return {
        "red": red,
        "blue": blue,
        "red_ids": [raise_one(red_agent)["id"], raise_one(red_agent, reason="第二个")["id"]],
        "blue_ids": [raise_one(blue_agent)["id"]],
        "red_agent": red_agent,
    }


def test_a_team_lead_sees_its_own_team_and_a_supervisor_everyone(
    login_as: LoginAs, inbox: dict[str, Any]
) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=inbox["red"].id)
    page = lead.get("/api/escalations").json()
    assert page["total"] == 2 and sorted(e["id"] for e in page["items"]) == sorted(inbox["red_ids"])
    assert page["items"][0]["id"] == max(inbox["red_ids"])  # newest first
    everyone = login_as(Role.SUPERVISOR).get("/api/escalations", params={"limit": 2}).json()
    assert everyone["total"] == 3 and len(everyone["items"]) == 2
    assert login_as(Role.TEAM_LEAD).get("/api/escalations").json()["total"] == 0  # no team: nothing


def test_take_then_close(db: Session, login_as: LoginAs, inbox: dict[str, Any]) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=inbox["red"].id, full_name="张组长")
    first = inbox["red_ids"][0]
    taken = lead.post(f"/api/escalations/{first}/take")
    assert taken.status_code == 200, taken.text
    body = taken.json()
    assert (body["status"], body["taken_by_id"], body["taken_by_name"]) == ("taken", lead.user.id, "张组长")  # type: ignore[attr-defined]
    assert body["taken_at"] is not None
    open_only = lead.get("/api/escalations", params={"status": "open"}).json()
    assert [e["id"] for e in open_only["items"]] == [inbox["red_ids"][1]]

    closed = lead.post(f"/api/escalations/{first}/close", json={"resolution": "已回电，客户满意"})
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["resolution"]) == ("closed", "已回电，客户满意")
    assert closed.json()["closed_at"] is not None
    assert [r.object_id for r in audit_rows(db, "escalation.take")] == [str(first)]
    assert [r.object_id for r in audit_rows(db, "escalation.close")] == [str(first)]


def test_only_open_to_taken_to_closed(login_as: LoginAs, inbox: dict[str, Any]) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    first, second = inbox["red_ids"]
    early = supervisor.post(f"/api/escalations/{second}/close", json={"resolution": "x"})
    assert early.status_code == 409 and early.json()["error"] == "error.invalid_transition"
    assert supervisor.post(f"/api/escalations/{first}/take").status_code == 200
    again = supervisor.post(f"/api/escalations/{first}/take")
    assert again.status_code == 409 and again.json()["message"] == "当前状态下不能执行此操作"
    assert supervisor.post(f"/api/escalations/{first}/close", json={"resolution": "好"}).status_code == 200
    for action, body in (("take", None), ("close", {"resolution": "再次"})):
        assert supervisor.post(f"/api/escalations/{first}/{action}", json=body).status_code == 409


def test_close_needs_a_resolution(login_as: LoginAs, inbox: dict[str, Any]) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    first = inbox["red_ids"][0]
    supervisor.post(f"/api/escalations/{first}/take")
    response = supervisor.post(
        f"/api/escalations/{first}/close", json={"resolution": ""}, params={"lang": "en"}
    )
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "resolution"
    assert response.json()["fields"][0]["message"].isascii()


def test_a_team_lead_cannot_act_on_another_team(
    db: Session, login_as: LoginAs, inbox: dict[str, Any]
) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=inbox["red"].id)
    blue_id = inbox["blue_ids"][0]
    response = lead.post(f"/api/escalations/{blue_id}/take")
    assert response.status_code == 403 and response.json()["error"] == "error.other_team"
    refusal = [r for r in audit_rows(db, "auth.forbidden") if r.user_id == lead.user.id]  # type: ignore[attr-defined]
    assert len(refusal) == 1 and refusal[0].allowed is False
    assert db.get(Escalation, blue_id).status == EscalationStatus.OPEN  # type: ignore[union-attr]
    assert lead.post(f"/api/escalations/{blue_id}/close", json={"resolution": "x"}).status_code == 403


def test_agents_have_no_inbox_and_the_refusal_is_audited(db: Session, inbox: dict[str, Any]) -> None:
    agent = inbox["red_agent"]
    for method, path in (
        ("get", "/api/escalations"),
        ("post", f"/api/escalations/{inbox['red_ids'][0]}/take"),
    ):
        response = getattr(agent, method)(path)
        assert response.status_code == 403
    refusals = [r for r in audit_rows(db, "auth.forbidden") if r.user_id == agent.user.id]
    assert len(refusals) == 2 and all(r.detail["permission"] == "escalations.handle" for r in refusals)  # type: ignore[index]


def test_unknown_escalation_is_404(login_as: LoginAs) -> None:
    assert login_as(Role.SUPERVISOR).post("/api/escalations/999999/take").status_code == 404


def test_mine_lists_my_escalations_of_the_center_day(
    db: Session, login_as: LoginAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 07:00 in Shanghai on 24 Nov = 23:00 UTC on the 23rd: the center's day is the 24th, not the UTC 23rd.
    now = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    day_start = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    monkeypatch.setattr("core.escalations.views.utcnow", lambda: now)
    agent = login_as(Role.AGENT)
    other = login_as(Role.AGENT)
    me: User = agent.user  # type: ignore[attr-defined]
    someone: User = other.user  # type: ignore[attr-defined]
    rows = [
        Escalation(reason="昨天", agent_id=me.id, created_at=day_start - timedelta(minutes=1)),
        Escalation(reason="今天", agent_id=me.id, created_at=day_start + timedelta(minutes=1)),
        Escalation(reason="稍后", agent_id=me.id, created_at=now),
        Escalation(reason="明天", agent_id=me.id, created_at=day_start + timedelta(days=1)),
        Escalation(reason="别人", agent_id=someone.id, created_at=now),
    ]
    db.add_all(rows)
    db.commit()
    response = agent.get("/api/escalations/mine")
    assert response.status_code == 200
    assert [e["reason"] for e in response.json()] == ["稍后", "今天"]  # newest first


def test_service_transitions_table() -> None:
    assert service.TRANSITIONS[EscalationStatus.OPEN] == {EscalationStatus.TAKEN}
    assert service.TRANSITIONS[EscalationStatus.TAKEN] == {EscalationStatus.CLOSED}
    assert service.TRANSITIONS[EscalationStatus.CLOSED] == frozenset()


def test_user_row_is_untouched_by_escalating(db: Session, login_as: LoginAs, bus: RecordingBus) -> None:
    agent = login_as(Role.AGENT)
    raise_one(agent)
    user = db.get(User, agent.user.id)  # type: ignore[attr-defined]
    assert user is not None and user.active
