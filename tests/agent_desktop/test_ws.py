"""The websocket hub (``GET /ws``): authentication and its audited refusals, what each role sees, the
protocol's answers to good and bad messages, resume, slow clients, and — the done-when test — a desktop
killed during simulated traffic that reconnects, resumes and ends with exactly the server's state for its
scope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from acd.ami.frames import parse_capture
from acd.live import LivePublisher
from acd.state import Delta, LiveState
from acd.translate import translate_frames
from agent_desktop.scopes import Member, Scope, scope_for, scopes_for_role, visible_state
from agent_desktop.ws import Hub, router
from core.audit.models import AuditEntry
from core.clock import utcnow
from core.people.models import LoginSession, Team, User
from core.security.roles import Role
from core.security.tokens import digest, new_token
from tests.acd_link.fake_ami import FIXTURES
from tests.conftest import MakeUser

CAPTURE = FIXTURES / "answered" / "ami.txt"


def capture_events() -> list[object]:
    _parser, frames = parse_capture(CAPTURE.read_bytes())
    return translate_frames(frames)


def token_for(db: Session, user: User) -> str:
    token = new_token()
    db.add(LoginSession(token_hash=digest(token), user_id=user.id, expires_at=utcnow() + timedelta(hours=1)))
    db.commit()
    return token


def names_by_interface(state: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, agent in state["agents"].items():
        if agent.get("interface"):
            out.setdefault(agent["interface"], set()).add(name)
    return out


class ClientView:
    """What a desktop holds: snapshot + deltas applied, and its position (the last seq it was told)."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"calls": {}, "queues": {}, "agents": {}, "pbx": None}
        self.position = 0
        self.snapshots = 0
        self.deltas: list[dict[str, Any]] = []

    def apply(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "snapshot":
            self.state = {
                k: dict(v) if isinstance(v, dict) and k != "pbx" else v for k, v in frame["data"].items()
            }
            self.snapshots += 1
        elif kind == "delta":
            self.deltas.append(frame)
            if frame["kind"] == "reset":
                self.state.update(calls={}, queues={}, agents={})
            elif frame["kind"] == "pbx":
                self.state["pbx"] = frame["data"]
            else:
                section = self.state[{"call": "calls", "queue": "queues", "agent": "agents"}[frame["kind"]]]
                if frame["data"] is None:
                    section.pop(frame["key"], None)
                else:
                    section[frame["key"]] = frame["data"]
        if "seq" in frame:
            self.position = frame["seq"]


# --------------------------------------------------------------------------- scopes, on their own


def test_scopes_by_role() -> None:
    me = Member("坐席乙", "PJSIP/1002")
    team = [Member("Carol", None), Member("Dave", "PJSIP/1004")]
    assert scopes_for_role(Role.AGENT) == ("own",)
    assert scopes_for_role(Role.TEAM_LEAD) == ("own", "team")
    assert scopes_for_role(Role.QA_INSPECTOR) == ()
    assert scope_for(Role.AGENT, "team", me, team) is None
    assert scope_for(Role.TEAM_LEAD, "all", me, team) is None
    qa = scope_for(Role.QA_INSPECTOR, None, me)
    assert qa is not None and qa.empty

    state = {
        "agents": {
            "Bob": {"name": "Bob", "interface": "PJSIP/1002"},
            "Carol": {"name": "Carol", "interface": "PJSIP/1003"},
            "Dave": {"name": "Dave", "interface": "PJSIP/1004"},
            "Erin": {"name": "Erin", "interface": "PJSIP/1005"},
        },
        "queues": {"support": {"name": "support"}},
        "calls": {
            "c1": {"agent": "Bob", "ringing": []},
            "c2": {"agent": "Erin", "ringing": ["Erin", "Carol"]},
            "c3": {"agent": "Erin", "ringing": []},
            "c4": {"agent": None, "ringing": []},
        },
        "pbx": {"connected": True},
    }
    index = names_by_interface(state)
    own = scope_for(Role.AGENT, None, me)
    assert own is not None
    seen = visible_state(own, state, index)
    assert set(seen["agents"]) == {"Bob"} and set(seen["calls"]) == {"c1"} and seen["queues"] == {}
    lead = scope_for(Role.TEAM_LEAD, None, Member("组长", None), [me, *team])
    assert lead is not None and lead.name == "team"
    seen = visible_state(lead, state, index)
    assert set(seen["agents"]) == {"Bob", "Carol", "Dave"}
    assert set(seen["calls"]) == {"c1", "c2"} and set(seen["queues"]) == {"support"}
    everything = scope_for(Role.SUPERVISOR, None, me)
    assert everything is not None
    assert visible_state(everything, state, index) == state
    assert visible_state(Scope(""), state, index) == {"calls": {}, "queues": {}, "agents": {}, "pbx": None}


# --------------------------------------------------------------------------- the hub through TestClient


@dataclass
class Env:
    app: FastAPI
    client: TestClient
    state: LiveState
    publisher: LivePublisher
    tokens: dict[str, str]
    users: dict[str, User]

    def feed(self, events: list[object]) -> None:
        async def run() -> None:
            for event in events:
                await self.publisher.handle(event)
            await self.settle()

        self.client.portal.call(run)  # type: ignore[union-attr]

    async def settle(self) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            hub: Hub | None = getattr(self.app.state, "ws_hub", None)
            if hub is None or hub.seq >= self.state.seq:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # and let the senders write

    def url(self, who: str, **params: object) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": self.tokens[who], **params}.items())
        return f"/ws?{query}"


@pytest.fixture
def env(app: FastAPI, db: Session, make_user: MakeUser) -> Iterator[Env]:
    app.include_router(router)
    app.state.ws_sync_seconds = 0.05
    app.state.ws_linger_seconds = 0.2
    team = Team(name="一组")
    db.add(team)
    db.commit()
    users = {
        "bob": make_user(Role.AGENT, full_name="坐席乙", pbx_interface="PJSIP/1002", team_id=team.id),
        "carol": make_user(Role.AGENT, full_name="Carol", team_id=team.id),
        "lead": make_user(Role.TEAM_LEAD, full_name="组长", team_id=team.id, language="en"),
        "boss": make_user(Role.SUPERVISOR),
        "qa": make_user(Role.QA_INSPECTOR),
    }
    tokens = {who: token_for(db, user) for who, user in users.items()}
    with TestClient(app) as client:
        state = LiveState(first_seq=1000)
        publisher = LivePublisher(state, app.state.bus)
        app.state.acd = SimpleNamespace(state=state, publisher=publisher)
        yield Env(app, client, state, publisher, tokens, users)


def refusals(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_unauthenticated_is_closed_4401_and_audited(env: Env, db: Session) -> None:
    for url in ("/ws", "/ws?token=not-a-session"):
        with env.client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
    rows = refusals(db, "auth.unauthenticated")
    assert len(rows) == 2
    assert all(not r.allowed and r.user_id is None and r.detail and r.detail["path"] == "/ws" for r in rows)


def test_wrong_origin_is_closed_4403_and_audited(env: Env, db: Session) -> None:
    headers = {"origin": "http://evil.example"}
    with (
        env.client.websocket_connect(env.url("boss"), headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 4403
    (row,) = refusals(db, "auth.forbidden")
    assert not row.allowed and row.detail and row.detail["origin"] == "http://evil.example"
    # The server's own origin is fine.
    with env.client.websocket_connect(env.url("boss"), headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_team_lead_gets_hello_and_snapshot_of_the_team(env: Env) -> None:
    events = capture_events()
    env.feed(events[: len(events) // 2])  # calls in progress
    env.client.cookies.set("cc_session", env.tokens["lead"])  # the cookie works as well as ?token=
    try:
        with env.client.websocket_connect("/ws") as ws:
            hello = ws.receive_json()
            snapshot = ws.receive_json()
    finally:
        env.client.cookies.clear()
    assert hello["type"] == "hello"
    assert hello["user"]["username"] == env.users["lead"].username and hello["user"]["role"] == "team_lead"
    assert hello["scopes"] == ["own", "team"]
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == env.state.seq and snapshot["scope"] == "team"
    data = snapshot["data"]
    full = env.state.snapshot()
    assert set(data["agents"]) == {"Bob", "Carol"}  # Bob by his phone, Carol by her name
    assert data["queues"] == full["queues"]  # every queue
    team_calls = {
        k
        for k, c in full["calls"].items()
        if c["agent"] in ("Bob", "Carol") or {"Bob", "Carol"} & set(c["ringing"])
    }
    assert team_calls and set(data["calls"]) == team_calls
    assert set(data["calls"]) != set(full["calls"])  # Alice's and Dave's calls are not shown


def test_agent_snapshot_contains_only_itself(env: Env) -> None:
    events = capture_events()
    env.feed(events[: len(events) // 2])
    with env.client.websocket_connect(env.url("bob")) as ws:
        hello = ws.receive_json()
        snapshot = ws.receive_json()
    assert hello["scopes"] == ["own"]
    data = snapshot["data"]
    assert list(data["agents"]) == ["Bob"] and data["queues"] == {}
    assert data["calls"] and all(c["agent"] == "Bob" or "Bob" in c["ringing"] for c in data["calls"].values())
    # A role with nothing to see connects and gets an empty scope.
    with env.client.websocket_connect(env.url("qa")) as ws:
        assert ws.receive_json()["scopes"] == []
        empty = ws.receive_json()["data"]
    assert empty == {"calls": {}, "queues": {}, "agents": {}, "pbx": None}


def test_malformed_messages_get_error_frames_and_the_connection_stays(env: Env) -> None:
    with env.client.websocket_connect(env.url("bob")) as ws:
        ws.receive_json(), ws.receive_json()
        ws.send_text("not json{")
        error = ws.receive_json()
        assert error == {"type": "error", "code": "error.ws.not_json", "message": "消息不是 JSON 文本。"}
        ws.send_json({"type": "launch"})
        assert ws.receive_json()["code"] == "error.ws.unknown_type"
        ws.send_json(["ping"])
        assert ws.receive_json()["code"] == "error.ws.bad_message"
        ws.send_json({"type": "resume", "since": "yesterday"})
        assert ws.receive_json()["code"] == "error.ws.bad_fields"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "error.ws.not_json"
        ws.send_json({"type": "ping", "id": 7})
        assert ws.receive_json() == {"type": "pong", "id": 7}
    # The user's language (the lead chose English).
    with env.client.websocket_connect(env.url("lead")) as ws:
        ws.receive_json(), ws.receive_json()
        ws.send_text("{")
        assert ws.receive_json()["message"] == "The message is not a JSON text."


def test_forbidden_scope_is_refused_and_nothing_changes(env: Env) -> None:
    events = capture_events()
    env.feed(events[: len(events) // 2])
    with env.client.websocket_connect(env.url("bob")) as ws:
        ws.receive_json(), ws.receive_json()
        ws.send_json({"type": "subscribe", "scope": "all"})
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "error.scope_forbidden"
        assert "all" in error["message"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # no snapshot came in between: nothing subscribed
    with env.client.websocket_connect(env.url("lead")) as ws:
        ws.receive_json(), ws.receive_json()
        ws.send_json({"type": "subscribe", "scope": "all"})
        assert ws.receive_json()["code"] == "error.scope_forbidden"
        ws.send_json({"type": "subscribe", "scope": "own"})  # allowed: narrower
        own = ws.receive_json()
        assert own["type"] == "snapshot" and own["scope"] == "own" and own["data"]["agents"] == {}


def test_sync_keeps_a_quiet_client_s_position_and_heartbeats_come(env: Env) -> None:
    env.app.state.ws_heartbeat_seconds = 0.3
    with env.client.websocket_connect(env.url("bob")) as ws:
        ws.receive_json()
        start = ws.receive_json()["seq"]
        env.feed(capture_events()[:1])  # a caller queues: nothing in Bob's scope
        assert env.state.seq > start
        frame = ws.receive_json()
        assert frame == {"type": "sync", "seq": env.state.seq}  # no delta, but the position moves
        while (frame := ws.receive_json())["type"] != "heartbeat":
            assert frame["type"] == "sync"
        assert frame["seq"] == env.state.seq and abs(frame["at"] - time.time()) < 5


def test_logging_out_closes_the_socket_at_the_next_heartbeat(env: Env, db: Session) -> None:
    env.app.state.ws_heartbeat_seconds = 0.2
    with (
        env.client.websocket_connect(env.url("bob")) as ws,
        env.client.websocket_connect(env.url("lead")) as other,
    ):
        ws.receive_json(), ws.receive_json()
        other.receive_json(), other.receive_json()
        login = db.scalar(select(LoginSession).where(LoginSession.token_hash == digest(env.tokens["bob"])))
        assert login is not None
        db.delete(login)  # what logging out does
        db.commit()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 4401
        assert other.receive_json()["type"] == "heartbeat"  # the lead's login is still good


def read_until_sync(ws: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] in ("sync", "snapshot"):
            return frames


def test_resume_gives_exactly_the_missing_deltas_or_a_snapshot(env: Env) -> None:
    events = capture_events()
    half = len(events) // 2
    env.feed(events[:half])
    view = ClientView()
    with env.client.websocket_connect(env.url("lead")) as ws:
        view.apply(ws.receive_json())
        view.apply(ws.receive_json())
    start = view.position
    env.feed(events[half:])  # the lead is away meanwhile
    final = env.state.snapshot()
    assert final["seq"] > start
    with env.client.websocket_connect(env.url("lead", since=start)) as ws:
        assert ws.receive_json()["type"] == "hello"
        frames = read_until_sync(ws)
        assert frames[-1] == {"type": "sync", "seq": final["seq"]}
        deltas = frames[:-1]
        assert deltas and all(f["type"] == "delta" for f in deltas)
        seqs = [f["seq"] for f in deltas]
        assert seqs == sorted(set(seqs)) and seqs[0] > start  # no repeats, nothing old
        for frame in frames:
            view.apply(frame)
        scope = scope_for(
            Role.TEAM_LEAD,
            None,
            Member("组长", None),
            [Member("坐席乙", "PJSIP/1002"), Member("Carol", None)],
        )
        assert scope is not None
        expected = visible_state(scope, final, names_by_interface(final))
        assert view.state == expected
        # Only in-scope deltas: fewer than all of them (Alice's and Dave's went unsent).
        assert len(deltas) < final["seq"] - start
        # The same by message, within a connection; and a seq too old gives a snapshot.
        ws.send_json({"type": "resume", "since": start})
        again = read_until_sync(ws)
        assert again[:-1] == deltas
        ws.send_json({"type": "resume", "since": 5})
        old = ws.receive_json()
        assert old["type"] == "snapshot" and old["seq"] == final["seq"] and old["data"] == expected
        ws.send_json({"type": "resume", "since": final["seq"] + 10})  # not one we handed out
        assert ws.receive_json()["type"] == "snapshot"


def test_slow_client_is_closed_1013_and_nothing_leaks(env: Env) -> None:
    env.app.state.ws_queue_size = 4
    with env.client.websocket_connect(env.url("boss")) as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "snapshot"
        env.feed(capture_events())  # a burst far above 4 frames, relayed without a pause
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 1013
    env.app.state.ws_queue_size = 2000

    async def hub_tasks() -> list[str]:
        await asyncio.sleep(0.4)  # past the linger
        return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("ws-"))

    assert env.client.portal.call(hub_tasks) == []  # type: ignore[union-attr]
    # Reconnecting works, and other clients never waited for the slow one.
    with env.client.websocket_connect(env.url("boss")) as ws:
        ws.receive_json()
        snapshot = ws.receive_json()
        full = env.state.snapshot()
        assert snapshot["seq"] == full["seq"] and snapshot["data"] == {k: full[k] for k in snapshot["data"]}


# --------------------------------------------------------------------------- done when: traffic, kill, resume


async def test_desktop_killed_during_traffic_resumes_to_the_servers_state(
    app: FastAPI, db: Session, make_user: MakeUser, tmp_path: Path
) -> None:
    import uvicorn
    from websockets.asyncio.client import connect

    from acd.service import AcdService
    from pbxsim.simulator import Simulator
    from tests.live import free_port

    app.include_router(router)
    app.state.ws_sync_seconds = 0.05
    app.state.ws_heartbeat_seconds = 0.5
    team = Team(name="二组")
    db.add(team)
    db.commit()
    lead = make_user(Role.TEAM_LEAD, full_name="组长", team_id=team.id)
    make_user(Role.AGENT, full_name="坐席乙", pbx_interface="PJSIP/2002", team_id=team.id)
    make_user(Role.AGENT, full_name="Zhang Jie", team_id=team.id)
    alice = make_user(Role.AGENT, full_name="坐席甲", pbx_interface="PJSIP/2001")
    tokens = {"lead": token_for(db, lead), "alice": token_for(db, alice)}
    scopes = {
        "lead": scope_for(
            Role.TEAM_LEAD,
            None,
            Member("组长", None),
            [Member("坐席乙", "PJSIP/2002"), Member("Zhang Jie", None)],
        ),
        "alice": scope_for(Role.AGENT, None, Member("坐席甲", "PJSIP/2001")),
    }

    sim = Simulator(scenario="demo", clock="virtual", demo_hours=0.5, secret="s3cret")
    await sim.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    service: AcdService | None = None
    readers: list[asyncio.Task[None]] = []
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        service = AcdService(
            bus=app.state.bus,
            session_factory=app.state.session_factory,
            host="127.0.0.1",
            port=sim.port,
            username="admin",
            secret="s3cret",
            flush_interval=0.2,
        )
        app.state.acd = service
        await service.start()
        await service.link.wait_connected(5)
        origin = f"http://127.0.0.1:{port}"

        views = {who: ClientView() for who in tokens}
        sockets: dict[str, Any] = {}

        async def open_socket(who: str, since: int | None = None) -> None:
            url = f"ws://127.0.0.1:{port}/ws?token={tokens[who]}" + (
                f"&since={since}" if since is not None else ""
            )
            ws = await connect(url, origin=origin, proxy=None)  # type: ignore[arg-type]
            sockets[who] = ws

            async def read() -> None:
                with contextlib.suppress(Exception):
                    async for text in ws:
                        views[who].apply(json.loads(text))

            readers.append(asyncio.create_task(read()))

        async def drive(seconds: float) -> None:
            for _ in range(int(seconds / 5)):
                await sim.virtual.advance(5.0)
                await asyncio.sleep(0.003)

        for who in tokens:
            await open_socket(who)
        await drive(300)
        killed_at = views["lead"].position
        sockets["lead"].transport.abort()  # killed: no close handshake
        await drive(120)  # traffic goes on while the lead is away
        snapshots_before = views["lead"].snapshots
        away_until = service.state.seq
        assert away_until > killed_at  # the lead really missed something
        await open_socket("lead", since=killed_at)
        await drive(300)

        async def caught_up() -> bool:
            seq = service.state.seq if service is not None else 0
            return (
                service is not None
                and service._live.empty()
                and all(v.position == seq for v in views.values())
            )

        deadline = time.monotonic() + 10
        while not await caught_up():
            assert time.monotonic() < deadline, {w: v.position for w, v in views.items()}
            await asyncio.sleep(0.02)
        truth = service.state.snapshot()
        for who, view in views.items():
            scope = scopes[who]
            assert scope is not None
            assert view.state == visible_state(scope, truth, names_by_interface(truth)), who
        assert views["lead"].state["calls"] or views["lead"].deltas  # the lead really saw traffic
        assert views["alice"].deltas and views["lead"].deltas
        assert views["lead"].snapshots == snapshots_before  # the reconnect was answered with deltas
        lead_seqs = [d["seq"] for d in views["lead"].deltas]
        assert any(killed_at < seq <= away_until for seq in lead_seqs)  # given by the resume
        assert len(lead_seqs) == len(set(lead_seqs))  # no delta seen twice across the kill
    finally:
        for ws in list(locals().get("sockets", {}).values()):
            with contextlib.suppress(Exception):
                await ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        server.should_exit = True
        await serving
        if service is not None:
            await service.close()
        await sim.stop()
    await asyncio.sleep(0.05)
    leftovers = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("ws-")]
    assert leftovers == []


def test_a_process_without_the_acd_serves_from_the_redis_mirror(tmp_path: Path, redis_url: str) -> None:
    """Two processes behind Redis: one runs the ACD (publisher + mirror), the other only the websocket hub;
    the hub's snapshot comes from the mirror hashes and its deltas through Redis pub/sub."""
    from acd.live import RedisMirror
    from callcenter.app import create_app
    from callcenter.models import load_all_models
    from core.bus import make_bus
    from core.config import Settings

    web = create_app(Settings(data_dir=tmp_path, redis_url=redis_url))
    load_all_models().metadata.create_all(web.state.engine)
    web.include_router(router)
    web.state.ws_sync_seconds = 0.05
    with Session(web.state.engine) as session:
        boss = User(username="boss", full_name="主管", role=Role.SUPERVISOR, password_hash="x")
        session.add(boss)
        session.commit()
        token = token_for(session, boss)
    events = capture_events()
    half = len(events) // 2
    with TestClient(web) as client:
        assert web.state.acd is None  # this process has no PBX link
        portal = client.portal
        assert portal is not None
        acd_bus = make_bus(redis_url)  # "the other process"
        state = LiveState(first_seq=5000)
        mirror = RedisMirror(redis_url)
        publisher = LivePublisher(state, acd_bus, mirror=mirror)

        async def run_acd(part: list[object], start: bool = False) -> None:
            if start:
                await acd_bus.start()
                mirror.start(state)
            for event in part:
                await publisher.handle(event)
            async with asyncio.timeout(5):
                await mirror.wait_synced()

        portal.call(run_acd, events[:half], True)
        try:
            with client.websocket_connect(f"/ws?token={token}") as ws:
                ws.receive_json()
                snapshot = ws.receive_json()
                view = ClientView()
                view.apply(snapshot)
                full = state.snapshot()
                assert snapshot["seq"] == full["seq"]
                assert {k: view.state[k] for k in ("calls", "queues", "agents")} == {
                    k: full[k] for k in ("calls", "queues", "agents")
                }
                portal.call(run_acd, events[half:])
                final = state.snapshot()
                while view.position < final["seq"]:
                    view.apply(ws.receive_json())
                assert {k: view.state[k] for k in ("calls", "queues", "agents")} == {
                    k: final[k] for k in ("calls", "queues", "agents")
                }
                assert view.deltas
        finally:

            async def stop_acd() -> None:
                await mirror.close()
                await acd_bus.close()

            portal.call(stop_acd)


# --------------------------------------------------------------------------- fan-out by scope


def test_each_socket_gets_only_its_scope_s_deltas_through_the_hub_s_indexes(env: Env) -> None:
    """The hub files sockets by what they may see: a delta goes to those sockets only, and each desktop
    still ends with exactly its scope of the server's state."""
    events = capture_events()
    who = ("bob", "lead", "boss", "qa")
    views = {name: ClientView() for name in who}
    published: list[int] = []

    async def count_deltas() -> None:
        published.extend(d.seq for d in env.publisher.deltas_since(start) or ())

    with contextlib.ExitStack() as stack:
        sockets = {name: stack.enter_context(env.client.websocket_connect(env.url(name))) for name in who}
        for name, ws in sockets.items():
            views[name].apply(ws.receive_json())  # hello
            views[name].apply(ws.receive_json())  # snapshot
        start = env.state.seq
        hub: Hub = env.app.state.ws_hub
        conns = {c.viewer.user.username: c for c in hub.clients}
        bob, lead, boss, qa = (conns[env.users[name].username] for name in who)
        assert hub.viewers == {bob, lead, boss} and hub.wide == {boss} and hub.queue_viewers == {lead}
        assert hub.by_interface["PJSIP/1002"] == {bob, lead} and hub.by_name["Carol"] == {lead}
        env.feed(events)
        env.client.portal.call(count_deltas)  # type: ignore[union-attr]
        for name, ws in sockets.items():
            while views[name].position < env.state.seq:
                views[name].apply(ws.receive_json())
        # Once Bob's phone is known, its member name files Bob's socket (and his lead's) for his calls.
        assert (
            bob in hub.by_member["Bob"] and lead in hub.by_member["Bob"] and boss not in hub.by_member["Bob"]
        )
        call = {"agent": "Alice", "ringing": ["Dave"]}  # another team's call reaches the "all" scope only
        delta = Delta(env.state.seq + 1, "call", "x", call)
        assert hub._targets(delta, None, frozenset()) == {boss}
    full = env.state.snapshot()
    index = names_by_interface(full)
    for name in who:
        conn = {"bob": bob, "lead": lead, "boss": boss, "qa": qa}[name]
        assert views[name].state == visible_state(conn.scope, full, index), name
    assert [d["seq"] for d in views["boss"].deltas] == published  # everything, in order
    assert 0 < len(views["bob"].deltas) < len(views["lead"].deltas) < len(published)
    assert views["qa"].deltas == []
    # Nothing stays filed once the sockets are gone.
    assert not (
        hub.viewers or hub.wide or hub.queue_viewers or hub.by_name or hub.by_interface or hub.by_member
    )
    assert not (hub.by_user or hub.by_phone or hub.by_full_name or hub.stale)
