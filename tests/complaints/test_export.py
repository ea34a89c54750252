"""Export of the complaint list: CSV and XLSX, translated headers and values, the same scope and filters
as the list, masked phones, an audit row."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.complaints.workflow import ComplaintStatus
from core.config import Settings
from core.security.roles import Role
from tests.complaints.helpers import HAPPY_PATH, payload, register, walk
from tests.conftest import LoginAs, MakeUser
from tests.tables import exported


def test_agent_exports_own_complaints_as_csv_in_chinese(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    other = login_as(Role.AGENT)
    agent.post("/api/complaints", json=payload(received_at="2026-11-20T09:15:00"))
    other.post("/api/complaints", json=payload(customer_name="别人的客户"))
    response = agent.get("/api/complaints/export?format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["content-disposition"].endswith('.csv"')
    headers, rows = exported(response.content, "x.csv")
    rows_list = list(rows)
    assert headers[:4] == ["投诉编号", "投诉时间", "投诉方式", "处理状态"]
    assert "承诺处理期限" in headers and "损失金额（元）" in headers and "回访满意度" in headers
    assert len(rows_list) == 1
    row = rows_list[0]
    assert row["投诉时间"] == "2026-11-20 09:15"  # center time
    assert row["投诉方式"] == "电话" and row["处理状态"] == "已登记" and row["紧急程度"] == "紧急"
    assert row["问题类型"] == "质量" and row["受理情况"] == "待定"
    assert row["联系电话"] == "139****9001"
    assert row["是否超期"] == "是"  # 72 h after 20 Nov has passed
    db.expire_all()
    audit_row = db.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.export"))
    assert audit_row is not None and audit_row.detail == {"format": "csv", "rows": 1, "filters": {}}
    assert audit_row.user_id == agent.user.id  # type: ignore[attr-defined]


def test_officer_exports_xlsx_in_english_with_filters(
    login_as: LoginAs, db: Session, settings: Settings, make_user: MakeUser
) -> None:
    registrar = make_user(Role.AGENT)
    closed = register(db, settings, registrar, received_at=datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    register(db, settings, registrar, received_at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC), customer_name="x")
    closed.loss_amount_cents = 129905
    closed.own_fault = False
    db.commit()
    walk(db, closed, registrar, *HAPPY_PATH)
    officer = login_as(Role.COMPLAINTS_OFFICER)
    response = officer.get("/api/complaints/export?format=xlsx&status=closed&lang=en")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    headers, rows = exported(response.content, "x.xlsx")
    assert headers[:3] == ["Case number", "Received", "Channel"]
    (row,) = list(rows)
    assert row["Case number"] == closed.case_number
    assert row["Status"] == "Closed" and row["Resolution"] == "Exchange"
    assert row["Phone"] == "+8613900139001"
    assert row["Loss (yuan)"] == "1299.05"
    assert row["Our fault"] == "No"
    assert row["Closing number"].startswith("JA")
    assert closed.status is ComplaintStatus.CLOSED


def test_export_format_is_checked(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    response = agent.get("/api/complaints/export?format=pdf")
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "format"
    assert response.json()["fields"][0]["message"] == "格式不正确"


def test_export_needs_complaints_read(login_as: LoginAs, db: Session) -> None:
    anonymous = login_as(Role.AGENT)
    anonymous.post("/api/auth/logout")
    assert anonymous.get("/api/complaints/export").status_code == 401
