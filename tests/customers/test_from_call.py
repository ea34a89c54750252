"""The unknown caller's file from the agent's screen pop (``POST /api/customers/from-call``): the agent sends
the call's linkedid, never the number (they see it masked); the server fills it in from ``pbx_calls`` or
the live state, and only for the agent's own current call — anyone else's is 403 with an audit row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.records.models import QueueLeg
from core.audit.service import Actor
from core.calls.models import PbxCall
from core.clock import utcnow
from core.customers import service
from core.customers.models import Customer, CustomerPhone, PhoneLabel
from core.customers.schemas import CustomerFromCall
from core.people.models import User
from core.security.roles import Role
from tests.conftest import LoginAs, MakeUser
from tests.customers.helpers import audit_rows, field_errors

AGENT_PHONE = "PJSIP/1005"
CALLER = "+8613700137001"


def add_call(
    db: Session,
    linkedid: str,
    *,
    agent: User | None = None,
    caller: str | None = CALLER,
    started_ago: timedelta = timedelta(minutes=3),
    ended_ago: timedelta | None = None,
) -> PbxCall:
    now = utcnow()
    call = PbxCall(
        linkedid=linkedid,
        uniqueid=linkedid,
        caller_number=caller,
        agent_id=agent.id if agent else None,
        queue="complaints",
        started_at=now - started_ago,
        answered_at=now - started_ago + timedelta(seconds=5),
        ended_at=None if ended_ago is None else now - ended_ago,
    )
    db.add(call)
    db.commit()
    return call


def body(linkedid: str, **extra: Any) -> dict[str, Any]:
    return {"name": "马林", "grade": "B", "pbx_linkedid": linkedid, **extra}


def phones_of(db: Session, customer_id: int) -> list[tuple[str, PhoneLabel, bool]]:
    db.expire_all()
    rows = db.scalars(
        select(CustomerPhone).where(CustomerPhone.customer_id == customer_id).order_by(CustomerPhone.id)
    )
    return [(p.number, p.label, p.is_primary) for p in rows]


@pytest.fixture
def agent(login_as: LoginAs) -> Any:
    return login_as(Role.AGENT, full_name="王芳", pbx_interface=AGENT_PHONE)


def test_the_callers_number_is_filled_in_from_the_call(agent: Any, db: Session) -> None:
    add_call(db, "1795400369.2", agent=agent.user)
    response = agent.post("/api/customers/from-call", json=body("1795400369.2"))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["name"] == "马林"
    [phone] = out["phones"]
    assert phone["masked"] and phone["number"] == "137****7001" and phone["e164"] is None  # still masked
    assert phones_of(db, out["id"]) == [(CALLER, PhoneLabel.MOBILE, True)]
    [created] = audit_rows(db, "customer.create", object_id=str(out["id"]))
    assert created.user_id == agent.user.id
    detail = created.detail or {}
    assert (detail["phone_from_call"], detail["caller_number_added"]) == ("1795400369.2", True)


def test_a_call_answered_on_the_agents_phone_counts_and_typed_numbers_come_first(
    agent: Any, db: Session
) -> None:
    call = add_call(db, "1795400379.5", ended_ago=timedelta(minutes=10))  # wrap-up: ended 10 min ago
    db.add(
        QueueLeg(
            call_id=call.id,
            linkedid=call.linkedid,
            uniqueid=call.uniqueid,
            queue="complaints",
            joined_at=utcnow() - timedelta(minutes=4),
            answered_at=utcnow() - timedelta(minutes=3),
            interface=AGENT_PHONE,
            agent="王芳",
        )
    )
    db.commit()
    typed = [
        {"number": "010-6275 1234", "label": "office", "is_primary": True},
        {"number": "137 0013 7001"},  # the caller's own number typed again: not twice
    ]
    response = agent.post("/api/customers/from-call", json=body("1795400379.5", phones=typed))
    assert response.status_code == 201, response.text
    assert phones_of(db, response.json()["id"]) == [
        ("+861062751234", PhoneLabel.OFFICE, True),
        (CALLER, PhoneLabel.MOBILE, False),
    ]


def test_someone_elses_call_is_refused_and_audited(
    agent: Any, db: Session, make_user: MakeUser, login_as: LoginAs
) -> None:
    other = make_user(Role.AGENT, full_name="李雷", pbx_interface="PJSIP/1002")
    add_call(db, "1795400400.7", agent=other)
    for linkedid in ("1795400400.7", "no-such-call"):
        response = agent.post("/api/customers/from-call", json=body(linkedid))
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "error.not_your_call"
        assert response.json()["message"] == "这不是您的通话，不能操作"
    refusals = audit_rows(db, "auth.forbidden", user_id=agent.user.id)
    assert [(r.allowed, (r.detail or {})["reason"], (r.detail or {})["linkedid"]) for r in refusals] == [
        (False, "error.not_your_call", "1795400400.7"),
        (False, "error.not_your_call", "no-such-call"),
    ]
    assert db.scalars(select(Customer)).all() == []  # nothing written
    # the agent who took it may
    mine = login_as(user=other).post("/api/customers/from-call", json=body("1795400400.7"))
    assert mine.status_code == 201, mine.text


def test_an_old_call_is_no_longer_the_current_one(agent: Any, db: Session) -> None:
    add_call(
        db, "1795300000.1", agent=agent.user, started_ago=timedelta(hours=3), ended_ago=timedelta(hours=2)
    )
    add_call(db, "1795300000.2", agent=agent.user, started_ago=timedelta(days=2))  # its end was never seen
    for linkedid in ("1795300000.1", "1795300000.2"):
        assert agent.post("/api/customers/from-call", json=body(linkedid)).status_code == 403


def test_a_withheld_number_needs_a_typed_one(agent: Any, db: Session) -> None:
    add_call(db, "1795400500.1", agent=agent.user, caller=None)
    add_call(db, "1795400500.2", agent=agent.user, caller="anonymous")
    for linkedid in ("1795400500.1", "1795400500.2"):
        problem = field_errors(agent.post("/api/customers/from-call", json=body(linkedid)))["pbx_linkedid"]
        assert problem["message"] == "这通来电没有可用的主叫号码（号码隐藏），请填写客户的联系电话"
    en = agent.post("/api/customers/from-call?lang=en", json=body("1795400500.1"))
    assert field_errors(en)["pbx_linkedid"]["message"].startswith("This call has no usable caller number")
    typed = agent.post(
        "/api/customers/from-call", json=body("1795400500.1", phones=[{"number": "13800138000"}])
    )
    assert typed.status_code == 201, typed.text
    assert phones_of(db, typed.json()["id"]) == [("+8613800138000", PhoneLabel.MOBILE, True)]


def test_validation_keeps_the_typed_paths(agent: Any, db: Session) -> None:
    add_call(db, "1795400600.1", agent=agent.user)
    bad = agent.post(
        "/api/customers/from-call", json=body("1795400600.1", phones=[{"number": "12"}, {"number": "x1"}])
    )
    errors = field_errors(bad)
    assert set(errors) == {"phones.0.number", "phones.1.number"}
    assert errors["phones.1.number"]["message"]
    missing = field_errors(agent.post("/api/customers/from-call", json={"grade": "B"}))
    assert set(missing) == {"name", "pbx_linkedid"}
    assert missing["name"]["message"] == "必填"
    above = agent.post("/api/customers/from-call", json=body("1795400600.1", confidentiality=3))
    assert set(field_errors(above)) == {"confidentiality"}
    assert db.scalars(select(Customer)).all() == []


def test_without_create_permission_it_is_refused(login_as: LoginAs, db: Session) -> None:
    reader = login_as(Role.QA_INSPECTOR)
    response = reader.post("/api/customers/from-call", json=body("1795400369.2"))
    assert response.status_code == 403
    assert audit_rows(db, "auth.forbidden", user_id=reader.user.id)  # type: ignore[attr-defined]


# --- the live state: a call still ringing, before the records writer has its row -----------------------


@pytest.fixture
def live(app: FastAPI) -> Iterator[dict[str, Any]]:
    """A stand-in for the ACD's live state on ``app.state.acd`` (its snapshot's documented shapes)."""
    snapshot: dict[str, Any] = {"calls": {}, "agents": {}, "queues": {}}
    app.state.acd = SimpleNamespace(state=SimpleNamespace(snapshot=lambda: snapshot))
    yield snapshot
    del app.state.acd


def test_a_ringing_call_of_the_live_state_gives_its_number(
    agent: Any, db: Session, live: dict[str, Any]
) -> None:
    live["agents"]["王芳"] = {
        "name": "王芳",
        "interface": AGENT_PHONE,
        "state": "ringing",
        "call": "1795400700.1",
    }
    live["agents"]["Bob"] = {
        "name": "Bob",
        "interface": "PJSIP/1002",
        "state": "on_call",
        "call": "1795400700.2",
    }
    for linkedid, agent_name, state in (
        ("1795400700.1", None, "ringing"),
        ("1795400700.2", "Bob", "talking"),
    ):
        live["calls"][linkedid] = {
            "linkedid": linkedid,
            "uniqueid": linkedid,
            "caller_number": "13700137001",
            "state": state,
            "agent": agent_name,
            "ringing": ["王芳"] if state == "ringing" else [],
        }
    response = agent.post("/api/customers/from-call", json=body("1795400700.1"))
    assert response.status_code == 201, response.text
    assert phones_of(db, response.json()["id"]) == [(CALLER, PhoneLabel.MOBILE, True)]
    assert agent.post("/api/customers/from-call", json=body("1795400700.2")).status_code == 403  # Bob's


def test_the_service_refuses_without_any_trace_of_the_agent(db: Session, make_user: MakeUser) -> None:
    user = make_user(Role.AGENT, pbx_interface=AGENT_PHONE)
    add_call(db, "1795400800.1")  # nobody answered it
    with pytest.raises(service.NotYourCall):
        service.caller_number_of_call(db, linkedid="1795400800.1", user=user, live_call=None, now=utcnow())
    live_call = {"caller_number": "13700137001"}
    assert (
        service.caller_number_of_call(
            db, linkedid="1795400800.1", user=user, live_call=live_call, now=utcnow()
        )
        == CALLER  # the durable row's E.164 wins over the live state's raw CallerIDNum
    )
    data = CustomerFromCall.model_validate(body("1795400800.1"))
    customer = service.create_customer_from_call(
        db, data=data, caller_number="13700137001", actor=Actor(None, "t")
    )
    assert [p.number for p in customer.phones] == [CALLER]
