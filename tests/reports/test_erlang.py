"""Erlang C against published values, and its behaviour at the edges (large centers, no traffic)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import erlang

# The classic worked example (Wikipedia "Erlang (unit)" / "Erlang C", and callcentrehelper.com "Erlang C
# formula – made simple"): 100 calls in 30 minutes with an AHT of 3 minutes is 10 Erlangs; target 80 % of
# calls answered within 20 s. Published probability of waiting P(wait) per number of agents:
PUBLISHED_P_WAIT = {11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741}


@pytest.mark.parametrize(("agents", "p_wait"), sorted(PUBLISHED_P_WAIT.items()))
def test_probability_of_waiting_matches_the_published_table(agents: int, p_wait: float) -> None:
    intensity = erlang.traffic_intensity(100, 180, 1800)
    assert intensity == 10.0
    assert erlang.erlang_c(agents, intensity) == pytest.approx(p_wait, abs=5e-5)


def test_service_level_and_asa_of_the_worked_example() -> None:
    # SL = 1 − P(wait)·e^(−(N − A)·T/AHT): 13 agents → 1 − 0.2853·e^(−3·20/180) = 79.6 %; 14 → 88.8 %;
    # ASA = P(wait)·AHT/(N − A): 13 agents → 0.2853 × 180 / 3 = 17.1 s
    assert erlang.service_level(13, 10.0, 180, 20) == pytest.approx(0.796, abs=5e-4)
    assert erlang.service_level(14, 10.0, 180, 20) == pytest.approx(0.888, abs=5e-4)
    asa = erlang.asa_s(13, 10.0, 180)
    assert asa is not None and asa == pytest.approx(17.1, abs=0.05)
    # 13 agents give 79.6 % < 80 %: 14 are needed; with 30 % shrinkage ⌈14 / 0.7⌉ = 20 scheduled
    assert erlang.agents_needed(100, 180, 1800, target_pct=80, threshold_s=20) == 14
    assert erlang.with_shrinkage(14, 30) == 20


def test_no_overflow_for_large_centers() -> None:
    # 350 Erlangs: a factorial form would overflow a float (350! ≈ 10^740); the recursion does not
    c = erlang.erlang_c(400, 350.0)
    assert 0.0 < c < 0.01
    needed = erlang.agents_needed(7000, 180, 1800, target_pct=80, threshold_s=20)
    assert 700 < needed < 730
    assert (
        erlang.service_level(needed, 700.0, 180, 20) >= 0.8 > erlang.service_level(needed - 1, 700.0, 180, 20)
    )


def test_edges() -> None:
    assert erlang.erlang_c(5, 0.0) == 0.0
    assert erlang.erlang_c(10, 10.0) == 1.0  # the queue grows without bound
    assert erlang.asa_s(10, 12.0, 180) is None
    assert erlang.agents_needed(0, 180, 1800, target_pct=80, threshold_s=20) == 0
    with pytest.raises(ValueError):
        erlang.with_shrinkage(10, 100)


@given(st.floats(min_value=0.1, max_value=500), st.integers(min_value=1, max_value=60))
def test_more_agents_never_wait_more(intensity: float, extra: int) -> None:
    n = math.floor(intensity) + 1
    assert erlang.erlang_c(n + extra, intensity) <= erlang.erlang_c(n, intensity) + 1e-12
    assert 0.0 <= erlang.erlang_c(n, intensity) <= 1.0
