"""Built data for the business-measure tests: outbound records, complaints, survey answers and IVR sessions
on a few days of November 2026 in the center's zone (Asia/Shanghai, +08:00), with the figures each measure
must give worked out by hand in the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintProblemType,
    ComplaintStatus,
    ComplaintUrgency,
)
from core.contacts.models import OutboundRecord, OutboundResult
from core.customers.models import Customer, CustomerGrade
from core.people.models import Team, User
from ivr.models import IvrOutcome, IvrSession, SurveyResult
from tests.conftest import MakeUser

ZONE = ZoneInfo("Asia/Shanghai")
FIRST = "2026-11-02"  # a Monday
LAST = "2026-11-08"
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def local(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    """A wall time of the center, as the aware UTC instant stored."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@dataclass
class Built:
    team_a: Team
    team_b: Team
    alice: User  # team A
    bob: User  # team B
    lead_a: User


def build(db: Session, make_user: MakeUser) -> Built:
    team_a, team_b = Team(name="外呼一组"), Team(name="外呼二组")
    db.add_all([team_a, team_b])
    db.flush()
    alice = make_user(full_name="李丽", agent_number="2001", team_id=team_a.id)
    bob = make_user(full_name="王波", agent_number="2002", team_id=team_b.id)
    from core.security.roles import Role

    lead_a = make_user(Role.TEAM_LEAD, full_name="组长甲", agent_number="2000", team_id=team_a.id)
    customer = Customer(code="C900001", name="测试客户", grade=CustomerGrade.A)
    db.add(customer)
    db.flush()

    def outbound(agent: User, at: datetime, result: OutboundResult | None) -> None:
        db.add(
            OutboundRecord(
                agent_id=agent.id,
                agent_name=agent.full_name,
                agent_number=agent.agent_number,
                customer_id=customer.id,
                started_at=at,
                content="回访",
                result=result,
            )
        )

    R = OutboundResult
    for result in (R.SALE, R.NO_ANSWER, R.BUSY, R.INTERESTED, None):
        outbound(alice, local(3, 10), result)
    outbound(alice, local(4, 0, 30), R.WRONG_NUMBER)  # 2026-11-03 16:30 UTC: the 4th in the center
    outbound(bob, local(3, 23, 59), R.NOT_INTERESTED)
    outbound(bob, local(10, 9), R.SALE)  # after the period

    n = 0

    def complaint(
        received: datetime,
        status: ComplaintStatus,
        deadline: datetime,
        category: ComplaintCategory,
        problem: ComplaintProblemType,
        completed: datetime | None = None,
        by: User | None = None,
    ) -> None:
        nonlocal n
        n += 1
        db.add(
            Complaint(
                case_number=f"TS-T-{n:04d}",
                received_at=received,
                channel=ComplaintChannel.PHONE,
                status=status,
                customer_name="投诉人",
                category=category,
                problem_type=problem,
                reason="测试",
                urgency=ComplaintUrgency.NORMAL,
                promised_deadline=deadline,
                actual_completed_at=completed,
                registered_by_id=(by or alice).id,
            )
        )

    S, C, Q = ComplaintStatus, ComplaintCategory, ComplaintProblemType
    complaint(local(3, 9), S.CLOSED, local(6, 18), C.PRODUCT, Q.QUALITY, completed=local(5, 12))
    complaint(local(3, 10), S.CLOSED, local(6, 18), C.SERVICE, Q.ATTITUDE, completed=local(8, 12))  # late
    complaint(local(3, 11), S.INVESTIGATING, local(5, 18), C.PRODUCT, Q.QUALITY)  # overdue
    complaint(local(4, 9), S.REJECTED, local(5, 18), C.PRODUCT, Q.QUANTITY, by=bob)  # rejected: not overdue
    complaint(local(4, 10), S.REGISTERED, local(1, 18, month=1, year=2027), C.SERVICE, Q.QUALITY, by=bob)
    complaint(local(12, 10), S.REGISTERED, local(13, 18), C.PRODUCT, Q.QUALITY)  # after the period

    def survey(agent: User, queue: str, score: int, at: datetime) -> None:
        db.add(
            SurveyResult(
                agent_id=agent.id,
                agent_name=agent.full_name,
                agent_interface=f"PJSIP/{agent.agent_number}",
                queue=queue,
                score=score,
                answered_at=at,
            )
        )

    for score in (1, 2, 2, 5):
        survey(alice, "support", score, local(3, 15))
    for score in (3, 4):
        survey(bob, "sales", score, local(3, 16))
    survey(bob, "sales", 1, local(4, 7, 59))  # 2026-11-03 23:59 UTC: the 4th in the center
    survey(bob, "sales", 5, local(9, 0, 1))  # after the period

    def ivr(outcome: IvrOutcome, choice: str | None, at: datetime, script: str = "ivr") -> None:
        db.add(IvrSession(script=script, outcome=outcome, choice=choice, started_at=at, ended_at=at, path=[]))

    Out = IvrOutcome
    ivr(Out.SELF_SERVICE, "2", local(3, 9))
    ivr(Out.TO_QUEUE, "1", local(3, 9, 5))
    ivr(Out.TO_QUEUE, "1", local(3, 9, 10))
    ivr(Out.HANGUP, None, local(3, 9, 15))
    ivr(Out.SELF_SERVICE, "2", local(4, 9))
    ivr(Out.SELF_SERVICE, None, local(4, 9, 5), script="survey")  # the survey script is no IVR visit
    ivr(Out.TO_QUEUE, "3", local(9, 9))  # after the period
    db.commit()
    return Built(team_a, team_b, alice, bob, lead_a)
