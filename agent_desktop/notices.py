"""Notices for the people who must act: an escalated call reaches the team lead's screen at once.

The escalations domain publishes ``EscalationRaised`` on ``desktop.notice`` (after its commit); this relay
sends a ``notice`` frame to the open sockets of whoever handles escalations for that agent: the team lead
of the agent's team, and supervisors (who see every team). It holds no state, so every app process behind
Redis runs one and reaches its own sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from core.escalations.events import NOTICE_TOPIC, EscalationRaised
from core.escalations.service import inbox_team
from core.security.roles import Permission, has_permission

if TYPE_CHECKING:
    from agent_desktop.ws import Hub
    from core.web import CurrentUser

log = logging.getLogger(__name__)


def handles_escalation(user: CurrentUser, team_id: int | None) -> bool:
    """A team lead takes its own team's escalations; a role that sees every team takes them all."""
    if not has_permission(user.role, Permission.ESCALATIONS_HANDLE):
        return False
    team = inbox_team(user.role, user.team_id)
    return team is None or team == team_id


def escalation_frame(event: EscalationRaised) -> dict[str, Any]:
    return {
        "type": "notice",
        "kind": "escalation",
        "escalation_id": event.escalation_id,
        "at": event.at.timestamp(),
        "agent_id": event.agent_id,
        "agent_name": event.agent_name,
        "team_id": event.team_id,
        "linkedid": event.linkedid,
        "customer_id": event.customer_id,
        "customer_name": event.customer_name,
        "reason": event.reason,
    }


class Notices:
    """One hub's subscription to ``desktop.notice``."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._sub: Any = None
        self.sent = 0

    async def start(self) -> asyncio.Task[None]:
        """Subscribe before returning (nothing published afterwards is missed), then relay."""
        self._sub = await self.hub.app.state.bus.subscribe(NOTICE_TOPIC, maxsize=1000)
        return asyncio.create_task(self._run(), name="ws-hub-notices")

    async def _run(self) -> None:
        sub = self._sub
        try:
            async for event in sub:
                if isinstance(event, EscalationRaised):
                    self.relay(event)
        finally:
            with contextlib.suppress(Exception):
                await sub.close()

    def relay(self, event: EscalationRaised) -> int:
        frame = escalation_frame(event)
        users = {
            c.viewer.user.id for c in self.hub.clients if handles_escalation(c.viewer.user, event.team_id)
        }
        sent = sum(self.hub.send_to_user(user_id, frame) for user_id in users)
        self.sent += sent
        log.debug("escalation %s told to %d sockets", event.escalation_id, sent)
        return sent
