"""Tests of the telephony core's AMI side: the frame parser (property tests) and the AMI → domain-event
translator, replayed against the real Asterisk captures in ``/work/shared/fixtures/asterisk``."""

from __future__ import annotations

import os
from pathlib import Path

# The shared fixtures live next to the checkout (/work/shared next to /work/main); overridable for CI.
ASTERISK_FIXTURES = Path(
    os.environ.get("ASTERISK_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures/asterisk")
)
