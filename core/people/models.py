"""Tables for users, teams, skills and login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, TimestampMixin, enum_type
from core.security.roles import Role


class Team(Base, TimestampMixin):
    """A team lead's team (12–14 agents by the handbook)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True, ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(String(500))

    members: Mapped[list[User]] = relationship(back_populates="team", foreign_keys="User.team_id")
    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id], post_update=True)


class User(Base, TimestampMixin):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    agent_number: Mapped[str | None] = mapped_column(String(20), unique=True)  # 工号
    position: Mapped[str | None] = mapped_column(String(100))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    extension: Mapped[str | None] = mapped_column(String(32))  # the phone's extension, e.g. 1001
    pbx_interface: Mapped[str | None] = mapped_column(String(64))  # e.g. PJSIP/1001 for QueueAdd
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    hired_on: Mapped[datetime | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column()

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id])
    skills: Mapped[list[UserSkill]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class Skill(Base):
    """A skill routing can ask for (billing, complaints, English, ...)."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class UserSkill(Base):
    """An agent's level in a skill, 1 (novice) to 10 (expert); routing turns it into a queue penalty."""

    __tablename__ = "user_skills"
    __table_args__ = (UniqueConstraint("user_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(default=5)

    user: Mapped[User] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship(lazy="joined")

    @property
    def skill_code(self) -> str:
        # what the API shows of a skill level (SkillLevel.skill_code), read straight from the row
        return self.skill.code


class LoginSession(Base):
    """A login: the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")
