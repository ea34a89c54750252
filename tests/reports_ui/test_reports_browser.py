"""The reports page in Chromium: the supervisor opens 统计报表, picks the fixtures' day and the 30-minute
grain, sees the call table (each measure's formula on its header) and the service-level chart with its
target line for calls replayed from the Asterisk captures through acd.records; switches to English and
downloads the CSV. The IVR tab shows the estimated-wait call-back offers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from acd.records.replay import load_queues, replay_into
from core.db import transaction
from core.security.roles import Role
from reports.aggregates import ReportConfig, refresh
from tests.acd_records.truth import FIXTURES
from tests.conftest import PASSWORD, MakeUser
from tests.live import LiveServer
from tests.reports_ui.data import FIRST, LAST, build
from tests.reports_ui.test_business import add_wait_offers

pytestmark = pytest.mark.browser

DAY = "2026-11-23"  # the captures' day (10:19–11:05 in Shanghai)
FOLDERS = ("answered", "transfer", "ringall")


def replay_calls(app: FastAPI) -> None:
    with transaction(app.state.session_factory) as session:
        for name in FOLDERS:
            folder = FIXTURES / name
            replay_into(session, folder, translate=None, queues=load_queues(folder))
    with transaction(app.state.session_factory) as session:
        refresh(session, ReportConfig.of(app.state.settings))


def test_supervisor_reads_the_call_report(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    supervisor = make_user(Role.SUPERVISOR, full_name="主管周")
    replay_calls(live_server.app)
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url)
    page.fill("input[name=username]", supervisor.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-user]")

    page.click("nav.menu a[data-menu=reports]")
    expect(page.locator("nav.menu a[data-menu=reports]")).to_have_text("统计报表")
    expect(page.locator("#reports [data-tab=calls][aria-selected=true]")).to_have_text("话务")
    page.fill("#report-filters input[name=from]", DAY)
    page.fill("#report-filters input[name=to]", DAY)
    page.select_option("#report-filters select[name=grain]", "30m")
    page.click("#report-run")
    page.wait_for_selector("#report-body[data-ready=true] #report-table")

    table = page.locator("#report-table")
    expect(table.locator("thead th").first).to_have_text("时段")
    periods = table.locator("tbody tr[data-key=support] td.period")
    expect(periods).to_have_text([f"{DAY} 10:00", f"{DAY} 10:30"])
    offered = table.locator("tfoot tr[data-key=support] td[data-code=offered]")
    expect(offered).to_have_text("10")  # 8 calls of answered/ + 2 of transfer/
    header = table.locator("thead th[data-code=service_level_pct]")
    expect(header).to_have_attribute("title", re.compile(r"\S"))  # the formula on hover
    assert page.locator("#report-definitions [data-definition=service_level_pct]").count() == 1

    chart = page.locator("svg[data-chart=sl]").first
    expect(chart).to_be_visible()
    target = chart.locator("line.target")
    expect(target).to_have_attribute("data-target", "80")
    assert chart.locator("circle").count() >= 2  # one point per interval with answered calls

    page.select_option("#language-switch", "en")
    expect(page.locator("#reports nav.tabs [data-tab=calls]")).to_have_text("Calls")
    page.wait_for_selector("#report-body[data-ready=true] #report-table")
    expect(page.locator("#report-table thead th").first).to_have_text("Period")
    expect(page.locator("#report-filters select[name=grain]")).to_have_value("30m")

    with page.expect_download() as info:
        page.click("#report-filters [data-export=csv]")
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert download.suggested_filename.endswith(".csv")
    text = path.read_bytes().decode("utf-8-sig")
    assert "support" in text
    assert DAY in text
    assert not errors, errors


def test_ivr_tab_shows_the_wait_offers(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser, db: Session
) -> None:
    """The IVR tab: the estimated-wait offers as columns (offered, accepted, declined, acceptance) with their
    definitions, and the accepted/declined chart."""
    from playwright.sync_api import expect

    build(db, make_user)
    add_wait_offers(db)
    supervisor = make_user(Role.SUPERVISOR, full_name="主管吴")
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url)
    page.fill("input[name=username]", supervisor.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-user]")
    page.goto(f"{live_server.url}/#/reports/ivr")
    page.fill("#report-filters input[name=from]", FIRST)
    page.fill("#report-filters input[name=to]", LAST)
    page.select_option("#report-filters select[name=grain]", "day")
    page.click("#report-run")
    page.wait_for_selector("#report-body[data-ready=true] #report-table")
    table = page.locator("#report-table")
    expect(table.locator("thead th[data-code=wait_offered]")).to_have_text("回呼提议次数")
    expect(table.locator("thead th[data-code=wait_accepted_pct]")).to_have_attribute(
        "title", "接受回呼 ÷ 回呼提议次数 × 100"
    )
    third = table.locator("tbody tr[data-period^='2026-11-03']")
    expect(third.locator("td[data-code=wait_offered]")).to_have_text("3")
    expect(third.locator("td[data-code=wait_accepted]")).to_have_text("1")
    expect(third.locator("td[data-code=wait_declined]")).to_have_text("2")
    totals = table.locator("tfoot tr")
    expect(totals.locator("td[data-code=wait_offered]")).to_have_text("4")
    expect(totals.locator("td[data-code=wait_accepted_pct]")).to_contain_text("50")
    expect(page.locator("#report-definitions [data-definition=wait_declined]")).to_have_count(1)
    chart = page.locator("svg[data-chart=wait-offer]")
    expect(chart).to_be_visible()
    expect(chart.locator("[data-series=wait_accepted] rect")).to_have_count(7)  # one bar per day

    page.select_option("#language-switch", "en")
    page.wait_for_selector("#report-body[data-ready=true] #report-table")
    expect(page.locator("#report-table thead th[data-code=wait_accepted]")).to_have_text("Offers accepted")
    assert not errors, errors
