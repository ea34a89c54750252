"""Outbound from the agent desktop in Chromium, against the in-process PBX simulator: an agent with a
follow-up due today and a closed complaint waiting for its 回访 sees both in the "待回访 / 跟进" list, dials
the follow-up inside the customer's 不宜访问时间 (the desktop asks first), the outbound record form comes
pre-filled with the customer, the time, the call id and the purpose, and once saved the item leaves the
list; the complaint's call-back links back to the complaint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import tests.agent_desktop.test_desktop_browser as desktop_browser
from core.audit.service import SYSTEM
from core.clock import utcnow
from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintProblemType,
    ComplaintStatus,
    ComplaintUrgency,
)
from core.contacts.models import OutboundPurpose, OutboundRecord
from core.customers import service as customers
from core.customers.schemas import CustomerCreate
from core.security.roles import Role
from pbxsim.queues import Phone
from tests.agent_desktop.test_desktop_browser import AGENT_PHONE, Server, open_page
from tests.conftest import MakeUser

pytestmark = pytest.mark.browser

# The live server with the simulator, and Chromium: the desktop browser test's fixtures.
settings = desktop_browser.settings
server = desktop_browser.server
browser = desktop_browser.browser

EVERY_DAY = [{"weekday": d, "start": "00:00", "end": "00:00", "note": "夜班休息"} for d in range(7)]


def test_follow_up_dialled_from_the_list_and_recorded(
    server: Server, browser: Any, make_user: MakeUser, db: Session
) -> None:
    from playwright.sync_api import expect

    agent = make_user(Role.AGENT, full_name="王芳", agent_number="1005", pbx_interface=AGENT_PHONE)
    quiet = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {
                "name": "周静",
                "grade": "A",
                "phones": [{"number": "13600136001"}],
                "contact_windows": EVERY_DAY,
            }
        ),
        actor=SYSTEM,
    )
    other = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {"name": "马林", "grade": "B", "phones": [{"number": "13700137001"}]}
        ),
        actor=SYSTEM,
    )
    now = utcnow()
    follow_up = OutboundRecord(
        agent_id=agent.id,
        agent_name=agent.full_name,
        customer_id=quiet.id,
        started_at=now - timedelta(days=1),
        content="介绍宽带套餐，客户考虑中",
        purpose=OutboundPurpose.MARKETING,
        next_follow_up_at=now - timedelta(minutes=30),
    )
    complaint = Complaint(
        case_number="TS20261123-0001",
        received_at=now - timedelta(days=3),
        channel=ComplaintChannel.PHONE,
        status=ComplaintStatus.CLOSED,
        customer_id=other.id,
        customer_name=other.name,
        category=ComplaintCategory.SERVICE,
        problem_type=ComplaintProblemType.QUALITY,
        reason="账单金额有误",
        urgency=ComplaintUrgency.NORMAL,
        promised_deadline=now,
        actual_completed_at=now - timedelta(days=1),
        investigation_result="计费错误，已退款",
        registered_by_id=agent.id,
    )
    db.add_all([follow_up, complaint])
    db.commit()
    # The agent's phone is person-driven: it picks up the click-to-dial call on its own after a second.
    server.on_pbx(lambda: setattr(server.simulator.engine.devices[AGENT_PHONE], "phone", Phone(manual=True)))

    desk = open_page(browser, server.url, "1005", "zh-CN")
    desk.click("nav.menu a[data-menu=desktop]")
    panel = desk.locator("#follow-ups")
    expect(panel.locator("h4")).to_contain_text("待回访 / 跟进")
    item = panel.locator(f"li[data-follow-up=outbound-{follow_up.id}]")
    expect(item).to_contain_text("周静")
    expect(item).to_contain_text("到期跟进")
    expect(item).to_contain_text("介绍宽带套餐")
    callback_item = panel.locator(f"li[data-follow-up=complaint-{complaint.id}]")
    expect(callback_item).to_contain_text("投诉回访")
    expect(callback_item).to_contain_text("TS20261123-0001")

    # Dial inside the customer's 不宜访问时间: the desktop asks, naming the window, then dials.
    item.locator("[data-dial-follow-up]").click()
    dialog = desk.locator("#confirm-dialog")
    expect(dialog).to_contain_text("夜班休息")
    dialog.locator("[data-answer=yes]").click()
    expect(desk.locator("#toast")).to_contain_text("正在呼叫")

    # The outbound record form, pre-filled from the dial.
    article = desk.locator(f'.outbound-record[data-follow-up="outbound-{follow_up.id}"]')
    form = article.locator("form[data-schema=OutboundCreate]")
    expect(form.locator("[data-path=customer_id]")).to_have_value(str(quiet.id))
    expect(form.locator("[data-path=purpose]")).to_have_value("follow_up")
    expect(form.locator("[data-path=customer_name]")).to_have_value("周静")
    expect(form.locator("[data-path=started_at]")).not_to_have_value("")
    uniqueid = article.get_attribute("data-uniqueid")
    assert uniqueid
    expect(form.locator("[data-path=pbx_uniqueid]")).to_have_value(uniqueid)
    expect(form.locator("[data-path=pbx_linkedid]")).to_have_value(uniqueid)
    expect(form.locator("[data-path=agent_id]")).to_have_count(0)

    form.locator("[data-path=content]").fill("客户决定办理宽带套餐")
    form.locator("[data-path=result]").select_option("sale")
    form.locator("button[type=submit]").click()
    expect(article.locator(".saved[data-outbound-id]")).to_be_visible()
    expect(article).to_contain_text(f"#{follow_up.id}")  # back to the record it followed up
    expect(item).to_have_count(0)  # done: it left the list
    expect(callback_item).to_be_visible()

    db.expire_all()
    saved = db.scalars(
        select(OutboundRecord).where(OutboundRecord.agent_id == agent.id, OutboundRecord.id != follow_up.id)
    ).one()
    assert (saved.customer_id, saved.pbx_uniqueid, saved.purpose, saved.content) == (
        quiet.id,
        uniqueid,
        OutboundPurpose.FOLLOW_UP,
        "客户决定办理宽带套餐",
    )
    assert saved.started_at >= now - timedelta(minutes=1)

    # The complaint's call-back. While the first call holds the agent's phone the PBX refuses: no form.
    callback_item.locator("[data-dial-follow-up]").click()
    expect(desk.locator("#toast")).to_contain_text("坐席话机忙")
    expect(desk.locator(f'.outbound-record[data-follow-up="complaint-{complaint.id}"]')).to_have_count(0)

    def hang_up_first_call() -> None:
        engine = server.simulator.engine
        engine.hangup_channel(next(c for c in engine.channels.values() if c.uniqueid == uniqueid))

    server.on_pbx(hang_up_first_call)
    # No quiet hours for this customer; the agent (who does not handle complaints) is pointed to the
    # complaint for its 回访 result.
    callback_item.locator("[data-dial-follow-up]").click()
    callback = desk.locator(f'.outbound-record[data-follow-up="complaint-{complaint.id}"]')
    callback_form = callback.locator("form[data-schema=OutboundCreate]")
    expect(callback_form.locator("[data-path=purpose]")).to_have_value("callback")
    expect(callback_form.locator("[data-path=customer_id]")).to_have_value(str(other.id))
    callback_form.locator("[data-path=content]").fill("回访：客户对退款处理满意")
    callback_form.locator("button[type=submit]").click()
    expect(callback.locator("#complaint-callback-link")).to_have_attribute(
        "href", f"#/complaints/{complaint.id}"
    )
    expect(desk.locator("#no-follow-ups")).to_be_visible()

    # The list in English too.
    desk.select_option("#language-switch", "en")
    expect(desk.locator("#follow-ups h4")).to_contain_text("Call-backs / follow-ups")
    expect(desk.locator("#no-follow-ups")).to_have_text("No call-backs or follow-ups due")
    assert desk.errors == []
