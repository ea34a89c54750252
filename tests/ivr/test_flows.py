"""The flow validator (every rule with its field path), versions in the database, prompts and messages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import InvalidFields
from core.i18n import LANGUAGES
from ivr.default_flow import DEFAULT_FLOW, DEFAULT_FLOWS, SURVEY_FLOW
from ivr.engine import case_digits_valid, luhn_valid
from ivr.flows import LOCALES, prompt_texts, validate_flow
from ivr.models import IvrFlow
from ivr.service import active_flow, save_flow_version, seed_default_flow


def flow(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(DEFAULT_FLOW)
    for step_id, step in changes.items():
        if step is None:
            del data["steps"][step_id]
        else:
            data["steps"][step_id] = step
    return data


def problems(data: dict[str, Any]) -> set[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(InvalidFields) as caught:
        validate_flow(data)
    return {(problem.loc, problem.code) for problem in caught.value.problems}


def test_the_default_flows_are_valid() -> None:
    parsed = validate_flow(DEFAULT_FLOW)
    assert parsed.start == "welcome" and len(parsed.steps) == 17
    for definition in DEFAULT_FLOWS.values():
        validate_flow(definition)


def test_unknown_target_and_unreachable_step() -> None:
    data = flow(enter_case={**DEFAULT_FLOW["steps"]["enter_case"], "next": "nowhere"})
    data["steps"]["orphan"] = {"kind": "hangup"}
    found = problems(data)
    assert (("steps", "enter_case", "next"), "validation.ivr_unknown_step") in found
    assert (("steps", "orphan"), "validation.ivr_unreachable") in found


def test_dead_end_loop() -> None:
    data = flow(
        unknown_case={"kind": "say", "prompt": "unknown-case", "next": "loop"},
    )
    data["steps"]["loop"] = {"kind": "say", "prompt": "hold", "next": "unknown_case"}
    data["steps"]["case_status"]["missing"] = "unknown_case"
    found = problems(data)
    assert found == {
        (("steps", "unknown_case"), "validation.ivr_dead_end"),
        (("steps", "loop"), "validation.ivr_dead_end"),
    }


def test_missing_prompt_in_every_language() -> None:
    found = problems(flow(welcome={"kind": "say", "prompt": "no-such-prompt", "next": "identify"}))
    assert found == {(("steps", "welcome", "prompt"), "validation.ivr_unknown_prompt")}
    with pytest.raises(InvalidFields) as caught:
        validate_flow(flow(welcome={"kind": "say", "prompt": "no-such-prompt", "next": "identify"}))
    assert sorted(p.params["language"] for p in caught.value.problems) == sorted(LANGUAGES)


def test_duplicate_digit_and_retries() -> None:
    menu = copy.deepcopy(DEFAULT_FLOW["steps"]["main"])
    menu["options"].append({"digit": "1", "next": "agent"})
    menu["retries"] = 0
    found = problems(flow(main=menu))
    assert found == {
        (("steps", "main", "options", len(menu["options"]) - 1, "digit"), "validation.ivr_duplicate_digit"),
        (("steps", "main", "retries"), "validation.ivr_retries_min"),
    }


def test_input_rules() -> None:
    step = {**DEFAULT_FLOW["steps"]["enter_id"], "min_digits": 8, "retries": 0}
    lookup = {**DEFAULT_FLOW["steps"]["find_customer"], "source": "main"}
    assert problems(flow(enter_id=step, find_customer=lookup)) == {
        (("steps", "enter_id", "min_digits"), "validation.ivr_min_over_max"),
        (("steps", "enter_id", "retries"), "validation.ivr_retries_min"),
        (("steps", "find_customer", "source"), "validation.ivr_source_not_input"),
    }


def test_hours_rules() -> None:
    hours = copy.deepcopy(DEFAULT_FLOW["steps"]["hours"])
    hours["weekly"]["mon"] = [["20:00", "08:00"]]
    hours["weekly"]["someday"] = []
    assert problems(flow(hours=hours)) == {
        (("steps", "hours", "weekly", "mon", 0), "validation.ivr_time_range"),
        (("steps", "hours", "weekly", "someday"), "validation.ivr_weekday"),
    }


def test_shape_errors_have_the_step_path_without_the_kind() -> None:
    menu = {**DEFAULT_FLOW["steps"]["main"], "timeout_ms": 10, "colour": "red"}
    found = problems(flow(main=menu, welcome={"kind": "dance", "next": "identify"}))
    assert (("steps", "main", "timeout_ms"), "validation.greater_than_equal") in found
    assert (("steps", "main", "colour"), "validation.extra_forbidden") in found
    assert (("steps", "welcome"), "validation.union_tag_invalid") in found
    assert problems({"steps": {}}) >= {(("start",), "validation.missing")}


def test_survey_retries() -> None:
    data = copy.deepcopy(SURVEY_FLOW)
    data["steps"]["ask"]["retries"] = 0
    assert problems(data) == {(("steps", "ask", "retries"), "validation.ivr_retries_min")}


def test_unknown_start() -> None:
    assert (("start",), "validation.ivr_unknown_step") in problems({**flow(), "start": "nope"})


def test_versions_in_the_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        assert seed_default_flow(session) == []  # seeded by the fixture already: not twice
        loaded = active_flow(session, name="ivr")
        assert loaded is not None and loaded.version == 1
        second = save_flow_version(session, name="ivr", definition=DEFAULT_FLOW, note="v2")
        with pytest.raises(InvalidFields):
            save_flow_version(session, name="ivr", definition=flow(main=None))
    with factory() as session:
        rows = session.scalars(select(IvrFlow).where(IvrFlow.name == "ivr").order_by(IvrFlow.version)).all()
        assert [(row.version, row.is_active) for row in rows] == [(1, False), (2, True)]
        loaded = active_flow(session, name="ivr")
        assert loaded is not None and loaded.id == second.id
        assert json.dumps(rows[1].definition)  # stored as plain JSON (times as text)
        assert rows[1].definition["steps"]["hours"]["weekly"]["mon"] == [["08:00:00", "20:00:00"]]


def test_active_flow_with_an_uploaded_prompt_runs(factory: sessionmaker[Session]) -> None:
    # the admin API accepts a prompt only an uploaded recording has; the IVR must then run that flow
    data = copy.deepcopy(DEFAULT_FLOW)
    data["steps"]["main"]["prompt"] = "uploaded_welcome"
    with pytest.raises(InvalidFields):
        validate_flow(data)  # unknown to the text catalog
    with transaction(factory) as session:
        session.execute(update(IvrFlow).where(IvrFlow.name == "ivr").values(is_active=False))
        session.add(IvrFlow(name="ivr", version=9, definition=data, is_active=True))
    with factory() as session:
        loaded = active_flow(session, name="ivr")
        assert loaded is not None and loaded.version == 9
        assert loaded.definition.steps["main"].prompt == "uploaded_welcome"  # type: ignore[union-attr]


def test_prompt_and_message_catalogs_agree() -> None:
    assert prompt_texts("zh-CN").keys() == prompt_texts("en").keys()
    zh = json.loads((LOCALES / "zh-CN" / "ivr.json").read_text())
    en = json.loads((LOCALES / "en" / "ivr.json").read_text())
    assert zh.keys() == en.keys()
    source = (LOCALES.parent / "flows.py").read_text()
    for code in {part.split('"')[0] for part in source.split('"validation.ivr_')[1:]}:
        assert f"validation.ivr_{code}" in zh


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_luhn_accepts_exactly_one_check_digit(body: str) -> None:
    assert sum(luhn_valid(body + str(digit)) for digit in range(10)) == 1


def test_capture_ids_and_case_numbers() -> None:
    assert not luhn_valid("123456") and luhn_valid("123455")  # the captured wrong and right ids
    assert case_digits_valid("202611240007") and not case_digits_valid("202611310007")
    assert not case_digits_valid("20261124007")
