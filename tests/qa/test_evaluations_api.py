"""Assignments and evaluations through the HTTP API: draft → submitted → acknowledged | disputed →
resolved (upheld | rescored) and nothing else (409), evidence for every deduction, N/A only where allowed,
the holds on the recording, who sees what (403 audited), audit rows, and version immutability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.people.models import Team
from core.security.roles import Role
from qa.models import Assignment, AssignmentStatus, Evaluation, EvaluationStatus
from recording.models import Recording, RecordingStatus
from tests.qa.conftest import (
    AsRole,
    MakeRecording,
    audit_rows,
    card_definition,
    create_card,
    field_errors,
    holds,
    perfect,
)

DEDUCTED = perfect(
    polite={"value": 3, "evidence": "语气生硬，未使用“请”"}, notice={"value": None, "evidence": ""}
)


def _assign(lead: TestClient, recording_id: int, card_id: int, inspector: TestClient) -> dict[str, Any]:
    body = {"recording_id": recording_id, "scorecard_id": card_id, "inspector_id": inspector.user.id}  # type: ignore[attr-defined]
    response = lead.post("/api/qa/assignments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@dataclass
class World:
    lead: TestClient
    inspector: TestClient
    agent: TestClient
    recording: Recording
    card_id: int
    assignment: dict[str, Any]


def _setup(as_role: AsRole, make_recording: MakeRecording, **agent_fields: Any) -> World:
    lead, inspector = as_role(Role.QA_LEAD), as_role(Role.QA_INSPECTOR)
    agent = as_role(Role.AGENT, **agent_fields)
    recording = make_recording(agent.user)  # type: ignore[attr-defined]
    card_id = create_card(lead)
    assignment = _assign(lead, recording.id, card_id, inspector)
    return World(lead, inspector, agent, recording, card_id, assignment)


def _submit(
    inspector: TestClient, assignment_id: int, answers: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = {
        "assignment_id": assignment_id,
        "answers": answers or DEDUCTED,
        "summary": "整体良好",
        "submit": True,
    }
    response = inspector.post("/api/qa/evaluations", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_assignments(as_role: AsRole, make_recording: MakeRecording, db: Session) -> None:
    w = _setup(as_role, make_recording)
    assert (w.assignment["reason"], w.assignment["status"], w.assignment["scorecard_version"]) == (
        "manual",
        "open",
        1,
    )
    assert (w.assignment["linkedid"], w.assignment["queue"], w.assignment["agent_name"]) == (
        w.recording.linkedid,
        "billing",
        w.agent.user.full_name,  # type: ignore[attr-defined]
    )
    assert w.assignment["evaluation_id"] is None
    mine = w.inspector.get("/api/qa/assignments", params={"mine": "true", "status": "open"}).json()
    assert [a["id"] for a in mine["items"]] == [w.assignment["id"]]
    other = as_role(Role.QA_INSPECTOR)
    assert other.get("/api/qa/assignments", params={"mine": "false"}).json()["total"] == 0  # own only
    assert w.lead.get("/api/qa/assignments", params={"mine": "false"}).json()["total"] == 1
    body = {"recording_id": w.recording.id, "scorecard_id": w.card_id, "inspector_id": w.inspector.user.id}  # type: ignore[attr-defined]
    assert w.lead.post("/api/qa/assignments", json=body).status_code == 409  # the same open w.assignment
    errors = field_errors(w.lead.post("/api/qa/assignments", json={**body, "inspector_id": w.agent.user.id}))  # type: ignore[attr-defined]
    assert errors["inspector_id"]["code"] == "validation.qa_not_inspector"
    assert field_errors(w.lead.post("/api/qa/assignments", json={**body, "recording_id": 999}))[
        "recording_id"
    ]
    missing = make_recording(w.agent.user, status=RecordingStatus.MISSING)  # type: ignore[attr-defined]
    errors = field_errors(
        w.lead.post("/api/qa/assignments", json={**body, "recording_id": missing.id}, params={"lang": "en"})
    )
    assert errors["recording_id"]["message"] == "This recording cannot be evaluated (status: missing)"
    assert field_errors(w.lead.post("/api/qa/assignments", json={**body, "scorecard_id": 999}))[
        "scorecard_id"
    ]
    team_lead = as_role(Role.TEAM_LEAD)  # may evaluate, but not their own call
    own_call = make_recording(team_lead.user)  # type: ignore[attr-defined]
    own = {**body, "recording_id": own_call.id, "inspector_id": team_lead.user.id}  # type: ignore[attr-defined]
    errors = field_errors(w.lead.post("/api/qa/assignments", json=own))
    assert errors["inspector_id"]["message"] == "质检员不能评自己的通话"
    assert w.inspector.post("/api/qa/assignments", json=body).status_code == 403
    assert w.agent.get("/api/qa/assignments").status_code == 403
    assert len(audit_rows(db, "auth.forbidden", allowed=False)) == 2
    assert [r.object_id for r in audit_rows(db, "assignment.create")] == [str(w.assignment["id"])]


def test_draft_then_submit(as_role: AsRole, make_recording: MakeRecording, db: Session) -> None:
    w = _setup(as_role, make_recording)
    draft = w.inspector.post(
        "/api/qa/evaluations",
        json={
            "assignment_id": w.assignment["id"],
            "answers": {"greet": {"value": 0, "evidence": ""}},  # a draft needs no evidence yet
            "comments": [{"at_ms": 42_000, "text": "这里打断了客户"}, {"at_ms": 1_000, "text": "开场"}],
        },
    )
    assert draft.status_code == 201, draft.text
    evaluation = draft.json()
    assert evaluation["status"] == "draft"
    assert [c["at_ms"] for c in evaluation["comments"]] == [1_000, 42_000]
    assert holds(db, w.recording.id) == set()
    listed = w.inspector.get("/api/qa/assignments").json()["items"][0]
    assert listed["evaluation_id"] == evaluation["id"]
    # submitting: every deduction needs its evidence, every item an answer, N/A only where allowed
    url = f"/api/qa/evaluations/{evaluation['id']}"
    no_evidence = perfect(greet={"value": 0, "evidence": "   "})
    errors = field_errors(w.inspector.put(url, json={"answers": no_evidence, "submit": True}))
    assert errors["answers.greet.evidence"]["message"] == "扣分须填写得分依据"
    errors = field_errors(
        w.inspector.put(url, json={"answers": no_evidence, "submit": True}, headers={"Accept-Language": "en"})
    )
    assert errors["answers.greet.evidence"]["message"] == "A deduction needs its evidence"
    errors = field_errors(
        w.inspector.put(url, json={"answers": perfect(identity={"value": None}), "submit": True})
    )
    assert errors["answers.identity.value"]["code"] == "validation.qa_na_not_allowed"
    errors = field_errors(w.inspector.put(url, json={"answers": {"greet": {"value": 1}}, "submit": True}))
    assert set(errors) == {
        "answers.polite.value",
        "answers.identity.value",
        "answers.accuracy.value",
        "answers.notice.value",
    }
    assert errors["answers.polite.value"]["message"] == "必填"
    assert field_errors(w.inspector.put(url, json={"assignment_id": 999, "answers": {}}))["assignment_id"]
    db.expire_all()
    assert db.get(Evaluation, evaluation["id"]).status is EvaluationStatus.DRAFT  # type: ignore[union-attr]
    # only the assigned w.inspector works on it
    other = as_role(Role.QA_INSPECTOR)
    assert other.put(url, json={"answers": DEDUCTED, "submit": True}).status_code == 403
    assert (
        other.post(
            "/api/qa/evaluations", json={"assignment_id": w.assignment["id"], "answers": {}}
        ).status_code
        == 403
    )
    assert other.get(url).status_code == 403  # someone else's draft
    refused = audit_rows(db, "auth.forbidden", allowed=False)
    assert {(r.detail or {}).get("reason") for r in refused} == {
        "error.qa_not_your_assignment",
        "error.qa_not_your_evaluation",
    }
    submitted = w.inspector.put(
        url, json={"answers": DEDUCTED, "comments": [], "summary": " 语气需改进 ", "submit": True}
    )
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert (body["status"], body["summary"]) == ("submitted", "语气需改进")
    assert (body["result"]["total_pct"], body["result"]["score"], body["result"]["grade"]) == (
        92.0,
        92.0,
        "A",
    )
    assert body["agent_user_id"] == w.agent.user.id  # type: ignore[attr-defined]
    assert body["scorecard"] == {
        "id": w.card_id,
        "name": "测试质检表",
        "version": 1,
        "definition": body["scorecard"]["definition"],
        "standard_score": 100,
    }
    assert body["submitted_at"] is not None
    db.expire_all()
    row = db.get(Evaluation, evaluation["id"])
    assert row is not None and (row.total_pct, row.grade, row.failed, row.score) == (92.0, "A", False, 92.0)
    assert db.get(Assignment, w.assignment["id"]).status is AssignmentStatus.DONE  # type: ignore[union-attr]
    assert holds(db, w.recording.id) == {("evaluation", f"evaluation:{evaluation['id']}")}
    assert [r.object_id for r in audit_rows(db, "evaluation.submit")] == [str(evaluation["id"])]
    assert len(audit_rows(db, "evaluation.save")) == 1
    # no more edits, no second evaluation
    assert w.inspector.put(url, json={"answers": DEDUCTED, "submit": True}).status_code == 409
    again = w.inspector.post("/api/qa/evaluations", json={"assignment_id": w.assignment["id"], "answers": {}})
    assert again.status_code == 409
    assert (
        w.inspector.post("/api/qa/evaluations", json={"assignment_id": 999, "answers": {}}).status_code == 422
    )
    assert w.inspector.get("/api/qa/assignments", params={"status": "open"}).json()["total"] == 0


def test_agent_sees_own_submitted_and_acknowledges(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    w = _setup(as_role, make_recording)
    draft = w.inspector.post(
        "/api/qa/evaluations", json={"assignment_id": w.assignment["id"], "answers": {}}
    ).json()
    assert w.agent.get("/api/qa/evaluations/mine").json()["total"] == 0
    assert w.agent.get(f"/api/qa/evaluations/{draft['id']}").status_code == 403
    assert w.agent.post(f"/api/qa/evaluations/{draft['id']}/acknowledge").status_code == 403
    assert (
        w.agent.post(
            "/api/qa/evaluations", json={"assignment_id": w.assignment["id"], "answers": {}}
        ).status_code
        == 403
    )
    w.inspector.put(f"/api/qa/evaluations/{draft['id']}", json={"answers": DEDUCTED, "submit": True})
    mine = w.agent.get("/api/qa/evaluations/mine").json()
    assert [e["id"] for e in mine["items"]] == [draft["id"]]
    assert mine["items"][0]["answers"]["polite"]["evidence"] == "语气生硬，未使用“请”"
    assert w.agent.get(f"/api/qa/evaluations/{draft['id']}").status_code == 200
    stranger = as_role(Role.AGENT)
    assert stranger.get(f"/api/qa/evaluations/{draft['id']}").status_code == 403
    assert stranger.post(f"/api/qa/evaluations/{draft['id']}/acknowledge").status_code == 403
    assert stranger.get("/api/qa/evaluations/mine").json()["total"] == 0
    assert len(audit_rows(db, "auth.forbidden", allowed=False)) == 5
    acked = w.agent.post(f"/api/qa/evaluations/{draft['id']}/acknowledge")
    assert acked.status_code == 200
    assert (acked.json()["status"], acked.json()["acknowledged_at"] is not None) == ("acknowledged", True)
    assert w.agent.post(f"/api/qa/evaluations/{draft['id']}/acknowledge").status_code == 409
    response = w.agent.post(f"/api/qa/evaluations/{draft['id']}/dispute", json={"reason": "不同意"})
    assert response.status_code == 409
    assert response.json()["error"] == "error.invalid_transition"
    assert len(audit_rows(db, "evaluation.acknowledge")) == 1


def test_dispute_and_resolve_upheld(as_role: AsRole, make_recording: MakeRecording, db: Session) -> None:
    w = _setup(as_role, make_recording)
    evaluation = _submit(w.inspector, w.assignment["id"])
    url = f"/api/qa/evaluations/{evaluation['id']}"
    assert w.lead.post(f"{url}/resolve", json={"outcome": "upheld"}).status_code == 409  # not disputed
    errors = field_errors(w.agent.post(f"{url}/dispute", json={"reason": "   "}))
    assert errors["reason"]["code"] == "validation.string_too_short"
    assert as_role(Role.AGENT).post(f"{url}/dispute", json={"reason": "x"}).status_code == 403
    disputed = w.agent.post(f"{url}/dispute", json={"reason": " 我已提示录音，评分有误 "})
    assert disputed.status_code == 200
    assert (disputed.json()["status"], disputed.json()["dispute_reason"]) == (
        "disputed",
        "我已提示录音，评分有误",
    )
    ref = f"evaluation:{evaluation['id']}"
    assert holds(db, w.recording.id) == {("evaluation", ref), ("dispute", ref)}
    assert w.agent.post(f"{url}/acknowledge").status_code == 409
    assert w.agent.get("/api/qa/disputes").status_code == 403
    assert w.inspector.get("/api/qa/disputes").status_code == 403
    inbox = w.lead.get("/api/qa/disputes", params={"status": "open"}).json()
    assert [e["id"] for e in inbox["items"]] == [evaluation["id"]]
    assert w.agent.post(f"{url}/resolve", json={"outcome": "upheld"}).status_code == 403
    errors = field_errors(w.lead.post(f"{url}/resolve", json={"outcome": "maybe"}))
    assert errors["outcome"]["code"] == "validation.enum"
    resolved = w.lead.post(f"{url}/resolve", json={"outcome": "upheld", "note": "录音中未听到提示"})
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolution"], body["resolution_note"]) == (
        "resolved",
        "upheld",
        "录音中未听到提示",
    )
    assert body["resolved_by_name"] == w.lead.user.full_name  # type: ignore[attr-defined]
    assert body["result"]["total_pct"] == 92.0 and body["history"] == []
    assert holds(db, w.recording.id) == {("evaluation", ref)}  # the dispute's hold is released
    assert w.lead.post(f"{url}/resolve", json={"outcome": "upheld"}).status_code == 409
    assert w.lead.get("/api/qa/disputes").json()["total"] == 0
    assert w.lead.get("/api/qa/disputes", params={"status": "resolved"}).json()["total"] == 1
    assert w.agent.get(url).json()["status"] == "resolved"
    assert [r.detail["reason"] for r in audit_rows(db, "evaluation.dispute")] == ["我已提示录音，评分有误"]  # type: ignore[index]
    assert audit_rows(db, "evaluation.resolve")[0].detail["outcome"] == "upheld"  # type: ignore[index]


def test_resolve_rescored_keeps_the_original_in_history(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    w = _setup(as_role, make_recording)
    evaluation = _submit(w.inspector, w.assignment["id"], perfect(greet={"value": 0, "evidence": "未报工号"}))
    url = f"/api/qa/evaluations/{evaluation['id']}"
    assert evaluation["result"]["total_pct"] == 80.0
    w.agent.post(f"{url}/dispute", json={"reason": "我报了工号"})
    errors = field_errors(w.lead.post(f"{url}/resolve", json={"outcome": "rescored", "note": "复听"}))
    assert errors["answers"]["message"] == "必填"
    errors = field_errors(
        w.lead.post(f"{url}/resolve", json={"outcome": "rescored", "answers": {"greet": {"value": 1}}})
    )
    assert "answers.polite.value" in errors
    response = w.lead.post(
        f"{url}/resolve", json={"outcome": "rescored", "note": "复听确认已报工号", "answers": perfect()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["resolution"], body["result"]["total_pct"], body["result"]["grade"]) == (
        "resolved",
        "rescored",
        100.0,
        "A",
    )
    assert len(body["history"]) == 1
    original = body["history"][0]
    assert original["result"]["total_pct"] == 80.0
    assert original["answers"]["greet"] == {"value": 0, "evidence": "未报工号"}
    assert original["by"] == w.lead.user.id and original["by_name"] == w.lead.user.full_name  # type: ignore[attr-defined]
    db.expire_all()
    row = db.get(Evaluation, evaluation["id"])
    assert row is not None and (row.total_pct, row.grade) == (100.0, "A")
    detail = audit_rows(db, "evaluation.resolve")[0].detail
    assert detail == {
        "outcome": "rescored",
        "before": {"total_pct": 80.0, "grade": "B"},
        "after": {"total_pct": 100.0, "grade": "A"},
    }


def test_editing_a_scorecard_never_changes_past_evaluations(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    w = _setup(as_role, make_recording)
    evaluation = _submit(w.inspector, w.assignment["id"], perfect(greet={"value": 0, "evidence": "未报工号"}))
    before = w.inspector.get(f"/api/qa/evaluations/{evaluation['id']}").json()
    changed = card_definition(standard_score=50)
    changed["sections"][0]["weight"] = 1  # opening barely counts now
    changed["sections"][0]["items"][0]["title"] = "问候（新）"
    assert (
        w.lead.put(
            f"/api/qa/scorecards/{w.card_id}", json={"name": "新表", "definition": changed}
        ).status_code
        == 200
    )
    after = w.inspector.get(f"/api/qa/evaluations/{evaluation['id']}").json()
    assert after["scorecard"]["name"] == "新表"  # the card's name is its identity, not part of a version
    assert {**after["scorecard"], "name": None} == {**before["scorecard"], "name": None}
    assert (
        after["scorecard"]["version"] == 1 and after["scorecard"]["definition"]["sections"][0]["weight"] == 40
    )
    assert after["result"] == before["result"]
    # new work uses the new version
    second = make_recording(w.agent.user)  # type: ignore[attr-defined]
    fresh = _assign(w.lead, second.id, w.card_id, w.inspector)
    assert fresh["scorecard_version"] == 2
    new = _submit(w.inspector, fresh["id"], perfect(greet={"value": 0, "evidence": "未报工号"}))
    assert new["scorecard"]["version"] == 2
    assert new["result"]["total_pct"] != evaluation["result"]["total_pct"]
    assert new["result"]["score"] == round(new["result"]["total_pct"] / 100 * 50, 1)


def test_auto_fail_on_submit(as_role: AsRole, make_recording: MakeRecording) -> None:
    w = _setup(as_role, make_recording)
    body = _submit(
        w.inspector, w.assignment["id"], perfect(identity={"value": 0, "evidence": "未核实身份即告知余额"})
    )
    assert (body["result"]["total_pct"], body["result"]["failed"], body["result"]["grade"]) == (
        0.0,
        True,
        "C",
    )
    assert body["result"]["failed_sections"] == ["compliance"]


def test_team_lead_reads_own_team_only(as_role: AsRole, make_recording: MakeRecording, db: Session) -> None:
    red, blue = Team(name="红组"), Team(name="蓝组")
    db.add_all([red, blue])
    db.commit()
    w = _setup(as_role, make_recording, team_id=red.id)
    evaluation = _submit(w.inspector, w.assignment["id"])
    own = as_role(Role.TEAM_LEAD, team_id=red.id)
    other = as_role(Role.TEAM_LEAD, team_id=blue.id)
    assert own.get(f"/api/qa/evaluations/{evaluation['id']}").status_code == 200
    assert other.get(f"/api/qa/evaluations/{evaluation['id']}").status_code == 403
    assert as_role(Role.QA_INSPECTOR).get(f"/api/qa/evaluations/{evaluation['id']}").status_code == 200
    assert as_role(Role.SUPERVISOR).get(f"/api/qa/evaluations/{evaluation['id']}").status_code == 200
    assert w.lead.get("/api/qa/evaluations/999").status_code == 404
