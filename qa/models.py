"""Tables of the qa package (filled by its issue)."""

from __future__ import annotations
