"""The IVR figures over the rows the server writes: containment, choices, survey and the wait offers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from ivr.figures import _offer_result, ivr_figures
from ivr.models import CallbackReason, IvrCallbackRequest, IvrOutcome
from ivr.server import FastAgiServer
from ivr.service import SessionRecord, record_session
from tests.ivr.capture import ScriptedCaller
from tests.ivr.conftest import CAPTURE_TIME
from tests.ivr.test_survey_callback import caller
from tests.ivr.test_wait_offer import busy_queue


async def test_figures(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    for keys in (["0"], ["0"], ["3"], ["hangup"]):
        await caller(list(keys), "ivr").run("127.0.0.1", server.port)
    for score, name, queue in ((1, "Bob", "support"), (4, "Bob", "support"), (5, "Carol", "complaints")):
        call = caller([str(score)], "survey", MEMBERINTERFACE="PJSIP/1002", MEMBERNAME=name, IVR_QUEUE=queue)
        await call.run("127.0.0.1", server.port)
    with transaction(factory) as session:  # one self-service call (complaint status told)
        record_session(
            session,
            record=SessionRecord(
                script="ivr", started_at=CAPTURE_TIME, outcome=IvrOutcome.SELF_SERVICE, choice="2"
            ),
        )
    with factory() as session:
        figures = ivr_figures(
            session, start=CAPTURE_TIME - timedelta(hours=1), end=CAPTURE_TIME + timedelta(hours=1)
        )
        empty = ivr_figures(
            session, start=CAPTURE_TIME + timedelta(hours=1), end=CAPTURE_TIME + timedelta(hours=2)
        )
    assert figures["calls"] == 5
    assert figures["outcomes"] == {"to_queue": 3, "hangup": 1, "self_service": 1}
    assert figures["containment_percent"] == 20.0
    assert figures["choices"] == {"0": 2, "2": 1, "3": 1}
    assert figures["survey_by_agent"] == {
        "Bob": {"answers": 2, "average": 2.5},
        "Carol": {"answers": 1, "average": 5.0},
    }
    assert figures["survey_by_queue"]["complaints"] == {"answers": 1, "average": 5.0}
    assert empty["calls"] == 0 and empty["containment_percent"] is None and empty["survey_by_queue"] == {}


async def test_wait_offer_figures(server: FastAgiServer, factory: sessionmaker[Session]) -> None:
    """Offered / accepted / declined over real IVR walks: a yes, a silence, another key, a short wait (no
    offer); requests of another reason or another time are not counted."""
    with transaction(factory) as session:
        busy_queue(session, "complaints", waiting=4)  # 480 s estimated: offered over 120 s
        busy_queue(session, "billing", waiting=4)
    for keys in (["3", "1"], ["3", None], ["3", "2"], ["5", "1"], ["5", "9"]):
        await ScriptedCaller(list(keys)).run("127.0.0.1", server.port)
    await ScriptedCaller(["4"]).run("127.0.0.1", server.port)  # sales: nobody waits, no offer
    with transaction(factory) as session:
        session.add_all(
            [
                IvrCallbackRequest(
                    caller="+8613900000009", reason=CallbackReason.LONG_WAIT, requested_at=CAPTURE_TIME
                ),
                IvrCallbackRequest(
                    caller="+8613900000008",
                    reason=CallbackReason.WAIT_OFFER,
                    queue="complaints",
                    requested_at=CAPTURE_TIME - timedelta(days=1),
                ),
            ]
        )
    hour = timedelta(hours=1)
    with factory() as session:
        offers = ivr_figures(session, start=CAPTURE_TIME - hour, end=CAPTURE_TIME + hour)["wait_offer"]
        before = ivr_figures(session, start=CAPTURE_TIME - 25 * hour, end=CAPTURE_TIME - hour)["wait_offer"]
    assert (offers["offered"], offers["accepted"], offers["declined"], offers["hung_up"]) == (5, 2, 3, 0)
    assert offers["accepted_percent"] == 40.0
    assert offers["by_queue"] == {
        "billing": {"offered": 2, "accepted": 1, "declined": 1, "hung_up": 0},
        "complaints": {"offered": 3, "accepted": 1, "declined": 2, "hung_up": 0},
    }
    assert before == {
        "offered": 1,
        "accepted": 1,
        "declined": 0,
        "hung_up": 0,
        "accepted_percent": 100.0,
        "by_queue": {"complaints": {"offered": 1, "accepted": 1, "declined": 0, "hung_up": 0}},
    }


def test_wait_offer_result_is_read_from_the_path() -> None:
    assert _offer_result(
        [{"kind": "menu", "result": "ok"}, {"kind": "wait_offer", "result": "declined"}]
    ) == ("declined")
    assert _offer_result([{"kind": "route", "result": "ok", "input": "wait_offer"}]) is None
    assert _offer_result(None) is None
