"""The QA workbench in Chromium, end to end against the real backend: a captured Asterisk WAV goes through
the recording worker (stored as MP3, analysed); an inspector (zh-CN) opens the call assigned to her, plays
it (a 206 range request, the playhead moves), pins a comment with the keyboard, deducts a point without
evidence (the server's 422 lands beside the evidence box), adds the evidence and submits; the agent sees
it under 我的质检 and disputes it with a reason; the QA lead rescores it. The database is checked at each
step."""

from __future__ import annotations

import re
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.audit.service import SYSTEM
from core.people.models import User
from core.security.roles import Role
from qa import service as qa
from qa.models import (
    Assignment,
    AssignmentStatus,
    Calibration,
    Evaluation,
    EvaluationStatus,
    ScorecardVersion,
)
from qa.sampling_models import SamplingRule, SamplingRun
from qa.schemas import ScorecardIn
from recording.config import RecordingSettings
from recording.models import Recording, RecordingStatus
from recording.storage import make_store
from recording.worker import Ingestor
from tests.conftest import MakeUser
from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, open_page

pytestmark = pytest.mark.browser

FIXTURES = (
    Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk" / "answered" / "recordings"
)
WAV = FIXTURES / "1795400369.2.wav"  # 12 s, the lab's Bob on "support"
UNIQUEID = "1795400369.2"

DEFINITION: dict[str, Any] = {
    "sections": [
        {
            "key": "opening",
            "title": "开场服务",
            "weight": 1,
            "items": [
                {"key": "greet", "title": "标准开场白并报工号", "weight": 1, "kind": "yes_no"},
                {"key": "verify", "title": "核实客户身份", "weight": 1, "kind": "yes_no", "allow_na": True},
            ],
        },
        {
            "key": "handling",
            "title": "业务处理",
            "weight": 2,
            "items": [
                {"key": "accuracy", "title": "解答准确", "weight": 2, "kind": "scale", "scale_max": 5},
                {
                    "key": "courtesy",
                    "title": "文明用语",
                    "weight": 1,
                    "kind": "yes_no",
                    "critical": "evaluation",
                },
            ],
        },
    ],
    "grade_bands": [
        {"grade": "优秀", "min_pct": 90},
        {"grade": "良好", "min_pct": 80},
        {"grade": "合格", "min_pct": 60},
        {"grade": "不合格", "min_pct": 0},
    ],
    "standard_score": 100,
}


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
            headless=True,
        )
        yield chromium
        chromium.close()


def stereo_wav(path: Path) -> None:
    """A two-channel call (caller left, agent right) from the captured voice: the caller speaks 0–6 s, the
    agent 4–10 s (2 s of overtalk), nobody 10–24 s (a long silence), the agent again 24–30 s."""
    with wave.open(str(WAV)) as source:
        rate = source.getframerate()
        voice = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    channels = np.zeros((2, 30 * rate), dtype="<i2")
    channels[0, 0 : 6 * rate] = voice[: 6 * rate]
    channels[1, 4 * rate : 10 * rate] = voice[6 * rate : 12 * rate]
    channels[1, 24 * rate : 30 * rate] = voice[: 6 * rate]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(channels.T.tobytes())


def stored_recording(app: FastAPI, db: Session, agent: User, *, stereo: bool = False) -> Recording:
    """A WAV through the recording worker, as the PBX's spool would hand it over: the captured one (mixed
    mono) or a stereo one made from it."""
    settings = RecordingSettings.from_app(app.state.settings)
    settings.spool.mkdir(parents=True, exist_ok=True)
    if stereo:
        stereo_wav(settings.spool / f"{UNIQUEID}.wav")
    else:
        shutil.copy(WAV, settings.spool / f"{UNIQUEID}.wav")
    ingestor = Ingestor(app.state.session_factory, make_store(settings), settings)
    result = ingestor.ingest(UNIQUEID)
    assert result.status is RecordingStatus.STORED, result.error
    row = db.get(Recording, result.recording_id)
    assert row is not None
    # No call row in this database: say whose call it was, as the call's facts would have.
    row.agent_user_id, row.agent, row.queue, row.linkedid = agent.id, agent.full_name, "support", UNIQUEID
    db.commit()
    return row


def fresh(db: Session, row: Any) -> Any:
    db.expire_all()
    return db.get(type(row), row.id)


def test_inspector_scores_agent_disputes_lead_rescores(
    live_server: LiveServer, app: FastAPI, browser: Any, make_user: MakeUser, db: Session
) -> None:
    from playwright.sync_api import expect

    inspector = make_user(Role.QA_INSPECTOR, full_name="质检员陈静", agent_number="9201")
    agent = make_user(Role.AGENT, full_name="王芳", agent_number="1005")
    lead = make_user(Role.QA_LEAD, full_name="质检主管周敏", agent_number="9102")
    recording = stored_recording(app, db, agent)
    card = qa.create_scorecard(
        db,
        data=ScorecardIn.model_validate({"name": "投诉热线通话质检", "definition": DEFINITION}),
        actor=SYSTEM,
    )
    assignment = qa.assign(
        db,
        recording_id=recording.id,
        scorecard_id=card.id,
        inspector_id=inspector.id,
        reason="manual",
        actor=SYSTEM,
    )
    db.commit()
    url = live_server.url

    # --- the inspector opens the assigned call --------------------------------------------------------
    page = open_page(browser, url, inspector.username)
    audio_responses: list[int] = []
    page.on("response", lambda r: audio_responses.append(r.status) if "/audio" in r.url else None)
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/qa/assignments" in r.url else None)
    page.click("nav.menu a[href='#/qa']")
    row = page.locator(f"#qa-assigned tr[data-id='{assignment.id}']")
    expect(row).to_contain_text("王芳")
    row.click()
    page.wait_for_selector("#qa-workbench")
    expect(page.locator("#qa-wave svg.qa-wave-svg")).to_be_visible()  # the analysis' waveform
    assert page.locator("#qa-wave g.qa-lane").count() >= 1
    expect(page.locator("#qa-live-total [data-figure=total_pct]")).to_have_text("100.0%")
    # the workbench asks for its one assignment, not the whole list
    assert any(u.endswith(f"/api/qa/assignments/{assignment.id}") for u in api_calls), api_calls
    assert not [u for u in api_calls if "limit=500" in u], api_calls

    # --- plays it: space starts the audio (a range request), the playhead follows, → jumps 5 s --------
    page.locator("h2").first.click()
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('#qa-audio').currentTime > 0.3")
    assert 206 in audio_responses, audio_responses
    page.keyboard.press("Space")  # pause
    before = page.evaluate("document.querySelector('#qa-audio').currentTime")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.querySelector('#qa-audio').currentTime >= {before + 4.5}")
    assert float(page.locator("#qa-playhead").get_attribute("x1") or 0) > 0
    played = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "recording.play", AuditEntry.user_id == inspector.id)
    ).all()
    assert played, "playing the recording leaves an audit row"

    # --- C pins a comment at the current time; clicking it seeks back there ----------------------------
    page.keyboard.press("c")
    expect(page.locator("#qa-comment-text")).to_be_focused()
    page.keyboard.type("开场未报工号")
    page.keyboard.press("Enter")
    comment = page.locator("#qa-comments [data-comment-at]")
    expect(comment).to_have_count(1)
    at_ms = int(comment.get_attribute("data-comment-at") or 0)
    assert at_ms >= 4500
    page.evaluate("document.querySelector('#qa-audio').currentTime = 0")
    comment.click()
    page.wait_for_function(
        f"Math.abs(document.querySelector('#qa-audio').currentTime * 1000 - {at_ms}) < 300"
    )

    # --- a draft is saved (POST) and comes back when the call is opened again --------------------------
    page.click("#qa-save-draft")
    expect(page.locator("#qa-save-status")).not_to_be_empty()
    draft = db.scalar(select(Evaluation).where(Evaluation.assignment_id == assignment.id))
    assert draft is not None and draft.status is EvaluationStatus.DRAFT
    assert draft.comments == [{"at_ms": at_ms, "text": "开场未报工号"}]
    page.click(".qa-tabs a[href='#/qa']")
    expect(row).to_contain_text("已存草稿")
    row.click()
    expect(page.locator("#qa-comments [data-comment-at]")).to_have_count(1)

    # --- a deduction without evidence: the live total drops, submit is refused beside the field --------
    page.click("[data-choice='greet:0']")
    page.keyboard.press("Space")  # on the radio just clicked: the audio plays, the answer stays
    page.wait_for_function("!document.querySelector('#qa-audio').paused")
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('#qa-audio').paused")
    expect(page.locator("[data-choice='greet:0'] input")).to_be_checked()
    expect(page.locator("#qa-live-total [data-figure=total_pct]")).not_to_have_text("100.0%")
    page.click("#qa-submit")
    error = page.locator("[data-error-for='answers.greet.evidence']")
    expect(error).to_be_visible()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.inner_text()), error.inner_text()
    assert fresh(db, draft).status is EvaluationStatus.DRAFT
    assert draft.answers["greet"]["value"] == 1  # the refused save changed nothing

    # --- with the evidence, the draft is submitted (PUT) -----------------------------------------------
    page.fill("#qa-evidence-greet", "00:03 接起电话未使用标准开场白，也未报工号")
    page.fill("#qa-summary", "整体服务态度良好，注意开场规范。")
    page.click("#qa-submit")
    page.wait_for_url(re.compile(r"#/qa/evaluation/\d+$"))
    evaluation = fresh(db, draft)
    assert evaluation.status is EvaluationStatus.SUBMITTED
    assert evaluation.answers["greet"] == {
        "value": 0,
        "evidence": "00:03 接起电话未使用标准开场白，也未报工号",
    }
    assert evaluation.answers["accuracy"]["value"] == 5
    assert evaluation.comments == [{"at_ms": at_ms, "text": "开场未报工号"}]
    assert evaluation.agent_user_id == agent.id
    assert evaluation.total_pct is not None and evaluation.total_pct < 100
    submitted_pct = evaluation.total_pct
    assert fresh(db, assignment).status is AssignmentStatus.DONE
    expect(page.locator("#qa-result [data-figure=total_pct]")).to_have_text(f"{submitted_pct:.1f}%")
    assert page.errors == []

    # --- the agent sees it under 我的质检 and disputes it ------------------------------------------------
    agent_page = open_page(browser, url, agent.username)
    menu = agent_page.locator("nav.menu a[href='#/qa/mine']")
    expect(menu).to_have_text("我的质检")
    menu.click()
    agent_page.locator(f"#qa-mine tr[data-id='{evaluation.id}']").click()
    expect(agent_page.locator("[data-evidence=greet]")).to_have_text(
        "00:03 接起电话未使用标准开场白，也未报工号"
    )
    expect(agent_page.locator("#qa-comments [data-comment-at]")).to_have_count(1)
    agent_page.click("#qa-dispute-open")
    agent_page.click("#qa-dispute-send")  # no reason: refused beside the box
    expect(agent_page.locator("[data-error-for=reason]")).to_be_visible()
    assert fresh(db, evaluation).status is EvaluationStatus.SUBMITTED
    agent_page.fill("#qa-dispute-reason", "客户来电时系统卡顿，开场白已说但录音开头缺失")
    agent_page.click("#qa-dispute-send")
    expect(agent_page.locator("#qa-evaluation")).to_have_attribute("data-status", "disputed")
    disputed = fresh(db, evaluation)
    assert disputed.status is EvaluationStatus.DISPUTED
    assert disputed.dispute_reason == "客户来电时系统卡顿，开场白已说但录音开头缺失"
    assert agent_page.errors == []

    # --- the QA lead rescores it --------------------------------------------------------------------------
    lead_page = open_page(browser, url, lead.username)
    lead_page.goto(f"{url}/#/qa/disputes")
    lead_page.locator(f"#qa-disputes tr[data-id='{evaluation.id}']").click()
    expect(lead_page.locator("[data-fact=dispute_reason]")).to_contain_text("系统卡顿")
    lead_page.click("[data-outcome=rescored] input")
    lead_page.click("#qa-rescore [data-choice='greet:1']")
    expect(lead_page.locator("#qa-rescore-total [data-figure=total_pct]")).to_have_text("100.0%")
    lead_page.fill("#qa-resolve-note", "复听确认开场白完整，改为满分")
    lead_page.click("#qa-resolve-send")
    lead_page.wait_for_url("**/#/qa/disputes")
    resolved = fresh(db, evaluation)
    assert resolved.status is EvaluationStatus.RESOLVED
    assert resolved.resolution is not None and resolved.resolution.value == "rescored"
    assert resolved.resolution_note == "复听确认开场白完整，改为满分"
    assert resolved.resolved_by == lead.id
    assert resolved.total_pct == 100
    assert resolved.history and resolved.history[0]["result"]["total_pct"] == submitted_pct
    lead_page.goto(f"{url}/#/qa/evaluation/{evaluation.id}")
    expect(lead_page.locator("#qa-history li")).to_have_count(1)
    expect(lead_page.locator("#qa-result [data-figure=total_pct]")).to_have_text("100.0%")

    # --- the results: Wang Fang's row and her line on the trend chart -------------------------------------
    lead_page.click(".qa-tabs a[href='#/qa/results']")
    result_row = lead_page.locator("#qa-results tbody tr[data-key]")
    expect(result_row).to_have_count(1)
    expect(result_row).to_contain_text("王芳")
    expect(result_row).to_contain_text("100.0%")
    expect(lead_page.locator("#qa-trend svg [data-series] circle")).to_have_count(1)
    assert lead_page.errors == []


def test_qa_lead_designs_a_scorecard_sets_sampling_and_calibrates(
    live_server: LiveServer, app: FastAPI, browser: Any, make_user: MakeUser, db: Session
) -> None:
    """The QA lead's side in English: the designer (a 422 beside its field, save = a new version), the
    sampling rules and a run, a calibration with its spread, the results with their export links."""
    from playwright.sync_api import expect

    lead = make_user(Role.QA_LEAD, full_name="Zhou Min", agent_number="9102")
    first = make_user(Role.QA_INSPECTOR, full_name="Chen Jing", agent_number="9201")
    second = make_user(Role.QA_INSPECTOR, full_name="Li Na", agent_number="9202")
    agent = make_user(Role.AGENT, full_name="Wang Fang", agent_number="1005")
    recording = stored_recording(app, db, agent)
    url = live_server.url
    page = open_page(browser, url, lead.username, "en")

    # --- a new scorecard: an empty item title is refused beside it; then saved as version 1 ----------
    page.click("nav.menu a[href='#/qa']")
    page.click(".qa-tabs a[href='#/qa/scorecards']")
    page.click("#qa-scorecard-new")
    page.fill("#qa-sc-name", "Complaints line")
    page.fill("[data-path='definition.sections.0.title']", "Opening")
    page.click("#qa-designer-save")
    expect(page.locator("[data-error-for='definition.sections.0.items.0.title']")).to_be_visible()
    assert db.scalar(select(ScorecardVersion)) is None
    page.fill("[data-path='definition.sections.0.items.0.title']", "Greets with name and number")
    page.click("[data-add-item='0']")
    page.fill("[data-path='definition.sections.0.items.1.title']", "Answer accurate")
    page.select_option("[data-path='definition.sections.0.items.1.kind']", "scale")
    page.fill("[data-path='definition.sections.0.items.1.scale_max']", "4")
    page.select_option("[data-path='definition.sections.0.items.1.critical']", "evaluation")
    page.click("#qa-designer-save")
    page.wait_for_url(re.compile(r"#/qa/scorecards/\d+$"))
    v1 = db.scalar(select(ScorecardVersion))
    assert v1 is not None and v1.version == 1
    items = v1.definition["sections"][0]["items"]
    assert [i["title"] for i in items] == ["Greets with name and number", "Answer accurate"]
    assert items[1]["kind"] == "scale" and items[1]["scale_max"] == 4 and items[1]["critical"] == "evaluation"

    # --- editing makes version 2; version 1 stays as it was -----------------------------------------
    page.fill("[data-path='definition.standard_score']", "10")
    page.click("#qa-designer-save")
    expect(page.locator("[data-version='2']")).to_be_visible()
    db.expire_all()
    versions = db.scalars(select(ScorecardVersion).order_by(ScorecardVersion.version)).all()
    assert [(v.version, v.standard_score) for v in versions] == [(1, 100), (2, 10)]

    # --- sampling: a long-silence rule (20 s) for Chen Jing; a run over the last week -----------------
    page.click(".qa-tabs a[href='#/qa/sampling']")
    page.click("#qa-rule-add")
    page.select_option("[data-path='0.kind']", "long_silence")
    page.fill("[data-path='0.code']", "Long silence")  # not a code: refused beside the box
    page.click("#qa-rules-save")
    expect(page.locator("[data-error-for='0.code']")).to_be_visible()
    page.fill("[data-path='0.code']", "long_silence_20s")
    page.fill("[data-path='0.params.min_silence_ms']", "20")
    page.select_option("[data-path='0.scorecard_id']", label="Complaints line")
    picker = page.locator("[data-path='0.inspector_ids']")
    picker.locator("summary").click()
    expect(picker.locator(f"[data-inspector='{first.id}']")).to_contain_text("Chen Jing (9201)")
    picker.locator(f"[data-inspector='{first.id}'] input").check()
    expect(picker.locator("summary")).to_contain_text("1 chosen: Chen Jing")
    page.click("#qa-rules-save")
    expect(page.locator("#qa-rules-status")).to_contain_text("saved")
    expect(page.locator("#qa-rules tr[data-rule='long_silence_20s']")).to_be_visible()
    db.expire_all()
    rule = db.scalar(select(SamplingRule))
    assert rule is not None
    assert (rule.code, rule.kind.value, rule.params) == (
        "long_silence_20s",
        "long_silence",
        {"min_silence_ms": 20000},
    )
    assert rule.inspector_ids == [first.id] and rule.active
    page.click("#qa-run-form button[type=submit]")
    expect(page.locator("#qa-run-result [data-created]")).to_be_visible()
    assert db.scalar(select(SamplingRun)) is not None

    # --- calibration: both inspectors on the same call; the spread page lists them ---------------------
    page.click(".qa-tabs a[href='#/qa/calibrations']")
    page.fill("#qa-calibration-form [data-path=recording_id]", str(recording.id))
    chooser = page.locator("#qa-calibration-form [data-path=inspector_ids]")
    chooser.locator("summary").click()
    for who in (first, second):
        chooser.locator(f"[data-inspector='{who.id}'] input").check()
    expect(chooser.locator("summary")).to_contain_text("2 chosen")
    page.click("#qa-calibration-form button[type=submit]")
    page.wait_for_url(re.compile(r"#/qa/calibrations/\d+$"))
    expect(page.locator("#qa-calibration-inspectors tr[data-inspector]")).to_have_count(2)
    calibration = db.scalar(select(Calibration))
    assert calibration is not None and calibration.recording_id == recording.id
    calibrated = db.scalars(select(Assignment).where(Assignment.calibration_id == calibration.id)).all()
    assert sorted(a.inspector_id for a in calibrated) == sorted([first.id, second.id])
    # the list of calibrations: who takes part, how many submitted
    page.click(".qa-tabs a[href='#/qa/calibrations']")
    listed = page.locator(f"#qa-calibrations tr[data-id='{calibration.id}']")
    expect(listed).to_contain_text("Wang Fang")
    expect(listed).to_contain_text("Chen Jing")
    expect(listed).to_contain_text("0 / 2")

    # --- a manual assignment: the inspector is chosen by name, with her backlog -----------------------
    other_call = Recording(uniqueid="1795400369.9", linkedid="1795400369.9", status=RecordingStatus.STORED)
    db.add(other_call)
    db.commit()
    page.click(".qa-tabs a[href='#/qa/scorecards']")
    select_inspector = page.locator("#qa-assign-form [data-path=inspector_id]")
    expect(select_inspector.locator(f"option[value='{second.id}']")).to_have_text(
        re.compile(r"^Li Na \(9202\) · .+ · 1 open$")  # the calibration's assignment is open
    )
    page.fill("#qa-assign-form [data-path=recording_id]", str(other_call.id))
    page.click("#qa-assign-form button[type=submit]")  # nobody chosen: refused beside the select
    expect(page.locator("#qa-assign-form [aria-invalid=true]")).to_have_attribute("data-path", "inspector_id")
    expect(page.locator("[data-error-for=inspector_id]")).to_have_text("Required")
    select_inspector.select_option(str(second.id))
    page.click("#qa-assign-form button[type=submit]")
    expect(page.locator("#qa-assign-form [aria-invalid=true]")).to_have_count(0)
    db.expire_all()
    manual = db.scalar(select(Assignment).where(Assignment.recording_id == other_call.id))
    assert manual is not None and (manual.inspector_id, manual.reason) == (second.id, "manual")

    # --- an inspector sees the calibration she takes part in and opens her scoring from the list ---
    inspector_page = open_page(browser, url, first.username)
    inspector_page.click("nav.menu a[href='#/qa']")
    inspector_page.click(".qa-tabs a[href='#/qa/calibrations']")
    mine = inspector_page.locator(f"#qa-calibrations tr[data-id='{calibration.id}']")
    expect(mine).to_contain_text("待评分")
    expect(inspector_page.locator("#qa-calibration-form")).to_have_count(0)  # managers start them
    mine.click()
    own = next(a for a in calibrated if a.inspector_id == first.id)
    expect(inspector_page.locator("#qa-workbench")).to_have_attribute("data-assignment", str(own.id))
    assert inspector_page.errors == []

    # --- results: the table and its exports ---------------------------------------------------------
    page.click(".qa-tabs a[href='#/qa/results']")
    expect(page.locator("#qa-results")).to_be_visible()
    href = page.locator("#qa-results-export [data-export=csv]").get_attribute("href") or ""
    assert "format=csv" in href and "group=agent" in href
    answer = page.request.get(f"{url}{href}")
    assert answer.status == 200, answer.text()
    assert page.errors == []


def test_workbench_draws_each_channel_and_seeks(
    live_server: LiveServer, app: FastAPI, browser: Any, make_user: MakeUser, db: Session
) -> None:
    """A stereo call: one lane per channel with its activity, the overtalk and the long silence marked where
    the analysis found them; a click on the waveform seeks there, ← goes back 5 s."""
    from playwright.sync_api import expect

    inspector = make_user(Role.QA_INSPECTOR, full_name="质检员陈静", agent_number="9201")
    agent = make_user(Role.AGENT, full_name="王芳", agent_number="1005")
    recording = stored_recording(app, db, agent, stereo=True)
    assert recording.channels == 2
    card = qa.create_scorecard(
        db, data=ScorecardIn.model_validate({"name": "通话质检", "definition": DEFINITION}), actor=SYSTEM
    )
    assignment = qa.assign(
        db,
        recording_id=recording.id,
        scorecard_id=card.id,
        inspector_id=inspector.id,
        reason="overtalk",
        actor=SYSTEM,
    )
    db.commit()
    page = open_page(browser, live_server.url, inspector.username)
    page.goto(f"{live_server.url}/#/qa/evaluate/{assignment.id}")
    wave_svg = page.locator("#qa-wave svg.qa-wave-svg")
    expect(wave_svg).to_be_visible()
    expect(page.locator("#qa-wave")).to_have_attribute("data-channels", "caller,agent")
    expect(page.locator("[data-fact=reason]")).to_have_text("抢话")
    for channel in ("caller", "agent"):
        assert page.locator(f"g.qa-lane[data-channel={channel}] rect.qa-activity").count() >= 1
    # the marks sit where the analysis put them (in the 1000-wide view box: 30 s → 33.3 per second)
    overtalk = page.locator("rect.qa-overtalk").first
    assert 3.5 * 33.3 < float(overtalk.get_attribute("x") or 0) < 4.5 * 33.3
    silences = [float(x.get_attribute("x") or 0) for x in page.locator("rect.qa-silence").all()]
    assert any(9.5 * 33.3 < x < 10.5 * 33.3 for x in silences), silences

    box = wave_svg.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("Math.abs(document.querySelector('#qa-audio').currentTime - 15) < 0.6")
    expect(page.locator("#qa-clock")).to_have_text(re.compile(r"0:1[45] / 0:30"))
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("Math.abs(document.querySelector('#qa-audio').currentTime - 10) < 0.6")
    assert page.errors == []
