"""The agent desktop in Chromium shows the caller's IVR path in the pop card: the keys with their meaning
(3 投诉), the customer code the caller typed, that the caller used self-service. The caller waits in the
queue (put there by the simulator) while the IVR's record of the call is written, then the agent logs in
to the queue and the phone rings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.security.roles import Role
from ivr.models import IvrOutcome
from ivr.service import SessionRecord, record_session
from pbxsim.engine import CallerSpec
from pbxsim.queues import Phone
from tests.agent_desktop.test_desktop_browser import (  # noqa: F401 - fixtures
    Server,
    browser,
    open_page,
    server,
    settings,
)
from tests.conftest import MakeUser

pytestmark = pytest.mark.browser

AGENT_PHONE = "PJSIP/1005"
QUEUE = "complaints"


def test_the_pop_card_shows_the_callers_ivr_path(
    server: Server,  # noqa: F811
    browser: Any,  # noqa: F811
    make_user: MakeUser,
    db: Session,
) -> None:
    from playwright.sync_api import expect

    make_user(Role.AGENT, full_name="王芳", agent_number="1005", pbx_interface=AGENT_PHONE)
    db.commit()
    server.on_pbx(lambda: setattr(server.simulator.engine.devices[AGENT_PHONE], "phone", Phone(manual=True)))
    desk = open_page(browser, server.url, "1005", "zh-CN")
    desk.click("nav.menu a[data-menu=desktop]")
    expect(desk.locator("#ws-status")).to_have_attribute("data-status", "open")

    # the caller is in the queue (nobody serves it yet); the IVR recorded how they got there
    call = server.on_pbx(lambda: server.simulator.engine.place_call(CallerSpec("13900139009", "", QUEUE)))
    now = utcnow()
    path = [
        {"step": "main", "kind": "menu", "result": "ok", "input": "1", "caption": "account"},
        {"step": "enter_id", "kind": "input", "result": "ok", "input": "123455"},
        {"step": "find", "kind": "lookup", "result": "found", "input": "C123455", "target": "customer_by_id"},
        {"step": "more", "kind": "menu", "result": "ok", "input": "3", "caption": "complaint"},
        {"step": "complaints", "kind": "route", "result": "ok", "input": QUEUE},
    ]
    record = SessionRecord(
        script="ivr",
        started_at=now - timedelta(seconds=40),
        ended_at=now - timedelta(seconds=5),
        linkedid=call.channel.linkedid,
        uniqueid=call.channel.uniqueid,
        path=path,
        outcome=IvrOutcome.TO_QUEUE,
        queue=QUEUE,
    )
    record_session(db, record=record)
    db.commit()

    desk.check(f"#queue-choice input[data-queue={QUEUE}]")  # logs in: the phone rings, the pop comes
    ivr = desk.locator("#pop #pop-ivr")
    expect(ivr).to_be_visible()
    expect(ivr.locator('.ivr-choice[data-digit="1"]')).to_have_text("1 查询办理")
    expect(ivr.locator('.ivr-choice[data-digit="3"]')).to_have_text("3 投诉")
    expect(ivr.locator("#pop-ivr-customer")).to_have_text(" · 客户输入客户代码 C123455")
    expect(ivr.locator("#pop-ivr-self-service")).to_have_count(0)
    assert desk.errors == []
