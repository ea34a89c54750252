"""The desktop's session offers the table's active reasons with labels; the agent's pause and the
supervisor's force pause accept only those (the settings' while the table is empty); the reason reaches the
PBX (the simulator's queue member) as the code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.pause_reasons import service
from core.pause_reasons.schemas import PauseReasonIn
from tests.acd_desktop.conftest import Desk
from tests.acd_link.helpers import until
from tests.pause_reasons.helpers import NEW

DEFAULTS = ["休息", "就餐", "培训", "会议"]


def _add_coaching(desk: Desk) -> int:
    with Session(desk.app.state.engine) as session:
        reason = service.create(session, data=PauseReasonIn(**NEW), defaults=DEFAULTS, actor=SYSTEM)
        session.commit()
        return reason.id


def _deactivate(desk: Desk, reason_id: int) -> None:
    with Session(desk.app.state.engine) as session:
        service.deactivate(session, reason_id=reason_id, actor=SYSTEM)
        session.commit()


def _paused_reason(desk: Desk, queue: str, interface: str) -> str | None:
    member = desk.sim.engine.queues[queue].member(interface)
    return member.paused_reason if member is not None and member.paused else None


async def test_session_falls_back_to_the_settings_while_the_table_is_empty(desk: Desk) -> None:
    session = (await desk.clients["wang"].get("/api/desktop/session")).json()
    assert session["pause_reasons"] == DEFAULTS
    assert session["pause_reason_labels"] == {c: c for c in DEFAULTS}
    english = (await desk.clients["wang"].get("/api/desktop/session?lang=en")).json()
    assert english["pause_reason_labels"]["就餐"] == "Meal"


async def test_the_desktop_offers_the_tables_reasons_and_pauses_with_one(desk: Desk) -> None:
    reason_id = _add_coaching(desk)
    wang = desk.clients["wang"]
    session = (await wang.get("/api/desktop/session")).json()
    assert session["pause_reasons"] == ["休息", "就餐", "质检辅导", "培训", "会议"]
    assert session["pause_reason_labels"]["质检辅导"] == "质检辅导"
    english = (await wang.get("/api/desktop/session", headers={"Accept-Language": "en"})).json()
    assert english["pause_reason_labels"]["质检辅导"] == "QA coaching"

    await desk.login_queue("wang", "desk")
    assert (await wang.post("/api/desktop/pause", json={"reason": "质检辅导"})).status_code == 204
    await until(lambda: _paused_reason(desk, "desk", "PJSIP/1006") == "质检辅导", 5.0)
    await until(lambda: (desk.agent("wang") or {}).get("reason") == "质检辅导", 5.0)
    assert (await wang.post("/api/desktop/unpause")).status_code == 204
    await until(lambda: _paused_reason(desk, "desk", "PJSIP/1006") is None, 5.0)

    # deactivated: no longer offered, and a pause with it is refused before the PBX hears of it
    _deactivate(desk, reason_id)
    session = (await wang.get("/api/desktop/session")).json()
    assert "质检辅导" not in session["pause_reasons"]
    assert session["pause_reason_labels"]["质检辅导"] == "质检辅导"  # history still shows its label
    refused = await wang.post("/api/desktop/pause", json={"reason": "质检辅导"})
    assert refused.status_code == 422
    [problem] = refused.json()["fields"]
    assert (problem["field"], problem["code"]) == ("reason", "validation.unknown_pause_reason")
    assert "质检辅导" not in problem["message"] and "休息" in problem["message"]
    forced = await desk.clients["lead"].post(
        f"/api/acd/agents/{desk.ids['wang']}/pause", json={"reason": "质检辅导"}
    )
    assert forced.status_code == 422
    assert forced.json()["fields"][0]["code"] == "validation.unknown_pause_reason"
    assert _paused_reason(desk, "desk", "PJSIP/1006") is None
    assert not desk.audit("acd.force_pause")


async def test_force_pause_uses_the_tables_reasons(desk: Desk) -> None:
    _add_coaching(desk)
    await desk.login_queue("li", "desk")
    response = await desk.clients["sup"].post(
        f"/api/acd/agents/{desk.ids['li']}/pause", json={"reason": "质检辅导"}
    )
    assert response.status_code == 204, response.text
    await until(lambda: _paused_reason(desk, "desk", "PJSIP/1005") == "质检辅导", 5.0)
    [row] = desk.audit("acd.force_pause")
    assert row.detail == {"reason": "质检辅导"}
