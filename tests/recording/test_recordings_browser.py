"""The recordings page in Chromium: a supervisor filters the list, plays a call (HTTP ranges, audited) and
edits the policy; an agent sees only their own call."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.security.roles import Role
from recording.models import Recording, RecordingPolicy
from recording.worker import Ingestor
from tests.conftest import PASSWORD
from tests.live import LiveServer
from tests.recording.conftest import MakeUser, captured

pytestmark = pytest.mark.browser


def login(page: Any, url: str, username: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-user]")


def test_supervisor_plays_and_edits_policy_agent_sees_own(
    live_server: LiveServer, browser_page: Any, ingestor: Ingestor, make_user: MakeUser, db: Session
) -> None:
    from playwright.sync_api import expect

    agent = make_user(Role.AGENT, full_name="王芳")
    supervisor = make_user(Role.SUPERVISOR, full_name="主管李")
    for uniqueid, owner in (("1795400369.2", agent.id), ("1795401089.0", None)):
        row = db.get(Recording, ingestor.ingest(uniqueid, captured(uniqueid)).recording_id)
        assert row is not None
        row.agent_user_id, row.agent, row.queue = owner, "Bob" if owner is None else None, "support"
    db.commit()
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, live_server.url, supervisor.username)
    page.goto(f"{live_server.url}/#/recordings")
    rows = page.locator("#recordings table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#recordings")).to_contain_text("已存档")
    expect(page.locator("#recordings")).to_contain_text("0:12")
    page.fill("#recordings input[name=agent]", "Bob")
    page.click("#recordings form.toolbar button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bob")
    played = page.evaluate(
        """async () => {
            const audio = document.querySelector('#recordings audio');
            audio.muted = true;
            try { await audio.play(); } catch (e) { return 'error: ' + e; }
            await new Promise((r) => setTimeout(r, 600));
            audio.pause();
            return audio.currentTime > 0 ? 'played' : 'stalled';
        }"""
    )
    assert played == "played"
    db.expire_all()
    plays = db.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play")).all()
    assert plays and {p.user_id for p in plays} == {supervisor.id}
    # the policy editor
    page.click("#recording-policies-link")
    page.wait_for_selector("#recording-policies")
    page.click("#add-policy")
    last = page.locator("#recording-policies tbody tr").last
    last.locator("input[name=queue]").fill("billing")
    last.locator("select[name=mode]").select_option("share")
    last.locator("input[name=share_pct]").fill("150")
    page.click("#save-policies")
    expect(page.locator("#recording-policies [data-field='0.share_pct']")).to_contain_text("应不大于 100")
    last.locator("input[name=share_pct]").fill("25")
    page.click("#save-policies")
    expect(page.locator("#toast")).to_contain_text("录音策略已保存")
    db.expire_all()
    saved = db.scalars(select(RecordingPolicy)).all()
    assert [(p.queue, p.mode, p.share_pct) for p in saved] == [("billing", "share", 25)]
    assert errors == []
    # the agent: their own call only, no policy editor link
    page.click("#logout")
    login(page, live_server.url, agent.username)
    page.goto(f"{live_server.url}/#/recordings")
    expect(page.locator("#recordings table.list tbody tr")).to_have_count(1)
    expect(page.locator("#recording-policies-link")).to_have_count(0)
