"""Scorecards through the HTTP API: create, read, versions (PUT = a new version, old ones unchanged),
validation with field paths in zh-CN and en, the live preview, permissions (403 audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.security.roles import Role
from tests.qa.conftest import AsRole, audit_rows, card_definition, create_card, field_errors, perfect


def test_create_list_get_and_new_versions(as_role: AsRole, db: Session) -> None:
    lead = as_role(Role.QA_LEAD)
    inspector = as_role(Role.QA_INSPECTOR)
    card_id = create_card(lead)
    listed = inspector.get("/api/qa/scorecards").json()
    assert [(c["id"], c["name"], c["version"], c["standard_score"]) for c in listed] == [
        (card_id, "测试质检表", 1, 100)
    ]
    changed = card_definition(standard_score=120)
    changed["sections"][0]["weight"] = 10
    response = lead.put(
        f"/api/qa/scorecards/{card_id}", json={"name": "测试质检表（新）", "definition": changed}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["version"], response.json()["versions"]) == (2, [1, 2])
    current = inspector.get(f"/api/qa/scorecards/{card_id}").json()
    assert (current["name"], current["version"], current["standard_score"]) == ("测试质检表（新）", 2, 120)
    assert current["definition"]["sections"][0]["weight"] == 10
    first = inspector.get(f"/api/qa/scorecards/{card_id}", params={"version": 1}).json()
    assert (first["version"], first["standard_score"]) == (1, 100)
    assert first["definition"]["sections"][0]["weight"] == 40
    assert first["definition"]["sections"][0]["items"][0]["scale_max"] is None  # yes/no has no scale
    assert inspector.get(f"/api/qa/scorecards/{card_id}", params={"version": 9}).status_code == 404
    assert inspector.get("/api/qa/scorecards/999").status_code == 404
    assert [r.object_id for r in audit_rows(db, "scorecard.create")] == [str(card_id)]
    updates = audit_rows(db, "scorecard.update")
    assert [(r.object_id, r.detail) for r in updates] == [
        (str(card_id), {"name": "测试质检表（新）", "version": 2})
    ]


def _post(client: Any, definition: dict[str, Any], **params: str) -> Any:
    return client.post("/api/qa/scorecards", json={"name": "表", "definition": definition}, params=params)


CASES: list[tuple[Any, str, str, str | None]] = [
    (
        lambda d: d["sections"][0]["items"][1].update(weight=0),
        "definition.sections.0.items.1.weight",
        "validation.greater_than",
        "应大于 0.0",
    ),
    (
        lambda d: d["sections"][1].update(weight=-1),
        "definition.sections.1.weight",
        "validation.greater_than",
        "应大于 0.0",
    ),
    (
        lambda d: d["sections"][0]["items"][1].update(scale_max=0),
        "definition.sections.0.items.1.scale_max",
        "validation.greater_than_equal",
        "应不小于 1",
    ),
    (
        lambda d: d["sections"][0]["items"][1].update(scale_max=None),
        "definition.sections.0.items.1.scale_max",
        "validation.missing",
        "必填",
    ),
    (
        lambda d: d["sections"][1]["items"][2].update(key="greet"),
        "definition.sections.1.items.2.key",
        "validation.duplicate",
        "“greet”已存在",
    ),
    (
        lambda d: d["sections"][1].update(key="opening"),
        "definition.sections.1.key",
        "validation.duplicate",
        "“opening”已存在",
    ),
    (lambda d: d.update(sections=[]), "definition.sections", "validation.too_short", "至少需要 1 项"),
    (
        lambda d: d["sections"][0].update(items=[]),
        "definition.sections.0.items",
        "validation.too_short",
        "至少需要 1 项",
    ),
    (
        lambda d: d.update(standard_score=0),
        "definition.standard_score",
        "validation.greater_than",
        "应大于 0",
    ),
    (
        lambda d: d["grade_bands"][0].update(min_pct=101),
        "definition.grade_bands.0.min_pct",
        "validation.less_than_equal",
        "应不大于 100.0",
    ),
    (
        lambda d: d["grade_bands"][1].update(min_pct=95),
        "definition.grade_bands.1.min_pct",
        "validation.qa_bands_descending",
        "等级划分须按最低得分率从高到低排列",
    ),
    (
        lambda d: d["grade_bands"][2].update(min_pct=10),
        "definition.grade_bands.2.min_pct",
        "validation.qa_lowest_band_zero",
        "最后一个等级的最低得分率须为 0（每个得分都要有等级）",
    ),
    (
        lambda d: d["sections"][0]["items"][0].update(critical="fatal"),
        "definition.sections.0.items.0.critical",
        "validation.enum",
        None,
    ),
]


def test_definition_validation_has_field_paths(as_role: AsRole, db: Session) -> None:
    lead = as_role(Role.QA_LEAD)
    for change, field, code, zh in CASES:
        definition = card_definition()
        change(definition)
        errors = field_errors(_post(lead, definition))
        assert field in errors, (field, errors)
        assert errors[field]["code"] == code
        if zh:
            assert errors[field]["message"] == zh
    assert audit_rows(db, "scorecard.create") == []


def test_validation_messages_in_english(as_role: AsRole) -> None:
    lead = as_role(Role.QA_LEAD)
    definition = card_definition()
    definition["sections"][0]["items"][0]["weight"] = 0
    definition["grade_bands"][1]["min_pct"] = 95
    errors = field_errors(_post(lead, definition, lang="en"))
    assert errors["definition.sections.0.items.0.weight"]["message"] == "Must be greater than 0.0"
    definition["sections"][0]["items"][0]["weight"] = 1
    errors = field_errors(_post(lead, definition, lang="en"))
    assert errors["definition.grade_bands.1.min_pct"]["message"] == (
        "Grade bands must go from the highest minimum to the lowest"
    )
    response = lead.post(
        "/api/qa/scorecards",
        json={"name": " ", "definition": card_definition()},
        headers={"Accept-Language": "en"},
    )
    assert field_errors(response)["name"]["message"] == "At least 1 characters"


def test_a_refused_edit_changes_nothing(as_role: AsRole) -> None:
    lead = as_role(Role.QA_LEAD)
    card_id = create_card(lead)
    bad = card_definition(standard_score=-5)
    assert lead.put(f"/api/qa/scorecards/{card_id}", json={"name": "x", "definition": bad}).status_code == 422
    assert lead.get(f"/api/qa/scorecards/{card_id}").json()["versions"] == [1]
    assert (
        lead.put("/api/qa/scorecards/999", json={"name": "x", "definition": card_definition()}).status_code
        == 404
    )


def test_permissions_are_refused_and_audited(as_role: AsRole, db: Session) -> None:
    lead = as_role(Role.QA_LEAD)
    card_id = create_card(lead)
    inspector = as_role(Role.QA_INSPECTOR)
    agent = as_role(Role.AGENT)
    body = {"name": "表", "definition": card_definition()}
    assert inspector.post("/api/qa/scorecards", json=body).status_code == 403
    assert inspector.put(f"/api/qa/scorecards/{card_id}", json=body).status_code == 403
    assert agent.get("/api/qa/scorecards").status_code == 403
    assert agent.get(f"/api/qa/scorecards/{card_id}").status_code == 403
    assert agent.post(f"/api/qa/scorecards/{card_id}/preview", json={"answers": {}}).status_code == 403
    refused = audit_rows(db, "auth.forbidden", allowed=False)
    assert {(r.user_id, (r.detail or {}).get("permission")) for r in refused} == {
        (inspector.user.id, "qa.manage"),  # type: ignore[attr-defined]
        (agent.user.id, "qa.evaluate"),  # type: ignore[attr-defined]
    }
    assert len(refused) == 5
    assert as_role(Role.SUPERVISOR).post("/api/qa/scorecards", json=body).status_code == 201


def test_preview_gives_the_live_total(as_role: AsRole) -> None:
    lead = as_role(Role.QA_LEAD)
    card_id = create_card(lead)
    inspector = as_role(Role.QA_INSPECTOR)
    answers = perfect(polite={"value": 3}, notice={"value": None})
    response = inspector.post(f"/api/qa/scorecards/{card_id}/preview", json={"answers": answers})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["total_pct"], result["score"], result["grade"], result["failed"]) == (
        92.0,
        92.0,
        "A",
        False,
    )
    assert [(s["key"], s["pct"]) for s in result["sections"]] == [("opening", 80.0), ("compliance", 100.0)]
    # partial form: only what is scored counts
    partial = inspector.post(
        f"/api/qa/scorecards/{card_id}/preview", json={"answers": {"greet": {"value": 0}}}
    )
    assert partial.json()["total_pct"] == 0.0
    assert (
        inspector.post(f"/api/qa/scorecards/{card_id}/preview", json={"answers": {}}).json()["total_pct"]
        is None
    )
    auto_fail = inspector.post(
        f"/api/qa/scorecards/{card_id}/preview",
        json={"version": 1, "answers": perfect(identity={"value": 0})},
    ).json()
    assert (auto_fail["total_pct"], auto_fail["failed"], auto_fail["failed_sections"]) == (
        0.0,
        True,
        ["compliance"],
    )
    errors = field_errors(
        inspector.post(
            f"/api/qa/scorecards/{card_id}/preview", json={"answers": {"polite": {"value": 6}, "x": {}}}
        )
    )
    assert errors["answers.polite.value"]["message"] == "评分应在 0 到 5 之间"
    assert errors["answers.x"]["code"] == "validation.qa_unknown_item"
    assert (
        inspector.post(
            f"/api/qa/scorecards/{card_id}/preview", json={"version": 3, "answers": {}}
        ).status_code
        == 404
    )
