"""The pause-reasons API: the settings' defaults while the table is empty, CRUD by the admin with audit
rows, validation (422 with field paths, zh-CN by default, en on request), refusals (403, audited)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.audit.service import SYSTEM
from core.config import Settings
from core.errors import InvalidFields
from core.pause_reasons import service, views
from core.pause_reasons.models import PauseReason
from core.pause_reasons.schemas import PauseReasonIn
from core.security.roles import Permission, Role
from core.web import authenticate
from tests.conftest import LoginAs
from tests.pause_reasons.helpers import NEW, audit_rows, codes

DEFAULTS = ["休息", "就餐", "培训", "会议"]


def _count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(PauseReason)) or 0


def test_empty_table_offers_the_settings_defaults_without_writing(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    rows = agent.get("/api/pause-reasons").json()
    assert [(r["id"], r["code"], r["label"]) for r in rows] == [(None, c, c) for c in DEFAULTS]
    assert [r["counts_as_productive"] for r in rows] == [False, False, True, True]
    english = agent.get("/api/pause-reasons", headers={"Accept-Language": "en"}).json()
    assert [r["label"] for r in english] == ["Break", "Meal", "Training", "Meeting"]
    assert _count(db) == 0  # a read by an agent writes nothing


def test_the_env_setting_is_the_first_run_default(db: Session) -> None:
    custom = Settings(pause_reasons=["午休", "培训", "bad|one"])
    assert [r.code for r in service.list_active(db, defaults=custom.pause_reasons)] == ["午休", "培训"]
    assert service.ensure_defaults(db, defaults=custom.pause_reasons, actor=SYSTEM) == 2
    assert service.ensure_defaults(db, defaults=DEFAULTS, actor=SYSTEM) == 0  # once only
    db.commit()
    assert [r.code for r in service.list_all(db, defaults=DEFAULTS, actor=SYSTEM)] == ["午休", "培训"]
    [seed] = audit_rows(db, "pause_reason.seed")
    assert seed.detail == {"codes": ["午休", "培训"]}


def test_admin_lists_all_which_writes_the_defaults_as_rows(login_as: LoginAs, db: Session) -> None:
    admin = login_as(Role.ADMIN)
    rows = admin.get("/api/pause-reasons/all").json()
    assert [r["code"] for r in rows] == DEFAULTS
    assert all(isinstance(r["id"], int) and r["active"] for r in rows)
    assert rows[0]["created_at"].endswith(("+00:00", "Z"))
    assert _count(db) == 4
    [seed] = audit_rows(db, "pause_reason.seed")
    assert seed.user_id == admin.user.id  # type: ignore[attr-defined]


def test_create_on_an_empty_table_keeps_the_defaults(login_as: LoginAs, db: Session) -> None:
    admin = login_as(Role.ADMIN)
    response = admin.post("/api/pause-reasons", json=NEW)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["code"], body["label"], body["max_minutes"], body["counts_as_productive"]) == (
        "质检辅导",
        "质检辅导",
        30,
        True,
    )
    # sort_order 25 puts it between 培训 (30)... after 就餐 (20)
    assert codes(login_as(Role.AGENT)) == ["休息", "就餐", "质检辅导", "培训", "会议"]
    [created] = audit_rows(db, "pause_reason.create")
    assert (created.object_type, created.object_id) == ("pause_reason", str(body["id"]))
    assert created.user_id == admin.user.id and created.allowed  # type: ignore[attr-defined]
    assert created.detail is not None and created.detail["code"] == "质检辅导"
    english = admin.get("/api/pause-reasons?lang=en").json()
    assert "QA coaching" in [r["label"] for r in english]


def test_update_changes_everything_but_the_code(login_as: LoginAs, db: Session) -> None:
    admin = login_as(Role.ADMIN)
    reason_id = admin.post("/api/pause-reasons", json=NEW).json()["id"]
    change = {**NEW, "code": "改不了", "label_zh": "质检一对一辅导", "sort_order": 1, "max_minutes": None}
    response = admin.put(f"/api/pause-reasons/{reason_id}", json=change)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["label_zh"], body["sort_order"], body["max_minutes"]) == (
        "质检辅导",
        "质检一对一辅导",
        1,
        None,
    )
    assert codes(admin)[0] == "质检辅导"
    [updated] = audit_rows(db, "pause_reason.update")
    assert updated.object_id == str(reason_id)
    assert updated.detail == {
        "code": "质检辅导",
        "changes": {"label_zh": "质检一对一辅导", "sort_order": 1, "max_minutes": None},
    }
    assert admin.put("/api/pause-reasons/999999", json=change).status_code == 404


def test_delete_deactivates_and_keeps_the_row(login_as: LoginAs, db: Session) -> None:
    admin = login_as(Role.ADMIN)
    reason_id = admin.post("/api/pause-reasons", json=NEW).json()["id"]
    assert admin.delete(f"/api/pause-reasons/{reason_id}").status_code == 204
    assert "质检辅导" not in codes(admin)
    everything = {r["code"]: r["active"] for r in admin.get("/api/pause-reasons/all").json()}
    assert everything["质检辅导"] is False
    [row] = audit_rows(db, "pause_reason.deactivate")
    assert (row.object_id, row.detail) == (str(reason_id), {"code": "质检辅导"})
    # reactivated with PUT
    back = admin.put(f"/api/pause-reasons/{reason_id}", json={**NEW, "active": True})
    assert back.json()["active"] is True and "质检辅导" in codes(admin)
    assert admin.delete("/api/pause-reasons/999999").status_code == 404


def test_the_last_active_reason_cannot_go(login_as: LoginAs) -> None:
    admin = login_as(Role.ADMIN)
    rows = admin.get("/api/pause-reasons/all").json()
    for row in rows[:-1]:
        assert admin.delete(f"/api/pause-reasons/{row['id']}").status_code == 204
    last = rows[-1]
    for response in (
        admin.delete(f"/api/pause-reasons/{last['id']}"),
        admin.put(
            f"/api/pause-reasons/{last['id']}",
            json={k: last[k] for k in ("label_zh", "label_en", "sort_order")} | {"active": False},
        ),
    ):
        assert response.status_code == 422
        [problem] = response.json()["fields"]
        assert (problem["field"], problem["code"]) == ("active", "validation.pause_reason_last_active")
        assert problem["message"] == "至少要保留一个启用的小休原因"
    assert codes(admin) == [last["code"]]


@pytest.mark.parametrize(
    ("change", "field", "code", "zh"),
    [
        ({"code": "a|b"}, "code", "validation.pause_reason_code_chars", "不能包含“|”"),
        ({"code": "休息\n"}, "code", "validation.pause_reason_code_chars", "换行符"),
        ({"code": " 休息"}, "code", "validation.pause_reason_code_spaces", "首尾不能有空格"),
        ({"code": "休" * 41}, "code", "validation.string_too_long", "最多 40 个字符"),
        ({"code": ""}, "code", "validation.string_too_short", ""),
        ({"code": "休息"}, "code", "validation.duplicate", "“休息”已存在"),
        ({"label_zh": ""}, "label_zh", "validation.string_too_short", ""),
        ({"label_en": "x" * 101}, "label_en", "validation.string_too_long", "最多 100 个字符"),
        ({"sort_order": -1}, "sort_order", "validation.greater_than_equal", ""),
        ({"max_minutes": 0}, "max_minutes", "validation.greater_than_equal", ""),
        ({"max_minutes": 1441}, "max_minutes", "validation.less_than_equal", ""),
    ],
)
def test_validation(
    login_as: LoginAs, db: Session, change: dict[str, Any], field: str, code: str, zh: str
) -> None:
    admin = login_as(Role.ADMIN)
    before = _count(db)
    response = admin.post("/api/pause-reasons", json={**NEW, **change})
    assert response.status_code == 422, response.text
    [problem] = response.json()["fields"]
    assert (problem["field"], problem["code"]) == (field, code)
    assert zh in problem["message"]
    assert problem["message"] != code  # translated
    assert _count(db) == before  # nothing half-written, not even the defaults
    english = admin.post("/api/pause-reasons?lang=en", json={**NEW, **change}).json()["fields"][0]
    assert english["message"] != problem["message"]
    assert not any("\u4e00" <= c <= "\u9fff" for c in english["message"].replace("休息", ""))


def test_missing_fields_are_named(login_as: LoginAs) -> None:
    response = login_as(Role.ADMIN).post("/api/pause-reasons", json={"code": "x"})
    assert response.status_code == 422
    assert {(p["field"], p["code"]) for p in response.json()["fields"]} == {
        ("label_zh", "validation.missing"),
        ("label_en", "validation.missing"),
    }


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.QA_LEAD, Role.INFO_OFFICER])
def test_only_the_admin_manages(login_as: LoginAs, db: Session, role: Role) -> None:
    user = login_as(role)
    assert codes(user) == DEFAULTS  # everyone reads the active ones
    for response in (
        user.get("/api/pause-reasons/all"),
        user.post("/api/pause-reasons", json=NEW),
        user.put("/api/pause-reasons/1", json=NEW),
        user.delete("/api/pause-reasons/1"),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["message"]  # localized
    refused = [e for e in audit_rows(db, "auth.forbidden") if e.user_id == user.user.id]  # type: ignore[attr-defined]
    assert len(refused) == 4 and not any(e.allowed for e in refused)
    assert {(e.detail or {}).get("permission") for e in refused} == {"acd.configure"}
    assert {(e.detail or {}).get("method") for e in refused} == {"GET", "POST", "PUT", "DELETE"}
    assert _count(db) == 0


def test_anonymous_is_refused(client: TestClient, db: Session) -> None:
    assert client.get("/api/pause-reasons").status_code == 401
    db.expire_all()
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "auth.unauthenticated")) is not None


def test_choices_label_inactive_codes_too(db: Session) -> None:
    service.ensure_defaults(db, defaults=DEFAULTS, actor=SYSTEM)
    reason = service.create(db, data=PauseReasonIn(**NEW), defaults=DEFAULTS, actor=SYSTEM)
    service.deactivate(db, reason_id=reason.id, actor=SYSTEM)
    picked = service.choices(db, defaults=DEFAULTS, language="en")
    assert picked.codes == DEFAULTS
    assert picked.labels["质检辅导"] == "QA coaching" and picked.labels["休息"] == "Break"
    assert service.active_codes(db, defaults=["other"]) == DEFAULTS  # the table wins once it has rows


_ALLOWED = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs"), blacklist_characters="|"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=_ALLOWED, bad=st.sampled_from(["|", "\n", "\r", "\t"]), suffix=_ALLOWED)
def test_a_code_with_a_separator_never_reaches_the_table(
    db: Session, prefix: str, bad: str, suffix: str
) -> None:
    data = PauseReasonIn(**{**NEW, "code": (prefix + bad + suffix)[:40]})
    if bad not in data.code:  # cut off by the 40 characters
        return
    with pytest.raises(InvalidFields) as caught:
        service.create(db, data=data, defaults=DEFAULTS, actor=SYSTEM)
    assert caught.value.problems[0].code == "validation.pause_reason_code_chars"
    db.rollback()


def _guards(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _guards(dep)


def test_every_route_names_its_guard() -> None:
    """What tests/test_role_matrix.py reads: one ``require`` permission, or a login."""
    mine = {}
    for route in views.router.routes:
        if isinstance(route, APIRoute):
            calls = list(_guards(route.dependant))
            permissions = [c.permission for c in calls if hasattr(c, "permission")]
            for method in route.methods or ():
                mine[(method, route.path)] = (permissions, authenticate in calls or bool(permissions))
    assert mine == {
        ("GET", "/api/pause-reasons"): ([], True),
        ("GET", "/api/pause-reasons/all"): ([Permission.ACD_CONFIGURE], True),
        ("POST", "/api/pause-reasons"): ([Permission.ACD_CONFIGURE], True),
        ("PUT", "/api/pause-reasons/{reason_id}"): ([Permission.ACD_CONFIGURE], True),
        ("DELETE", "/api/pause-reasons/{reason_id}"): ([Permission.ACD_CONFIGURE], True),
    }


def test_every_field_has_a_label_in_both_languages(app: Any) -> None:
    from core import i18n

    components = app.openapi()["components"]["schemas"]
    missing = [
        (language, name, field)
        for name, scope in (
            ("PauseReasonIn", "pause_reason"),
            ("PauseReasonUpdate", "pause_reason"),
            ("PauseReasonOut", "pause_reason"),
            ("SessionOut", "session"),
        )
        for field in components[name]["properties"]
        for language in i18n.LANGUAGES
        if f"field.{scope}.{field}" not in i18n.catalog(language)
        and f"field.{field}" not in i18n.catalog(language)
    ]
    assert missing == []
