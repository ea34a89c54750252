"""Fixtures of the recording tests: the captured WAVs read in place, a spool and a store in tmp_path, an
ingestor on the test app's database."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.people.models import LoginSession, User
from core.security.roles import Role
from core.security.tokens import digest, new_token
from recording.config import RecordingSettings
from recording.storage import LocalStore
from recording.worker import Ingestor

LoginAs = Callable[..., Any]  # a TestClient with .user
MakeUser = Callable[..., User]
Analyser = Callable[[Path], Any]

# the shared fixtures sit next to the repository: /work/shared/fixtures/asterisk
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "asterisk"
ANSWERED = FIXTURES / "answered" / "recordings"
TRANSFER = FIXTURES / "transfer" / "recordings"
# uniqueid → seconds, from recordings.tsv
CAPTURED = {
    "1795400369.2": (ANSWERED, 12.04),
    "1795400357.0": (ANSWERED, 40.5),
    "1795401089.0": (TRANSFER, 18.0),
    "1795401092.2": (TRANSFER, 18.0),
}


def captured(uniqueid: str) -> Path:
    folder, _seconds = CAPTURED[uniqueid]
    return folder / f"{uniqueid}.wav"


def wav_header(data_bytes: int, *, channels: int = 1, rate: int = 8000, bits: int = 16) -> bytes:
    """A canonical 44-byte PCM header as Asterisk writes it."""
    align = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * align, align, bits)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    path = tmp_path / "monitor"
    path.mkdir(exist_ok=True)  # the app (recording runtime) may have made it
    return path


@pytest.fixture
def rec_settings(tmp_path: Path, spool: Path) -> RecordingSettings:
    # the captured WAVs are read in place (read-only): the worker must not try to remove them
    return RecordingSettings(data_dir=tmp_path, spool_dir=spool, remove_source=False, grace_seconds=60)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def analyser() -> Callable[[Path], Any]:
    """A stand-in for recording.analytics.analyse_file with the contract's fields."""
    from types import SimpleNamespace

    def analyse(path: Path) -> Any:
        waveform = {
            "duration_ms": 1000,
            "channels": [{"name": "mixed", "peaks": [0.5] * 800, "activity": [[0, 500]]}],
            "overtalk": [],
            "silences": [[500, 1000]],
        }
        return SimpleNamespace(
            mixed_mono=True,
            caller_talk_ms=None,
            agent_talk_ms=None,
            talk_ms=500,
            silence_ms=500,
            silence_share=0.5,
            longest_silence_ms=500,
            overtalk_ms=None,
            agent_talk_ratio=None,
            dead_air_after_answer_ms=0,
            not_measurable=["overtalk", "agent_talk_ratio", "caller_talk", "agent_talk"],
            to_waveform=lambda: waveform,
        )

    return analyse


@pytest.fixture
def ingestor(
    app: FastAPI, store: LocalStore, rec_settings: RecordingSettings, analyser: Callable[[Path], Any]
) -> Ingestor:
    app.state.recording_store = store
    return Ingestor(app.state.session_factory, store, rec_settings, analyser=analyser)


# Faster logins than the shared fixture (bearer tokens instead of a password check per login).


@pytest.fixture
def login_as(
    app: FastAPI, db: Session, make_user: Callable[..., User]
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def login(role: Role = Role.AGENT, user: User | None = None, **fields: object) -> TestClient:
        user = user or make_user(role, **fields)
        token = new_token()
        now = utcnow()
        db.add(
            LoginSession(
                token_hash=digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        db.commit()
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        clients.append(client)
        client.user = user  # type: ignore[attr-defined]
        return client

    yield login
    for client in clients:
        client.close()
