"""CSV and XLSX, both ways: lists are exported with translated headers, imports read either format.

Exports stream nothing clever: a list page's rows fit in memory (they are paged on screen, capped here).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

EXPORT_ROW_LIMIT = 100_000
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class UnreadableTable(ValueError):
    """The uploaded file is neither a CSV nor an XLSX we can read; ``str()`` is the reason code."""


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # already translated


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def write_table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[Column],
    fmt: str,
    sheets: dict[str, list[list[Any]]] | None = None,
) -> bytes:
    """``rows`` as CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX; ``sheets`` adds extra XLSX sheets."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([c.header for c in columns])
        for n, row in enumerate(rows):
            if n >= EXPORT_ROW_LIMIT:
                break
            writer.writerow([_cell(row.get(c.key)) for c in columns])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook  # on first export: it loads numpy when installed (~20 MB)

        book = Workbook(write_only=True)
        sheet = book.create_sheet("data")
        sheet.append([c.header for c in columns])
        for n, row in enumerate(rows):
            if n >= EXPORT_ROW_LIMIT:
                break
            sheet.append([_cell(row.get(c.key)) for c in columns])
        for title, extra_rows in (sheets or {}).items():
            extra = book.create_sheet(title[:31])
            for extra_row in extra_rows:
                extra.append([_cell(v) for v in extra_row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise ValueError(f"unknown export format {fmt!r}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # numbers typed in Excel (phone numbers!) arrive as floats
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


NumberedRows = list[tuple[int, dict[str, str]]]


def _numbered(records: Iterable[Iterable[Any]], max_rows: int) -> tuple[list[str], NumberedRows]:
    """Header and numbered body rows; blank rows are skipped but still counted, as Excel shows them."""
    iterator = iter(records)
    header_row = next(iterator, None)
    headers = [_text(h) for h in header_row or []]
    if not any(headers):
        raise UnreadableTable("no_header")
    rows: NumberedRows = []
    for number, record in enumerate(iterator, start=2):
        cells = [_text(v) for v in record]
        if any(cells):
            rows.append((number, dict(zip(headers, cells, strict=False))))
        if len(rows) > max_rows:
            raise UnreadableTable("too_many_rows")
    return headers, rows


def read_table(data: bytes, filename: str, *, max_rows: int = 100_000) -> tuple[list[str], NumberedRows]:
    """Headers and (spreadsheet row number, {header: text}) of an uploaded CSV or XLSX, so that an error
    report names the row a person sees in Excel. Raises :class:`UnreadableTable` with a reason code:
    no_header, not_xlsx, not_text, not_table, too_many_rows."""
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        try:
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                return _numbered(book.worksheets[0].iter_rows(values_only=True), max_rows)
            finally:
                book.close()
        except UnreadableTable:
            raise
        except Exception as exc:  # BadZipFile, KeyError, …: a garbage upload must not be a 500
            raise UnreadableTable("not_xlsx") from exc
    if not (name.endswith(".csv") or name.endswith(".txt")):
        raise UnreadableTable("not_table")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableTable("not_text")
    if "\x00" in text:
        raise UnreadableTable("not_text")
    try:
        return _numbered(csv.reader(io.StringIO(text, newline="")), max_rows)
    except csv.Error as exc:
        raise UnreadableTable("not_table") from exc
