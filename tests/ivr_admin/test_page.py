"""The IVR admin page in Debian's Chromium: a supervisor opens the flow, breaks it, sees the server's
errors by path, fixes it, saves a new version and activates it; then uploads and plays a prompt. The step
editor: a route step's wait offer and a menu's captions edited as form fields and saved."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.security.roles import Role
from ivr.default_flow import DEFAULT_FLOW
from ivr.models import IvrFlow
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


def test_step_editor_wait_offer_and_captions(
    live_server: LiveServer, browser_page: Any, make_user: MakeUser, db: Session, seeded: None
) -> None:
    """The step editor: a route step's wait offer and a menu's captions as form fields, the server's 422
    beside the field it is about, and a saved version holding exactly what was typed."""
    from playwright.sync_api import expect

    user = make_user(Role.SUPERVISOR, full_name="陈静")
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url)
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-user]")).to_contain_text("陈静")
    page.click("nav.menu a[data-menu=ivr]")
    expect(page.locator("#ivr-editor")).to_have_attribute("data-version", "1")
    editor = page.locator("#ivr-step-editor")
    expect(editor).to_be_hidden()
    expect(page.locator("[data-exits=support]")).to_contain_text("预计等待超过 120 秒时提供回电（按 1）")
    expect(page.locator("[data-exits=main]")).to_contain_text("4 → sales（业务咨询）")

    # the support queue's offer: threshold and key as fields, a bad threshold refused beside its field
    page.click("[data-edit-step=support]")
    expect(editor).to_have_attribute("data-step", "support")
    threshold = editor.locator("[data-path='steps.support.wait_offer.wait_over_s']")
    expect(threshold).to_have_value("120")
    threshold.fill("-5")
    assert json.loads(page.input_value("#ivr-json"))["steps"]["support"]["wait_offer"]["wait_over_s"] == -5
    page.click("#ivr-validate")
    beside = editor.locator("[data-error-for='steps.support.wait_offer.wait_over_s']")
    expect(beside).to_have_text("应不小于 0")
    expect(threshold).to_have_attribute("aria-invalid", "true")
    expect(
        page.locator("#ivr-errors [data-error-for='steps.support.wait_offer.wait_over_s']")
    ).to_be_visible()
    threshold.fill("300")
    expect(beside).to_have_text("")  # the message was about the old value
    editor.locator("[data-path='steps.support.wait_offer.offer_key']").select_option("9")
    expect(page.locator("[data-exits=support]")).to_contain_text("预计等待超过 300 秒时提供回电（按 9）")

    # the sales queue offers no call-back any more
    page.click("[data-edit-step=sales]")
    expect(editor).to_have_attribute("data-step", "sales")
    editor.locator("#ivr-offer-on").uncheck()
    expect(editor.locator("[data-path='steps.sales.wait_offer.wait_over_s']")).to_have_count(0)

    # the main menu's captions: a too long one is refused beside it (and the editor opens that step)
    page.click("#ivr-step-close")
    expect(editor).to_be_hidden()
    page.click("[data-edit-step=main]")
    caption = editor.locator("[data-path='steps.main.options.3.caption']")
    expect(caption).to_have_value("sales")
    expect(editor.locator("[data-caption-preview='3']")).to_have_text("业务咨询")
    caption.fill("宽" * 70)
    page.click("#ivr-step-close")
    page.click("#ivr-validate")
    expect(editor).to_have_attribute("data-step", "main")
    expect(editor.locator("[data-error-for='steps.main.options.3.caption']")).to_have_text("最多 64 个字符")
    caption = editor.locator("[data-path='steps.main.options.3.caption']")
    caption.fill("新装宽带")
    expect(editor.locator("[data-caption-preview='3']")).to_have_text("新装宽带")
    editor.locator("[data-path='steps.main.options.5.caption']").fill("")  # 0: no caption

    page.click("#ivr-validate")
    expect(page.locator("#ivr-status")).to_have_text("流程校验通过（共 17 步）")
    page.fill("#ivr-note", "投诉与咨询排队改为 5 分钟提供回电")
    page.click("#ivr-save")
    expect(page.locator("#ivr-status")).to_have_text("已保存为第 2 版")
    expect(page.locator("[data-exits=main]")).to_contain_text("4 → sales（新装宽带）")

    db.expire_all()
    saved = db.scalars(select(IvrFlow).where(IvrFlow.name == "ivr", IvrFlow.version == 2)).one()
    steps = saved.definition["steps"]
    assert steps["support"]["wait_offer"]["wait_over_s"] == 300
    assert steps["support"]["wait_offer"]["offer_key"] == "9"
    assert steps["support"]["wait_offer"]["offer_prompt"] == "wait-offer"  # untouched fields stay
    assert steps["complaints"]["wait_offer"]["wait_over_s"] == 120
    assert "wait_offer" not in steps["sales"]
    assert [o.get("caption") for o in steps["main"]["options"]] == [
        "account",
        "case_status",
        "complaint",
        "新装宽带",
        "billing",
        None,
    ]
    assert saved.note == "投诉与咨询排队改为 5 分钟提供回电" and not saved.is_active

    page.select_option("#language-switch", "en")
    page.click("[data-edit-step=support]")
    label = page.locator("#ivr-step-editor [data-field='steps.support.wait_offer.wait_over_s'] label")
    expect(label).to_have_text("Offer when the estimated wait exceeds (s)")
    assert not errors, errors
