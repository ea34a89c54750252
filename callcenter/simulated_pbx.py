"""The demo's PBX: the simulator, started in the app's process, staffed with the center's own agents
(their names, phones and, from their skills, their queues) so the live view shows the people the UI knows;
and the softphone the desktop answers the simulated phones with.

When the IVR's FastAGI server runs (``settings.agi_port``), the simulator dials it for every demo call, as
Asterisk's [from-pstn] does: the callers' scripts are drawn from the active ``ivr`` flow (which menu key
leads to which queue, which branch asks for the customer id) and known callers type their own customer id.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from acd.records.queue_log import QueueConfig
from acd.softphone import SimulatedSoftphone, Softphone
from core import phone
from core.config import Settings
from core.customers.models import Customer, CustomerPhone
from core.people.models import User
from core.security.roles import Role
from ivr import service as ivr_service
from ivr.engine import luhn_valid
from ivr.flows import (
    FlowDefinition,
    HoursStep,
    InputCheck,
    InputStep,
    LookupStep,
    LookupTarget,
    MenuStep,
    RouteStep,
    SayStep,
    TransferToAgentStep,
)
from pbxsim.simulator import Simulator
from pbxsim.traffic import IvrMenu
from recording.config import RecordingSettings

# The demo seed's skills → the simulator's demo queues.
SKILL_QUEUES = {"billing": "billing", "tech": "support", "sales": "sales"}


def roster(session: Session) -> dict[str, tuple[str, tuple[str, ...]]]:
    """interface → (member name, queues) for every active agent with a phone."""
    agents = session.scalars(
        select(User).where(User.role == Role.AGENT, User.active.is_(True), User.pbx_interface.is_not(None))
    ).all()
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for agent in agents:
        ranked = sorted(agent.skills, key=lambda s: -s.level)
        queues = tuple(
            dict.fromkeys(SKILL_QUEUES[s.skill.code] for s in ranked if s.skill.code in SKILL_QUEUES)
        )
        out[agent.pbx_interface or ""] = (agent.full_name, queues or ("support",))
    return out


def known_callers(session: Session, region: str, limit: int = 2000) -> list[str]:
    """Numbers of the center's customers as a caller presents them (national form), so most demo calls pop
    a customer file."""
    numbers = session.scalars(select(CustomerPhone.number).order_by(CustomerPhone.id).limit(limit)).all()
    return [phone.display(number, region).replace("-", "") for number in numbers if number]


# --- the IVR as the simulated callers see it ------------------------------------------------------------


def _first_menu(flow: FlowDefinition) -> MenuStep | None:
    """The menu a caller meets first (through say, look-up and open-hours steps)."""
    step_id: str | None = flow.start
    seen: set[str] = set()
    while step_id is not None and step_id not in seen:
        seen.add(step_id)
        step = flow.steps.get(step_id)
        if isinstance(step, MenuStep):
            return step
        if isinstance(step, SayStep):
            step_id = step.next
        elif isinstance(step, LookupStep):
            step_id = step.found
        elif isinstance(step, HoursStep):
            step_id = step.open
        else:
            step_id = None
    return None


def _follow(flow: FlowDefinition, step_id: str) -> tuple[str | None, InputStep | None, bool]:
    """(queue, the customer-id input on the way, whether it ends in an agent transfer) from a menu option."""
    id_input: InputStep | None = None
    pending: InputStep | None = None
    seen: set[str] = set()
    current: str | None = step_id
    while current is not None and current not in seen:
        seen.add(current)
        step = flow.steps.get(current)
        if isinstance(step, RouteStep):
            return step.queue, id_input, False
        if isinstance(step, TransferToAgentStep):
            return step.queue, id_input, True
        if isinstance(step, InputStep):
            pending, current = step, step.next
        elif isinstance(step, LookupStep):
            if step.target is LookupTarget.CUSTOMER_BY_ID:
                id_input = pending
            current = step.found
        elif isinstance(step, SayStep):
            current = step.next
        elif isinstance(step, HoursStep):
            current = step.open
        else:
            current = None
    return None, None, False


def ivr_menu(flow: FlowDefinition) -> tuple[IvrMenu, InputStep | None] | None:
    """The simulated callers' knowledge of ``flow``: menu key per queue, the agent key, the keys asking for
    the customer id (and that input step, for which ids can be typed); None without a menu."""
    menu = _first_menu(flow)
    if menu is None:
        return None
    keys: dict[str, str] = {}
    agent_key: str | None = None
    id_keys: set[str] = set()
    id_input: InputStep | None = None
    for option in menu.options:
        queue, asks_id, to_agent = _follow(flow, option.next)
        if queue is None:
            continue
        if to_agent:
            agent_key = agent_key or option.digit
            continue
        keys.setdefault(queue, option.digit)
        if asks_id is not None:
            id_keys.add(option.digit)
            id_input = id_input or asks_id
    if agent_key is None:  # no explicit agent choice: the first queue's key stands in
        agent_key = next(iter(keys.values()), menu.options[0].digit)
    return IvrMenu(keys=keys, agent_key=agent_key, id_keys=frozenset(id_keys)), id_input


def typed_ids(session: Session, region: str, id_input: InputStep | None) -> dict[str, str]:
    """Caller number (as presented) → the customer id digits that pass the IVR's id input."""
    if id_input is None:
        return {}
    pattern = re.compile(rf"^{re.escape(ivr_service.CUSTOMER_CODE_PREFIX)}(\d+)$")
    rows = session.execute(
        select(CustomerPhone.number, Customer.code)
        .join(Customer, Customer.id == CustomerPhone.customer_id)
        .order_by(CustomerPhone.id)
    ).all()
    out: dict[str, str] = {}
    for number, code in rows:
        match = pattern.match(code or "")
        if match is None or not number:
            continue
        digits = match.group(1)
        if not id_input.min_digits <= len(digits) <= id_input.max_digits:
            continue
        if id_input.check is InputCheck.LUHN and not luhn_valid(digits):
            continue
        out.setdefault(phone.display(number, region).replace("-", ""), digits)
    return out


def agi_address(settings: Settings) -> str | None:
    """Where the simulated PBX dials the IVR (a wildcard listen address is reached on loopback)."""
    if not settings.agi_port:
        return None
    host = settings.agi_host if settings.agi_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"{host}:{settings.agi_port}"


def start_args(settings: Settings, session_factory: sessionmaker[Session]) -> Simulator:
    """The simulator for ``settings``; with the IVR running (start it first), demo callers walk it."""
    address = agi_address(settings)
    menu: IvrMenu | None = None
    ids: dict[str, str] = {}
    if address and (settings.simulator or "demo") == "demo":
        with session_factory() as session:
            loaded = ivr_service.active_flow(session, name="ivr")
            found = ivr_menu(loaded.definition) if loaded is not None else None
            if found is not None:
                menu = found[0]
                ids = typed_ids(session, settings.phone_region, found[1])
    with session_factory() as session:
        agents = roster(session)
        callers = known_callers(session, settings.phone_region)
    return Simulator(
        scenario=settings.simulator or "demo",
        clock="real",
        host="127.0.0.1",
        port=settings.ami_port,
        username=settings.ami_username,
        secret=settings.ami_secret,
        queue_log_path=Path(settings.data_dir) / "queue_log",
        demo_agents=agents or None,
        demo_callers=callers,
        demo_ids=ids,
        demo_ivr=menu,
        agi_address=address if menu is not None else None,
        # the simulated calls are recorded like Asterisk's MixMonitor, into the recording worker's spool
        recordings_dir=RecordingSettings.from_app(settings).spool,
    )


def queue_configs(simulator: Simulator) -> dict[str, QueueConfig]:
    """What the ACD needs to know of the simulated queues (it would read queues.conf of a real PBX)."""
    return {
        name: QueueConfig(
            name, service_level_s=queue.config.servicelevel or 20, wrapup_s=int(queue.config.wrapuptime)
        )
        for name, queue in simulator.engine.queues.items()
    }


def softphone(simulator: Simulator) -> Softphone:
    """The desktop's answer button for the simulator's person-driven phones (``app.state.softphone``)."""
    return SimulatedSoftphone(simulator)
