"""The estimated-wait offer of a call-back: the estimate from today's call records, the offer on the route
step (accepted: a ``wait_offer`` request that keeps the caller's place, no queue; declined or a short wait:
the queue as before), its validation in flows, and the linkedid the dialplan passes as AGI argument."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from acd.callbacks import due_requests
from acd.records.models import QueueLeg, RingAttempt, RingOutcome
from core.calls.models import PbxCall
from core.db import transaction
from core.errors import InvalidFields
from ivr.default_flow import DEFAULT_FLOW
from ivr.figures import ivr_figures
from ivr.flows import WaitOffer, flow_prompts, validate_flow
from ivr.models import CallbackReason, IvrCallbackRequest, IvrOutcome, IvrSession
from ivr.server import FastAgiServer
from ivr.service import DEFAULT_HANDLE_S, estimate_wait
from tests.ivr.capture import ScriptedCaller
from tests.ivr.conftest import CAPTURE_TIME, ZONE

NOW = CAPTURE_TIME  # Monday 10:14 in Shanghai
_ids = itertools.count(1)


def add_leg(
    session: Session,
    queue: str,
    *,
    joined: datetime,
    answered: bool = False,
    talk_s: int = 0,
    wrapup_s: int | None = None,
    outcome: str | None = None,
    rang: tuple[str, ...] = (),
) -> QueueLeg:
    """One stay of a call in ``queue``, as the ACD records it (waiting: not answered, no outcome)."""
    n = next(_ids)
    call = PbxCall(linkedid=f"1795400000.{n}", uniqueid=f"1795400000.{n}", started_at=joined)
    session.add(call)
    session.flush()
    leg = QueueLeg(
        call_id=call.id,
        linkedid=call.linkedid,
        uniqueid=call.uniqueid,
        queue=queue,
        joined_at=joined,
        answered_at=joined + timedelta(seconds=5) if answered else None,
        talk_ms=talk_s * 1000 if answered else None,
        wrapup_ms=None if wrapup_s is None else wrapup_s * 1000,
        outcome=outcome,
    )
    session.add(leg)
    session.flush()
    for agent in rang:
        session.add(
            RingAttempt(
                leg_id=leg.id,
                agent=agent,
                started_at=joined + timedelta(seconds=1),
                outcome=RingOutcome.ANSWERED if answered else None,
            )
        )
    session.flush()
    return leg


def busy_queue(session: Session, queue: str = "complaints", *, waiting: int = 4) -> None:
    """``waiting`` callers in ``queue`` now; answered calls of 200 s talk + 40 s wrap-up by 2 agents."""
    for minutes in (50, 40):
        add_leg(
            session,
            queue,
            joined=NOW - timedelta(minutes=minutes),
            answered=True,
            talk_s=200,
            wrapup_s=40,
            outcome="answered",
            rang=("Bob", "Carol"),
        )
    for n in range(waiting):
        add_leg(session, queue, joined=NOW - timedelta(seconds=30 + n))


# --- the estimate ------------------------------------------------------------------------------------------


def test_the_estimate_is_callers_ahead_times_handle_time_over_agents(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        busy_queue(session, waiting=4)
        # not waiting now: answered and talking, yesterday's, a stale leg, another queue, one still ringing
        add_leg(session, "complaints", joined=NOW - timedelta(minutes=2), answered=True, talk_s=10)
        add_leg(session, "complaints", joined=NOW - timedelta(days=1))
        add_leg(session, "complaints", joined=NOW - timedelta(hours=3))
        add_leg(session, "support", joined=NOW - timedelta(seconds=20))
        add_leg(session, "complaints", joined=NOW - timedelta(minutes=1), outcome="abandoned")
        estimate = estimate_wait(session, queue="complaints", now=NOW, zone=ZONE)
    # the answered-and-talking leg counts in the handle time: (240 + 240 + 10) / 3
    assert (estimate.waiting, estimate.agents) == (4, 2)
    assert estimate.handle_s == pytest.approx(490 / 3, abs=0.1)
    assert estimate.seconds == 327  # ceil(4 × 163.33 / 2)
    assert estimate.minutes == 6


def test_without_records_nobody_waits_and_the_default_handle_time_is_used(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        estimate = estimate_wait(session, queue="support", now=NOW, zone=ZONE)
    assert (estimate.waiting, estimate.agents, estimate.seconds) == (0, 1, 0)
    assert estimate.handle_s == DEFAULT_HANDLE_S
    assert estimate.minutes == 1


def test_a_queue_without_answered_calls_today_borrows_the_centers_handle_time(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        add_leg(session, "sales", joined=NOW - timedelta(minutes=30), answered=True, talk_s=90, wrapup_s=30)
        add_leg(session, "billing", joined=NOW - timedelta(seconds=10))
        estimate = estimate_wait(session, queue="billing", now=NOW, zone=ZONE)
    assert (estimate.waiting, estimate.handle_s, estimate.agents, estimate.seconds) == (1, 120.0, 1, 120)


@settings(max_examples=40, deadline=None)
@given(
    waiting=st.integers(min_value=0, max_value=500),
    handle=st.floats(min_value=1, max_value=3600),
    agents=st.integers(min_value=1, max_value=50),
)
def test_the_minutes_told_cover_the_estimate(waiting: int, handle: float, agents: int) -> None:
    from ivr.service import WaitEstimate

    seconds = -(-int(waiting * handle) // agents)
    estimate = WaitEstimate("q", waiting, handle, agents, seconds)
    assert estimate.minutes * 60 >= estimate.seconds
    assert estimate.minutes >= 1 and (estimate.minutes - 1) * 60 < max(estimate.seconds, 1)


# --- the offer over FastAGI --------------------------------------------------------------------------------


def callbacks(factory: sessionmaker[Session]) -> list[IvrCallbackRequest]:
    with factory() as session:
        rows = list(session.scalars(select(IvrCallbackRequest)).all())
        for row in rows:
            session.expunge(row)
        return rows


def session_of(factory: sessionmaker[Session]) -> IvrSession:
    with factory() as session:
        row = session.scalars(select(IvrSession)).one()
        session.expunge(row)
        return row


async def test_a_caller_facing_a_long_wait_takes_the_call_back_and_keeps_their_place(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        busy_queue(session, waiting=4)  # 4 × 240 s / 2 agents = 480 s > 120 s
    caller = ScriptedCaller(["3", "1"], args=("1795400999.7",))  # complaints, then 1 at the offer
    await caller.run("127.0.0.1", server.port)
    assert caller.received[-6:] == [
        "SET VARIABLE IVR_CHOICE 3",
        'STREAM FILE custom/wait-estimate ""',
        'SAY NUMBER 8 ""',
        'STREAM FILE custom/wait-minutes ""',
        "GET DATA custom/wait-offer 5000 1",
        'STREAM FILE custom/callback-confirmed ""',
    ]
    assert not any(c.startswith("SET VARIABLE IVR_QUEUE") for c in caller.received)  # the dialplan hangs up
    [request] = callbacks(factory)
    assert (request.reason, request.queue, request.caller) == (
        CallbackReason.WAIT_OFFER,
        "complaints",
        "+8613900139001",
    )
    assert request.requested_at == NOW  # when they would have joined: their place among the requests
    assert request.linkedid == "1795400999.7"  # from the dialplan's ${CHANNEL(linkedid)} argument
    row = session_of(factory)
    assert (row.outcome, row.queue, row.linkedid) == (IvrOutcome.CALLBACK, "complaints", "1795400999.7")
    offer = row.path[-1]
    assert (offer["step"], offer["kind"], offer["result"], offer["input"]) == (
        "complaints",
        "wait_offer",
        "accepted",
        "1",
    )
    assert (offer["wait_s"], offer["waiting"], offer["agents"]) == (480, 4, 2)
    with factory() as session:
        [due] = due_requests(session, now=NOW, limit=10)
    assert due.id == request.id


async def test_a_caller_who_stays_on_the_line_joins_the_queue(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        busy_queue(session, waiting=4)
    caller = ScriptedCaller(["3", None])  # silence at the offer: stays
    await caller.run("127.0.0.1", server.port)
    assert "GET DATA custom/wait-offer 5000 1" in caller.received
    assert "SET VARIABLE IVR_QUEUE complaints" in caller.received
    assert callbacks(factory) == []
    row = session_of(factory)
    assert (row.outcome, row.queue) == (IvrOutcome.TO_QUEUE, "complaints")
    assert [(e["kind"], e["result"]) for e in row.path[-2:]] == [("wait_offer", "declined"), ("route", "ok")]


async def test_a_caller_who_hangs_up_during_the_offer_is_counted_as_offered(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        busy_queue(session, waiting=4)
    caller = ScriptedCaller(["3", "hangup"])
    await caller.run("127.0.0.1", server.port)
    assert callbacks(factory) == []
    row = session_of(factory)
    assert row.outcome is IvrOutcome.HANGUP
    offers = [e for e in row.path if e["kind"] == "wait_offer"]
    assert [(e["result"], e["wait_s"]) for e in offers] == [("hung_up", 480)]
    with factory() as session:
        figures = ivr_figures(session, start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1))
    assert {k: figures["wait_offer"][k] for k in ("offered", "accepted", "declined", "hung_up")} == {
        "offered": 1,
        "accepted": 0,
        "declined": 0,
        "hung_up": 1,
    }


async def test_a_short_wait_is_not_offered(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        busy_queue(session, waiting=1)  # ceil(1 × 240 / 2) = 120 s: not over the threshold
    caller = ScriptedCaller(["3"])
    await caller.run("127.0.0.1", server.port)
    assert not any("wait-" in c for c in caller.received)
    assert session_of(factory).outcome is IvrOutcome.TO_QUEUE


async def test_a_withheld_number_is_not_offered_a_call_back(
    server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        busy_queue(session, waiting=4)
    caller = ScriptedCaller(["3"], caller="unknown")
    await caller.run("127.0.0.1", server.port)
    assert not any("wait-offer" in c for c in caller.received)
    assert session_of(factory).queue == "complaints"


# --- the dialer keeps the place --------------------------------------------------------------------------


def test_the_dialer_serves_requests_in_the_order_callers_would_have_joined(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        later = IvrCallbackRequest(
            caller="+8613900000002", reason=CallbackReason.LONG_WAIT, requested_at=NOW, queue="support"
        )
        session.add(later)
        session.flush()
        # written afterwards, but the caller would have joined a minute earlier
        earlier = IvrCallbackRequest(
            caller="+8613900000001",
            reason=CallbackReason.WAIT_OFFER,
            requested_at=NOW - timedelta(minutes=1),
            queue="support",
        )
        session.add(earlier)
        session.flush()
        order = [r.caller for r in due_requests(session, now=NOW, limit=10)]
    assert order == ["+8613900000001", "+8613900000002"]


# --- flows -------------------------------------------------------------------------------------------------


def test_the_default_flow_offers_a_call_back_on_every_queue_step() -> None:
    flow = validate_flow(DEFAULT_FLOW)
    routes = {sid: s for sid, s in flow.steps.items() if s.kind in ("route", "transfer_to_agent")}
    assert routes and all(getattr(s, "wait_offer", None) == WaitOffer() for s in routes.values())
    assert {"custom/wait-estimate", "custom/wait-minutes", "custom/wait-offer"} <= flow_prompts(flow)


def test_a_wait_offer_with_an_unknown_prompt_or_bad_key_is_refused() -> None:
    raw = copy.deepcopy(DEFAULT_FLOW)
    raw["steps"]["support"]["wait_offer"] = {"offer_prompt": "no-such-prompt", "wait_over_s": 60}
    with pytest.raises(InvalidFields) as caught:
        validate_flow(raw)
    assert {(p.loc, p.code) for p in caught.value.problems} == {
        (("steps", "support", "wait_offer", "offer_prompt"), "validation.ivr_unknown_prompt")
    }
    raw["steps"]["support"]["wait_offer"] = {"offer_key": "12", "wait_over_s": -1}
    with pytest.raises(InvalidFields) as caught:
        validate_flow(raw)
    assert {p.loc for p in caught.value.problems} == {
        ("steps", "support", "wait_offer", "offer_key"),
        ("steps", "support", "wait_offer", "wait_over_s"),
    }
