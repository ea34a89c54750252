"""The demo's PBX: the simulator, started in the app's process, staffed with the center's own agents
(their names, phones and, from their skills, their queues) so the live view shows the people the UI knows;
and the softphone the desktop answers the simulated phones with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from acd.records.queue_log import QueueConfig
from acd.softphone import SimulatedSoftphone, Softphone
from core import phone
from core.config import Settings
from core.customers.models import CustomerPhone
from core.people.models import User
from core.security.roles import Role
from pbxsim.simulator import Simulator

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


def start_args(settings: Settings, session_factory: sessionmaker[Session]) -> Simulator:
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
