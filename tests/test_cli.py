"""The `callcenter` command: migrate, users create, seed (once), demo without serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.cli import main
from core.config import get_settings
from core.db import make_engine
from core.people.models import Team, User
from core.security.passwords import verify_password
from core.security.roles import Role


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALLCENTER_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def session_for(data_dir: Path) -> Session:
    return Session(make_engine(f"sqlite:///{data_dir / 'callcenter.db'}"))


def test_migrate_then_create_a_user(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (data_dir / "callcenter.db").exists()
    code = main(
        [
            "users",
            "create",
            "wangfang",
            "--role",
            "agent",
            "--password",
            "secret-pass-1",
            "--agent-number",
            "1001",
            "--full-name",
            "王芳",
            "--extension",
            "1001",
        ]
    )
    assert code == 0
    assert "created user wangfang (agent)" in capsys.readouterr().out
    with session_for(data_dir) as session:
        user = session.scalars(select(User)).one()
        assert (user.full_name, user.role, user.agent_number) == ("王芳", Role.AGENT, "1001")
        assert verify_password(user.password_hash, "secret-pass-1")
    # the same agent number again is refused with a message, not a traceback
    again = main(
        [
            "users",
            "create",
            "other",
            "--role",
            "agent",
            "--password",
            "secret-pass-1",
            "--agent-number",
            "1001",
        ]
    )
    assert again == 1
    assert "could not create user" in capsys.readouterr().err
    short = main(["users", "create", "third", "--role", "agent", "--password", "short"])
    assert short == 2


def test_demo_seeds_once_and_prints_a_login_per_role(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    for role in Role:
        assert role.value in out
    assert "demo1234" in out
    with session_for(data_dir) as session:
        teams = session.scalars(select(Team)).all()
        assert len(teams) == 3
        for team in teams:
            agents = session.scalar(
                select(func.count()).select_from(User).where(User.team_id == team.id, User.role == Role.AGENT)
            )
            assert agents == 13
        from core.customers.models import Customer

        assert session.scalar(select(func.count()).select_from(Customer)) == 500
        grades = set(session.scalars(select(Customer.grade)).all())
        assert {g.value for g in grades} == {"AAA", "AA", "A", "B"}
    assert main(["demo", "--no-serve"]) == 0
    assert "already present" in capsys.readouterr().out
    with session_for(data_dir) as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 3


FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "asterisk"


def test_replay_prints_the_figures_of_a_capture(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    url = f"sqlite:///{tmp_path / 'replay.db'}"
    assert main(["replay", str(FIXTURES / "answered"), "--db", url]) == 0
    first = json.loads(capsys.readouterr().out)
    assert set(first) == {"queues", "agents", "refused_at_join"}
    support = first["queues"]["support"]
    assert set(support) == {
        "offered",
        "answered",
        "answered_within_sl",
        "abandoned",
        "exit_with_timeout",
        "exit_empty",
        "transferred",
        "avg_wait_answered_s",
        "avg_talk_s",
    }
    assert (support["offered"], support["answered"], support["abandoned"]) == (8, 8, 0)
    assert first["agents"]["Alice"] == {"answered": 0, "ring_no_answer": 5, "ring_canceled": 0}
    assert set(first["agents"]["Bob"]) == {"answered", "ring_no_answer", "ring_canceled"}
    # idempotent: the same folder again changes nothing
    assert main(["replay", str(FIXTURES / "answered"), "--db", url]) == 0
    assert json.loads(capsys.readouterr().out) == first

    assert main(["replay", str(FIXTURES / "abandoned"), "--db", f"sqlite:///{tmp_path / 'ab.db'}"]) == 0
    abandoned = json.loads(capsys.readouterr().out)
    assert abandoned["queues"]["support"]["abandoned"] == 5
    assert abandoned["queues"]["complaints"]["exit_with_timeout"] == 2
    assert abandoned["queues"]["sales"]["exit_empty"] == 1
    assert abandoned["refused_at_join"] == {"sales": 1}
    assert main(["replay", str(tmp_path / "missing")]) == 2
