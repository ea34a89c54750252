"""Errors a user can act on. Each carries a message key (translated in core.i18n) and an HTTP status;
the web layer maps them in one place (core.web)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "error.bad_request"

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        self.code = code or type(self).code
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)


class NotAuthenticated(DomainError):
    status = 401
    code = "error.not_authenticated"


class PermissionDenied(DomainError):
    status = 403
    code = "error.permission_denied"


class NotFound(DomainError):
    status = 404
    code = "error.not_found"


class Conflict(DomainError):
    status = 409
    code = "error.conflict"


class InvalidTransition(DomainError):
    status = 409
    code = "error.invalid_transition"


class FieldProblem:
    """One invalid field: where (a path such as ("phones", 0, "number")), which rule, its parameters."""

    __slots__ = ("code", "loc", "params")

    def __init__(self, loc: tuple[str | int, ...], code: str, **params: Any) -> None:
        self.loc = loc
        self.code = code
        self.params = params

    def __repr__(self) -> str:
        return f"FieldProblem({self.loc!r}, {self.code!r}, {self.params!r})"


class InvalidFields(DomainError):
    """Server-side validation found field-level problems; shown beside the fields (HTTP 422)."""

    status = 422
    code = "error.invalid_fields"

    def __init__(self, *problems: FieldProblem) -> None:
        super().__init__()
        self.problems = list(problems)

    @classmethod
    def one(cls, field: str | tuple[str | int, ...], code: str, **params: Any) -> InvalidFields:
        loc = (field,) if isinstance(field, str) else field
        return cls(FieldProblem(loc, code, **params))
