"""The app with the pause-reasons router mounted (until callcenter/app.py lists it), and the desktop lab."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.acd_desktop.conftest import desk  # noqa: F401  (the simulator lab, re-used)
from tests.pause_reasons.helpers import mount


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    return mount(app)
