"""What each role may see of the live ACD state over the websocket hub (``agent_desktop.ws``).

Owns ``Scope`` (the pure rule "is this record visible to this viewer"), ``scopes_for_role`` (which scope
names a role may subscribe to) and ``scope_for`` (a viewer's scope, built from plain values, no I/O).

Scope names, widest last:

* ``own`` — the viewer's own agent record (the live agent whose ``interface`` is the user's
  ``pbx_interface``, or whose member name is the user's full name) and the calls where that agent is the
  agent or is ringing. Every role that may see anything has it.
* ``team`` — the agents of the viewer's team (users with the same ``team_id``, matched the same way), the
  calls where one of them is the agent or is ringing, and every queue. Team leads and up.
* ``all`` — everything. Supervisors and admins.

Other roles (QA inspectors, complaints and information officers) see nothing: they connect and get an empty
scope list and empty snapshots (heartbeats only), so one desktop client works for every role.
The PBX link's state (kind ``pbx``) is visible in every non-empty scope.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.security.roles import Role

__all__ = ["SCOPE_NAMES", "Member", "Scope", "scope_for", "scopes_for_role", "visible_state"]

SCOPE_NAMES = ("own", "team", "all")

_ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.AGENT: ("own",),
    Role.TEAM_LEAD: ("own", "team"),
    Role.SUPERVISOR: ("own", "team", "all"),
    Role.ADMIN: ("own", "team", "all"),
}


def scopes_for_role(role: Role) -> tuple[str, ...]:
    """The scope names a role may subscribe to, narrowest first (the last one is the default)."""
    return _ROLE_SCOPES.get(role, ())


@dataclass(frozen=True)
class Member:
    """A user as the PBX may know them: their phone's interface and their full name (the member name)."""

    full_name: str
    pbx_interface: str | None


@dataclass(frozen=True)
class Scope:
    """A viewer's scope. ``interfaces``/``names`` identify the agents in it; ``queues`` means every queue."""

    name: str  # "own" | "team" | "all" | "" (nothing)
    interfaces: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    queues: bool = False
    everything: bool = False

    @property
    def empty(self) -> bool:
        return not self.name

    def sees_agent(self, data: Mapping[str, Any]) -> bool:
        if self.everything:
            return True
        return data.get("name") in self.names or data.get("interface") in self.interfaces

    def member_names(self, names_by_interface: Mapping[str, Collection[str]]) -> frozenset[str]:
        """The member names of this scope's agents: their full names plus the live agents on their phones."""
        found = set(self.names)
        for interface in self.interfaces:
            found.update(names_by_interface.get(interface, ()))
        return frozenset(found)

    def sees(self, kind: str, data: Mapping[str, Any] | None, members: Collection[str]) -> bool:
        """Is this record (of ``kind``) visible? ``members`` = ``member_names(...)`` at the time."""
        if self.empty or data is None:
            return False
        if self.everything:
            return True
        if kind == "agent":
            return self.sees_agent(data)
        if kind == "call":
            if data.get("agent") in members:
                return True
            return any(name in members for name in data.get("ringing") or ())
        if kind == "queue":
            return self.queues
        return kind == "pbx"


def scope_for(role: Role, name: str | None, me: Member, team: Iterable[Member] = ()) -> Scope | None:
    """The scope ``name`` (default: the role's widest) for a viewer; None if the role may not see it.

    ``team``: the other users of the viewer's team (only used by the ``team`` scope)."""
    allowed = scopes_for_role(role)
    if name is None:
        if not allowed:
            return Scope("")
        name = allowed[-1]
    if name not in allowed:
        return None
    if name == "all":
        return Scope("all", queues=True, everything=True)
    people = [me, *team] if name == "team" else [me]
    return Scope(
        name,
        interfaces=frozenset(p.pbx_interface for p in people if p.pbx_interface),
        names=frozenset(p.full_name for p in people if p.full_name),
        queues=name == "team",
    )


def visible_state(
    scope: Scope, state: Mapping[str, Any], names_by_interface: Mapping[str, Collection[str]]
) -> dict[str, Any]:
    """The part of a state (``{"calls", "queues", "agents", "pbx"}``) a scope sees."""
    members = scope.member_names(names_by_interface)
    out: dict[str, Any] = {}
    for section, kind in (("calls", "call"), ("queues", "queue"), ("agents", "agent")):
        records: Mapping[str, Any] = state.get(section) or {}
        out[section] = {k: v for k, v in records.items() if scope.sees(kind, v, members)}
    pbx = state.get("pbx")
    out["pbx"] = pbx if pbx is not None and scope.sees("pbx", pbx, members) else None
    return out
