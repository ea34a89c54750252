"""Customer files through the HTTP API: round trips, search and screen pop by phone in any spelling,
masking per role, audit rows, field-level 422 messages in both languages, permissions, 密级."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.customers.models import Customer, CustomerPhone
from core.security.roles import Role
from tests.conftest import LoginAs
from tests.customers.conftest import MakeCustomer
from tests.customers.helpers import audit_rows, field_errors, payload, unique_mobile

CORPORATE = {
    "legal_rep_name": "李四",
    "legal_rep_birth_date": "1970-05-01",
    "legal_rep_character": "稳重",
    "legal_rep_interests": "高尔夫",
    "legal_rep_education": "硕士",
    "legal_rep_ability": "善于谈判",
    "employees": 320,
    "annual_output_cents": 1_250_000_000_00,
    "main_customers": "华北各大超市",
    "trading_area": "华北",
    "products_and_prices": "饮料 3.5 元/瓶",
    "bank_name": "中国工商银行北京分行",
    "bank_account": "6222020200112233445",
    "bank_credit": "AA",
    "registered_capital_cents": 5_000_000_00,
    "payment_cash_pct": 20,
    "payment_cheque_pct": 50,
    "payment_draft_pct": 30,
    "payment_behaviour": "good",
}


def test_create_and_read_back_a_corporate_file(login_as: LoginAs, db: Session) -> None:
    officer = login_as(Role.INFO_OFFICER)
    body = payload(
        name="北京某某饮料有限公司",
        kind="corporate",
        grade="AA",
        sales_share_class="B",
        credit_rating="good",
        confidentiality=2,
        email="buy@example.com",
        notes="年底集中采购",
        owner_id=officer.user.id,  # type: ignore[attr-defined]
        phones=[
            {"number": "010-6275 1234", "label": "office"},
            {"number": "+86 139 0013 9001", "label": "mobile", "is_primary": True},
        ],
        corporate=CORPORATE,
        contact_windows=[{"weekday": 6, "start": "00:00", "end": "00:00", "note": "周日休息"}],
        visits=[{"visited_on": "2024-03-01", "reason": "签订年度合同"}],
        service_history=[
            {"served_on": "2024-04-01", "item": "设备巡检", "next_due": "2024-10-01", "opinion": "满意"}
        ],
    )
    created = officer.post("/api/customers", json=body)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["code"].startswith("C") and len(out["code"]) == 7
    assert out["phones"][0] == {
        "id": out["phones"][0]["id"],
        "number": "13900139001",
        "e164": "+8613900139001",
        "label": "mobile",
        "is_primary": True,
        "masked": False,
    }
    assert out["phones"][1]["e164"] == "+861062751234"
    assert out["corporate"]["bank_account"] == "6222020200112233445"
    assert out["corporate"]["annual_output_cents"] == 1_250_000_000_00
    assert out["owner_name"] == officer.user.full_name  # type: ignore[attr-defined]
    assert out["visits"][0]["by_user_id"] == officer.user.id  # type: ignore[attr-defined]
    assert out["visits"][0]["by_user_name"] == officer.user.full_name  # type: ignore[attr-defined]
    assert out["created_at"].endswith(("Z", "+00:00"))  # aware UTC

    read = officer.get(f"/api/customers/{out['id']}")
    assert read.status_code == 200
    again = read.json()
    for key in ("code", "name", "grade", "credit_rating", "confidentiality", "sales_share_class", "email"):
        assert again[key] == out[key]
    assert again["corporate"] == out["corporate"]
    assert again["service_history"][0]["next_due"] == "2024-10-01"
    assert again["contact_windows"][0]["weekday"] == 6

    stored = db.scalar(select(Customer).where(Customer.id == out["id"]))
    assert stored is not None and stored.created_by_id == officer.user.id  # type: ignore[attr-defined]
    assert sorted(p.number for p in stored.phones) == ["+861062751234", "+8613900139001"]


def test_create_writes_audit_and_read_writes_customer_read(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    out = agent.post("/api/customers", json=payload()).json()
    created = audit_rows(db, "customer.create", object_id=str(out["id"]))
    assert len(created) == 1
    assert created[0].user_id == agent.user.id  # type: ignore[attr-defined]
    assert {"name", "grade", "phones"} <= set(created[0].detail["fields"])  # type: ignore[index]
    assert audit_rows(db, "customer.read", object_id=str(out["id"])) == []
    agent.get(f"/api/customers/{out['id']}")
    agent.get(f"/api/customers/{out['id']}")
    reads = audit_rows(db, "customer.read", object_id=str(out["id"]))
    assert len(reads) == 2 and reads[0].client_address and reads[0].allowed


def test_generated_codes_skip_codes_typed_by_hand(make_customer: MakeCustomer) -> None:
    first = make_customer(code="C000002")
    second = make_customer()
    assert first.code == "C000002"
    assert second.code == "C000003"


def test_duplicate_code_is_a_422_on_code(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    make_customer(code="C000123")
    agent = login_as(Role.AGENT)
    response = agent.post("/api/customers", json=payload(code="C000123"))
    problem = field_errors(response)["code"]
    assert problem["code"] == "validation.duplicate"
    assert "已存在" in problem["message"]
    english = agent.post("/api/customers?lang=en", json=payload(code="C000123"))
    assert "already exists" in field_errors(english)["code"]["message"]


def test_malformed_phone_is_a_422_on_its_exact_path(login_as: LoginAs, db: Session) -> None:
    agent = login_as(Role.AGENT)
    body = payload(phones=[{"number": "13900139001"}, {"number": "12-abc"}])
    response = agent.post("/api/customers", json=body)
    problems = field_errors(response)
    assert list(problems) == ["phones.1.number"]
    assert problems["phones.1.number"]["code"] == "validation.phone_invalid"
    assert "不是有效的电话号码" in problems["phones.1.number"]["message"]
    english = agent.post("/api/customers", json=body, headers={"Accept-Language": "en"})
    assert "not a valid phone number" in field_errors(english)["phones.1.number"]["message"]
    assert db.scalar(select(Customer.id)) is None  # nothing half-written


def test_the_same_number_twice_in_one_file_is_refused(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    body = payload(phones=[{"number": "13900139001"}, {"number": "+86 139-0013-9001"}])
    assert field_errors(agent.post("/api/customers", json=body))["phones.1.number"]["code"] == (
        "validation.duplicate"
    )


@pytest.mark.parametrize(
    ("body", "path", "code", "zh"),
    [
        (payload(grade="VIP"), "grade", "validation.enum", "不是允许的选项"),
        (payload(phones=[]), "phones", "validation.too_short", "至少需要 1 项"),
        ({k: v for k, v in payload().items() if k != "name"}, "name", "validation.missing", "必填"),
        (payload(email="not-an-email"), "email", "validation.string_pattern_mismatch", "格式不正确"),
        (payload(confidentiality=7), "confidentiality", "validation.less_than_equal", "应不大于 3"),
        (
            payload(contact_windows=[{"weekday": 7, "start": "09:00", "end": "10:00"}]),
            "contact_windows.0.weekday",
            "validation.less_than_equal",
            "应不大于 6",
        ),
        (
            payload(visits=[{"visited_on": "2024-13-01", "reason": "回访"}]),
            "visits.0.visited_on",
            "validation.date_from_datetime_parsing",
            "日期格式",
        ),
        (
            payload(corporate={"employees": 5}),
            "corporate",
            "validation.profile_kind_mismatch",
            "客户类型不符",
        ),
        (
            payload(kind="corporate", corporate={"payment_cash_pct": 60, "payment_draft_pct": 50}),
            "corporate.payment_terms",
            "validation.payment_terms_over_100",
            "合计 110%",
        ),
        (payload(owner_id=999999), "owner_id", "validation.unknown_reference", "引用的记录不存在"),
        (
            payload(kind="corporate", corporate={"bank_account": "账号!"}),
            "corporate.bank_account",
            "validation.string_pattern_mismatch",
            "格式不正确",
        ),
    ],
)
def test_field_level_422_in_chinese_by_default(
    login_as: LoginAs, body: dict[str, object], path: str, code: str, zh: str
) -> None:
    agent = login_as(Role.AGENT)
    problems = field_errors(agent.post("/api/customers", json=body))
    assert path in problems, problems
    assert problems[path]["code"] == code
    assert zh in problems[path]["message"]


def test_field_level_422_in_english(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    response = agent.post("/api/customers?lang=en", json=payload(grade="VIP"))
    assert response.json()["message"] == "Please check the marked fields"
    assert field_errors(response)["grade"]["message"].startswith("Not an allowed choice")
    response = agent.post(
        "/api/customers",
        json=payload(kind="corporate", corporate={"payment_cash_pct": 90, "payment_cheque_pct": 20}),
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    assert "add up to 110%" in field_errors(response)["corporate.payment_terms"]["message"]


def test_agent_cannot_create_a_file_above_own_clearance(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    problems = field_errors(agent.post("/api/customers", json=payload(confidentiality=3)))
    assert problems["confidentiality"]["code"] == "validation.above_own_clearance"


# --- search and screen pop -----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["13900139001", "+86 139 0013 9001", "0086-139-0013-9001", "139-0013-9001"])
def test_search_finds_the_customer_by_phone_in_any_spelling(
    login_as: LoginAs, make_customer: MakeCustomer, typed: str
) -> None:
    wanted = make_customer(name="王五", phones=[{"number": "13900139001"}])
    make_customer(name="赵六")
    agent = login_as(Role.AGENT)
    page = agent.get("/api/customers", params={"q": typed}).json()
    assert [item["id"] for item in page["items"]] == [wanted.id]
    assert page["total"] == 1


def test_search_by_code_name_contact_and_filters(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    a = make_customer(
        code="C100001", name="上海甲公司", kind="corporate", grade="AAA", region="上海市浦东新区"
    )
    b = make_customer(code="C100002", name="乙", contact_person="钱七", grade="B", region="上海市")
    c = make_customer(code="C200003", name="丙", grade="B", region="广东省深圳市")
    agent = login_as(Role.AGENT)

    def ids(**params: str) -> list[int]:
        response = agent.get("/api/customers", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(q="C1000") == [a.id, b.id]
    assert ids(q="甲公司") == [a.id]
    assert ids(q="钱七") == [b.id]
    assert ids(grade="B") == [b.id, c.id]
    assert ids(region="上海市") == [a.id, b.id]
    assert ids(kind="corporate") == [a.id]
    assert ids(q="%") == []  # LIKE wildcards are literal
    page = agent.get("/api/customers", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [b.id]


def test_lookup_returns_every_file_sharing_the_number_and_audits_each(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    husband = make_customer(name="丈夫", phones=[{"number": "010-62751234", "label": "home"}])
    wife = make_customer(name="妻子", phones=[{"number": "+86 10 6275 1234", "label": "home"}])
    make_customer(name="别人")
    agent = login_as(Role.AGENT)
    response = agent.get("/api/customers/lookup", params={"phone": "8610-62751234"})
    assert response.status_code == 200, response.text
    assert sorted(c["id"] for c in response.json()) == sorted([husband.id, wife.id])
    reads = audit_rows(db, "customer.read")
    assert sorted(int(r.object_id or 0) for r in reads) == sorted([husband.id, wife.id])
    assert all(r.detail and r.detail["via"] == "lookup" for r in reads)
    assert agent.get("/api/customers/lookup", params={"phone": "13700000000"}).json() == []


def test_lookup_uses_the_phone_index(db: Session, make_customer: MakeCustomer) -> None:
    make_customer()
    indexed = {tuple(ix.columns.keys()) for ix in CustomerPhone.__table__.indexes}  # type: ignore[attr-defined]
    assert ("number",) in indexed


def test_lookup_with_a_malformed_number_is_a_422_on_phone(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    problems = field_errors(agent.get("/api/customers/lookup", params={"phone": "abc"}))
    assert problems["phone"]["code"] == "validation.phone_invalid"


# --- masking ---------------------------------------------------------------------------------------


def test_agent_sees_masked_numbers_everywhere(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    customer = make_customer(
        kind="corporate",
        phones=[{"number": "13900139001"}],
        corporate={"bank_account": "6222 0202 0011 2233 445"},
    )
    agent = login_as(Role.AGENT)
    detail = agent.get(f"/api/customers/{customer.id}").json()
    assert detail["phones"][0]["number"] == "139****9001"
    assert detail["phones"][0]["e164"] is None and detail["phones"][0]["masked"] is True
    assert detail["corporate"]["bank_account"] == "**** **** **** ***3 445"
    listed = agent.get("/api/customers", params={"q": "13900139001"}).json()["items"][0]
    assert listed["primary_phone"] == "139****9001" and listed["phones"] == ["139****9001"]
    popped = agent.get("/api/customers/lookup", params={"phone": "13900139001"}).json()[0]
    assert popped["phones"][0]["number"] == "139****9001"
    assert "13900139001" not in str(detail) + str(listed) + str(popped)


@pytest.mark.parametrize("role", [Role.INFO_OFFICER, Role.SUPERVISOR, Role.TEAM_LEAD])
def test_roles_with_phones_unmasked_see_full_numbers(
    login_as: LoginAs, make_customer: MakeCustomer, role: Role
) -> None:
    customer = make_customer(
        kind="corporate",
        phones=[{"number": "13900139001"}],
        corporate={"bank_account": "6222020200112233445"},
    )
    reader = login_as(role)
    detail = reader.get(f"/api/customers/{customer.id}").json()
    assert detail["phones"][0]["number"] == "13900139001"
    assert detail["phones"][0]["e164"] == "+8613900139001"
    assert detail["corporate"]["bank_account"] == "6222020200112233445"
    listed = reader.get("/api/customers").json()["items"][0]
    assert listed["phones"] == ["13900139001"]


# --- update --------------------------------------------------------------------------------------


def test_update_changes_only_what_is_sent_and_audits_changed_fields(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    customer = make_customer(phones=[{"number": "13900139001"}, {"number": "13900139002"}])
    keep_id = next(p.id for p in customer.phones if p.number == "+8613900139002")
    officer = login_as(Role.INFO_OFFICER)
    response = officer.patch(
        f"/api/customers/{customer.id}",
        json={
            "address": "上海市黄浦区",
            "phones": [{"number": "139 0013 9002", "is_primary": True}, {"number": "13600000001"}],
            "individual": {"occupation": "教师", "services_hoped": "上门安装"},
            "name": "张三",  # unchanged
        },
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["address"] == "上海市黄浦区" and out["region"] == "北京市"
    assert [p["number"] for p in out["phones"]] == ["13900139002", "13600000001"]
    assert out["phones"][0]["id"] == keep_id and out["phones"][0]["is_primary"]
    assert out["individual"]["occupation"] == "教师"
    rows = audit_rows(db, "customer.update", object_id=str(customer.id))
    assert rows[-1].detail["fields"] == ["address", "individual", "phones"]  # type: ignore[index]
    partial = officer.patch(f"/api/customers/{customer.id}", json={"individual": {"gender": "female"}}).json()
    assert partial["individual"] == {
        "gender": "female",
        "birth_date": None,
        "occupation": "教师",
        "services_hoped": "上门安装",
    }


def test_update_cannot_change_grade_credit_or_confidentiality(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    customer = make_customer(grade="B", credit_rating="fair", confidentiality=1)
    officer = login_as(Role.INFO_OFFICER)
    response = officer.patch(
        f"/api/customers/{customer.id}",
        json={"grade": "AAA", "credit_rating": "excellent", "confidentiality": 0},
    )
    problems = field_errors(response)
    assert set(problems) == {"grade", "credit_rating", "confidentiality"}
    assert problems["grade"]["code"] == "validation.rating_change_required"
    assert "变更等级" in problems["grade"]["message"]
    db.expire_all()
    stored = db.get(Customer, customer.id)
    assert stored is not None and (stored.grade, stored.credit_rating, stored.confidentiality) == (
        "B",
        "fair",
        1,
    )
    unknown = officer.patch(f"/api/customers/{customer.id}", json={"colour": "red"})
    assert field_errors(unknown)["colour"]["code"] == "validation.extra_forbidden"


def test_update_validates_payment_terms_against_stored_values(
    login_as: LoginAs, make_customer: MakeCustomer
) -> None:
    customer = make_customer(kind="corporate", corporate={"payment_cash_pct": 70})
    officer = login_as(Role.INFO_OFFICER)
    response = officer.patch(f"/api/customers/{customer.id}", json={"corporate": {"payment_draft_pct": 40}})
    assert field_errors(response)["corporate.payment_terms"]["code"] == "validation.payment_terms_over_100"
    ok = officer.patch(f"/api/customers/{customer.id}", json={"corporate": {"payment_draft_pct": 30}})
    assert ok.status_code == 200
    assert ok.json()["corporate"]["payment_cash_pct"] == 70


def test_update_duplicate_code_and_null_name(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    make_customer(code="C777777")
    customer = make_customer()
    officer = login_as(Role.INFO_OFFICER)
    problems = field_errors(officer.patch(f"/api/customers/{customer.id}", json={"code": "C777777"}))
    assert problems["code"]["code"] == "validation.duplicate"
    problems = field_errors(officer.patch(f"/api/customers/{customer.id}", json={"name": None, "code": None}))
    assert problems["name"]["code"] == problems["code"]["code"] == "validation.missing"
    same = officer.patch(f"/api/customers/{customer.id}", json={"code": customer.code})
    assert same.status_code == 200


def test_changing_kind_drops_the_other_profile(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    customer = make_customer(individual={"occupation": "医生"})
    officer = login_as(Role.INFO_OFFICER)
    out = officer.patch(
        f"/api/customers/{customer.id}", json={"kind": "corporate", "corporate": {"employees": 12}}
    ).json()
    assert out["kind"] == "corporate" and out["individual"] is None
    assert out["corporate"]["employees"] == 12


# --- permissions and 密级 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("PATCH", "/api/customers/{id}", "customers.edit"),
        ("POST", "/api/customers/{id}/rating", "customers.edit"),
        ("GET", "/api/customers/export", "customers.export"),
        ("POST", "/api/customers/import", "customers.import"),
        ("GET", "/api/customers/import/template", "customers.import"),
        ("GET", "/api/customers/import/1", "customers.import"),
    ],
)
def test_agent_is_refused_and_the_refusal_is_audited(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session, method: str, path: str, permission: str
) -> None:
    customer = make_customer()
    agent = login_as(Role.AGENT)
    body = {"field": "grade", "value": "AAA", "reason": "x"} if "rating" in path else {"address": "x"}
    response = agent.request(method, path.format(id=customer.id), json=body)
    assert response.status_code == 403
    assert response.json()["message"] == "没有权限执行此操作"
    refusals = audit_rows(db, "auth.forbidden", user_id=agent.user.id)  # type: ignore[attr-defined]
    assert len(refusals) == 1 and refusals[0].allowed is False
    assert refusals[0].detail["permission"] == permission  # type: ignore[index]


def test_qa_inspector_cannot_create(login_as: LoginAs, db: Session) -> None:
    inspector = login_as(Role.QA_INSPECTOR)
    assert inspector.post("/api/customers", json=payload()).status_code == 403
    assert db.scalar(select(Customer.id)) is None


def test_anonymous_gets_401(client: object, make_customer: MakeCustomer) -> None:
    customer = make_customer()
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    assert client.get(f"/api/customers/{customer.id}").status_code == 401
    assert client.get("/api/customers/lookup", params={"phone": "13900139001"}).status_code == 401


def test_file_above_clearance_is_refused_and_audited(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    secret = make_customer(confidentiality=3, phones=[{"number": "13900139009"}])
    agent = login_as(Role.AGENT)
    response = agent.get(f"/api/customers/{secret.id}")
    assert response.status_code == 403
    assert response.json()["error"] == "error.above_clearance"
    assert "借阅" in response.json()["message"]
    refusals = audit_rows(db, "auth.forbidden", user_id=agent.user.id)  # type: ignore[attr-defined]
    assert len(refusals) == 1 and refusals[0].allowed is False
    assert refusals[0].detail["reason"] == "error.above_clearance"  # type: ignore[index]
    assert refusals[0].detail["customer_id"] == secret.id  # type: ignore[index]
    assert audit_rows(db, "customer.read") == []
    # Lists and the screen pop leave it out.
    assert agent.get("/api/customers").json()["total"] == 0
    assert agent.get("/api/customers/lookup", params={"phone": "13900139009"}).json() == []
    assert agent.get(f"/api/customers/{secret.id}/rating-changes").status_code == 403
    # A supervisor (机密 clearance) reads it.
    supervisor = login_as(Role.SUPERVISOR)
    assert supervisor.get(f"/api/customers/{secret.id}").status_code == 200
    assert supervisor.get("/api/customers").json()["total"] == 1


def test_an_access_grant_opens_a_file_above_clearance(
    login_as: LoginAs, make_customer: MakeCustomer, db: Session
) -> None:
    access_models = pytest.importorskip("core.access.models")
    secret = make_customer(confidentiality=2, phones=[{"number": "13900139008"}])
    other = make_customer(confidentiality=2)
    agent = login_as(Role.AGENT)
    now = datetime.now(UTC)
    db.add(
        access_models.AccessGrant(
            user_id=agent.user.id,  # type: ignore[attr-defined]
            customer_id=secret.id,
            reason="处理投诉",
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=1),
        )
    )
    db.commit()
    assert agent.get(f"/api/customers/{secret.id}").status_code == 200
    assert agent.get(f"/api/customers/{other.id}").status_code == 403
    assert [c["id"] for c in agent.get("/api/customers").json()["items"]] == [secret.id]
    assert [c["id"] for c in agent.get("/api/customers/lookup", params={"phone": "13900139008"}).json()] == [
        secret.id
    ]


def test_unknown_customer_is_404(login_as: LoginAs) -> None:
    agent = login_as(Role.AGENT)
    response = agent.get("/api/customers/424242")
    assert response.status_code == 404
    assert response.json()["message"] == "找不到该记录"


def test_contact_unsuitable_now_flag(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    everyday = [{"weekday": d, "start": "00:00", "end": "00:00"} for d in range(7)]
    blocked = make_customer(contact_windows=everyday)
    free = make_customer()
    agent = login_as(Role.AGENT)
    assert agent.get(f"/api/customers/{blocked.id}").json()["contact_unsuitable_now"] is True
    assert agent.get(f"/api/customers/{free.id}").json()["contact_unsuitable_now"] is False


def test_several_customers_may_share_a_number(make_customer: MakeCustomer, db: Session) -> None:
    number = unique_mobile()
    make_customer(phones=[{"number": number}])
    make_customer(phones=[{"number": number}])
    assert len(db.scalars(select(CustomerPhone).where(CustomerPhone.number == "+86" + number)).all()) == 2


def test_visits_sent_back_unchanged_keep_their_visitor(login_as: LoginAs, db: Session) -> None:
    first = login_as(Role.INFO_OFFICER)
    created = first.post(
        "/api/customers", json=payload(visits=[{"visited_on": "2024-05-06", "reason": "上门回访"}])
    ).json()
    second = login_as(Role.SUPERVISOR)
    got = second.get(f"/api/customers/{created['id']}").json()
    visits = got["visits"] + [{"visited_on": "2024-06-01", "reason": "送货"}]
    out = second.patch(f"/api/customers/{created['id']}", json={"visits": visits}).json()
    assert sorted((v["reason"], v["by_user_id"]) for v in out["visits"]) == sorted(
        [("上门回访", first.user.id), ("送货", second.user.id)]  # type: ignore[attr-defined]
    )
    updates = audit_rows(db, "customer.update", object_id=str(created["id"]))
    assert updates[-1].detail["fields"] == ["visits"]  # type: ignore[index]


def test_blank_form_boxes_mean_no_value(login_as: LoginAs, make_customer: MakeCustomer) -> None:
    agent = login_as(Role.AGENT)
    created = agent.post("/api/customers", json=payload(email="", notes="  ", code="", address=""))
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["email"] is None and out["notes"] is None and out["code"].startswith("C")
    problems = field_errors(agent.post("/api/customers", json=payload(name=" ")))
    assert problems["name"]["code"] == "validation.missing"
    customer = make_customer(address="北京市朝阳区")
    officer = login_as(Role.INFO_OFFICER)
    cleared = officer.patch(f"/api/customers/{customer.id}", json={"address": ""}).json()
    assert cleared["address"] is None
