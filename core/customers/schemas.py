"""API shapes of the customer file: input (create, create from the agent's call, partial update, rating
change), output (detail, list item, rating log, import job).

Phone numbers arrive as typed; the service normalises them with the center's region (a bad one is a 422 on
``phones.<i>.number``). Output phones are already masked or not for the reader by the view.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from core.customers.models import (
    CreditRating,
    CustomerGrade,
    CustomerKind,
    Gender,
    ImportStatus,
    PaymentBehaviour,
    PhoneLabel,
    RatingField,
    SalesShareClass,
)

Str100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Str200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Str300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Str500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Str4000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_\-]+$")
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Linkedid = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
BankAccount = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z \-]{4,64}$")]


# --- input -------------------------------------------------------------------------------------


class _Form(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _blank_is_no_value(cls, data: Any) -> Any:
        """Forms send "" for an empty box: that is no value (missing when required, null otherwise)."""
        if not isinstance(data, dict):
            return data
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str) and not value.strip():
                info = cls.model_fields.get(key)
                if info is not None and info.is_required():
                    continue
                value = None
            cleaned[key] = value
        return cleaned


class PhoneIn(_Form):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
    label: PhoneLabel = PhoneLabel.MOBILE
    is_primary: bool = False


class CorporateProfileIn(_Form):
    """法人客户资料. Payment terms are whole percentages; together at most 100 (checked by the service,
    which also sees the stored values when an update changes only some of them)."""

    legal_rep_name: Str100 | None = None
    legal_rep_birth_date: date | None = None
    legal_rep_character: Str300 | None = None
    legal_rep_interests: Str300 | None = None
    legal_rep_education: Str100 | None = None
    legal_rep_ability: Str300 | None = None
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_output_cents: int | None = Field(default=None, ge=0)
    main_customers: Str4000 | None = None
    trading_area: Str300 | None = None
    products_and_prices: Str4000 | None = None
    bank_name: Str200 | None = None
    bank_account: BankAccount | None = None
    bank_credit: Str200 | None = None
    registered_capital_cents: int | None = Field(default=None, ge=0)
    payment_cash_pct: int | None = Field(default=None, ge=0, le=100)
    payment_cheque_pct: int | None = Field(default=None, ge=0, le=100)
    payment_draft_pct: int | None = Field(default=None, ge=0, le=100)
    payment_behaviour: PaymentBehaviour | None = None


class IndividualProfileIn(_Form):
    """自然人客户资料."""

    gender: Gender | None = None
    birth_date: date | None = None
    occupation: Str100 | None = None
    services_hoped: Str4000 | None = None


class ContactWindowIn(_Form):
    """Not to be called on ``weekday`` from ``start`` to ``end`` (center time; end < start = overnight)."""

    weekday: int = Field(ge=0, le=6)
    start: time
    end: time
    note: Str200 | None = None


class VisitIn(_Form):
    visited_on: date
    reason: Str500
    by_user_id: int | None = None  # who visited; the person entering it when not given


class ServiceHistoryIn(_Form):
    served_on: date
    item: Str300
    next_due: date | None = None
    opinion: Str4000 | None = None


class _CustomerFields(_Form):
    name: Str200
    kind: CustomerKind = CustomerKind.INDIVIDUAL
    address: Str300 | None = None
    region: Str100 | None = None
    sales_share_class: SalesShareClass | None = None
    contact_person: Str100 | None = None
    email: Email | None = None
    notes: Str4000 | None = None
    owner_id: int | None = None


class CustomerCreate(_CustomerFields):
    code: Code | None = Field(default=None, description="客户代码; generated as C + 6 digits when not given.")
    grade: CustomerGrade
    credit_rating: CreditRating | None = None
    confidentiality: int = Field(default=1, ge=0, le=3, description="密级: 0 公开 … 3 机密.")
    phones: list[PhoneIn] = Field(min_length=1, max_length=20)
    corporate: CorporateProfileIn | None = None
    individual: IndividualProfileIn | None = None
    contact_windows: list[ContactWindowIn] = Field(default_factory=list, max_length=50)
    visits: list[VisitIn] = Field(default_factory=list, max_length=500)
    service_history: list[ServiceHistoryIn] = Field(default_factory=list, max_length=500)


class CustomerFromCall(CustomerCreate):
    """The unknown caller's file, filed from the agent's screen pop: ``pbx_linkedid`` names the agent's own
    current call and the server adds the caller's number from the call (the agent sees it masked, so could
    not type it); ``phones`` then holds only further numbers and may be empty."""

    pbx_linkedid: Linkedid = Field(description="Asterisk linkedid of the agent's current call.")
    phones: list[PhoneIn] = Field(default_factory=list, max_length=19)


class CustomerUpdate(_Form):
    """Partial update: fields left out stay as they are. Lists given replace the stored ones; a profile
    given is merged into the stored one. Grade, credit rating and 密级 are refused here: they change only
    through the rating endpoint, with a reason."""

    model_config = ConfigDict(extra="forbid")

    code: Code | None = None
    name: Str200 | None = None
    kind: CustomerKind | None = None
    address: Str300 | None = None
    region: Str100 | None = None
    sales_share_class: SalesShareClass | None = None
    contact_person: Str100 | None = None
    email: Email | None = None
    notes: Str4000 | None = None
    owner_id: int | None = None
    phones: list[PhoneIn] | None = Field(default=None, min_length=1, max_length=20)
    corporate: CorporateProfileIn | None = None
    individual: IndividualProfileIn | None = None
    contact_windows: list[ContactWindowIn] | None = Field(default=None, max_length=50)
    visits: list[VisitIn] | None = Field(default=None, max_length=500)
    service_history: list[ServiceHistoryIn] | None = Field(default=None, max_length=500)
    grade: SkipJsonSchema[Any] = None
    credit_rating: SkipJsonSchema[Any] = None
    confidentiality: SkipJsonSchema[Any] = None

    @field_validator("grade", "credit_rating", "confidentiality", mode="before")
    @classmethod
    def _only_through_rating_change(cls, value: Any) -> Any:
        raise PydanticCustomError("rating_change_required", "change it through the rating endpoint")

    @field_validator("code", "name", "kind", "phones", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Leaving a required field out keeps it; sending null would empty it.
        if value is None:
            raise PydanticCustomError("missing", "required")
        return value


class RatingChangeIn(_Form):
    """One change of grade, credit rating or 密级, with why (客户信用度变更表)."""

    field: RatingField
    value: str | int | None = Field(
        description="grade: AAA/AA/A/B; credit_rating: excellent…very_poor (null clears it); "
        "confidentiality: 0–3."
    )
    reason: Str500


# --- output ------------------------------------------------------------------------------------


class PhoneOut(BaseModel):
    id: int
    number: str  # national display form, masked unless the reader may see numbers
    e164: str | None  # only for readers who may see numbers
    label: PhoneLabel
    is_primary: bool
    masked: bool


class CorporateProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    legal_rep_name: str | None
    legal_rep_birth_date: date | None
    legal_rep_character: str | None
    legal_rep_interests: str | None
    legal_rep_education: str | None
    legal_rep_ability: str | None
    employees: int | None
    annual_output_cents: int | None
    main_customers: str | None
    trading_area: str | None
    products_and_prices: str | None
    bank_name: str | None
    bank_account: str | None  # masked like phones
    bank_credit: str | None
    registered_capital_cents: int | None
    payment_cash_pct: int | None
    payment_cheque_pct: int | None
    payment_draft_pct: int | None
    payment_behaviour: PaymentBehaviour | None


class IndividualProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gender: Gender | None
    birth_date: date | None
    occupation: str | None
    services_hoped: str | None


class ContactWindowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    weekday: int
    start: time
    end: time
    note: str | None


class VisitOut(BaseModel):
    id: int
    visited_on: date
    reason: str
    by_user_id: int | None  # same name as in VisitIn, so a form can send the list back unchanged
    by_user_name: str | None


class ServiceHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    served_on: date
    item: str
    next_due: date | None
    opinion: str | None


class CustomerListItem(BaseModel):
    id: int
    code: str
    kind: CustomerKind
    name: str
    region: str | None
    grade: CustomerGrade
    sales_share_class: SalesShareClass | None
    credit_rating: CreditRating | None
    confidentiality: int
    contact_person: str | None
    primary_phone: str | None  # masked unless allowed
    phones: list[str]  # masked unless allowed
    owner_id: int | None
    owner_name: str | None
    updated_at: datetime


class CustomerOut(BaseModel):
    id: int
    code: str
    kind: CustomerKind
    name: str
    address: str | None
    region: str | None
    grade: CustomerGrade
    sales_share_class: SalesShareClass | None
    credit_rating: CreditRating | None
    confidentiality: int
    contact_person: str | None
    email: str | None
    notes: str | None
    owner_id: int | None
    owner_name: str | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    phones: list[PhoneOut]
    corporate: CorporateProfileOut | None
    individual: IndividualProfileOut | None
    contact_windows: list[ContactWindowOut]
    visits: list[VisitOut]
    service_history: list[ServiceHistoryOut]
    contact_unsuitable_now: bool  # inside a 不宜访问时间 window right now: warn before calling


class RatingChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    field: RatingField
    old_value: str | None
    new_value: str | None
    reason: str
    changed_by_id: int | None
    changed_by_name: str | None = None
    changed_at: datetime


class ImportRowError(BaseModel):
    row: int  # as in the spreadsheet: the header is row 1
    field: str  # the customer field (code, grade, phones …); "" for the row as a whole
    column: str | None = None  # the header as written in the file
    code: str  # the message key, e.g. validation.duplicate
    message: str  # in the requester's language


class ImportJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    status: ImportStatus
    total_rows: int
    processed_rows: int
    created_count: int
    error_count: int
    errors: list[ImportRowError]
    failure: str | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
