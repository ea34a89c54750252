"""API shapes for login, users, teams and skills."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.security.roles import Role


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="User name or agent number (工号).")
    password: str = Field(min_length=1, max_length=200)


class SkillLevel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    skill_code: str = Field(min_length=1, max_length=40)
    level: int = Field(ge=1, le=10)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    agent_number: str | None
    position: str | None
    team_id: int | None
    team_name: str | None = None
    extension: str | None
    pbx_interface: str | None
    email: str | None
    language: str | None
    active: bool
    last_login_at: datetime | None
    skills: list[SkillLevel] = []


class MeOut(UserOut):
    permissions: list[str]
    clearance: int


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    full_name: str = Field(min_length=1, max_length=100)
    role: Role
    password: str = Field(min_length=8, max_length=200)
    agent_number: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9\-]+$")
    position: str | None = Field(default=None, max_length=100)
    team_id: int | None = None
    extension: str | None = Field(default=None, max_length=32, pattern=r"^[0-9*#]+$")
    pbx_interface: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z]+/[\w.@\-]+$")
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    language: str | None = Field(default=None, pattern=r"^(zh-CN|en)$")
    skills: list[SkillLevel] = []


class UserUpdate(BaseModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    agent_number: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9\-]+$")
    position: str | None = Field(default=None, max_length=100)
    team_id: int | None = None
    extension: str | None = Field(default=None, max_length=32, pattern=r"^[0-9*#]+$")
    pbx_interface: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z]+/[\w.@\-]+$")
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    language: str | None = Field(default=None, pattern=r"^(zh-CN|en)$")
    active: bool | None = None
    skills: list[SkillLevel] | None = None


class LanguageIn(BaseModel):
    language: str = Field(pattern=r"^(zh-CN|en)$")


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    lead_id: int | None = None
    description: str | None = Field(default=None, max_length=500)


class TeamOut(TeamIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    lead_name: str | None = None
    member_count: int = 0


class SkillIn(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)


class SkillOut(SkillIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
