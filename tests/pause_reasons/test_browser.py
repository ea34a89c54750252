"""In Chromium, against the in-process PBX simulator: the admin adds 质检辅导 on #/pause-reasons (a bad code
first: the error lands beside the field), an English agent's desktop offers it by its English label, and
pausing with it reaches the PBX as QueuePause Reason 质检辅导."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.config import Settings
from core.security.roles import Role
from tests.conftest import MakeUser
from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, free_port, open_page

pytestmark = pytest.mark.browser

AGENT_PHONE = "PJSIP/1005"
QUEUE = "complaints"  # the lab's queue without static members


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        simulator="idle",
        ami_host="127.0.0.1",
        ami_port=free_port(),
        ami_secret="s3cret",
    )


def _wait(what: str, fn: Callable[[], object], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not fn():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def test_admin_adds_a_reason_the_agent_pauses_with(
    live_server: LiveServer, make_user: MakeUser, db: Session
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import expect, sync_playwright

    app = live_server.app
    admin = make_user(Role.ADMIN, username="boss", full_name="系统管理员")
    make_user(Role.AGENT, full_name="王芳", agent_number="1005", pbx_interface=AGENT_PHONE)
    _wait("the ACD's link", lambda: app.state.acd.link.connected)

    def member() -> Any:
        return app.state.simulator.engine.queues[QUEUE].member(AGENT_PHONE)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            boss = open_page(browser, live_server.url, admin.username, "zh-CN")
            boss.click("nav.menu a[data-menu=pause-reasons]")
            table = boss.locator("#pause-reasons")
            expect(table.locator("tbody tr")).to_have_count(4)  # the settings' defaults, now rows
            expect(table.locator('tr[data-code="培训"] [data-cell=active]')).to_have_text("启用中")

            boss.click("#new-pause-reason")
            form = boss.locator("#pause-reason-form")
            form.locator("[data-path=code]").fill("质检|辅导")
            form.locator("[data-path=label_zh]").fill("质检辅导")
            form.locator("[data-path=label_en]").fill("QA coaching")
            form.locator("[data-path=counts_as_productive]").check()
            form.locator("[data-path=sort_order]").fill("25")
            form.locator("[data-path=max_minutes]").fill("30")
            form.locator("button[type=submit]").click()
            expect(form.locator("[data-error-for=code]")).to_contain_text("不能包含“|”")
            form.locator("[data-path=code]").fill("质检辅导")
            form.locator("button[type=submit]").click()
            expect(table.locator('tr[data-code="质检辅导"] [data-cell=label_en]')).to_have_text("QA coaching")
            codes = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
            assert codes == ["休息", "就餐", "质检辅导", "培训", "会议"]

            desk = open_page(browser, live_server.url, "1005", "en")
            desk.click("nav.menu a[data-menu=desktop]")
            desk.check(f"#queue-choice input[data-queue={QUEUE}]")
            state = desk.locator("#my-state")
            expect(state).to_have_attribute("data-state", "available")
            option = desk.locator('#pause-reason option[value="质检辅导"]')
            expect(option).to_have_text("QA coaching")
            desk.select_option("#pause-reason", label="QA coaching")
            desk.click("#btn-pause")
            expect(state).to_have_attribute("data-state", "paused")
            expect(desk.locator("#my-reason")).to_have_text("QA coaching")
            expect(desk.locator("#my-reason")).to_have_attribute("data-code", "质检辅导")
            _wait(
                "QueuePause Reason 质检辅导",
                lambda: member() is not None and member().paused_reason == "质检辅导",
            )
            assert member().paused
            assert boss.errors == [] and desk.errors == []
        finally:
            browser.close()
