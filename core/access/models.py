"""Tables for borrowing permissions on customer files (客户信息借阅权限表) and customer-data change
requests (客户信息更改申请表)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, enum_type
from core.people.models import User


class AccessGrant(Base):
    """A borrowing permission: one user may read one customer's file, or every file up to a level (密级),
    between ``valid_from`` and ``valid_until`` unless revoked first."""

    __tablename__ = "customer_access_grants"
    __table_args__ = (
        # Exactly one target: a single file or a confidentiality level.
        CheckConstraint("(customer_id IS NULL) <> (max_level IS NULL)", name="one_target"),
        CheckConstraint("max_level IS NULL OR (max_level >= 0 AND max_level <= 3)", name="level_range"),
        CheckConstraint("valid_until > valid_from", name="period"),
        Index("ix_customer_access_grants_user_period", "user_id", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # 借阅人
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )  # 借阅客户
    max_level: Mapped[int | None] = mapped_column()  # or every file up to this 密级
    reason: Mapped[str] = mapped_column(String(500))  # 借阅事由
    note: Mapped[str | None] = mapped_column(String(500))  # 备注
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)  # 借阅日期
    valid_until: Mapped[datetime] = mapped_column()  # 归还日期
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # 批准人
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id], lazy="joined")
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id], lazy="joined")


class ChangeRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ChangeRequest(Base):
    """A request to change a customer's file; applied only when a reviewer approves it."""

    __tablename__ = "customer_change_requests"
    __table_args__ = (Index("ix_customer_change_requests_status", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )  # 申请人
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)  # 申请日期
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # 更改后内容: {field: new value}
    old_values: Mapped[dict[str, Any]] = mapped_column(JSON)  # 原内容, as it was when requested
    reason: Mapped[str] = mapped_column(String(500))  # 更改原因
    status: Mapped[ChangeRequestStatus] = mapped_column(
        enum_type(ChangeRequestStatus), default=ChangeRequestStatus.PENDING
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # 审批人
    reviewed_at: Mapped[datetime | None] = mapped_column()  # 审批日期
    review_note: Mapped[str | None] = mapped_column(String(500))  # 审批意见
    withdrawn_at: Mapped[datetime | None] = mapped_column()

    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id], lazy="joined")
