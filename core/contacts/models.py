"""Tables for the paper forms of calls: inbound records (呼入记录表), outbound records (呼出记录表), the
phone log (电话记录表) and phone interview plans (电话访谈计划表).

Every form shares :class:`CallFormMixin`: who handled it (with the agent's name and 工号 copied as the
paper form has them), who typed it, and the optional link to the PBX call the telephony core fills in.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from core.db import Base, TimestampMixin, enum_type


class InboundOutcome(StrEnum):
    RESOLVED = "resolved"
    TRANSFERRED = "transferred"  # to the responsible department (服务流程: 转相关部门)
    ESCALATED = "escalated"  # to the team lead
    FOLLOW_UP = "follow_up"
    OTHER = "other"


class OutboundPurpose(StrEnum):
    MARKETING = "marketing"
    FOLLOW_UP = "follow_up"
    CALLBACK = "callback"
    SURVEY = "survey"
    OTHER = "other"


class OutboundResult(StrEnum):
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    SALE = "sale"
    NO_SALE = "no_sale"  # the outbound flow asks for the reason (no_sale_reason)
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    CALLBACK_REQUESTED = "callback_requested"
    OTHER = "other"


class CallFormMixin(TimestampMixin):
    """Columns every call form has. ``customer_id`` is declared per form: its nullability differs."""

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def agent_id(cls) -> Mapped[int]:
        # The agent who handled the call; users are deactivated, never deleted, so no cascade.
        return mapped_column(ForeignKey("users.id"), index=True)

    agent_name: Mapped[str] = mapped_column(String(100))  # snapshot: the form keeps the name as written
    agent_number: Mapped[str | None] = mapped_column(String(20))  # snapshot of the 工号

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        # Who typed the record (a lead may register a call for an agent of the team).
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    pbx_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)  # Asterisk linkedid
    pbx_uniqueid: Mapped[str | None] = mapped_column(String(64))

    @declared_attr
    def pbx_call_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("pbx_calls.id", ondelete="SET NULL"), index=True)


class InboundRecord(Base, CallFormMixin):
    """呼入记录表. An unknown caller has no customer: then the caller fields are the record."""

    __tablename__ = "inbound_records"

    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    caller_organisation: Mapped[str | None] = mapped_column(String(200))  # 呼入单位
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    caller_name: Mapped[str | None] = mapped_column(String(100))
    caller_position: Mapped[str | None] = mapped_column(String(100))
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164
    content: Mapped[str] = mapped_column(Text)  # 呼入内容
    remarks: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[InboundOutcome | None] = mapped_column(enum_type(InboundOutcome))
    transferred_to_department: Mapped[str | None] = mapped_column(String(100))
    queue_name: Mapped[str | None] = mapped_column(String(64))
    ivr_path: Mapped[str | None] = mapped_column(Text)  # the IVR menu choices, as the desktop gives them


class OutboundRecord(Base, CallFormMixin):
    """呼出记录表."""

    __tablename__ = "outbound_records"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    called_organisation: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    called_number: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164
    customer_name: Mapped[str | None] = mapped_column(String(100))
    customer_position: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    handling_opinion: Mapped[str | None] = mapped_column(Text)  # 处理意见 / next step
    purpose: Mapped[OutboundPurpose | None] = mapped_column(enum_type(OutboundPurpose))
    result: Mapped[OutboundResult | None] = mapped_column(enum_type(OutboundResult))
    no_sale_reason: Mapped[str | None] = mapped_column(Text)
    next_follow_up_at: Mapped[datetime | None] = mapped_column(index=True)


class PhoneLog(Base, CallFormMixin):
    """电话记录表: any call worth noting, to a customer or to anyone else."""

    __tablename__ = "phone_logs"

    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    party_name: Mapped[str] = mapped_column(String(200))  # person or company called
    phone_number: Mapped[str] = mapped_column(String(32), index=True)  # E.164
    called_at: Mapped[datetime] = mapped_column(index=True)
    duration_seconds: Mapped[int] = mapped_column(default=0)
    purpose: Mapped[str | None] = mapped_column(Text)
    repeat_call_needed: Mapped[bool] = mapped_column(default=False)  # 重复呼叫的必要性
    repeat_call_at: Mapped[datetime | None] = mapped_column()


class InterviewPlan(Base, CallFormMixin):
    """电话访谈计划表: what the agent knows and wants to learn before a planned interview call."""

    __tablename__ = "interview_plans"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164
    date_of_birth: Mapped[date | None] = mapped_column()
    # Company background
    company_activities: Mapped[str | None] = mapped_column(Text)
    company_products: Mapped[str | None] = mapped_column(Text)
    company_customers: Mapped[str | None] = mapped_column(Text)
    company_prospects: Mapped[str | None] = mapped_column(Text)
    # The person's job
    job_place: Mapped[str | None] = mapped_column(String(200))
    job_environment: Mapped[str | None] = mapped_column(Text)
    job_position: Mapped[str | None] = mapped_column(String(100))
    job_market: Mapped[str | None] = mapped_column(Text)
    job_competitors: Mapped[str | None] = mapped_column(Text)
    education: Mapped[str | None] = mapped_column(Text)
    employment_history: Mapped[str | None] = mapped_column(Text)
    hobbies: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    planned_at: Mapped[datetime] = mapped_column(index=True)


CallForm = InboundRecord | OutboundRecord | PhoneLog | InterviewPlan
