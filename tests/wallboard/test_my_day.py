"""GET /api/desktop/my-day: the calls my phone answered today (center zone), what became of the callers I
transferred, the inbound record of each call, and my figures (core.metrics definitions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.events import CallOutcome
from core.audit.models import AuditEntry
from core.audit.service import Actor
from core.complaints import service as complaints
from core.complaints.schemas import ComplaintCreate
from core.contacts.models import InboundRecord
from core.escalations.models import Escalation
from core.people.models import User
from core.security.roles import Role
from tests.conftest import LoginAs
from tests.wallboard.helpers import add_leg

# 07:30 in Shanghai on 24 Nov = 23:30 UTC on the 23rd: the center's day (the 24th) began at 16:00 UTC.
NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
DAY_START = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
ME = "PJSIP/1001"


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent_desktop.my_day.utcnow", lambda: NOW)


def _my_day(client: Any) -> dict[str, Any]:
    response = client.get("/api/desktop/my-day")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _inbound(db: Session, user: User, linkedid: str, at: datetime) -> InboundRecord:
    record = InboundRecord(
        agent_id=user.id, agent_name=user.full_name, started_at=at, content="咨询", pbx_linkedid=linkedid
    )
    db.add(record)
    db.commit()
    return record


def test_my_calls_of_the_day_with_transfer_results_and_records(
    app: FastAPI, db: Session, login_as: LoginAs
) -> None:
    agent = login_as(Role.AGENT, pbx_interface=ME, full_name="王芳")
    me: User = agent.user  # type: ignore[attr-defined]
    t = DAY_START + timedelta(hours=1)
    first = add_leg(db, joined_at=t, wait_s=5, talk_s=60, ring_s=4, interface=ME, caller_number="13900139001")
    add_leg(db, joined_at=t + timedelta(minutes=5), wait_s=25, talk_s=30, ring_s=16, interface=ME)
    results = {}
    for n, (then, outcome) in enumerate(
        [("answered", None), ("abandoned", CallOutcome.ABANDONED), ("waiting", None), (None, None)]
    ):
        at = t + timedelta(minutes=10 + n)
        leg = add_leg(
            db,
            joined_at=at,
            wait_s=3,
            interface=ME,
            outcome=CallOutcome.TRANSFERRED,
            transfer_target="700@queues" if then else "1900@from-internal",
        )
        results[leg.linkedid] = then
        if then is not None:
            nxt = add_leg(
                db,
                queue="billing",
                joined_at=at + timedelta(seconds=90),
                linkedid=leg.linkedid,
                answered=then == "answered",
                outcome=outcome,
                interface="PJSIP/1002",
            )
            if then == "waiting":
                nxt.outcome = None
                db.commit()
    add_leg(db, joined_at=DAY_START - timedelta(minutes=1), interface=ME)  # yesterday, in center time
    add_leg(db, joined_at=t, interface="PJSIP/1002", missed_by=ME)  # rang me first, then another took it
    add_leg(db, joined_at=DAY_START - timedelta(hours=1), interface="PJSIP/1002", missed_by=ME)  # yesterday
    record = _inbound(db, me, first.linkedid, t)

    body = _my_day(agent)
    calls = body["calls"]
    assert len(calls) == 6
    c0 = calls[0]
    assert c0["linkedid"] == first.linkedid and c0["queue"] == "support"
    assert c0["caller"] != "13900139001" and c0["caller"].endswith("9001")  # masked for an agent
    assert c0["joined_at"] == "2026-11-24T01:00:00+08:00"
    assert (c0["wait_s"], c0["talk_s"], c0["ring_s"], c0["outcome"]) == (5.0, 60.0, 4.0, "answered")
    assert c0["inbound_record_id"] == record.id and c0["transfer_result"] is None
    assert [c["transfer_result"] for c in calls[2:]] == [results[c["linkedid"]] for c in calls[2:]]
    assert [c["transfer_result"] for c in calls[2:]] == ["answered", "abandoned", "waiting", None]
    assert calls[2]["transfer_target"] == "700@queues"

    figures = body["figures"]
    assert figures["answered"] == 6 and figures["transferred"] == 4
    # Three rings per offer (today's ring attempts on my phone, classify_offer, 3 × 5 s = 15 s):
    #   answered after 4 s: the first call and the four transferred ones → 5 met;
    #   answered after 16 s (over 15 s) → missed; rang out on my phone at t (ring_no_answer) → missed;
    #   yesterday's answer and yesterday's ring-out are not today's.
    #   compliance = met / (met + missed) = 5 / (5 + 2) = 71.4 %
    assert (figures["within_three_rings"], figures["missed_three_rings"]) == (5, 2)
    assert figures["within_three_rings_pct"] == 71.4
    assert figures["avg_wait_s"] == pytest.approx((5 + 25 + 3 * 4) / 6, abs=0.05)
    assert figures["missed_rings"] == 1
    assert figures["records_written"] == 1
    assert (figures["complaints_created"], figures["escalations"]) == (0, 0)


def test_a_team_lead_sees_callers_numbers(db: Session, login_as: LoginAs) -> None:
    lead = login_as(Role.TEAM_LEAD, pbx_interface=ME)
    add_leg(db, joined_at=DAY_START + timedelta(hours=2), interface=ME, caller_number="13900139001")
    assert _my_day(lead)["calls"][0]["caller"] == "13900139001"


def test_forms_complaints_and_escalations_count_in_my_figures(
    app: FastAPI, db: Session, login_as: LoginAs
) -> None:
    agent = login_as(Role.AGENT, pbx_interface=ME)
    me: User = agent.user  # type: ignore[attr-defined]
    _inbound(db, me, "x.1", DAY_START + timedelta(minutes=5))
    _inbound(db, me, "x.2", DAY_START - timedelta(minutes=5))  # yesterday
    for received in (DAY_START + timedelta(hours=1), DAY_START - timedelta(hours=1)):
        complaints.register_complaint(
            db,
            data=ComplaintCreate.model_validate(
                {
                    "channel": "phone",
                    "customer_name": "赵强",
                    "category": "product",
                    "problem_type": "quality",
                    "reason": "故障",
                    "urgency": "normal",
                }
            ),
            actor=Actor(me.id, me.username),
            settings=app.state.settings,
            received_at=received,
        )
    db.add_all(
        [
            Escalation(reason="r", agent_id=me.id, created_at=DAY_START + timedelta(hours=2)),
            Escalation(reason="r", agent_id=me.id, created_at=DAY_START - timedelta(hours=2)),
        ]
    )
    db.commit()
    figures = _my_day(agent)["figures"]
    assert (figures["records_written"], figures["complaints_created"], figures["escalations"]) == (1, 1, 1)
    assert figures["answered"] == 0 and figures["within_three_rings_pct"] is None
    assert figures["avg_wait_s"] is None and figures["avg_talk_s"] is None


def test_without_a_phone_there_are_no_calls(db: Session, login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)  # no pbx_interface
    add_leg(db, joined_at=DAY_START + timedelta(hours=1), interface=ME)
    body = _my_day(agent)
    assert body["calls"] == [] and body["figures"]["answered"] == 0


def test_roles_without_the_desktop_are_refused_and_audited(db: Session, login_as: LoginAs) -> None:
    inspector = login_as(Role.QA_INSPECTOR)
    response = inspector.get("/api/desktop/my-day", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert response.json()["message"].isascii()
    refusal = db.scalars(
        select(AuditEntry).where(AuditEntry.user_id == inspector.user.id, AuditEntry.allowed.is_(False))  # type: ignore[attr-defined]
    ).one()
    assert refusal.detail is not None and refusal.detail["permission"] == "desktop.use"
