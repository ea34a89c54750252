"""The IVR admin API: flows (validate, versions, activation and roll-back), prompts (list, upload with
conversion, listen), permissions and audit rows."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.security.roles import Role
from ivr import prompts
from ivr.default_flow import DEFAULT_FLOW
from ivr.models import IvrFlow
from ivr.service import active_flow
from tests.conftest import LoginAs
from tests.ivr.test_flows import flow
from tests.ivr_admin.conftest import wav_bytes


def broken_flow() -> dict[str, Any]:
    """A dead end, an unreachable step and an unknown prompt."""
    data = flow(unknown_case={"kind": "say", "prompt": "no-such-prompt", "next": "loop"})
    data["steps"]["loop"] = {"kind": "say", "prompt": "hold", "next": "unknown_case"}
    data["steps"]["orphan"] = {"kind": "hangup"}
    return data


def audits(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def by_field(body: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in body["fields"]:
        out.setdefault(item["field"], []).append(item["message"])
    return out


# --- flows --------------------------------------------------------------------------------------


def test_list_flows_and_read_a_version(admin: TestClient) -> None:
    flows = {item["name"]: item for item in admin.get("/api/ivr/flows").json()}
    assert set(flows) == {"ivr", "callback", "survey"}
    assert flows["ivr"]["active_version"] == 1
    assert [v["version"] for v in flows["ivr"]["versions"]] == [1]
    version = admin.get("/api/ivr/flows/ivr/versions/1").json()
    assert version["is_active"] is True and version["definition"]["start"] == "welcome"
    assert admin.get("/api/ivr/flows/ivr/versions/9").status_code == 404


def test_validate_reports_every_problem_with_its_path_in_chinese_by_default(admin: TestClient) -> None:
    response = admin.post("/api/ivr/flows/validate", json={"definition": broken_flow()})
    assert response.status_code == 422
    fields = by_field(response.json())
    assert "此步骤走不到结束（转队列、转人工或挂机）" in fields["steps.loop"]
    assert "从起始步骤无法到达此步骤" in fields["steps.orphan"]
    assert "提示音“no-such-prompt”没有zh-CN版本" in fields["steps.unknown_case.prompt"]
    good = admin.post("/api/ivr/flows/validate", json={"definition": flow()})
    assert good.status_code == 200 and good.json() == {"valid": True, "steps": 17}


def test_validate_in_english(admin: TestClient) -> None:
    data = flow(main={**DEFAULT_FLOW["steps"]["main"], "options": [{"digit": "1", "next": "nowhere"}]})
    response = admin.post("/api/ivr/flows/validate?lang=en", json={"definition": data})
    assert response.status_code == 422
    fields = by_field(response.json())
    assert fields["steps.main.options.0.next"] == ["There is no step “nowhere”"]
    # the steps only the removed options reached are now unreachable
    assert "This step cannot be reached from the start" in fields["steps.enter_case"]
    shape = admin.post(
        "/api/ivr/flows/validate",
        json={"definition": flow(welcome={"kind": "say", "next": "identify"})},
        headers={"Accept-Language": "en"},
    )
    assert shape.status_code == 422
    assert by_field(shape.json())["steps.welcome.prompt"] == ["Required"]


def test_save_versions_activate_and_roll_back(admin: TestClient, db: Session) -> None:
    invalid = admin.post("/api/ivr/flows/ivr/versions", json={"definition": broken_flow()})
    assert invalid.status_code == 422
    assert db.scalars(select(IvrFlow).where(IvrFlow.name == "ivr")).all()[-1].version == 1

    changed = flow(main={**DEFAULT_FLOW["steps"]["main"], "timeout_ms": 7000})
    saved = admin.post("/api/ivr/flows/ivr/versions", json={"definition": changed, "note": "longer wait"})
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert (body["version"], body["is_active"], body["note"]) == (2, False, "longer wait")
    assert body["created_by_name"] == admin.user.full_name  # type: ignore[attr-defined]
    loaded = active_flow(db, name="ivr")
    assert loaded is not None and loaded.version == 1  # saved, not yet live

    activated = admin.post("/api/ivr/flows/ivr/versions/2/activate")
    assert activated.status_code == 200 and activated.json()["is_active"] is True
    db.expire_all()
    loaded = active_flow(db, name="ivr")
    assert loaded is not None and loaded.version == 2
    assert loaded.definition.steps["main"].timeout_ms == 7000  # type: ignore[union-attr]

    # roll back: the old version again, exactly one active
    assert admin.post("/api/ivr/flows/ivr/versions/1/activate").status_code == 200
    db.expire_all()
    rows = db.scalars(select(IvrFlow).where(IvrFlow.name == "ivr").order_by(IvrFlow.version)).all()
    assert [(r.version, r.is_active) for r in rows] == [(1, True), (2, False)]

    third = admin.post("/api/ivr/flows/ivr/versions", json={"definition": changed, "activate": True})
    assert third.json()["version"] == 3 and third.json()["is_active"] is True
    listed = {f["name"]: f for f in admin.get("/api/ivr/flows").json()}["ivr"]
    assert listed["active_version"] == 3 and [v["version"] for v in listed["versions"]] == [3, 2, 1]

    saves = audits(db, "ivr.flow.save")
    assert [e.detail["version"] for e in saves if e.detail] == [2, 3]
    assert all(e.user_id == admin.user.id and e.allowed for e in saves)  # type: ignore[attr-defined]
    activations = audits(db, "ivr.flow.activate")
    assert [(e.detail or {}).get("previous_version") for e in activations] == [1, 2]


def test_a_flow_name_must_be_a_script(admin: TestClient) -> None:
    response = admin.post("/api/ivr/flows/other/versions", json={"definition": flow()})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "name"


def test_an_agent_is_refused_and_the_refusal_is_audited(login_as: LoginAs, db: Session, seeded: None) -> None:
    agent = login_as(Role.AGENT)
    for method, path in [
        ("GET", "/api/ivr/flows"),
        ("POST", "/api/ivr/flows/validate"),
        ("POST", "/api/ivr/flows/ivr/versions"),
        ("POST", "/api/ivr/flows/ivr/versions/1/activate"),
        ("GET", "/api/ivr/prompts"),
        ("GET", "/api/ivr/prompts/welcome/en/audio"),
    ]:
        response = agent.request(method, path, json={"definition": flow()})
        assert response.status_code == 403, (method, path)
    refusals = [
        e
        for e in audits(db, "auth.forbidden")
        if e.user_id == agent.user.id  # type: ignore[attr-defined]
    ]
    assert len(refusals) == 6 and all(not e.allowed for e in refusals)
    assert {(e.detail or {}).get("permission") for e in refusals} == {"ivr.manage"}
    assert audits(db, "ivr.flow.save") == []
    # a supervisor holds the permission
    assert login_as(Role.SUPERVISOR).get("/api/ivr/flows").status_code == 200


# --- prompts ------------------------------------------------------------------------------------


def test_prompt_list_tells_which_languages_have_audio(admin: TestClient, settings: Any) -> None:
    root = prompts.prompts_root(settings.data_dir)
    (root / "en").mkdir(parents=True)
    (root / "en" / "welcome.wav").write_bytes(prompts.convert_upload(wav_bytes())[0])
    listed = {p["name"]: p for p in admin.get("/api/ivr/prompts").json()}
    assert set(prompts.catalog_names()) <= set(listed)
    welcome = {a["language"]: a for a in listed["welcome"]["audio"]}
    assert welcome["en"]["has_audio"] is True and welcome["en"]["uploaded"] is False
    assert welcome["en"]["duration_ms"] == 500
    assert welcome["zh-CN"]["has_audio"] is False
    assert welcome["zh-CN"]["text"] == "您好，欢迎致电客户服务中心。"
    assert listed["welcome"]["in_catalog"] is True


def test_upload_converts_to_8khz_mono_16bit_and_can_be_listened_to(
    admin: TestClient, db: Session, settings: Any
) -> None:
    upload = admin.post(
        "/api/ivr/prompts/welcome/zh-CN/audio",
        files={"file": ("欢迎.wav", wav_bytes(rate=44100, channels=2, seconds=1.0), "audio/wav")},
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["uploaded"] is True and upload.json()["duration_ms"] == 1000
    stored = prompts.audio_path(prompts.prompts_root(settings.data_dir), "zh-CN", "welcome")
    with wave.open(str(stored), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() == 8000
    entry = audits(db, "ivr.prompt.upload")[-1]
    assert entry.object_id == "zh-CN/welcome" and (entry.detail or {})["filename"] == "欢迎.wav"

    listened = admin.get("/api/ivr/prompts/welcome/zh-CN/audio")
    assert listened.status_code == 200 and listened.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(listened.content), "rb") as audio:
        assert audio.getframerate() == 8000
    assert audits(db, "ivr.prompt.listen")[-1].object_id == "zh-CN/welcome"
    assert admin.get("/api/ivr/prompts/goodbye/en/audio").status_code == 404


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is missing")
def test_upload_mp3(admin: TestClient, tmp_path: Path) -> None:
    source, mp3 = tmp_path / "tone.wav", tmp_path / "tone.mp3"
    source.write_bytes(wav_bytes(rate=22050, channels=1, seconds=1.0))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(source), str(mp3)], check=True)
    response = admin.post("/api/ivr/prompts/hold/en/audio", files={"file": ("hold.mp3", mp3.read_bytes())})
    assert response.status_code == 201, response.text
    assert 900 <= response.json()["duration_ms"] <= 1200


def test_bad_uploads_are_refused_with_a_clear_message(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    def post(content: bytes, name: str = "x.wav", path: str = "welcome/en", lang: str = "en") -> Any:
        return admin.post(f"/api/ivr/prompts/{path}/audio?lang={lang}", files={"file": (name, content)})

    text = post(b"hello, this is not audio at all", "notes.txt")
    assert text.status_code == 422
    assert text.json()["fields"][0] == {
        "loc": ["file"],
        "field": "file",
        "code": "validation.ivr_audio_format",
        "message": "Only WAV or MP3 recordings can be uploaded",
    }
    broken = post(b"RIFF\x24\x00\x00\x00WAVEfmt garbage garbage garbage", lang="zh-CN")
    assert broken.status_code == 422
    assert broken.json()["fields"][0]["message"] == "无法读取或转换该录音，请确认是有效的 WAV 或 MP3 文件"
    assert post(b"").json()["fields"][0]["code"] == "validation.ivr_audio_empty"
    monkeypatch.setattr(prompts, "MAX_UPLOAD_BYTES", 1000)
    big = post(wav_bytes())
    assert big.status_code == 422 and big.json()["fields"][0]["code"] == "validation.ivr_audio_too_large"
    assert post(wav_bytes(), path="welcome/fr").json()["fields"][0]["field"] == "language"
    assert not prompts.audio_path(prompts.prompts_root(settings.data_dir), "en", "welcome").exists()


def test_an_uploaded_recording_makes_a_new_prompt_known(admin: TestClient, app: FastAPI) -> None:
    data = flow(welcome={"kind": "say", "prompt": "spring-festival", "next": "identify"})
    before = admin.post("/api/ivr/flows/validate", json={"definition": data})
    assert {f["field"] for f in before.json()["fields"]} == {"steps.welcome.prompt"}
    assert len(before.json()["fields"]) == 2  # zh-CN and en
    recording = {"file": ("春节.wav", wav_bytes())}
    assert admin.post("/api/ivr/prompts/spring-festival/zh-CN/audio", files=recording).status_code == 201
    half = admin.post("/api/ivr/flows/validate?lang=en", json={"definition": data})
    assert [f["message"] for f in half.json()["fields"]] == ["Prompt “spring-festival” has no en version"]
    assert admin.post("/api/ivr/prompts/spring-festival/en/audio", files=recording).status_code == 201
    assert admin.post("/api/ivr/flows/validate", json={"definition": data}).status_code == 200
    saved = admin.post("/api/ivr/flows/ivr/versions", json={"definition": data, "activate": True})
    assert saved.status_code == 201
    listed = {p["name"]: p for p in admin.get("/api/ivr/prompts").json()}
    assert listed["spring-festival"]["in_catalog"] is False
    assert all(a["uploaded"] for a in listed["spring-festival"]["audio"])
