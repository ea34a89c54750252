"""Who sees and edits which records: own (records.read), the team's (records.read_team), all
(records.read_all); out-of-scope reads are refused with 403 and an audit row; numbers are masked for roles
without customers.phones_unmasked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.customers.models import Customer
from core.people.models import Team
from core.security.roles import Role
from tests.conftest import LoginAs, MakeUser
from tests.contacts.conftest import AuditRows, inbound_payload, phone_log_payload


def new_inbound(client: TestClient, customer_id: int, **fields: Any) -> int:
    response = client.post("/api/records/inbound", json=inbound_payload(customer_id, **fields))
    assert response.status_code == 201, response.text
    record_id: int = response.json()["id"]
    return record_id


def listed_ids(client: TestClient, path: str = "/api/records/inbound") -> set[int]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def other_team(db: Any) -> Team:
    row = Team(name="二组")
    db.add(row)
    db.commit()
    return row


def test_agent_sees_own_records_only(login_as: LoginAs, customer: Customer, audit_rows: AuditRows) -> None:
    alice = login_as(Role.AGENT)
    bob = login_as(Role.AGENT)
    mine = new_inbound(alice, customer.id)
    theirs = new_inbound(bob, customer.id)

    assert listed_ids(alice) == {mine}
    assert alice.get("/api/records/inbound").json()["total"] == 1
    assert alice.get(f"/api/records/inbound/{mine}").status_code == 200

    refused = alice.get(f"/api/records/inbound/{theirs}")
    assert refused.status_code == 403
    assert refused.json()["error"] == "error.record_out_of_scope"
    denial = audit_rows(user_id=alice.user.id, allowed=False)
    assert len(denial) == 1
    assert denial[0].action == "auth.forbidden"
    assert denial[0].detail is not None
    assert denial[0].detail["reason"] == "error.record_out_of_scope"
    assert denial[0].detail["id"] == theirs
    # A refused read is not also recorded as a read.
    assert audit_rows(action="record.read", object_id=str(theirs)) == []


def test_agent_cannot_edit_or_file_under_another_agent(
    login_as: LoginAs, customer: Customer, audit_rows: AuditRows
) -> None:
    alice = login_as(Role.AGENT)
    bob = login_as(Role.AGENT)
    theirs = new_inbound(bob, customer.id)
    assert alice.patch(f"/api/records/inbound/{theirs}", json={"remarks": "改"}).status_code == 403
    assert bob.get(f"/api/records/inbound/{theirs}").json()["remarks"] == "客户语气较急"

    response = alice.post("/api/records/inbound", json=inbound_payload(customer.id, agent_id=bob.user.id))
    assert response.status_code == 403
    assert response.json()["error"] == "error.agent_out_of_scope"
    assert len(audit_rows(user_id=alice.user.id, allowed=False)) == 2


def test_team_lead_sees_the_team(
    login_as: LoginAs, team: Team, other_team: Team, customer: Customer, audit_rows: AuditRows
) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=team.id)
    member = login_as(Role.AGENT, team_id=team.id)
    outsider = login_as(Role.AGENT, team_id=other_team.id)
    loner = login_as(Role.AGENT)  # in no team
    own = new_inbound(lead, customer.id)
    team_record = new_inbound(member, customer.id)
    other_record = new_inbound(outsider, customer.id)
    loner_record = new_inbound(loner, customer.id)

    assert listed_ids(lead) == {own, team_record}
    assert lead.get(f"/api/records/inbound/{team_record}").status_code == 200
    assert lead.get(f"/api/records/inbound/{other_record}").status_code == 403
    assert lead.get(f"/api/records/inbound/{loner_record}").status_code == 403
    assert len(audit_rows(user_id=lead.user.id, allowed=False)) == 2

    # Seeing a member's record is not writing it: only the author or a supervisor edits.
    refused = lead.patch(f"/api/records/inbound/{team_record}", json={"remarks": "组长批注"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "error.record_not_author"
    # Filing for someone outside the team is refused too.
    response = lead.post("/api/records/inbound", json=inbound_payload(customer.id, agent_id=outsider.user.id))
    assert response.status_code == 403


def test_qa_sees_all_but_cannot_write(login_as: LoginAs, team: Team, customer: Customer) -> None:
    agents = [login_as(Role.AGENT), login_as(Role.AGENT, team_id=team.id)]
    ids = {new_inbound(a, customer.id) for a in agents}
    qa = login_as(Role.QA_INSPECTOR)
    assert listed_ids(qa) == ids
    for record_id in ids:
        assert qa.get(f"/api/records/inbound/{record_id}").status_code == 200
    assert qa.post("/api/records/inbound", json=inbound_payload(customer.id)).status_code == 403
    assert qa.patch(f"/api/records/inbound/{min(ids)}", json={"remarks": "x"}).status_code == 403


def test_supervisor_edits_anyones_record(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    record = new_inbound(agent, customer.id)
    supervisor = login_as(Role.SUPERVISOR)
    response = supervisor.patch(f"/api/records/inbound/{record}", json={"remarks": "主管已复核"})
    assert response.status_code == 200, response.text
    assert response.json()["remarks"] == "主管已复核"
    assert response.json()["agent_id"] == agent.user.id  # the handling agent stays


def test_supervisor_may_reassign_the_agent(
    login_as: LoginAs, make_user: MakeUser, customer: Customer
) -> None:
    agent = login_as(Role.AGENT)
    record = new_inbound(agent, customer.id)
    other = make_user(Role.AGENT, full_name="孙丽", agent_number="8300")
    supervisor = login_as(Role.SUPERVISOR)
    body = supervisor.patch(f"/api/records/inbound/{record}", json={"agent_id": other.id}).json()
    assert (body["agent_id"], body["agent_name"], body["agent_number"]) == (other.id, "孙丽", "8300")


def test_agent_edits_own_record(login_as: LoginAs, customer: Customer) -> None:
    agent = login_as(Role.AGENT)
    record = new_inbound(agent, customer.id)
    response = agent.patch(f"/api/records/inbound/{record}", json={"outcome": "resolved"})
    assert response.status_code == 200
    assert response.json()["outcome"] == "resolved"


def test_numbers_are_masked_without_the_permission(login_as: LoginAs, team: Team, customer: Customer) -> None:
    agent = login_as(Role.AGENT, team_id=team.id)
    created = agent.post("/api/records/inbound", json=inbound_payload(customer.id))
    assert created.json()["caller_number"] == "139****9001"
    assert created.json()["phones_masked"] is True
    record = created.json()["id"]
    assert agent.get(f"/api/records/inbound/{record}").json()["caller_number"] == "139****9001"
    assert agent.get("/api/records/inbound").json()["items"][0]["caller_number"] == "139****9001"

    log = agent.post("/api/records/phone-log", json=phone_log_payload(None)).json()
    assert log["phone_number"] == "138****8000"

    lead = login_as(Role.TEAM_LEAD, team_id=team.id)  # holds customers.phones_unmasked
    assert lead.get(f"/api/records/inbound/{record}").json()["caller_number"] == "+8613900139001"
    assert lead.get(f"/api/records/inbound/{record}").json()["phones_masked"] is False


def test_reads_need_authentication(client: TestClient) -> None:
    assert client.get("/api/records/inbound").status_code == 401
    assert client.get("/api/records/mine/today").status_code == 401
