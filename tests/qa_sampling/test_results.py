"""QA results: the math per agent, team and month, the trend, team scoping, export and permissions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.people.models import Team, User
from core.security.roles import Role
from qa.models import Calibration, EvaluationStatus, Scorecard, ScorecardVersion
from qa.results import EvaluationFact, ResultGroup, aggregate
from recording.models import Recording
from tests.conftest import LoginAs, MakeUser
from tests.qa_sampling.conftest import MONDAY, add_evaluation

S = EvaluationStatus


@pytest.fixture
def version_id(db: Session, scorecard: Scorecard) -> int:
    return db.scalars(select(ScorecardVersion.id)).one()


@pytest.fixture
def world(db: Session, make_user: MakeUser, version_id: int) -> dict[str, User | Team]:
    """Two teams; agent a1 (team one) has 4 counted evaluations over two months, a2 (team one) 1, b1 (team
    two) 1; plus a draft, a calibration scoring and one outside the period that never count."""
    one, two = Team(name="一组"), Team(name="二组")
    db.add_all([one, two])
    db.commit()
    inspector = make_user(Role.QA_INSPECTOR)
    a1 = make_user(Role.AGENT, full_name="张三", agent_number="1001", team_id=one.id)
    a2 = make_user(Role.AGENT, full_name="李四", agent_number="1002", team_id=one.id)
    b1 = make_user(Role.AGENT, full_name="王五", agent_number="2001", team_id=two.id)
    add = partial(add_evaluation, db, version_id=version_id, inspector_id=inspector.id)
    add(agent_user_id=a1.id, total_pct=95.0, grade="优秀")
    add(agent_user_id=a1.id, total_pct=70.0, grade="合格", status=S.ACKNOWLEDGED)
    # disputed, then rescored: the row holds the rescored result (qa-core keeps the original in history)
    add(
        agent_user_id=a1.id,
        total_pct=88.0,
        grade="合格",
        status=S.RESOLVED,
        disputed=True,
        rescored=True,
    )
    add(
        agent_user_id=a1.id,
        total_pct=0.0,
        grade="不合格",
        failed=True,
        status=S.DISPUTED,
        disputed=True,
        submitted_at=MONDAY + timedelta(days=30),  # December in the center's zone
    )
    add(agent_user_id=a2.id, total_pct=60.0, grade="合格")
    add(agent_user_id=b1.id, total_pct=91.0, grade="优秀")
    # never counted:
    add(agent_user_id=a1.id, total_pct=10.0, grade="不合格", status=S.DRAFT, submitted_at=None)
    calibration = Calibration(
        recording_id=db.scalars(select(Recording.id)).first(), scorecard_version_id=version_id
    )
    db.add(calibration)
    db.commit()
    add(agent_user_id=b1.id, total_pct=5.0, grade="不合格", calibration_id=calibration.id)
    add(
        agent_user_id=b1.id,
        total_pct=5.0,
        grade="不合格",
        submitted_at=MONDAY - timedelta(days=60),
    )
    return {"one": one, "two": two, "a1": a1, "a2": a2, "b1": b1}


PERIOD = "from=2026-10-01&to=2026-12-31"


def test_results_per_agent(login_as: LoginAs, world: dict[str, User | Team]) -> None:
    lead = login_as(Role.QA_LEAD)
    response = lead.get(f"/api/qa/results?group=agent&{PERIOD}")
    assert response.status_code == 200, response.text
    rows = {row["label"]: row for row in response.json()["rows"]}
    assert set(rows) == {"张三 (1001)", "李四 (1002)", "王五 (2001)"}
    a1 = rows["张三 (1001)"]
    assert a1["key"] == str(world["a1"].id)
    assert a1["evaluations"] == 4
    assert a1["avg_pct"] == 63.3  # (95 + 70 + 88 + 0) / 4 = 63.25, halves up; the rescored 88 counts
    assert (a1["min_pct"], a1["max_pct"]) == (0.0, 95.0)
    assert (a1["failed"], a1["disputed"], a1["rescored"]) == (1, 2, 1)
    assert a1["grade_counts"] == {"优秀": 1, "合格": 2, "不合格": 1}
    assert rows["王五 (2001)"]["evaluations"] == 1  # calibration and out-of-period scorings left out
    trend = [t for t in response.json()["trend"] if t["key"] == str(world["a1"].id)]
    assert trend == [
        {"month": "2026-11", "key": str(world["a1"].id), "avg_pct": 84.3},
        {"month": "2026-12", "key": str(world["a1"].id), "avg_pct": 0.0},
    ]


def test_results_per_team_and_month(login_as: LoginAs, world: dict[str, User | Team]) -> None:
    admin = login_as(Role.ADMIN)
    teams = admin.get(f"/api/qa/results?group=team&{PERIOD}").json()["rows"]
    assert [(r["label"], r["evaluations"], r["avg_pct"]) for r in teams] == [
        ("一组", 5, 62.6),
        ("二组", 1, 91.0),
    ]
    months = admin.get(f"/api/qa/results?group=month&{PERIOD}").json()
    assert [(r["key"], r["evaluations"]) for r in months["rows"]] == [("2026-11", 5), ("2026-12", 1)]
    assert months["trend"] == [
        {"month": "2026-11", "key": "2026-11", "avg_pct": 80.8},
        {"month": "2026-12", "key": "2026-12", "avg_pct": 0.0},
    ]
    november = admin.get("/api/qa/results?group=month&from=2026-11-01&to=2026-11-30").json()["rows"]
    assert [r["key"] for r in november] == ["2026-11"]


def test_team_lead_sees_own_team_only(
    login_as: LoginAs, make_user: MakeUser, world: dict[str, User | Team]
) -> None:
    lead = login_as(Role.TEAM_LEAD, team_id=world["two"].id)
    rows = lead.get(f"/api/qa/results?group=agent&{PERIOD}").json()["rows"]
    assert [r["label"] for r in rows] == ["王五 (2001)"]
    teams = lead.get(f"/api/qa/results?group=team&{PERIOD}").json()["rows"]
    assert [r["label"] for r in teams] == ["二组"]
    csv_text = lead.get(f"/api/qa/results/export?group=agent&{PERIOD}&format=csv").content.decode("utf-8-sig")
    assert "王五" in csv_text and "张三" not in csv_text
    teamless = login_as(Role.TEAM_LEAD)
    assert teamless.get(f"/api/qa/results?{PERIOD}").json()["rows"] == []
    inspector = login_as(Role.QA_INSPECTOR)  # reads all
    assert len(inspector.get(f"/api/qa/results?{PERIOD}").json()["rows"]) == 3


def test_export_csv_with_translated_headers(
    db: Session, login_as: LoginAs, world: dict[str, User | Team]
) -> None:
    lead = login_as(Role.QA_LEAD)
    response = lead.get(f"/api/qa/results/export?group=agent&{PERIOD}&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = table[0]
    assert header[:8] == [
        "坐席",
        "质检次数",
        "平均得分率（%）",
        "最低得分率（%）",
        "最高得分率（%）",
        "不合格次数",
        "申诉次数",
        "重新评分次数",
    ]
    assert {"等级: 优秀", "等级: 合格", "等级: 不合格"} <= set(header)
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}
    assert by_name["张三 (1001)"]["平均得分率（%）"] == "63.3"
    assert by_name["张三 (1001)"]["等级: 合格"] == "2"
    assert by_name["李四 (1002)"]["等级: 优秀"] == "0"
    en = lead.get(f"/api/qa/results/export?group=team&{PERIOD}&format=csv&lang=en").content.decode(
        "utf-8-sig"
    )
    assert en.splitlines()[0].startswith("Team,Evaluations,Average score (%)")
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "qa.results.export")).all()
    assert [(e.detail or {})["format"] for e in entries] == ["csv", "csv"]


def test_export_xlsx_has_rows_and_trend(login_as: LoginAs, world: dict[str, User | Team]) -> None:
    lead = login_as(Role.SUPERVISOR)
    response = lead.get(f"/api/qa/results/export?group=agent&{PERIOD}&format=xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    data = list(book.worksheets[0].iter_rows(values_only=True))
    assert data[0][:3] == ("坐席", "质检次数", "平均得分率（%）")
    rows = {row[0]: row for row in data[1:]}
    assert rows["张三 (1001)"][1] == 4
    assert rows["王五 (2001)"][2] == 91.0
    trend = list(book["月度趋势"].iter_rows(values_only=True))
    assert trend[0] == ("月份", "坐席", "平均得分率（%）")
    assert ("2026-12", "张三 (1001)", 0.0) in trend


def test_agents_get_403_audited(db: Session, login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    for path in ("/api/qa/results", "/api/qa/results/export?format=xlsx"):
        assert agent.get(path).status_code == 403
    refusals = db.scalars(select(AuditEntry).where(AuditEntry.allowed.is_(False))).all()
    user_id = agent.user.id  # type: ignore[attr-defined]
    assert [(r.user_id, (r.detail or {})["permission"]) for r in refusals] == [(user_id, "qa.results")] * 2


RESULT_CASES = [
    ("group=week", "group", "validation.enum"),
    ("from=2026-11-30&to=2026-11-01", "to", "validation.end_before_start"),
    ("from=yesterday", "from", "validation.date_from_datetime_parsing"),
]


def test_results_422(login_as: LoginAs) -> None:
    lead = login_as(Role.QA_LEAD)
    for query, field, code in RESULT_CASES:
        for path in ("/api/qa/results", "/api/qa/results/export"):
            response = lead.get(f"{path}?{query}")
            assert response.status_code == 422, response.text
            problem = response.json()["fields"][0]
            assert (problem["field"], problem["code"]) == (field, code)
    assert lead.get("/api/qa/results/export?format=pdf").status_code == 422


# --- the math, pure ----------------------------------------------------------------------------------

facts = st.builds(
    EvaluationFact,
    month=st.sampled_from(["2026-10", "2026-11", "2026-12"]),
    agent_key=st.sampled_from(["1", "2", "3"]),
    agent_label=st.just("x"),
    team_key=st.sampled_from(["t1", "t2"]),
    team_label=st.just("t"),
    total_pct=st.floats(0, 100, allow_nan=False),
    failed=st.booleans(),
    disputed=st.booleans(),
    rescored=st.booleans(),
    grade=st.sampled_from(["A", "B", "C"]),
)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(facts, max_size=30), group=st.sampled_from(list(ResultGroup)))
def test_aggregate_counts_add_up_and_average_is_bounded(
    items: list[EvaluationFact], group: ResultGroup
) -> None:
    rows, trend = aggregate(items, group)
    assert sum(r["evaluations"] for r in rows) == len(items)
    assert sum(r["failed"] for r in rows) == sum(f.failed for f in items)
    assert sum(r["rescored"] for r in rows) == sum(f.rescored for f in items)
    for row in rows:
        assert row["min_pct"] - 0.05 <= row["avg_pct"] <= row["max_pct"] + 0.05
        assert sum(row["grade_counts"].values()) == row["evaluations"]
    assert {(t["month"]) for t in trend} == {f.month for f in items}
    if group is ResultGroup.MONTH:
        assert [r["key"] for r in rows] == sorted({f.month for f in items})
