"""An agent's own call from the desktop, against the simulator: answer, hang up (wrap-up follows), blind
transfer into another queue (the call joins it; the record keeps the target), recording pause, and the
refusal to act on another agent's call."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from acd.events import CallOutcome, EndedBy
from acd.records.models import QueueLeg
from recording.models import RecordingMode, RecordingPolicy
from tests.acd_desktop.conftest import Desk
from tests.acd_link.helpers import until


def legs(desk: Desk, linkedid: str) -> list[QueueLeg]:
    with Session(desk.app.state.engine) as session:
        query = select(QueueLeg).where(QueueLeg.linkedid == linkedid).order_by(QueueLeg.joined_at)
        return list(session.scalars(query).all())


async def test_session_shows_the_ringing_call_then_answer_and_hang_up(desk: Desk) -> None:
    wang = desk.clients["wang"]
    await desk.login_queue("wang", "desk")
    # The desktop took over the simulated phone: it rings until the agent answers from the browser.
    assert desk.sim.engine.devices["PJSIP/1006"].phone.manual is True
    idle = (await wang.get("/api/desktop/session")).json()
    assert idle["agent"]["state"] == "available" and idle["call"] is None
    assert idle["answer_in_browser"] is True
    assert idle["ring_target_seconds"] == 15.0
    assert idle["transfer_departments"] == ["投诉处理部", "技术支持部", "财务部"]
    assert (await wang.post("/api/desktop/answer")).json()["error"] == "error.no_ringing_call"
    assert (await wang.post("/api/desktop/hangup")).json()["error"] == "error.no_active_call"

    linkedid = await desk.ringing_call("wang", "desk")
    ringing = (await wang.get("/api/desktop/session")).json()
    assert ringing["agent"]["state"] == "ringing" and ringing["agent"]["call"] == linkedid
    assert ringing["call"]["state"] == "ringing" and ringing["call"]["queue"] == "desk"
    assert ringing["call"]["caller_number"] == "138****8000"  # an agent sees numbers masked

    assert (await wang.post("/api/desktop/answer")).status_code == 204
    await until(lambda: (desk.call(linkedid) or {}).get("state") == "talking", 5.0)
    call = desk.call(linkedid)
    assert call is not None and call["agent"] == "王芳"
    assert call["channel"].startswith("PJSIP/customers-") and call["agent_channel"].startswith("PJSIP/1006-")
    talking = (await wang.get("/api/desktop/session")).json()
    assert talking["agent"]["state"] == "on_call" and talking["call"]["state"] == "talking"
    assert talking["call"]["recording"] is True  # the queue records every answered call

    assert (await wang.post("/api/desktop/hangup", json={"linkedid": linkedid})).status_code == 204
    await until(lambda: desk.call(linkedid) is None, 5.0)
    agent = desk.agent("wang")
    assert agent is not None and agent["state"] == "wrap_up" and agent["wrapup_until"] is not None
    after = (await wang.get("/api/desktop/session")).json()
    assert after["call"] is None and after["agent"]["state"] == "wrap_up"
    assert after["agent"]["wrapup_until"] == agent["wrapup_until"]
    assert len(desk.audit("call.hangup", user_id=desk.ids["wang"], object_id=linkedid)) == 1
    await desk.acd.flush_records()
    [leg] = legs(desk, linkedid)
    assert (leg.outcome, leg.ended_by, leg.agent) == (CallOutcome.ANSWERED, EndedBy.AGENT, "王芳")


async def test_transfer_to_another_queue(desk: Desk) -> None:
    wang = desk.clients["wang"]
    await desk.login_queue("wang", "desk")
    await desk.login_queue("li", "desk2")
    linkedid = await desk.talking_call("wang", "desk")

    response = await wang.post("/api/desktop/transfer", json={"kind": "queue", "target": "desk2"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "linkedid": linkedid,
        "kind": "queue",
        "target": "desk2",
        "context": "queues",
        "exten": "desk2",
    }
    # The caller joins desk2 and rings 李强 there; 王芳 is off the call, in wrap-up.
    await until(lambda: "李强" in ((desk.call(linkedid) or {}).get("ringing") or ()), 5.0)
    call = desk.call(linkedid)
    assert call is not None and call["queue"] == "desk2"
    assert linkedid in desk.acd.state.snapshot()["queues"]["desk2"]["waiting"]
    assert (desk.agent("wang") or {}).get("state") == "wrap_up"
    [entry] = desk.audit("call.transfer", object_id=linkedid)
    assert entry.detail is not None and entry.detail["exten"] == "desk2"

    await desk.acd.flush_records()
    first, second = legs(desk, linkedid)
    assert (first.queue, first.outcome, first.transfer_target) == (
        "desk",
        CallOutcome.TRANSFERRED,
        "desk2@queues",
    )
    assert (second.queue, second.outcome) == ("desk2", None)  # still waiting there


async def test_transfer_targets_are_checked(desk: Desk) -> None:
    wang = desk.clients["wang"]
    await desk.login_queue("wang", "desk")
    linkedid = await desk.talking_call("wang", "desk")

    for body, code in (
        ({"kind": "queue", "target": "nowhere"}, "validation.unknown_queue"),
        ({"kind": "department", "target": "市场部"}, "validation.unknown_department"),
        ({"kind": "extension", "target": "70a"}, "validation.bad_extension"),
    ):
        response = await wang.post("/api/desktop/transfer", json=body)
        assert response.status_code == 422
        [problem] = response.json()["fields"]
        assert (problem["field"], problem["code"]) == ("target", code)
    zh = (await wang.post("/api/desktop/transfer", json={"kind": "queue", "target": "nowhere"})).json()
    assert zh["fields"][0]["message"] == "没有名为“nowhere”的队列"
    en = await wang.post("/api/desktop/transfer?lang=en", json={"kind": "department", "target": "市场部"})
    assert en.json()["fields"][0]["message"].startswith("There is no department named “市场部”")
    shape = await wang.post("/api/desktop/transfer", json={"kind": "fax", "target": ""})
    assert shape.status_code == 422
    assert {p["field"] for p in shape.json()["fields"]} == {"kind", "target"}
    kind = next(p for p in shape.json()["fields"] if p["field"] == "kind")
    assert kind["code"] == "validation.enum" and kind["message"].startswith("不是允许的选项")
    # A department goes to its extension in the transfer context.
    department = await wang.post("/api/desktop/transfer", json={"kind": "department", "target": "技术支持部"})
    assert department.json()["context"] == "from-internal" and department.json()["exten"] == "1901"
    await until(lambda: desk.call(linkedid) is None, 5.0)
    await desk.acd.flush_records()
    [leg] = legs(desk, linkedid)
    assert (leg.outcome, leg.transfer_target) == (CallOutcome.TRANSFERRED, "1901@from-internal")


async def test_recording_pause_and_resume(desk: Desk) -> None:
    wang = desk.clients["wang"]
    await desk.login_queue("wang", "desk")
    linkedid = await desk.talking_call("wang", "desk")
    await until(lambda: (desk.call(linkedid) or {}).get("recording") is True, 5.0)

    assert (await wang.post("/api/desktop/recording", json={"muted": True})).status_code == 204
    await until(lambda: (desk.call(linkedid) or {}).get("muted") is True, 5.0)
    assert (await wang.get("/api/desktop/session")).json()["call"]["muted"] is True
    assert (await wang.post("/api/desktop/recording", json={"muted": False})).status_code == 204
    await until(lambda: (desk.call(linkedid) or {}).get("muted") is False, 5.0)
    assert [e.detail["muted"] for e in desk.audit("call.recording") if e.detail] == [True, False]

    bad = await wang.post(
        "/api/desktop/recording", json={"muted": "sometimes"}, headers={"Accept-Language": "en"}
    )
    assert bad.status_code == 422
    [problem] = bad.json()["fields"]
    assert (problem["field"], problem["message"]) == ("muted", "Must be yes or no")


async def test_recording_of_an_unrecorded_call_is_refused(desk: Desk) -> None:
    li = desk.clients["li"]
    await desk.login_queue("li", "desk2")
    with Session(desk.app.state.engine) as session:  # desk2 is not in queues.conf's recorded queues and
        session.add(RecordingPolicy(queue="desk2", mode=RecordingMode.NONE))  # its policy records nothing
        session.commit()
    await desk.talking_call("li", "desk2")
    response = await li.post("/api/desktop/recording", json={"muted": True})
    assert response.status_code == 409 and response.json()["error"] == "error.not_recording"


async def test_an_agent_cannot_act_on_another_agents_call(desk: Desk) -> None:
    await desk.login_queue("wang", "desk")
    linkedid = await desk.talking_call("wang", "desk")
    li = desk.clients["li"]
    for path, body in (
        ("/api/desktop/hangup", {"linkedid": linkedid}),
        ("/api/desktop/transfer", {"kind": "queue", "target": "desk", "linkedid": linkedid}),
        ("/api/desktop/recording", {"muted": True, "linkedid": linkedid}),
    ):
        response = await li.post(path, json=body)
        assert response.status_code == 403, path
        assert response.json()["error"] == "error.not_your_call"
        assert response.json()["message"] == "这不是您的通话，不能操作"
    by_query = await li.post(f"/api/desktop/hangup?linkedid={linkedid}&lang=en")
    assert by_query.status_code == 403 and by_query.json()["message"].startswith("This is not your call")
    refusals = desk.audit("auth.forbidden", user_id=desk.ids["li"], allowed=False)
    assert len(refusals) == 4
    assert all(r.detail and r.detail["reason"] == "error.not_your_call" for r in refusals)
    assert {r.detail["linkedid"] for r in refusals if r.detail} == {linkedid}
    # Nothing happened to the call.
    assert (desk.call(linkedid) or {}).get("state") == "talking"
    assert (desk.call(linkedid) or {}).get("muted") is False
    # The owner's own linkedid works.
    wang = desk.clients["wang"]
    assert (await wang.post("/api/desktop/hangup", json={"linkedid": linkedid})).status_code == 204


async def test_answer_needs_a_softphone(desk: Desk) -> None:
    """With a real PBX there is no softphone: the agent answers on the phone itself."""
    await desk.login_queue("wang", "desk")
    await desk.ringing_call("wang", "desk")
    softphone, desk.app.state.softphone = desk.app.state.softphone, None
    try:
        wang = desk.clients["wang"]
        response = await wang.post("/api/desktop/answer")
        assert response.status_code == 409 and response.json()["error"] == "error.answer_on_phone"
        assert (await wang.get("/api/desktop/session")).json()["answer_in_browser"] is False
    finally:
        desk.app.state.softphone = softphone
