"""Throwaway Redis and PostgreSQL servers as pytest fixtures (a plugin: see ``pytest_plugins`` in conftest).

Fixtures:

* ``redis_server`` (session) — a running ``RedisServer``; ``.stop()``/``.start()`` cut and restore it on the
  same port.
* ``redis_url`` (session) — ``redis://127.0.0.1:N/0`` of that server.
* ``postgres_url`` (session) — ``postgresql+psycopg://postgres@127.0.0.1:N/<db>`` on a throwaway cluster.
* ``fresh_postgres_url`` (function) — a new empty database on that cluster, dropped after the test.

A missing server binary skips the test locally but fails it under ``CI=true``: in CI these tests must run.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

START_TIMEOUT = 10.0


def _missing(what: str, install: str) -> NoReturn:
    message = f"{what} not found (install: {install})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}. Under CI=true tests that need it must run, not skip.", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- Redis


def _redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    return "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None


class RedisServer:
    """A redis-server on a loopback port, without persistence; restartable on the same port."""

    def __init__(self, binary: str, workdir: Path, port: int | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = workdir / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.workdir),
                ],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {START_TIMEOUT}s:\n{self._log_tail()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    binary = _redis_binary()
    if binary is None:
        _missing("redis-server", "apt-get install -y redis-server")
    workdir = Path(tempfile.mkdtemp(prefix="ccredis-"))
    server = RedisServer(binary, workdir)
    # Safety net if the session dies without running fixture teardown.
    atexit.register(server.stop)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


# --------------------------------------------------------------------------- PostgreSQL


def _pg_binaries() -> tuple[str, str] | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        candidate = (os.path.join(bindir, "initdb"), os.path.join(bindir, "pg_ctl"))
        if all(os.access(p, os.X_OK) for p in candidate):
            return candidate
    return None


def _unprivileged_user() -> str | None:
    """The user to run the cluster as when we are root (initdb refuses root), creating one if needed."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "ccpgtest"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "ccpgtest"],
        check=True,
        capture_output=True,
    )
    return "ccpgtest"


class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temp dir, trust auth, listening on a loopback port."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.initdb = initdb
        self.pg_ctl = pg_ctl
        self.user = _unprivileged_user()
        self.port = _free_port()
        # tempfile (under /tmp), not pytest's tmp dir: that one is private to root and the cluster's user
        # must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="ccpg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.started = False
        if self.user is not None:
            shutil.chown(self.root, self.user, self.user)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user is not None:
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", self.user, "--", *cmd]
            else:
                cmd = ["su", self.user, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        result = subprocess.run(
            cmd,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "LC_ALL": "C"},
        )
        if result.returncode != 0:
            log = ""
            with contextlib.suppress(OSError):
                log = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{log}"
            )

    def start(self) -> None:
        self._run(
            self.initdb,
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-locale",
        )
        options = f"-F -p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True

    def stop(self) -> None:
        if self.started:
            self.started = False
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that leaked a connection must not make teardown fail.
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            conn.execute(statement)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    binaries = _pg_binaries()
    if binaries is None:
        _missing("PostgreSQL's initdb/pg_ctl", "apt-get install -y postgresql")
    cluster = PostgresCluster(*binaries)
    atexit.register(cluster.stop)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    return postgres_cluster.url(postgres_cluster.create_database())


@pytest.fixture
def fresh_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)
