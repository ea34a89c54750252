"""Users, teams, skills and logins. Keyword-only functions taking a session; the caller commits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.audit.service import Actor
from core.clock import utcnow
from core.db import paginate
from core.errors import Conflict, InvalidFields, NotFound
from core.people.models import LoginSession, Skill, Team, User, UserSkill
from core.people.schemas import SkillLevel, TeamIn, UserCreate, UserUpdate
from core.security.passwords import hash_password, needs_rehash, verify_password
from core.security.roles import Role
from core.security.tokens import digest, new_token


def login(
    session: Session,
    *,
    username: str,
    password: str,
    hours: int,
    client_address: str | None,
    user_agent: str | None = None,
) -> tuple[User, str]:
    """Checks the password (by user name or agent number) and opens a login; returns the raw token."""
    user = session.scalar(select(User).where(or_(User.username == username, User.agent_number == username)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        # The caller audits the failure outside this (rolled back) transaction.
        raise InvalidFields.one("password", "error.bad_credentials")
    actor = Actor(user.id, username, client_address)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = new_token()
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=hours),
            client_address=client_address,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    user.last_login_at = now
    audit.record(session, actor=actor, action="auth.login", object_type="user", object_id=user.id)
    return user, token


def active_login(session: Session, *, token: str, hours: int) -> LoginSession | None:
    """The unexpired login of an active user behind ``token``, its expiry slid forward (written at most
    once a minute to keep reads cheap); None otherwise. The caller commits."""
    now = utcnow()
    login = session.scalar(select(LoginSession).where(LoginSession.token_hash == digest(token)))
    if login is None or login.expires_at <= now or not login.user.active:
        return None
    if now - login.last_seen_at > timedelta(minutes=1):
        login.last_seen_at = now
        login.expires_at = now + timedelta(hours=hours)
    return login


def logout(session: Session, *, token: str, actor: Actor) -> None:
    login_row = session.scalar(select(LoginSession).where(LoginSession.token_hash == digest(token)))
    if login_row is not None:
        session.delete(login_row)
    audit.record(session, actor=actor, action="auth.logout")


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(object="user", id=user_id)
    return user


def list_users(
    session: Session,
    *,
    q: str | None = None,
    role: Role | None = None,
    team_id: int | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[User], int]:
    query = select(User)
    if q:
        like = f"%{q}%"
        query = query.where(
            or_(User.username.ilike(like), User.full_name.ilike(like), User.agent_number.ilike(like))
        )
    if role:
        query = query.where(User.role == role)
    if team_id is not None:
        query = query.where(User.team_id == team_id)
    if active is not None:
        query = query.where(User.active == active)
    return paginate(session, query, User.agent_number, User.username, offset=offset, limit=limit)


def _check_unique(
    session: Session, *, username: str | None, agent_number: str | None, own_id: int | None
) -> None:
    if username and session.scalar(select(User.id).where(User.username == username, User.id != own_id)):
        raise InvalidFields.one("username", "validation.duplicate", value=username)
    if agent_number and session.scalar(
        select(User.id).where(User.agent_number == agent_number, User.id != own_id)
    ):
        raise InvalidFields.one("agent_number", "validation.duplicate", value=agent_number)


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidFields.one("team_id", "validation.unknown_reference", value=team_id)


def _set_skills(session: Session, user: User, skills: list[SkillLevel]) -> None:
    by_code = {s.code: s for s in session.scalars(select(Skill)).all()}
    wanted: list[UserSkill] = []
    for index, item in enumerate(skills):
        skill = by_code.get(item.skill_code)
        if skill is None:
            raise InvalidFields.one(
                ("skills", index, "skill_code"), "validation.unknown_reference", value=item.skill_code
            )
        wanted.append(UserSkill(skill=skill, level=item.level))
    user.skills.clear()
    session.flush()
    user.skills.extend(wanted)


def create_user(session: Session, *, data: UserCreate, actor: Actor) -> User:
    _check_unique(session, username=data.username, agent_number=data.agent_number, own_id=None)
    _check_team(session, data.team_id)
    fields = data.model_dump(exclude={"password", "skills"})
    user = User(**fields, password_hash=hash_password(data.password))
    session.add(user)
    _set_skills(session, user, data.skills)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        detail={"username": user.username, "role": user.role.value},
    )
    return user


def update_user(session: Session, *, user_id: int, data: UserUpdate, actor: Actor) -> User:
    user = get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    _check_unique(session, username=None, agent_number=changes.get("agent_number"), own_id=user.id)
    if "team_id" in changes:
        _check_team(session, changes["team_id"])
    password = changes.pop("password", None)
    skills = changes.pop("skills", None)
    for name, value in changes.items():
        setattr(user, name, value)
    if password:
        user.password_hash = hash_password(password)
        # A new password ends every open login of that user.
        for login_row in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
            session.delete(login_row)
    if skills is not None:
        _set_skills(session, user, data.skills or [])
    changed = (
        sorted(changes) + (["password"] if password else []) + (["skills"] if skills is not None else [])
    )
    audit.record(
        session,
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user.id,
        detail={"fields": changed},
    )
    return user


def set_language(session: Session, *, user_id: int, language: str) -> None:
    get_user(session, user_id).language = language


def list_teams(session: Session) -> list[tuple[Team, int]]:
    counts = dict(
        session.execute(
            select(User.team_id, func.count()).where(User.team_id.is_not(None)).group_by(User.team_id)
        ).all()
    )
    teams = session.scalars(select(Team).order_by(Team.name)).all()
    return [(team, counts.get(team.id, 0)) for team in teams]


def save_team(session: Session, *, data: TeamIn, actor: Actor, team_id: int | None = None) -> Team:
    clash = session.scalar(select(Team.id).where(Team.name == data.name, Team.id != team_id))
    if clash:
        raise InvalidFields.one("name", "validation.duplicate", value=data.name)
    if data.lead_id is not None:
        lead = session.get(User, data.lead_id)
        if lead is None or lead.role not in (Role.TEAM_LEAD, Role.SUPERVISOR):
            raise InvalidFields.one("lead_id", "validation.not_a_team_lead")
    if team_id is None:
        team = Team(**data.model_dump())
        session.add(team)
    else:
        team = session.get(Team, team_id) or _missing("team", team_id)
        for name, value in data.model_dump().items():
            setattr(team, name, value)
    session.flush()
    audit.record(session, actor=actor, action="team.save", object_type="team", object_id=team.id)
    return team


def list_skills(session: Session) -> list[Skill]:
    return list(session.scalars(select(Skill).order_by(Skill.code)).all())


def create_skill(session: Session, *, code: str, name: str, actor: Actor) -> Skill:
    if session.scalar(select(Skill.id).where(Skill.code == code)):
        raise Conflict("validation.duplicate", value=code)
    skill = Skill(code=code, name=name)
    session.add(skill)
    session.flush()
    audit.record(session, actor=actor, action="skill.create", object_type="skill", object_id=skill.id)
    return skill


def _missing(kind: str, object_id: int) -> Team:
    raise NotFound(object=kind, id=object_id)
