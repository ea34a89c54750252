"""ami.txt through the translator (``acd.translate``) into the records: alone it gives what the files give;
with the files it adds nothing twice, keeps AMI's sub-second times, and knows the ringall losers that
queue_log never writes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from acd.ami.frames import parse_capture
from acd.records.models import QueueLeg, RingOutcome
from acd.records.replay import replay_folder
from tests.acd_records.test_replay import FOLDERS, legs_by_call, open_session, row_counts
from tests.acd_records.truth import FIXTURES, dialog_legs

translate_module = pytest.importorskip("acd.translate")


def translate(data: bytes) -> list[object]:
    _parser, frames = parse_capture(data)
    events: list[object] = translate_module.translate_frames(
        frames, clock=lambda: datetime(2026, 11, 23, tzinfo=UTC)
    )
    return events


def run(
    tmp_path: Path, folder: Path, name: str, using: Callable[[bytes], list[object]] | None
) -> dict[str, Any]:
    return replay_folder(folder, f"sqlite:///{tmp_path / name}", translate=using)


def ami_only(tmp_path: Path, folder: str) -> Path:
    """A copy of the folder with ami.txt and the conf only."""
    target = tmp_path / "ami-only" / folder
    target.mkdir(parents=True)
    shutil.copy(FIXTURES / folder / "ami.txt", target / "ami.txt")
    (target / "conf").mkdir()
    shutil.copy(FIXTURES / "conf" / "queues.conf", target / "conf" / "queues.conf")
    return target


RINGALL_CANCELED = {"Bob": 1, "Carol": 3, "Dave": 2}  # 14 AgentCalled = 5 answered + 3 RNA + 6 losers


@pytest.mark.parametrize("folder", FOLDERS)
def test_ami_alone_and_with_the_files_agree_with_the_files(tmp_path: Path, folder: str) -> None:
    files = run(tmp_path, FIXTURES / folder, "files.db", None)
    both = run(tmp_path, FIXTURES / folder, "both.db", translate)
    alone = run(tmp_path, ami_only(tmp_path, folder), "ami.db", translate)
    if folder == "ringall":
        for name, canceled in RINGALL_CANCELED.items():
            assert files["agents"][name]["ring_canceled"] == 0
            files["agents"][name]["ring_canceled"] = canceled
    assert both == files
    assert alone == files
    assert row_counts(f"sqlite:///{tmp_path / 'both.db'}")["pbx_queue_legs"] == sum(
        len(legs) for legs in dialog_legs(folder).values()
    )


@pytest.mark.parametrize("folder", FOLDERS)
def test_ami_legs_match_dialog_with_sub_second_times(tmp_path: Path, folder: str) -> None:
    url = f"sqlite:///{tmp_path / 'both.db'}"
    replay_folder(FIXTURES / folder, url, translate=translate)
    truth = dialog_legs(folder)
    with open_session(url) as session:
        stored = legs_by_call(session)
        assert set(stored) == set(truth)
        for linkedid, legs in stored.items():
            assert len(legs) == len(truth[linkedid])
            for leg, want in zip(legs, truth[linkedid], strict=True):
                assert leg.outcome is not None and leg.outcome.value == want.outcome, linkedid
                assert leg.joined_at.microsecond != 0, linkedid  # AMI's time won over queue_log's second
                if want.outcome == "refused_at_join":
                    continue
                assert (leg.queue, leg.position, leg.agent, leg.wait_s) == (
                    want.queue,
                    want.position,
                    want.agent,
                    want.wait_s,
                ), linkedid
                if want.talk_s is not None:
                    assert leg.talk_s == want.talk_s, linkedid
                if leg.answered_at is not None:
                    assert leg.answered_at.microsecond != 0
                for attempt in leg.attempts:
                    assert attempt.started_at.microsecond != 0 and attempt.outcome is not None
                    assert attempt.interface is not None and attempt.ring_ms is not None


def test_ringall_attempts_from_ami(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    replay_folder(FIXTURES / "ringall", url, translate=translate)
    assert row_counts(url)["pbx_ring_attempts"] == 14
    with open_session(url) as session:
        leg = session.scalars(select(QueueLeg).where(QueueLeg.linkedid == "1795403053.7")).one()
        rounds = [(a.agent, a.outcome) for a in leg.attempts]
        assert sorted(rounds[:3]) == [(n, RingOutcome.RING_NO_ANSWER) for n in ("Bob", "Carol", "Dave")]
        assert sorted(rounds[3:]) == [
            ("Bob", RingOutcome.CANCELED),
            ("Carol", RingOutcome.CANCELED),
            ("Dave", RingOutcome.ANSWERED),
        ]
        assert all(a.ring_ms == 8000 for a in leg.attempts[:3])


@pytest.mark.parametrize("folder", ["answered", "abandoned", "ringall"])
def test_ami_replay_twice_changes_nothing(tmp_path: Path, folder: str) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    first = replay_folder(FIXTURES / folder, url, translate=translate)
    counts = row_counts(url)
    assert replay_folder(FIXTURES / folder, url, translate=translate) == first
    assert row_counts(url) == counts
