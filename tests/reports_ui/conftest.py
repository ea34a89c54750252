"""The app with the business-measure router (until the integrator lists ``reports.business_views`` in
ROUTER_MODULES, the tests include it themselves)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from callcenter.app import ROUTER_MODULES, create_app
from callcenter.models import load_all_models
from core.config import Settings


def with_business_router(application: FastAPI) -> FastAPI:
    if "reports.business_views" not in ROUTER_MODULES:
        from reports.business_views import router

        application.include_router(router)
    return application


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    application = with_business_router(create_app(settings))
    load_all_models().metadata.create_all(application.state.engine)
    return application
