"""The team lead's / supervisor's actions on agents, against the simulator: listen / whisper / barge
(ChanSpy from the acting user's phone), force pause and unpause, move between queues, log out; the team
rule (a team lead acts on its own team only) and the audit trail."""

from __future__ import annotations

from tests.acd_desktop.conftest import Desk
from tests.acd_link.helpers import until


async def test_listen_whisper_barge_reach_the_simulator_as_chanspy(desk: Desk) -> None:
    lead = desk.clients["lead"]
    wang_id = desk.ids["wang"]
    await desk.login_queue("wang", "desk")

    idle = await lead.post(f"/api/acd/agents/{wang_id}/spy", json={"mode": "listen"})
    assert idle.status_code == 409 and idle.json()["error"] == "error.agent_not_on_call"

    linkedid = await desk.talking_call("wang", "desk")
    agent_channel = (desk.call(linkedid) or {})["agent_channel"]
    response = await lead.post(f"/api/acd/agents/{wang_id}/spy", json={"mode": "listen"})
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "answered"
    assert response.json()["channel"].startswith("PJSIP/1003-")  # the team lead's own phone
    await until(lambda: len(desk.sim.engine.spies) == 1, 5.0)
    [session] = desk.sim.engine.spies
    assert session.spyee.name == agent_channel
    assert session.spyer.name == response.json()["channel"]
    assert session.options == "q"
    [entry] = desk.audit("acd.spy", user_id=desk.ids["lead"], object_id=str(wang_id))
    assert entry.detail is not None and entry.detail["mode"] == "listen"

    # The team lead's phone is busy listening: a barge now would find it busy.
    busy = await lead.post(f"/api/acd/agents/{wang_id}/spy", json={"mode": "barge"})
    assert busy.status_code == 200 and busy.json()["outcome"] == "busy"
    desk.sim.engine.hangup_channel(session.spyer)  # the team lead puts the phone down
    await until(lambda: not desk.sim.engine.spies, 5.0)
    await until(lambda: desk.sim.engine.devices["PJSIP/1003"].status == 1, 5.0)  # not in use
    for mode, options in (("whisper", "qw"), ("barge", "qB")):
        response = await lead.post(f"/api/acd/agents/{wang_id}/spy", json={"mode": mode})
        assert response.json()["outcome"] == "answered", response.text
        await until(lambda: len(desk.sim.engine.spies) == 1, 5.0)
        [session] = desk.sim.engine.spies
        assert (session.spyee.name, session.options) == (agent_channel, options)
        desk.sim.engine.hangup_channel(session.spyer)
        await until(lambda: not desk.sim.engine.spies, 5.0)
        await until(lambda: desk.sim.engine.devices["PJSIP/1003"].status == 1, 5.0)
    modes = [e.detail["mode"] for e in desk.audit("acd.spy", user_id=desk.ids["lead"]) if e.detail]
    assert modes == ["listen", "barge", "whisper", "barge"]

    bad = await lead.post(f"/api/acd/agents/{wang_id}/spy?lang=en", json={"mode": "eavesdrop"})
    assert bad.status_code == 422
    [problem] = bad.json()["fields"]
    assert problem["field"] == "mode" and problem["message"].startswith("Not an allowed choice")


async def test_team_rule_and_who_may_supervise(desk: Desk) -> None:
    lead = desk.clients["lead"]
    zhao_id = desk.ids["zhao"]  # 二组: not the team lead's team
    for path, body in (
        ("spy", {"mode": "barge"}),
        ("pause", {"reason": "培训"}),
        ("unpause", None),
        ("logout", None),
        ("move", {"from_queue": "desk", "to_queue": "desk2"}),
    ):
        response = await lead.post(f"/api/acd/agents/{zhao_id}/{path}", json=body)
        assert response.status_code == 403, path
        assert response.json()["error"] == "error.not_your_team"
        assert response.json()["message"] == "该坐席不属于您的班组"
    refusals = desk.audit("auth.forbidden", user_id=desk.ids["lead"], allowed=False)
    assert len(refusals) == 5
    assert all(r.detail and r.detail["user_id"] == zhao_id for r in refusals)

    # An agent may not supervise at all.
    agent = await desk.clients["li"].post(
        f"/api/acd/agents/{desk.ids['wang']}/pause", json={"reason": "培训"}
    )
    assert agent.status_code == 403 and agent.json()["error"] == "error.permission_denied"
    # A supervisor acts on every team; without a phone of its own it cannot listen.
    await desk.login_queue("zhao", "desk")
    await desk.talking_call("zhao", "desk")
    sup = desk.clients["sup"]
    no_phone = await sup.post(f"/api/acd/agents/{zhao_id}/spy", json={"mode": "listen"})
    assert no_phone.status_code == 409 and no_phone.json()["error"] == "error.no_phone"
    assert (await sup.post("/api/acd/agents/999999/unpause")).status_code == 404


async def test_force_pause_unpause_move_and_logout(desk: Desk) -> None:
    lead = desk.clients["lead"]
    wang_id = desk.ids["wang"]
    await desk.login_queue("wang", "desk")

    bad = await lead.post(f"/api/acd/agents/{wang_id}/pause", json={"reason": "打游戏"})
    assert bad.status_code == 422
    [problem] = bad.json()["fields"]
    assert (problem["field"], problem["code"]) == ("reason", "validation.unknown_pause_reason")
    assert problem["message"] == "不是可选的小休原因（可选：休息, 就餐, 培训, 会议）"

    assert (await lead.post(f"/api/acd/agents/{wang_id}/pause", json={"reason": "培训"})).status_code == 204
    await until(lambda: (desk.agent("wang") or {}).get("state") == "paused", 5.0)
    assert (desk.agent("wang") or {})["reason"] == "培训"
    own = (await desk.clients["wang"].get("/api/desktop/session")).json()
    assert (own["agent"]["state"], own["agent"]["reason"]) == ("paused", "培训")
    assert (await lead.post(f"/api/acd/agents/{wang_id}/unpause")).status_code == 204
    await until(lambda: (desk.agent("wang") or {}).get("state") == "available", 5.0)

    for body, field, code in (
        ({"from_queue": "desk2", "to_queue": "desk"}, "from_queue", "validation.agent_not_in_queue"),
        ({"from_queue": "desk", "to_queue": "nowhere"}, "to_queue", "validation.unknown_queue"),
        ({"from_queue": "desk", "to_queue": "desk"}, "to_queue", "validation.agent_already_in_queue"),
    ):
        response = await lead.post(f"/api/acd/agents/{wang_id}/move", json=body)
        assert response.status_code == 422, body
        assert (response.json()["fields"][0]["field"], response.json()["fields"][0]["code"]) == (field, code)
    empty = await lead.post(
        f"/api/acd/agents/{wang_id}/move?lang=en", json={"from_queue": "", "to_queue": None}
    )
    assert {p["field"] for p in empty.json()["fields"]} == {"from_queue", "to_queue"}

    await desk.login_queue("li", "desk2")  # desk2 exists on the PBX
    moved = await lead.post(
        f"/api/acd/agents/{wang_id}/move", json={"from_queue": "desk", "to_queue": "desk2"}
    )
    assert moved.status_code == 204
    await until(lambda: set((desk.agent("wang") or {}).get("queues") or {}) == {"desk2"}, 5.0)
    assert (desk.agent("wang") or {})["state"] == "available"

    assert (await lead.post(f"/api/acd/agents/{wang_id}/logout")).status_code == 204
    await until(lambda: (desk.agent("wang") or {}).get("state") == "logged_out", 5.0)
    again = await lead.post(f"/api/acd/agents/{wang_id}/logout")
    assert again.status_code == 409 and again.json()["error"] == "error.agent_not_logged_in"

    actions = [
        e.action
        for e in desk.audit("acd.force_pause")
        + desk.audit("acd.force_unpause")
        + desk.audit("acd.move")
        + desk.audit("acd.force_logout")
        if e.object_id == str(wang_id)
    ]
    assert actions == ["acd.force_pause", "acd.force_unpause", "acd.move", "acd.force_logout"]
