"""Tables of the customer file (客户信息资料表) and of customer import jobs.

Every field of the paper form has a column: the corporate form's legal representative, company and bank
fields live in ``customer_corporate``, the individual form's in ``customer_individual``; both forms share
the customer row (code, grade, credit, region, 密级), its phones, visits, service history and the weekly
windows in which the customer must not be called (不宜访问时间).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, TimestampMixin, enum_type
from core.people.models import User
from core.security.roles import Clearance


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"  # 自然人客户
    CORPORATE = "corporate"  # 法人客户


class CustomerGrade(StrEnum):
    AAA = "AAA"
    AA = "AA"
    A = "A"
    B = "B"


class SalesShareClass(StrEnum):
    """The alternative grading by share of the company's sales (A = largest share)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class CreditRating(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    VERY_POOR = "very_poor"


class PaymentBehaviour(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    VERY_BAD = "very_bad"


class PhoneLabel(StrEnum):
    MOBILE = "mobile"
    OFFICE = "office"
    HOME = "home"
    FAX = "fax"
    OTHER = "other"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNSPECIFIED = "unspecified"


class RatingField(StrEnum):
    """The customer fields that change only with a logged reason."""

    GRADE = "grade"
    CREDIT_RATING = "credit_rating"
    CONFIDENTIALITY = "confidentiality"


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Customer(Base, TimestampMixin):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("confidentiality BETWEEN 0 AND 3", name="confidentiality_range"),
        Index("ix_customers_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 客户代码, e.g. C000123
    kind: Mapped[CustomerKind] = mapped_column(enum_type(CustomerKind), default=CustomerKind.INDIVIDUAL)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(100), index=True)  # 地区
    grade: Mapped[CustomerGrade] = mapped_column(enum_type(CustomerGrade))  # 客户等级
    sales_share_class: Mapped[SalesShareClass | None] = mapped_column(enum_type(SalesShareClass))
    credit_rating: Mapped[CreditRating | None] = mapped_column(enum_type(CreditRating))  # 信用等级
    confidentiality: Mapped[int] = mapped_column(default=int(Clearance.INTERNAL))  # 密级 0–3
    contact_person: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(CustomerPhone.is_primary.desc(), CustomerPhone.id)",
    )
    corporate: Mapped[CorporateProfile | None] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )
    individual: Mapped[IndividualProfile | None] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )
    visits: Mapped[list[CustomerVisit]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CustomerVisit.visited_on.desc()"
    )
    service_history: Mapped[list[ServiceHistory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServiceHistory.served_on.desc()"
    )
    contact_windows: Mapped[list[ContactWindow]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(ContactWindow.weekday, ContactWindow.start)",
    )


class CustomerPhone(Base):
    """One number of a customer, in E.164; the index on ``number`` is how an incoming call finds its file."""

    __tablename__ = "customer_phones"
    __table_args__ = (UniqueConstraint("customer_id", "number", name="uq_customer_phones_customer_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), index=True)
    label: Mapped[PhoneLabel] = mapped_column(enum_type(PhoneLabel), default=PhoneLabel.MOBILE)
    is_primary: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CorporateProfile(Base):
    """The corporate customer's form (法人客户): legal representative, company, bank and payment terms."""

    __tablename__ = "customer_corporate"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    legal_rep_name: Mapped[str | None] = mapped_column(String(100))  # 法定代表人
    legal_rep_birth_date: Mapped[date | None] = mapped_column()
    legal_rep_character: Mapped[str | None] = mapped_column(String(300))  # 性格
    legal_rep_interests: Mapped[str | None] = mapped_column(String(300))  # 兴趣爱好
    legal_rep_education: Mapped[str | None] = mapped_column(String(100))  # 学历
    legal_rep_ability: Mapped[str | None] = mapped_column(String(300))  # 能力
    employees: Mapped[int | None] = mapped_column()  # 企业规模（人数）
    annual_output_cents: Mapped[int | None] = mapped_column(BigInteger)  # 年产值
    main_customers: Mapped[str | None] = mapped_column(Text)
    trading_area: Mapped[str | None] = mapped_column(String(300))  # 交易区域
    products_and_prices: Mapped[str | None] = mapped_column(Text)  # 交易产品及价格
    bank_name: Mapped[str | None] = mapped_column(String(200))
    bank_account: Mapped[str | None] = mapped_column(String(64))
    bank_credit: Mapped[str | None] = mapped_column(String(200))  # 银行信用
    registered_capital_cents: Mapped[int | None] = mapped_column(BigInteger)  # 资本金
    payment_cash_pct: Mapped[int | None] = mapped_column()  # 付款方式：现金 %
    payment_cheque_pct: Mapped[int | None] = mapped_column()  # 支票 %
    payment_draft_pct: Mapped[int | None] = mapped_column()  # 汇票 %
    payment_behaviour: Mapped[PaymentBehaviour | None] = mapped_column(
        enum_type(PaymentBehaviour)
    )  # 付款情况

    customer: Mapped[Customer] = relationship(back_populates="corporate")


class IndividualProfile(Base):
    """The individual customer's form (自然人客户)."""

    __tablename__ = "customer_individual"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    gender: Mapped[Gender | None] = mapped_column(enum_type(Gender))
    birth_date: Mapped[date | None] = mapped_column()
    occupation: Mapped[str | None] = mapped_column(String(100))
    services_hoped: Mapped[str | None] = mapped_column(Text)  # 客户希望的服务

    customer: Mapped[Customer] = relationship(back_populates="individual")


class CustomerVisit(Base):
    """A visit to the customer (访问日期及事由)."""

    __tablename__ = "customer_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    visited_on: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship(lazy="joined")


class ServiceHistory(Base):
    """A service given to the customer (服务记录): what, when, the next one due, the customer's opinion."""

    __tablename__ = "customer_service_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    served_on: Mapped[date] = mapped_column()
    item: Mapped[str] = mapped_column(String(300))
    next_due: Mapped[date | None] = mapped_column()
    opinion: Mapped[str | None] = mapped_column(Text)


class ContactWindow(Base):
    """A weekly window in which the customer must not be called (不宜访问时间), in the center's wall time.

    ``end`` earlier than ``start`` means the window runs past midnight into the next day (22:00–08:00).
    """

    __tablename__ = "customer_contact_windows"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column()  # 0 = Monday … 6 = Sunday
    start: Mapped[time] = mapped_column()
    end: Mapped[time] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(200))


class CustomerRatingChange(Base):
    """客户信用度变更表: every change of grade, credit rating or 密级, with its reason."""

    __tablename__ = "customer_rating_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    field: Mapped[RatingField] = mapped_column(enum_type(RatingField))
    old_value: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by: Mapped[User | None] = relationship(lazy="joined")


class CustomerImportJob(Base, TimestampMixin):
    """A spreadsheet import running in the background; the UI polls it for its progress bar."""

    __tablename__ = "customer_import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus), default=ImportStatus.QUEUED)
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")  # the requester's, for row errors
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{row, field, message}]
    failure: Mapped[str | None] = mapped_column(String(500))  # why a whole job failed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column()
