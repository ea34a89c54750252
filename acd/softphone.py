"""The softphone port: answering an agent's ringing phone from the desktop.

With a real PBX the agent answers on the SIP phone itself and there is no softphone (``app.state.softphone``
is None: the desktop says "answer on your phone"). The demo runs the PBX simulator in the app's process;
its agent phones can be driven by a person (``Phone(manual=True)``), so the desktop's answer button picks up
the simulated phone through ``SimulatedSoftphone``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pbxsim.simulator import Simulator

__all__ = ["SimulatedSoftphone", "Softphone"]


class Softphone(Protocol):
    async def answer(self, interface: str) -> bool:
        """Pick up the call ringing on ``interface``; False when nothing rings there."""
        ...

    async def claim(self, interface: str, name: str) -> None:
        """A person at the desktop drives the phone on ``interface`` from now on (no automatic answer)."""
        ...


class SimulatedSoftphone:
    """The in-process simulator's person-driven phones."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def answer(self, interface: str) -> bool:
        return self.simulator.engine.answer(interface)

    async def claim(self, interface: str, name: str) -> None:
        from pbxsim.queues import Phone

        engine = self.simulator.engine
        device = engine.devices.get(interface)
        if device is None:
            engine.add_device(interface, name, Phone(manual=True))
        elif not device.phone.manual:
            # The demo's traffic model answers by itself; a person logged in at the desktop answers instead.
            device.phone = Phone(manual=True)
