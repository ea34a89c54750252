"""The equipment list (呼叫中心设备明细表): CRUD, retirement, validation, search, export, permissions and
audit rows."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import i18n
from core.audit.models import AuditEntry
from core.equipment.models import Equipment, EquipmentCategory, EquipmentStatus
from core.equipment.schemas import EquipmentCreate
from core.security.roles import Role
from tests.conftest import LoginAs, MakeUser
from tests.tables import exported


def payload(**overrides: Any) -> dict[str, Any]:
    return {
        "number": "HS-0001",
        "name": "缤特力 HW520 双耳耳麦",
        "category": "headset",
        "phone_extension": "8001",
        "user_id": None,
        "user_name": "外包坐席 小王",
        "quantity": 2,
        "purchase_date": "2025-03-18",
        "remarks": "左耳海绵需更换",
        "status": "in_use",
        **overrides,
    }


def audit(db: Session, **where: Any) -> list[AuditEntry]:
    db.rollback()
    query = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db.scalars(query))


def errors(response: httpx.Response) -> dict[str, tuple[str, str]]:
    assert response.status_code == 422, response.text
    return {f["field"]: (f["code"], f["message"]) for f in response.json()["fields"]}


@pytest.fixture
def supervisor(login_as: LoginAs) -> TestClient:
    return login_as(Role.SUPERVISOR)


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/equipment", json=payload(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_round_trip_with_every_field(supervisor: TestClient, make_user: MakeUser) -> None:
    staff = make_user(Role.AGENT, full_name="郑凯")
    sent = payload(user_id=staff.id, user_name=None)
    body = create(supervisor, **sent)
    for name, value in sent.items():
        assert body[name] == value, name
    assert body["user_full_name"] == "郑凯"
    assert set(EquipmentCreate.model_fields) == set(sent)  # every field was sent
    assert supervisor.get(f"/api/equipment/{body['id']}").json() == body


def test_free_text_user_for_non_staff(supervisor: TestClient) -> None:
    body = create(supervisor)
    assert body["user_id"] is None
    assert body["user_full_name"] == "外包坐席 小王"


def test_defaults(supervisor: TestClient) -> None:
    response = supervisor.post("/api/equipment", json={"number": "PC-01", "category": "computer"})
    assert response.status_code == 201
    assert (response.json()["quantity"], response.json()["status"]) == (1, "in_use")


def test_update_and_retire_leave_audit_rows(supervisor: TestClient, db: Session) -> None:
    item = create(supervisor)
    patched = supervisor.patch(f"/api/equipment/{item['id']}", json={"status": "repair", "remarks": "送修"})
    assert patched.status_code == 200
    assert (patched.json()["status"], patched.json()["remarks"], patched.json()["quantity"]) == (
        "repair",
        "送修",
        2,
    )

    retired = supervisor.delete(f"/api/equipment/{item['id']}")
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired"
    # Retired, not erased: it stays on the list.
    assert supervisor.get(f"/api/equipment/{item['id']}").json()["status"] == "retired"

    rows = audit(db, object_type="equipment", object_id=str(item["id"]))
    assert [r.action for r in rows] == ["equipment.create", "equipment.update", "equipment.retire"]
    assert rows[1].detail == {"fields": ["remarks", "status"]}
    assert rows[2].detail == {"previous_status": "repair"}
    assert all(r.user_id == supervisor.user.id for r in rows)


def test_unknown_item_is_404(supervisor: TestClient) -> None:
    assert supervisor.get("/api/equipment/999999").status_code == 404
    assert supervisor.patch("/api/equipment/999999", json={"quantity": 3}).status_code == 404
    assert supervisor.delete("/api/equipment/999999").status_code == 404


def test_duplicate_number(supervisor: TestClient, db: Session) -> None:
    create(supervisor)
    found = errors(supervisor.post("/api/equipment", json=payload(name="另一副")))
    assert found["number"] == ("validation.duplicate", "“HS-0001”已存在")
    other = create(supervisor, number="HS-0002")
    assert errors(supervisor.patch(f"/api/equipment/{other['id']}", json={"number": "HS-0001"}))["number"][
        0
    ] == ("validation.duplicate")
    # Keeping one's own number is no clash.
    assert supervisor.patch(f"/api/equipment/{other['id']}", json={"number": "HS-0002"}).status_code == 200
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Equipment)) == 2


@pytest.mark.parametrize(
    ("change", "field", "code", "zh", "en"),
    [
        ({"quantity": 0}, "quantity", "validation.greater_than_equal", "应不小于 1", "Must be at least 1"),
        ({"category": "printer"}, "category", "validation.enum", None, None),
        ({"status": "lost"}, "status", "validation.enum", None, None),
        ({"number": ""}, "number", "validation.string_too_short", None, None),
        (
            {"purchase_date": "2025-13-01"},
            "purchase_date",
            "validation.date_from_datetime_parsing",
            None,
            None,
        ),
        (
            {"phone_extension": "ext 8001"},
            "phone_extension",
            "validation.string_pattern_mismatch",
            None,
            None,
        ),
        ({"user_id": 987654}, "user_id", "validation.unknown_reference", "引用的记录不存在", None),
    ],
)
def test_validation(
    supervisor: TestClient, change: dict[str, Any], field: str, code: str, zh: str | None, en: str | None
) -> None:
    zh_errors = errors(supervisor.post("/api/equipment", json=payload(**change)))
    assert zh_errors[field][0] == code
    if zh:
        assert zh_errors[field][1] == zh
    en_errors = errors(supervisor.post("/api/equipment?lang=en", json=payload(**change)))
    if en:
        assert en_errors[field][1] == en
    # English on request: a message of its own, not the Chinese one nor a bare key.
    assert en_errors[field][1] != zh_errors[field][1]
    assert not en_errors[field][1].startswith("validation.")


@pytest.mark.parametrize("field", ["number", "category", "quantity", "status"])
def test_patch_cannot_empty_a_required_field(supervisor: TestClient, field: str) -> None:
    item = create(supervisor)
    assert errors(supervisor.patch(f"/api/equipment/{item['id']}", json={field: None}))[field][0] == (
        "validation.missing"
    )


def test_list_search_and_filters(supervisor: TestClient, make_user: MakeUser) -> None:
    staff = make_user(Role.AGENT, full_name="钱多多", agent_number="9001")
    headset = create(supervisor, number="HS-1", user_id=staff.id, user_name=None)
    phone = create(supervisor, number="PH-1", category="phone", phone_extension="8123", status="spare")
    server = create(
        supervisor, number="SV-1", category="server", name="Dell R750", user_name=None, remarks=None
    )

    def listed(**params: Any) -> list[int]:
        response = supervisor.get("/api/equipment", params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert listed() == [headset["id"], phone["id"], server["id"]]  # by number
    assert listed(q="钱多多") == [headset["id"]]  # the staff user's name
    assert listed(q="8123") == [phone["id"]]
    assert listed(q="r750") == [server["id"]]
    assert listed(category="server") == [server["id"]]
    assert listed(status="spare") == [phone["id"]]
    assert listed(user_id=staff.id) == [headset["id"]]
    page = supervisor.get("/api/equipment", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], [i["id"] for i in page["items"]]) == (3, [phone["id"]])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reads_back(supervisor: TestClient, fmt: str) -> None:
    create(supervisor)
    create(supervisor, number="GW-1", category="gateway", user_name=None, quantity=1, status="spare")
    response = supervisor.get("/api/equipment/export", params={"format": fmt, "category": "headset"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    headers, rows = exported(response.content, f"equipment.{fmt}")
    assert headers[:3] == ["设备编号", "品名型号", "设备类别"]
    rows_list = list(rows)
    assert len(rows_list) == 1
    row = rows_list[0]
    assert row["设备编号"] == "HS-0001"
    assert row["设备类别"] == "耳麦"
    assert row["设备状态"] == "在用"
    assert row["数量"] == "2"
    assert row["使用人"] == "外包坐席 小王"
    assert row["购置日期"].startswith("2025-03-18")

    english = supervisor.get("/api/equipment/export", params={"format": fmt, "lang": "en"})
    headers, rows = exported(english.content, f"equipment.{fmt}")
    assert "Equipment number" in headers
    assert {r["Category"] for r in rows} == {"Headset", "Voice gateway"}


def test_agent_may_not_read_or_write(login_as: LoginAs, supervisor: TestClient, db: Session) -> None:
    item = create(supervisor)
    agent = login_as(Role.AGENT)
    calls = [
        agent.get("/api/equipment"),
        agent.get("/api/equipment/export"),
        agent.get(f"/api/equipment/{item['id']}"),
        agent.post("/api/equipment", json=payload(number="X-1")),
        agent.patch(f"/api/equipment/{item['id']}", json={"quantity": 5}),
        agent.delete(f"/api/equipment/{item['id']}"),
    ]
    assert [c.status_code for c in calls] == [403] * 6
    refusals = audit(db, user_id=agent.user.id, allowed=False)
    assert len(refusals) == 6
    assert {r.detail["permission"] for r in refusals if r.detail} == {"equipment.read", "equipment.write"}
    assert supervisor.get(f"/api/equipment/{item['id']}").json()["quantity"] == 2


def test_team_lead_reads_but_does_not_write(login_as: LoginAs, supervisor: TestClient) -> None:
    item = create(supervisor)
    lead = login_as(Role.TEAM_LEAD)
    assert lead.get("/api/equipment").json()["total"] == 1
    assert lead.get(f"/api/equipment/{item['id']}").status_code == 200
    assert lead.patch(f"/api/equipment/{item['id']}", json={"quantity": 5}).status_code == 403
    assert lead.delete(f"/api/equipment/{item['id']}").status_code == 403


def test_catalog_labels_every_field_and_choice() -> None:
    for language in i18n.LANGUAGES:
        messages = i18n.catalog(language)
        for name in EquipmentCreate.model_fields:
            # Flat labels are shared by every form (field.number is a customer's phone number there), so
            # the equipment form's own wording lives under field.equipment.*.
            assert f"field.{name}" in messages, (language, name)
            assert f"field.equipment.{name}" in messages, (language, name)
        for enum in (EquipmentCategory, EquipmentStatus):
            for member in enum:
                assert f"enum.{enum.__name__}.{member.value}" in messages
    assert i18n.translate("enum.EquipmentStatus.retired") == "已报废"
