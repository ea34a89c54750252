"""Round trips of every call form through the HTTP API, the agent snapshot, the PBX link and the audit
rows of create/read/update."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.audit.service import Actor
from core.calls.models import PbxCall
from core.config import Settings
from core.contacts import service
from core.contacts.models import InboundRecord
from core.contacts.schemas import InboundCreate
from core.customers.models import Customer
from core.security.roles import Role
from tests.conftest import LoginAs, MakeUser
from tests.contacts.conftest import (
    AuditRows,
    inbound_payload,
    interview_payload,
    outbound_payload,
    phone_log_payload,
)

Payload = Callable[..., dict[str, Any]]
# kind, payload builder, the E.164 form each phone field must come back in
FORMS: list[tuple[str, Payload, dict[str, str]]] = [
    ("inbound", inbound_payload, {"caller_number": "+8613900139001"}),
    ("outbound", outbound_payload, {"called_number": "+861065521234"}),
    ("phone-log", phone_log_payload, {"phone_number": "+8613800138000"}),
    ("interviews", interview_payload, {"phone": "+8613700137000"}),
]


def assert_same(sent: dict[str, Any], got: dict[str, Any], phones: dict[str, str]) -> None:
    for name, value in sent.items():
        if name in phones:
            assert got[name] == phones[name], name
        elif name.endswith("_at") and value is not None:
            # Times come back in UTC; the instant must be the one sent.
            assert datetime.fromisoformat(got[name]) == datetime.fromisoformat(value), name
        else:
            assert got[name] == value, name


@pytest.mark.parametrize(("kind", "payload", "phones"), FORMS, ids=[f[0] for f in FORMS])
def test_round_trip_with_every_field(
    login_as: LoginAs, customer: Customer, kind: str, payload: Payload, phones: dict[str, str]
) -> None:
    supervisor = login_as(Role.SUPERVISOR)  # sees numbers unmasked
    sent = payload(customer.id)
    created = supervisor.post(f"/api/records/{kind}", json=sent)
    assert created.status_code == 201, created.text
    body = created.json()
    assert_same(sent, body, phones)

    fetched = supervisor.get(f"/api/records/{kind}/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert_same(sent, fetched.json(), phones)
    assert body["phones_masked"] is False


def test_every_input_field_is_covered_by_the_payloads(customer: Customer) -> None:
    """The round trips above send every field the forms have (so a new field cannot slip by untested)."""
    for kind, payload, _phones in FORMS:
        fields = set(service.kind_of(kind).create.model_fields) - {"agent_id"}
        assert fields == set(payload(customer.id)), kind


def test_agent_snapshot_and_author(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT, full_name="陈晓燕", agent_number="8012")
    body = agent.post("/api/records/inbound", json=inbound_payload(customer.id)).json()
    assert body["agent_id"] == agent.user.id
    assert body["agent_name"] == "陈晓燕"
    assert body["agent_number"] == "8012"
    assert body["created_by_id"] == agent.user.id


def test_unknown_caller_needs_no_customer(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    sent = inbound_payload(None, caller_organisation="某物业公司", caller_name="不愿透露姓名")
    response = agent.post("/api/records/inbound", json=sent)
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] is None
    assert response.json()["caller_organisation"] == "某物业公司"


def test_naive_times_are_the_centers_wall_time(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    sent = inbound_payload(customer.id, started_at="2026-11-20T09:00:00", ended_at="2026-11-20T09:05:00")
    body = agent.post("/api/records/inbound", json=sent).json()
    assert datetime.fromisoformat(body["started_at"]) == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    assert datetime.fromisoformat(body["ended_at"]) == datetime(2026, 11, 20, 1, 5, tzinfo=UTC)


def test_lead_files_a_record_for_a_team_member(
    login_as: LoginAs, make_user: MakeUser, team: Any, customer: Customer
) -> None:
    member = make_user(Role.AGENT, team_id=team.id, full_name="刘洋", agent_number="8101")
    lead = login_as(Role.TEAM_LEAD, team_id=team.id)
    sent = inbound_payload(customer.id, agent_id=member.id)
    body = lead.post("/api/records/inbound", json=sent).json()
    assert (body["agent_id"], body["agent_name"], body["agent_number"]) == (member.id, "刘洋", "8101")
    assert body["created_by_id"] == lead.user.id


def test_create_read_update_leave_audit_rows(
    login_as: LoginAs, customer: Customer, audit_rows: AuditRows
) -> None:
    agent = login_as(Role.AGENT)
    record_id = agent.post("/api/records/outbound", json=outbound_payload(customer.id)).json()["id"]
    agent.get(f"/api/records/outbound/{record_id}")
    patched = agent.patch(f"/api/records/outbound/{record_id}", json={"handling_opinion": "十二月中旬再联系"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["handling_opinion"] == "十二月中旬再联系"

    rows = audit_rows(object_type="outbound", object_id=str(record_id))
    assert [r.action for r in rows] == ["record.create", "record.read", "record.update"]
    assert all(r.user_id == agent.user.id and r.allowed for r in rows)
    assert rows[2].detail == {"fields": ["handling_opinion"]}


def test_patch_changes_only_what_is_sent(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    before = agent.post("/api/records/phone-log", json=phone_log_payload(customer.id)).json()
    after = agent.patch(
        f"/api/records/phone-log/{before['id']}",
        json={"repeat_call_needed": False, "repeat_call_at": None, "phone_number": "13800138001"},
    ).json()
    assert after["repeat_call_needed"] is False and after["repeat_call_at"] is None
    assert after["phone_number"] == "138****8001"  # agents see masked numbers
    changed = {"repeat_call_needed", "repeat_call_at", "phone_number", "updated_at"}
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }


def test_unknown_record_is_404(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    assert agent.get("/api/records/inbound/999999").status_code == 404
    assert agent.patch("/api/records/inbound/999999", json={"remarks": "x"}).status_code == 404


def test_pbx_call_is_linked_by_linkedid(login_as: LoginAs, customer: Customer, db: Session) -> None:
    call = PbxCall(linkedid="1763600400.101", direction="inbound")
    db.add(call)
    db.commit()
    agent = login_as(Role.AGENT)
    body = agent.post("/api/records/inbound", json=inbound_payload(customer.id)).json()
    assert body["pbx_call_id"] == call.id

    # A form written before the PBX row existed is linked when the telephony core calls link_pbx_call.
    later = agent.post(
        "/api/records/inbound", json=inbound_payload(customer.id, pbx_linkedid="1763600999.500")
    ).json()
    assert later["pbx_call_id"] is None
    late_call = PbxCall(linkedid="1763600999.500", direction="inbound")
    db.add(late_call)
    db.flush()
    assert service.link_pbx_call(db, linkedid="1763600999.500", pbx_call_id=late_call.id) == 1
    db.commit()
    assert agent.get(f"/api/records/inbound/{later['id']}").json()["pbx_call_id"] == late_call.id


def test_caller_number_and_file_come_from_the_call(
    login_as: LoginAs, customer: Customer, db: Session
) -> None:
    # the agent sees the caller's number masked: the record takes it (and the file) from the PBX call
    db.add(PbxCall(linkedid="1763600500.7", direction="inbound", caller_number="+8613900139077"))
    db.add(PbxCall(linkedid="1763600500.8", direction="inbound", customer_id=customer.id))
    db.commit()
    agent = login_as(Role.AGENT)
    blank = inbound_payload(None, pbx_linkedid="1763600500.7", caller_number=None)
    created = agent.post("/api/records/inbound", json=blank)
    assert created.status_code == 201, created.text
    stored = db.get(InboundRecord, created.json()["id"])
    assert stored is not None and stored.caller_number == "+8613900139077"
    typed = agent.post(
        "/api/records/inbound",
        json=inbound_payload(None, pbx_linkedid="1763600500.8", caller_number="13900139078"),
    )
    stored = db.get(InboundRecord, typed.json()["id"])
    assert stored is not None
    assert (stored.caller_number, stored.customer_id) == ("+8613900139078", customer.id)  # typed one kept


def test_seeder_entry_point(db: Session, make_user: MakeUser, customer: Customer) -> None:
    agent = make_user(Role.AGENT, full_name="周敏", agent_number="8200")
    settings = Settings(timezone="Asia/Shanghai")
    data = InboundCreate(
        customer_id=customer.id,
        started_at=datetime(2026, 11, 23, 8, 0),  # naive: Shanghai wall time
        content="咨询积分兑换规则",
        caller_number="13900139001",
    )
    record = service.create_inbound(
        db, data=data, actor=Actor(user_id=None, username="seeder"), agent_id=agent.id, settings=settings
    )
    db.commit()
    stored = db.get(InboundRecord, record.id)
    assert stored is not None
    assert stored.started_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert stored.caller_number == "+8613900139001"
    assert (stored.agent_name, stored.agent_number, stored.created_by_id) == ("周敏", "8200", None)
