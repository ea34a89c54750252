"""Call-center figures as pure formulas: service level, within-three-rings compliance and averages.

One definition of each figure, used by the wallboard, an agent's "my day" and the reports, so the same
numbers come out everywhere. Everything here is pure (numbers in, numbers out, no I/O). The reports and the
wallboard compute a queue's service level by its **variant** (below; each queue's variant, threshold,
target and short-abandon rule resolved by ``core.service_levels``), and three-ring compliance **per offer**
(:func:`classify_offer`); an agent's "my day" uses the per-offer rule too.

**Service level, the fixed formula** (:func:`service_level_pct`: "X % of calls answered within T seconds",
with short abandons left out, the formula ICMI recommends; kept for callers that need this one formula)::

    SL % = answered within T / (answered + unanswered after T) × 100

* a queue stay (``QueueLeg``) that a member answered counts as *answered*; it is *within T* when its wait
  (join → answer) is at most T seconds, T being the queue's threshold (Asterisk's ``servicelevel``, 20 s by
  default); an answered stay whose wait is unknown counts as answered, not within;
* a stay the caller left unanswered (abandoned, queue timeout, pushed out of an emptied queue) counts
  against the service level only when the caller waited longer than T (or the wait is unknown): a caller
  who hangs up within T is a *short abandon*, neither met nor missed — no agent could have answered in time;
* stays still in progress and refusals at the door (no join) are not counted;
* ``None`` when nothing counts yet (a figure of 0 % would be a false alarm at the start of a day).

**Within three rings, per answered call** (:func:`within_three_rings_pct`; 来电铃响 3 声内必须应答)::

    compliance % = answered with ring time ≤ 3 × ring cycle / answered with a known ring time × 100

The ring time is the answered ring attempt's (the agent's phone ringing → answer); a ring cycle is
``ring_cycle_seconds`` (5 s in China, so three rings is 15 s).

**Service-level variants** (reports and wallboard; each queue chooses one in
``core.config.Settings.service_level_variants``; :func:`service_level_denominator` gives the denominator)::

    answered            SL % = answered within T / answered
    answered_abandoned  SL % = answered within T / (answered + abandoned [− short abandons])
    offered             SL % = answered within T / (offered [− short abandons])

the bracketed part when short abandons are excluded (a short abandon: an abandon within the short-abandon
threshold). See :func:`service_level_variant_pct`.

**Three-ring compliance per offer** (reports, wallboard, my day): every ring of an agent's phone for a
caller (one ``RingAttempt``) is one offer; it is *met* when answered within 3 × ring cycle; *missed* when
it rang out (ring-no-answer), was answered only after three rings, or was cancelled after ringing longer
than three rings (the agent had three rings' time and did not answer); an offer cancelled within three
rings (the caller hung up or another agent answered first) is left out. Compliance = met / (met + missed).
See :func:`classify_offer`.

**Averages**: the mean of the known values, ``None`` when there is none; average wait (ASA) is over answered
stays, average talk over answered stays with a known talk time.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "SL_VARIANTS",
    "THREE_RINGS",
    "average",
    "average_ms_as_s",
    "classify_offer",
    "percent",
    "service_level_denominator",
    "service_level_pct",
    "service_level_variant_pct",
    "three_rings_ms",
    "within_three_rings",
    "within_three_rings_pct",
    "within_threshold",
]

THREE_RINGS = 3  # the handbook's rule: answer within three rings
SL_VARIANTS = ("answered", "answered_abandoned", "offered")


def percent(part: int, whole: int, *, digits: int = 1) -> float | None:
    """``part`` of ``whole`` in %, rounded; ``None`` when ``whole`` is 0. ``0 <= part <= whole`` required."""
    if part < 0 or whole < 0 or part > whole:
        raise ValueError(f"need 0 <= part <= whole, got {part}/{whole}")
    if whole == 0:
        return None
    return round(100.0 * part / whole, digits)


def within_threshold(wait_ms: int | None, threshold_s: float) -> bool:
    """A wait at most the threshold (an unknown wait is not within)."""
    return wait_ms is not None and wait_ms <= threshold_s * 1000


def service_level_pct(answered_within: int, answered: int, unanswered_after: int) -> float | None:
    """Service level in % (see the module docstring): ``answered_within / (answered + unanswered_after)``.

    ``unanswered_after``: stays left unanswered after waiting longer than the threshold (short abandons
    excluded). ``None`` when no call counts yet."""
    if answered_within < 0 or answered < 0 or unanswered_after < 0:
        raise ValueError("counts cannot be negative")
    if answered_within > answered:
        raise ValueError(f"answered within ({answered_within}) exceeds answered ({answered})")
    return percent(answered_within, answered + unanswered_after)


def three_rings_ms(ring_cycle_seconds: float) -> int:
    """The three-ring target in milliseconds (15 000 for a 5 s ring cycle)."""
    return round(THREE_RINGS * ring_cycle_seconds * 1000)


def within_three_rings(ring_ms: int | None, ring_cycle_seconds: float) -> bool:
    """Answered within three rings (an unknown ring time is not)."""
    return ring_ms is not None and ring_ms <= three_rings_ms(ring_cycle_seconds)


def within_three_rings_pct(within: int, measured: int) -> float | None:
    """Within-three-rings compliance in %: answered within three rings / answered with a known ring time."""
    return percent(within, measured)


def average(values: Iterable[float | int | None], *, digits: int = 1) -> float | None:
    """The mean of the known values, rounded; ``None`` when there is none."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    return round(sum(known) / len(known), digits)


def average_ms_as_s(total_ms: int | None, count: int, *, digits: int = 1) -> float | None:
    """A mean in seconds from a sum of milliseconds and a count (as SQL aggregates give them)."""
    if not count or total_ms is None:
        return None
    return round(total_ms / count / 1000.0, digits)


def service_level_variant_pct(
    variant: str,
    *,
    answered_within: int,
    answered: int,
    abandoned: int,
    offered: int,
    short_abandoned: int = 0,
    exclude_short: bool = False,
) -> float | None:
    """Service level in % by a queue's variant (see the module docstring); ``None`` when nothing counts.

    ``short_abandoned`` is a subset of ``abandoned`` (itself a subset of ``offered``); it is taken out of the
    denominator only when ``exclude_short`` (the ``answered`` variant never counts abandons)."""
    if answered_within < 0:
        raise ValueError("counts cannot be negative")
    return percent(
        answered_within,
        service_level_denominator(
            variant,
            answered=answered,
            abandoned=abandoned,
            offered=offered,
            short_abandoned=short_abandoned,
            exclude_short=exclude_short,
        ),
    )


def service_level_denominator(
    variant: str,
    *,
    answered: int,
    abandoned: int,
    offered: int,
    short_abandoned: int = 0,
    exclude_short: bool = False,
) -> int:
    """The calls a variant's service level is computed over (its denominator; see the module docstring).
    The wallboard's "enough calls for an alert" counts these."""
    if min(answered, abandoned, offered, short_abandoned) < 0:
        raise ValueError("counts cannot be negative")
    short = short_abandoned if exclude_short else 0
    if variant == "answered":
        return answered
    if variant == "answered_abandoned":
        return answered + abandoned - short
    if variant == "offered":
        return offered - short
    raise ValueError(f"unknown service-level variant {variant!r}")


def classify_offer(outcome: str | None, ring_ms: int | None, ring_cycle_seconds: float) -> str | None:
    """One offer (ring attempt) for three-ring compliance: ``"met"``, ``"missed"`` or ``None`` (left out:
    still ringing, or cancelled within three rings). ``outcome``: ``answered`` | ``ring_no_answer`` |
    ``canceled`` (``acd.records.models.RingOutcome`` values)."""
    if outcome == "answered":
        return "met" if within_three_rings(ring_ms, ring_cycle_seconds) else "missed"
    if outcome == "ring_no_answer":
        return "missed"
    if outcome == "canceled":
        # rang longer than three rings before the caller gave up: the agent had the time to answer
        return "missed" if ring_ms is not None and ring_ms > three_rings_ms(ring_cycle_seconds) else None
    return None
