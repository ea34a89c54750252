"""Service-level rules: phone spellings (hypothesis), 不宜访问时间 windows, masking of bank accounts,
code generation, the public create_customer signature, and the message catalogs' completeness."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import i18n
from core import phone as phones
from core.audit.service import Actor
from core.customers import importer, models, schemas, service
from core.customers.models import ContactWindow, Customer
from core.customers.schemas import CustomerCreate, CustomerUpdate
from core.errors import InvalidFields
from core.security.roles import Clearance
from tests.customers.conftest import MakeCustomer
from tests.customers.helpers import payload

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOCALES = Path(service.__file__).resolve().parent.parent / "locales"

cn_mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


def spellings(n: str) -> list[str]:
    a, b, c = n[:3], n[3:7], n[7:]
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in n)
    return [
        n,
        f"+86{n}",
        f"+86 {a} {b} {c}",
        f"0086-{a}-{b}-{c}",
        f"0086{n}",
        f"(+86) {a}-{b}-{c}",
        f"86 {n}",
        f"  {a} {b} {c}  ",
        f"+86.{a}.{b}.{c}",
        full_width,
    ]


@settings(max_examples=200, deadline=None)
@given(cn_mobiles)
def test_every_spelling_of_a_cn_mobile_normalises_to_one_e164(number: str) -> None:
    expected = f"+86{number}"
    for spelling in spellings(number):
        assert phones.normalise(spelling, "CN") == expected, spelling
        assert service.phone_query(spelling, "CN") == expected, spelling
    assert service.show_phone(expected, unmasked=False, region="CN") == f"{number[:3]}****{number[7:]}"
    assert service.show_phone(expected, unmasked=True, region="CN") == number


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz张三李四", min_size=1, max_size=12))
def test_names_are_never_taken_for_phone_numbers(text: str) -> None:
    assert service.phone_query(text, "CN") is None


def test_search_by_any_spelling_hits_the_same_row(make_customer: MakeCustomer, db: Session) -> None:
    customer = make_customer(phones=[{"number": "13900139001"}])
    for spelling in spellings("13900139001"):
        rows, total = service.search_customers(db, user_id=0, clearance=1, q=spelling)
        assert (total, rows[0].id) == (1, customer.id), spelling
        assert [c.id for c in service.lookup_by_phone(db, phone=spelling, user_id=0, clearance=1)] == [
            customer.id
        ]


# --- 不宜访问时间 -------------------------------------------------------------------------------------


def _customer_with(*windows: tuple[int, time, time]) -> Customer:
    customer = Customer()
    customer.contact_windows = [ContactWindow(weekday=d, start=s, end=e) for d, s, e in windows]
    return customer


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """Shanghai wall time as a UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


MONDAY = date(2024, 6, 3)
TUESDAY = date(2024, 6, 4)
SUNDAY = date(2024, 6, 9)


def test_daytime_window_is_read_in_the_centers_zone() -> None:
    customer = _customer_with((0, time(12, 0), time(14, 0)))  # Monday lunch
    assert service.is_unsuitable_time(customer, _at(MONDAY, 12, 0), SHANGHAI)
    assert service.is_unsuitable_time(customer, _at(MONDAY, 13, 59), SHANGHAI)
    assert not service.is_unsuitable_time(customer, _at(MONDAY, 14, 0), SHANGHAI)  # end is open
    assert not service.is_unsuitable_time(customer, _at(MONDAY, 11, 59), SHANGHAI)
    assert not service.is_unsuitable_time(customer, _at(TUESDAY, 12, 30), SHANGHAI)
    # 12:30 in Shanghai is 04:30 UTC: the UTC clock must not be read as wall time.
    assert _at(MONDAY, 12, 30).hour == 4


def test_overnight_window_runs_into_the_next_day() -> None:
    customer = _customer_with((0, time(22, 0), time(8, 0)))  # Monday 22:00 – Tuesday 08:00
    assert service.is_unsuitable_time(customer, _at(MONDAY, 23, 0), SHANGHAI)
    assert service.is_unsuitable_time(customer, _at(TUESDAY, 7, 59), SHANGHAI)
    assert not service.is_unsuitable_time(customer, _at(TUESDAY, 8, 0), SHANGHAI)
    assert not service.is_unsuitable_time(customer, _at(MONDAY, 7, 0), SHANGHAI)


def test_sunday_night_wraps_to_monday_and_equal_ends_block_a_whole_day() -> None:
    customer = _customer_with((6, time(21, 0), time(9, 0)))
    assert service.is_unsuitable_time(customer, _at(MONDAY, 8, 0), SHANGHAI)
    all_day = _customer_with((6, time(0, 0), time(0, 0)))
    assert service.is_unsuitable_time(all_day, _at(SUNDAY, 0, 0), SHANGHAI)
    assert service.is_unsuitable_time(all_day, _at(SUNDAY, 23, 59), SHANGHAI)
    assert not service.is_unsuitable_time(all_day, _at(MONDAY, 0, 0), SHANGHAI)


def test_no_windows_means_always_suitable_and_naive_time_is_refused() -> None:
    assert not service.is_unsuitable_time(_customer_with(), _at(MONDAY, 3), SHANGHAI)
    with pytest.raises(ValueError):
        service.is_unsuitable_time(_customer_with(), datetime(2024, 6, 3, 12), SHANGHAI)


# --- masking, codes, signature -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("6222020200112233445", "***************3445"),
        ("6222-0202-0011", "****-****-0011"),
        ("1234", "***4"),
        (None, None),
    ],
)
def test_bank_account_mask_keeps_the_last_four(account: str | None, masked: str | None) -> None:
    assert service.mask_account(account) == masked


def test_create_customer_keeps_its_public_signature() -> None:
    signature = inspect.signature(service.create_customer)
    assert list(signature.parameters) == ["session", "data", "actor", "region_default"]
    assert signature.parameters["region_default"].default == "CN"
    assert all(p.kind is p.KEYWORD_ONLY for name, p in signature.parameters.items() if name != "session")


def test_create_customer_normalises_with_the_region_given(db: Session) -> None:
    data = CustomerCreate.model_validate(payload(phones=[{"number": "(650) 253-0000"}]))
    customer = service.create_customer(db, data=data, actor=Actor(None, "seed"), region_default="US")
    assert [p.number for p in customer.phones] == ["+16502530000"]
    assert customer.code == "C000001" and customer.phones[0].is_primary


def test_all_problems_are_reported_at_once(db: Session, make_customer: MakeCustomer) -> None:
    make_customer(code="C000042")
    data = CustomerCreate.model_validate(
        payload(code="C000042", owner_id=99999, phones=[{"number": "xyz"}, {"number": "13900139001"}])
    )
    with pytest.raises(InvalidFields) as caught:
        service.create_customer(db, data=data, actor=Actor(None, "seed"))
    assert {p.loc for p in caught.value.problems} == {("phones", 0, "number"), ("code",), ("owner_id",)}
    db.rollback()
    assert db.scalars(select(Customer.code)).all() == ["C000042"]


def test_update_reports_no_fields_when_nothing_changed(make_customer: MakeCustomer, db: Session) -> None:
    customer = make_customer(region="北京市")
    same = CustomerUpdate.model_validate(
        {"region": "北京市", "phones": [{"number": customer.phones[0].number}]}
    )
    service.update_customer(db, customer_id=customer.id, data=same, actor=Actor(None, "t"))
    from core.audit.models import AuditEntry

    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "customer.update")).one()
    assert entry.detail == {"code": customer.code, "fields": []}


# --- catalogs ------------------------------------------------------------------------------------


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        stack: list[Any] = [info.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                names |= _field_names(annotation, seen)
            stack.extend(get_args(annotation))
    return names


INPUT_MODELS = (
    schemas.CustomerCreate,
    schemas.CustomerFromCall,
    schemas.CustomerUpdate,
    schemas.RatingChangeIn,
)
ENUMS: list[type[Enum]] = [
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, Enum) and value.__module__ == models.__name__
]


ALL_ENUMS: list[type[Enum]] = [*ENUMS, Clearance]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_input_field_and_enum_value_has_a_label(language: str) -> None:
    catalog = i18n.catalog(language)
    fields = set().union(*(_field_names(m) for m in INPUT_MODELS)) | {"phone", "file", "payment_terms"}
    missing = sorted(f"field.{f}" for f in fields if f"field.{f}" not in catalog)
    assert missing == []
    missing = sorted(
        f"enum.{enum.__name__}.{member.value}"
        for enum in ALL_ENUMS
        for member in enum
        if f"enum.{enum.__name__}.{member.value}" not in catalog
    )
    assert missing == []


def test_both_catalogs_have_the_same_keys_and_zh_is_chinese() -> None:
    zh = json.loads((LOCALES / "zh-CN" / "customers.json").read_text(encoding="utf-8"))
    en = json.loads((LOCALES / "en" / "customers.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    common = json.loads((LOCALES / "zh-CN" / "common.json").read_text(encoding="utf-8"))
    assert set(zh) & set(common) == set()  # no key repeated from common.json
    assert i18n.translate("ui.customers.column.code", "zh-CN") == "客户代码"
    assert i18n.translate("enum.CustomerKind.corporate", "zh-CN") == "法人"
    chinese = [v for k, v in zh.items() if not k.startswith("enum.CustomerGrade")]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in v) for v in chinese)


def test_import_headers_accept_the_brief_labels() -> None:
    names = importer._header_map()
    for label, key in {
        "客户代码": "code",
        "客户名称": "name",
        "类型": "kind",
        "客户等级": "grade",
        "电话": "phones",
        "地址": "address",
        "地区": "region",
        "联系人": "contact_person",
        "信用等级": "credit_rating",
        "密级": "confidentiality",
        "电子邮箱": "email",
        "备注": "notes",
        "Customer code": "code",
        "credit_rating": "credit_rating",
        "客户名称*": "name",
    }.items():
        assert names[importer._header_key(label)] == key, label
