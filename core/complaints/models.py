"""Tables for complaints (客户投诉登记表 / 处理表 / 报告表), their history, and the daily number counters."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.complaints.workflow import ComplaintAcceptance, ComplaintStatus
from core.db import Base, TimestampMixin, enum_type
from core.people.models import User

__all__ = [
    "Complaint",
    "ComplaintAcceptance",
    "ComplaintCategory",
    "ComplaintCause",
    "ComplaintChannel",
    "ComplaintCounter",
    "ComplaintEvent",
    "ComplaintProblemType",
    "ComplaintResolution",
    "ComplaintStatus",
    "ComplaintUrgency",
    "Satisfaction",
]


class ComplaintChannel(StrEnum):
    LETTER = "letter"  # 信函
    FAX = "fax"  # 传真
    PHONE = "phone"  # 电话
    VISIT = "visit"  # 来访
    STORE = "store"  # 门店
    OTHER = "other"


class ComplaintCategory(StrEnum):
    PRODUCT = "product"
    SERVICE = "service"
    OTHER = "other"


class ComplaintProblemType(StrEnum):
    QUALITY = "quality"
    QUANTITY = "quantity"
    DELIVERY_TIME = "delivery_time"
    ATTITUDE = "attitude"
    SERVICE = "service"
    OTHER = "other"


class ComplaintUrgency(StrEnum):
    VERY_URGENT = "very_urgent"  # 特急
    URGENT = "urgent"  # 急
    NORMAL = "normal"  # 一般


class ComplaintCause(StrEnum):
    SERIOUS = "serious"  # 严重
    ACCIDENTAL = "accidental"  # 偶然
    NEGLIGENCE = "negligence"  # 疏忽
    FORCE_MAJEURE = "force_majeure"  # 不可抗力


class ComplaintResolution(StrEnum):
    RETURN = "return"  # 退货
    EXCHANGE = "exchange"  # 换货
    DISCOUNT = "discount"  # 折价
    REPAIR = "repair"  # 维修
    COMPENSATION = "compensation"  # 赔偿
    OTHER = "other"


class Satisfaction(IntEnum):
    """The five-point scale of the call-back (回访); 1 is the best, as on the paper survey."""

    VERY_SATISFIED = 1
    SATISFIED = 2
    NEUTRAL = 3
    DISSATISFIED = 4
    VERY_DISSATISFIED = 5


class Complaint(Base, TimestampMixin):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status_deadline", "status", "promised_deadline"),
        Index("ix_complaints_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(32), unique=True)  # TS20261124-0007
    received_at: Mapped[datetime] = mapped_column()
    channel: Mapped[ComplaintChannel] = mapped_column(enum_type(ComplaintChannel))
    status: Mapped[ComplaintStatus] = mapped_column(
        enum_type(ComplaintStatus), default=ComplaintStatus.REGISTERED
    )

    # The complainant as given; customer_id only when they are a known customer.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    customer_name: Mapped[str] = mapped_column(String(100))
    customer_company: Mapped[str | None] = mapped_column(String(200))
    customer_address: Mapped[str | None] = mapped_column(String(300))
    customer_phone: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164

    product: Mapped[str | None] = mapped_column(String(200))
    purchase_date: Mapped[date | None] = mapped_column(Date)
    order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    category: Mapped[ComplaintCategory] = mapped_column(enum_type(ComplaintCategory))
    problem_type: Mapped[ComplaintProblemType] = mapped_column(enum_type(ComplaintProblemType))
    reason: Mapped[str] = mapped_column(Text)
    customer_request: Mapped[str | None] = mapped_column(Text)

    acceptance: Mapped[ComplaintAcceptance] = mapped_column(
        enum_type(ComplaintAcceptance), default=ComplaintAcceptance.PENDING
    )
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[ComplaintUrgency] = mapped_column(enum_type(ComplaintUrgency))
    promised_deadline: Mapped[datetime] = mapped_column()
    actual_completed_at: Mapped[datetime | None] = mapped_column()

    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    handling_department: Mapped[str | None] = mapped_column(String(100))
    investigation_result: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[ComplaintCause | None] = mapped_column(enum_type(ComplaintCause))
    own_fault: Mapped[bool | None] = mapped_column()  # 是否本公司责任; None: not established yet
    resolution: Mapped[ComplaintResolution | None] = mapped_column(enum_type(ComplaintResolution))
    loss_amount_cents: Mapped[int | None] = mapped_column()
    follow_up_actions: Mapped[str | None] = mapped_column(Text)
    closing_number: Mapped[str | None] = mapped_column(String(32), unique=True)  # 结案编号
    summary_evaluation: Mapped[str | None] = mapped_column(Text)

    registered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The call it came in on: the linkedid is kept even before (or without) the pbx_calls row.
    pbx_call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    pbx_call_id: Mapped[int | None] = mapped_column(ForeignKey("pbx_calls.id", ondelete="SET NULL"))
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    callback_at: Mapped[datetime | None] = mapped_column()
    callback_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    satisfaction: Mapped[int | None] = mapped_column()  # Satisfaction value, 1–5
    callback_note: Mapped[str | None] = mapped_column(Text)

    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id], lazy="joined")
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id], lazy="joined")
    escalated_to: Mapped[User | None] = relationship(foreign_keys=[escalated_to_id])
    callback_by: Mapped[User | None] = relationship(foreign_keys=[callback_by_id])
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint",
        cascade="all, delete-orphan",
        order_by="ComplaintEvent.id",
    )


class ComplaintEvent(Base):
    """One line of a complaint's history: registration, every edit, transition and call-back."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))  # register / update / transition / callback
    from_status: Mapped[ComplaintStatus | None] = mapped_column(enum_type(ComplaintStatus))
    to_status: Mapped[ComplaintStatus] = mapped_column(enum_type(ComplaintStatus))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # field → [old, new]

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    by: Mapped[User | None] = relationship(lazy="joined")


class ComplaintCounter(Base):
    """The last number handed out per kind (case / closing) and center-zone day; incremented in the
    registering transaction, so two complaints registered at once cannot get the same number."""

    __tablename__ = "complaint_counters"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
