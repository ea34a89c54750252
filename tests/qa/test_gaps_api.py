"""What the QA pages were missing, through the HTTP API: one assignment by id (its inspector's, or anyone's
for a QA manager; 403 and 404 audited), the inspectors to pick from (whoever the role matrix lets score
calls, with their backlog), and the calibration list (one's own, or all for a manager; the spread once two
have submitted, never before one's own scoring)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.security.roles import ROLE_PERMISSIONS, Permission, Role
from qa import service
from qa.models import AssignmentStatus
from tests.qa.conftest import AsRole, MakeRecording, audit_rows, create_card, perfect


def test_one_assignment_for_its_inspector_or_a_manager(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    lead = as_role(Role.QA_LEAD)
    inspector = as_role(Role.QA_INSPECTOR)
    other = as_role(Role.QA_INSPECTOR)
    agent = as_role(Role.AGENT, full_name="王芳")
    recording = make_recording(agent.user, queue="billing")  # type: ignore[attr-defined]
    card_id = create_card(lead)
    created = lead.post(
        "/api/qa/assignments",
        json={"recording_id": recording.id, "scorecard_id": card_id, "inspector_id": inspector.user.id},  # type: ignore[attr-defined]
    )
    assert created.status_code == 201, created.text
    assignment_id = created.json()["id"]
    url = f"/api/qa/assignments/{assignment_id}"

    mine = inspector.get(url)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body == created.json()
    assert (body["recording_id"], body["agent_name"], body["queue"], body["reason"]) == (
        recording.id,
        "王芳",
        "billing",
        "manual",
    )
    assert (body["scorecard_id"], body["scorecard_version"], body["evaluation_id"]) == (card_id, 1, None)
    assert lead.get(url).status_code == 200  # a QA manager opens anyone's

    # a draft shows in it (the workbench reopens the draft)
    draft = inspector.post("/api/qa/evaluations", json={"assignment_id": assignment_id, "answers": perfect()})
    assert inspector.get(url).json()["evaluation_id"] == draft.json()["id"]

    refused = other.get(url)
    assert refused.status_code == 403
    assert refused.json()["error"] == "error.qa_not_your_assignment"
    assert other.get(url, params={"lang": "en"}).json()["message"] != refused.json()["message"]
    forbidden = audit_rows(db, "auth.forbidden", allowed=False)
    assert [(r.user_id, (r.detail or {}).get("assignment_id")) for r in forbidden] == [
        (other.user.id, assignment_id),  # type: ignore[attr-defined]
        (other.user.id, assignment_id),  # type: ignore[attr-defined]
    ]
    assert agent.get(url).status_code == 403  # no QA_EVALUATE at all

    missing = inspector.get("/api/qa/assignments/999999")
    assert missing.status_code == 404
    assert missing.json()["error"] == "error.not_found"
    rows = audit_rows(db, "assignment.read", allowed=False)
    assert [(r.user_id, (r.detail or {}).get("assignment_id")) for r in rows] == [
        (inspector.user.id, 999999)  # type: ignore[attr-defined]
    ]


def test_inspectors_are_whoever_may_score_with_their_backlog(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    lead = as_role(Role.QA_LEAD, full_name="A质检主管")
    chen = as_role(Role.QA_INSPECTOR, full_name="B陈静", agent_number="9201")
    li = as_role(Role.QA_INSPECTOR, full_name="C李娜")
    team_lead = as_role(Role.TEAM_LEAD, full_name="D组长")
    gone = as_role(Role.QA_INSPECTOR, full_name="E离职", active=False)
    agent = as_role(Role.AGENT, full_name="F坐席")
    officer = as_role(Role.COMPLAINTS_OFFICER, full_name="G投诉专员")
    card_id = create_card(lead)
    for _ in range(2):
        recording = make_recording(agent.user)  # type: ignore[attr-defined]
        service.assign(
            db,
            recording_id=recording.id,
            scorecard_id=card_id,
            inspector_id=chen.user.id,  # type: ignore[attr-defined]
            reason="manual",
            actor=SYSTEM,
        )
    closed = service.assign(
        db,
        recording_id=make_recording(agent.user).id,  # type: ignore[attr-defined]
        scorecard_id=card_id,
        inspector_id=li.user.id,  # type: ignore[attr-defined]
        reason="manual",
        actor=SYSTEM,
    )
    closed.status = AssignmentStatus.DONE  # done work is not backlog
    db.commit()

    response = lead.get("/api/qa/inspectors")
    assert response.status_code == 200, response.text
    people = response.json()
    ids = [p["id"] for p in people]
    for client in (lead, chen, li, team_lead):
        assert client.user.id in ids  # type: ignore[attr-defined]
    for client in (gone, agent, officer):
        assert client.user.id not in ids  # type: ignore[attr-defined]
    # the role matrix decides who is an inspector
    assert {p["role"] for p in people} <= {
        role.value for role in Role if Permission.QA_EVALUATE in ROLE_PERMISSIONS[role]
    }
    names = [p["name"] for p in people]
    assert names == sorted(names)
    by_id = {p["id"]: p for p in people}
    assert by_id[chen.user.id] == {  # type: ignore[attr-defined]
        "id": chen.user.id,  # type: ignore[attr-defined]
        "name": "B陈静",
        "agent_number": "9201",
        "username": chen.user.username,  # type: ignore[attr-defined]
        "role": "qa_inspector",
        "team_id": None,
        "team_name": None,
        "open_assignments": 2,
    }
    assert by_id[li.user.id]["open_assignments"] == 0  # type: ignore[attr-defined]
    assert by_id[lead.user.id]["role"] == "qa_lead"  # type: ignore[attr-defined]

    # QA_MANAGE only: an inspector picks no one
    assert chen.get("/api/qa/inspectors").status_code == 403
    assert agent.get("/api/qa/inspectors").status_code == 403


def _calibrate(lead: TestClient, recording_id: int, card_id: int, inspector_ids: list[int]) -> dict[str, Any]:
    response = lead.post(
        "/api/qa/calibrations",
        json={"recording_id": recording_id, "scorecard_id": card_id, "inspector_ids": inspector_ids},
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_calibration_list_scope_progress_and_blind_spread(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    lead = as_role(Role.QA_LEAD)
    first, second, third = (as_role(Role.QA_INSPECTOR) for _ in range(3))
    outsider = as_role(Role.QA_INSPECTOR)
    agent = as_role(Role.AGENT, full_name="王芳")
    card_id = create_card(lead)
    older_recording = make_recording(agent.user, linkedid="1700000000.900")  # type: ignore[attr-defined]
    newer_recording = make_recording(agent.user)  # type: ignore[attr-defined]
    ids = [c.user.id for c in (first, second, third)]  # type: ignore[attr-defined]
    older = _calibrate(lead, older_recording.id, card_id, ids[:2])
    newer = _calibrate(lead, newer_recording.id, card_id, ids)

    page = lead.get("/api/qa/calibrations")
    assert page.status_code == 200, page.text
    listed = page.json()
    assert listed["total"] == 2
    assert [c["id"] for c in listed["items"]] == [newer["id"], older["id"]]  # newest first
    row = listed["items"][1]
    assert (row["recording_id"], row["linkedid"], row["agent_name"]) == (
        older_recording.id,
        "1700000000.900",
        "王芳",
    )
    assert (row["scorecard_id"], row["scorecard_name"], row["scorecard_version"]) == (
        card_id,
        "测试质检表",
        1,
    )
    assert [(m["inspector_id"], m["status"]) for m in row["inspectors"]] == [(i, "open") for i in ids[:2]]
    assert (row["submitted"], row["spread"], row["my_assignment_id"]) == (0, None, None)

    # the third inspector only takes part in the newer one; an outsider in none
    third_page = third.get("/api/qa/calibrations").json()
    assert [c["id"] for c in third_page["items"]] == [newer["id"]]
    third_row = third_page["items"][0]
    my_assignment = next(a for a in newer["assignments"] if a["inspector_id"] == ids[2])
    assert (third_row["my_assignment_id"], third_row["my_status"]) == (my_assignment["id"], "open")
    assert outsider.get("/api/qa/calibrations").json() == {"items": [], "total": 0, "offset": 0, "limit": 50}
    assert agent.get("/api/qa/calibrations").status_code == 403

    # one submits: no spread yet (it needs two); the first saves a draft, the second submits
    assignment_of = {
        a["inspector_id"]: a["id"] for a in newer["assignments"]
    }  # inspector → assignment in the newer calibration
    third.post(
        "/api/qa/evaluations",
        json={"assignment_id": assignment_of[ids[2]], "answers": perfect(), "submit": True},
    )
    row = lead.get("/api/qa/calibrations").json()["items"][0]
    assert (row["submitted"], row["spread"]) == (1, None)
    first.post("/api/qa/evaluations", json={"assignment_id": assignment_of[ids[0]], "answers": perfect()})
    second.post(
        "/api/qa/evaluations",
        json={
            "assignment_id": assignment_of[ids[1]],
            "answers": perfect(greet={"value": 0, "evidence": "未报工号"}),
            "submit": True,
        },
    )
    row = lead.get("/api/qa/calibrations").json()["items"][0]
    assert row["submitted"] == 2
    assert row["spread"] == {"min": 80.0, "max": 100.0, "range": 20.0, "stdev": 10.0}
    assert {m["inspector_id"]: m["status"] for m in row["inspectors"]} == {
        ids[0]: "draft",
        ids[1]: "submitted",
        ids[2]: "submitted",
    }
    # a taking-part inspector sees the spread only after submitting their own (they score blind)
    assert first.get("/api/qa/calibrations").json()["items"][0]["spread"] is None
    assert first.get("/api/qa/calibrations").json()["items"][0]["my_status"] == "draft"
    assert third.get("/api/qa/calibrations").json()["items"][0]["spread"] == row["spread"]

    # open = someone has not submitted yet; done = everyone has
    assert [c["id"] for c in lead.get("/api/qa/calibrations", params={"status": "open"}).json()["items"]] == [
        newer["id"],
        older["id"],
    ]
    assert lead.get("/api/qa/calibrations", params={"status": "done"}).json()["total"] == 0
    evaluation_id = service.evaluations_of_assignments(db, [assignment_of[ids[0]]])[assignment_of[ids[0]]].id
    first.put(f"/api/qa/evaluations/{evaluation_id}", json={"answers": perfect(), "submit": True})
    done = lead.get("/api/qa/calibrations", params={"status": "done"}).json()
    assert [c["id"] for c in done["items"]] == [newer["id"]]
    assert done["items"][0]["submitted"] == 3
    bad = lead.get("/api/qa/calibrations", params={"status": "closed"})
    assert bad.status_code == 422
    # paging
    second_page = lead.get("/api/qa/calibrations", params={"offset": 1, "limit": 1}).json()
    assert (second_page["total"], [c["id"] for c in second_page["items"]]) == (2, [older["id"]])
