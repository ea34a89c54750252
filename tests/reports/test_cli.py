"""``callcenter report summary``: one JSON object of the issue's shape, CSV to stdout, XLSX to --output."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from acd.records.replay import replay_folder
from core.config import Settings
from reports.cli import add_report_parser
from tests.acd_records.truth import FIXTURES

QUEUE_KEYS = {
    "offered",
    "answered",
    "abandoned",
    "exit_with_timeout",
    "exit_empty",
    "service_level",
    "asa_s",
    "aht_s",
}
SL_KEYS = {"threshold_s", "answered_within_threshold", "pct_of_answered", "pct_of_offered"}
AGENT_KEYS = {"offers", "answered_within_3_rings", "missed", "three_ring_compliance_pct"}


def run(argv: list[str], tmp_path: Path) -> int:
    parser = argparse.ArgumentParser(prog="callcenter")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args, Settings(data_dir=tmp_path)))


@pytest.fixture
def url(tmp_path: Path) -> str:
    # the replayed capture only (no aggregates yet): the command brings them up to date itself
    database = f"sqlite:///{tmp_path / 'replay.db'}"
    replay_folder(FIXTURES / "answered", database, translate=None)
    return database


def test_json_is_one_object_of_the_issue_shape(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["report", "summary", "--db", url, "--format", "json"], tmp_path) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    result = json.loads(out)
    assert set(result) == {"queues", "agents"}
    assert set(result["queues"]) == {"support"}
    support = result["queues"]["support"]
    assert set(support) == QUEUE_KEYS and set(support["service_level"]) == SL_KEYS
    assert (support["offered"], support["answered"]) == (8, 8)
    assert all(set(a) == AGENT_KEYS for a in result["agents"].values())
    assert result["agents"]["Alice"] == {
        "offers": 5,
        "answered_within_3_rings": 0,
        "missed": 5,
        "three_ring_compliance_pct": 0.0,
    }
    # a period without calls: empty, same shape
    assert (
        run(["report", "summary", "--db", url, "--from", "2026-11-24", "--to", "2026-11-30"], tmp_path) == 0
    )
    assert json.loads(capsys.readouterr().out) == {"queues": {}, "agents": {}}


def test_csv_and_xlsx(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "summary", "--db", url, "--format", "csv", "--language", "en"], tmp_path) == 0
    lines = capsys.readouterr().out.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Kind,Name,offered,answered")
    assert lines[1].startswith("queue,support,8,8,")
    assert len(lines) == 1 + 1 + 4  # header, one queue, four agents

    assert run(["report", "summary", "--db", url, "--format", "xlsx"], tmp_path) == 2  # needs --output
    target = tmp_path / "summary.xlsx"
    assert run(["report", "summary", "--db", url, "--format", "xlsx", "--output", str(target)], tmp_path) == 0
    book = load_workbook(io.BytesIO(target.read_bytes()))
    assert book.sheetnames[1] == "定义"
    codes = [row[0] for row in book["定义"].iter_rows(min_row=2, values_only=True)]
    assert "service_level_pct" in codes and "three_ring_compliance_pct" in codes


def test_from_after_to_is_refused(url: str, tmp_path: Path) -> None:
    assert (
        run(["report", "summary", "--db", url, "--from", "2026-11-24", "--to", "2026-11-23"], tmp_path) == 2
    )


def test_thresholds_come_from_queues_conf_unless_overridden(tmp_path: Path) -> None:
    from reports.aggregates import ReportConfig

    conf = tmp_path / "queues.conf"
    conf.write_text("[support]\nservicelevel=30\n[vip]\nservicelevel=10\n")
    config = ReportConfig.of(
        Settings(data_dir=tmp_path, queues_conf=conf, service_level_thresholds={"vip": 15})
    )
    assert (config.threshold_s("support"), config.threshold_s("vip"), config.threshold_s("other")) == (
        30,
        15,
        20,
    )
