"""Phone numbers: stored in E.164 so a caller number finds its customer by index; masked for roles
that need not see them."""

from __future__ import annotations

import phonenumbers

from core.errors import InvalidFields


def normalise(raw: str, region: str = "CN") -> str:
    """E.164 form of a number as typed or as the PBX presents it (national, with 0/+86/0086 prefixes).

    Raises ``ValueError`` for something that is not a possible phone number.
    """
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_field(raw: str, region: str, field: str | tuple[str | int, ...] = "phone") -> str:
    """:func:`normalise` for form input: a bad number is a field-level error."""
    try:
        return normalise(raw, region)
    except ValueError:
        raise InvalidFields.one(field, "validation.phone_invalid", value=raw) from None


def display(e164: str, region: str = "CN") -> str:
    """National format for numbers of the center's own region, international otherwise."""
    try:
        parsed = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(parsed) == region:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL).replace(" ", "")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask(e164: str, region: str = "CN") -> str:
    """Keeps the first three and last four digits: 13900139001 → 139****9001."""
    shown = display(e164, region)
    digits = [i for i, ch in enumerate(shown) if ch.isdigit()]
    if len(digits) <= 7:
        hidden = digits[1:-2] if len(digits) > 3 else []
    else:
        hidden = digits[3:-4]
    chars = list(shown)
    for i in hidden:
        chars[i] = "*"
    return "".join(chars)


def for_reader(raw: str | None, *, unmasked: bool, region: str = "CN") -> str | None:
    """A number as the PBX or a person wrote it, shown to a reader: national form, or masked for readers
    without the right to see numbers. Unreadable input shows at most its last four characters to them."""
    if not raw:
        return None
    try:
        e164 = normalise(raw, region)
    except ValueError:
        return raw if unmasked else "*" * max(len(raw) - 4, 0) + raw[-4:]
    return display(e164, region) if unmasked else mask(e164, region)
