"""The IVR admin page in Debian's Chromium: a supervisor opens the flow, breaks it, sees the server's
errors by path, fixes it, saves a new version and activates it; then uploads and plays a prompt."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.security.roles import Role
from ivr.default_flow import DEFAULT_FLOW
from ivr.service import active_flow
from tests.conftest import PASSWORD, MakeUser
from tests.ivr_admin.conftest import wav_bytes
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_edit_invalid_fix_save_activate_and_upload(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser, db: Session, seeded: None, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    user = make_user(Role.SUPERVISOR, full_name="陈静")
    page = browser_page
    page.goto(live_server.url)
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-user]")).to_contain_text("陈静")

    page.click("nav.menu a[data-menu=ivr]")
    expect(page.locator("h2")).to_have_text("自动语音导航")
    expect(page.locator("#ivr-flows tr[data-flow=ivr] [data-active-version]")).to_have_text("1")
    # the active version opens as a readable table: the main menu's keys and where they lead
    expect(page.locator("#ivr-editor")).to_have_attribute("data-version", "1")
    expect(page.locator("#ivr-steps tr[data-step=main]")).to_contain_text("按键菜单")
    expect(page.locator("[data-exits=main]")).to_contain_text("1 → enter_id")
    expect(page.locator("[data-exits=main]")).to_contain_text("0 → agent")

    broken = copy.deepcopy(DEFAULT_FLOW)
    broken["steps"]["orphan"] = {"kind": "hangup", "prompt": "no-such-prompt"}
    page.fill("#ivr-json", json.dumps(broken, ensure_ascii=False, indent=2))
    expect(page.locator("#ivr-steps tr[data-step=orphan]")).to_be_visible()
    page.click("#ivr-validate")
    expect(page.locator("#ivr-errors [data-error-for='steps.orphan']")).to_contain_text(
        "从起始步骤无法到达此步骤"
    )
    expect(page.locator("#ivr-errors [data-error-for='steps.orphan.prompt']").first).to_contain_text(
        "提示音“no-such-prompt”没有zh-CN版本"
    )
    page.click("#ivr-save")  # the server refuses to save it too
    expect(page.locator("#ivr-errors [data-error-for='steps.orphan']")).to_be_visible()

    fixed = copy.deepcopy(DEFAULT_FLOW)
    fixed["steps"]["main"]["timeout_ms"] = 7000
    page.fill("#ivr-json", json.dumps(fixed, ensure_ascii=False, indent=2))
    page.click("#ivr-validate")
    expect(page.locator("#ivr-status")).to_have_text("流程校验通过（共 17 步）")
    expect(page.locator("#ivr-errors li")).to_have_count(0)
    page.fill("#ivr-note", "菜单等待延长到7秒")
    page.click("#ivr-save")
    expect(page.locator("#ivr-status")).to_have_text("已保存为第 2 版")
    expect(page.locator("#ivr-editor")).to_have_attribute("data-version", "2")
    loaded = active_flow(db, name="ivr")
    assert loaded is not None and loaded.version == 1  # saved, not live yet
    page.click("#ivr-activate")
    expect(page.locator("#ivr-status")).to_have_text("第 2 版已生效")
    expect(page.locator("#ivr-flows tr[data-flow=ivr] [data-active-version]")).to_have_text("2")
    db.expire_all()
    loaded = active_flow(db, name="ivr")
    assert loaded is not None and loaded.version == 2

    # prompts: upload a recording, then play it
    expect(page.locator("[data-audio='welcome/zh-CN']")).to_have_attribute("data-has-audio", "false")
    recording = tmp_path / "欢迎.wav"
    recording.write_bytes(wav_bytes())
    page.fill("#ivr-upload input[name=name]", "welcome")
    page.select_option("#ivr-upload select[name=language]", "zh-CN")
    page.set_input_files("#ivr-upload input[type=file]", str(recording))
    page.click("#ivr-upload button[type=submit]")
    expect(page.locator("#ivr-upload-result")).to_have_text("录音已上传：welcome（zh-CN）")
    expect(page.locator("[data-audio='welcome/zh-CN']")).to_have_attribute("data-has-audio", "true")
    page.click("[data-play='welcome/zh-CN']")
    audio = page.locator("[data-audio='welcome/zh-CN'] audio")
    expect(audio).to_have_count(1)
    page.wait_for_function("document.querySelector(\"[data-audio='welcome/zh-CN'] audio\").readyState >= 1")
    # a bad file is refused with the server's message
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio", encoding="utf-8")
    page.set_input_files("#ivr-upload input[type=file]", str(bad))
    page.click("#ivr-upload button[type=submit]")
    expect(page.locator("#ivr-upload-result [data-error-for=file]")).to_contain_text(
        "只能上传 WAV 或 MP3 格式的录音"
    )

    page.select_option("#language-switch", "en")
    expect(page.locator("#ivr-validate")).to_have_text("Validate")
