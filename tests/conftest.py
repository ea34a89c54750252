"""Shared fixtures: an app on a throwaway SQLite database, users of every role, logged-in clients."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callcenter.app import create_app
from callcenter.models import load_all_models
from core.config import Settings
from core.people.models import Team, User
from core.security.passwords import hash_password
from core.security.roles import Role

pytest_plugins = ["tests.servers", "tests.live"]

PASSWORD = "correct-horse-1"
_counter = itertools.count(1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    application = create_app(settings)
    load_all_models().metadata.create_all(application.state.engine)
    return application


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    session: Session = app.state.session_factory()
    yield session
    session.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def team(db: Session) -> Team:
    row = Team(name=f"一组-{next(_counter)}")
    db.add(row)
    db.commit()
    return row


MakeUser = Callable[..., User]


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run, not per user


@pytest.fixture
def make_user(db: Session, password_hash: str) -> MakeUser:
    """Creates a user of a role (password ``PASSWORD``); extra keyword arguments set other columns."""

    def make(role: Role = Role.AGENT, **fields: object) -> User:
        n = next(_counter)
        values: dict[str, object] = {
            "username": f"{role.value}{n}",
            "full_name": f"测试{role.value}{n}",
            "agent_number": f"A{n:04d}",
            **fields,
        }
        user = User(role=role, password_hash=password_hash, **values)
        db.add(user)
        db.commit()
        return user

    return make


LoginAs = Callable[..., TestClient]


@pytest.fixture
def login_as(app: FastAPI, make_user: MakeUser) -> Iterator[LoginAs]:
    """A fresh logged-in client for a role (or a given user)."""
    clients: list[TestClient] = []

    def login(role: Role = Role.AGENT, user: User | None = None, **fields: object) -> TestClient:
        user = user or make_user(role, **fields)
        test_client = TestClient(app)
        clients.append(test_client)
        response = test_client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        test_client.user = user  # type: ignore[attr-defined]
        return test_client

    yield login
    for test_client in clients:
        test_client.close()
