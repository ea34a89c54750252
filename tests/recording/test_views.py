"""The HTTP API: scoped list, read and play audited, Range requests, waveform, the policy, permissions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.people.models import Team
from core.security.roles import Role
from recording import worker
from recording.models import Recording, RecordingPolicy
from recording.storage import LocalStore
from recording.worker import Ingestor, WavInfo
from tests.recording.conftest import LoginAs, MakeUser, captured


def _audits(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture(autouse=True)
def fast_encode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP tests need bytes to serve, not real MP3 (the worker tests convert for real)."""

    def encode(path: Path, info: WavInfo, out: Path, bitrate: str) -> None:
        out.write_bytes(path.read_bytes()[info.data_offset : info.data_offset + 20_000])

    monkeypatch.setattr(worker, "encode_mp3", encode)


@pytest.fixture
def stored(ingestor: Ingestor, db: Session) -> list[Recording]:
    rows = []
    for uniqueid in ("1795400369.2", "1795401089.0"):
        result = ingestor.ingest(uniqueid, captured(uniqueid))
        rows.append(db.get(Recording, result.recording_id))
    return rows  # type: ignore[return-value]


def _assign(db: Session, row: Recording, user_id: int | None, agent: str | None = None) -> None:
    row.agent_user_id = user_id
    row.agent = agent
    row.queue = "support"
    db.commit()


def test_agent_hears_own_calls_only_and_a_refusal_is_audited(
    login_as: LoginAs, stored: list[Recording], db: Session
) -> None:
    agent = login_as(Role.AGENT)
    other = login_as(Role.AGENT)
    _assign(db, stored[0], agent.user.id)
    _assign(db, stored[1], other.user.id)
    page = agent.get("/api/recordings").json()
    assert [item["uniqueid"] for item in page["items"]] == ["1795400369.2"]
    assert page["items"][0]["agent_name"] == agent.user.full_name
    assert agent.get(f"/api/recordings/{stored[0].id}").status_code == 200
    for path in ("", "/audio", "/waveform"):
        response = agent.get(f"/api/recordings/{stored[1].id}{path}")
        assert response.status_code == 403
        assert response.json()["message"] == "只能收听权限范围内的通话录音"
    refused = [a for a in _audits(db, "auth.forbidden") if a.user_id == agent.user.id]
    assert len(refused) == 3 and not refused[0].allowed
    assert (refused[0].detail or {})["reason"] == "error.recording.not_yours"


def test_member_name_or_agent_number_matches_when_no_user_is_known(
    login_as: LoginAs, stored: list[Recording], db: Session
) -> None:
    agent = login_as(Role.AGENT, full_name="Carol")
    _assign(db, stored[0], None, "Carol")
    _assign(db, stored[1], None, "Dave")
    page = agent.get("/api/recordings").json()
    assert [item["uniqueid"] for item in page["items"]] == ["1795400369.2"]


def test_team_lead_hears_the_team_and_supervisor_everything(
    login_as: LoginAs, make_user: MakeUser, stored: list[Recording], db: Session
) -> None:
    team = Team(name="二组")
    db.add(team)
    db.commit()
    member = make_user(Role.AGENT, team_id=team.id)
    outsider = make_user(Role.AGENT)
    _assign(db, stored[0], member.id)
    _assign(db, stored[1], outsider.id)
    lead = login_as(Role.TEAM_LEAD, team_id=team.id)
    assert [i["id"] for i in lead.get("/api/recordings").json()["items"]] == [stored[0].id]
    assert lead.get(f"/api/recordings/{stored[1].id}").status_code == 403
    for role in (Role.SUPERVISOR, Role.QA_INSPECTOR, Role.QA_LEAD, Role.COMPLAINTS_OFFICER, Role.ADMIN):
        assert login_as(role).get("/api/recordings").json()["total"] == 2


def test_list_filters(login_as: LoginAs, stored: list[Recording], db: Session) -> None:
    _assign(db, stored[0], None, "Bob")
    stored[1].queue = "complaints"
    db.commit()
    sup = login_as(Role.SUPERVISOR)
    assert [i["uniqueid"] for i in sup.get("/api/recordings?queue=complaints").json()["items"]] == [
        "1795401089.0"
    ]
    assert [i["uniqueid"] for i in sup.get("/api/recordings?agent=Bob").json()["items"]] == ["1795400369.2"]
    assert sup.get("/api/recordings?status=stored").json()["total"] == 2
    assert sup.get("/api/recordings?status=corrupt").json()["total"] == 0
    assert sup.get("/api/recordings?q=1795401089").json()["total"] == 1
    # 2026-11-23 UTC: the captures; center zone Asia/Shanghai
    assert sup.get("/api/recordings?from=2026-11-23&to=2026-11-23").json()["total"] == 2
    assert sup.get("/api/recordings?from=2026-11-24").json()["total"] == 0
    bad = sup.get("/api/recordings?status=nope")
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "status"


def test_read_is_audited_and_carries_the_analysis(
    login_as: LoginAs, stored: list[Recording], db: Session
) -> None:
    sup = login_as(Role.SUPERVISOR)
    body = sup.get(f"/api/recordings/{stored[0].id}").json()
    assert body["duration_ms"] == 12040 and body["status"] == "stored" and body["format"] == "mp3"
    assert body["held"] is False and body["channels"] == 1
    assert body["analysis"]["mixed_mono"] is True and "waveform" not in body["analysis"]
    assert body["analysis"]["not_measurable"] == ["overtalk", "agent_talk_ratio", "caller_talk", "agent_talk"]
    reads = _audits(db, "recording.read")
    assert [(a.user_id, a.object_id) for a in reads] == [(sup.user.id, str(stored[0].id))]


def test_audio_with_range_requests(
    login_as: LoginAs, stored: list[Recording], store: LocalStore, db: Session
) -> None:
    sup = login_as(Role.SUPERVISOR)
    data = store.path(stored[0].storage_key or "").read_bytes()
    size = len(data)
    url = f"/api/recordings/{stored[0].id}/audio"
    whole = sup.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/mpeg" and whole.headers["accept-ranges"] == "bytes"
    part = sup.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == data[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{size}"
    middle = sup.get(url, headers={"Range": "bytes=1000-"})
    assert middle.status_code == 206 and middle.content == data[1000:]
    tail = sup.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond = sup.get(url, headers={"Range": f"bytes=0-{size + 50}"})
    assert beyond.status_code == 206 and beyond.headers["content-range"] == f"bytes 0-{size - 1}/{size}"
    for bad in (f"bytes={size}-", "bytes=50-10", "bytes=abc", "items=0-1"):
        response = sup.get(url, headers={"Range": bad})
        assert response.status_code == 416, bad
        assert response.headers["content-range"] == f"bytes */{size}"
    # one playback = the request from byte 0 (plain, or Range 0-…); the seeks are not counted
    plays = _audits(db, "recording.play")
    assert len(plays) == 3 and {a.object_id for a in plays} == {str(stored[0].id)}


def test_audio_of_a_recording_without_audio_is_404(
    login_as: LoginAs, ingestor: Ingestor, db: Session
) -> None:
    result = ingestor.ingest("9.9")  # no file: missing
    sup = login_as(Role.SUPERVISOR)
    response = sup.get(f"/api/recordings/{result.recording_id}/audio?lang=en")
    assert response.status_code == 404
    assert response.json()["message"] == "This recording has no playable audio (status: missing)"
    assert sup.get("/api/recordings/424242").status_code == 404


def test_waveform(login_as: LoginAs, stored: list[Recording], db: Session) -> None:
    sup = login_as(Role.SUPERVISOR)
    waveform = sup.get(f"/api/recordings/{stored[0].id}/waveform").json()
    assert waveform["channels"][0]["name"] == "mixed" and len(waveform["channels"][0]["peaks"]) == 800
    db.delete(stored[1].analysis)
    db.commit()
    missing = sup.get(f"/api/recordings/{stored[1].id}/waveform")
    assert missing.status_code == 404 and missing.json()["error"] == "error.recording.not_analysed"


def test_held_flag(login_as: LoginAs, stored: list[Recording], db: Session) -> None:
    from recording import service

    service.hold(db, recording_id=stored[0].id, reason="dispute", ref="evaluation:3")
    db.commit()
    sup = login_as(Role.SUPERVISOR)
    assert sup.get(f"/api/recordings/{stored[0].id}").json()["held"] is True


def test_policies_need_manage_to_change_and_are_audited(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    body = [{"queue": "support", "mode": "share", "share_pct": 20, "retention_days": 90}]
    refused = agent.put("/api/recordings/policies", json=body)
    assert refused.status_code == 403
    assert (_audits(db, "auth.forbidden")[-1].detail or {})["permission"] == "recordings.manage"
    assert agent.get("/api/recordings/policies").json() == []
    sup = login_as(Role.SUPERVISOR)
    saved = sup.put(
        "/api/recordings/policies", json=[*body, {"queue": "vip", "mode": "none", "share_pct": 50}]
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == [
        {"queue": "support", "mode": "share", "share_pct": 20, "retention_days": 90},
        {"queue": "vip", "mode": "none", "share_pct": 0, "retention_days": 365},
    ]
    sup.put("/api/recordings/policies", json=body)
    db.expire_all()
    assert [p.queue for p in db.scalars(select(RecordingPolicy))] == ["support"]
    changes = [(a.detail or {})["changes"] for a in _audits(db, "recording.policy.update")]
    assert len(changes) == 2 and changes[1] == [
        {
            "queue": "vip",
            "before": {"queue": "vip", "mode": "none", "share_pct": 0, "retention_days": 365},
            "after": None,
        }
    ]


def test_policy_validation(login_as: LoginAs) -> None:
    sup = login_as(Role.SUPERVISOR)
    bad = sup.put("/api/recordings/policies", json=[{"queue": "q", "mode": "share", "share_pct": 120}])
    assert bad.status_code == 422
    field = bad.json()["fields"][0]
    assert field["field"] == "0.share_pct" and field["message"] == "应不大于 100"
    twice = [{"queue": "q", "mode": "all"}, {"queue": "q", "mode": "none"}]
    dup = sup.put("/api/recordings/policies?lang=en", json=twice)
    assert dup.status_code == 422
    assert dup.json()["fields"][0] == {
        "loc": [1, "queue"],
        "field": "1.queue",
        "code": "validation.recording.duplicate_queue",
        "message": "Queue q is listed twice",
    }
    mode = sup.put("/api/recordings/policies", json=[{"queue": "q", "mode": "sometimes"}])
    assert mode.status_code == 422 and mode.json()["fields"][0]["field"] == "0.mode"


def test_started_at_is_returned_with_offset(login_as: LoginAs, stored: list[Recording]) -> None:
    sup = login_as(Role.SUPERVISOR)
    started = sup.get(f"/api/recordings/{stored[0].id}").json()["started_at"]
    assert datetime.fromisoformat(started) == datetime.fromtimestamp(1795400369, UTC)


def test_anonymous_is_401(client: TestClient) -> None:
    assert client.get("/api/recordings").status_code == 401
