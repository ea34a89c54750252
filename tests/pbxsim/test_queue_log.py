"""The simulator's queue_log against the fixtures': same verbs, callids, queues, agents and fields, numbers
within the capture's jitter (seconds ±1, milliseconds ±50)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbxsim import Simulator
from tests.pbxsim.amitest import FIXTURES

Row = tuple[str, ...]


def normalise(lines: list[str]) -> list[tuple[int, Row]]:
    """(seconds since the first line after QUEUESTART, fields) with uniqueids reduced to their sequence
    number (the lab's Asterisk booted a few seconds before the driver's first step)."""
    assert lines[0].endswith("|NONE|NONE|NONE|QUEUESTART|")
    lines = lines[1:]
    start = int(lines[0].split("|")[0])

    def seq(value: str) -> str:
        head, dot, tail = value.partition(".")
        return f"#{tail}" if dot and head.isdigit() and tail.isdigit() and len(head) == 10 else value

    return [(int(line.split("|")[0]) - start, tuple(seq(v) for v in line.split("|")[1:])) for line in lines]


def close(ours: Row, real: Row) -> bool:
    if len(ours) != len(real):
        return False
    verb = ours[3]
    for n, (a, b) in enumerate(zip(ours, real, strict=True)):
        if a == b:
            continue
        if not (a.isdigit() and b.isdigit()):
            return False
        tolerance = 50 if verb in ("RINGCANCELED", "RINGNOANSWER") and n == 4 else 1
        if abs(int(a) - int(b)) > tolerance:
            return False
    return True


@pytest.mark.parametrize("folder", ["answered", "abandoned", "penalty", "priority", "ringall"])
async def test_queue_log_matches_the_fixture(folder: str, tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    sim = Simulator(scenario=folder, queue_log_path=path)
    await sim.start(serve=False)
    await sim.run_scenario()
    await sim.stop()
    assert path.read_text() == sim.queue_log.text()  # the file is written as it goes
    ours = normalise(sim.queue_log.lines)
    real = normalise((FIXTURES / folder / "queue_log").read_text().splitlines())
    assert len(ours) == len(real)
    unmatched = list(real)
    for t, row in ours:
        match = next((r for r in unmatched if abs(r[0] - t) <= 1 and close(row, r[1])), None)
        assert match is not None, f"no fixture line like {t} {'|'.join(row)}"
        unmatched.remove(match)
    assert not unmatched


def test_line_shapes() -> None:
    from pbxsim.writers import QueueLog

    log = QueueLog()
    assert (
        log.write(1795400356.9, "NONE", "NONE", "NONE", "QUEUESTART")
        == "1795400356|NONE|NONE|NONE|QUEUESTART|"
    )
    assert (
        log.write(1795400357, "1795400357.0", "support", "NONE", "ENTERQUEUE", "", "13800138001", 1)
        == "1795400357|1795400357.0|support|NONE|ENTERQUEUE||13800138001|1"
    )
    assert log.write(1, "NONE", "support", "Bob", "UNPAUSE", "") == "1|NONE|support|Bob|UNPAUSE|"


def cdr_key(row: dict[str, str] | list[str]) -> tuple[str, str, str, str]:
    """(caller number, agent device, disposition, caller uniqueid sequence) of a cdr_csv row."""
    if isinstance(row, dict):
        src, dst, disposition, uniqueid = row["src"], row["dstchannel"], row["disposition"], row["uniqueid"]
    else:
        src, dst, disposition, uniqueid = row[1], row[6], row[14], row[16]
    return src, dst.rsplit("-", 1)[0], disposition, uniqueid.split(".")[1]


async def test_cdr_rows_per_agent_attempt_as_in_the_fixture(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "Master.csv"
    sim = Simulator(scenario="answered", cdr_path=path)
    await sim.start(serve=False)
    await sim.run_scenario()
    await sim.stop()
    with (FIXTURES / "answered" / "cdr.csv").open() as fh:
        real = list(csv.reader(fh))
    assert sorted(cdr_key(r) for r in sim.cdr.rows) == sorted(cdr_key(r) for r in real)
    ours = list(csv.reader(path.open()))
    assert [len(r) for r in ours] == [len(r) for r in real]
    real_durations = sorted((cdr_key(r), int(r[12])) for r in real)
    our_durations = sorted((cdr_key(r), int(r[12])) for r in ours)
    for (k1, d1), (k2, d2) in zip(our_durations, real_durations, strict=True):
        assert k1 == k2 and abs(d1 - d2) <= 2, (k1, d1, d2)
