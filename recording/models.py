"""Tables of the recording package (filled by its issue)."""

from __future__ import annotations
