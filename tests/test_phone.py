"""Showing a number to a reader: national form for those who may see numbers, masked for the others."""

from __future__ import annotations

from core.phone import for_reader


def test_for_reader_masks_or_shows() -> None:
    assert for_reader("+86 139 0013 9001", unmasked=False) == "139****9001"
    assert for_reader("13900139001", unmasked=True) == "13900139001"
    assert for_reader("0086-21-6234-5678", unmasked=True) == "02162345678"
    # unreadable input: the reader without the right sees at most its last four characters
    assert for_reader("ext-77", unmasked=False) == "**t-77"
    assert for_reader("ext-77", unmasked=True) == "ext-77"
    assert for_reader("", unmasked=True) is None
    assert for_reader(None, unmasked=False) is None
