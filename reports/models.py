"""Tables of the reports package (filled by its issue)."""

from __future__ import annotations
