"""Events of the escalations domain on the bus. ``EscalationRaised`` goes out on the ``desktop.notice``
topic when an agent escalates, so the team lead's screen can be told at once (the UI subscribes later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.bus import register_event

NOTICE_TOPIC = "desktop.notice"


@register_event
@dataclass(frozen=True)
class EscalationRaised:
    at: datetime
    escalation_id: int
    agent_id: int
    agent_name: str
    team_id: int | None
    linkedid: str | None
    customer_id: int | None
    customer_name: str | None
    reason: str
