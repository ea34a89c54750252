"""Reading an exported CSV/XLSX back, as a person opening it would see it."""

from __future__ import annotations

from core.tabular import read_table


def exported(content: bytes, filename: str) -> tuple[list[str], list[dict[str, str]]]:
    headers, numbered = read_table(content, filename)
    return headers, [row for _number, row in numbered]
