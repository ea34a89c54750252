"""The report figures (客户投诉报告表): per center-zone day, with exact expected values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from core.complaints import service
from core.complaints.schemas import CallbackIn
from core.complaints.service import _Tally
from core.complaints.workflow import ComplaintStatus
from core.config import Settings
from core.errors import InvalidFields
from core.people.models import User
from core.security.roles import Role
from tests.complaints.helpers import HAPPY_PATH, actor_of, register, walk
from tests.conftest import LoginAs, MakeUser

S = ComplaintStatus
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 10, 0, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _callback(db: Session, complaint_id: int, user: User, satisfaction: int) -> None:
    service.record_callback(
        db, complaint_id=complaint_id, data=CallbackIn(satisfaction=satisfaction), actor=actor_of(user)
    )
    db.commit()


@pytest.fixture
def seeded(db: Session, settings: Settings, make_user: MakeUser) -> None:
    """Seven complaints on 1–3 Nov (Shanghai) and two just outside the range."""
    u = make_user(Role.COMPLAINTS_OFFICER)

    def add(received: datetime, category: str, problem: str, urgency: str = "urgent") -> int:
        return register(
            db, settings, u, received_at=received, category=category, problem_type=problem, urgency=urgency
        ).id

    # 1 Nov: 00:30 Shanghai is still 31 Oct in UTC.
    c1 = add(utc(2026, 10, 31, 16, 30), "product", "other")  # closed on time, satisfaction 1
    walk(db, service.get_complaint(db, c1), u, *HAPPY_PATH, at=utc(2026, 11, 2, 0, 0))
    _callback(db, c1, u, 1)
    c2 = add(utc(2026, 11, 1, 5, 0), "service", "attitude")  # deadline 4 Nov 05:00, closed 9 Nov: late
    walk(db, service.get_complaint(db, c2), u, *HAPPY_PATH, at=utc(2026, 11, 9, 0, 0))
    _callback(db, c2, u, 4)
    c3 = add(utc(2026, 11, 1, 10, 0), "other", "quality", "normal")  # open, deadline 8 Nov: overdue
    walk(db, service.get_complaint(db, c3), u, S.INVESTIGATING)
    c4 = add(utc(2026, 11, 1, 12, 0), "service", "delivery_time")  # rejected: never overdue
    walk(db, service.get_complaint(db, c4), u, S.REJECTED)
    # 2 Nov: nothing. 3 Nov:
    add(utc(2026, 11, 3, 1, 0), "product", "quantity", "very_urgent")  # open, deadline 4 Nov: overdue
    add(utc(2026, 11, 3, 15, 59), "service", "service", "normal")  # 23:59 Shanghai; deadline 10 Nov 15:59
    c8 = add(utc(2026, 11, 3, 2, 0), "product", "other")
    walk(db, service.get_complaint(db, c8), u, *HAPPY_PATH, at=utc(2026, 11, 3, 5, 0))
    _callback(db, c8, u, 2)
    # Outside: 23:59 on 31 Oct and 00:00 on 4 Nov, Shanghai time.
    add(utc(2026, 10, 31, 15, 59), "product", "quality")
    add(utc(2026, 11, 3, 16, 0), "product", "quality")


def test_summary_figures_per_day(db: Session, seeded: None) -> None:
    result = service.summary(db, start=date(2026, 11, 1), end=date(2026, 11, 3), zone=SHANGHAI, now=NOW)
    days = {d.day: d.model_dump(exclude={"day"}) for d in result.days}
    assert list(days) == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    assert days[date(2026, 11, 1)] == {
        "received": 4,
        "resolved": 2,
        "resolution_ratio": 0.5,
        "quality_related": 2,
        "quality_share": 0.5,
        "overdue": 1,
        "closed_late": 1,
        "callbacks": 2,
        "average_satisfaction": 2.5,
    }
    assert days[date(2026, 11, 2)] == {
        "received": 0,
        "resolved": 0,
        "resolution_ratio": None,
        "quality_related": 0,
        "quality_share": None,
        "overdue": 0,
        "closed_late": 0,
        "callbacks": 0,
        "average_satisfaction": None,
    }
    assert days[date(2026, 11, 3)] == {
        "received": 3,
        "resolved": 1,
        "resolution_ratio": 0.3333,
        "quality_related": 2,
        "quality_share": 0.6667,
        "overdue": 1,
        "closed_late": 0,
        "callbacks": 1,
        "average_satisfaction": 2.0,
    }
    assert result.total.model_dump() == {
        "received": 7,
        "resolved": 3,
        "resolution_ratio": 0.4286,
        "quality_related": 4,
        "quality_share": 0.5714,
        "overdue": 2,
        "closed_late": 1,
        "callbacks": 3,
        "average_satisfaction": 2.33,
    }
    assert result.definitions["resolution_ratio"].startswith("closed / received")
    assert result.timezone == "Asia/Shanghai" and result.computed_at == NOW


def test_overdue_depends_on_the_moment(db: Session, seeded: None) -> None:
    later = service.summary(
        db, start=date(2026, 11, 3), end=date(2026, 11, 3), zone=SHANGHAI, now=utc(2026, 11, 11, 0, 0)
    )
    assert later.total.overdue == 2  # the 23:59 one's deadline (10 Nov 15:59) has passed too


def test_a_single_day_in_another_zone(db: Session, seeded: None) -> None:
    # In UTC, 31 Oct holds 16:30 (c1) and 15:59 (outside in Shanghai) — both received that UTC day.
    result = service.summary(
        db, start=date(2026, 10, 31), end=date(2026, 10, 31), zone=ZoneInfo("UTC"), now=NOW
    )
    assert result.total.received == 2 and result.total.resolved == 1


def test_bad_ranges(db: Session) -> None:
    with pytest.raises(InvalidFields) as backwards:
        service.summary(db, start=date(2026, 11, 3), end=date(2026, 11, 1), zone=SHANGHAI)
    assert backwards.value.problems[0].code == "validation.end_before_start"
    with pytest.raises(InvalidFields) as too_long:
        service.summary(db, start=date(2025, 1, 1), end=date(2026, 11, 1), zone=SHANGHAI)
    assert too_long.value.problems[0].code == "validation.range_too_long"


def test_summary_over_http(login_as: LoginAs, seeded: None) -> None:
    supervisor = login_as(Role.SUPERVISOR)
    response = supervisor.get("/api/complaints/summary?from=2026-11-01&to=2026-11-03")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["day"] for d in body["days"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert body["total"]["received"] == 7 and body["total"]["resolution_ratio"] == 0.4286
    assert body["days"][0]["average_satisfaction"] == 2.5
    assert body["definitions"]["resolution_ratio"] == "closed / received (null when received = 0)"
    assert set(body["definitions"]) >= set(body["total"])
    backwards = supervisor.get("/api/complaints/summary?from=2026-11-03&to=2026-11-01")
    assert backwards.status_code == 422
    assert backwards.json()["fields"][0]["field"] == "to"
    assert backwards.json()["fields"][0]["message"] == "结束时间不能早于开始时间"
    missing = supervisor.get("/api/complaints/summary?to=2026-11-01&lang=en")
    assert missing.status_code == 422
    assert (
        missing.json()["fields"][0]["field"] == "from"
        and missing.json()["fields"][0]["message"] == "Required"
    )


@given(
    received=st.integers(min_value=0, max_value=500),
    data=st.data(),
)
def test_ratios_are_shares_of_received(received: int, data: st.DataObject) -> None:
    resolved = data.draw(st.integers(min_value=0, max_value=received))
    quality = data.draw(st.integers(min_value=0, max_value=received))
    callbacks = data.draw(st.integers(min_value=0, max_value=received))
    total = data.draw(st.integers(min_value=callbacks, max_value=5 * callbacks))
    figures = _Tally(
        received=received, resolved=resolved, quality=quality, callbacks=callbacks, satisfaction_sum=total
    ).figures()
    if received == 0:
        assert figures.resolution_ratio is None and figures.quality_share is None
    else:
        assert figures.resolution_ratio == round(resolved / received, 4)
        assert figures.quality_share is not None and 0 <= figures.quality_share <= 1
    if callbacks:
        assert figures.average_satisfaction is not None and 1 <= figures.average_satisfaction <= 5
    else:
        assert figures.average_satisfaction is None
