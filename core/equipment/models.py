"""The equipment table (呼叫中心设备明细表)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TimestampMixin, enum_type
from core.people.models import User


class EquipmentCategory(StrEnum):
    HEADSET = "headset"
    PHONE = "phone"
    COMPUTER = "computer"
    SERVER = "server"
    GATEWAY = "gateway"
    NETWORK = "network"
    OTHER = "other"


class EquipmentStatus(StrEnum):
    IN_USE = "in_use"
    SPARE = "spare"
    REPAIR = "repair"
    RETIRED = "retired"  # kept on the list for the record; "deleting" an item retires it


class Equipment(Base, TimestampMixin):
    __tablename__ = "equipment"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 编号
    name: Mapped[str | None] = mapped_column(String(200))  # make and model, e.g. "Jabra Biz 2300"
    category: Mapped[EquipmentCategory] = mapped_column(enum_type(EquipmentCategory), index=True)
    phone_extension: Mapped[str | None] = mapped_column(String(40))  # phone number or extension
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    user_name: Mapped[str | None] = mapped_column(String(100))  # for users who are not staff in the system
    quantity: Mapped[int] = mapped_column(default=1)
    purchase_date: Mapped[date | None] = mapped_column()
    remarks: Mapped[str | None] = mapped_column(Text)
    status: Mapped[EquipmentStatus] = mapped_column(
        enum_type(EquipmentStatus), default=EquipmentStatus.IN_USE, index=True
    )

    user: Mapped[User | None] = relationship(lazy="joined")
