"""The IVR figures over the rows the server writes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from ivr.figures import ivr_figures
from ivr.models import IvrOutcome
from ivr.server import FastAgiServer
from ivr.service import SessionRecord, record_session
from tests.ivr.conftest import CAPTURE_TIME
from tests.ivr.test_survey_callback import caller


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
