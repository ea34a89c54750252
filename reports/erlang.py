"""Erlang C staffing: probability of waiting, service level and ASA for N agents, and the agents needed for a
service-level target (with shrinkage).

Traffic intensity A = calls × AHT / interval length (Erlangs). Erlang B is computed with its recursion
``B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))`` — no factorials, stable for thousands of agents — and Erlang C
from it: ``C(N, A) = N·B / (N − A·(1 − B))`` for N > A (else every caller waits: 1).
Then SL(T) = 1 − C·e^(−(N − A)·T / AHT) and ASA = C·AHT / (N − A).
"""

from __future__ import annotations

import math

__all__ = [
    "agents_needed",
    "asa_s",
    "erlang_b",
    "erlang_c",
    "service_level",
    "traffic_intensity",
    "with_shrinkage",
]

MAX_AGENTS = 100_000


def traffic_intensity(calls: float, aht_s: float, interval_s: float) -> float:
    """Offered load in Erlangs."""
    if interval_s <= 0:
        raise ValueError("interval must be positive")
    return max(calls, 0.0) * max(aht_s, 0.0) / interval_s


def erlang_b(agents: int, intensity: float) -> float:
    """Blocking probability of ``agents`` servers under ``intensity`` Erlangs (recursion, stable)."""
    if agents < 0 or intensity < 0:
        raise ValueError("agents and intensity must be non-negative")
    b = 1.0
    for n in range(1, agents + 1):
        b = intensity * b / (n + intensity * b)
    return b


def erlang_c(agents: int, intensity: float) -> float:
    """Probability that a caller waits (0..1); 1 when the agents cannot carry the load (N ≤ A)."""
    if intensity <= 0:
        return 0.0
    if agents <= intensity:
        return 1.0
    b = erlang_b(agents, intensity)
    return agents * b / (agents - intensity * (1.0 - b))


def service_level(agents: int, intensity: float, aht_s: float, threshold_s: float) -> float:
    """Share (0..1) of callers answered within ``threshold_s``."""
    if intensity <= 0:
        return 1.0
    if agents <= intensity or aht_s <= 0:
        return 0.0
    c = erlang_c(agents, intensity)
    return max(0.0, 1.0 - c * math.exp(-(agents - intensity) * threshold_s / aht_s))


def asa_s(agents: int, intensity: float, aht_s: float) -> float | None:
    """Average speed of answer in seconds (None when the queue grows without bound)."""
    if intensity <= 0:
        return 0.0
    if agents <= intensity:
        return None
    return erlang_c(agents, intensity) * aht_s / (agents - intensity)


def agents_needed(
    calls: float, aht_s: float, interval_s: float, *, target_pct: float, threshold_s: float
) -> int:
    """The fewest agents whose service level reaches ``target_pct`` % within ``threshold_s``."""
    intensity = traffic_intensity(calls, aht_s, interval_s)
    if intensity <= 0:
        return 0
    target = min(max(target_pct, 0.0), 99.999) / 100.0
    n = max(1, math.floor(intensity) + 1)
    while n < MAX_AGENTS and service_level(n, intensity, aht_s, threshold_s) < target:
        n += 1
    return n


def with_shrinkage(agents: int, shrinkage_pct: float) -> int:
    """Agents to schedule so that ``agents`` are on the phones after ``shrinkage_pct`` % (breaks, training,
    absence) is lost: ⌈agents / (1 − shrinkage)⌉."""
    if not 0 <= shrinkage_pct < 100:
        raise ValueError("shrinkage must be in [0, 100)")
    return math.ceil(agents / (1.0 - shrinkage_pct / 100.0) - 1e-9)
