"""API shapes for complaints: registration, handling edits, transitions, call-back, lists and summary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.complaints.models import (
    ComplaintCategory,
    ComplaintCause,
    ComplaintChannel,
    ComplaintProblemType,
    ComplaintResolution,
    ComplaintUrgency,
    Satisfaction,
)
from core.complaints.workflow import ComplaintAcceptance, ComplaintStatus

_TEXT = 4000


class ComplaintCreate(BaseModel):
    """客户投诉登记表: what the complaints officer or agent writes down when the complaint comes in."""

    received_at: datetime | None = Field(default=None, description="Unset: now. Naive: the center's time.")
    channel: ComplaintChannel
    customer_id: int | None = Field(default=None, description="Set when the complainant is a known customer.")
    customer_name: str = Field(min_length=1, max_length=100)
    customer_company: str | None = Field(default=None, max_length=200)
    customer_address: str | None = Field(default=None, max_length=300)
    customer_phone: str | None = Field(default=None, max_length=40)
    product: str | None = Field(default=None, max_length=200)
    purchase_date: date | None = None
    order_number: str | None = Field(default=None, max_length=64)
    category: ComplaintCategory
    problem_type: ComplaintProblemType
    reason: str = Field(min_length=1, max_length=_TEXT)
    customer_request: str | None = Field(default=None, max_length=_TEXT)
    urgency: ComplaintUrgency = ComplaintUrgency.NORMAL
    promised_deadline: datetime | None = Field(
        default=None, description="Unset: received_at plus the urgency's hours from the settings."
    )
    pbx_call_linkedid: str | None = Field(default=None, max_length=64)


class ComplaintUpdate(BaseModel):
    """客户投诉处理表: the handling fields (only those sent are changed)."""

    handler_id: int | None = None
    handling_department: str | None = Field(default=None, max_length=100)
    investigation_result: str | None = Field(default=None, max_length=_TEXT)
    cause: ComplaintCause | None = None
    own_fault: bool | None = None
    resolution: ComplaintResolution | None = None
    loss_amount_cents: int | None = Field(default=None, ge=0)
    follow_up_actions: str | None = Field(default=None, max_length=_TEXT)
    acceptance: ComplaintAcceptance | None = None
    urgency: ComplaintUrgency | None = None
    promised_deadline: datetime | None = None
    summary_evaluation: str | None = Field(default=None, max_length=_TEXT)


class TransitionIn(BaseModel):
    """A step of the flow, with the fields that step needs (they are saved with it)."""

    to: ComplaintStatus
    note: str | None = Field(default=None, max_length=2000)
    resolution: ComplaintResolution | None = None
    acceptance: ComplaintAcceptance | None = None
    investigation_result: str | None = Field(default=None, max_length=_TEXT)
    rejection_reason: str | None = Field(default=None, max_length=_TEXT)
    escalated_to_id: int | None = None
    summary_evaluation: str | None = Field(default=None, max_length=_TEXT)


class CallbackIn(BaseModel):
    """回访: the customer's satisfaction after closing, 1 (非常满意) to 5 (非常不满意)."""

    satisfaction: Satisfaction
    note: str | None = Field(default=None, max_length=2000)


class ComplaintEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    by_id: int | None
    by_name: str | None = None
    action: str
    from_status: ComplaintStatus | None
    to_status: ComplaintStatus
    note: str | None
    changes: dict[str, Any] | None


class ComplaintBrief(BaseModel):
    """What the screen pop shows of a customer's open complaints."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_number: str
    status: ComplaintStatus
    urgency: ComplaintUrgency
    category: ComplaintCategory
    received_at: datetime
    promised_deadline: datetime
    overdue: bool = False


class ComplaintListItem(ComplaintBrief):
    channel: ComplaintChannel
    customer_id: int | None
    customer_name: str
    customer_company: str | None
    customer_phone: str | None  # E.164, or masked for roles without customers.phones_unmasked
    product: str | None
    order_number: str | None
    problem_type: ComplaintProblemType
    acceptance: ComplaintAcceptance
    handler_id: int | None
    handler_name: str | None = None
    handling_department: str | None
    actual_completed_at: datetime | None
    escalation_level: int
    closing_number: str | None
    satisfaction: Satisfaction | None


class ComplaintOut(ComplaintListItem):
    customer_address: str | None
    purchase_date: date | None
    reason: str
    customer_request: str | None
    rejection_reason: str | None
    investigation_result: str | None
    cause: ComplaintCause | None
    own_fault: bool | None
    resolution: ComplaintResolution | None
    loss_amount_cents: int | None
    follow_up_actions: str | None
    summary_evaluation: str | None
    registered_by_id: int | None
    registered_by_name: str | None = None
    pbx_call_linkedid: str | None
    pbx_call_id: int | None
    escalated_to_id: int | None
    callback_at: datetime | None
    callback_by_id: int | None
    callback_note: str | None
    created_at: datetime
    updated_at: datetime
    allowed_transitions: list[ComplaintStatus] = []
    events: list[ComplaintEventOut] = []


class SummaryFigures(BaseModel):
    received: int
    resolved: int
    resolution_ratio: float | None
    quality_related: int
    quality_share: float | None
    overdue: int
    closed_late: int
    callbacks: int
    average_satisfaction: float | None


class DaySummary(SummaryFigures):
    day: date


class ComplaintSummary(BaseModel):
    """客户投诉报告表 figures per center-zone day of receipt, and over the whole range."""

    start: date
    end: date
    timezone: str
    computed_at: datetime
    days: list[DaySummary]
    total: SummaryFigures
    definitions: dict[str, str]
