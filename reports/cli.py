"""``callcenter report summary --db URL [--from DATE --to DATE] --format json|csv|xlsx [--output FILE]``.

Brings the aggregates of the database up to date first (one maintainer step: a database never summarised
before is aggregated in full), then prints the summary: JSON (one object, the issue's shape) or CSV to
stdout, XLSX to ``--output`` (queues, agents and the definitions on sheets of their own).

Wiring in ``callcenter/cli.py``'s ``build_parser`` (after the other subcommands)::

    from reports.cli import add_report_parser
    add_report_parser(commands)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from core import i18n
from core.config import Settings
from core.tabular import Column, write_table

__all__ = ["add_report_parser", "cmd_report_summary", "summary_table"]

QUEUE_COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "exit_with_timeout",
    "exit_empty",
    "threshold_s",
    "answered_within_threshold",
    "pct_of_answered",
    "pct_of_offered",
    "asa_s",
    "aht_s",
)
AGENT_COLUMNS = ("offers", "answered_within_3_rings", "missed", "three_ring_compliance_pct")


def add_report_parser(subparsers: Any) -> None:
    report = subparsers.add_parser("report", help="call reports from the durable call records")
    commands = report.add_subparsers(dest="report_command", required=True)
    summary = commands.add_parser("summary", help="per-queue and per-agent summary of a period")
    summary.add_argument("--db", help="SQLAlchemy URL (default: the configured database)")
    summary.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    summary.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (YYYY-MM-DD)")
    summary.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
    summary.add_argument("--output", type=Path, help="file to write (required for xlsx)")
    summary.add_argument("--language", choices=list(i18n.LANGUAGES), default="zh-CN")
    summary.set_defaults(handler=cmd_report_summary)


def summary_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary flattened to one row per queue and per agent (``kind`` tells which)."""
    rows: list[dict[str, Any]] = []
    for name, q in summary["queues"].items():
        rows.append(
            {
                "kind": "queue",
                "name": name,
                **{k: v for k, v in q.items() if k != "service_level"},
                **q["service_level"],
            }
        )
    for name, a in summary["agents"].items():
        rows.append({"kind": "agent", "name": name, **a})
    return rows


def cmd_report_summary(args: argparse.Namespace, settings: Settings) -> int:
    from core.db import Base, make_engine, make_session_factory, transaction
    from reports import models
    from reports.aggregates import ReportConfig, refresh
    from reports.measures import definitions
    from reports.queries import summary

    if args.format == "xlsx" and args.output is None:
        print("--output FILE is required for xlsx", file=sys.stderr)
        return 2
    if args.start and args.end and args.start > args.end:
        print("--from is after --to", file=sys.stderr)
        return 2
    i18n.register_catalog_dir(Path(models.__file__).parent / "locales")
    config = ReportConfig.of(settings)
    engine = make_engine(args.db or settings.resolved_database_url)
    try:
        # the reports' own tables (the call records must exist: migrated or replayed)
        tables = [Base.metadata.tables[name] for name in Base.metadata.tables if name.startswith("reports_")]
        Base.metadata.create_all(engine, tables=tables)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            refresh(session, config)
        with transaction(factory) as session:
            result = summary(session, start=args.start, end=args.end, settings=config)
    finally:
        engine.dispose()
    if args.format == "json":
        text = json.dumps(result, ensure_ascii=False)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    language = args.language
    columns = [
        Column("kind", i18n.translate("reports.kind", language)),
        Column("name", i18n.translate("reports.name", language)),
    ]
    columns += [Column(key, key) for key in (*QUEUE_COLUMNS, *AGENT_COLUMNS)]
    rows = summary_table(result)
    if args.format == "csv":
        data = write_table(rows, columns, "csv")
        if args.output:
            args.output.write_bytes(data)
        else:
            sys.stdout.write(data.decode("utf-8"))
        return 0
    sheets = {
        i18n.translate("reports.definitions_sheet", language): [
            ["code", "label", "formula"],
            *([d["code"], d["label"], d["formula"]] for d in definitions(language)),
        ]
    }
    args.output.write_bytes(write_table(rows, columns, "xlsx", sheets=sheets))
    return 0
