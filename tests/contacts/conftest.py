"""Fixtures for the call-form tests: customers to link to, complete payloads of every form, audit reads."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.models import AuditEntry
from core.customers.models import Customer, CustomerGrade

_codes = itertools.count(1)

MakeCustomer = Callable[..., Customer]


@pytest.fixture
def make_customer(db: Session) -> MakeCustomer:
    def make(name: str = "华信贸易有限公司") -> Customer:
        customer = Customer(code=f"T{next(_codes):06d}", name=name, grade=CustomerGrade.A)
        db.add(customer)
        db.commit()
        return customer

    return make


@pytest.fixture
def customer(make_customer: MakeCustomer) -> Customer:
    return make_customer()


AuditRows = Callable[..., list[AuditEntry]]


@pytest.fixture
def audit_rows(db: Session) -> AuditRows:
    """Audit entries written so far (by the app's own sessions), filtered by column values."""

    def rows(**where: Any) -> list[AuditEntry]:
        db.rollback()  # end any snapshot so rows committed by requests are seen
        query = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(db.scalars(query))

    return rows


def inbound_payload(customer_id: int | None, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "caller_organisation": "华信贸易有限公司",
        "started_at": "2026-11-20T09:00:00+08:00",
        "ended_at": "2026-11-20T09:07:30+08:00",
        "caller_name": "王建国",
        "caller_position": "采购部经理",
        "caller_number": "139 0013 9001",
        "content": "询问上月订单的发货进度，要求提供物流单号。",
        "remarks": "客户语气较急",
        "outcome": "transferred",
        "transferred_to_department": "物流部",
        "queue_name": "sales",
        "ivr_path": "1>3>0",
        "pbx_linkedid": "1763600400.101",
        "pbx_uniqueid": "1763600400.102",
        **overrides,
    }


def outbound_payload(customer_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "called_organisation": "华信贸易有限公司",
        "started_at": "2026-11-20T14:00:00+08:00",
        "ended_at": "2026-11-20T14:12:00+08:00",
        "called_number": "+86 10 6552 1234",
        "customer_name": "李梅",
        "customer_position": "总经理",
        "content": "介绍新一季度的耗材套餐，客户表示预算已用完。",
        "handling_opinion": "明年一月再联系",
        "purpose": "marketing",
        "result": "no_sale",
        "no_sale_reason": "本年度预算已用完",
        "next_follow_up_at": "2027-01-05T10:00:00+08:00",
        "pbx_linkedid": "1763618400.201",
        "pbx_uniqueid": "1763618400.202",
        **overrides,
    }


def phone_log_payload(customer_id: int | None, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "party_name": "华信贸易 张会计",
        "phone_number": "0086-138-0013-8000",
        "called_at": "2026-11-20T16:30:00+08:00",
        "duration_seconds": 185,
        "purpose": "核对发票抬头",
        "repeat_call_needed": True,
        "repeat_call_at": "2026-11-21T10:00:00+08:00",
        "pbx_linkedid": "1763627400.301",
        "pbx_uniqueid": "1763627400.302",
        **overrides,
    }


def interview_payload(customer_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "customer_name": "赵立新",
        "address": "北京市朝阳区建国路88号",
        "phone": "13700137000",
        "date_of_birth": "1978-05-04",
        "company_activities": "办公用品批发",
        "company_products": "打印耗材、纸张",
        "company_customers": "中小企业、学校",
        "company_prospects": "计划拓展华东市场",
        "job_place": "北京总部",
        "job_environment": "开放式办公",
        "job_position": "采购总监",
        "job_market": "华北",
        "job_competitors": "晨光、得力",
        "education": "本科，经济学",
        "employment_history": "曾任某外企采购主管五年",
        "hobbies": "羽毛球",
        "notes": "上午联系为宜",
        "planned_at": "2026-11-25T10:00:00+08:00",
        "pbx_linkedid": None,
        "pbx_uniqueid": None,
        **overrides,
    }
