"""Pause reasons: list, create, change, deactivate, and the codes and labels a desktop offers.

Keyword-only functions taking a session; they flush, the caller commits. While the table is empty the
settings' ``pause_reasons`` (``CALLCENTER_PAUSE_REASONS``) are the reasons, so an install keeps working;
the first admin read or change writes them as rows (``ensure_defaults``) so they can be edited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import service as audit
from core.audit.service import Actor
from core.errors import InvalidFields, NotFound
from core.pause_reasons.models import PauseReason
from core.pause_reasons.schemas import PauseReasonIn, PauseReasonUpdate

# English labels and utilisation of the shipped defaults; any other default is its own label.
_DEFAULT_EN = {"休息": "Break", "就餐": "Meal", "培训": "Training", "会议": "Meeting"}
_PRODUCTIVE_DEFAULTS = {"培训", "会议"}
_FORBIDDEN = set("|\r\n\t\x00")  # queue_log separates fields with '|'; one line per event


@dataclass(frozen=True)
class Choices:
    """What the desktop offers (active codes in order, labelled) and labels of every code ever known,
    so an agent paused with a since-deactivated reason is still shown by its label."""

    codes: list[str]
    labels: dict[str, str]


def label_of(reason: PauseReason, language: str) -> str:
    return reason.label_en if language == "en" and reason.label_en else reason.label_zh


def _defaults(codes: Sequence[str]) -> list[PauseReason]:
    rows: list[PauseReason] = []
    for order, code in enumerate(dict.fromkeys(c.strip() for c in codes)):
        if not code or len(code) > 40 or _FORBIDDEN & set(code):
            continue  # a bad setting is not worth refusing to start over
        rows.append(
            PauseReason(
                code=code,
                label_zh=code,
                label_en=_DEFAULT_EN.get(code, code),
                counts_as_productive=code in _PRODUCTIVE_DEFAULTS,
                active=True,
                sort_order=(order + 1) * 10,
                max_minutes=None,
            )
        )
    return rows


def _is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(PauseReason))


def ensure_defaults(session: Session, *, defaults: Sequence[str], actor: Actor) -> int:
    """Writes the settings' reasons as rows when the table is empty; how many it wrote (the demo seed and
    the first admin read or change call it)."""
    if not _is_empty(session):
        return 0
    rows = _defaults(defaults)
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pause_reason.seed",
        object_type="pause_reason",
        detail={"codes": [r.code for r in rows]},
    )
    return len(rows)


def list_active(session: Session, *, defaults: Sequence[str]) -> list[PauseReason]:
    """The active reasons in display order; the settings' defaults (not written) while the table is empty."""
    rows = list(
        session.scalars(
            select(PauseReason).order_by(PauseReason.sort_order, PauseReason.id).where(PauseReason.active)
        ).all()
    )
    if not rows and _is_empty(session):
        return _defaults(defaults)
    return rows


def list_all(session: Session, *, defaults: Sequence[str], actor: Actor) -> list[PauseReason]:
    ensure_defaults(session, defaults=defaults, actor=actor)
    return list(session.scalars(select(PauseReason).order_by(PauseReason.sort_order, PauseReason.id)).all())


def choices(session: Session, *, defaults: Sequence[str], language: str) -> Choices:
    active = list_active(session, defaults=defaults)
    labels = {r.code: label_of(r, language) for r in session.scalars(select(PauseReason)).all()}
    labels.update({r.code: label_of(r, language) for r in active})
    return Choices(codes=[r.code for r in active], labels=labels)


def active_codes(session: Session, *, defaults: Sequence[str]) -> list[str]:
    """The codes a pause may use now (what acd.agent_session.pause checks against)."""
    return [r.code for r in list_active(session, defaults=defaults)]


def get(session: Session, reason_id: int) -> PauseReason:
    reason = session.get(PauseReason, reason_id)
    if reason is None:
        raise NotFound(object="pause_reason", id=reason_id)
    return reason


def _check_code(session: Session, code: str) -> None:
    if _FORBIDDEN & set(code):
        raise InvalidFields.one("code", "validation.pause_reason_code_chars")
    if code != code.strip():
        raise InvalidFields.one("code", "validation.pause_reason_code_spaces")
    if session.scalar(select(PauseReason.id).where(PauseReason.code == code)):
        raise InvalidFields.one("code", "validation.duplicate", value=code)


def _check_not_last_active(session: Session, reason: PauseReason) -> None:
    """Agents must always have a reason to pause with."""
    others = session.scalar(
        select(func.count()).select_from(PauseReason).where(PauseReason.active, PauseReason.id != reason.id)
    )
    if reason.active and not others:
        raise InvalidFields.one("active", "validation.pause_reason_last_active")


def create(session: Session, *, data: PauseReasonIn, defaults: Sequence[str], actor: Actor) -> PauseReason:
    # The defaults first: adding one reason to an empty table must not drop 休息/就餐/...
    ensure_defaults(session, defaults=defaults, actor=actor)
    _check_code(session, data.code)
    reason = PauseReason(**data.model_dump())
    session.add(reason)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pause_reason.create",
        object_type="pause_reason",
        object_id=reason.id,
        detail=data.model_dump(),
    )
    return reason


def update(session: Session, *, reason_id: int, data: PauseReasonUpdate, actor: Actor) -> PauseReason:
    reason = get(session, reason_id)
    if not data.active:
        _check_not_last_active(session, reason)
    changes = {k: v for k, v in data.model_dump().items() if getattr(reason, k) != v}
    for name, value in changes.items():
        setattr(reason, name, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pause_reason.update",
        object_type="pause_reason",
        object_id=reason.id,
        detail={"code": reason.code, "changes": changes},
    )
    return reason


def deactivate(session: Session, *, reason_id: int, actor: Actor) -> PauseReason:
    """DELETE: the row stays (history and queue_log keep its code), agents no longer see it."""
    reason = get(session, reason_id)
    _check_not_last_active(session, reason)
    reason.active = False
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pause_reason.deactivate",
        object_type="pause_reason",
        object_id=reason.id,
        detail={"code": reason.code},
    )
    return reason
