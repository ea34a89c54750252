"""The call-back dialer against the simulator: a pending request and a free agent of its queue → the
agent's phone gets the Originate and the request is done with the agent recorded; no free agent (none
logged in, paused, busy) → it waits; busy / no answer → an attempt counted and a retry time set, then
failed after the last attempt; concurrent ticks dial once; a PBX that is down loses nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from ivr.models import CallbackStatus, IvrCallbackRequest
from pbxsim.queues import Phone
from tests.acd_callbacks.conftest import AGENTS, OTHER_QUEUE, Bench
from tests.acd_link.helpers import until


async def test_pending_request_rings_the_longest_idle_agent_and_is_done(bench: Bench) -> None:
    await bench.login("王芳")
    await asyncio.sleep(1.1)  # AMI timestamps are in seconds: 王芳 is idle clearly longer
    await bench.login("李强")
    first = bench.request("+8613900139001")
    second = bench.request("+8613900139002")

    results = await bench.dialer().run_once()

    assert [(r.request_id, r.agent, r.outcome, r.status) for r in results] == [
        (first, "王芳", "answered", CallbackStatus.DONE),
        (second, "李强", "answered", CallbackStatus.DONE),
    ]
    # The simulator received the agent-first Originate: the agent's leg, headed for the customer.
    [leg] = bench.legs_to("13900139001")
    assert leg.name.startswith("PJSIP/1006-") and leg.context == "from-internal"
    assert leg.uniqueid == results[0].uniqueid
    [other] = bench.legs_to("13900139002")
    assert other.name.startswith("PJSIP/1005-")
    assert bench.status(first) == bench.status(second) == CallbackStatus.DONE
    row = bench.row(first)
    assert (row.attempts, row.agent_name, row.agent_id) == (1, "王芳", bench.ids["wang"])
    assert row.done_at is not None and row.done_at.tzinfo is not None and row.next_attempt_at is None
    assert (bench.row(second).agent_name, bench.row(second).agent_id) == ("李强", bench.ids["li"])
    [attempt] = bench.attempts(first)
    assert attempt["outcome"] == "answered" and attempt["attempt"] == 1
    assert (attempt["agent"], attempt["agent_id"]) == ("王芳", bench.ids["wang"])
    # Done means done: a later tick dials nothing more.
    assert await bench.dialer().run_once() == []


async def test_no_available_agent_leaves_the_request_pending(bench: Bench) -> None:
    request = bench.request()
    other_queue = bench.request("+8613900139002", queue="elsewhere")
    assert await bench.dialer().run_once() == []  # nobody logged in
    await bench.login("王芳")
    results = await bench.dialer().run_once()
    assert [r.request_id for r in results] == [request]
    assert bench.status(other_queue) == CallbackStatus.PENDING  # no agent of its queue
    assert bench.legs_to("13900139002") == [] and bench.attempts(other_queue) == []
    # 王芳 is now on the call-back: the next request of her queue waits for her.
    await until(lambda: bench.agent("王芳").get("state") == "on_call", 5.0)
    waiting = bench.request("+8613900139003")
    assert await bench.dialer().run_once() == []
    assert bench.status(waiting) == CallbackStatus.PENDING


async def test_paused_agent_is_skipped(bench: Bench) -> None:
    # Paused in the request's queue only: available for another queue, not for this call-back.
    await bench.login("王芳", queue=OTHER_QUEUE)
    await bench.login("王芳", paused=True)
    assert bench.agent("王芳")["state"] == "available"
    request = bench.request()
    assert await bench.dialer().run_once() == []
    assert bench.status(request) == CallbackStatus.PENDING
    assert bench.legs_to("13900139001") == []

    await bench.login("李强")
    [result] = await bench.dialer().run_once()
    assert (result.agent, result.status) == ("李强", CallbackStatus.DONE)
    [leg] = bench.legs_to("13900139001")
    assert leg.name.startswith("PJSIP/1005-")


async def test_unanswered_call_back_is_retried_later_then_given_up(bench: Bench) -> None:
    bench.sim.engine.devices[AGENTS["王芳"][1]].phone = Phone(answer_after=None)  # rings, nobody picks up
    await bench.login("王芳")
    request = bench.request()
    dialer = bench.dialer(max_attempts=2, retry_delay=60.0, ring_timeout=0.3)

    before = bench.clock()
    [first] = await dialer.run_once()
    assert (first.outcome, first.status, first.attempt) == ("no_answer", CallbackStatus.PENDING, 1)
    row = bench.row(request)
    assert (row.status, row.attempts, row.done_at, row.agent_id) == (CallbackStatus.PENDING, 1, None, None)
    assert row.next_attempt_at is not None
    assert before + timedelta(seconds=60) <= row.next_attempt_at <= bench.clock() + timedelta(seconds=60)
    assert await dialer.run_once() == []  # not before the retry delay
    assert await bench.dialer(retry_delay=60.0).run_once() == []  # nor from another process

    bench.clock.skipped += timedelta(seconds=61)
    [second] = await dialer.run_once()
    assert (second.outcome, second.status, second.attempt) == ("no_answer", CallbackStatus.FAILED, 2)
    row = bench.row(request)
    assert (row.status, row.attempts, row.next_attempt_at) == (CallbackStatus.FAILED, 2, None)
    assert row.done_at is not None and (row.agent_id, row.agent_name) == (None, None)
    attempts = bench.attempts(request)
    assert [(a["attempt"], a["outcome"], a.get("gave_up")) for a in attempts] == [
        (1, "no_answer", None),
        (2, "no_answer", True),
    ]
    bench.clock.skipped += timedelta(seconds=61)
    assert await dialer.run_once() == []
    assert bench.legs_to("13900139001") == []  # never answered


async def test_busy_agent_phone_counts_as_an_attempt(bench: Bench) -> None:
    await bench.login("王芳")
    bench.sim.engine.devices[AGENTS["王芳"][1]].in_call = True  # busy on a call the live state missed
    request = bench.request()
    [result] = await bench.dialer().run_once()
    assert (result.outcome, result.status) == ("busy", CallbackStatus.PENDING)
    row = bench.row(request)
    assert row.attempts == 1 and row.next_attempt_at is not None
    assert [a["outcome"] for a in bench.attempts(request)] == ["busy"]


async def test_concurrent_ticks_dial_once(bench: Bench) -> None:
    await bench.login("王芳")
    await bench.login("李强")
    request = bench.request()
    dialers = [bench.dialer() for _ in range(4)]  # as many processes, ticking at once
    results = [r for batch in await asyncio.gather(*(d.run_once() for d in dialers)) for r in batch]
    assert [r.request_id for r in results] == [request]
    assert len(bench.legs_to("13900139001")) == 1
    assert bench.row(request).attempts == 1
    assert len(bench.attempts(request)) == 1


async def test_pbx_down_loses_nothing(bench: Bench) -> None:
    await bench.login("王芳")
    request = bench.request()
    await bench.acd.link.close()
    assert await bench.dialer().run_once() == []
    row = bench.row(request)
    assert (row.status, row.attempts, row.next_attempt_at) == (CallbackStatus.PENDING, 0, None)
    assert bench.attempts(request) == []


async def test_due_is_read_from_next_attempt_at(bench: Bench) -> None:
    # The retry time on the row decides, whatever the audit trail says: a past one is due, a future one
    # waits, and the count on the row goes on from where it is.
    await bench.login("王芳")
    waiting, due = bench.request(), bench.request("+8613900139002")
    with bench.app.state.session_factory() as session:
        for request_id, offset in ((waiting, 30), (due, -1)):
            session.execute(
                update(IvrCallbackRequest)
                .where(IvrCallbackRequest.id == request_id)
                .values(attempts=1, next_attempt_at=bench.clock() + timedelta(seconds=offset))
            )
        session.commit()
    [result] = await bench.dialer(max_attempts=3).run_once()
    assert (result.request_id, result.attempt, result.status) == (due, 2, CallbackStatus.DONE)
    assert bench.row(due).attempts == 2
    row = bench.row(waiting)
    assert (row.status, row.attempts) == (CallbackStatus.PENDING, 1)


async def test_request_left_dialling_by_a_dead_dialer_is_dialled_again(bench: Bench) -> None:
    await bench.login("王芳")
    request = bench.request()
    with bench.app.state.session_factory() as session:
        stale = bench.clock() - timedelta(minutes=5)
        session.execute(
            update(IvrCallbackRequest)
            .where(IvrCallbackRequest.id == request)
            .values(status=CallbackStatus.DIALLING, updated_at=stale)
        )
        session.commit()
    fresh = bench.request("+8613900139002")
    with bench.app.state.session_factory() as session:
        session.execute(
            update(IvrCallbackRequest)
            .where(IvrCallbackRequest.id == fresh)
            .values(status=CallbackStatus.DIALLING, updated_at=bench.clock())
        )
        session.commit()
    [result] = await bench.dialer().run_once()
    assert (result.request_id, result.status) == (request, CallbackStatus.DONE)
    assert bench.status(fresh) == CallbackStatus.DIALLING  # a live dialer's claim is left alone


async def test_the_app_dials_call_backs_by_itself(app_dialer: Bench) -> None:
    await app_dialer.login("王芳")
    request = app_dialer.request()
    await until(lambda: app_dialer.status(request) == CallbackStatus.DONE, 10.0)
    [leg] = app_dialer.legs_to("13900139001")
    assert leg.name.startswith("PJSIP/1006-")
