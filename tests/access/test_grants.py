"""Borrowing permissions (客户信息借阅权限表): the has_grant rule at the service level, the list clause the
customers service uses, and the /api/access endpoints with their validation, permissions and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.access import service
from core.access.models import AccessGrant
from core.audit.service import Actor
from core.clock import utcnow
from core.customers import service as customers
from core.customers.models import Customer
from core.people.models import User
from core.security.roles import Role
from tests.access.conftest import MakeCustomer, audit_rows, field_errors
from tests.conftest import LoginAs, MakeUser

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def _grant(
    db: Session,
    user: User,
    *,
    customer: Customer | None = None,
    max_level: int | None = None,
    valid_from: datetime = NOW - timedelta(days=1),
    valid_until: datetime = NOW + timedelta(days=1),
    revoked_at: datetime | None = None,
) -> AccessGrant:
    grant = AccessGrant(
        user_id=user.id,
        customer_id=customer.id if customer else None,
        max_level=max_level,
        reason="核对欠款",
        valid_from=valid_from,
        valid_until=valid_until,
        revoked_at=revoked_at,
    )
    db.add(grant)
    db.commit()
    return grant


# --- has_grant -----------------------------------------------------------------------------------


def test_customer_grant_covers_that_customer_only(
    db: Session, make_user: MakeUser, make_customer: MakeCustomer
) -> None:
    agent, other_agent = make_user(Role.AGENT), make_user(Role.AGENT)
    secret, another = make_customer(confidentiality=3), make_customer(confidentiality=3)
    _grant(db, agent, customer=secret)
    assert service.has_grant(db, user_id=agent.id, customer_id=secret.id, level=3, at=NOW)
    assert not service.has_grant(db, user_id=agent.id, customer_id=another.id, level=3, at=NOW)
    assert not service.has_grant(db, user_id=other_agent.id, customer_id=secret.id, level=3, at=NOW)


def test_level_grant_covers_every_file_up_to_its_level(
    db: Session, make_user: MakeUser, make_customer: MakeCustomer
) -> None:
    agent = make_user(Role.AGENT)
    customer = make_customer(confidentiality=2)
    _grant(db, agent, max_level=2)
    assert service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=2, at=NOW)
    assert service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=1, at=NOW)
    assert not service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=3, at=NOW)


def test_expired_revoked_and_future_grants_do_not_count(
    db: Session, make_user: MakeUser, make_customer: MakeCustomer
) -> None:
    expired, revoked, future = make_user(Role.AGENT), make_user(Role.AGENT), make_user(Role.AGENT)
    customer = make_customer(confidentiality=3)
    _grant(
        db,
        expired,
        customer=customer,
        valid_from=NOW - timedelta(days=8),
        valid_until=NOW - timedelta(seconds=1),
    )
    _grant(db, revoked, customer=customer, revoked_at=NOW - timedelta(hours=1))
    _grant(db, future, max_level=3, valid_from=NOW + timedelta(hours=1), valid_until=NOW + timedelta(days=7))
    for user in (expired, revoked, future):
        assert not service.has_grant(db, user_id=user.id, customer_id=customer.id, level=3, at=NOW)
    # The same future grant counts once its time has come; valid_until itself is already outside.
    assert service.has_grant(
        db, user_id=future.id, customer_id=customer.id, level=3, at=NOW + timedelta(hours=2)
    )
    assert not service.has_grant(
        db, user_id=future.id, customer_id=customer.id, level=3, at=NOW + timedelta(days=7)
    )


def test_has_grant_defaults_to_now(db: Session, make_user: MakeUser, make_customer: MakeCustomer) -> None:
    agent = make_user(Role.AGENT)
    customer = make_customer(confidentiality=3)
    now = utcnow()
    _grant(
        db,
        agent,
        customer=customer,
        valid_from=now - timedelta(minutes=5),
        valid_until=now + timedelta(hours=1),
    )
    assert service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=3)
    db.execute(update(AccessGrant).values(valid_until=now - timedelta(minutes=1)))
    db.commit()
    assert not service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(-100, 100),
    length=st.integers(1, 200),
    probe=st.integers(-150, 350),
    granted_level=st.integers(0, 3),
    file_level=st.integers(0, 3),
    revoked=st.booleans(),
)
def test_has_grant_matches_the_rule(
    db: Session,
    make_user: MakeUser,
    make_customer: MakeCustomer,
    start: int,
    length: int,
    probe: int,
    granted_level: int,
    file_level: int,
    revoked: bool,
) -> None:
    """Valid on [valid_from, valid_until), unless revoked, for files up to the granted level."""
    agent = make_user(Role.AGENT)
    customer = make_customer(confidentiality=file_level)
    valid_from = NOW + timedelta(hours=start)
    _grant(
        db,
        agent,
        max_level=granted_level,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(hours=length),
        revoked_at=NOW if revoked else None,
    )
    at = NOW + timedelta(hours=probe)
    expected = not revoked and start <= probe < start + length and file_level <= granted_level
    assert (
        service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=file_level, at=at) is expected
    )


def test_customer_search_shows_files_opened_by_a_grant(
    db: Session, make_user: MakeUser, make_customer: MakeCustomer
) -> None:
    """The customers service lists files through service.readable_clause."""
    agent = make_user(Role.AGENT)
    public = make_customer(name="公开客户", confidentiality=0)
    secret = make_customer(name="机密客户", confidentiality=3)
    confidential = make_customer(name="秘密客户", confidentiality=2)

    def visible() -> set[int]:
        rows, _ = customers.search_customers(db, user_id=agent.id, clearance=1)
        return {c.id for c in rows}

    assert visible() >= {public.id} and not visible() & {secret.id, confidential.id}
    now = utcnow()
    _grant(
        db,
        agent,
        customer=secret,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(hours=1),
    )
    assert secret.id in visible() and confidential.id not in visible()
    _grant(
        db, agent, max_level=2, valid_from=now - timedelta(minutes=1), valid_until=now + timedelta(hours=1)
    )
    assert {public.id, secret.id, confidential.id} <= visible()


# --- API ---------------------------------------------------------------------------------------


def test_info_officer_grants_an_agent_who_then_reads_the_file(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    officer, agent = login_as(Role.INFO_OFFICER), login_as(Role.AGENT)
    customer = make_customer(name="机密客户", confidentiality=3)
    assert agent.get(f"/api/customers/{customer.id}").status_code == 403

    response = officer.post(
        "/api/access/grants",
        json={"user_id": agent.user.id, "customer_id": customer.id, "reason": "处理该客户的投诉回访"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 201, response.text
    grant = response.json()
    assert grant["status"] == "active"
    assert grant["customer_code"] == customer.code and grant["customer_name"] == "机密客户"
    assert grant["granted_by_name"] == officer.user.full_name  # type: ignore[attr-defined]
    valid_from = datetime.fromisoformat(grant["valid_from"])
    valid_until = datetime.fromisoformat(grant["valid_until"])
    assert valid_from.utcoffset() == timedelta(0)
    assert valid_until - valid_from == timedelta(days=7)  # the default borrowing period

    [row] = audit_rows(db, "access.grant", object_id=str(grant["id"]))
    assert row.user_id == officer.user.id and row.detail and row.detail["customer_id"] == customer.id  # type: ignore[attr-defined]

    assert agent.get(f"/api/customers/{customer.id}").status_code == 200
    mine = agent.get("/api/access/grants/mine").json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == grant["id"]
    assert login_as(Role.AGENT).get("/api/access/grants/mine").json()["total"] == 0


def test_agent_cannot_grant_or_list_and_the_refusal_is_audited(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    response = agent.post(
        "/api/access/grants",
        json={"user_id": agent.user.id, "max_level": 3, "reason": "想看"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 403
    assert response.json()["message"] == "没有权限执行此操作"
    assert agent.get("/api/access/grants").status_code == 403
    refusals = audit_rows(db, "auth.forbidden", user_id=agent.user.id)  # type: ignore[attr-defined]
    assert [r.detail["permission"] for r in refusals if r.detail] == ["access.grant", "access.read"]
    assert all(not r.allowed for r in refusals)
    assert db.scalars(select(AccessGrant)).all() == []


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_may_grant(login_as: LoginAs, make_user: MakeUser, role: Role) -> None:
    agent = make_user(Role.AGENT)
    response = login_as(role).post(
        "/api/access/grants", json={"user_id": agent.id, "max_level": 2, "reason": "临时顶班"}
    )
    assert response.status_code == 201, response.text


def test_grant_needs_exactly_one_target(
    login_as: LoginAs, make_user: MakeUser, make_customer: MakeCustomer
) -> None:
    officer = login_as(Role.INFO_OFFICER)
    agent = make_user(Role.AGENT)
    customer = make_customer()
    both = officer.post(
        "/api/access/grants",
        json={"user_id": agent.id, "customer_id": customer.id, "max_level": 3, "reason": "核对"},
    )
    errors = field_errors(both)
    assert set(errors) == {"customer_id", "max_level"}
    assert errors["max_level"]["message"] == "请指定借阅客户或可借阅密级（二者选一）"
    neither = officer.post("/api/access/grants?lang=en", json={"user_id": agent.id, "reason": "check"})
    assert (
        field_errors(neither)["customer_id"]["message"]
        == "Give either a customer or a confidentiality level, not both"
    )


def test_grant_field_validation(login_as: LoginAs, make_user: MakeUser) -> None:
    officer = login_as(Role.INFO_OFFICER)
    agent = make_user(Role.AGENT)
    base = {"user_id": agent.id, "max_level": 2, "reason": "季度核查"}

    no_reason = field_errors(officer.post("/api/access/grants", json={**base, "reason": "   "}))
    assert no_reason["reason"]["code"] == "validation.string_too_short"
    missing = field_errors(officer.post("/api/access/grants", json={"user_id": agent.id, "max_level": 2}))
    assert missing["reason"]["message"] == "必填"

    assert field_errors(officer.post("/api/access/grants", json={**base, "max_level": 4}))["max_level"][
        "code"
    ] == ("validation.less_than_equal")
    unknown = field_errors(officer.post("/api/access/grants", json={**base, "user_id": 999_999}))
    assert unknown["user_id"]["code"] == "validation.unknown_reference"
    ghost = field_errors(
        officer.post("/api/access/grants", json={**base, "max_level": None, "customer_id": 999_999})
    )
    assert ghost["customer_id"]["code"] == "validation.unknown_reference"

    backwards = officer.post(
        "/api/access/grants",
        json={**base, "valid_from": "2031-01-10T09:00:00", "valid_until": "2031-01-09T09:00:00"},
        headers={"Accept-Language": "en"},
    )
    assert field_errors(backwards)["valid_until"]["code"] == "validation.end_before_start"
    assert field_errors(backwards)["valid_until"]["field"] == "valid_until"
    past = officer.post(
        "/api/access/grants",
        json={**base, "valid_from": "2020-01-01T09:00:00+08:00", "valid_until": "2020-01-08T09:00:00+08:00"},
    )
    assert field_errors(past)["valid_until"]["message"] == "不能早于当前时间"


def test_naive_times_are_the_centers_wall_time(login_as: LoginAs, make_user: MakeUser) -> None:
    officer = login_as(Role.INFO_OFFICER)
    agent = make_user(Role.AGENT)
    response = officer.post(
        "/api/access/grants",
        json={"user_id": agent.id, "max_level": 3, "reason": "年度审计", "valid_from": "2031-03-01T09:00:00"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert datetime.fromisoformat(body["valid_from"]) == datetime(
        2031, 3, 1, 1, 0, tzinfo=UTC
    )  # Asia/Shanghai
    assert datetime.fromisoformat(body["valid_until"]) == datetime(2031, 3, 8, 1, 0, tzinfo=UTC)
    assert body["status"] == "scheduled"


def test_revoke_ends_the_grant_at_once(
    login_as: LoginAs, make_user: MakeUser, make_customer: MakeCustomer, db: Session
) -> None:
    officer = login_as(Role.INFO_OFFICER)
    agent = make_user(Role.AGENT)
    customer = make_customer(confidentiality=3)
    grant = officer.post(
        "/api/access/grants", json={"user_id": agent.id, "customer_id": customer.id, "reason": "回访"}
    ).json()
    assert service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=3)

    revoked = officer.post(f"/api/access/grants/{grant['id']}/revoke", json={"note": "回访已完成"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_by_name"] == officer.user.full_name  # type: ignore[attr-defined]
    db.expire_all()
    assert not service.has_grant(db, user_id=agent.id, customer_id=customer.id, level=3)
    [row] = audit_rows(db, "access.revoke", object_id=str(grant["id"]))
    assert row.detail == {"user_id": agent.id, "note": "回访已完成"}

    again = officer.post(f"/api/access/grants/{grant['id']}/revoke")
    assert again.status_code == 409 and again.json()["error"] == "error.grant_already_revoked"
    assert officer.post("/api/access/grants/999999/revoke").status_code == 404
    assert login_as(Role.AGENT).post(f"/api/access/grants/{grant['id']}/revoke").status_code == 403


def test_list_filters_and_export(login_as: LoginAs, make_user: MakeUser, make_customer: MakeCustomer) -> None:
    officer = login_as(Role.INFO_OFFICER)
    ann, bob = make_user(Role.AGENT, full_name="安娜"), make_user(Role.AGENT, full_name="鲍勃")
    customer = make_customer(name="列表客户")
    first = officer.post(
        "/api/access/grants", json={"user_id": ann.id, "customer_id": customer.id, "reason": "投诉核实"}
    ).json()
    officer.post("/api/access/grants", json={"user_id": bob.id, "max_level": 2, "reason": "夜班顶岗"})
    officer.post(f"/api/access/grants/{first['id']}/revoke")

    def ids(query: str) -> list[int]:
        response = officer.get(f"/api/access/grants{query}")
        assert response.status_code == 200, response.text
        return [item["user_id"] for item in response.json()["items"]]

    assert sorted(ids("")) == sorted([ann.id, bob.id])
    assert ids(f"?user_id={ann.id}") == [ann.id]
    assert ids(f"?customer_id={customer.id}") == [ann.id]
    assert ids("?active_only=true") == [bob.id]
    assert ids("?q=夜班") == [bob.id]
    assert ids("?q=安娜") == [ann.id]
    assert len(ids("?limit=1")) == 1

    export = officer.get("/api/access/grants/export?format=csv")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    text = export.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("编号,借阅人,工号,客户代码")
    assert "已收回" in text and "秘密" in text and "列表客户" in text
    assert "+08:00" in text  # times in the center's zone
    english = officer.get("/api/access/grants/export?format=xlsx&lang=en")
    assert english.status_code == 200 and english.content[:2] == b"PK"


def test_grant_on_service_level_is_audited_with_the_actor(
    db: Session, make_user: MakeUser, make_customer: MakeCustomer
) -> None:
    from zoneinfo import ZoneInfo

    from core.access.schemas import GrantCreate

    officer, agent = make_user(Role.INFO_OFFICER), make_user(Role.AGENT)
    grant = service.create_grant(
        db,
        data=GrantCreate(user_id=agent.id, max_level=3, reason="专项检查"),
        zone=ZoneInfo("Asia/Shanghai"),
        actor=Actor(officer.id, officer.username, "10.0.0.8"),
    )
    db.commit()
    assert grant.granted_by_id == officer.id
    [row] = audit_rows(db, "access.grant", object_id=str(grant.id))
    assert row.client_address == "10.0.0.8"
