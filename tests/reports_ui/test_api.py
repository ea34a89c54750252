"""The business reports over HTTP: shape, languages, permissions (an agent is refused and audited, a team
lead sees the own team), validation (422 with field paths and messages), and the exports (CSV content,
XLSX with its definitions sheet, audited)."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.security.roles import Permission, Role
from tests.conftest import LoginAs, MakeUser
from tests.reports_ui.data import FIRST, LAST, build

KINDS = ("outbound", "complaints", "survey", "ivr")
RANGE = f"from={FIRST}&to={LAST}"


def test_shape(db: Session, make_user: MakeUser, login_as: LoginAs) -> None:
    build(db, make_user)
    client = login_as(Role.SUPERVISOR)
    for kind in KINDS:
        response = client.get(f"/api/reports/{kind}?{RANGE}&grain=day")
        assert response.status_code == 200, response.text
        body = response.json()
        assert {"rows", "totals", "definitions", "groups", "grain", "from", "to"} <= set(body)
        assert (body["kind"], body["grain"], body["from"], body["to"]) == (kind, "day", FIRST, LAST)
        codes = [d["code"] for d in body["definitions"]]
        assert all(set(d) == {"code", "label", "formula"} for d in body["definitions"])
        assert body["rows"], kind
        for row in body["rows"]:
            assert row["period_start"].endswith("+08:00")  # the center's midnight, with its offset
            assert set(row) - {"period_start", "key", "label"} <= set(codes)
        assert set(body["totals"]) - {"key"} <= set(codes)


def test_numbers_and_languages(db: Session, make_user: MakeUser, login_as: LoginAs) -> None:
    build(db, make_user)
    client = login_as(Role.QA_LEAD)
    body = client.get(f"/api/reports/ivr?{RANGE}&grain=week").json()
    assert [r["period_start"] for r in body["rows"]] == ["2026-11-02T00:00:00+08:00"]
    assert body["totals"]["containment_pct"] == 40.0
    labels = {d["code"]: d["label"] for d in body["definitions"]}
    assert labels["containment_pct"] == "IVR 自助解决率 %"
    assert labels["choice_1"] == "按键 1"
    en = client.get(f"/api/reports/ivr?{RANGE}&grain=week&lang=en").json()
    assert {d["code"]: d["label"] for d in en["definitions"]}["containment_pct"] == "IVR containment %"
    by_header = client.get(f"/api/reports/complaints?{RANGE}&grain=month", headers={"Accept-Language": "en"})
    assert by_header.json()["definitions"][0]["label"] == "Received"
    survey = client.get(f"/api/reports/survey?{RANGE}&by=queue").json()
    assert survey["by"] == "queue"
    assert {g["key"]: g["answers"] for g in survey["groups"]} == {"sales": 3, "support": 4}


def test_agent_is_refused_and_audited(db: Session, make_user: MakeUser, login_as: LoginAs) -> None:
    client = login_as(Role.AGENT)
    for path in (f"/api/reports/outbound?{RANGE}", f"/api/reports/ivr/export?{RANGE}&format=csv"):
        response = client.get(path)
        assert response.status_code == 403, path
    refusals = db.scalars(
        select(AuditEntry).where(AuditEntry.allowed.is_(False), AuditEntry.user_id == client.user.id)  # type: ignore[attr-defined]
    ).all()
    assert {(r.detail or {})["permission"] for r in refusals} == {"reports.read", "reports.export"}
    assert login_as(Role.COMPLAINTS_OFFICER).get(f"/api/reports/complaints?{RANGE}").status_code == 403


def test_unauthenticated(client: object) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    assert client.get(f"/api/reports/survey?{RANGE}").status_code == 401


def test_team_lead_sees_own_team(db: Session, make_user: MakeUser, login_as: LoginAs) -> None:
    built = build(db, make_user)
    lead = login_as(user=built.lead_a)
    outbound = lead.get(f"/api/reports/outbound?{RANGE}").json()
    assert {r["key"] for r in outbound["rows"]} == {str(built.alice.id)}
    assert outbound["totals"]["attempts"] == 6
    survey = lead.get(f"/api/reports/survey?{RANGE}").json()
    assert [g["key"] for g in survey["groups"]] == ["李丽"]
    supervisor = login_as(Role.SUPERVISOR)
    assert supervisor.get(f"/api/reports/outbound?{RANGE}").json()["totals"]["attempts"] == 7
    lonely = login_as(Role.TEAM_LEAD)  # a lead without a team sees nobody's figures
    assert lonely.get(f"/api/reports/outbound?{RANGE}").json()["totals"]["attempts"] == 0


def field_errors(response: object) -> dict[str, tuple[str, str]]:
    body = response.json()  # type: ignore[attr-defined]
    return {f["field"]: (f["code"], f["message"]) for f in body["fields"]}


def test_validation(login_as: LoginAs) -> None:
    client = login_as(Role.SUPERVISOR)
    backwards = client.get("/api/reports/outbound?from=2026-11-08&to=2026-11-01")
    assert backwards.status_code == 422
    assert field_errors(backwards) == {"to": ("validation.end_before_start", "结束时间不能早于开始时间")}
    too_long = client.get("/api/reports/complaints?from=2020-01-01&to=2026-11-01&lang=en")
    assert field_errors(too_long) == {
        "to": ("validation.reports.period_too_long", "The period may not exceed 1100 days")
    }
    missing = client.get("/api/reports/ivr?to=2026-11-01")
    assert missing.status_code == 422 and field_errors(missing)["from"][0] == "validation.missing"
    bad = client.get(f"/api/reports/survey?{RANGE}&grain=15m&by=team")
    assert bad.status_code == 422
    errors = field_errors(bad)
    assert errors["grain"][0] == "validation.enum" and errors["by"][0] == "validation.enum"
    assert errors["grain"][1].startswith("不是允许的选项")
    bad_date = client.get("/api/reports/ivr?from=2026-13-01&to=2026-11-01")
    assert field_errors(bad_date)["from"][0].startswith("validation.date")
    bad_format = client.get(f"/api/reports/ivr/export?{RANGE}&format=pdf")
    assert bad_format.status_code == 422 and "format" in field_errors(bad_format)


def test_csv_export(db: Session, make_user: MakeUser, login_as: LoginAs) -> None:
    build(db, make_user)
    client = login_as(Role.SUPERVISOR)
    response = client.get(f"/api/reports/outbound/export?{RANGE}&format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="report-outbound-2026-11-02-2026-11-08.csv"' in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = lines[0]
    assert header[:5] == ["时段", "坐席", "外呼次数", "接通次数", "接通率 %"]
    assert "已成交" in header and "未填结果" in header
    rows = {(line[0], line[1]): dict(zip(header, line, strict=True)) for line in lines[1:]}
    alice = rows[("2026-11-03", "李丽 (2001)")]
    assert (alice["外呼次数"], alice["接通次数"], alice["接通率 %"], alice["已成交"]) == (
        "5",
        "2",
        "40.0",
        "1",
    )
    total = rows[("合计", "全中心")]
    assert (total["外呼次数"], total["接通率 %"]) == ("7", "57.1")
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "reports.export")).one()
    assert entry.object_id == "outbound" and (entry.detail or {})["format"] == "csv"
    en = client.get(f"/api/reports/survey/export?{RANGE}&by=queue&format=csv&lang=en")
    assert en.content.decode("utf-8-sig").splitlines()[0].startswith("Period,Queue,Answers,1 very satisfied")


def test_xlsx_export_has_definitions(db: Session, make_user: MakeUser, login_as: LoginAs) -> None:
    build(db, make_user)
    client = login_as(Role.SUPERVISOR)
    for lang, sheet, head in (
        ("zh-CN", "定义", ["代码", "指标", "计算公式"]),
        ("en", "Definitions", ["Code", "Measure", "Formula"]),
    ):
        response = client.get(f"/api/reports/complaints/export?{RANGE}&format=xlsx&lang={lang}")
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["data", sheet]
        definitions = list(book[sheet].iter_rows(values_only=True))
        assert list(definitions[0]) == head
        by_code = {row[0]: row for row in definitions[1:]}
        assert set(by_code) >= {"received", "resolved", "resolution_pct", "overdue", "product_quality_pct"}
        data = list(book["data"].iter_rows(values_only=True))
        assert len(data) == 1 + 7 + 1  # header, 7 days, total
        if lang == "zh-CN":
            assert by_code["resolution_pct"][2] == "已解决数 ÷ 受理投诉数 × 100"
            third = dict(zip(data[0], data[2], strict=True))
            assert (third["时段"], third["受理投诉数"], third["解决率 %"], third["超期未结"]) == (
                "2026-11-03",
                3,
                66.7,
                1,
            )


def test_every_route_names_its_permission() -> None:
    from fastapi.routing import APIRoute

    from reports.business_views import router

    found = {}
    for route in router.routes:
        assert isinstance(route, APIRoute)
        named = (getattr(d.call, "permission", None) for d in route.dependant.dependencies)
        permissions = [p for p in named if p is not None]
        found[route.path] = permissions
    assert found == {
        **{f"/api/reports/{kind}": [Permission.REPORTS_READ] for kind in KINDS},
        **{f"/api/reports/{kind}/export": [Permission.REPORTS_EXPORT] for kind in KINDS},
    }


def test_catalogs_and_enum_labels(app: FastAPI) -> None:
    import json
    from pathlib import Path

    from core import i18n

    folder = Path(__file__).resolve().parents[2] / "reports" / "locales"
    zh = json.loads((folder / "zh-CN" / "reports_ui.json").read_text(encoding="utf-8"))
    en = json.loads((folder / "en" / "reports_ui.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    schemas = app.openapi()["components"]["schemas"]
    for name in ("Grain", "SurveyBy"):
        for value in schemas[name]["enum"]:
            for language in i18n.LANGUAGES:
                assert f"enum.{name}.{value}" in i18n.catalog(language)
