"""Both languages carry the same messages, and every field and choice the UI can show has a label."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from core import i18n

# Paging, envelope and machine fields the UI never shows with a label.
UNLABELLED = {"items", "total", "offset", "limit", "id", "detail", "loc", "msg", "type", "input", "ctx"} | {
    "phones_masked",
    "masked",
    "permissions",
    "allowed_transitions",
    "events",
    "days",
    "definitions",
    "counts",
    "errors",
}
MACHINE_SCHEMAS = {"UiConfig"}


def scope_of(schema_name: str) -> str:
    base = re.sub(r"(Create|Update|Out|In|ListItem|Brief)$", "", schema_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", base).lower()


def test_languages_have_the_same_keys(app: FastAPI) -> None:
    zh, en = set(i18n.catalog("zh-CN")), set(i18n.catalog("en"))
    assert sorted(zh - en) == []
    assert sorted(en - zh) == []


def test_messages_are_really_translated(app: FastAPI) -> None:
    zh, en = i18n.catalog("zh-CN"), i18n.catalog("en")
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert [k for k, v in en.items() if chinese.search(v)] == []
    untranslated = [
        k
        for k, v in zh.items()
        if not chinese.search(v) and v == en[k] and not re.fullmatch(r"[\w .:/%+\-A-Z]*", v)
    ]
    assert untranslated == []


def _components(app: FastAPI) -> dict[str, Any]:
    schemas: dict[str, Any] = app.openapi()["components"]["schemas"]
    return schemas


def test_every_enum_value_has_a_label_in_both_languages(app: FastAPI) -> None:
    missing = []
    for name, schema in _components(app).items():
        for value in schema.get("enum", []):
            for language in i18n.LANGUAGES:
                if f"enum.{name}.{value}" not in i18n.catalog(language):
                    missing.append((language, f"enum.{name}.{value}"))
    assert missing == []


def test_every_field_the_ui_shows_has_a_label(app: FastAPI) -> None:
    missing = []
    for name, schema in _components(app).items():
        if name.startswith(("HTTPValidation", "ValidationError", "Page_")) or name in MACHINE_SCHEMAS:
            continue
        if "properties" not in schema:
            continue
        scope = scope_of(name)
        for field in schema["properties"]:
            if field in UNLABELLED:
                continue
            for language in i18n.LANGUAGES:
                catalog = i18n.catalog(language)
                if f"field.{scope}.{field}" not in catalog and f"field.{field}" not in catalog:
                    missing.append((language, name, field))
    assert missing == []


def test_translate_fills_parameters_and_falls_back() -> None:
    assert i18n.translate("validation.string_too_long", "en", max_length=5) == "At most 5 characters"
    assert i18n.translate("validation.string_too_long", "zh-CN", max_length=5) == "最多 5 个字符"
    assert i18n.translate("no.such.key", "en") == "no.such.key"
    assert i18n.negotiate(None, accept_language="en-GB,en;q=0.8") == "en"
    assert i18n.negotiate("fr", None, accept_language="de") == "zh-CN"
    assert i18n.negotiate("en_US") == "en"
