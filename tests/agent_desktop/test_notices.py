"""Escalation notices: an agent's escalation reaches, over the websocket, the team lead of its team and
supervisors at once — and not the lead of another team nor another agent."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.testclient import WebSocketTestSession

from core.people.models import Team
from core.security.roles import Role
from tests.conftest import LoginAs


def _connect(client: TestClient) -> Any:
    ws = client.websocket_connect("/ws")
    session: WebSocketTestSession = ws.__enter__()
    assert session.receive_json()["type"] == "hello"
    assert session.receive_json()["type"] == "snapshot"
    return ws, session


def _next_notice_or_pong(session: WebSocketTestSession) -> dict[str, Any]:
    """Send a ping and return the first notice or the pong: frames are sent in order, so a notice queued
    before the ping is read first."""
    session.send_json({"type": "ping", "id": "probe"})
    while True:
        frame: dict[str, Any] = session.receive_json()
        if frame["type"] in ("notice", "pong"):
            return frame


def _await_notice(session: WebSocketTestSession, attempts: int = 200) -> dict[str, Any]:
    """The relay runs after the HTTP response: probe until the notice is there (bounded, so a missing
    notice fails the test instead of hanging it)."""
    for _ in range(attempts):
        frame = _next_notice_or_pong(session)
        if frame["type"] == "notice":
            session.receive_json()  # the pong of that probe
            return frame
        time.sleep(0.01)
    raise AssertionError("no notice arrived")


def test_escalation_reaches_own_team_lead_and_supervisor_only(db: Session, login_as: LoginAs) -> None:
    red, blue = Team(name="红队"), Team(name="蓝队")
    db.add_all([red, blue])
    db.commit()
    agent = login_as(Role.AGENT, team_id=red.id, pbx_interface="PJSIP/7001")
    lead = login_as(Role.TEAM_LEAD, team_id=red.id)
    other_lead = login_as(Role.TEAM_LEAD, team_id=blue.id)
    supervisor = login_as(Role.SUPERVISOR)
    colleague = login_as(Role.AGENT, team_id=red.id, pbx_interface="PJSIP/7002")
    sockets = {name: _connect(c) for name, c in [("lead", lead), ("other", other_lead), ("sup", supervisor)]}
    sockets["colleague"] = _connect(colleague)
    try:
        created = agent.post("/api/escalations", json={"reason": "客户要求组长回电"})
        assert created.status_code == 201, created.text
        escalation = created.json()
        for name in ("lead", "sup"):
            notice = _await_notice(sockets[name][1])
            assert notice["kind"] == "escalation"
            assert notice["escalation_id"] == escalation["id"]
            assert notice["reason"] == "客户要求组长回电"
            assert notice["agent_id"] == agent.user.id  # type: ignore[attr-defined]
            assert notice["team_id"] == red.id
        # the relay told everyone in one go: what the others had queued is read before their pong
        assert _next_notice_or_pong(sockets["other"][1])["type"] == "pong"
        assert _next_notice_or_pong(sockets["colleague"][1])["type"] == "pong"
    finally:
        for ws, _ in sockets.values():
            ws.__exit__(None, None, None)
