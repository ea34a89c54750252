"""``callcenter ivr serve --host 127.0.0.1 --port N`` answers a call and stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from sqlalchemy import select

from callcenter.cli import build_parser
from core.db import make_engine, make_session_factory
from ivr.models import IvrOutcome, IvrSession
from tests.ivr.capture import ScriptedCaller


def test_parser() -> None:
    args = build_parser().parse_args(["ivr", "serve", "--host", "127.0.0.1", "--port", "4573"])
    assert (args.host, args.port, args.max_sessions) == ("127.0.0.1", 4573, 200)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_ivr_serve_runs_the_server(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CALLCENTER_DATA_DIR": str(tmp_path), "CALLCENTER_DATABASE_URL": ""}
    env.pop("CALLCENTER_DATABASE_URL")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter.cli",
        "ivr",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.decode().startswith(f"FastAGI server on 127.0.0.1:{port}")
        caller = ScriptedCaller(["0"])
        await caller.run("127.0.0.1", port)
        # the real clock decides: within the default opening hours the caller reaches the queue
        closed = caller.received[-1] == 'STREAM FILE custom/closed ""'
        if not closed:
            assert caller.received[-2:] == ['STREAM FILE custom/hold ""', 'VERBOSE "IVR: to queue support" 1']
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0, err.decode()[-2000:]
    engine = make_engine(f"sqlite:///{tmp_path / 'callcenter.db'}")
    with make_session_factory(engine)() as session:
        [row] = session.scalars(select(IvrSession)).all()
    engine.dispose()
    assert row.outcome is (IvrOutcome.CALLBACK if closed else IvrOutcome.TO_QUEUE) and row.flow_version == 1
