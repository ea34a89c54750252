"""Login, logout, sessions, passwords, language preference."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.people.models import LoginSession, Skill, User, UserSkill
from core.security.roles import Role
from tests.conftest import PASSWORD, LoginAs, MakeUser


def test_login_by_username_or_agent_number_and_logout(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user(Role.AGENT, agent_number="8001")
    assert client.get("/api/auth/me").status_code == 401
    response = client.post("/api/auth/login", json={"username": "8001", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    assert "customers.read" in response.json()["permissions"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/api/auth/me").json()["id"] == user.id
    # only the token's digest is stored
    token = client.cookies.get("cc_session")
    assert token and db.scalar(select(LoginSession.token_hash)) != token
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.user_id == user.id)).all()
    assert "auth.login" in actions and "auth.logout" in actions


def test_agent_with_skills_logs_in_and_sees_them(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    # the seeded agents all have skills: their login (and /api/auth/me) must carry them
    user = make_user(Role.AGENT)
    billing = Skill(code="billing", name="账务")
    db.add(billing)
    db.add(UserSkill(user_id=user.id, skill=billing, level=7))
    db.commit()
    response = client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["skills"] == [{"skill_code": "billing", "level": 7}]
    assert client.get("/api/auth/me").json()["skills"] == [{"skill_code": "billing", "level": 7}]


def test_wrong_password_is_a_field_error_and_audited(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user(Role.AGENT)
    response = client.post("/api/auth/login", json={"username": user.username, "password": "nope"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "password"
    assert response.json()["fields"][0]["message"] == "用户名/工号或密码不正确"
    en = client.post("/api/auth/login?lang=en", json={"username": "ghost", "password": "nope"})
    assert en.json()["fields"][0]["message"] == "Wrong user name / agent number or password"
    failed = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).all()
    assert len(failed) == 2 and not any(f.allowed for f in failed)


def test_inactive_user_cannot_log_in(client: TestClient, make_user: MakeUser) -> None:
    user = make_user(Role.AGENT, active=False)
    assert (
        client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD}).status_code
        == 422
    )


def test_bearer_token_works_without_cookie(app: FastAPI, make_user: MakeUser) -> None:
    user = make_user(Role.SUPERVISOR)
    with TestClient(app) as first:
        token = first.post("/api/auth/login", json={"username": user.username, "password": PASSWORD}).headers[
            "x-session-token"
        ]
    with TestClient(app) as second:
        assert second.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert second.get("/api/auth/me", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_password_change_ends_other_logins(login_as: LoginAs, db: Session) -> None:
    admin = login_as(Role.ADMIN)
    agent = login_as(Role.AGENT)
    agent_id = agent.user.id  # type: ignore[attr-defined]
    assert admin.patch(f"/api/users/{agent_id}", json={"password": "another-pass-9"}).status_code == 200
    assert agent.get("/api/auth/me").status_code == 401
    stored = db.get(User, agent_id)
    assert stored is not None and stored.password_hash.startswith("$argon2")


def test_language_preference_is_kept(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    assert agent.put("/api/auth/language", json={"language": "en"}).status_code == 204
    assert agent.get("/api/auth/me").json()["language"] == "en"
    assert agent.get("/api/audit").json()["message"] == "You are not allowed to do this"
    bad = agent.put("/api/auth/language", json={"language": "fr"})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "language"


def test_user_validation_errors_are_per_field(login_as: LoginAs) -> None:
    admin = login_as(Role.ADMIN)
    response = admin.post(
        "/api/users",
        json={"username": "a b", "full_name": "", "role": "boss", "password": "short", "extension": "12x"},
    )
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["fields"]}
    assert set(fields) == {"username", "full_name", "role", "password", "extension"}
    assert fields["password"] == "至少 8 个字符"
    dup = admin.post(
        "/api/users",
        json={
            "username": admin.user.username,
            "full_name": "x",
            "role": "agent",
            "password": "long-enough-1",
        },  # type: ignore[attr-defined]
    )
    assert dup.status_code == 422 and dup.json()["fields"][0]["field"] == "username"


def test_team_lead_sees_own_team_only(login_as: LoginAs, make_user: MakeUser, db: Session) -> None:
    from core.people.models import Team

    red, blue = Team(name="红队"), Team(name="蓝队")
    db.add_all([red, blue])
    db.commit()
    make_user(Role.AGENT, team_id=red.id)
    other = make_user(Role.AGENT, team_id=blue.id)
    lead = login_as(Role.TEAM_LEAD, team_id=red.id)
    listed = lead.get("/api/users").json()
    assert listed["total"] == 2  # the lead and one agent
    assert all(u["team_id"] == red.id for u in listed["items"])
    assert lead.get(f"/api/users/{other.id}").status_code == 403
    assert lead.get(f"/api/users?team_id={blue.id}").status_code == 403
