"""The QA pages' words: every message key qa.js names is in both catalogs, keys it builds from values (a
status, a rule kind …) exist for every value the API can send, and qa_ui.json takes no key of another
catalog (the merge would decide silently which one shows)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qa.models import AssignmentStatus, DisputeOutcome, EvaluationStatus
from qa.results import ResultGroup
from qa.sampling_models import SamplingRuleKind
from qa.scoring import Critical, ItemKind

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "agent_desktop" / "ui" / "qa.js").read_text(encoding="utf-8")
LANGUAGES = ("zh-CN", "en")


def catalog(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(
        (ROOT / "agent_desktop" / "locales" / language / "qa_ui.json").read_text(encoding="utf-8")
    )
    return data


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_literal_key_is_translated(language: str) -> None:
    keys = set(re.findall(r"'(ui\.qa\.[a-z0-9_.]+)'", SCRIPT))
    assert len(keys) > 100
    assert sorted(keys - set(catalog(language))) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_keys_built_from_values_exist(language: str) -> None:
    messages = catalog(language)
    families = {
        "ui.qa.status.": [*EvaluationStatus, *AssignmentStatus],
        "ui.qa.outcome.": list(DisputeOutcome),
        "ui.qa.kind.": list(ItemKind),
        "ui.qa.critical_opt.": list(Critical),
        "ui.qa.rule_kind.": list(SamplingRuleKind),
        "ui.qa.why.": [*SamplingRuleKind, "manual", "calibration"],
        "ui.qa.group_by.": list(ResultGroup),
        "ui.qa.channel.": ["caller", "agent", "mixed"],
        "ui.qa.calibration_filter.": ["all", "open", "done"],
    }
    missing = [prefix + str(value) for prefix, values in families.items() for value in values]
    assert [key for key in missing if key not in messages] == []
    for prefix in families:
        assert f"`{prefix}${{" in SCRIPT, f"qa.js no longer builds {prefix}…: update this test"


def test_chinese_is_chinese_and_english_is_not() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    assert zh.keys() == en.keys()
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert [k for k, v in zh.items() if not chinese.search(v)] == []
    assert [k for k, v in en.items() if chinese.search(v)] == []
    assert zh["ui.qa.evidence"] == "扣分依据" and zh["ui.qa.sc.standard_score"] == "标准分"


def test_no_key_of_another_catalog_is_taken() -> None:
    ours = set(catalog("zh-CN"))
    clashes = []
    for path in ROOT.glob("**/locales/zh-CN/*.json"):
        if path.name == "qa_ui.json" or ".venv" in path.parts or "node_modules" in path.parts:
            continue
        clashes += [f"{path.relative_to(ROOT)}: {key}" for key in ours & set(json.loads(path.read_text()))]
    assert clashes == []
