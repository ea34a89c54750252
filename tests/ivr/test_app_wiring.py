"""The app starts the IVR's FastAGI server when a port is set (the demo does) and stops it with the app;
a call walking in gets the IVR (its first command is ANSWER, as in the capture)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callcenter.app import create_app
from callcenter.models import load_all_models
from core.config import Settings
from tests.live import free_port

HEADERS = (
    "agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1/ivr\n"
    "agi_channel: PJSIP/trunk-00000001\n"
    "agi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1795400369.2\nagi_version: 22.10.1\n"
    "agi_callerid: 13900139001\nagi_calleridname: unknown\nagi_dnid: 4000\nagi_context: from-pstn\n"
    "agi_extension: 4000\nagi_priority: 3\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1\n\n"
)


def test_app_runs_the_fastagi_server_while_it_runs(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'test.db'}", agi_port=port)
    app = create_app(settings)
    load_all_models().metadata.create_all(app.state.engine)
    with TestClient(app), socket.create_connection(("127.0.0.1", port), timeout=5) as peer:
        peer.sendall(HEADERS.encode())
        first = peer.makefile("rb").readline().decode()
        assert first == "ANSWER\n"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # stopped with the app
