"""Each queue's service-level settings, resolved one way for the reports and the wallboard.

Owns :class:`ServiceLevelConfig`: a queue's threshold T, target %, formula (variant), the short-abandon
rule and the ring cycle, from :class:`core.config.Settings`. ``reports.aggregates.ReportConfig`` extends it
and ``acd.wallboard`` uses it, so the wallboard's "today" and the reports' day rows compute the same figure
from the same counts (formulas: ``core.metrics``).

Resolution of a queue's threshold: ``service_level_thresholds[queue]``, else the queue's ``servicelevel``
in Asterisk's queues.conf (``conf_thresholds``: read by the caller, this module does no I/O), else
``service_level_threshold_seconds``. Target: ``service_level_targets[queue]`` else
``service_level_target_percent``. Variant: ``service_level_variants[queue]`` when it is a known variant,
else ``service_level_variant``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core import metrics
from core.config import Settings

__all__ = ["ServiceLevelConfig", "resolved_fields"]


def resolved_fields(settings: Settings, conf_thresholds: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The keyword arguments of :class:`ServiceLevelConfig` (and its subclasses) from the settings."""
    thresholds = {name: int(t) for name, t in (conf_thresholds or {}).items()}
    thresholds.update(settings.service_level_thresholds)  # the settings override queues.conf
    return {
        "default_threshold_s": settings.service_level_threshold_seconds,
        "thresholds_s": thresholds,
        "default_target_pct": settings.service_level_target_percent,
        "targets_pct": dict(settings.service_level_targets),
        "default_variant": settings.service_level_variant,
        "variants": dict(settings.service_level_variants),
        "short_abandon_s": settings.short_abandon_seconds,
        "exclude_short": settings.exclude_short_abandons,
        "ring_cycle_s": settings.ring_cycle_seconds,
    }


@dataclass(frozen=True)
class ServiceLevelConfig:
    """Per-queue service-level settings (defaults: the settings' defaults)."""

    default_threshold_s: int = 20
    thresholds_s: Mapping[str, int] = field(default_factory=dict)
    default_target_pct: int = 80
    targets_pct: Mapping[str, int] = field(default_factory=dict)
    default_variant: str = "answered_abandoned"
    variants: Mapping[str, str] = field(default_factory=dict)
    short_abandon_s: int = 5
    exclude_short: bool = True
    ring_cycle_s: float = 5.0

    @classmethod
    def from_settings(
        cls, settings: Settings, conf_thresholds: Mapping[str, int] | None = None
    ) -> ServiceLevelConfig:
        return cls(**resolved_fields(settings, conf_thresholds))

    def threshold_s(self, queue: str) -> int:
        return int(self.thresholds_s.get(queue, self.default_threshold_s))

    def target_pct(self, queue: str) -> int:
        return int(self.targets_pct.get(queue, self.default_target_pct))

    def variant(self, queue: str) -> str:
        variant = self.variants.get(queue, self.default_variant)
        return variant if variant in metrics.SL_VARIANTS else self.default_variant

    @property
    def three_rings_ms(self) -> int:
        return metrics.three_rings_ms(self.ring_cycle_s)

    @property
    def short_abandon_ms(self) -> int:
        """An abandon with a wait at most this is short; 0: no abandon is short."""
        return self.short_abandon_s * 1000

    def service_level_pct(
        self,
        queue: str,
        *,
        answered_within: int,
        answered: int,
        abandoned: int,
        offered: int,
        short_abandoned: int,
    ) -> float | None:
        """The queue's service level in % by its variant (``None`` when nothing counts)."""
        return metrics.service_level_variant_pct(
            self.variant(queue),
            answered_within=answered_within,
            answered=answered,
            abandoned=abandoned,
            offered=offered,
            short_abandoned=short_abandoned,
            exclude_short=self.exclude_short,
        )

    def counted(
        self, queue: str, *, answered: int, abandoned: int, offered: int, short_abandoned: int
    ) -> int:
        """The calls the queue's service level is computed over (its variant's denominator)."""
        return metrics.service_level_denominator(
            self.variant(queue),
            answered=answered,
            abandoned=abandoned,
            offered=offered,
            short_abandoned=short_abandoned,
            exclude_short=self.exclude_short,
        )
