"""The scoring math of a QA scorecard (评估表: 指标权重 / 得分 / 等级 / 得分依据 / 标准分), pure functions on
plain data: no database, no I/O.

A definition is ``{"sections": [{"key", "title", "weight", "critical", "items": [{"key", "title", "weight",
"kind": "yes_no" | "scale", "scale_max", "allow_na", "critical": "none" | "section" | "evaluation",
"guidance"}]}], "grade_bands": [{"grade", "min_pct"}], "standard_score"}``; answers are
``{item_key: {"value": int | None, "evidence": str}}`` (``None``, or an absent key, means N/A / not scored).

Rules:
- item pct = value / max (max = 1 for yes/no, ``scale_max`` for a scale);
- section pct = Σ w·pct / Σ w over the section's scored items (N/A items drop out: renormalised);
  ``None`` when every item is N/A;
- total = Σ section weight·pct / Σ weight over the sections that are not all N/A;
- an item with ``critical: "section"`` answered 0 makes its section 0; ``critical: "evaluation"`` answered 0
  makes the total 0 and the evaluation failed (auto-fail). A section's own ``critical`` flag marks it as
  holding critical criteria for the people reading the card; it changes no number;
- grade = the first band (sorted by ``min_pct`` descending) with total ≥ min_pct;
- score = total_pct / 100 × standard_score, rounded to 1 place (total_pct is rounded to 2 places first);
- every answer below the item's max needs non-blank evidence (得分依据), checked by
  :func:`answer_problems` when the evaluation is complete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from core.errors import FieldProblem


class ItemKind(StrEnum):
    YES_NO = "yes_no"  # 是/否: 1 = met, 0 = not met
    SCALE = "scale"  # 0..scale_max


class Critical(StrEnum):
    NONE = "none"
    SECTION = "section"  # answered 0: the section scores 0
    EVALUATION = "evaluation"  # answered 0: the whole evaluation fails (total 0)


@dataclass(frozen=True)
class SectionResult:
    key: str
    title: str
    weight: float
    pct: float | None  # None when every item of the section is N/A
    earned: float  # Σ item weight × item pct (0..1) over scored items
    possible: float  # Σ item weight over scored items
    failed: bool = False  # zeroed by a critical item


@dataclass(frozen=True)
class ScoreResult:
    total_pct: float | None  # 0..100, None when nothing could be scored (all N/A)
    score: float | None  # total_pct / 100 × standard score (标准分)
    grade: str | None
    failed: bool
    failed_sections: list[str] = field(default_factory=list)
    sections: list[SectionResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def item_max(item: Mapping[str, Any]) -> int:
    return int(item.get("scale_max") or 1) if item.get("kind") == ItemKind.SCALE else 1


def answer_value(answers: Mapping[str, Any], key: str) -> int | None:
    answer = answers.get(key)
    if answer is None:
        return None
    value = answer.get("value") if isinstance(answer, Mapping) else getattr(answer, "value", None)
    return None if value is None else int(value)


def grade_for(bands: Sequence[Mapping[str, Any]], total_pct: float) -> str | None:
    """The first band, highest ``min_pct`` first, whose ``min_pct`` the total reaches."""
    for band in sorted(bands, key=lambda b: float(b["min_pct"]), reverse=True):
        if total_pct >= float(band["min_pct"]):
            return str(band["grade"])
    return None


def score(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> ScoreResult:
    """The result of ``answers`` on ``definition`` (see the module's rules)."""
    sections: list[SectionResult] = []
    failed = False
    failed_sections: list[str] = []
    weighted = 0.0
    weights = 0.0
    for section in definition.get("sections", []):
        earned = possible = 0.0
        section_failed = False
        for item in section.get("items", []):
            value = answer_value(answers, item["key"])
            if value is None:
                continue
            pct = min(max(value / item_max(item), 0.0), 1.0)
            weight = float(item["weight"])
            earned += weight * pct
            possible += weight
            if value == 0 and item.get("critical") == Critical.SECTION:
                section_failed = True
            if value == 0 and item.get("critical") == Critical.EVALUATION:
                section_failed = True
                failed = True
        if section_failed:
            earned = 0.0
            failed_sections.append(section["key"])
        section_pct = None if possible == 0 else round(100.0 * earned / possible, 2)
        sections.append(
            SectionResult(
                key=section["key"],
                title=section.get("title", ""),
                weight=float(section["weight"]),
                pct=section_pct,
                earned=round(earned, 4),
                possible=round(possible, 4),
                failed=section_failed,
            )
        )
        if possible > 0:
            weighted += float(section["weight"]) * earned / possible
            weights += float(section["weight"])
    if failed:
        total: float | None = 0.0
    elif weights == 0:
        total = None
    else:
        total = round(min(max(100.0 * weighted / weights, 0.0), 100.0), 2)
    standard = definition.get("standard_score") or 100
    return ScoreResult(
        total_pct=total,
        score=None if total is None else round(total / 100.0 * float(standard), 1),
        grade=None if total is None else grade_for(definition.get("grade_bands", []), total),
        failed=failed,
        failed_sections=failed_sections,
        sections=sections,
    )


def items_of(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every item of the card by key (keys are unique across the card)."""
    return {item["key"]: item for section in definition.get("sections", []) for item in section["items"]}


def definition_problems(definition: Mapping[str, Any]) -> list[FieldProblem]:
    """Checks a shape-valid definition can be scored: unique section and item keys across the card, a
    ``scale_max`` on scale items, grade bands unique, strictly descending and ending at 0 (every total has
    a grade). Paths start with ``definition``."""
    problems: list[FieldProblem] = []
    seen_sections: set[str] = set()
    seen_items: set[str] = set()
    for s, section in enumerate(definition.get("sections", [])):
        if section["key"] in seen_sections:
            problems.append(
                FieldProblem(
                    ("definition", "sections", s, "key"), "validation.duplicate", value=section["key"]
                )
            )
        seen_sections.add(section["key"])
        for i, item in enumerate(section.get("items", [])):
            where = ("definition", "sections", s, "items", i)
            if item["key"] in seen_items:
                problems.append(FieldProblem((*where, "key"), "validation.duplicate", value=item["key"]))
            seen_items.add(item["key"])
            if item.get("kind") == ItemKind.SCALE and not item.get("scale_max"):
                problems.append(FieldProblem((*where, "scale_max"), "validation.missing"))
    bands = definition.get("grade_bands", [])
    grades: set[str] = set()
    for b, band in enumerate(bands):
        if band["grade"] in grades:
            problems.append(
                FieldProblem(
                    ("definition", "grade_bands", b, "grade"), "validation.duplicate", value=band["grade"]
                )
            )
        grades.add(band["grade"])
        if b > 0 and float(band["min_pct"]) >= float(bands[b - 1]["min_pct"]):
            problems.append(
                FieldProblem(("definition", "grade_bands", b, "min_pct"), "validation.qa_bands_descending")
            )
    if bands and float(bands[-1]["min_pct"]) != 0:
        problems.append(
            FieldProblem(
                ("definition", "grade_bands", len(bands) - 1, "min_pct"), "validation.qa_lowest_band_zero"
            )
        )
    return problems


def answer_problems(
    definition: Mapping[str, Any], answers: Mapping[str, Any], *, complete: bool
) -> list[FieldProblem]:
    """Checks answers against the card: known items, values in range, N/A only where allowed. With
    ``complete`` (submitting, rescoring) every item must be answered (a value or N/A), every deduction needs
    evidence, and at least one item must be scored. Paths are ``answers.<item_key>.value|evidence``."""
    items = items_of(definition)
    problems: list[FieldProblem] = []
    for key in answers:
        if key not in items:
            problems.append(FieldProblem(("answers", key), "validation.qa_unknown_item", value=key))
    scored = 0
    for key, item in items.items():
        answer = answers.get(key)
        if answer is None:
            if complete:
                problems.append(FieldProblem(("answers", key, "value"), "validation.missing"))
            continue
        value = answer_value(answers, key)
        evidence = (
            answer.get("evidence") if isinstance(answer, Mapping) else getattr(answer, "evidence", None)
        )
        top = item_max(item)
        if value is None:
            # in a draft a null is "not scored yet"; on submit it is N/A, allowed only where the card says
            if complete and not item.get("allow_na"):
                problems.append(FieldProblem(("answers", key, "value"), "validation.qa_na_not_allowed"))
            continue
        scored += 1
        if not 0 <= value <= top:
            problems.append(FieldProblem(("answers", key, "value"), "validation.qa_value_range", max=top))
        elif complete and value < top and not (evidence or "").strip():
            problems.append(FieldProblem(("answers", key, "evidence"), "validation.qa_evidence_required"))
    if complete and not problems and scored == 0:
        problems.append(FieldProblem(("answers",), "validation.qa_nothing_scored"))
    return problems
