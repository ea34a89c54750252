"""Each business measure worked out by hand on built data (tests/reports_ui/data.py), at the service level:
outbound attempts/connects/results, complaints per day, resolution ratio, overdue and product-quality share,
the survey distribution per agent and queue, IVR containment, choices and the estimated-wait call-back
offers; plus the calendar (zone, weeks,
months) and a property test of the survey formulas."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ivr.figures import ivr_figures
from ivr.models import CallbackReason, IvrCallbackRequest, IvrOutcome, IvrSession
from reports.business import (
    COMPLAINT_MEASURES,
    IVR_MEASURES,
    OUTBOUND_MEASURES,
    SURVEY_MEASURES,
    Grain,
    Kind,
    Period,
    SurveyBy,
    bucket_start,
    complaints_report,
    definitions,
    ivr_report,
    outbound_report,
    report,
    survey_counts,
    survey_report,
)
from tests.conftest import MakeUser
from tests.reports_ui.data import NOW, ZONE, build, local

WEEK = Period(date(2026, 11, 2), date(2026, 11, 8), Grain.DAY, ZONE)


def by_key(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["period_start"].date().isoformat(), r["key"]): r for r in rows}


def test_outbound_by_agent_and_day(db: Session, make_user: MakeUser) -> None:
    built = build(db, make_user)
    data = outbound_report(db, period=WEEK, agents=None)
    rows = by_key(data["rows"])
    a, b = str(built.alice.id), str(built.bob.id)
    assert set(rows) == {("2026-11-03", a), ("2026-11-04", a), ("2026-11-03", b)}
    day = rows[("2026-11-03", a)]
    # sale, no_answer, busy, interested, (none): connects are sale + interested
    assert (day["attempts"], day["connects"], day["connect_pct"]) == (5, 2, 40.0)
    assert (day["sales"], day["sale_pct"]) == (1, 50.0)
    assert day["result_no_answer"] == day["result_busy"] == day["result_none"] == 1
    assert day["result_wrong_number"] == 0
    assert day["label"] == "李丽 (2001)"
    # 00:30 in Shanghai on the 4th is still the 3rd in UTC: the center's calendar decides
    assert rows[("2026-11-04", a)]["result_wrong_number"] == 1
    assert rows[("2026-11-04", a)]["connect_pct"] == 100.0
    assert rows[("2026-11-03", b)]["result_not_interested"] == 1
    assert rows[("2026-11-03", b)]["sale_pct"] == 0.0
    totals = data["totals"]
    assert (totals["attempts"], totals["connects"], totals["connect_pct"]) == (7, 4, 57.1)
    assert (totals["sales"], totals["sale_pct"]) == (1, 25.0)  # Bob's sale on the 10th is outside
    groups = {g["key"]: g for g in data["groups"]}
    assert groups[a]["attempts"] == 6 and groups[b]["attempts"] == 1


def test_outbound_by_week_and_team_scope(db: Session, make_user: MakeUser) -> None:
    built = build(db, make_user)
    week = Period(date(2026, 11, 2), date(2026, 11, 8), Grain.WEEK, ZONE)
    data = outbound_report(db, period=week, agents=[built.alice.id, built.lead_a.id])
    assert [(r["period_start"].isoformat(), r["attempts"]) for r in data["rows"]] == [
        ("2026-11-02T00:00:00+08:00", 6)
    ]
    assert data["totals"]["attempts"] == 6  # Bob is not of team A
    assert outbound_report(db, period=week, agents=[])["totals"]["attempts"] == 0


def test_complaints_per_day(db: Session, make_user: MakeUser) -> None:
    build(db, make_user)
    data = complaints_report(db, period=WEEK, agents=None, now=NOW)
    rows = {r["period_start"].date().isoformat(): r for r in data["rows"]}
    assert list(rows) == [f"2026-11-0{d}" for d in range(2, 9)]  # every day, empty ones too
    third = rows["2026-11-03"]
    assert (third["received"], third["resolved"], third["resolution_pct"]) == (3, 2, 66.7)
    assert (third["rejected"], third["open"], third["overdue"], third["closed_late"]) == (0, 1, 1, 1)
    assert (third["product_quality"], third["product_quality_pct"]) == (2, 66.7)
    fourth = rows["2026-11-04"]
    # rejected is terminal (not overdue); service + quality is not product quality
    assert (fourth["received"], fourth["resolved"], fourth["resolution_pct"]) == (2, 0, 0.0)
    assert (fourth["rejected"], fourth["open"], fourth["overdue"], fourth["product_quality"]) == (1, 1, 0, 0)
    assert rows["2026-11-05"]["received"] == 0 and rows["2026-11-05"]["resolution_pct"] is None
    totals = data["totals"]
    assert (totals["received"], totals["resolved"], totals["resolution_pct"]) == (5, 2, 40.0)
    assert (totals["overdue"], totals["product_quality_pct"]) == (1, 40.0)


def test_complaints_overdue_depends_on_now(db: Session, make_user: MakeUser) -> None:
    build(db, make_user)
    from tests.reports_ui.data import local

    before = complaints_report(db, period=WEEK, agents=None, now=local(5, 17))
    assert before["totals"]["overdue"] == 0  # the deadline (the 5th, 18:00) has not passed yet
    after = complaints_report(db, period=WEEK, agents=None, now=local(5, 19))
    assert after["totals"]["overdue"] == 1


def test_complaints_team_scope(db: Session, make_user: MakeUser) -> None:
    built = build(db, make_user)
    data = complaints_report(db, period=WEEK, agents=[built.bob.id], now=NOW)
    assert data["totals"]["received"] == 2  # the two Bob registered


def test_survey_by_agent_and_queue(db: Session, make_user: MakeUser) -> None:
    build(db, make_user)
    data = survey_report(db, period=WEEK, agents=None, by=SurveyBy.AGENT)
    rows = by_key(data["rows"])
    alice = rows[("2026-11-03", "李丽")]
    assert [alice[f"score_{n}"] for n in range(1, 6)] == [1, 2, 0, 0, 1]
    assert (alice["answers"], alice["average_score"], alice["satisfied"], alice["satisfied_pct"]) == (
        4,
        2.5,
        3,
        75.0,
    )
    bob3 = rows[("2026-11-03", "王波")]
    assert (bob3["answers"], bob3["average_score"], bob3["satisfied_pct"]) == (2, 3.5, 0.0)
    bob4 = rows[("2026-11-04", "王波")]  # 23:59 UTC on the 3rd
    assert (bob4["answers"], bob4["average_score"], bob4["satisfied_pct"]) == (1, 1.0, 100.0)
    totals = data["totals"]
    assert (totals["answers"], totals["average_score"], totals["satisfied"], totals["satisfied_pct"]) == (
        7,
        2.57,
        4,
        57.1,
    )
    by_queue = survey_report(db, period=WEEK, agents=None, by=SurveyBy.QUEUE)
    groups = {g["key"]: g for g in by_queue["groups"]}
    assert groups["support"]["answers"] == 4 and groups["sales"]["answers"] == 3
    assert groups["sales"]["average_score"] == round((3 + 4 + 1) / 3, 2)
    # the same averages as the IVR's own figures
    figures = ivr_figures(db, start=WEEK.start_utc, end=WEEK.end_utc)
    assert figures["survey_by_queue"]["sales"]["average"] == groups["sales"]["average_score"]


def test_survey_team_scope(db: Session, make_user: MakeUser) -> None:
    built = build(db, make_user)
    data = survey_report(db, period=WEEK, agents=[built.alice.id], by=SurveyBy.QUEUE)
    assert [g["key"] for g in data["groups"]] == ["support"]


def test_ivr_containment_and_choices(db: Session, make_user: MakeUser) -> None:
    build(db, make_user)
    data = ivr_report(db, period=WEEK)
    rows = {r["period_start"].date().isoformat(): r for r in data["rows"]}
    third = rows["2026-11-03"]
    assert (third["sessions"], third["self_service"], third["containment_pct"]) == (4, 1, 25.0)
    assert (third["outcome_to_queue"], third["outcome_hangup"], third["choice_1"], third["choice_2"]) == (
        2,
        1,
        2,
        1,
    )
    fourth = rows["2026-11-04"]  # the survey script's session is not counted
    assert (fourth["sessions"], fourth["containment_pct"], fourth["choice_1"]) == (1, 100.0, 0)
    assert rows["2026-11-06"]["sessions"] == 0 and rows["2026-11-06"]["containment_pct"] is None
    totals = data["totals"]
    assert (totals["sessions"], totals["self_service"], totals["containment_pct"]) == (5, 2, 40.0)
    assert data["choices"] == ["1", "2"]  # choice 3 was after the period
    figures = ivr_figures(db, start=WEEK.start_utc, end=WEEK.end_utc)
    assert figures["containment_percent"] == totals["containment_pct"]


def add_wait_offers(db: Session) -> None:
    """2026-11-03: 3 offers (1 taken, 2 declined); 2026-11-05: 1 taken; plus what is not an offer."""

    def offer(result: str, at: datetime) -> None:
        outcome = IvrOutcome.CALLBACK if result == "accepted" else IvrOutcome.TO_QUEUE
        path: list[dict[str, object]] = [{"step": "main", "kind": "menu", "result": "ok", "input": "3"}]
        path.append({"step": "complaints", "kind": "wait_offer", "result": result, "wait_s": 480})
        db.add(IvrSession(script="ivr", outcome=outcome, started_at=at, ended_at=at, path=path))
        if result == "accepted":
            db.add(
                IvrCallbackRequest(
                    caller="+8613900139001",
                    reason=CallbackReason.WAIT_OFFER,
                    queue="complaints",
                    requested_at=at,
                )
            )

    offer("accepted", local(3, 10))
    offer("declined", local(3, 10, 5))
    offer("declined", local(3, 10, 10))
    offer("accepted", local(5, 11))
    offer("declined", local(9, 10))  # after the period
    # a call-back of another reason and a session that merely routed are no offer
    db.add(
        IvrCallbackRequest(
            caller="+8613900139002", reason=CallbackReason.LONG_WAIT, requested_at=local(3, 11)
        )
    )
    db.add(
        IvrSession(
            script="ivr",
            outcome=IvrOutcome.TO_QUEUE,
            started_at=local(3, 12),
            ended_at=local(3, 12),
            path=[{"step": "support", "kind": "route", "result": "ok", "input": "support"}],
        )
    )
    db.commit()


def test_ivr_wait_offers(db: Session, make_user: MakeUser) -> None:
    build(db, make_user)
    add_wait_offers(db)
    data = ivr_report(db, period=WEEK)
    rows = {r["period_start"].date().isoformat(): r for r in data["rows"]}
    third = rows["2026-11-03"]
    assert (third["wait_offered"], third["wait_accepted"], third["wait_declined"]) == (3, 1, 2)
    assert third["wait_accepted_pct"] == 33.3
    fifth = rows["2026-11-05"]
    assert (fifth["wait_offered"], fifth["wait_accepted"], fifth["wait_declined"]) == (1, 1, 0)
    fourth = rows["2026-11-04"]
    assert (fourth["wait_offered"], fourth["wait_accepted_pct"]) == (0, None)
    totals = data["totals"]
    assert (totals["wait_offered"], totals["wait_accepted"], totals["wait_declined"]) == (4, 2, 2)
    assert totals["wait_accepted_pct"] == 50.0
    # the same counts as the IVR's own figures
    offers = ivr_figures(db, start=WEEK.start_utc, end=WEEK.end_utc)["wait_offer"]
    assert (offers["offered"], offers["accepted"], offers["declined"]) == (4, 2, 2)
    labels = {d["code"]: d for d in definitions(IVR_MEASURES, "zh-CN")}
    assert labels["wait_accepted"]["label"] == "接受回呼"
    assert labels["wait_accepted_pct"]["formula"] == "接受回呼 ÷ 回呼提议次数 × 100"
    en = {d["code"]: d for d in definitions(IVR_MEASURES, "en")}
    assert en["wait_declined"]["label"] == "Offers declined"


def test_every_column_has_a_definition(db: Session, make_user: MakeUser) -> None:
    build(db, make_user)
    for kind in Kind:
        data, measures = report(db, kind, period=WEEK, agents=None, now=NOW)
        codes = {m.code for m in measures}
        for row in [*data["rows"], data["totals"]]:
            assert set(row) - {"period_start", "key", "label"} <= codes, kind
        for lang in ("zh-CN", "en"):
            for d in definitions(measures, lang):
                assert d["label"] and d["formula"]
                assert not d["label"].startswith("reports.") and not d["formula"].startswith("reports."), d
                assert "{" not in d["formula"], d
    zh = {d["code"]: d for d in definitions(OUTBOUND_MEASURES, "zh-CN")}
    assert zh["result_sale"]["label"] == "已成交"
    assert "已成交" in zh["result_sale"]["formula"]
    assert zh["connect_pct"]["formula"] == "接通次数 ÷ 外呼次数 × 100"
    en = {d["code"]: d for d in definitions(SURVEY_MEASURES + COMPLAINT_MEASURES + IVR_MEASURES, "en")}
    assert en["containment_pct"]["formula"] == "self-service completions / IVR sessions × 100"
    assert en["satisfied"]["formula"].startswith("Answers scored 1 (very satisfied) or 2")


def test_calendar() -> None:
    assert bucket_start(date(2026, 11, 8), Grain.WEEK) == date(2026, 11, 2)
    assert bucket_start(date(2026, 11, 30), Grain.MONTH) == date(2026, 11, 1)
    months = Period(date(2026, 11, 15), date(2027, 1, 10), Grain.MONTH, ZONE)
    assert months.buckets() == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    start, end = months.bucket_bounds_utc(date(2026, 11, 1))  # clipped to the period's first day
    assert start.isoformat() == "2026-11-14T16:00:00+00:00" and end.isoformat() == "2026-11-30T16:00:00+00:00"
    assert months.end_utc.isoformat() == "2027-01-10T16:00:00+00:00"


@given(st.lists(st.integers(min_value=1, max_value=5), max_size=60))
def test_survey_formulas(scores: list[int]) -> None:
    row = survey_counts(scores)
    assert row["answers"] == len(scores) == sum(row[f"score_{n}"] for n in range(1, 6))
    if scores:
        assert row["average_score"] == round(sum(scores) / len(scores), 2)
        assert row["satisfied_pct"] == round(100 * sum(1 for s in scores if s <= 2) / len(scores), 1)
    else:
        assert row["average_score"] is None and row["satisfied_pct"] is None
