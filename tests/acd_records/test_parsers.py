"""queue_log, CDR, CEL and queues.conf parsing: the fixtures read whole, broken lines counted and skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from acd.records.cdr import CsvStats, parse_cdr, parse_cel, parse_time
from acd.records.models import PbxCall, PbxChannel
from acd.records.queue_log import QueueLogStats, parse_queue_log, parse_queues_conf
from acd.records.service import ingest_cdr, ingest_cel, ingest_queue_log
from core.db import Base, make_engine, make_session_factory
from tests.acd_records.truth import FIXTURES

FIELD = st.text(
    alphabet=st.characters(blacklist_characters="|\r\n", blacklist_categories=["Cs"]), max_size=12
)


def test_queue_log_fixture_lines() -> None:
    stats = QueueLogStats()
    entries = list(parse_queue_log((FIXTURES / "transfer" / "queue_log").read_text(), stats))
    assert (stats.lines, stats.malformed, len(entries)) == (16, 0, 16)
    transfer = entries[8]
    assert (transfer.verb, transfer.callid, transfer.queue, transfer.agent) == (
        "BLINDTRANSFER",
        "1795401089.0",
        "support",
        "Bob",
    )
    assert transfer.data == ("700", "from-internal", "2", "8", "1")
    assert transfer.at == datetime(2026, 11, 23, 2, 31, 39, tzinfo=UTC)
    assert transfer.int_field(4) == 8 and transfer.field(9) == "" and transfer.int_field(1) == 700


def test_queue_log_malformed_lines_are_counted() -> None:
    text = "\n".join(
        [
            "1795400357|1795400357.0|support|NONE|ENTERQUEUE||13800138001|1",
            "garbage without pipes",
            "notanepoch|x|support|NONE|ENTERQUEUE||1|1",
            "1795400358|x|support",
            "",
            "1795400372|1795400357.0|support|Alice|RINGNOANSWER|15000",
        ]
    )
    stats = QueueLogStats()
    verbs = [entry.verb for entry in parse_queue_log(text, stats)]
    assert verbs == ["ENTERQUEUE", "RINGNOANSWER"]
    assert (stats.lines, stats.malformed) == (5, 3)


@given(st.integers(0, 4_000_000_000), st.lists(FIELD, min_size=4, max_size=9))
def test_queue_log_line_round_trip(epoch: int, fields: list[str]) -> None:
    fields[3] = fields[3] or "VERB"
    line = "|".join([str(epoch), *fields])
    stats = QueueLogStats()
    entries = list(parse_queue_log(line, stats))
    assert stats.malformed == 0 and len(entries) == 1
    entry = entries[0]
    assert int(entry.at.timestamp()) == epoch
    assert (entry.callid, entry.queue, entry.agent, entry.verb) == (*fields[:3], fields[3].upper())
    assert list(entry.data) == fields[4:]


@given(st.text(max_size=300))
def test_parsers_never_raise_and_count_every_line(text: str) -> None:
    qstats, cdr_stats, cel_stats = QueueLogStats(), CsvStats(), CsvStats()
    counted = [
        (len(list(parse_queue_log(text, qstats))), qstats.lines, qstats.malformed),
        (len(list(parse_cdr(text, cdr_stats))), cdr_stats.lines, cdr_stats.malformed),
        (len(list(parse_cel(text, cel_stats))), cel_stats.lines, cel_stats.malformed),
    ]
    lines = sum(1 for line in text.split("\n") if line.rstrip("\r").strip())
    for parsed, seen, malformed in counted:
        assert seen == lines and parsed + malformed == lines


def test_cdr_fixture_rows() -> None:
    stats = CsvStats()
    rows = list(parse_cdr((FIXTURES / "transfer" / "cdr.csv").read_text(), stats))
    assert (stats.lines, stats.malformed) == (4, 0)
    first = rows[0]
    assert first.clid == '"Deng Chao" <13500135001>'  # doubled quotes inside a quoted field
    assert (first.src, first.dst, first.lastapp, first.lastdata) == (
        "13500135001",
        "700",
        "Queue",
        "support,t",
    )
    assert first.start == datetime(2026, 11, 23, 2, 31, 29, tzinfo=UTC)
    assert (first.duration_s, first.billsec_s, first.disposition) == (10, 10, "ANSWERED")
    assert (first.uniqueid, first.linkedid, first.userfield, first.queue) == (
        "1795401089.0",
        "1795401089.0",
        "q:support",
        "support",
    )
    assert [row.queue for row in rows] == ["support", "support", "support", "complaints"]


def test_cdr_without_userfield_names_the_queue_from_lastapp() -> None:
    line = ",".join(
        [
            '"","139","600","q","""X"" <139>","PJSIP/a-1","PJSIP/b-2","Queue","sales,t,,,60"',
            '"2026-11-23 02:00:00","","2026-11-23 02:00:05",5,0,"NO ANSWER","DOCUMENTATION","1.1",""',
        ]
    )
    (row,) = parse_cdr(line)
    assert (row.queue, row.linkedid, row.answer) == (
        "sales",
        "1.1",
        None,
    )  # no newcdrcolumns: linkedid = uniqueid


def test_cel_fixture_rows_and_bad_lines() -> None:
    text = (FIXTURES / "answered" / "cel.csv").read_text()
    broken = "\n".join(
        [
            '"CHAN_START","not a time","x","1","","","","600","c","PJSIP/x-1","","","D","","9.9","9.9"',
            '"unterminated,"quote',
            '"too","few"',
            "",
        ]
    )
    stats = CsvStats()
    rows = list(parse_cel(text + broken, stats))
    good = len(text.splitlines())
    assert (stats.lines, stats.malformed, len(rows)) == (good + 3, 3, good)
    moh = next(row for row in rows if row.event == "STREAM_BEGIN")
    assert moh.extra == '{"class":"default"}' and moh.userdeftype == "MOH_STREAM_BEGIN"
    agent = next(row for row in rows if row.uniqueid == "1795400357.1")
    assert (agent.channel, agent.linkedid, agent.caller_name) == (
        "PJSIP/1001-00000001",
        "1795400357.0",
        "Agent Alice",
    )


def test_parse_time_forms() -> None:
    assert parse_time("2026-11-23 02:19:17") == datetime(2026, 11, 23, 2, 19, 17, tzinfo=UTC)
    assert parse_time("1795400357.840000") == datetime(2026, 11, 23, 2, 19, 17, 840000, tzinfo=UTC)
    assert parse_time(" ") is None


def test_queues_conf_of_the_lab() -> None:
    queues = parse_queues_conf((FIXTURES / "conf" / "queues.conf").read_text())
    assert set(queues) == {
        "support",
        "complaints",
        "sales",
        "priority",
        "penalty",
        "ringall",
        "billing",
        "retention",
    }
    support = queues["support"]
    assert (support.service_level_s, support.wrapup_s, support.records) == (20, 5, True)
    assert support.members == {
        "Alice": "PJSIP/1001",
        "Bob": "PJSIP/1002",
        "Carol": "PJSIP/1003",
        "Dave": "PJSIP/1004",
    }
    assert queues["penalty"].members["Dave"] == "PJSIP/1004"
    assert queues["sales"].wrapup_s is None and not queues["ringall"].records
    odd = parse_queues_conf(
        "[tmpl](!)\nservicelevel=5\n[q1](tmpl)\nservicelevel = 30 ; comment\nmember => SIP/9\n"
    )
    assert list(odd) == ["q1"] and odd["q1"].service_level_s == 30 and odd["q1"].members == {"SIP/9": "SIP/9"}


def test_ingest_counts_malformed_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        cel = ingest_cel(session, (FIXTURES / "ivr" / "cel.csv").read_text() + '"HANGUP","bad"\n')
        assert (cel.items, cel.malformed, cel.calls_created) == (66, 1, 3)
        cdr = ingest_cdr(session, 'x,"y\n' + (FIXTURES / "ivr" / "cdr.csv").read_text())
        assert (cdr.malformed, cdr.calls_created) == (1, 0)
        qlog = ingest_queue_log(session, "oops\n" + (FIXTURES / "ivr" / "queue_log").read_text())
        assert (qlog.malformed, qlog.legs_created, qlog.attempts_created) == (1, 2, 2)
        assert len(session.scalars(select(PbxChannel)).all()) == 5
        wu = session.scalars(select(PbxCall).where(PbxCall.linkedid == "1795400085.2")).one()
        # the caller who hung up in the IVR menu: a call with start, end and number, but no queue
        assert (wu.caller_number, wu.called_number, wu.queue, wu.outcome) == (
            "+8613900139003",
            "500",
            None,
            None,
        )
        assert wu.started_at is not None and wu.ended_at is not None


def test_queues_conf_templates_are_inherited() -> None:
    from pathlib import Path

    from acd.records.queue_log import parse_queues_conf

    deploy = Path(__file__).resolve().parents[2] / "deploy" / "asterisk" / "queues.conf"
    queues = parse_queues_conf(deploy.read_text())
    assert set(queues) == {"support", "billing", "complaints", "sales"}  # the template is not a queue
    assert queues["support"].service_level_s == 20 and queues["support"].wrapup_s == 10
    assert queues["complaints"].wrapup_s == 30  # its own setting wins over the template's
    assert queues["support"].records is True
    text = "[t](!)\nwrapuptime=7\n[u](!)\nservicelevel=30\n[q](t,u)\nmember => PJSIP/1,0,Ann,PJSIP/1\n"
    q = parse_queues_conf(text)["q"]
    assert (q.wrapup_s, q.service_level_s, q.members) == (7, 30, {"Ann": "PJSIP/1"})
