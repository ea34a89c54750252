"""HTTP API of the ACD: the live picture of queues, agents and calls, computed at read time (waits in
seconds, finished wrap-ups shown as available) from the live state; phone numbers masked by role."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from acd.state import agents_by_state, effective_agent_state
from core import phone
from core.security.roles import Permission
from core.web import AppSettings, CurrentUser, require

router = APIRouter(prefix="/api/acd", tags=["acd"])
Monitor = Annotated[CurrentUser, Depends(require(Permission.ACD_MONITOR))]


@router.get("/live", summary="The live picture: queues, agents and calls now")
def live(request: Request, current: Monitor, settings: AppSettings) -> dict[str, Any]:
    service = getattr(request.app.state, "acd", None)
    now = time.time()
    if service is None:
        return {
            "now": now,
            "pbx": {"configured": False, "connected": False},
            "queues": [],
            "agents": [],
            "calls": [],
        }
    snapshot = service.state.snapshot()
    agents = snapshot["agents"]
    unmasked = current.can(Permission.PHONES_UNMASKED)
    queues = []
    for queue in sorted(snapshot["queues"].values(), key=lambda q: q["name"]):
        longest = queue.get("longest_since")
        queues.append(
            {
                "name": queue["name"],
                "waiting": queue["count"],
                "longest_wait_s": round(now - longest, 1) if longest and queue["count"] else 0.0,
                "offered": queue["offered"],
                "answered": queue["answered"],
                "abandoned": queue["abandoned"],
                "timed_out": queue["timed_out"],
                "agents": agents_by_state(queue, agents, now),
            }
        )
    agent_rows = []
    for agent in sorted(agents.values(), key=lambda a: a["name"]):
        state, since = effective_agent_state(agent, now)
        agent_rows.append(
            {
                "name": agent["name"],
                "interface": agent.get("interface"),
                "state": state,
                "in_state_s": round(now - since, 1) if since else None,
                "reason": agent.get("reason"),
                "queues": sorted(agent.get("queues", {})),
            }
        )
    calls = [
        {
            "linkedid": call["linkedid"],
            "caller": phone.for_reader(
                call.get("caller_number"), unmasked=unmasked, region=settings.phone_region
            ),
            "queue": call.get("queue"),
            "state": call["state"],
            "agent": call.get("agent"),
            "for_s": round(now - call["since"], 1) if call.get("since") else None,
        }
        for call in sorted(snapshot["calls"].values(), key=lambda c: c.get("joined") or 0)
    ]
    return {
        "now": now,
        "pbx": {"configured": True, "connected": service.link.connected, "version": service.link.version},
        "queues": queues,
        "agents": agent_rows,
        "calls": calls,
    }
