"""The caller's IVR path in the agent's screen pop: the menu keys with their captions (3 投诉), the digits
typed, the customer the IVR identified, self-service; found by the call's linkedid (so also on a second
leg) with one indexed query; and the desktop's catalogs have the words for it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from acd.events import AgentRinging
from agent_desktop.screen_pop import build_pop, ivr_of_call
from core.customers.models import CustomerGrade
from core.db import transaction
from core.people.models import User
from core.security.roles import Role
from ivr.models import IvrOutcome
from ivr.server import FastAgiServer
from ivr.service import SessionRecord, record_session
from tests.ivr.capture import ScriptedCaller
from tests.ivr.conftest import CAPTURE_TIME, AddCustomer

ROOT = Path(__file__).resolve().parents[2]
LINKEDID = "1795400555.10"


def bob(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        user = User(
            username="bob", full_name="Bob", role=Role.AGENT, password_hash="x", pbx_interface="PJSIP/1002"
        )
        session.add(user)
        session.flush()
        return user.id


def ringing(linkedid: str, uniqueid: str) -> AgentRinging:
    return AgentRinging(
        at=CAPTURE_TIME,
        linkedid=linkedid,
        uniqueid=uniqueid,
        queue="support",
        agent="Bob",
        interface="PJSIP/1002",
        agent_channel="PJSIP/1002-00000009",
        agent_uniqueid="1795400560.12",
    )


def pop(factory: sessionmaker[Session], linkedid: str, uniqueid: str) -> dict[str, Any]:
    built = build_pop(factory, ringing(linkedid, uniqueid), caller_number="13900139001", joined=None)
    assert built is not None
    return built[1]


async def test_the_pop_shows_the_callers_keys_the_id_typed_and_the_customer(
    server: FastAgiServer, factory: sessionmaker[Session], add_customer: AddCustomer
) -> None:
    bob(factory)
    add_customer(CustomerGrade.AA, code="C123455")
    # menu 9 (invalid), then 1, a wrong check digit, the right id: the support queue
    caller = ScriptedCaller(["9", "1", "123456", "123455"], args=(LINKEDID,))
    await caller.run("127.0.0.1", server.port)
    # the agent's phone rings on a later leg of the call (a transfer): another uniqueid, same linkedid
    frame = pop(factory, LINKEDID, "1795400600.20")
    assert frame["ivr"] == {
        "choices": [{"digit": "1", "caption": "account"}],
        "entered": ["123455"],
        "customer_code": "C123455",
        "identified_by": "customer_by_id",
        "self_service": False,
        "outcome": "to_queue",
        "queue": "support",
        "queue_priority": 6,
    }
    assert frame["ivr_path"] == "1"


def add_session(factory: sessionmaker[Session], **fields: Any) -> None:
    values: dict[str, Any] = {
        "script": "ivr",
        "started_at": CAPTURE_TIME,
        "ended_at": CAPTURE_TIME + timedelta(seconds=20),
        "outcome": IvrOutcome.TO_QUEUE,
        **fields,
    }
    with transaction(factory) as session:
        record_session(session, record=SessionRecord(**values))


def test_self_service_captions_and_the_latest_ivr_session_of_the_call(factory: sessionmaker[Session]) -> None:
    bob(factory)
    path = [
        {
            "step": "identify",
            "kind": "lookup",
            "result": "found",
            "input": "C900001",
            "target": "customer_by_caller",
        },
        {"step": "main", "kind": "menu", "result": "invalid", "input": "7"},
        {"step": "main", "kind": "menu", "result": "ok", "input": "2", "caption": "case_status"},
        {"step": "enter_case", "kind": "input", "result": "ok", "input": "202611240007"},
        {
            "step": "case_status",
            "kind": "lookup",
            "result": "found",
            "input": "closed",
            "target": "complaint_status",
        },
        {"step": "again", "kind": "menu", "result": "ok", "input": "3", "caption": "complaint"},
        {"step": "complaints", "kind": "route", "result": "ok", "input": "complaints"},
    ]
    add_session(
        factory, linkedid="L1", uniqueid="L1", path=path[:1], started_at=CAPTURE_TIME - timedelta(hours=1)
    )
    add_session(factory, linkedid="L1", uniqueid="L1", path=path, queue="complaints")
    add_session(factory, linkedid="L1", uniqueid="L1", script="survey", path=[], outcome=IvrOutcome.HANGUP)
    frame = pop(factory, "L1", "L1")
    ivr = frame["ivr"]
    assert ivr["choices"] == [
        {"digit": "2", "caption": "case_status"},
        {"digit": "3", "caption": "complaint"},
    ]
    assert (ivr["customer_code"], ivr["identified_by"]) == ("C900001", "customer_by_caller")
    assert ivr["entered"] == ["202611240007"]
    assert ivr["self_service"] is True and ivr["queue"] == "complaints"
    assert frame["ivr_path"] == "2>3"
    # found by the caller's uniqueid when the linkedid differs (an IVR before the linkedid argument)
    add_session(factory, linkedid="OLD", uniqueid="U9", path=path[5:6])
    assert pop(factory, "NEW", "U9")["ivr"]["choices"] == [{"digit": "3", "caption": "complaint"}]


def test_a_call_that_did_not_come_through_the_ivr_has_no_ivr_in_its_pop(
    factory: sessionmaker[Session],
) -> None:
    bob(factory)
    frame = pop(factory, "1795400999.1", "1795400999.1")
    assert frame["ivr"] is None and frame["ivr_path"] is None


def test_the_ivr_part_of_the_pop_is_one_indexed_query(factory: sessionmaker[Session]) -> None:
    add_session(factory, linkedid="L2", uniqueid="L2", path=[])
    engine = factory.kw["bind"]
    statements: list[tuple[str, Any]] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        with factory() as session:
            assert ivr_of_call(session, linkedid="L2", uniqueid="L2") is not None
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    [(query, parameters)] = statements
    with engine.connect() as conn:
        plan = " | ".join(
            str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query, parameters)
        )
    assert "ix_ivr_sessions_linkedid" in plan and "ix_ivr_sessions_uniqueid" in plan, plan


def test_the_desktop_has_words_for_the_ivr_in_both_languages() -> None:
    keys = {
        "ui.desk.ivr_no_choice",
        "ui.desk.ivr_customer_typed",
        "ui.desk.ivr_customer_by_number",
        "ui.desk.ivr_entered",
        "ui.desk.ivr_self_service",
    }
    captions = {"account", "case_status", "complaint", "sales", "billing", "agent"}
    for language in ("zh-CN", "en"):
        desk = json.loads((ROOT / "agent_desktop" / "locales" / language / "desktop.json").read_text())
        assert keys <= desk.keys()
        ivr = json.loads((ROOT / "ivr" / "locales" / language / "ivr.json").read_text())
        assert {f"ivr.choice.{c}" for c in captions} <= ivr.keys()
    script = (ROOT / "agent_desktop" / "ui" / "desktop.js").read_text()
    assert all(key in script for key in keys) and "ivr.choice." in script
