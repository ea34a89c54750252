"""Screen pops under load: 1,000 agent desktops on websockets while the PBX simulator rings 50 calls/s.

Three processes on loopback:

* this one: a temporary SQLite file (the demo seed: customers with their phones, call history and
  complaints; plus the bench's agents, each with a phone and a login session), and the PBX simulator (real
  AMI server) with auto-answering phones: each rings 0.5–2 s, talks 3–8 s, then 2 s of wrap-up, so 50
  calls/s keeps about 450 of 1,000 agents busy. Callers are seeded customers (their mobile numbers as
  Asterisk presents them), so every pop carries a customer file. A hook on the simulator's event stream
  notes ``time.time()`` when it writes each ``AgentCalled``;
* the app server (``uvicorn callcenter.app:create_app``) with its ACD linked to the simulator over AMI:
  its CPU and RSS are measured alone, from /proc;
* the desktops (bench/_desktop_clients.py): one websocket per agent (``?token=``), each noting when its
  ``pop`` frame arrives.

Screen-pop latency = the pop's arrival at the desktop − the simulator writing AgentCalled for that call and
that phone, over the rings of ``--seconds`` of traffic after ``--warmup`` seconds (a pop not arrived 3 s
after the window counts as not received: see "pops received"). Server CPU (cores = CPU seconds / wall
seconds) over the same window; RSS = its peak, sampled twice a second.

    python -m bench.desktop [--desktops 1000] [--rate 50] [--seconds 30] [--stages | --profile]

``--stages`` runs the server under bench/_desktop_server.py, which stamps each pop's way through the server
(ACD reads AgentCalled, publishes AgentRinging, pop built) and times the blocking database work;
``--profile`` adds cProfile of its event loop (slower) and samples its worker threads' stacks.
``--no-deflate``: desktops without permessage-deflate. Last line:
{"pop_p50_ms": N, "pop_p99_ms": N, "cpu_cores": N, "rss_mb": N}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bench import _desktop_clients as clients
from callcenter.models import load_all_models
from callcenter.seed import seed_session
from core.clock import utcnow
from core.config import Settings
from core.customers.models import Customer, CustomerPhone
from core.db import make_engine, make_session_factory, transaction
from core.people.models import LoginSession, Team, User
from core.security.roles import ROLE_CLEARANCE, Role
from core.security.tokens import digest
from pbxsim.engine import CallerSpec
from pbxsim.frames import Headers
from pbxsim.queues import Phone, QueueConfig
from pbxsim.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
AMI_SECRET = "bench"
QUEUES = ("bench1", "bench2", "bench3", "bench4", "bench5")
TEAM_SIZE = 20
FIRST_EXTENSION = 7000  # the demo seed's phones are 1001–1039; the simulator's lab 1001–1006
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the database


def build_database(path: Path, desktops: int) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Schema + demo seed + the bench agents with a login each. Returns (token, interface) per agent, their
    member names, and the callers' numbers (seeded customers' mobiles, national digits)."""
    settings = Settings(data_dir=path.parent, database_url=f"sqlite:///{path}")
    engine = make_engine(settings.resolved_database_url)
    load_all_models().metadata.create_all(engine)
    agents: list[tuple[str, str]] = []
    names: list[str] = []
    with transaction(make_session_factory(engine)) as session:
        seed_session(session, settings)
        password_hash = session.scalars(select(User.password_hash).limit(1)).one()
        now = utcnow()
        teams = [Team(name=f"压测{n + 1:02d}组") for n in range(-(-desktops // TEAM_SIZE))]
        session.add_all(teams)
        session.flush()
        users = []
        for n in range(desktops):
            extension = str(FIRST_EXTENSION + n)
            users.append(
                User(
                    role=Role.AGENT,
                    username=f"bench{n:04d}",
                    full_name=f"压测坐席{n:04d}",
                    password_hash=password_hash,
                    agent_number=f"B{n:04d}",
                    team_id=teams[n // TEAM_SIZE].id,
                    position="坐席员",
                    extension=extension,
                    pbx_interface=f"PJSIP/{extension}",
                )
            )
        session.add_all(users)
        session.flush()
        for user in users:
            # As core.people.service.login does, without 1,000 argon2 checks.
            token = secrets.token_urlsafe(32)
            session.add(
                LoginSession(
                    token_hash=digest(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(hours=12),
                    client_address="127.0.0.1",
                    user_agent="bench.desktop",
                )
            )
            agents.append((token, user.pbx_interface or ""))
            names.append(user.full_name)
        # Mobiles of the files an agent may read (its clearance), so that every pop shows a file.
        numbers = session.scalars(
            select(CustomerPhone.number)
            .join(Customer, Customer.id == CustomerPhone.customer_id)
            .where(
                CustomerPhone.number.like("+861%"),
                Customer.confidentiality <= int(ROLE_CLEARANCE[Role.AGENT]),
            )
        ).all()
    engine.dispose()
    return agents, names, [n[3:] for n in numbers]  # +8613812345678 → 13812345678


# --------------------------------------------------------------------------- the app server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    db: Path, port: int, ami_port: int, log: Path, instruments: Path | None, mode: str
) -> subprocess.Popen[bytes]:
    """The app server in a process of its own, its output in ``log``; with ``instruments``, under
    bench/_desktop_server.py (``mode``: stages or profile)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(
        CALLCENTER_DATA_DIR=str(db.parent),
        CALLCENTER_DATABASE_URL=f"sqlite:///{db}",
        CALLCENTER_AMI_HOST="127.0.0.1",
        CALLCENTER_AMI_PORT=str(ami_port),
        CALLCENTER_AMI_USERNAME="admin",
        CALLCENTER_AMI_SECRET=AMI_SECRET,
    )
    if instruments is not None:
        command = [sys.executable, "-m", "bench._desktop_server", str(port), str(instruments), mode]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "callcenter.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_http(port: int, server: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the app server exited ({server.returncode})")
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{port}/api/health", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            await asyncio.sleep(0.2)
    raise SystemExit("the app server did not start")


class ProcStat:
    """CPU seconds and RSS of one process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


# --------------------------------------------------------------------------- the simulator


def staff(sim: Simulator, names: list[str], interfaces: list[str], seed: int) -> None:
    """The bench queues and one auto-answering phone per agent, each agent in one queue."""
    rng = random.Random(seed)
    engine = sim.engine
    for name in QUEUES:
        engine.add_queue(
            QueueConfig(name, strategy="leastrecent", timeout=15, retry=1, wrapuptime=2, servicelevel=20)
        )
    for n, (name, interface) in enumerate(zip(names, interfaces, strict=True)):
        phone = Phone(answer_after=lambda: rng.uniform(0.5, 2.0), talk=lambda: rng.uniform(3.0, 8.0))
        engine.add_device(interface, name, phone)
        engine.add_static_member(QUEUES[n % len(QUEUES)], interface, name)


def ring_hook(rings: dict[tuple[str, str], float]) -> Callable[[Headers], None]:
    """An engine listener noting when each AgentCalled is written, by (linkedid, interface)."""

    def hook(frame: Headers) -> None:
        if frame[0][1] == "AgentCalled":
            headers = dict(frame)
            rings[(headers["Linkedid"], headers["Interface"])] = time.time()

    return hook


async def traffic(sim: Simulator, numbers: list[str], rate: float, stop: asyncio.Event, seed: int) -> int:
    """Poisson arrivals at ``rate`` calls/s into the bench queues until ``stop``; returns calls placed."""
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    due = loop.time()
    placed = 0
    while not stop.is_set():
        due += rng.expovariate(rate)
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sim.engine.place_call(CallerSpec(number=rng.choice(numbers), queue=rng.choice(QUEUES)))
        placed += 1
    return placed


# --------------------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@dataclass
class Window:
    """What the measured window saw."""

    start: float = 0.0  # epoch
    end: float = 0.0
    wall: float = 0.0
    server_cpu: float = 0.0
    simulator_cpu: float = 0.0
    desktops_cpu: float = 0.0
    rss_peak: float = 0.0


async def run(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    db = folder / "bench.db"
    started = time.perf_counter()
    agents, names, numbers = build_database(db, args.desktops)
    print(
        f"database: demo seed + {len(agents):,} agents with sessions, {len(numbers):,} caller numbers "
        f"({time.perf_counter() - started:.1f} s)"
    )

    sim = Simulator(
        scenario="idle", clock="real", port=0, username="admin", secret=AMI_SECRET, seed=args.seed
    )
    staff(sim, names, [interface for _, interface in agents], args.seed)
    rings: dict[tuple[str, str], float] = {}
    sim.engine.listeners.insert(0, ring_hook(rings))  # before the AMI server writes the frame
    await sim.start()

    port = free_port()
    server_log = folder / "server.log"
    instruments = folder / "instruments.json" if args.stages or args.profile else None
    mode = "profile" if args.profile else "stages"
    server = start_server(db, port, sim.port, server_log, instruments, mode)
    window = Window()
    desktops_proc: multiprocessing.process.BaseProcess | None = None
    try:
        await wait_http(port, server)
        # The ACD's link is up once it has logged in to the simulator and asked for events.
        deadline = time.monotonic() + 30
        while not any(c.authenticated and c.events for c in sim.server.clients):
            if time.monotonic() > deadline:
                raise SystemExit("the ACD did not link to the simulator")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # its resync (QueueStatus of 1,000 members)

        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        desktops_proc = context.Process(
            target=clients.run,
            args=(child, f"ws://127.0.0.1:{port}/ws", agents, not args.no_deflate),
            daemon=True,
        )
        desktops_proc.start()
        t0 = time.perf_counter()
        _, connected, failed = await asyncio.to_thread(parent.recv)
        print(
            f"desktops: {connected:,} connected ({failed} failed) in {time.perf_counter() - t0:.1f} s; "
            f"server RSS {ProcStat(server.pid).rss_mb():.0f} MB before traffic"
        )

        stop = asyncio.Event()
        calls = asyncio.create_task(traffic(sim, numbers, args.rate, stop, args.seed))
        await asyncio.sleep(args.warmup)
        await measure(window, args.seconds, server, desktops_proc.pid or 0, instruments is not None)
        stop.set()
        placed = await calls
        await asyncio.sleep(3.0)  # pops of the last rings still on their way
        parent.send("stop")
        _, pops, frames, closes = await asyncio.to_thread(parent.recv)
    finally:
        if desktops_proc is not None:
            desktops_proc.join(timeout=10)
            if desktops_proc.is_alive():
                desktops_proc.kill()
        server.terminate()
        try:
            await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            server.kill()
        await sim.stop()

    window_rings = {key: at for key, at in rings.items() if window.start <= at < window.end}
    latencies: list[float] = []
    received: list[tuple[tuple[str, str], float]] = []
    with_file = 0
    for linkedid, interface, at, files, _unknown in pops:
        rung = window_rings.get((linkedid, interface))
        if rung is None:
            continue  # rung before or after the window
        latencies.append((at - rung) * 1000)
        received.append(((linkedid, interface), at))
        with_file += files > 0
    cores = window.server_cpu / window.wall
    print(f"traffic: {placed:,} calls placed at {args.rate:g}/s, {len(rings):,} rings in all")
    print(
        f"window: {window.wall:.1f} s, {len(window_rings):,} rings, {len(latencies):,} pops received "
        f"({len(latencies) / max(1, len(window_rings)):.1%}), {with_file:,} with a customer file"
    )
    print(f"desktop frames: {clients.summary(frames)}; closes: {clients.summary(closes) or 'none'}")
    print_log_summary(server_log)
    result = {
        "pop_p50_ms": 0.0,
        "pop_p99_ms": 0.0,
        "cpu_cores": round(cores, 2),
        "rss_mb": round(window.rss_peak),
    }
    if latencies:
        result["pop_p50_ms"] = round(percentile(latencies, 0.50), 1)
        result["pop_p99_ms"] = round(percentile(latencies, 0.99), 1)
        print(
            f"screen pop: p50 {result['pop_p50_ms']} ms, p90 {percentile(latencies, 0.90):.1f} ms, "
            f"p99 {result['pop_p99_ms']} ms, max {max(latencies):.1f} ms"
        )
    print(
        f"server: {window.server_cpu:.1f} CPU s in {window.wall:.1f} s = {cores:.2f} cores, "
        f"peak RSS {window.rss_peak:.0f} MB"
    )
    print(
        f"load generators (same machine, {os.cpu_count()} CPUs): simulator "
        f"{window.simulator_cpu / window.wall:.2f} cores, "
        f"desktops {window.desktops_cpu / window.wall:.2f} cores"
    )
    goal = bool(latencies) and result["pop_p99_ms"] <= 50 and cores <= 1.0 and window.rss_peak <= 300
    print(f"goal (p99 ≤ 50 ms, ≤ 1 core, ≤ 300 MB): {'met' if goal else 'missed'}")
    if instruments is not None:
        print_instruments(instruments, rings, received, window.start)
    return result


async def measure(
    window: Window, seconds: float, server: subprocess.Popen[bytes], desktops: int, instrumented: bool
) -> None:
    """The measured window: CPU of the three processes, the server's peak RSS (sampled twice a second)."""
    stat, own, others = ProcStat(server.pid), ProcStat(os.getpid()), ProcStat(desktops)
    window.start = time.time()
    cpu0, sim0, desk0, wall0 = (
        stat.cpu_seconds(),
        own.cpu_seconds(),
        others.cpu_seconds(),
        time.perf_counter(),
    )
    if instrumented:
        server.send_signal(signal.SIGUSR1)  # start measuring
    while time.perf_counter() - wall0 < seconds:
        await asyncio.sleep(0.5)
        window.rss_peak = max(window.rss_peak, stat.rss_mb())
    window.wall = time.perf_counter() - wall0
    window.server_cpu = stat.cpu_seconds() - cpu0
    window.simulator_cpu = own.cpu_seconds() - sim0
    window.desktops_cpu = others.cpu_seconds() - desk0
    window.end = time.time()
    if instrumented:
        server.send_signal(signal.SIGUSR2)  # stop, write what was measured


def print_log_summary(path: Path) -> None:
    """How many errors the server logged, by message (its log is in the temporary folder)."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    logged = Counter(
        line.split(" for ")[0] for line in lines if line and not line.startswith((" ", "Traceback"))
    )
    print(f"server log: {len(lines):,} lines")
    for message, count in logged.most_common(6):
        print(f"  {count:6,} × {message[:160]}")


STAGES = (
    "simulator writes AgentCalled → ACD reads it",
    "ACD reads it → publishes AgentRinging",
    "published → pop built (hub, worker thread, build_pop)",
    "pop built → desktop receives it",
)


def print_instruments(
    path: Path,
    rings: dict[tuple[str, str], float],
    received: list[tuple[tuple[str, str], float]],
    start: float,
) -> None:
    """Where each pop's time went (the server's stamps, see bench/_desktop_server.py), then the profile."""
    if not path.exists():
        print(f"the server wrote no instruments at {path}")
        return
    data = json.loads(path.read_text())
    stamps: dict[str, list[float]] = data["stamps"]
    spans: list[list[float]] = [[] for _ in STAGES]
    slowest: list[tuple[float, float, list[float]]] = []  # (total ms, rung at s into the window, stages)
    for key, at in received:
        read, published, built = stamps.get("|".join(key), (0.0, 0.0, 0.0))
        if read and published and built:
            points = (rings[key], read, published, built, at)
            steps = [(points[n + 1] - points[n]) * 1000 for n in range(len(STAGES))]
            for n, step in enumerate(steps):
                spans[n].append(step)
            slowest.append(((at - rings[key]) * 1000, rings[key] - start, steps))
    hub = data.get("hub", {})
    if hub:
        print(
            f"server hub in the window: {hub['deltas']:,} deltas relayed to {hub['clients']:,} sockets; "
            f"pops since start: {hub['pop_events']:,} AgentRinging, {hub['pops_sent']:,} sent, "
            f"{hub['pop_failures']:,} failed"
        )
    print(f"screen pop by stage ({len(spans[0]):,} pops with every stamp):")
    for name, values in zip(STAGES, spans, strict=True):
        if values:
            print(f"  {name}: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms")
    slowest.sort(reverse=True)
    print("slowest pops (rung at s into the window: ms per stage):")
    for total, offset, steps in slowest[:8]:
        print(f"  {offset:6.1f} s: {total:7.1f} ms = " + " + ".join(f"{step:.1f}" for step in steps))
    print("blocking database work in worker threads, wall time per call:")
    for label, figures in data["timings"].items():
        print(f"  {label}: {json.dumps(figures)}")
    profile = Path(f"{path}.prof")
    if not profile.exists():
        return
    import pstats

    print("server event loop (cProfile), by own time:")
    stats = pstats.Stats(str(profile), stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(25)
    print("server event loop (cProfile), the project's code by cumulative time:")
    stats.sort_stats("cumulative").print_stats(re.escape(str(ROOT)), 25)
    threads = data["threads"]
    print(f"server worker threads, sampled busy stacks: {threads['samples']:,}")
    for title in ("leaves", "ours"):
        print(f"  -- {'where they are' if title == 'leaves' else 'the project frames on their stacks'}")
        for where, count in threads[title]:
            print(f"  {count:8,} {where.replace(str(ROOT) + '/', '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desktops", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured traffic")
    parser.add_argument("--warmup", type=float, default=5.0, help="traffic before the measurement")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--no-deflate", action="store_true", help="desktops without permessage-deflate (browsers use it)"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="time each pop's stages inside the server (wraps a few functions)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="--stages, plus cProfile of the server's loop (slows it)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-desktop-") as folder:
        result = asyncio.run(run(args, Path(folder)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
