"""The flows seeded on a new installation (``ivr``, ``callback``, ``survey``, version 1).

``ivr`` has the shape of the lab's IVR whose exchanges are captured in the fixtures: welcome, main menu
(1 customer id, 2 complaint status, 3 complaints team, 4 sales, 5 billing, 0 an agent), customer id with a
Luhn check digit, then the support queue; each queue step offers a call-back over two minutes of estimated
wait."""

from __future__ import annotations

from typing import Any

DEFAULT_FLOW_NAME = "ivr"

# Every queue step offers a call-back when the estimated wait is over two minutes (press 1).
WAIT_OFFER: dict[str, Any] = {
    "wait_over_s": 120,
    "offer_key": "1",
    "estimate_prompt": "wait-estimate",
    "minutes_prompt": "wait-minutes",
    "offer_prompt": "wait-offer",
    "confirmed_prompt": "callback-confirmed",
}

DEFAULT_FLOW: dict[str, Any] = {
    "start": "welcome",
    "prompt_dir": "custom",
    "answer": True,
    "steps": {
        "welcome": {"kind": "say", "prompt": "welcome", "next": "identify"},
        "identify": {"kind": "lookup", "target": "customer_by_caller", "found": "hours", "missing": "hours"},
        "hours": {
            "kind": "hours",
            "weekly": {
                day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
            "holidays": [],
            "open": "main",
            "closed": "closed",
            "callback_when_closed": True,
        },
        "main": {
            "kind": "menu",
            "prompt": "menu",
            "options": [
                {"digit": "1", "next": "enter_id", "caption": "account"},
                {"digit": "2", "next": "enter_case", "caption": "case_status"},
                {"digit": "3", "next": "complaints", "caption": "complaint"},
                {"digit": "4", "next": "sales", "caption": "sales"},
                {"digit": "5", "next": "billing", "caption": "billing"},
                {"digit": "0", "next": "agent", "caption": "agent"},
            ],
            "timeout_ms": 5000,
            "retries": 2,
            "invalid_prompt": "invalid-choice",
            "on_fail": "agent",
            "variable": "IVR_CHOICE",
        },
        "enter_id": {
            "kind": "input",
            "prompt": "enter-id",
            "min_digits": 6,
            "max_digits": 6,
            "timeout_ms": 6000,
            "check": "luhn",
            "retries": 2,
            "invalid_prompt": "invalid-id",
            "next": "find_customer",
            "on_fail": "agent",
        },
        "find_customer": {
            "kind": "lookup",
            "target": "customer_by_id",
            "source": "enter_id",
            "found": "support",
            "missing": "unknown_id",
        },
        "unknown_id": {"kind": "say", "prompt": "unknown-id", "next": "enter_id"},
        "enter_case": {
            "kind": "input",
            "prompt": "enter-case",
            "min_digits": 12,
            "max_digits": 12,
            "timeout_ms": 8000,
            "check": "case_number",
            "retries": 2,
            "invalid_prompt": "invalid-case",
            "next": "case_status",
            "on_fail": "agent",
        },
        "case_status": {
            "kind": "lookup",
            "target": "complaint_status",
            "source": "enter_case",
            "found": "goodbye",
            "missing": "unknown_case",
        },
        "unknown_case": {"kind": "say", "prompt": "unknown-case", "next": "enter_case"},
        "support": {"kind": "route", "queue": "support", "prompt": "hold", "wait_offer": WAIT_OFFER},
        "complaints": {"kind": "route", "queue": "complaints", "prompt": "hold", "wait_offer": WAIT_OFFER},
        "sales": {"kind": "route", "queue": "sales", "prompt": "hold", "wait_offer": WAIT_OFFER},
        "billing": {"kind": "route", "queue": "billing", "prompt": "hold", "wait_offer": WAIT_OFFER},
        "agent": {
            "kind": "transfer_to_agent",
            "queue": "support",
            "prompt": "hold",
            "wait_offer": WAIT_OFFER,
        },
        "goodbye": {"kind": "hangup", "prompt": "goodbye"},
        "closed": {"kind": "hangup", "prompt": "closed"},
    },
}

# Out of the queue unanswered (extensions.conf runs AGI(.../callback) after Queue()): offer a call-back.
CALLBACK_FLOW: dict[str, Any] = {
    "start": "offer",
    "prompt_dir": "custom",
    "answer": False,  # the caller was answered before the queue
    "steps": {
        "offer": {
            "kind": "menu",
            "prompt": "callback-offer",
            "options": [{"digit": "1", "next": "request"}, {"digit": "2", "next": "bye"}],
            "timeout_ms": 5000,
            "retries": 1,
            "invalid_prompt": "invalid-choice",
            "on_fail": "bye",
        },
        "request": {"kind": "callback", "reason": "long_wait", "next": "confirmed"},
        "confirmed": {"kind": "hangup", "prompt": "callback-confirmed"},
        "bye": {"kind": "hangup", "prompt": "goodbye"},
    },
}

# After the agent hung up (Queue option F → [survey] → AGI(.../survey)): the five-point question.
SURVEY_FLOW: dict[str, Any] = {
    "start": "ask",
    "prompt_dir": "custom",
    "answer": False,
    "steps": {
        "ask": {
            "kind": "survey",
            "prompt": "survey",
            "timeout_ms": 5000,
            "retries": 1,
            "invalid_prompt": "invalid-choice",
            "next": "thanks",
            "on_fail": "bye",
        },
        "thanks": {"kind": "hangup", "prompt": "survey-thanks"},
        "bye": {"kind": "hangup"},
    },
}

DEFAULT_FLOWS: dict[str, dict[str, Any]] = {
    DEFAULT_FLOW_NAME: DEFAULT_FLOW,
    "callback": CALLBACK_FLOW,
    "survey": SURVEY_FLOW,
}
