"""The ``survey`` and ``callback`` scripts: the post-call 1–5 answer stored with call, agent and queue;
the call-back request left after an unanswered queue wait, and the queue of requests the ACD takes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import NotFound
from core.people.models import User
from core.security.roles import Role
from ivr.application import build_server
from ivr.models import (
    CallbackReason,
    CallbackStatus,
    IvrCallbackRequest,
    IvrOutcome,
    IvrSession,
    SurveyResult,
)
from ivr.server import FastAgiServer
from ivr.service import pending_callbacks, set_callback_status
from tests.ivr.capture import ScriptedCaller
from tests.ivr.conftest import CAPTURE_TIME, ZONE, Clock


class ChannelCaller(ScriptedCaller):
    """A scripted caller whose channel carries variables (GET VARIABLE answers from ``variables``)."""

    variables: dict[str, str]

    def _reply(self, command: str) -> bytes:
        if command.startswith("GET VARIABLE "):
            value = self.variables.get(command.removeprefix("GET VARIABLE "))
            return b"200 result=0\n" if value is None else f"200 result=1 ({value})\n".encode()
        return super()._reply(command)


def caller(keys: list[str | None], script: str, **variables: str) -> ChannelCaller:
    made = ChannelCaller(keys, script=script)
    made.variables = variables
    return made


def only_session(factory: sessionmaker[Session]) -> IvrSession:
    with factory() as session:
        [row] = session.scalars(select(IvrSession)).all()
        return row


async def test_survey_answer_is_stored_with_agent_and_queue(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        bob = User(username="bob", full_name="Bob", role=Role.AGENT, password_hash="x", extension="1002")
        session.add(bob)
        session.flush()
        bob_id = bob.id
    call = caller(["9", "2"], "survey", MEMBERINTERFACE="PJSIP/1002", MEMBERNAME="Bob", IVR_QUEUE="support")
    await call.run("127.0.0.1", server.port)
    assert call.received == [
        "GET VARIABLE MEMBERINTERFACE",
        "GET VARIABLE MEMBERNAME",
        "GET VARIABLE IVR_QUEUE",
        "GET DATA custom/survey 5000 1",
        'STREAM FILE custom/invalid-choice ""',
        "GET DATA custom/survey 5000 1",
        'STREAM FILE custom/survey-thanks ""',
    ]
    with factory() as session:
        [result] = session.scalars(select(SurveyResult)).all()
    assert (result.score, result.agent_id, result.agent_interface, result.agent_name, result.queue) == (
        2,
        bob_id,
        "PJSIP/1002",
        "Bob",
        "support",
    )
    assert result.linkedid == "1795400100.0" and result.caller == "+8613900139001"
    row = only_session(factory)
    assert (row.script, row.outcome, row.queue) == ("survey", IvrOutcome.SELF_SERVICE, "support")


async def test_survey_without_an_answer_stores_nothing(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    call = caller([None, "0"], "survey")  # no member variables: a call that did not come from a queue
    await call.run("127.0.0.1", server.port)
    with factory() as session:
        assert session.scalars(select(SurveyResult)).all() == []
    row = only_session(factory)
    assert row.outcome is IvrOutcome.HANGUP
    assert [(e["step"], e["result"]) for e in row.path[-2:]] == [("ask", "too_many_tries"), ("bye", "ok")]


async def test_survey_hangup(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    await caller(["hangup"], "survey").run("127.0.0.1", server.port)
    assert only_session(factory).outcome is IvrOutcome.HANGUP


async def test_callback_after_an_unanswered_wait(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    call = caller(["1"], "callback", IVR_QUEUE="complaints")
    await call.run("127.0.0.1", server.port)
    assert call.received == [
        "GET DATA custom/callback-offer 5000 1",
        "GET VARIABLE IVR_QUEUE",
        'STREAM FILE custom/callback-confirmed ""',
    ]
    row = only_session(factory)
    assert (row.outcome, row.queue) == (IvrOutcome.CALLBACK, "complaints")
    with transaction(factory) as session:
        [request] = pending_callbacks(session)
        assert (request.caller, request.queue, request.reason) == (
            "+8613900139001",
            "complaints",
            CallbackReason.LONG_WAIT,
        )
        assert pending_callbacks(session, queue="support") == []
        set_callback_status(session, request_id=request.id, status=CallbackStatus.DONE)
        with pytest.raises(NotFound):
            set_callback_status(session, request_id=request.id + 100, status=CallbackStatus.DONE)
    with factory() as session:
        assert pending_callbacks(session) == []
        assert session.scalars(select(IvrCallbackRequest.status)).all() == [CallbackStatus.DONE]
        closed = session.scalars(select(IvrCallbackRequest)).one()
        assert closed.done_at is not None  # closed by hand: when
    with transaction(factory) as session:
        reopened = set_callback_status(session, request_id=closed.id, status=CallbackStatus.PENDING)
        assert (reopened.done_at, reopened.next_attempt_at) == (None, None)  # due again at once
        assert [r.id for r in pending_callbacks(session)] == [closed.id]


async def test_callback_declined(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    call = caller(["2"], "callback")
    await call.run("127.0.0.1", server.port)
    assert call.received[-1] == 'STREAM FILE custom/goodbye ""'
    with factory() as session:
        assert session.scalars(select(IvrCallbackRequest)).all() == []
    assert only_session(factory).outcome is IvrOutcome.HANGUP


async def test_pending_call_backs_oldest_first(factory: sessionmaker[Session]) -> None:
    calls = [caller(["1"], "callback", IVR_QUEUE="support") for _ in range(3)]
    for n, call in enumerate(calls):
        call.caller = f"1390013900{n}"

    clock = Clock(CAPTURE_TIME)
    server, store = build_server(factory, zone=ZONE, port=0, clock=clock)
    await server.start()
    for n, call in enumerate(calls):
        clock.now = CAPTURE_TIME - timedelta(minutes=n)  # later calls asked earlier
        await call.run("127.0.0.1", server.port)
    await server.stop()
    await store.aclose()
    with factory() as session:
        assert [r.caller for r in pending_callbacks(session)] == [
            "+8613900139002",
            "+8613900139001",
            "+8613900139000",
        ]
        assert [r.caller for r in pending_callbacks(session, limit=1)] == ["+8613900139002"]
