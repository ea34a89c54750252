"""Click-to-dial from a customer file: the agent's phone rings first, then the customer; inside the
customer's 不宜访问时间 the agent is warned (409) and must confirm. Reading rules of customer files apply."""

from __future__ import annotations

from tests.acd_desktop.conftest import Desk


async def test_dial_inside_quiet_hours_needs_confirmation(desk: Desk) -> None:
    wang = desk.clients["wang"]
    await wang.post("/api/desktop/queues/login", json={"queues": ["desk"]})  # the desktop takes the phone
    customer_id = desk.add_customer(quiet_all_day=True)

    warned = await wang.post("/api/desktop/dial", json={"customer_id": customer_id})
    assert warned.status_code == 409
    assert warned.json()["error"] == "error.quiet_hours"
    assert warned.json()["message"] == "现在是该客户的不宜访问时间（00:00–00:00 午休），确认后仍可拨打"
    english = await wang.post("/api/desktop/dial?lang=en", json={"customer_id": customer_id})
    assert english.json()["message"].startswith("The customer asked not to be called now (00:00–00:00")
    assert desk.audit("call.dial") == []  # nothing was dialled
    assert desk.sim.engine.channels == {}

    confirmed = await wang.post(
        "/api/desktop/dial", json={"customer_id": customer_id, "confirm_quiet_hours": True}
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["outcome"] == "answered"
    assert body["number_display"] == "139****9001"  # the primary number, masked for an agent
    assert body["channel"].startswith("PJSIP/1006-")
    # The Originate reached the simulator: the agent's leg exists there, headed for the customer.
    leg = desk.sim.engine.channels[body["channel"]]
    assert (leg.context, leg.exten, leg.uniqueid) == ("from-internal", "13900139001", body["uniqueid"])

    [entry] = desk.audit("call.dial", user_id=desk.ids["wang"])
    assert entry.object_type == "customer" and entry.object_id == str(customer_id)
    assert entry.detail == {
        "number": "139****9001",
        "quiet_hours_confirmed": True,
        "outcome": "answered",
        "uniqueid": body["uniqueid"],
    }
    reads = desk.audit("customer.read", object_id=str(customer_id))
    assert [r.detail["via"] for r in reads if r.detail] == ["dial"]


async def test_dial_outside_quiet_hours_and_a_chosen_number(desk: Desk) -> None:
    wang = desk.clients["wang"]
    await wang.post("/api/desktop/queues/login", json={"queues": ["desk"]})
    customer_id = desk.add_customer()
    # The second number, as the agent saw it (masked) on the customer file.
    response = await wang.post(
        "/api/desktop/dial", json={"customer_id": customer_id, "number": "139****9002"}
    )
    assert response.status_code == 200, response.text
    leg = desk.sim.engine.channels[response.json()["channel"]]
    assert leg.exten == "13900139002"


async def test_dial_refusals_and_bad_input(desk: Desk) -> None:
    wang = desk.clients["wang"]
    customer_id = desk.add_customer()
    secret = desk.add_customer(confidentiality=3)

    above = await wang.post("/api/desktop/dial", json={"customer_id": secret})
    assert above.status_code == 403 and above.json()["error"] == "error.above_clearance"
    [refusal] = desk.audit("auth.forbidden", user_id=desk.ids["wang"], allowed=False)
    assert refusal.detail is not None and refusal.detail["customer_id"] == secret
    missing = await wang.post("/api/desktop/dial", json={"customer_id": 999999})
    assert missing.status_code == 404

    other = await wang.post("/api/desktop/dial", json={"customer_id": customer_id, "number": "13700137000"})
    assert other.status_code == 422
    [problem] = other.json()["fields"]
    assert (problem["field"], problem["code"]) == ("number", "validation.not_customer_phone")
    assert problem["message"] == "“13700137000”不是该客户登记的电话号码"
    garbage = await wang.post(
        "/api/desktop/dial",
        json={"customer_id": customer_id, "number": "abc"},
        headers={"Accept-Language": "en"},
    )
    assert garbage.json()["fields"][0]["message"] == "“abc” is not a valid phone number"

    shape = await wang.post("/api/desktop/dial", json={"customer_id": 0, "confirm_quiet_hours": "maybe"})
    assert shape.status_code == 422
    fields = {p["field"]: p["message"] for p in shape.json()["fields"]}
    assert fields == {"customer_id": "应不小于 1", "confirm_quiet_hours": "应为是或否"}
    assert desk.audit("call.dial") == []

    # A supervisor may use the desktop, but this one has no phone to ring first.
    no_phone = await desk.clients["sup"].post("/api/desktop/dial", json={"customer_id": customer_id})
    assert no_phone.status_code == 409 and no_phone.json()["error"] == "error.no_phone"
