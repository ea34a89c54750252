"""Helpers of the pause-reasons tests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry


def audit_rows(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.scalars(query).all())


def codes(client: TestClient, path: str = "/api/pause-reasons") -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [row["code"] for row in response.json()]


NEW = {
    "code": "质检辅导",
    "label_zh": "质检辅导",
    "label_en": "QA coaching",
    "counts_as_productive": True,
    "sort_order": 25,
    "max_minutes": 30,
}
