"""The app server of ``bench.desktop`` with instruments: ``python -m bench._desktop_server PORT OUT MODE``.

Runs ``callcenter.app.create_app()`` (settings from the environment, as ``bench.desktop`` sets them) in
uvicorn. The app's code is unchanged: the instruments wrap a few of its functions at import.

* ``stages`` (MODE ``stages`` and ``profile``): for each ring, ``time.time()`` when the ACD reads the
  AgentCalled frame (``AcdService._on_frame``), when it publishes AgentRinging on ``acd.event`` (the bus's
  ``publish``), and when ``build_pop`` has the frame ready (before it is queued on the socket); plus the wall
  time of ``build_pop`` and of the ACD's call-records batches (``AcdService._write_batch``), both run in
  worker threads and both writing to the database.
* ``profile`` adds cProfile on the event-loop thread and a sampler of the worker threads' stacks.

SIGUSR1 starts measuring, SIGUSR2 stops and writes OUT (JSON; the cProfile stats to OUT + ".prof"), so the
bench reads exactly its measured window. SIGTERM stops the server.
"""

from __future__ import annotations

import cProfile
import functools
import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

IDLE_LEAVES = {"wait", "select", "poll", "_worker", "get", "accept", "sleep", "epoll"}


class Sampler(threading.Thread):
    """Every ``interval`` seconds, the stack of each worker thread that is not idle (its leaf is not a
    wait): the leaf's file:line, and every frame of the project's own code on the stack (cumulative)."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True, name="bench-sampler")
        self.interval = interval
        self.samples = 0
        self.leaves: Counter[str] = Counter()
        self.ours: Counter[str] = Counter()
        self.running = False

    def run(self) -> None:
        main = threading.main_thread().ident
        me = threading.get_ident()
        while True:
            time.sleep(self.interval)
            if not self.running:
                continue
            for ident, frame in sys._current_frames().items():
                if ident in (main, me) or frame.f_code.co_name in IDLE_LEAVES:
                    continue  # the event loop is cProfile's; idle workers wait
                self.samples += 1
                self.leaves[_where(frame)] += 1
                seen = set()
                f: FrameType | None = frame
                while f is not None:
                    where = _where(f)
                    if _ours(f) and where not in seen:
                        seen.add(where)
                        self.ours[where] += 1
                    f = f.f_back

    def figures(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "leaves": self.leaves.most_common(12),
            "ours": self.ours.most_common(25),
        }


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} {code.co_name}"


def _ours(frame: FrameType) -> bool:
    name = frame.f_code.co_filename
    return "/site-packages/" not in name and "/lib/python3" not in name


def _figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "calls": len(ordered),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99_ms": round(ordered[max(0, round(len(ordered) * 0.99) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "total_s": round(sum(ordered), 2),
    }


class Stages:
    """Per ring (``linkedid|interface``): when the ACD read AgentCalled, published AgentRinging, and the
    pop was built; and the wall time of the blocking database work."""

    def __init__(self) -> None:
        self.running = False
        self.stamps: dict[str, list[float]] = {}
        self.seconds: dict[str, list[float]] = {}

    def stamp(self, key: str, index: int) -> None:
        if self.running:
            self.stamps.setdefault(key, [0.0, 0.0, 0.0])[index] = time.time()

    def install(self) -> None:
        from acd.ami.frames import Frame
        from acd.events import AgentRinging
        from acd.service import AcdService
        from agent_desktop import screen_pop

        on_frame = AcdService._on_frame

        def read(service: AcdService, frame: Frame) -> None:
            if frame.get("Event") == "AgentCalled":
                self.stamp(f"{frame.get('Linkedid')}|{frame.get('Interface')}", 0)
            on_frame(service, frame)

        setattr(AcdService, "_on_frame", read)  # noqa: B010 (a typed assignment would not check)

        self.time(AcdService, "_write_batch", "acd/service.py AcdService._write_batch (records batch)")
        self.time(screen_pop, "build_pop", "agent_desktop/screen_pop.py build_pop")
        build = screen_pop.build_pop

        @functools.wraps(build)
        def built(factory: Any, event: AgentRinging, **kwargs: Any) -> Any:
            result = build(factory, event, **kwargs)
            if result is not None:
                self.stamp(f"{event.linkedid}|{event.interface}", 2)
            return result

        setattr(screen_pop, "build_pop", built)  # noqa: B010 (ScreenPop._pop calls it by the module's name)

    def watch_bus(self, bus: Any) -> None:
        from acd.events import AgentRinging

        publish = bus.publish

        async def published(topic: str, event: object) -> None:
            if isinstance(event, AgentRinging):
                self.stamp(f"{event.linkedid}|{event.interface}", 1)
            await publish(topic, event)

        bus.publish = published

    def time(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        samples = self.seconds.setdefault(label, [])

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                if self.running:
                    samples.append(time.perf_counter() - start)

        setattr(owner, name, timed)

    def figures(self) -> dict[str, Any]:
        return {label: _figures(values) for label, values in self.seconds.items() if values}


def main() -> None:
    import uvicorn

    from callcenter.app import create_app, server_config

    port, out, mode = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    stages = Stages()
    stages.install()
    profiler = cProfile.Profile() if mode == "profile" else None
    sampler = Sampler() if mode == "profile" else None
    if sampler is not None:
        sampler.start()
    app = create_app()
    stages.watch_bus(app.state.bus)

    seq: list[int] = []

    def hub_figures() -> dict[str, Any]:
        hub = getattr(app.state, "ws_hub", None)
        if hub is None:
            return {}
        pops = hub.pops.stats
        return {
            "seq": hub.seq,
            "clients": len(hub.clients),
            "pop_events": pops.events,
            "pops_sent": pops.sent,
            "pop_failures": pops.failures,
        }

    def start(signum: int, frame: object) -> None:
        seq.append(hub_figures().get("seq", 0))
        stages.running = True
        if profiler is not None and sampler is not None:
            profiler.enable()
            sampler.running = True

    def stop(signum: int, frame: object) -> None:
        stages.running = False
        hub = hub_figures()
        hub["deltas"] = hub.get("seq", 0) - (seq[0] if seq else 0)
        data: dict[str, Any] = {"stamps": stages.stamps, "timings": stages.figures(), "hub": hub}
        if profiler is not None and sampler is not None:
            profiler.disable()
            sampler.running = False
            profiler.dump_stats(f"{out}.prof")
            data["threads"] = sampler.figures()
        out.write_text(json.dumps(data))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="warning")).run()


if __name__ == "__main__":
    main()
