"""The desktop lab of tests/acd_desktop, re-used for pausing with the table's reasons."""

from __future__ import annotations

from tests.acd_desktop.conftest import desk  # noqa: F401  (the simulator lab, re-used)
