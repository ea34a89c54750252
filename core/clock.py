"""Time: everything is stored in UTC; the center's zone is for display and for naive user input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """A naive datetime typed by a person is wall-clock time in the center's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def day_bounds_utc(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which a calendar day in the center's zone starts and ends."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day, time.max, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
