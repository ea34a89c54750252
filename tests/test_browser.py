"""The UI in Debian's Chromium: an agent logs in, finds a customer by phone number, records an inbound
call, sees it in the list, and switches the UI to English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.customers import service as customers
from core.customers.schemas import CustomerCreate
from core.security.roles import Role
from tests.conftest import PASSWORD, MakeUser
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_agent_records_an_inbound_call_then_switches_to_english(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser, db: Session
) -> None:
    from playwright.sync_api import expect

    make_user(Role.AGENT, agent_number="1001", full_name="王芳")
    customer = customers.create_customer(
        db,
        data=CustomerCreate.model_validate(
            {"name": "李明", "grade": "AAA", "region": "上海", "phones": [{"number": "13900139001"}]}
        ),
        actor=SYSTEM,
    )
    db.commit()
    page = browser_page

    page.goto(live_server.url)
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.locator("#login-form button[type=submit]")).to_have_text("登录")
    page.fill("input[name=username]", "1001")
    page.fill("input[name=password]", "wrong-password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-error-for=password]")).to_have_text("用户名/工号或密码不正确")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-user]")).to_contain_text("王芳")

    # An agent's menu has no back-office entries.
    expect(page.locator("nav.menu a[data-menu=audit]")).to_have_count(0)
    expect(page.locator("nav.menu a[data-menu=users]")).to_have_count(0)

    # Find the customer by the caller's number, typed the way people type it.
    page.fill("#quick-lookup input[name=phone]", "139 0013 9001")
    page.click("#quick-lookup button")
    page.click(f"a[href='#/customers/{customer.id}']")
    expect(page.locator("h2")).to_contain_text("李明")
    expect(page.locator("h2 [data-grade]")).to_have_text("AAA")
    # An agent sees the number masked.
    expect(page.locator("#customer-phones")).to_contain_text("139****9001")

    # Record the inbound call from the customer's file: the form comes pre-filled with the customer.
    page.click(f"a[href='#/records/inbound/new?customer={customer.id}']")
    form = page.locator("form[data-schema=InboundCreate]")
    expect(form).to_be_visible()
    assert form.locator("[data-path=customer_id]").input_value() == str(customer.id)
    form.locator("[data-path=content]").fill("")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for=content]")).to_have_text("必填")
    form.locator("[data-path=content]").fill("查询本月账单，已解答")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/records/inbound/\d+$"))

    page.click("nav.menu a[data-menu='records/inbound']")
    expect(page.locator("table.list tbody")).to_contain_text("查询本月账单，已解答")
    expect(page.locator("table.list tbody")).to_contain_text("王芳")

    page.select_option("#language-switch", "en")
    expect(page.locator("nav.menu a[data-menu='records/inbound']")).to_have_text("Inbound calls")
    expect(page.locator("h2")).to_have_text("Inbound calls")
    expect(page.locator("#logout")).to_have_text("Log out")
    assert page.evaluate("document.documentElement.lang") == "en"
    # The choice is kept for the next visit.
    page.reload()
    expect(page.locator("#logout")).to_have_text("Log out")


# The menu entry each permission opens (agent_desktop/ui/app.js MENU); home is everyone's.
MENU_PERMISSIONS = {
    "desktop": "desktop.use",
    "wallboard": "acd.monitor",
    "live": "acd.monitor",
    "customers": "customers.read",
    "records/inbound": "records.read",
    "records/outbound": "records.read",
    "records/phone-log": "records.read",
    "records/interviews": "records.read",
    "complaints": "complaints.read",
    "change-requests": "change_requests.create",
    "access": "access.read",
    "equipment": "equipment.read",
    "ivr": "ivr.manage",
    "recordings": "recordings.listen",
    "qa": "qa.evaluate",
    "qa/mine": "qa.own",
    "qa/results": "qa.results",
    "reports": "reports.read",
    "users": "users.read",
    "pause-reasons": "acd.configure",
    "audit": "audit.read",
}


def test_each_role_sees_only_its_own_menus(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser
) -> None:
    from playwright.sync_api import expect

    from core.security.roles import ROLE_PERMISSIONS

    page = browser_page
    for role in Role:
        user = make_user(role)
        page.goto(live_server.url + "/#/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("[data-user]")).to_be_visible()
        shown = set(page.locator("nav.menu a").evaluate_all("links => links.map(a => a.dataset.menu)"))
        allowed = {
            menu for menu, permission in MENU_PERMISSIONS.items() if permission in ROLE_PERMISSIONS[role]
        }
        assert shown == allowed | {"home"}, role
        page.click("#logout")
        expect(page.locator("#login-form")).to_be_visible()


def test_info_officer_imports_customers_with_a_row_error_report(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    officer = make_user(Role.INFO_OFFICER)
    upload = tmp_path / "客户.csv"
    upload.write_text(
        "客户代码,客户名称,客户等级,电话\n"
        "C100001,张伟,AAA,13900139001\n"
        "C100002,李娜,Z,13900139002\n"
        "C100003,王强,B,not-a-phone\n"
        "C100004,赵敏,A,021-62345678\n",
        encoding="utf-8",
    )
    page = browser_page
    page.goto(live_server.url)
    page.fill("input[name=username]", officer.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-user]")).to_be_visible()
    page.goto(live_server.url + "/#/customers/import")
    page.set_input_files("#import-file", str(upload))
    page.click("#import-status >> xpath=preceding-sibling::form//button[@type='submit']")
    result = page.locator("[data-import-result]")
    expect(result).to_have_text("导入完成：新增 2 条，错误 2 行")
    errors = page.locator("#import-status table")
    expect(errors).to_contain_text("3")  # spreadsheet row of 李娜 (header = row 1)
    expect(errors).to_contain_text("4")
    page.goto(live_server.url + "/#/customers")
    expect(page.locator("table.list tbody")).to_contain_text("张伟")
    expect(page.locator("table.list tbody")).to_contain_text("赵敏")
    expect(page.locator("table.list tbody")).not_to_contain_text("王强")
