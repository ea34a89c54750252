"""Fixtures of the IVR admin tests: the default flows seeded, a supervisor's client, WAV files."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.security.roles import Role
from ivr.service import seed_default_flow
from tests.conftest import LoginAs


@pytest.fixture
def seeded(db: Session) -> None:
    seed_default_flow(db)
    db.commit()


@pytest.fixture
def admin(login_as: LoginAs, seeded: None) -> TestClient:
    return login_as(Role.ADMIN)


def wav_bytes(*, rate: int = 44100, channels: int = 2, seconds: float = 0.5) -> bytes:
    """A 440 Hz tone as 16-bit PCM WAV (CD quality stereo by default: what people upload)."""
    frames = int(rate * seconds)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))
        out.writeframes(b"".join(struct.pack("<h", s) * channels for s in samples))
    return buffer.getvalue()
