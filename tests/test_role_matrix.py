"""The role matrix, endpoint by endpoint: every API route names one permission (or only needs a login),
each role gets 403 exactly where the matrix says so, and anonymous requests get 401 — all audited."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.security.roles import ROLE_PERMISSIONS, Permission, Role
from core.web import authenticate
from tests.conftest import LoginAs

PUBLIC = {("POST", "/api/auth/login"), ("GET", "/api/ui/config"), ("GET", "/api/i18n/{language}")}


def _walk(dependant: object) -> Iterator[object]:
    for dep in getattr(dependant, "dependencies", []):
        yield dep.call
        yield from _walk(dep)


def api_routes(app: FastAPI) -> list[tuple[str, str, Permission | None, bool]]:
    """(method, path, permission or None, needs login) for every API route."""
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or not path or not path.startswith("/api"):
            continue
        calls = list(_walk(route.dependant))
        permissions = [c.permission for c in calls if hasattr(c, "permission")]
        assert len(permissions) <= 1, f"{path} names several permissions"
        needs_login = bool(permissions) or authenticate in calls
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, permissions[0] if permissions else None, needs_login))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def test_every_api_route_is_guarded(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) > 30
    unguarded = [(m, p) for m, p, _perm, login in routes if not login and (m, p) not in PUBLIC]
    assert unguarded == []


@pytest.fixture
def role_clients(login_as: LoginAs) -> dict[Role, TestClient]:
    return {role: login_as(role) for role in Role}


def test_each_role_gets_exactly_its_permissions(
    app: FastAPI, role_clients: dict[Role, TestClient], db: Session
) -> None:
    checked = 0
    for method, path, permission, _login in api_routes(app):
        if permission is None:
            continue
        url = concrete(path)
        for role, client in role_clients.items():
            response = client.request(method, url, json={})
            allowed = permission in ROLE_PERMISSIONS[role]
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)
            checked += 1
    assert checked > 100
    refusals = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.forbidden")).all()
    assert refusals and all(not r.allowed and r.user_id is not None for r in refusals)
    assert {r.detail["permission"] for r in refusals if r.detail and "permission" in r.detail} >= {
        p.value for p in Permission if p not in ROLE_PERMISSIONS[Role.AGENT]
    } - {p.value for p in Permission if not any(perm == p for _m, _p, perm, _l in api_routes(app))}


def test_anonymous_requests_get_401_and_leave_an_audit_row(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    protected = [(m, p) for m, p, _perm, login in api_routes(app) if login]
    for method, path in protected:
        response = client.request(method, concrete(path), json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"] == "error.not_authenticated"
    rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.unauthenticated")).all()
    assert len(rows) == len(protected)
    assert {r.detail["path"] for r in rows} == {concrete(p) for _m, p in protected}


def test_refusal_message_follows_the_language(role_clients: dict[Role, TestClient]) -> None:
    agent = role_clients[Role.AGENT]
    zh = agent.get("/api/audit")
    en = agent.get("/api/audit", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert zh.status_code == en.status_code == 403
    assert zh.json()["message"] == "没有权限执行此操作"
    assert en.json()["message"] == "You are not allowed to do this"


def test_cross_site_cookie_post_is_refused(role_clients: dict[Role, TestClient]) -> None:
    admin = role_clients[Role.ADMIN]
    response = admin.post(
        "/api/skills", json={"code": "x", "name": "X"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "error.bad_origin"
    same_site = admin.post(
        "/api/skills", json={"code": "x", "name": "X"}, headers={"Origin": "http://testserver"}
    )
    assert same_site.status_code == 201
