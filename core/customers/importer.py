"""Bulk import of customer files from CSV or XLSX, run as a background job the UI polls.

Columns are found by header, in English field names or in the labels of either language (客户代码,
客户名称, 类型, 客户等级, 电话 …), so an export can be imported again. Enumerations accept their value or
their label in either language (法人 / corporate). Rows are processed one by one, each in its own
SAVEPOINT: a good row is kept, a bad one is reported with its spreadsheet row number (the header is row 1),
the field and the reason in the requester's language, and leaves nothing behind. Progress is committed
every :data:`PROGRESS_EVERY` rows so that polling shows it.

The file is parsed before the job is created (a garbage upload is refused at once and creates nothing);
the parsed rows are then handed to the job in memory.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core import i18n
from core.audit import service as audit
from core.audit.service import Actor
from core.clock import utcnow
from core.customers import service
from core.customers.models import (
    CreditRating,
    CustomerGrade,
    CustomerImportJob,
    CustomerKind,
    ImportStatus,
    SalesShareClass,
)
from core.customers.schemas import CustomerCreate
from core.db import transaction
from core.errors import DomainError, FieldProblem, InvalidFields, NotFound
from core.security.roles import Clearance
from core.tabular import UnreadableTable, read_table

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
PROGRESS_EVERY = 50
MAX_STORED_ERRORS = 1000  # error_count keeps counting past it
PHONE_SEPARATORS = re.compile(r"[;；/、,，\n]")


class FileTooLarge(DomainError):
    status = 413
    code = "error.file_too_large"


class UnreadableFile(DomainError):
    """Not a CSV/XLSX, binary junk, no header, or no column we know: refused before any job exists."""

    status = 422
    code = "error.unreadable_file"


@dataclass(frozen=True)
class ImportColumn:
    key: str  # the CustomerCreate field
    required: bool = False
    aliases: tuple[str, ...] = ()  # more spellings seen in the wild, beside the field name and labels


# In template order. The labels come from the catalogs: ui.customers.column.<key>.
COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("code", aliases=("代码", "客户编号", "编号", "customer_code", "customer_no")),
    ImportColumn("name", required=True, aliases=("名称", "客户姓名", "姓名", "单位名称", "customer_name")),
    ImportColumn("kind", aliases=("客户类型", "类别", "type", "customer_type")),
    ImportColumn("grade", required=True, aliases=("等级", "customer_grade")),
    ImportColumn("phones", required=True, aliases=("电话号码", "联系电话", "手机", "手机号", "phone", "tel")),
    ImportColumn("address", aliases=("地址",)),
    ImportColumn("region", aliases=("区域", "area")),
    ImportColumn("contact_person", aliases=("联系人姓名", "contact")),
    ImportColumn("credit_rating", aliases=("信用度", "信用", "credit")),
    ImportColumn("confidentiality", aliases=("保密级别", "secrecy")),
    ImportColumn("email", aliases=("邮箱", "电子邮件", "e-mail", "mail")),
    ImportColumn("notes", aliases=("说明", "note", "remarks")),
    ImportColumn("sales_share_class", aliases=("销售占比等级", "sales_class")),
)
_BY_KEY = {column.key: column for column in COLUMNS}
# Words people write in the 类型 column besides the labels.
_EXTRA_VALUES: dict[type[Enum], dict[str, Any]] = {
    CustomerKind: {
        "个人": "individual",
        "自然人客户": "individual",
        "person": "individual",
        "企业": "corporate",
        "公司": "corporate",
        "单位": "corporate",
        "法人客户": "corporate",
        "company": "corporate",
    },
}
_ENUMS: dict[str, type[Enum]] = {
    "kind": CustomerKind,
    "grade": CustomerGrade,
    "credit_rating": CreditRating,
    "sales_share_class": SalesShareClass,
    "confidentiality": Clearance,
}


def column_label(key: str, language: str) -> str:
    return i18n.translate(f"ui.customers.column.{key}", language)


def _header_key(text: str) -> str:
    """Headers compare without case, spaces, dashes or a required-marker star."""
    return re.sub(r"[\s\-_*＊:：]+", "", text).lower()


def _header_map() -> dict[str, str]:
    names: dict[str, str] = {}
    for column in COLUMNS:
        spellings = [column.key, *column.aliases]
        spellings += [column_label(column.key, language) for language in i18n.LANGUAGES]
        spellings += [i18n.translate(f"field.{column.key}", language) for language in i18n.LANGUAGES]
        for spelling in spellings:
            names.setdefault(_header_key(spelling), column.key)
    return names


def _value_map(enum: type[Enum]) -> dict[str, Any]:
    """Every accepted spelling of each member: value, name, labels in both languages."""
    spellings: dict[str, Any] = {}
    for member in enum:
        value = member.value
        texts = [str(value), member.name, member.name.replace("_", " ")]
        texts += [i18n.translate(f"enum.{enum.__name__}.{value}", lang) for lang in i18n.LANGUAGES]
        for text in texts:
            spellings.setdefault(_header_key(text), value)
    for text, value in _EXTRA_VALUES.get(enum, {}).items():
        spellings.setdefault(_header_key(text), value)
    return spellings


# --- reading the file --------------------------------------------------------------------------


@dataclass
class ParsedFile:
    headers: list[str]
    columns: dict[str, str]  # customer field → header as written in the file
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, {header: text})
    ignored_headers: list[str] = field(default_factory=list)


def parse_upload(data: bytes, filename: str, language: str) -> ParsedFile:
    """The upload's rows, or :class:`UnreadableFile` (with the reason in ``language``)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileTooLarge(limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024))

    def refuse(reason: str, **params: Any) -> UnreadableFile:
        return UnreadableFile(
            reason=i18n.translate(f"ui.customers.import.reason.{reason}", language, **params)
        )

    try:
        headers, rows = read_table(data, filename, max_rows=MAX_ROWS)
    except UnreadableTable as exc:
        reason = (
            str(exc) if str(exc) in {"no_header", "not_xlsx", "not_text", "too_many_rows"} else "not_table"
        )
        raise refuse(reason, limit=MAX_ROWS) from None
    names = _header_map()
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for header in headers:
        key = names.get(_header_key(header))
        if key and key not in columns:
            columns[key] = header
        elif header:
            ignored.append(header)
    if not columns:
        raise refuse("no_known_column")
    missing = [c.key for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        sep = "、" if language == "zh-CN" else ", "
        raise refuse("missing_columns", columns=sep.join(column_label(k, language) for k in missing))
    return ParsedFile(headers=headers, columns=columns, rows=rows, ignored_headers=ignored)


# --- one row -----------------------------------------------------------------------------------


def row_input(row: dict[str, str], columns: dict[str, str]) -> dict[str, Any]:
    """The CustomerCreate input of a row: blanks left out (defaults apply), labels turned into values."""
    values: dict[str, Any] = {}
    for key, header in columns.items():
        text = (row.get(header) or "").strip()
        if not text:
            continue
        if key == "phones":
            values[key] = [{"number": part.strip()} for part in PHONE_SEPARATORS.split(text) if part.strip()]
        elif key in _ENUMS:
            values[key] = _value_map(_ENUMS[key]).get(_header_key(text), text)
        else:
            values[key] = text
    return values


def problems_of(error: ValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        ctx = {k: v for k, v in (item.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        problems.append(FieldProblem(tuple(item["loc"]), f"validation.{item['type']}", **ctx))
    return problems


def describe(row: int, problem: FieldProblem, columns: dict[str, str], language: str) -> dict[str, Any]:
    """A row error as the job stores it: {row, field, column, code, message}."""
    key = str(problem.loc[0]) if problem.loc else ""
    label = i18n.translate(f"field.{problem.loc[-1]}", language) if problem.loc else ""
    message = i18n.translate(problem.code, language, field=label, **problem.params)
    column = columns.get(key) or (column_label(key, language) if key in _BY_KEY else None)
    return {"row": row, "field": key, "column": column, "code": problem.code, "message": message}


def import_row(
    session: Session,
    *,
    number: int,
    row: dict[str, str],
    columns: dict[str, str],
    actor: Actor,
    phone_region: str,
    language: str,
    job_id: int | None = None,
) -> list[dict[str, Any]]:
    """Creates the row's customer inside a SAVEPOINT; returns its errors (empty when it was created)."""
    try:
        data = CustomerCreate.model_validate(row_input(row, columns))
    except ValidationError as exc:
        return [describe(number, p, columns, language) for p in problems_of(exc)]
    try:
        with session.begin_nested():
            service.create_customer_from(
                session,
                data=data,
                actor=actor,
                region_default=phone_region,
                source={"via": "import", "job_id": job_id, "row": number},
            )
    except InvalidFields as exc:
        return [describe(number, p, columns, language) for p in exc.problems]
    except SQLAlchemyError:
        log.exception("import row %s failed", number)
        problem = FieldProblem((), "error.import_row_failed")
        return [describe(number, problem, columns, language)]
    return []


# --- the job -----------------------------------------------------------------------------------


def create_job(
    session: Session, *, filename: str, parsed: ParsedFile, language: str, actor: Actor
) -> CustomerImportJob:
    job = CustomerImportJob(
        filename=filename[:255] or "upload",
        status=ImportStatus.QUEUED,
        language=language,
        total_rows=len(parsed.rows),
        errors=[],
        created_by_id=actor.user_id,
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.import",
        object_type="customer_import_job",
        object_id=job.id,
        detail={"filename": job.filename, "rows": job.total_rows, "columns": sorted(parsed.columns)},
    )
    return job


def get_job(session: Session, job_id: int) -> CustomerImportJob:
    job = session.get(CustomerImportJob, job_id)
    if job is None:
        raise NotFound(object="customer_import_job", id=job_id)
    return job


def run_import(
    factory: sessionmaker[Session],
    *,
    job_id: int,
    parsed: ParsedFile,
    actor: Actor,
    phone_region: str,
    language: str,
) -> None:
    """The background job: every row, progress committed every PROGRESS_EVERY rows."""
    try:
        with transaction(factory) as session:
            job = get_job(session, job_id)
            job.status = ImportStatus.RUNNING
            session.commit()
            errors: list[dict[str, Any]] = []
            for done, (number, row) in enumerate(parsed.rows, start=1):
                if done % PROGRESS_EVERY == 1:
                    # Open each batch's transaction with a write: pysqlite begins one only on DML, and a
                    # SAVEPOINT outside a transaction would commit its row on release.
                    job.updated_at = utcnow()
                    session.flush()
                row_errors = import_row(
                    session,
                    number=number,
                    row=row,
                    columns=parsed.columns,
                    actor=actor,
                    phone_region=phone_region,
                    language=language,
                    job_id=job_id,
                )
                if row_errors:
                    job.error_count += 1
                    errors.extend(row_errors[: max(0, MAX_STORED_ERRORS - len(errors))])
                else:
                    job.created_count += 1
                job.processed_rows = done
                if done % PROGRESS_EVERY == 0:
                    job.errors = list(errors)  # JSON columns see reassignment, not mutation
                    session.commit()
            job.errors = list(errors)
            job.status = ImportStatus.DONE
            job.finished_at = utcnow()
            audit.record(
                session,
                actor=actor,
                action="customer.import_done",
                object_type="customer_import_job",
                object_id=job_id,
                detail={"created": job.created_count, "errors": job.error_count},
            )
    except Exception as exc:
        log.exception("customer import job %s failed", job_id)
        with transaction(factory) as session:
            job = get_job(session, job_id)
            job.status = ImportStatus.FAILED
            job.failure = f"{type(exc).__name__}: {exc}"[:500]
            job.finished_at = utcnow()


# --- the template ------------------------------------------------------------------------------


def template_help(language: str) -> list[list[Any]]:
    """The XLSX template's second sheet: each column, whether required, and what it accepts."""
    t = i18n.translate
    rows: list[list[Any]] = [
        [
            t("ui.customers.import.help.column", language),
            t("ui.customers.import.help.required", language),
            t("ui.customers.import.help.accepts", language),
        ]
    ]
    for column in COLUMNS:
        enum = _ENUMS.get(column.key)
        if enum is not None:
            accepts = " / ".join(
                f"{member.value}（{t(f'enum.{enum.__name__}.{member.value}', language)}）" for member in enum
            )
        else:
            accepts = t(f"ui.customers.import.help.{column.key}", language)
        required = t(
            "ui.customers.import.help.yes" if column.required else "ui.customers.import.help.no", language
        )
        rows.append([column_label(column.key, language), required, accepts])
    return rows
