"""API shapes of the call forms.

For each form, ``<Form>Update`` lists every field the form has, all optional (a PATCH sends what changed);
``<Form>Create`` narrows the ones the paper form cannot leave blank; ``<Form>Out`` adds what the system
fills in (id, agent snapshot, PBX link, times). Phone numbers go in as typed and come out in E.164, or
masked for roles without ``customers.phones_unmasked``. Naive datetimes are the center's wall time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.contacts.models import InboundOutcome, OutboundPurpose, OutboundResult


def _text(max_length: int) -> Any:
    """An optional free-text field of the form."""
    return Field(default=None, max_length=max_length)


class FormInput(BaseModel):
    """What every form's input may carry besides its own fields."""

    model_config = ConfigDict(str_strip_whitespace=True)

    customer_id: int | None = None
    agent_id: int | None = Field(default=None, description="The agent who handled the call; default: you.")
    pbx_linkedid: str | None = Field(default=None, max_length=64, description="Asterisk linkedid.")
    pbx_uniqueid: str | None = Field(default=None, max_length=64)


class RecordOut(BaseModel):
    """What the system adds to every form."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    agent_id: int
    agent_name: str
    agent_number: str | None
    created_by_id: int | None
    pbx_linkedid: str | None
    pbx_uniqueid: str | None
    pbx_call_id: int | None
    created_at: datetime
    updated_at: datetime
    phones_masked: bool = False


# --- 呼入记录表 ---------------------------------------------------------------------------------------


class InboundUpdate(FormInput):
    caller_organisation: str | None = _text(200)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    caller_name: str | None = _text(100)
    caller_position: str | None = _text(100)
    caller_number: str | None = _text(40)
    content: str | None = Field(default=None, min_length=1, max_length=4000)
    remarks: str | None = _text(4000)
    outcome: InboundOutcome | None = None
    transferred_to_department: str | None = _text(100)
    queue_name: str | None = Field(default=None, max_length=64)
    ivr_path: str | None = Field(default=None, max_length=1000)


class InboundCreate(InboundUpdate):
    started_at: datetime
    content: str = Field(min_length=1, max_length=4000)


class InboundOut(RecordOut, InboundCreate):
    pass


# --- 呼出记录表 ---------------------------------------------------------------------------------------


class OutboundUpdate(FormInput):
    called_organisation: str | None = _text(200)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    called_number: str | None = _text(40)
    customer_name: str | None = _text(100)
    customer_position: str | None = _text(100)
    content: str | None = Field(default=None, min_length=1, max_length=4000)
    handling_opinion: str | None = _text(4000)
    purpose: OutboundPurpose | None = None
    result: OutboundResult | None = None
    no_sale_reason: str | None = Field(default=None, max_length=1000)
    next_follow_up_at: datetime | None = None


class OutboundCreate(OutboundUpdate):
    customer_id: int
    started_at: datetime
    content: str = Field(min_length=1, max_length=4000)


class OutboundOut(RecordOut, OutboundCreate):
    pass


# --- 电话记录表 ---------------------------------------------------------------------------------------


class PhoneLogUpdate(FormInput):
    party_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone_number: str | None = _text(40)
    called_at: datetime | None = None
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400 * 7)
    purpose: str | None = _text(4000)
    repeat_call_needed: bool | None = None
    repeat_call_at: datetime | None = None


class PhoneLogCreate(PhoneLogUpdate):
    party_name: str = Field(min_length=1, max_length=200)
    phone_number: str = Field(min_length=1, max_length=40)
    called_at: datetime
    duration_seconds: int = Field(default=0, ge=0, le=86_400 * 7)
    repeat_call_needed: bool = False


class PhoneLogOut(RecordOut, PhoneLogCreate):
    pass


# --- 电话访谈计划表 -----------------------------------------------------------------------------------


class InterviewPlanUpdate(FormInput):
    customer_name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = _text(40)
    date_of_birth: date | None = None
    company_activities: str | None = _text(4000)
    company_products: str | None = _text(4000)
    company_customers: str | None = _text(4000)
    company_prospects: str | None = _text(4000)
    job_place: str | None = _text(200)
    job_environment: str | None = _text(4000)
    job_position: str | None = _text(100)
    job_market: str | None = _text(4000)
    job_competitors: str | None = _text(4000)
    education: str | None = _text(4000)
    employment_history: str | None = _text(4000)
    hobbies: str | None = _text(4000)
    notes: str | None = _text(4000)
    planned_at: datetime | None = None


class InterviewPlanCreate(InterviewPlanUpdate):
    customer_id: int
    customer_name: str = Field(min_length=1, max_length=100)
    planned_at: datetime


class InterviewPlanOut(RecordOut, InterviewPlanCreate):
    pass


# --- views over several forms -------------------------------------------------------------------------


class ContactSummary(BaseModel):
    """One line of a customer's recent calls (the screen pop)."""

    kind: str  # inbound / outbound
    id: int
    started_at: datetime
    ended_at: datetime | None
    agent_id: int
    agent_name: str
    organisation: str | None
    person_name: str | None
    content: str
    outcome: str | None  # the inbound outcome or the outbound result


class TodayCounts(BaseModel):
    day: date  # in the center's time zone
    counts: dict[str, int]  # by form: inbound, outbound, phone-log, interviews
    total: int
