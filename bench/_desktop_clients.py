"""The desktops of ``bench.desktop``: many websocket clients in a process of their own, so that neither the
app server nor the simulator shares their event loop.

``run(conn, url, desktops)`` is the child process's entry point. It connects every desktop (each with its
own session token, ``?token=``), reports ``("ready", connected, failed)`` once each has its ``hello`` and
``snapshot``, records the receive time of every ``pop`` frame, and on ``"stop"`` closes the sockets and
sends back ``("done", pops, frames, closes)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

CONNECT_CONCURRENCY = 50  # connects in flight at once: a login rush, not a thundering herd
POP_PREFIX = '{"type":"pop"'  # the hub writes compact JSON with "type" first


@dataclass
class Desktop:
    token: str
    interface: str


@dataclass
class Received:
    # (linkedid, interface, epoch received, customer files shown, unknown_caller)
    pops: list[tuple[str, str, float, int, bool]] = field(default_factory=list)
    frames: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)


async def _desktop(
    url: str,
    desktop: Desktop,
    got: Received,
    gate: asyncio.Semaphore,
    ready: asyncio.Queue[bool],
    deflate: bool,
) -> None:
    import websockets

    pops, frames = got.pops, got.frames
    signalled = False
    try:
        async with gate:
            ws = await websockets.connect(
                f"{url}?token={desktop.token}",
                max_size=None,
                ping_interval=None,  # browsers send no pings
                open_timeout=60,
                compression="deflate" if deflate else None,  # browsers offer permessage-deflate
            )
            # hello, then snapshot: the desktop is live
            for _ in range(2):
                first = json.loads(await ws.recv())
                frames[first["type"]] += 1
        ready.put_nowait(True)
        signalled = True
        async with ws:
            async for message in ws:
                if isinstance(message, str) and message.startswith(POP_PREFIX):
                    at = time.time()  # before parsing: the frame has arrived
                    pop = json.loads(message)
                    files = len(pop["customers"])
                    pops.append((pop["linkedid"], desktop.interface, at, files, bool(pop["unknown_caller"])))
                    frames["pop"] += 1
                else:
                    frames[json.loads(message)["type"]] += 1
        got.closes[str(ws.close_code)] += 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a refused or dropped desktop is counted, not fatal
        got.closes[type(exc).__name__] += 1
    finally:
        if not signalled:
            ready.put_nowait(False)


async def _main(conn: Connection, url: str, desktops: list[Desktop], deflate: bool) -> None:
    got = Received()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    ready: asyncio.Queue[bool] = asyncio.Queue()
    tasks = [asyncio.create_task(_desktop(url, d, got, gate, ready, deflate)) for d in desktops]
    connected = failed = 0
    for _ in desktops:
        if await ready.get():
            connected += 1
        else:
            failed += 1
    conn.send(("ready", connected, failed))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("done", got.pops, dict(got.frames), dict(got.closes)))


def run(conn: Connection, url: str, desktops: list[tuple[str, str]], deflate: bool = True) -> None:
    """Child process entry point (``desktops``: (token, interface) pairs)."""
    coro = _main(conn, url, [Desktop(token, interface) for token, interface in desktops], deflate)
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


def summary(frames: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(frames.items()))
