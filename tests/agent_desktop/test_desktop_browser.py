"""The agent desktop and the team lead's wallboard in Chromium, against the in-process PBX simulator: an agent
logs in to a queue, a known customer calls, the screen pop shows the file, the agent answers in the browser,
writes the record, hangs up, wrap-up ends and the record is saved with the call id; meanwhile the team
lead's wallboard (English) follows every state change live and its listen button reaches the PBX as a
ChanSpy."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.config import Settings
from core.contacts.models import InboundRecord
from core.customers import service as customers
from core.customers.models import Customer
from core.customers.schemas import CustomerCreate
from core.people.models import Team
from core.security.roles import Role
from pbxsim.engine import CallerSpec
from pbxsim.queues import Phone
from pbxsim.simulator import Simulator
from tests.conftest import MakeUser
from tests.live import CHROMIUM, CHROMIUM_ARGS, free_port, open_page

pytestmark = pytest.mark.browser

T = TypeVar("T")
AGENT_PHONE = "PJSIP/1005"  # the lab's Erin: in no queue until the agent logs in
LEAD_PHONE = "PJSIP/1006"  # the lab's Frank: the team lead's phone, which the ChanSpy rings
QUEUE = "complaints"  # no static members; wrap-up 5 s
CALLER = "13900139001"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The app with the lab's PBX simulator in-process (no scripted traffic: the test places the call)."""
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        simulator="idle",
        ami_host="127.0.0.1",
        ami_port=free_port(),
        ami_secret="s3cret",
        wait_alert_seconds=1,
    )


@dataclass
class Server:
    app: FastAPI
    url: str
    loop: asyncio.AbstractEventLoop

    @property
    def simulator(self) -> Simulator:
        sim: Simulator = self.app.state.simulator
        return sim

    def on_pbx(self, fn: Callable[[], T]) -> T:
        """Runs ``fn`` on the server's loop, where the simulator lives (it is not thread-safe)."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def wait_for(self, what: str, fn: Callable[[], object], seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while not self.on_pbx(fn):
            assert time.monotonic() < deadline, f"the simulator never saw: {what}"
            time.sleep(0.05)


@pytest.fixture
def server(app: FastAPI) -> Iterator[Server]:
    """The app under uvicorn on a loop of our own, so the test can drive the simulator on it."""
    loop = asyncio.new_event_loop()
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=loop.run_until_complete, args=(uv.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        assert time.monotonic() < deadline, "live server did not start"
        time.sleep(0.02)
    running = Server(app, f"http://127.0.0.1:{port}", loop)
    running.wait_for("the ACD's link", lambda: app.state.acd.link.connected)
    yield running
    uv.should_exit = True
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def test_agent_takes_a_call_while_the_team_lead_watches(
    server: Server, browser: Any, make_user: MakeUser, db: Session
) -> None:
    from playwright.sync_api import expect

    team = Team(name="投诉一组")
    db.add(team)
    db.flush()
    agent = make_user(
        Role.AGENT, full_name="王芳", agent_number="1005", pbx_interface=AGENT_PHONE, team_id=team.id
    )
    lead = make_user(
        Role.TEAM_LEAD, full_name="组长赵", agent_number="1000", pbx_interface=LEAD_PHONE, team_id=team.id
    )
    team.lead_id = lead.id
    customer = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {
                "name": "李明",
                "grade": "AA",
                "confidentiality": 1,
                "region": "上海",
                "phones": [{"number": CALLER}],
            }
        ),
        actor=SYSTEM,
    )
    db.commit()
    # The agent's phone is person-driven: only the desktop's buttons answer and hang up.
    server.on_pbx(lambda: setattr(server.simulator.engine.devices[AGENT_PHONE], "phone", Phone(manual=True)))

    desk = open_page(browser, server.url, "1005", "zh-CN")
    board = open_page(browser, server.url, "1000", "en")

    # zh-CN desktop; the agent is in no queue yet: the bar says so (what the PBX says).
    desk.click("nav.menu a[data-menu=desktop]")
    expect(desk.locator("#desktop h2")).to_have_text("坐席工作台")
    expect(desk.locator("#ws-status")).to_have_attribute("data-status", "open")
    expect(desk.locator("#my-state")).to_have_attribute("data-state", "logged_out")
    expect(desk.locator("#shortcuts")).to_contain_text("接听")

    # English wallboard for the team lead.
    board.click("nav.menu a[data-menu=wallboard]")
    expect(board.locator("#wallboard h2")).to_have_text("Wallboard")
    expect(board.locator("#ws-status")).to_have_attribute("data-status", "open")
    row = board.locator(f'#agent-board tr[data-agent="{AGENT_PHONE}"]')

    # Goes available: QueueAdd through the PBX, the state comes back as a delta.
    desk.check(f"#queue-choice input[data-queue={QUEUE}]")
    expect(desk.locator("#my-state")).to_have_attribute("data-state", "available")
    expect(desk.locator("#my-state")).to_have_text("空闲")
    expect(row).to_have_attribute("data-state", "available")
    expect(row.locator("[data-cell=state]")).to_have_text("Available")

    # A known customer calls: the pop shows the file, with grade, 密级 and the ring countdown.
    call = server.on_pbx(lambda: server.simulator.engine.place_call(CallerSpec(CALLER, "李明", QUEUE)))
    linkedid = call.channel.linkedid
    pop = desk.locator("#pop")
    expect(pop.locator("#pop-caller")).to_have_attribute("data-linkedid", linkedid)
    expect(pop.locator(".customer.current .pop-customer-name")).to_have_text("李明")
    expect(pop.locator(".customer.current [data-grade]")).to_have_text("AA")
    expect(pop.locator(".customer.current [data-confidentiality]")).to_contain_text("内部")
    expect(pop.locator("#pop-caller")).to_have_text("139****9001")
    expect(pop.locator("#ring-countdown")).to_be_visible()
    expect(pop.locator("#pop-queue")).to_have_text(QUEUE)
    expect(desk.locator("#my-state")).to_have_attribute("data-state", "ringing")
    expect(row).to_have_attribute("data-state", "ringing")

    # Answer in the browser (the demo's phone), then the record form comes pre-filled with the call.
    desk.click("#btn-answer")
    expect(desk.locator("#my-state")).to_have_attribute("data-state", "on_call")
    expect(desk.locator("#call-phase")).to_have_attribute("data-phase", "talking")
    expect(row).to_have_attribute("data-state", "on_call")
    expect(row.locator("[data-cell=caller]")).not_to_be_empty()
    form = desk.locator(f'.call-record[data-linkedid="{linkedid}"] form[data-schema=InboundCreate]')
    expect(form.locator("[data-path=pbx_linkedid]")).to_have_value(linkedid)
    expect(form.locator("[data-path=customer_id]")).to_have_value(str(customer.id))
    expect(form.locator("[data-path=queue_name]")).to_have_value(QUEUE)
    expect(form.locator("[data-path=caller_name]")).to_have_value("李明")

    # The team lead listens in: a ChanSpy from the lead's phone onto the agent's channel.
    row.locator("[data-action=listen]").click()
    server.wait_for(
        "a ChanSpy onto the agent",
        lambda: any(s.spyee.name.startswith(AGENT_PHONE) for s in server.simulator.engine.spies),
    )

    # A reload in the middle of the call picks the call up again, record form included.
    desk.reload()
    expect(desk.locator("#call-phase")).to_have_attribute("data-phase", "talking")
    expect(form.locator("[data-path=pbx_linkedid]")).to_have_value(linkedid)
    form.locator("[data-path=content]").fill("查询本月账单，已解答")
    form.locator("[data-path=outcome]").select_option("resolved")
    # Hang up with the keyboard shortcut (focus out of the form: shortcuts never fire while typing).
    desk.locator("#desktop h2").click()
    desk.keyboard.press("h")
    expect(desk.locator("#my-state")).to_have_attribute("data-state", "wrap_up")
    expect(desk.locator("#wrapup-left")).to_be_visible()
    expect(row).to_have_attribute("data-state", "wrap_up")
    # Wrap-up ends (5 s in this queue): available again on both screens.
    expect(desk.locator("#my-state")).to_have_attribute("data-state", "available", timeout=15_000)
    expect(row).to_have_attribute("data-state", "available", timeout=15_000)

    form.locator("button[type=submit]").click()
    expect(desk.locator(".call-record .saved[data-record-id]")).to_be_visible()
    db.expire_all()
    record = db.scalars(select(InboundRecord).where(InboundRecord.pbx_linkedid == linkedid)).one()
    assert (record.customer_id, record.agent_id, record.content) == (
        customer.id,
        agent.id,
        "查询本月账单，已解答",
    )
    assert record.queue_name == QUEUE

    # The desktop in English too.
    desk.select_option("#language-switch", "en")
    expect(desk.locator("#desktop h2")).to_have_text("Agent desktop")
    expect(desk.locator("#my-state")).to_have_text("Available")
    expect(desk.locator("#shortcuts")).to_contain_text("Answer")
    assert re.search(r"Hang up", desk.locator("#shortcuts").inner_text())
    assert desk.errors == [] and board.errors == []


def test_pause_unknown_caller_escalation_and_quiet_hours_dial(
    server: Server, browser: Any, make_user: MakeUser, db: Session
) -> None:
    """The rest of the desktop: pause with a reason and back with the keyboard, an unknown caller filed
    from the pop, an escalation that reaches the lead's inbox (taken, closed), and a click-to-dial inside
    the customer's 不宜访问时间 that asks before dialling."""
    from playwright.sync_api import expect

    team = Team(name="投诉二组")
    db.add(team)
    db.flush()
    make_user(Role.AGENT, full_name="王芳", agent_number="1005", pbx_interface=AGENT_PHONE, team_id=team.id)
    make_user(
        Role.TEAM_LEAD, full_name="组长赵", agent_number="1000", pbx_interface=LEAD_PHONE, team_id=team.id
    )
    every_day = [{"weekday": d, "start": "00:00", "end": "00:00", "note": "夜班休息"} for d in range(7)]
    quiet = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {
                "name": "周静",
                "grade": "A",
                "phones": [{"number": "13600136001"}],
                "contact_windows": every_day,
            }
        ),
        actor=SYSTEM,
    )
    db.commit()
    server.on_pbx(lambda: setattr(server.simulator.engine.devices[AGENT_PHONE], "phone", Phone(manual=True)))

    # A caller waits in a queue nobody serves: the wallboard will alert.
    server.on_pbx(lambda: server.simulator.engine.place_call(CallerSpec("13500135001", "", "retention")))

    desk = open_page(browser, server.url, "1005", "zh-CN")
    desk.click("nav.menu a[data-menu=desktop]")
    desk.check(f"#queue-choice input[data-queue={QUEUE}]")
    state = desk.locator("#my-state")
    expect(state).to_have_attribute("data-state", "available")

    # P pauses with the chosen reason, R makes the agent ready again.
    desk.select_option("#pause-reason", "就餐")
    desk.locator("#desktop h2").click()
    desk.keyboard.press("p")
    expect(state).to_have_attribute("data-state", "paused")
    expect(desk.locator("#my-reason")).to_have_text("就餐")
    # Not while typing: the key goes into the field.
    desk.fill("#dial input[type=search]", "")
    desk.locator("#dial input[type=search]").press("r")
    expect(desk.locator("#dial input[type=search]")).to_have_value("r")
    expect(state).to_have_attribute("data-state", "paused")
    desk.locator("#desktop h2").click()
    desk.keyboard.press("r")
    expect(state).to_have_attribute("data-state", "available")

    # An unknown caller: the pop offers a customer form; once filed, the pop shows the new file. The agent
    # sees the number masked and never types it: the server files it from the call (its linkedid).
    call = server.on_pbx(lambda: server.simulator.engine.place_call(CallerSpec("13700137001", "", QUEUE)))
    quick = desk.locator("#quick-create form[data-schema=CustomerFromCall]")
    expect(desk.locator("#quick-create-number")).to_contain_text("137****7001")
    expect(quick.locator("[data-path='phones.0.number']")).to_have_count(0)  # nothing to type
    quick.locator("button[type=submit]").click()
    expect(quick.locator("[data-error-for=name]")).to_be_visible()  # the server's error beside the field
    quick.locator("[data-path=name]").fill("马林")
    quick.locator("button[type=submit]").click()
    expect(desk.locator("#pop .customer.current .pop-customer-name")).to_have_text("马林")
    db.expire_all()
    filed = db.scalars(select(Customer).where(Customer.name == "马林")).one()
    assert [(p.number, p.is_primary) for p in filed.phones] == [("+8613700137001", True)]

    # Answered, then escalated to the team lead.
    desk.click("#btn-answer")
    expect(state).to_have_attribute("data-state", "on_call")
    desk.fill("#escalate-reason", "客户要求主管回电")
    desk.click("#escalate-form button[type=submit]")
    expect(desk.locator("#toast")).to_contain_text("已升级给组长")
    expect(desk.locator(".call-record [data-path=outcome]")).to_have_value("escalated")

    board = open_page(browser, server.url, "1000", "en")
    board.click("nav.menu a[data-menu=wallboard]")
    # The caller waiting in the unserved queue since the start: past the 1 s alert threshold by now (the
    # figures' next refresh, 15 s on, would show it anyway).
    expect(board.locator("#alerts [data-alert=long_wait][data-queue=retention]")).to_contain_text(
        "retention", timeout=20_000
    )
    expect(board.locator("#queue-tiles [data-queue=retention] [data-figure=waiting]")).to_have_text("1")
    item = board.locator("#escalation-list tbody tr").filter(has_text="客户要求主管回电")
    expect(item).to_contain_text("马林")
    item.locator("[data-action=take]").click()
    expect(item).to_contain_text("Taken")
    item.locator("input[name=resolution]").fill("已回电解释")
    item.locator("[data-action=close]").click()
    expect(board.locator("#escalations")).to_contain_text("No escalated calls")

    # A complaint from the call, pre-filled with the call id and the customer.
    desk.click("#complaint-from-call summary")
    complaint = desk.locator("#complaint-from-call form[data-schema=ComplaintCreate]")
    expect(complaint.locator("[data-path=pbx_call_linkedid]")).to_have_value(call.channel.linkedid)
    expect(complaint.locator("[data-path=customer_name]")).to_have_value("马林")
    complaint.locator("[data-path=reason]").fill("账单金额有误")
    complaint.locator("button[type=submit]").click()
    expect(desk.locator("#complaint-from-call .saved")).to_contain_text("投诉已登记")

    # A call-back for tomorrow, as an outbound record with its follow-up time.
    desk.click("#callback-from-call summary")
    callback = desk.locator("#callback-from-call form[data-schema=OutboundCreate]")
    expect(callback.locator("[data-path=purpose]")).to_have_value("callback")
    callback.locator("[data-path=content]").fill("明天回电确认账单更正")
    callback.locator("[data-path=next_follow_up_at]").fill("2030-01-02T10:00")
    callback.locator("button[type=submit]").click()
    expect(desk.locator("#callback-from-call .saved")).to_be_visible()

    # Transferred to another queue: the call leaves this desk, the record says where it went.
    desk.select_option("#transfer-kind", "queue")
    desk.select_option("#transfer-target", "billing")
    desk.click("#transfer-form button[type=submit]")
    expect(desk.locator("#call-phase")).to_have_attribute("data-phase", "ended")
    record = desk.locator(".call-record form[data-schema=InboundCreate]")
    expect(record.locator("[data-path=outcome]")).to_have_value("transferred")
    expect(record.locator("[data-path=transferred_to_department]")).to_have_value("billing")
    assert call.channel.linkedid == desk.locator("#pop-caller").get_attribute("data-linkedid")

    # Click-to-dial inside the customer's 不宜访问时间: the warning names the window, then it dials.
    expect(state).to_have_attribute("data-state", "available", timeout=15_000)
    desk.fill("#dial input[type=search]", "周静")
    desk.click("#dial button[type=submit]")
    desk.click(f"#dial-results [data-dial='{quiet.id}']")
    dialog = desk.locator("#confirm-dialog")
    expect(dialog).to_contain_text("夜班休息")
    dialog.locator("[data-answer=yes]").click()
    expect(desk.locator("#toast")).to_contain_text("正在呼叫")
    assert desk.errors == [] and board.errors == []
