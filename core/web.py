"""Web plumbing shared by every domain's router: the per-request database session, the current user,
``require(permission)``, the UI language, paging, and the one place errors become HTTP responses.

Only routers (``views.py``) and the composition root import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from core import i18n
from core.audit import service as audit
from core.audit.service import Actor
from core.config import Settings
from core.db import transaction
from core.errors import DomainError, FieldProblem, InvalidFields, NotAuthenticated, PermissionDenied
from core.people.models import User
from core.people.service import active_login
from core.security.roles import ROLE_CLEARANCE, ROLE_PERMISSIONS, Clearance, Permission, Role

SESSION_COOKIE = "cc_session"
LANGUAGE_COOKIE = "cc_lang"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def session_factory_of(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (scope="function")."""
    with transaction(session_factory_of(request)) as session:
        yield session


DB = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(settings_of)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_language(request: Request) -> str:
    user: CurrentUser | None = getattr(request.state, "user", None)
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        user.language if user else None,
        accept_language=request.headers.get("accept-language"),
    )


Language = Annotated[str, Depends(request_language)]


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    full_name: str
    role: Role
    team_id: int | None
    agent_number: str | None
    language: str | None
    client_address: str | None

    @classmethod
    def of(cls, user: User, client_address: str | None) -> CurrentUser:
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            team_id=user.team_id,
            agent_number=user.agent_number,
            language=user.language,
            client_address=client_address,
        )

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    @property
    def clearance(self) -> Clearance:
        return ROLE_CLEARANCE[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.id, username=self.username, client_address=self.client_address)


def audit_refusal(
    request: Request,
    action: str,
    user: CurrentUser | None,
    detail: dict[str, Any],
    actor: Actor | None = None,
) -> None:
    """Refusals are audited in a transaction of their own: the request's own one is rolled back."""
    actor = actor or (user.actor if user else Actor(None, None, client_address(request)))
    detail = {"method": request.method, "path": request.url.path, **detail}
    with transaction(session_factory_of(request)) as session:
        audit.record(session, actor=actor, action=action, allowed=False, detail=detail)


def _check_origin(request: Request) -> None:
    """A cookie-authenticated unsafe request from another site is refused (CSRF defence)."""
    origin = request.headers.get("origin")
    if request.method in UNSAFE_METHODS and origin:
        expected = f"{request.url.scheme}://{request.url.netloc}"
        if origin.rstrip("/") != expected:
            raise PermissionDenied("error.bad_origin")


def authenticate(request: Request) -> CurrentUser:
    """The user behind the session cookie or ``Authorization: Bearer`` token; 401 otherwise."""
    cached: CurrentUser | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    else:
        _check_origin(request)
    user = _user_for_token(request, token) if token else None
    if user is None:
        audit_refusal(request, "auth.unauthenticated", None, {})
        raise NotAuthenticated()
    request.state.user = user
    return user


def _user_for_token(request: Request, token: str) -> CurrentUser | None:
    with transaction(session_factory_of(request)) as session:
        login = active_login(session, token=token, hours=settings_of(request).session_hours)
        return CurrentUser.of(login.user, client_address(request)) if login else None


Authenticated = Annotated[CurrentUser, Depends(authenticate)]


def require(permission: Permission) -> Callable[..., CurrentUser]:
    """Dependency: the current user, who must hold ``permission`` (else 403 and an audit row)."""

    def dependency(request: Request, user: Authenticated) -> CurrentUser:
        if not user.can(permission):
            audit_refusal(request, "auth.forbidden", user, {"permission": permission.value})
            raise PermissionDenied(permission=permission.value)
        return user

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the role-matrix test
    return dependency


def deny(request: Request, user: CurrentUser, reason: str, **detail: Any) -> PermissionDenied:
    """For object-level refusals inside an endpoint (a file above clearance, another agent's record):
    audits and returns the error to raise."""
    audit_refusal(request, "auth.forbidden", user, {"reason": reason, **detail})
    return PermissionDenied(reason)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int


def paging(
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Paging:
    return Paging(offset, limit)


PageParams = Annotated[Paging, Depends(paging)]


# --- errors → responses ------------------------------------------------------------------------

_LOC_PREFIXES = {"body", "query", "path", "header", "cookie"}


def _problem_json(problem: FieldProblem, language: str) -> dict[str, Any]:
    loc = [part for part in problem.loc]
    field = ".".join(str(part) for part in loc)
    label_key = f"field.{loc[-1]}" if loc else ""
    params = {"field": i18n.translate(label_key, language) if label_key else "", **problem.params}
    message = i18n.translate(problem.code, language, **params)
    return {"loc": loc, "field": field, "code": problem.code, "message": message}


def problems_from_validation(errors: list[Any]) -> list[FieldProblem]:
    problems = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if loc and loc[0] in _LOC_PREFIXES:
            loc = loc[1:]
        # Discriminated/union wrappers add type names to the path; people want field names only.
        loc = tuple(part for part in loc if not (isinstance(part, str) and part[:1].isupper()))
        ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        problems.append(FieldProblem(loc, f"validation.{error.get('type', 'invalid')}", **ctx))
    return problems


def error_body(
    code: str, language: str, problems: list[FieldProblem] | None = None, **params: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": i18n.translate(code, language, **params)}
    if problems:
        body["fields"] = [_problem_json(p, language) for p in problems]
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        language = request_language(request)
        problems = exc.problems if isinstance(exc, InvalidFields) else []
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            error_body(exc.code, language, problems, **exc.params), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = request_language(request)
        problems = problems_from_validation(list(exc.errors()))
        return JSONResponse(error_body("error.invalid_fields", language, problems), status_code=422)
