"""The app of the reports-page tests, its schema created."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from callcenter.app import create_app
from callcenter.models import load_all_models
from core.config import Settings


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    application = create_app(settings)
    load_all_models().metadata.create_all(application.state.engine)
    return application
