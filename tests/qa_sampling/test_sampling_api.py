"""The sampling HTTP API: rules GET/PUT with validation per kind, the run endpoint, permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.security.roles import Role
from qa.models import Assignment, Scorecard
from qa.sampling_models import SamplingRule
from tests.conftest import LoginAs, MakeUser
from tests.qa_sampling.conftest import MONDAY, MakeRecording


def _rules(inspector_id: int, scorecard_id: int) -> list[dict[str, Any]]:
    return [
        {
            "code": "random_weekly",
            "kind": "random_per_agent",
            "params": {"per_week": 2},
            "inspector_ids": [inspector_id],
            "scorecard_id": scorecard_id,
        },
        {
            "code": "long_silence",
            "kind": "long_silence",
            "params": {"min_silence_ms": 20000},
            "inspector_ids": [inspector_id],
            "scorecard_id": scorecard_id,
        },
        {"code": "complaint", "kind": "complaint", "params": {}, "active": False},
    ]


def test_put_then_get_rules_and_audit(
    db: Session, login_as: LoginAs, make_user: MakeUser, scorecard: Scorecard
) -> None:
    lead = login_as(Role.QA_LEAD)
    inspector = make_user(Role.QA_INSPECTOR, full_name="李质检")
    db.add(SamplingRule(code="old_rule", kind="overtalk", params={"min_overtalk_ms": 5000}))
    db.commit()

    response = lead.put("/api/qa/sampling-rules", json=_rules(inspector.id, scorecard.id))

    assert response.status_code == 200, response.text
    listed = lead.get("/api/qa/sampling-rules").json()
    assert [r["code"] for r in listed] == ["random_weekly", "long_silence", "complaint"]  # old_rule deleted
    first = listed[0]
    assert first["params"] == {"per_week": 2}
    assert first["inspectors"] == [{"id": inspector.id, "name": "李质检"}]
    assert first["scorecard_name"] == "客服通话质检表"
    assert listed[2]["active"] is False
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "qa.sampling_rules.update")).one()
    assert entry.user_id == lead.user.id and (entry.detail or {})["deleted"] == ["old_rule"]  # type: ignore[attr-defined]

    # A second PUT updates in place (same ids).
    body = _rules(inspector.id, scorecard.id)
    body[0]["params"] = {"per_week": 7}
    again = lead.put("/api/qa/sampling-rules", json=body).json()
    assert again[0]["id"] == first["id"] and again[0]["params"] == {"per_week": 7}


RULE_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"params": {}}, "0.params.per_week", "validation.missing"),
    ({"params": {"per_week": 0}}, "0.params.per_week", "validation.greater_than_equal"),
    ({"params": {"per_week": 101}}, "0.params.per_week", "validation.less_than_equal"),
    ({"params": {"per_week": "5"}}, "0.params.per_week", "validation.int_type"),
    ({"params": {"per_week": True}}, "0.params.per_week", "validation.int_type"),
    ({"params": {"per_week": 5, "days": 3}}, "0.params.days", "validation.qa_sampling.unknown_param"),
    (
        {"kind": "long_silence", "params": {"min_silence_ms": 500}},
        "0.params.min_silence_ms",
        "validation.greater_than_equal",
    ),
    (
        {"kind": "overtalk", "params": {"min_overtalk_ms": 99}},
        "0.params.min_overtalk_ms",
        "validation.greater_than_equal",
    ),
    (
        {"kind": "low_survey", "params": {"min_score": 6}},
        "0.params.min_score",
        "validation.less_than_equal",
    ),
    (
        {"kind": "low_survey", "params": {"max_score": 2}},
        "0.params.max_score",
        "validation.qa_sampling.survey_scale",
    ),
    ({"kind": "new_agent", "params": {"days": 400}}, "0.params.days", "validation.less_than_equal"),
    ({"kind": "complaint", "params": {"x": 1}}, "0.params.x", "validation.qa_sampling.unknown_param"),
    ({"kind": "nonsense"}, "0.kind", "validation.enum"),
    ({"code": "Bad Code"}, "0.code", "validation.string_pattern_mismatch"),
    ({"code": "long_silence"}, "1.code", "validation.duplicate"),
    ({"scorecard_id": 999}, "0.scorecard_id", "validation.unknown_reference"),
    ({"scorecard_id": None}, "0.scorecard_id", "validation.qa_sampling.required_when_active"),
    ({"inspector_ids": []}, "0.inspector_ids", "validation.qa_sampling.required_when_active"),
    ({"inspector_ids": "AGENT"}, "0.inspector_ids.0", "validation.qa_sampling.not_inspector"),
    ({"inspector_ids": "TWICE"}, "0.inspector_ids", "validation.qa_sampling.repeated_inspector"),
]


def test_put_rules_validation(
    db: Session, login_as: LoginAs, make_user: MakeUser, scorecard: Scorecard
) -> None:
    lead = login_as(Role.QA_LEAD)
    inspector = make_user(Role.QA_INSPECTOR)
    agent = make_user(Role.AGENT)
    for change, field, code in RULE_CASES:
        body = _rules(inspector.id, scorecard.id)
        if change.get("inspector_ids") == "AGENT":
            change = {"inspector_ids": [agent.id]}
        elif change.get("inspector_ids") == "TWICE":
            change = {"inspector_ids": [inspector.id, inspector.id]}
        body[0].update(change)

        response = lead.put("/api/qa/sampling-rules", json=body)

        assert response.status_code == 422, (change, response.text)
        problems = {p["field"]: p for p in response.json()["fields"]}
        assert field in problems, (change, problems)
        assert problems[field]["code"] == code
        assert problems[field]["message"] != code  # translated
    assert db.scalars(select(SamplingRule)).all() == []  # nothing half-written


def test_validation_messages_are_translated(
    login_as: LoginAs, make_user: MakeUser, scorecard: Scorecard
) -> None:
    lead = login_as(Role.QA_LEAD)
    body = _rules(make_user(Role.QA_INSPECTOR).id, scorecard.id)
    body[0]["kind"] = "low_survey"
    body[0]["params"] = {"max_score": 2}
    zh = lead.put("/api/qa/sampling-rules", json=body).json()["fields"][0]["message"]
    en = lead.put("/api/qa/sampling-rules?lang=en", json=body).json()["fields"][0]["message"]
    assert "非常满意" in zh
    assert "very satisfied" in en
    body[0]["params"] = {"min_score": 9}
    en_range = lead.put("/api/qa/sampling-rules", json=body, headers={"Accept-Language": "en"}).json()[
        "fields"
    ][0]
    assert en_range["field"] == "0.params.min_score" and "5" in en_range["message"]


def test_sampling_endpoints_refuse_without_qa_manage(db: Session, login_as: LoginAs) -> None:
    run = {"period_start": "2026-11-02", "period_end": "2026-11-08"}
    cases: list[tuple[Role, str, str, Any]] = [
        (Role.AGENT, "get", "/api/qa/sampling-rules", None),
        (Role.QA_INSPECTOR, "put", "/api/qa/sampling-rules", []),
        (Role.TEAM_LEAD, "post", "/api/qa/sampling/run", run),
    ]
    for role, method, path, body in cases:
        client = login_as(role)
        response = getattr(client, method)(path, **({} if body is None else {"json": body}))
        assert response.status_code == 403, (role, path)
        refusal = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "auth.forbidden", AuditEntry.allowed.is_(False))
            .order_by(AuditEntry.id.desc())
        ).first()
        assert refusal is not None
        assert refusal.user_id == client.user.id  # type: ignore[attr-defined]
        assert (refusal.detail or {})["permission"] == "qa.manage"
    assert db.scalars(select(SamplingRule)).all() == []


def test_run_endpoint_creates_assignments_once(
    db: Session, login_as: LoginAs, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    inspector = make_user(Role.QA_INSPECTOR)
    assert (
        supervisor.put("/api/qa/sampling-rules", json=_rules(inspector.id, scorecard.id)).status_code == 200
    )
    agent = make_user(Role.AGENT)
    for i in range(4):
        make_recording(MONDAY + timedelta(hours=i), agent_user_id=agent.id)
    silent = make_recording(
        MONDAY + timedelta(hours=5), agent_user_id=agent.id, analysis={"longest_silence_ms": 25_000}
    )
    make_recording(MONDAY + timedelta(days=8), agent_user_id=agent.id)  # after the period

    body = {"period_start": "2026-11-02", "period_end": "2026-11-08"}
    response = supervisor.post("/api/qa/sampling/run", json=body)

    assert response.status_code == 200, response.text
    data = response.json()
    assert data["created"] == 3
    assert data["by_rule"] == {"long_silence": 1, "random_weekly": 2}
    assert data["skipped"] == []
    assignment = db.scalars(select(Assignment).where(Assignment.recording_id == silent.id)).one()
    assert assignment.assigned_by == supervisor.user.id  # type: ignore[attr-defined]

    rerun = supervisor.post("/api/qa/sampling/run", json=body).json()
    assert rerun["created"] == 0 and rerun["by_rule"] == {"long_silence": 0, "random_weekly": 0}
    assert len(db.scalars(select(Assignment)).all()) == 3


def test_run_period_is_in_the_center_zone(
    db: Session, login_as: LoginAs, make_user: MakeUser, make_recording: MakeRecording, scorecard: Scorecard
) -> None:
    lead = login_as(Role.QA_LEAD)
    inspector = make_user(Role.QA_INSPECTOR)
    assert lead.put("/api/qa/sampling-rules", json=_rules(inspector.id, scorecard.id)[1:2]).status_code == 200
    # 2026-11-02 23:30 in Shanghai is 15:30 UTC the same day; 2026-11-03 00:30 there is 16:30 UTC.
    inside = make_recording(MONDAY.replace(hour=15, minute=30), analysis={"longest_silence_ms": 30_000})
    make_recording(MONDAY.replace(hour=16, minute=30), analysis={"longest_silence_ms": 30_000})
    data = lead.post(
        "/api/qa/sampling/run", json={"period_start": "2026-11-02", "period_end": "2026-11-02"}
    ).json()
    assert data["created"] == 1
    assert db.scalars(select(Assignment.recording_id)).all() == [inside.id]


RUN_CASES: list[tuple[dict[str, Any], str, str]] = [
    (
        {"period_start": "2026-11-08", "period_end": "2026-11-02"},
        "period_end",
        "validation.end_before_start",
    ),
    (
        {"period_start": "2025-01-01", "period_end": "2026-11-02"},
        "period_end",
        "validation.qa_sampling.period_too_long",
    ),
    (
        {"period_start": "2026-13-01", "period_end": "2026-11-02"},
        "period_start",
        "validation.date_from_datetime_parsing",
    ),
    ({"period_end": "2026-11-02"}, "period_start", "validation.missing"),
]


def test_run_validation(login_as: LoginAs) -> None:
    lead = login_as(Role.QA_LEAD)
    for body, field, code in RUN_CASES:
        response = lead.post("/api/qa/sampling/run", json=body)
        assert response.status_code == 422, response.text
        problem = response.json()["fields"][0]
        assert (problem["field"], problem["code"]) == (field, code)
        assert problem["message"] and problem["message"] != code
