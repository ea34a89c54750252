"""The wallboard in Chromium: a queue's service-level figure carries its formula on hover (the queue's variant
named in the wallboard's own words, then the reports' translated definitions for a viewer who may read
them), in Chinese by default."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.clock import utcnow
from core.security.roles import Role
from tests.conftest import PASSWORD, MakeUser
from tests.live import LiveServer
from tests.wallboard.helpers import add_leg

pytestmark = pytest.mark.browser


def test_service_level_shows_its_formula_on_hover(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser
) -> None:
    from playwright.sync_api import expect

    app = live_server.app
    app.state.settings.service_level_variants = {"vip": "offered"}
    now = utcnow()
    with app.state.session_factory() as session:
        add_leg(session, queue="support", joined_at=now - timedelta(seconds=90), wait_s=5)
        add_leg(session, queue="vip", joined_at=now - timedelta(seconds=80), wait_s=30)
    supervisor = make_user(Role.SUPERVISOR, full_name="主管周")
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url)
    page.fill("input[name=username]", supervisor.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-user]")
    page.goto(f"{live_server.url}/#/wallboard")

    support = page.locator("#queue-tiles [data-queue=support] [data-sl-variant]")
    expect(support).to_have_attribute("data-sl-variant", "answered_abandoned")
    expect(support.locator("[data-figure=service_level]")).to_have_text("100%")
    title = support.get_attribute("title") or ""
    assert "服务水平口径：按接通量与放弃量" in title
    assert "20 秒内接通 ÷ (接通 + 放弃 − 短时放弃（5 秒内）) × 100" in title
    assert "服务水平（%）" in title  # the reports' definition, fetched once (the viewer may read reports)
    vip = page.locator("#queue-tiles [data-queue=vip] [data-sl-variant]")
    expect(vip).to_have_attribute("data-sl-variant", "offered")
    expect(vip).to_have_attribute(
        "title",
        "服务水平口径：按进线量\n20 秒内接通 ÷ (进线 − 短时放弃（5 秒内）) × 100\n" + title.split("\n", 2)[2],
    )
    assert errors == []
