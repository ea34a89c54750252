"""Helpers for the complaint tests: a registration payload and service-level shortcuts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.audit.service import Actor
from core.complaints import service
from core.complaints.models import Complaint
from core.complaints.schemas import ComplaintCreate, TransitionIn
from core.complaints.workflow import ComplaintStatus
from core.config import Settings
from core.people.models import User


def payload(**overrides: Any) -> dict[str, Any]:
    """A complete 客户投诉登记表 as the API takes it."""
    data: dict[str, Any] = {
        "channel": "phone",
        "customer_name": "王小明",
        "customer_company": "上海明达贸易有限公司",
        "customer_address": "上海市浦东新区世纪大道100号",
        "customer_phone": "139 0013 9001",
        "product": "JX-200 净水器",
        "purchase_date": "2026-10-02",
        "order_number": "SO-20261002-88",
        "category": "product",
        "problem_type": "quality",
        "reason": "滤芯安装两周后漏水",
        "customer_request": "更换新机",
        "urgency": "urgent",
    }
    data.update(overrides)
    return data


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, client_address="127.0.0.1")


def register(
    db: Session, settings: Settings, user: User, *, received_at: datetime | None = None, **overrides: Any
) -> Complaint:
    complaint = service.register_complaint(
        db,
        data=ComplaintCreate.model_validate(payload(**overrides)),
        actor=actor_of(user),
        settings=settings,
        received_at=received_at,
    )
    db.commit()
    return complaint


# The fields each step needs, so a walk can move a complaint along the happy path.
STEP_FIELDS: dict[ComplaintStatus, dict[str, Any]] = {
    ComplaintStatus.SOLUTION_PROPOSED: {"resolution": "exchange"},
    ComplaintStatus.IN_PROGRESS: {"acceptance": "accepted"},
    ComplaintStatus.CLOSED: {"investigation_result": "滤芯批次缺陷"},
    ComplaintStatus.REJECTED: {"rejection_reason": "不属于本公司产品"},
}


def walk(
    db: Session,
    complaint: Complaint,
    user: User,
    *steps: ComplaintStatus,
    settings: Settings | None = None,
    at: datetime | None = None,
) -> Complaint:
    for step in steps:
        data = TransitionIn.model_validate({"to": step, **STEP_FIELDS.get(step, {})})
        complaint = service.transition(
            db, complaint_id=complaint.id, data=data, actor=actor_of(user), settings=settings, at=at
        )
    db.commit()
    return complaint


HAPPY_PATH = (
    ComplaintStatus.INVESTIGATING,
    ComplaintStatus.SOLUTION_PROPOSED,
    ComplaintStatus.NEGOTIATING,
    ComplaintStatus.IN_PROGRESS,
    ComplaintStatus.CLOSED,
)
