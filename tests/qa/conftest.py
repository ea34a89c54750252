"""Fixtures of the QA tests: stored recordings of an agent's calls, a small scorecard, the people of QA
(a QA lead, inspectors, agents) logged in, and helpers for complete answers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.clock import utcnow
from core.people.models import LoginSession, User
from core.security.roles import Role
from core.security.tokens import digest, new_token
from recording.models import Recording, RecordingHold, RecordingStatus

_ids = itertools.count(1)
AsRole = Callable[..., TestClient]


@pytest.fixture
def as_role(app: FastAPI, db: Session) -> Iterator[AsRole]:
    """A client logged in as a new user of a role (``.user``), through a Bearer token: the login itself is
    tested elsewhere, and argon2 twice per user would make these tests slow on a busy machine."""
    clients: list[TestClient] = []

    def make(role: Role = Role.AGENT, user: User | None = None, **fields: Any) -> TestClient:
        if user is None:
            n = next(_ids)
            values: dict[str, Any] = {
                "username": f"qa-{role.value}{n}",
                "full_name": f"{role.value}{n}号",
                "agent_number": f"Q{n:04d}",
                **fields,
            }
            user = User(role=role, password_hash="-", **values)
            db.add(user)
            db.flush()
        token = new_token()
        now = utcnow()
        db.add(
            LoginSession(
                token_hash=digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=8),
            )
        )
        db.commit()
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        client.user = user  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def card_definition(**changes: Any) -> dict[str, Any]:
    """Two sections: 开场 (a yes/no and a 0..5 scale that may be N/A) and a critical 合规 section with an
    auto-fail item, a section-critical item and an N/A-able one. Bands A ≥ 90, B ≥ 60, C ≥ 0."""
    definition: dict[str, Any] = {
        "sections": [
            {
                "key": "opening",
                "title": "开场",
                "weight": 40,
                "critical": False,
                "items": [
                    {"key": "greet", "title": "规范问候", "weight": 1, "kind": "yes_no"},
                    {
                        "key": "polite",
                        "title": "礼貌用语",
                        "weight": 1,
                        "kind": "scale",
                        "scale_max": 5,
                        "allow_na": True,
                    },
                ],
            },
            {
                "key": "compliance",
                "title": "合规",
                "weight": 60,
                "critical": True,
                "items": [
                    {
                        "key": "identity",
                        "title": "核实身份",
                        "weight": 2,
                        "kind": "yes_no",
                        "critical": "evaluation",
                    },
                    {
                        "key": "accuracy",
                        "title": "解答准确",
                        "weight": 1,
                        "kind": "yes_no",
                        "critical": "section",
                    },
                    {"key": "notice", "title": "录音提示", "weight": 1, "kind": "yes_no", "allow_na": True},
                ],
            },
        ],
        "grade_bands": [
            {"grade": "A", "min_pct": 90},
            {"grade": "B", "min_pct": 60},
            {"grade": "C", "min_pct": 0},
        ],
        "standard_score": 100,
    }
    definition.update(changes)
    return definition


def perfect(**overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Full marks on every item of :func:`card_definition`, with some answers replaced."""
    answers: dict[str, dict[str, Any]] = {
        "greet": {"value": 1, "evidence": ""},
        "polite": {"value": 5, "evidence": ""},
        "identity": {"value": 1, "evidence": ""},
        "accuracy": {"value": 1, "evidence": ""},
        "notice": {"value": 1, "evidence": ""},
    }
    answers.update(overrides)
    return answers


MakeRecording = Callable[..., Recording]


@pytest.fixture
def make_recording(db: Session) -> MakeRecording:
    def make(
        agent: User | None = None, status: RecordingStatus = RecordingStatus.STORED, **fields: Any
    ) -> Recording:
        n = next(_ids)
        values: dict[str, Any] = {
            "uniqueid": f"1700000000.{n}",
            "linkedid": f"1700000000.{n}",
            "queue": "billing",
            "agent": agent.full_name if agent else None,
            "agent_user_id": agent.id if agent else None,
            "started_at": datetime(2026, 11, 20, 2, 0, n % 60, tzinfo=UTC),
            "duration_ms": 95_000,
            "status": status,
            "format": "mp3",
            "channels": 2,
            **fields,
        }
        recording = Recording(**values)
        db.add(recording)
        db.commit()
        return recording

    return make


def holds(db: Session, recording_id: int) -> set[tuple[str, str]]:
    db.expire_all()
    rows = db.scalars(select(RecordingHold).where(RecordingHold.recording_id == recording_id))
    return {(h.reason, h.ref) for h in rows}


def audit_rows(db: Session, action: str, *, allowed: bool = True) -> list[AuditEntry]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.allowed == allowed))
    )


def create_card(client: TestClient, **changes: Any) -> int:
    body = {"name": "测试质检表", "description": "测试", "definition": card_definition(**changes)}
    response = client.post("/api/qa/scorecards", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def field_errors(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 422, response.text
    return {f["field"]: f for f in response.json()["fields"]}
