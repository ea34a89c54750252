"""API shapes of the equipment list: ``EquipmentUpdate`` has every field, optional (a PATCH sends what
changed); ``EquipmentCreate`` requires the number and category."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from core.equipment.models import EquipmentCategory, EquipmentStatus


class EquipmentUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    number: str | None = Field(default=None, min_length=1, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    category: EquipmentCategory | None = None
    phone_extension: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+*#()\- ]*$")
    user_id: int | None = None
    user_name: str | None = Field(default=None, max_length=100)
    quantity: int | None = Field(default=None, ge=1, le=100_000)
    purchase_date: date | None = None
    remarks: str | None = Field(default=None, max_length=2000)
    status: EquipmentStatus | None = None


class EquipmentCreate(EquipmentUpdate):
    number: str = Field(min_length=1, max_length=40)
    category: EquipmentCategory
    quantity: int = Field(default=1, ge=1, le=100_000)
    status: EquipmentStatus = EquipmentStatus.IN_USE


class EquipmentOut(EquipmentCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_full_name: str | None = None  # the staff user's name, or the free-text user name
    created_at: datetime
    updated_at: datetime
