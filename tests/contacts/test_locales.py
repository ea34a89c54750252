"""The catalogs label every field of the call-form inputs and every enum value, in both languages."""

from __future__ import annotations

import pytest

from core import i18n
from core.contacts.models import InboundOutcome, OutboundPurpose, OutboundResult
from core.contacts.service import KINDS


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_field_and_choice_has_a_label(language: str) -> None:
    messages = i18n.catalog(language)
    for kind in KINDS:
        for model in (kind.create, kind.out):
            missing = [f for f in model.model_fields if f != "phones_masked" and f"field.{f}" not in messages]
            assert missing == [], (kind.slug, missing)
    for enum in (InboundOutcome, OutboundPurpose, OutboundResult):
        for member in enum:
            assert f"enum.{enum.__name__}.{member.value}" in messages
    for code in (
        "validation.no_sale_reason_required",
        "validation.repeat_call_at_required",
        "validation.department_required",
        "error.record_out_of_scope",
        "error.record_not_author",
        "error.agent_out_of_scope",
        "ui.yes",
        "ui.no",
    ):
        assert code in messages


def test_chinese_is_the_default() -> None:
    assert i18n.translate("field.caller_organisation") == "呼入单位"
    assert i18n.translate("enum.OutboundResult.no_sale") == "未成交"
