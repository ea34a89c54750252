"""The figures' formulas (core.metrics): bounds, monotonicity, None when nothing counts, worked examples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import metrics

counts = st.integers(min_value=0, max_value=100_000)


@st.composite
def sl_inputs(draw: st.DrawFn) -> tuple[int, int, int]:
    answered = draw(counts)
    within = draw(st.integers(min_value=0, max_value=answered))
    return within, answered, draw(counts)


@given(sl_inputs())
def test_service_level_is_a_percentage_or_none(args: tuple[int, int, int]) -> None:
    within, answered, unanswered_after = args
    sl = metrics.service_level_pct(within, answered, unanswered_after)
    if answered + unanswered_after == 0:
        assert sl is None
    else:
        assert sl is not None and 0.0 <= sl <= 100.0


@given(sl_inputs())
def test_service_level_rises_with_answers_within_threshold(args: tuple[int, int, int]) -> None:
    within, answered, unanswered_after = args
    if within == answered or answered + unanswered_after == 0:
        return
    before = metrics.service_level_pct(within, answered, unanswered_after)
    after = metrics.service_level_pct(within + 1, answered, unanswered_after)
    assert before is not None and after is not None and after >= before


@given(sl_inputs(), st.integers(min_value=1, max_value=1000))
def test_late_unanswered_calls_only_lower_the_service_level(args: tuple[int, int, int], more: int) -> None:
    within, answered, unanswered_after = args
    if answered + unanswered_after == 0:
        return
    before = metrics.service_level_pct(within, answered, unanswered_after)
    after = metrics.service_level_pct(within, answered, unanswered_after + more)
    assert before is not None and after is not None and after <= before


@given(st.integers(min_value=1, max_value=10_000))
def test_everything_answered_in_time_is_100_and_nothing_in_time_is_0(n: int) -> None:
    assert metrics.service_level_pct(n, n, 0) == 100.0
    assert metrics.service_level_pct(0, n, 0) == 0.0
    assert metrics.service_level_pct(0, 0, n) == 0.0


def test_worked_example_short_abandons_do_not_count() -> None:
    # 8 answered (6 within 20 s), 2 hung up after 30 s: 6 / (8 + 2) = 60 %; short abandons are left out by
    # the caller of the formula, so they do not appear at all.
    assert metrics.service_level_pct(6, 8, 2) == 60.0
    assert metrics.service_level_pct(2, 3, 0) == 66.7


def test_nothing_offered_is_none_not_zero() -> None:
    assert metrics.service_level_pct(0, 0, 0) is None
    assert metrics.within_three_rings_pct(0, 0) is None
    assert metrics.percent(0, 0) is None


@pytest.mark.parametrize(("within", "answered", "after"), [(-1, 0, 0), (0, -1, 0), (0, 0, -1), (3, 2, 0)])
def test_impossible_counts_are_refused(within: int, answered: int, after: int) -> None:
    with pytest.raises(ValueError):
        metrics.service_level_pct(within, answered, after)


def test_threshold_is_inclusive_and_unknown_wait_is_not_within() -> None:
    assert metrics.within_threshold(20_000, 20)
    assert not metrics.within_threshold(20_001, 20)
    assert not metrics.within_threshold(None, 20)


@given(st.floats(min_value=1.0, max_value=10.0), st.integers(min_value=0, max_value=120_000))
def test_three_rings_is_three_ring_cycles(cycle: float, ring_ms: int) -> None:
    assert metrics.within_three_rings(ring_ms, cycle) == (ring_ms <= round(3 * cycle * 1000))


def test_three_rings_of_the_chinese_cadence_is_15_seconds() -> None:
    assert metrics.three_rings_ms(5.0) == 15_000
    assert metrics.within_three_rings(15_000, 5.0)
    assert not metrics.within_three_rings(15_001, 5.0)
    assert not metrics.within_three_rings(None, 5.0)


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)), max_size=50))
def test_average_lies_between_the_known_values(values: list[float | None]) -> None:
    known = [v for v in values if v is not None]
    avg = metrics.average(values, digits=6)
    if not known:
        assert avg is None
    else:
        assert avg is not None and min(known) - 1e-6 <= avg <= max(known) + 1e-6


def test_average_of_milliseconds() -> None:
    assert metrics.average_ms_as_s(45_000, 3) == 15.0
    assert metrics.average_ms_as_s(0, 0) is None
    assert metrics.average_ms_as_s(None, 2) is None


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
def test_percent_is_bounded_and_monotonic(part: int, extra: int) -> None:
    whole = part + extra
    pct = metrics.percent(part, whole)
    if whole == 0:
        assert pct is None
        return
    assert pct is not None and 0.0 <= pct <= 100.0
    if part < whole:
        higher = metrics.percent(part + 1, whole)
        assert higher is not None and higher >= pct


# --- service-level variants and three-ring offers (the reports' definitions) -------------------------


def test_service_level_variants_worked_example() -> None:
    # 100 offered: 70 answered (56 within T), 25 abandoned (5 of them short), 5 timed out
    common: dict[str, Any] = {
        "answered_within": 56,
        "answered": 70,
        "abandoned": 25,
        "offered": 100,
        "short_abandoned": 5,
    }
    assert metrics.service_level_variant_pct("answered", **common) == 80.0  # 56 / 70
    assert metrics.service_level_variant_pct("answered_abandoned", **common) == 58.9  # 56 / 95
    assert (
        metrics.service_level_variant_pct("answered_abandoned", exclude_short=True, **common) == 62.2
    )  # 56/90
    assert metrics.service_level_variant_pct("offered", **common) == 56.0  # 56 / 100
    assert metrics.service_level_variant_pct("offered", exclude_short=True, **common) == 58.9  # 56 / 95
    with pytest.raises(ValueError):
        metrics.service_level_variant_pct("bogus", **common)


@given(sl_inputs(), counts, st.sampled_from(metrics.SL_VARIANTS), st.booleans())
def test_service_level_variants_are_percentages_or_none(
    args: tuple[int, int, int], extra: int, variant: str, exclude_short: bool
) -> None:
    within, answered, abandoned = args
    short = min(abandoned, extra)
    offered = answered + abandoned + extra
    sl = metrics.service_level_variant_pct(
        variant,
        answered_within=within,
        answered=answered,
        abandoned=abandoned,
        offered=offered,
        short_abandoned=short,
        exclude_short=exclude_short,
    )
    assert sl is None or 0.0 <= sl <= 100.0


def test_three_ring_offers() -> None:
    cycle = 5.0  # three rings = 15 s
    assert metrics.classify_offer("answered", 15_000, cycle) == "met"
    assert metrics.classify_offer("answered", 15_001, cycle) == "missed"  # answered after three rings
    assert metrics.classify_offer("answered", None, cycle) == "missed"  # ring time unknown: not proven met
    assert metrics.classify_offer("ring_no_answer", 8_000, cycle) == "missed"  # rang out (queue timeout 8 s)
    assert metrics.classify_offer("canceled", 6_000, cycle) is None  # caller hung up / answered elsewhere
    assert metrics.classify_offer("canceled", 20_000, cycle) == "missed"  # had three rings' time
    assert metrics.classify_offer(None, None, cycle) is None  # still ringing


@st.composite
def variant_counts(draw: st.DrawFn) -> dict[str, int]:
    answered = draw(st.integers(min_value=0, max_value=1000))
    abandoned = draw(st.integers(min_value=0, max_value=1000))
    short = draw(st.integers(min_value=0, max_value=abandoned))
    other = draw(st.integers(min_value=0, max_value=1000))  # timed out, left empty: offered only
    within = draw(st.integers(min_value=0, max_value=answered))
    return {
        "answered_within": within,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "offered": answered + abandoned + other,
    }


@given(variant_counts(), st.sampled_from(metrics.SL_VARIANTS), st.booleans())
def test_variant_denominator_is_what_the_percentage_divides_by(
    c: dict[str, int], variant: str, exclude_short: bool
) -> None:
    denominator = metrics.service_level_denominator(
        variant,
        answered=c["answered"],
        abandoned=c["abandoned"],
        offered=c["offered"],
        short_abandoned=c["short_abandoned"],
        exclude_short=exclude_short,
    )
    sl = metrics.service_level_variant_pct(variant, exclude_short=exclude_short, **c)
    assert denominator >= c["answered_within"]
    assert sl == metrics.percent(c["answered_within"], denominator)


def test_variant_denominator_worked_example() -> None:
    # 9 answered, 3 abandoned of which 1 short, 2 timed out: offered 14
    kw = {"answered": 9, "abandoned": 3, "offered": 14, "short_abandoned": 1}
    assert metrics.service_level_denominator("answered", exclude_short=True, **kw) == 9
    assert metrics.service_level_denominator("answered_abandoned", exclude_short=True, **kw) == 11
    assert metrics.service_level_denominator("answered_abandoned", exclude_short=False, **kw) == 12
    assert metrics.service_level_denominator("offered", exclude_short=True, **kw) == 13
    with pytest.raises(ValueError):
        metrics.service_level_denominator("bogus", exclude_short=False, **kw)
    with pytest.raises(ValueError):
        metrics.service_level_denominator("answered", answered=-1, abandoned=0, offered=0)


def test_per_queue_resolution_is_shared_by_the_reports_and_the_wallboard() -> None:
    from core.config import Settings
    from core.service_levels import ServiceLevelConfig
    from reports.aggregates import ReportConfig

    settings = Settings(
        service_level_thresholds={"vip": 10},
        service_level_targets={"vip": 90},
        service_level_variants={"vip": "offered", "odd": "bogus"},
        short_abandon_seconds=3,
        exclude_short_abandons=False,
    )
    core = ServiceLevelConfig.from_settings(settings, {"vip": 15, "billing": 30})
    reports = ReportConfig.of(settings)
    assert (core.threshold_s("vip"), core.threshold_s("billing"), core.threshold_s("x")) == (10, 30, 20)
    assert (core.target_pct("vip"), core.target_pct("x")) == (90, 80)
    assert (core.variant("vip"), core.variant("odd"), core.variant("x")) == (
        "offered",
        "answered_abandoned",
        "answered_abandoned",
    )
    assert (core.short_abandon_ms, core.exclude_short, core.three_rings_ms) == (3000, False, 15000)
    for queue in ("vip", "odd", "x"):
        assert (reports.threshold_s(queue), reports.target_pct(queue), reports.variant(queue)) == (
            core.threshold_s(queue),
            core.target_pct(queue),
            core.variant(queue),
        )
    # 5 within of 9 answered, 3 abandoned (1 short), offered 14; offered variant, short kept: 5 / 14
    assert (
        core.service_level_pct(
            "vip", answered_within=5, answered=9, abandoned=3, offered=14, short_abandoned=1
        )
        == 35.7
    )
    assert core.counted("vip", answered=9, abandoned=3, offered=14, short_abandoned=1) == 14
