"""CSV and XLSX, both ways: lists are exported with translated headers, imports read either format.

Exports stream nothing clever: a list page's rows fit in memory (they are paged on screen, capped here).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

EXPORT_ROW_LIMIT = 100_000
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class UnreadableTable(ValueError):
    """The uploaded file is neither a CSV nor an XLSX we can read."""


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


def read_table(data: bytes, filename: str) -> tuple[list[str], Iterator[dict[str, str]]]:
    """Headers and rows (as text) of an uploaded CSV or XLSX; raises :class:`UnreadableTable`."""
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data)
    if name.endswith(".csv") or name.endswith(".txt"):
        return _read_csv(data)
    raise UnreadableTable("expected a .csv or .xlsx file")


def _read_csv(data: bytes) -> tuple[list[str], Iterator[dict[str, str]]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableTable("the CSV is neither UTF-8 nor GB18030 text")
    if "\x00" in text:
        raise UnreadableTable("binary data is not a CSV file")
    try:
        reader = csv.reader(io.StringIO(text))
        headers = [h.strip() for h in next(reader, [])]
        body = list(reader)
    except csv.Error as exc:
        raise UnreadableTable(f"malformed CSV: {exc}") from exc
    if not any(headers):
        raise UnreadableTable("the file has no header row")
    return headers, (dict(zip(headers, (c.strip() for c in row), strict=False)) for row in body if any(row))


def _read_xlsx(data: bytes) -> tuple[list[str], Iterator[dict[str, str]]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise UnreadableTable(f"unreadable XLSX: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile and friends: a garbage upload must not be a 500
        raise UnreadableTable(f"unreadable XLSX: {exc}") from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if not header_row or not any(header_row):
        raise UnreadableTable("the file has no header row")
    headers = ["" if h is None else str(h).strip() for h in header_row]

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # phone numbers typed in Excel arrive as floats
        if hasattr(value, "isoformat"):
            return str(value.isoformat())
        return str(value).strip()

    body = [row for row in rows if row and any(v is not None and str(v).strip() for v in row)]
    return headers, (dict(zip(headers, (text(v) for v in row), strict=False)) for row in body)
