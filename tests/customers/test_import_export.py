"""Spreadsheet import (background job, row errors with spreadsheet row numbers, SAVEPOINT per row),
the import template, and CSV / XLSX export with translated headers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi import FastAPI
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit.service import Actor
from core.customers import importer, service
from core.customers.models import Customer, CustomerImportJob, CustomerPhone
from core.errors import InvalidFields
from core.security.roles import Role
from tests.conftest import LoginAs
from tests.customers.conftest import MakeCustomer
from tests.customers.helpers import audit_rows

ZH_HEADER = "客户代码,客户名称,类型,客户等级,电话,地址,地区,联系人,信用等级,密级,电子邮箱,备注"


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.strip().encode(encoding)


def upload(client: Any, data: bytes, filename: str, **params: str) -> Any:
    return client.post("/api/customers/import", files={"file": (filename, data)}, params=params)


def count(db: Session, model: type[Any]) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


GOOD_AND_BAD = f"""
{ZH_HEADER}
C000101,北京甲有限公司,法人,AAA,010-62751234；13900139001,北京市海淀区,北京市,李经理,优秀,内部,a@example.com,老客户
C000102,王小二,自然人,B,+86 139 0013 9002,,上海市,,good,0,,
,赵六,individual,VIP,13900139003,,,,,,,
,孙七,个人,A,13900139004/0086-139-0013-9005,,广东省,,,1,,

C000105,周八,自然人,AA,abc,,,,,,,
"""


def test_csv_with_good_and_bad_rows(login_as: LoginAs, db: Session) -> None:
    officer = login_as(Role.INFO_OFFICER)
    response = upload(officer, csv_bytes(GOOD_AND_BAD), "客户.csv")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued" and job["total_rows"] == 5

    polled = officer.get(f"/api/customers/import/{job['id']}").json()
    assert polled["status"] == "done"
    assert (polled["processed_rows"], polled["created_count"], polled["error_count"]) == (5, 3, 2)
    assert [(e["row"], e["field"]) for e in polled["errors"]] == [(4, "grade"), (7, "phones")]  # 6 is blank
    grade_error, phone_error = polled["errors"]
    assert grade_error["column"] == "客户等级" and "不是允许的选项" in grade_error["message"]
    assert phone_error["column"] == "电话" and phone_error["message"] == "“abc”不是有效的电话号码"

    customers = {c.name: c for c in db.scalars(select(Customer)).all()}
    assert set(customers) == {"北京甲有限公司", "王小二", "孙七"}
    company = customers["北京甲有限公司"]
    assert (company.kind, company.grade, company.credit_rating, company.confidentiality) == (
        "corporate",
        "AAA",
        "excellent",
        1,
    )
    assert sorted(p.number for p in company.phones) == ["+861062751234", "+8613900139001"]
    assert customers["王小二"].confidentiality == 0 and customers["王小二"].credit_rating == "good"
    assert sorted(p.number for p in customers["孙七"].phones) == ["+8613900139004", "+8613900139005"]
    assert customers["孙七"].code.startswith("C") and customers["孙七"].kind == "individual"
    # Every created file is audited as created by the requester, through the import.
    creates = audit_rows(db, "customer.create")
    assert len(creates) == 3
    assert all(r.user_id == officer.user.id and r.detail["via"] == "import" for r in creates)  # type: ignore[attr-defined,index]
    assert len(audit_rows(db, "customer.import")) == 1


def test_row_errors_in_english_for_an_english_requester(login_as: LoginAs) -> None:
    officer = login_as(Role.INFO_OFFICER)
    job = upload(officer, csv_bytes(GOOD_AND_BAD), "customers.csv", lang="en").json()
    polled = officer.get(f"/api/customers/import/{job['id']}").json()
    assert polled["errors"][0]["message"].startswith("Not an allowed choice")
    assert polled["errors"][1]["message"] == "“abc” is not a valid phone number"


def test_gbk_csv_from_excel(login_as: LoginAs, db: Session) -> None:
    officer = login_as(Role.INFO_OFFICER)
    text = "客户名称,客户等级,电话\n钱九,A,13900139011\n"
    job = upload(officer, text.encode("gb18030"), "gbk.csv").json()
    assert officer.get(f"/api/customers/import/{job['id']}").json()["created_count"] == 1
    assert db.scalar(select(Customer.name)) == "钱九"


def test_xlsx_with_english_headers(login_as: LoginAs, db: Session) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["Customer code", "name", "kind", "Grade", "phones", "region", "Credit rating", "confidentiality"]
    )
    sheet.append(["X-1", "Acme Ltd", "Corporate", "AA", 13900139021, "Beijing", "Very poor", "Confidential"])
    sheet.append([None, None, None, None, None, None, None, None])
    sheet.append([None, "Bob", "individual", "B", "13900139022; 13900139023", None, None, 1])
    sheet.append(["X-3", "Carol", "individual", "A", "13900139024", None, None, 5])
    out = io.BytesIO()
    book.save(out)
    officer = login_as(Role.INFO_OFFICER)
    job = upload(officer, out.getvalue(), "customers.xlsx").json()
    polled = officer.get(f"/api/customers/import/{job['id']}").json()
    assert (polled["created_count"], polled["error_count"]) == (2, 1)
    assert [(e["row"], e["field"], e["code"]) for e in polled["errors"]] == [
        (5, "confidentiality", "validation.less_than_equal")
    ]
    acme = db.scalar(select(Customer).where(Customer.code == "X-1"))
    assert acme is not None
    assert (acme.kind, acme.grade, acme.credit_rating, acme.confidentiality, acme.region) == (
        "corporate",
        "AA",
        "very_poor",
        2,
        "Beijing",
    )
    assert [p.number for p in acme.phones] == ["+8613900139021"]  # Excel's number cell, not "1.39e10"


def test_duplicate_codes_inside_the_file_and_against_the_database(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    make_customer(code="C000500")
    text = """
客户代码,客户名称,客户等级,电话
C000501,甲,A,13900139031
C000501,乙,A,13900139032
C000500,丙,A,13900139033
C000502,丁,A,13900139034
"""
    officer = login_as(Role.INFO_OFFICER)
    job = upload(officer, csv_bytes(text), "dup.csv").json()
    polled = officer.get(f"/api/customers/import/{job['id']}").json()
    assert (polled["created_count"], polled["error_count"]) == (2, 2)
    assert [(e["row"], e["field"], e["message"]) for e in polled["errors"]] == [
        (3, "code", "“C000501”已存在"),
        (4, "code", "“C000500”已存在"),
    ]
    names = set(db.scalars(select(Customer.name)).all())
    assert names == {"张三", "甲", "丁"}  # the first row of a code wins; nothing of 乙 or 丙 exists
    assert count(db, CustomerPhone) == 3


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "photo.csv", "不是 UTF-8 或 GBK"),
        (bytes(range(256)) * 4, "junk.xlsx", "不是有效的 Excel"),
        (b"PK\x03\x04 this is not a zip", "junk.bin", "不是有效的 Excel"),
        (b"hello world", "notes.docx", "请上传 .csv 或 .xlsx"),
        (b"", "empty.csv", "没有表头"),
        (b"\n\n\n", "blank.csv", "没有表头"),
        ("颜色,尺寸\n红,大\n".encode(), "other.csv", "没有可识别的列"),
        ("客户名称,地址\n张三,北京\n".encode(), "partial.csv", "缺少必需的列：客户等级、电话"),
    ],
)
def test_garbage_upload_is_refused_at_once(
    login_as: LoginAs, db: Session, data: bytes, filename: str, reason: str
) -> None:
    officer = login_as(Role.INFO_OFFICER)
    response = upload(officer, data, filename)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "error.unreadable_file"
    assert body["message"].startswith("无法读取该文件：") and reason in body["message"]
    assert count(db, CustomerImportJob) == 0 and count(db, Customer) == 0


def test_garbage_message_in_english(login_as: LoginAs) -> None:
    officer = login_as(Role.INFO_OFFICER)
    response = upload(officer, b"colour,size\nred,big\n", "other.csv", lang="en")
    assert response.json()["message"] == (
        "Cannot read this file: no known column in the header (such as Customer code, Customer name, Phone)"
    )


def test_too_large_upload_is_refused(login_as: LoginAs, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_UPLOAD_BYTES", 100)
    officer = login_as(Role.INFO_OFFICER)
    response = upload(officer, csv_bytes("客户名称,客户等级,电话\n" + "张三,A,13900139001\n" * 10), "big.csv")
    assert response.status_code == 413
    assert response.json()["error"] == "error.file_too_large"
    assert count(db, CustomerImportJob) == 0


def test_a_failing_row_leaves_nothing_half_written(
    login_as: LoginAs, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer is flushed, then the row fails: its SAVEPOINT takes the customer and phones away."""
    original = service.create_customer_from

    def fail_after_writing(session: Session, **kwargs: Any) -> Customer:
        customer = original(session, **kwargs)
        if customer.name == "坏":
            raise InvalidFields.one("notes", "validation.invalid")
        return customer

    monkeypatch.setattr(service, "create_customer_from", fail_after_writing)
    text = "客户名称,客户等级,电话\n好,A,13900139041\n坏,A,13900139042\n也好,A,13900139043\n"
    officer = login_as(Role.INFO_OFFICER)
    job = upload(officer, csv_bytes(text), "rows.csv").json()
    polled = officer.get(f"/api/customers/import/{job['id']}").json()
    assert [(e["row"], e["field"]) for e in polled["errors"]] == [(3, "notes")]
    assert set(db.scalars(select(Customer.name)).all()) == {"好", "也好"}
    assert set(db.scalars(select(CustomerPhone.number)).all()) == {"+8613900139041", "+8613900139043"}
    assert len(audit_rows(db, "customer.create")) == 2


def test_progress_is_committed_every_50_rows(
    app: FastAPI, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that dies at row 76 keeps the 50 rows committed before, and says it failed."""
    lines = ["客户名称,客户等级,电话"] + [f"客户{n},A,1390014{n:04d}" for n in range(120)]
    parsed = importer.parse_upload(csv_bytes("\n".join(lines)), "many.csv", "zh-CN")
    job = importer.create_job(
        db, filename="many.csv", parsed=parsed, language="zh-CN", actor=Actor(None, "t")
    )
    db.commit()
    original = importer.import_row

    def crash_at_76(session: Session, **kwargs: Any) -> list[dict[str, Any]]:
        if kwargs["number"] == 77:  # the 76th data row
            raise RuntimeError("disk full")
        return original(session, **kwargs)

    monkeypatch.setattr(importer, "import_row", crash_at_76)
    importer.run_import(
        app.state.session_factory,
        job_id=job.id,
        parsed=parsed,
        actor=Actor(None, "t"),
        phone_region="CN",
        language="zh-CN",
    )
    db.expire_all()
    stored = db.get(CustomerImportJob, job.id)
    assert stored is not None
    assert stored.status == "failed" and "disk full" in (stored.failure or "")
    assert stored.processed_rows == 50 and stored.created_count == 50
    assert count(db, Customer) == 50


def test_unknown_import_job_is_404(login_as: LoginAs) -> None:
    assert login_as(Role.INFO_OFFICER).get("/api/customers/import/4711").status_code == 404


@pytest.mark.parametrize(("lang", "first"), [("zh-CN", "客户代码"), ("en", "Customer code")])
def test_template_has_the_headers_in_the_users_language(login_as: LoginAs, lang: str, first: str) -> None:
    officer = login_as(Role.INFO_OFFICER)
    response = officer.get("/api/customers/import/template", params={"format": "csv", "lang": lang})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[0] == first and len(header) == len(importer.COLUMNS)
    xlsx = officer.get("/api/customers/import/template", params={"format": "xlsx", "lang": lang})
    book = load_workbook(io.BytesIO(xlsx.content))
    assert next(book.worksheets[0].iter_rows(values_only=True))[0] == first
    assert len(book.worksheets) == 2  # the help sheet lists what each column accepts
    # The template imports as a file with headers and no rows.
    assert importer.parse_upload(response.content, "t.csv", lang).rows == []


# --- export --------------------------------------------------------------------------------------


def _seed_for_export(make_customer: MakeCustomer) -> None:
    make_customer(
        code="C000001",
        name="北京甲有限公司",
        kind="corporate",
        grade="AAA",
        credit_rating="excellent",
        confidentiality=2,
        phones=[{"number": "13900139051"}, {"number": "010-62751234"}],
    )
    make_customer(code="C000002", name="王小二", grade="B", phones=[{"number": "13900139052"}])


def test_export_csv_with_chinese_headers_reads_back(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    _seed_for_export(make_customer)
    officer = login_as(Role.INFO_OFFICER)
    response = officer.get("/api/customers/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["客户代码"] for r in rows] == ["C000001", "C000002"]
    assert rows[0]["类型"] == "法人" and rows[0]["信用等级"] == "优秀" and rows[0]["密级"] == "秘密"
    assert rows[0]["电话"] == "13900139051; 01062751234"
    assert rows[0]["建档时间"].endswith("+08:00")
    exports = audit_rows(db, "customer.export")
    assert len(exports) == 1 and exports[0].detail["rows"] == 2  # type: ignore[index]
    # Filters apply as in the list.
    only_b = officer.get("/api/customers/export", params={"format": "csv", "grade": "B"})
    assert [r["客户名称"] for r in csv.DictReader(io.StringIO(only_b.content.decode("utf-8-sig")))] == [
        "王小二"
    ]
    # What is exported imports again: every row is now a duplicate code.
    parsed = importer.parse_upload(response.content, "export.csv", "zh-CN")
    assert set(parsed.columns) >= {
        "code",
        "name",
        "kind",
        "grade",
        "phones",
        "credit_rating",
        "confidentiality",
    }
    job = upload(officer, response.content, "export.csv").json()
    polled = officer.get(f"/api/customers/import/{job['id']}").json()
    assert [(e["row"], e["field"]) for e in polled["errors"]] == [(2, "code"), (3, "code")]


def test_export_xlsx_with_english_headers(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    _seed_for_export(make_customer)
    supervisor = login_as(Role.SUPERVISOR)
    response = supervisor.get(
        "/api/customers/export", params={"format": "xlsx", "lang": "en", "q": "C000001"}
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:4] == ["Customer code", "Customer name", "Type", "Grade"]
    record = dict(zip(header, rows[1], strict=False))
    assert record["Customer code"] == "C000001"
    assert record["Type"] == "Corporate" and record["Confidentiality"] == "Confidential"
    assert len(rows) == 2


def test_export_leaves_out_files_above_clearance(
    login_as: LoginAs, make_customer: MakeCustomer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exporters all hold 机密 clearance today; the rule is the list's, checked with a narrower one."""
    make_customer(code="C000009", confidentiality=3)
    make_customer(code="C000010", confidentiality=1)
    officer = login_as(Role.INFO_OFFICER)
    from core.security import roles

    monkeypatch.setitem(roles.ROLE_CLEARANCE, Role.INFO_OFFICER, roles.Clearance.INTERNAL)
    response = officer.get("/api/customers/export", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["客户代码"] for r in rows] == ["C000010"]
