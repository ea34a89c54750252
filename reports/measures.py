"""The call measures: their codes, labels and formulas (i18n keys ``reports.measure.<code>`` and
``reports.formula.<code>``, zh-CN and en), and the derivation of every figure from additive counters.

A figure is ``None`` whenever there is nothing to count (no division by zero, no false 0 %). The formulas of
service level and three-ring compliance are ``core.metrics``' (the wallboard's too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import i18n, metrics

__all__ = [
    "AGENT_ONLY",
    "MEASURES",
    "QUEUE_ONLY",
    "add_counters",
    "definitions",
    "derive_agent",
    "derive_queue",
]

# every figure of a row of GET /api/reports/calls, in column order
MEASURES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timed_out",
    "left_empty",
    "refused",
    "transferred",
    "answered_within_threshold",
    "threshold_s",
    "target_pct",
    "sl_variant",
    "service_level_pct",
    "asa_s",
    "avg_wait_s",
    "max_wait_s",
    "aht_s",
    "acw_s",
    "occupancy_pct",
    "utilisation_pct",
    "offers",
    "met_3_rings",
    "missed_3_rings",
    "three_ring_compliance_pct",
    "ring_no_answer",
)
QUEUE_ONLY = frozenset(
    {
        "offered",
        "abandoned",
        "short_abandoned",
        "timed_out",
        "left_empty",
        "refused",
        "answered_within_threshold",
        "threshold_s",
        "target_pct",
        "sl_variant",
        "service_level_pct",
        "asa_s",
        "avg_wait_s",
        "max_wait_s",
    }
)
AGENT_ONLY = frozenset({"occupancy_pct", "utilisation_pct"})


def definitions(language: str) -> list[dict[str, str]]:
    """[{code, label, formula}] of every measure, in ``language``."""
    return [
        {
            "code": code,
            "label": i18n.translate(f"reports.measure.{code}", language),
            "formula": i18n.translate(f"reports.formula.{code}", language),
        }
        for code in MEASURES
    ]


def add_counters(total: dict[str, int], counters: Mapping[str, Any]) -> None:
    for name, value in counters.items():
        if name in ("interface", "threshold_s"):
            continue
        value = int(value or 0)
        if name.startswith("max_"):
            total[name] = max(total.get(name, 0), value)
        else:
            total[name] = total.get(name, 0) + value


def _avg_s(total_ms: int, n: int) -> float | None:
    return metrics.average_ms_as_s(total_ms, n)


def _three_rings(c: Mapping[str, int]) -> dict[str, Any]:
    met, missed = c.get("met", 0), c.get("missed", 0)
    return {
        "offers": c.get("offers", 0),
        "met_3_rings": met,
        "missed_3_rings": missed,
        "three_ring_compliance_pct": metrics.percent(met, met + missed),
        "ring_no_answer": c.get("ring_no_answer", 0),
    }


def _handle(c: Mapping[str, int]) -> dict[str, Any]:
    # AHT = (talk + hold + wrap-up) / handled; Asterisk's talk time already includes any hold
    talk_n = c.get("talk_n", 0)
    return {
        "aht_s": _avg_s(c.get("talk_ms", 0) + c.get("wrapup_ms", 0), talk_n),
        "acw_s": _avg_s(c.get("wrapup_ms", 0), c.get("wrapup_n", 0)),
    }


def derive_queue(
    c: Mapping[str, int], *, threshold_s: int, target_pct: int, variant: str, exclude_short: bool
) -> dict[str, Any]:
    """A queue row's figures from its summed counters."""
    offered, answered = c.get("offered", 0), c.get("answered", 0)
    within = c.get("answered_within", 0)
    row: dict[str, Any] = {
        "offered": offered,
        "answered": answered,
        "abandoned": c.get("abandoned", 0),
        "short_abandoned": c.get("short_abandoned", 0),
        "timed_out": c.get("timed_out", 0),
        "left_empty": c.get("left_empty", 0),
        "refused": c.get("refused", 0),
        "transferred": c.get("transferred", 0),
        "answered_within_threshold": within,
        "threshold_s": threshold_s,
        "target_pct": target_pct,
        "sl_variant": variant,
        "service_level_pct": metrics.service_level_variant_pct(
            variant,
            answered_within=within,
            answered=answered,
            abandoned=c.get("abandoned", 0),
            offered=offered,
            short_abandoned=c.get("short_abandoned", 0),
            exclude_short=exclude_short,
        ),
        "asa_s": _avg_s(c.get("wait_answered_ms", 0), c.get("wait_answered_n", 0)),
        "avg_wait_s": _avg_s(c.get("wait_ms", 0), c.get("wait_n", 0)),
        "max_wait_s": round(c.get("max_wait_ms", 0) / 1000.0, 1) if c.get("wait_n", 0) else None,
        **_handle(c),
        "occupancy_pct": None,
        "utilisation_pct": None,
        **_three_rings(c),
    }
    return row


def derive_agent(c: Mapping[str, int]) -> dict[str, Any]:
    """An agent's (or a team's: the sum of its agents) row figures from summed counters.

    Occupancy = handling time (talk + wrap-up) / available time (logged in − paused); utilisation = handling
    time / logged-in time. Both capped at 100 % (a call may outlast the login)."""
    handling = c.get("talk_ms", 0) + c.get("wrapup_ms", 0)
    logged = c.get("logged_in_ms", 0)
    available = max(logged - c.get("paused_ms", 0), 0)
    row: dict[str, Any] = {name: None for name in MEASURES}
    row.update(
        {
            "answered": c.get("answered", 0),
            "transferred": c.get("transferred", 0),
            **_handle(c),
            "occupancy_pct": metrics.percent(min(handling, available), available),
            "utilisation_pct": metrics.percent(min(handling, logged), logged),
            **_three_rings(c),
        }
    )
    return row
