"""Fixtures of the link tests: a running fake AMI server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.acd_link.fake_ami import FakeAmi


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()
