"""Calibration through the HTTP API: several inspectors score the same call with the same version; each
sees the others' scores only after submitting their own (403, audited, before); the spread and the
per-item agreement; calibration scorings are not shown to the agent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.security.roles import Role
from tests.qa.conftest import AsRole, MakeRecording, audit_rows, create_card, field_errors, perfect


def test_calibration_spread_and_visibility(
    as_role: AsRole, make_recording: MakeRecording, db: Session
) -> None:
    lead = as_role(Role.QA_LEAD)
    first, second, third = (as_role(Role.QA_INSPECTOR) for _ in range(3))
    agent = as_role(Role.AGENT)
    recording = make_recording(agent.user)  # type: ignore[attr-defined]
    card_id = create_card(lead)
    ids = [c.user.id for c in (first, second, third)]  # type: ignore[attr-defined]
    body = {"recording_id": recording.id, "scorecard_id": card_id, "inspector_ids": ids, "note": "月度校准"}
    assert first.post("/api/qa/calibrations", json=body).status_code == 403
    created = lead.post("/api/qa/calibrations", json=body)
    assert created.status_code == 201, created.text
    calibration = created.json()
    assignments = {a["inspector_id"]: a for a in calibration["assignments"]}
    assert set(assignments) == set(ids)
    assert {(a["reason"], a["calibration_id"], a["scorecard_version"]) for a in assignments.values()} == {
        ("calibration", calibration["id"], 1)
    }
    url = f"/api/qa/calibrations/{calibration['id']}"
    # before submitting one's own scoring: 403, audited
    assert first.get(url).status_code == 403
    outsider = as_role(Role.QA_INSPECTOR)
    assert outsider.get(url).status_code == 403
    reasons = [(r.detail or {}).get("reason") for r in audit_rows(db, "auth.forbidden", allowed=False)]
    assert "error.qa_calibration_submit_first" in reasons and "error.qa_not_in_calibration" in reasons
    # the lead sees it at any time; nobody has submitted yet
    view = lead.get(url).json()
    assert view["spread"] == {"min": None, "max": None, "range": None, "stdev": None}
    assert {i["status"] for i in view["inspectors"]} == {"open"}
    # the first inspector submits (greet 0), the second keeps a draft
    first_eval = first.post(
        "/api/qa/evaluations",
        json={
            "assignment_id": assignments[ids[0]]["id"],
            "answers": perfect(greet={"value": 0, "evidence": "未报工号"}),
            "submit": True,
        },
    ).json()
    second_draft = second.post(
        "/api/qa/evaluations", json={"assignment_id": assignments[ids[1]]["id"], "answers": perfect()}
    ).json()
    assert first.get(f"/api/qa/evaluations/{second_draft['id']}").status_code == 403  # a draft
    view = first.get(url)
    assert view.status_code == 200, view.text
    by_inspector = {i["inspector_id"]: i for i in view.json()["inspectors"]}
    assert (by_inspector[ids[0]]["status"], by_inspector[ids[0]]["total_pct"]) == ("submitted", 80.0)
    assert (by_inspector[ids[1]]["status"], by_inspector[ids[1]]["total_pct"]) == ("draft", None)
    assert (by_inspector[ids[2]]["status"], by_inspector[ids[2]]["grade"]) == ("open", None)
    assert view.json()["spread"] == {"min": 80.0, "max": 80.0, "range": 0.0, "stdev": 0.0}
    assert second.get(url).status_code == 403  # still a draft
    # the other two submit
    second.put(
        f"/api/qa/evaluations/{second_draft['id']}",
        json={"answers": perfect(notice={"value": None}), "submit": True},
    )
    third_eval = third.post(
        "/api/qa/evaluations",
        json={
            "assignment_id": assignments[ids[2]]["id"],
            "answers": perfect(
                greet={"value": 0, "evidence": "问候不规范"}, polite={"value": 4, "evidence": "略急"}
            ),
            "submit": True,
        },
    ).json()
    assert third.get(f"/api/qa/evaluations/{first_eval['id']}").status_code == 200  # submitted own first
    result = second.get(url).json()
    assert result["scorecard"]["version"] == 1 and result["note"] == "月度校准"
    totals = {i["inspector_id"]: i["total_pct"] for i in result["inspectors"]}
    assert totals == {ids[0]: 80.0, ids[1]: 100.0, ids[2]: 76.0}
    spread = result["spread"]
    assert (spread["min"], spread["max"], spread["range"]) == (76.0, 100.0, 24.0)
    assert spread["stdev"] == 10.5  # population stdev of 80, 100, 76
    items = {i["key"]: i for i in result["items"]}
    assert items["greet"]["values"] == {str(ids[0]): 0, str(ids[1]): 1, str(ids[2]): 0}
    assert not items["greet"]["agree"]
    assert items["identity"]["agree"] and not items["notice"]["agree"] and not items["polite"]["agree"]
    assert items["notice"]["values"][str(ids[1])] is None
    # calibration scorings are for the inspectors, not the agent's record
    assert agent.get("/api/qa/evaluations/mine").json()["total"] == 0
    assert agent.get(f"/api/qa/evaluations/{third_eval['id']}").status_code == 403
    assert (
        agent.post(f"/api/qa/evaluations/{third_eval['id']}/dispute", json={"reason": "x"}).status_code == 403
    )
    assert [r.object_id for r in audit_rows(db, "calibration.create")] == [str(calibration["id"])]
    assert lead.get("/api/qa/calibrations/999").status_code == 404


def test_calibration_validation(as_role: AsRole, make_recording: MakeRecording) -> None:
    lead = as_role(Role.QA_LEAD)
    inspector = as_role(Role.QA_INSPECTOR)
    agent = as_role(Role.AGENT)
    recording = make_recording(agent.user)  # type: ignore[attr-defined]
    card_id = create_card(lead)
    me = inspector.user.id  # type: ignore[attr-defined]
    base = {"recording_id": recording.id, "scorecard_id": card_id}
    errors = field_errors(lead.post("/api/qa/calibrations", json={**base, "inspector_ids": [me]}))
    assert errors["inspector_ids"]["message"] == "至少需要 2 项"
    errors = field_errors(lead.post("/api/qa/calibrations", json={**base, "inspector_ids": [me, me]}))
    assert errors["inspector_ids.1"]["code"] == "validation.duplicate"
    agent_id = agent.user.id  # type: ignore[attr-defined]
    errors = field_errors(
        lead.post(
            "/api/qa/calibrations", json={**base, "inspector_ids": [me, agent_id]}, params={"lang": "en"}
        )
    )
    assert errors["inspector_ids.1"]["message"] == f"{agent.user.full_name} cannot score calls"  # type: ignore[attr-defined]
    lead_id = lead.user.id  # type: ignore[attr-defined]
    body = {**base, "scorecard_id": 999, "inspector_ids": [me, lead_id]}
    errors = field_errors(lead.post("/api/qa/calibrations", json=body))
    assert errors["scorecard_id"]["code"] == "validation.unknown_reference"
    assert lead.get("/api/qa/assignments", params={"mine": "false"}).json()["total"] == 0  # nothing half-made
