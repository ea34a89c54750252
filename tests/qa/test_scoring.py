"""The scoring math on generated scorecards and answers (hypothesis), plus worked examples."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa.scoring import answer_problems, definition_problems, grade_for, score
from tests.qa.conftest import card_definition, perfect

BANDS = [
    {"grade": "优秀", "min_pct": 90},
    {"grade": "良好", "min_pct": 80},
    {"grade": "合格", "min_pct": 60},
    {"grade": "不合格", "min_pct": 0},
]
weights = st.floats(min_value=0.1, max_value=50, allow_nan=False, allow_infinity=False)


@st.composite
def items(draw: st.DrawFn, prefix: str) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["yes_no", "scale"]))
        out.append(
            {
                "key": f"{prefix}i{i}",
                "title": f"item {i}",
                "weight": draw(weights),
                "kind": kind,
                "scale_max": draw(st.integers(1, 10)) if kind == "scale" else None,
                "allow_na": draw(st.booleans()),
                "critical": draw(st.sampled_from(["none", "none", "none", "section", "evaluation"])),
            }
        )
    return out


@st.composite
def cards(draw: st.DrawFn) -> dict[str, Any]:
    sections = [
        {
            "key": f"s{s}",
            "title": f"section {s}",
            "weight": draw(weights),
            "critical": False,
            "items": draw(items(f"s{s}")),
        }
        for s in range(draw(st.integers(1, 4)))
    ]
    return {"sections": sections, "grade_bands": BANDS, "standard_score": draw(st.integers(1, 1000))}


@st.composite
def scored(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A card and answers: each item scored in its range, or N/A (None) where allowed."""
    card = draw(cards())
    answers: dict[str, Any] = {}
    for section in card["sections"]:
        for item in section["items"]:
            top = item["scale_max"] or 1
            choices = st.integers(0, top) | (st.just(None) if item["allow_na"] else st.integers(0, top))
            answers[item["key"]] = {"value": draw(choices), "evidence": "依据"}
    return card, answers


def _all_items(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in card["sections"] for item in section["items"]]


@settings(max_examples=150, deadline=None)
@given(scored())
def test_total_is_within_0_and_100_and_score_is_pct_times_standard(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    card, answers = case
    result = score(card, answers)
    if result.total_pct is None:
        assert all(answers[i["key"]]["value"] is None for i in _all_items(card))
        return
    assert 0 <= result.total_pct <= 100
    assert result.score == round(result.total_pct / 100 * card["standard_score"], 1)
    for section in result.sections:
        assert section.pct is None or 0 <= section.pct <= 100


@settings(max_examples=150, deadline=None)
@given(scored(), st.floats(min_value=0.01, max_value=100), st.floats(min_value=0.01, max_value=100))
def test_weights_are_scale_invariant(
    case: tuple[dict[str, Any], dict[str, Any]], item_factor: float, section_factor: float
) -> None:
    card, answers = case
    scaled = copy.deepcopy(card)
    for section in scaled["sections"]:
        section["weight"] *= section_factor
        for item in section["items"]:
            item["weight"] *= item_factor
    before, after = score(card, answers), score(scaled, answers)
    if before.total_pct is None:
        assert after.total_pct is None
    else:
        assert after.total_pct == pytest.approx(before.total_pct, abs=0.011)
    assert after.failed == before.failed
    assert after.failed_sections == before.failed_sections


@settings(max_examples=150, deadline=None)
@given(scored(), st.data())
def test_na_renormalisation_equals_dropping_the_item(
    case: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    card, answers = case
    na_items = [item for item in _all_items(card) if item["allow_na"]]
    assume(na_items)
    item = data.draw(st.sampled_from(na_items))
    with_na = {**answers, item["key"]: {"value": None, "evidence": ""}}
    dropped = copy.deepcopy(card)
    for section in dropped["sections"]:
        section["items"] = [i for i in section["items"] if i["key"] != item["key"]]
    dropped["sections"] = [s for s in dropped["sections"] if s["items"]]
    a, b = score(card, with_na), score(dropped, {k: v for k, v in with_na.items() if k != item["key"]})
    if a.total_pct is None or b.total_pct is None:
        assert a.total_pct == b.total_pct
    else:
        assert a.total_pct == pytest.approx(b.total_pct, abs=0.011)
    assert a.failed == b.failed


@settings(max_examples=150, deadline=None)
@given(scored())
def test_critical_items_fail_the_section_or_the_evaluation(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    card, answers = case
    result = score(card, answers)
    auto_fail = any(
        item["critical"] == "evaluation" and answers[item["key"]]["value"] == 0 for item in _all_items(card)
    )
    assert result.failed == auto_fail
    if auto_fail:
        assert result.total_pct == 0
        assert result.grade == "不合格"
    for section, section_result in zip(card["sections"], result.sections, strict=True):
        zeroed = any(
            item["critical"] in ("section", "evaluation") and answers[item["key"]]["value"] == 0
            for item in section["items"]
        )
        assert (section["key"] in result.failed_sections) == zeroed
        if zeroed:
            assert section_result.pct == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=6, unique=True),
    st.floats(min_value=0, max_value=100),
    st.floats(min_value=0, max_value=100),
)
def test_grade_bands_are_monotone(mins: list[float], a: float, b: float) -> None:
    floors = sorted({0.0, *mins}, reverse=True)
    bands = [{"grade": f"g{i}", "min_pct": m} for i, m in enumerate(floors)]
    rank = {f"g{i}": i for i in range(len(floors))}  # 0 = the best
    low, high = sorted((a, b))
    assert rank[grade_for(bands, high) or ""] <= rank[grade_for(bands, low) or ""]
    # the band given is the highest one reached
    grade = grade_for(bands, high)
    assert grade is not None
    reached = [i for i, floor in enumerate(floors) if high >= floor]
    assert grade == f"g{reached[0]}"


def test_worked_example_with_na_scale_and_section_critical() -> None:
    card = card_definition()
    # opening: greet 1 (w1), polite 3/5 (w1) → (1 + 0.6) / 2 = 80 %
    # compliance: identity 1 (w2), accuracy 1 (w1), notice N/A → 100 %
    result = score(card, perfect(polite={"value": 3, "evidence": "语气生硬"}, notice={"value": None}))
    assert [s.pct for s in result.sections] == [80.0, 100.0]
    assert result.total_pct == 92.0  # (40 × 80 + 60 × 100) / 100
    assert result.score == 92.0
    assert result.grade == "A"
    assert not result.failed
    # accuracy 0 is section-critical: compliance 0 → total = 40 × 80 / 100 = 32
    result = score(card, perfect(polite={"value": 3}, accuracy={"value": 0}))
    assert result.sections[1].pct == 0
    assert result.failed_sections == ["compliance"]
    assert result.total_pct == 32.0
    assert result.grade == "C"
    assert not result.failed


def test_auto_fail_and_standard_score() -> None:
    card = card_definition(standard_score=120)
    result = score(card, perfect(identity={"value": 0, "evidence": "未核实身份"}))
    assert (result.total_pct, result.score, result.grade, result.failed) == (0.0, 0.0, "C", True)
    result = score(card, perfect(greet={"value": 0}))  # opening 50 % → total 80 % → 96 of 120
    assert (result.total_pct, result.score, result.grade) == (80.0, 96.0, "B")


def test_a_section_all_na_drops_out_and_nothing_scored_gives_no_total() -> None:
    card = card_definition()
    card["sections"][0]["items"][0]["allow_na"] = True
    result = score(card, perfect(greet={"value": None}, polite={"value": None}, accuracy={"value": 0}))
    assert result.sections[0].pct is None
    assert result.total_pct == 0.0  # only the compliance section counts, and it is zeroed
    empty = score(card, {})
    assert (empty.total_pct, empty.score, empty.grade) == (None, None, None)


def test_answer_problems() -> None:
    card = card_definition()
    problems = answer_problems(
        card,
        perfect(
            greet={"value": 0, "evidence": "  "},
            polite={"value": 7},
            identity={"value": None},
            bogus={"value": 1},
        ),
        complete=True,
    )
    found = {(".".join(map(str, p.loc)), p.code) for p in problems}
    assert found == {
        ("answers.bogus", "validation.qa_unknown_item"),
        ("answers.greet.evidence", "validation.qa_evidence_required"),
        ("answers.polite.value", "validation.qa_value_range"),
        ("answers.identity.value", "validation.qa_na_not_allowed"),
    }
    # a draft may leave items open and deductions without evidence yet
    assert answer_problems(card, {"greet": {"value": 0, "evidence": ""}}, complete=False) == []
    missing = answer_problems(card, {"greet": {"value": 1, "evidence": ""}}, complete=True)
    assert {".".join(map(str, p.loc)) for p in missing} == {
        "answers.polite.value",
        "answers.identity.value",
        "answers.accuracy.value",
        "answers.notice.value",
    }


def test_definition_problems() -> None:
    card = card_definition()
    card["sections"][1]["items"][0]["key"] = "greet"
    card["sections"][1]["key"] = "opening"
    card["sections"][0]["items"][1]["scale_max"] = None
    card["grade_bands"] = [
        {"grade": "A", "min_pct": 60},
        {"grade": "A", "min_pct": 90},
        {"grade": "C", "min_pct": 10},
    ]
    found = {(".".join(map(str, p.loc)), p.code) for p in definition_problems(card)}
    assert found == {
        ("definition.sections.1.key", "validation.duplicate"),
        ("definition.sections.1.items.0.key", "validation.duplicate"),
        ("definition.sections.0.items.1.scale_max", "validation.missing"),
        ("definition.grade_bands.1.grade", "validation.duplicate"),
        ("definition.grade_bands.1.min_pct", "validation.qa_bands_descending"),
        ("definition.grade_bands.2.min_pct", "validation.qa_lowest_band_zero"),
    }
    assert definition_problems(card_definition()) == []
