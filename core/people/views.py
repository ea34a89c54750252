"""HTTP API for login/logout, the current user, users, teams and skills."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from core.audit.service import Actor
from core.errors import InvalidFields
from core.people import service
from core.people.models import User
from core.people.schemas import (
    LanguageIn,
    LoginIn,
    MeOut,
    SkillIn,
    SkillOut,
    TeamIn,
    TeamOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from core.security.roles import ROLE_CLEARANCE, ROLE_PERMISSIONS, Permission, Role
from core.web import (
    DB,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    AppSettings,
    Authenticated,
    CurrentUser,
    Page,
    PageParams,
    audit_refusal,
    client_address,
    deny,
    require,
)

router = APIRouter(prefix="/api", tags=["people"])
P = Permission
UsersReader = Annotated[CurrentUser, Depends(require(P.USERS_READ))]
UsersWriter = Annotated[CurrentUser, Depends(require(P.USERS_WRITE))]


def user_out(user: User) -> UserOut:
    out = UserOut.model_validate(user)
    out.team_name = user.team.name if user.team else None
    return out


def me_out(user: User) -> MeOut:
    return MeOut(
        **user_out(user).model_dump(),
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[user.role]),
        clearance=int(ROLE_CLEARANCE[user.role]),
    )


@router.post("/auth/login", response_model=MeOut, summary="Log in with user name or agent number (工号)")
def login(data: LoginIn, request: Request, response: Response, db: DB, settings: AppSettings) -> MeOut:
    try:
        user, token = service.login(
            db,
            username=data.username.strip(),
            password=data.password,
            hours=settings.session_hours,
            client_address=client_address(request),
            user_agent=request.headers.get("user-agent"),
        )
    except InvalidFields:
        actor = Actor(None, data.username.strip()[:64], client_address(request))
        audit_refusal(request, "auth.login_failed", None, {}, actor=actor)
        raise
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
    )
    if user.language:
        response.set_cookie(LANGUAGE_COOKIE, user.language, samesite="lax", max_age=365 * 86400)
    response.headers["X-Session-Token"] = token  # for API clients that use Bearer instead of the cookie
    return me_out(user)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, db: DB, user: Authenticated) -> None:
    header = request.headers.get("authorization", "")
    token = (
        header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE)
    )
    service.logout(db, token=token or "", actor=user.actor)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/auth/me", response_model=MeOut)
def me(db: DB, user: Authenticated) -> MeOut:
    return me_out(service.get_user(db, user.id))


@router.put("/auth/language", status_code=204)
def set_language(data: LanguageIn, response: Response, db: DB, user: Authenticated) -> None:
    service.set_language(db, user_id=user.id, language=data.language)
    response.set_cookie(LANGUAGE_COOKIE, data.language, samesite="lax", max_age=365 * 86400)


def _team_scope(request: Request, current: CurrentUser, team_id: int | None) -> int | None:
    """A team lead sees the people of their own team only."""
    if current.role is not Role.TEAM_LEAD:
        return team_id
    if team_id is not None and team_id != current.team_id:
        raise deny(request, current, "error.other_team", team_id=team_id)
    return current.team_id if current.team_id is not None else -1


@router.get("/users", response_model=Page[UserOut])
def list_users(
    request: Request,
    db: DB,
    paging: PageParams,
    current: UsersReader,
    q: str | None = None,
    role: Role | None = None,
    team_id: int | None = None,
    active: bool | None = None,
) -> Page[UserOut]:
    team_id = _team_scope(request, current, team_id)
    rows, total = service.list_users(
        db, q=q, role=role, team_id=team_id, active=active, offset=paging.offset, limit=paging.limit
    )
    return Page(items=[user_out(u) for u in rows], total=total, offset=paging.offset, limit=paging.limit)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: int, request: Request, db: DB, current: UsersReader) -> UserOut:
    user = service.get_user(db, user_id)
    _team_scope(request, current, user.team_id if user.team_id is not None else -1)
    return user_out(user)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(data: UserCreate, db: DB, current: UsersWriter) -> UserOut:
    return user_out(service.create_user(db, data=data, actor=current.actor))


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: int, data: UserUpdate, db: DB, current: UsersWriter) -> UserOut:
    return user_out(service.update_user(db, user_id=user_id, data=data, actor=current.actor))


@router.get("/teams", response_model=list[TeamOut])
def list_teams(db: DB, current: UsersReader) -> list[TeamOut]:
    return [
        TeamOut(
            id=team.id,
            name=team.name,
            lead_id=team.lead_id,
            description=team.description,
            lead_name=team.lead.full_name if team.lead else None,
            member_count=count,
        )
        for team, count in service.list_teams(db)
    ]


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(data: TeamIn, db: DB, current: UsersWriter) -> TeamOut:
    team = service.save_team(db, data=data, actor=current.actor)
    return TeamOut(id=team.id, **data.model_dump())


@router.put("/teams/{team_id}", response_model=TeamOut)
def update_team(team_id: int, data: TeamIn, db: DB, current: UsersWriter) -> TeamOut:
    team = service.save_team(db, data=data, actor=current.actor, team_id=team_id)
    return TeamOut(id=team.id, **data.model_dump())


@router.get("/skills", response_model=list[SkillOut])
def list_skills(db: DB, current: Authenticated) -> list[SkillOut]:
    return [SkillOut.model_validate(s) for s in service.list_skills(db)]


@router.post("/skills", response_model=SkillOut, status_code=201)
def create_skill(data: SkillIn, db: DB, current: UsersWriter) -> SkillOut:
    return SkillOut.model_validate(
        service.create_skill(db, code=data.code, name=data.name, actor=current.actor)
    )
