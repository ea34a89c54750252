"""Shared helpers of the link tests: a recorder of the link's callbacks, a link factory, polling."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from acd.ami.frames import Frame
from acd.ami.link import AmiLink, ResyncResult
from tests.acd_link.fake_ami import ACTIONS, FakeAmi, header

T0 = datetime(2026, 11, 23, 2, 23, 18, tzinfo=UTC)


@dataclass
class Recorder:
    frames: list[Frame] = field(default_factory=list)
    events: list[object] = field(default_factory=list)
    resyncs: list[ResyncResult] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.order.append(f"frame:{frame.event}")

    def on_event(self, event: object) -> None:
        self.events.append(event)
        self.order.append(type(event).__name__)

    def on_resync(self, result: ResyncResult) -> None:
        self.resyncs.append(result)
        self.order.append("resync")

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def make_link(fake: FakeAmi, rec: Recorder, secret: str = "labsecret", **kwargs: Any) -> AmiLink:
    options: dict[str, Any] = dict(
        action_timeout=1.0,
        ping_interval=5.0,
        backoff_initial=0.5,
        jitter=0.25,
        clock=lambda: T0,
    )
    options.update(kwargs)
    return AmiLink(
        "127.0.0.1",
        fake.port,
        "lab",
        secret,
        on_frame=rec.on_frame,
        on_event=rec.on_event,
        on_resync=rec.on_resync,
        **options,
    )


async def until(condition: Any, limit: float = 3.0) -> float:
    """Wait for ``condition()``; return how long it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > limit:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
    return loop.time() - start


def list_items(captured_id: str) -> int:
    complete = [b for b in ACTIONS.replies[captured_id] if header(b, "ListItems") is not None]
    return int(header(complete[0], "ListItems") or -1)
