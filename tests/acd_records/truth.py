"""What dialog.txt (the per-call truth generated from ami.txt) says about each queue leg, for the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk"

CALL = re.compile(r"^call \d+: linkedid (\S+) ")
JOINED = re.compile(r"joined queue (\S+) position (\d+)")
ANSWERED = re.compile(r"ANSWERED by \S+ \((\w+)\) HoldTime=(\d+)")
COMPLETED = re.compile(r"completed by (\w+): Reason=(\w+) HoldTime=(\d+) TalkTime=(\d+)")
RNA = re.compile(r"ring-no-answer \S+ \((\w+)\)")
ABANDON = re.compile(r"abandon\(QueueCallerAbandon\) hold=(\d+)")
STATUS = re.compile(r"QUEUESTATUS=(\w+)")


@dataclass
class TruthLeg:
    queue: str
    position: int
    agent: str | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    outcome: str | None = None
    ring_no_answer: list[str] = field(default_factory=list)


def dialog_legs(folder: str) -> dict[str, list[TruthLeg]]:
    """linkedid → its queue legs in join order; a call refused at the door (JOINEMPTY) gets one leg with
    position 0 and outcome ``refused_at_join`` (its queue is not in dialog.txt: empty)."""
    calls: dict[str, list[TruthLeg]] = {}
    legs: list[TruthLeg] = []
    for line in (FIXTURES / folder / "dialog.txt").read_text().splitlines():
        if match := CALL.match(line):
            legs = calls.setdefault(match.group(1), [])
        elif match := JOINED.search(line):
            legs.append(TruthLeg(match.group(1), int(match.group(2))))
        elif (match := ANSWERED.search(line)) and legs:
            legs[-1].agent, legs[-1].wait_s, legs[-1].outcome = (
                match.group(1),
                int(match.group(2)),
                "answered",
            )
        elif (match := COMPLETED.search(line)) and legs:
            legs[-1].talk_s = int(match.group(4))
            if match.group(2) == "transfer":
                legs[-1].outcome = "transferred"
        elif (match := RNA.search(line)) and legs:
            legs[-1].ring_no_answer.append(match.group(1))
        elif line.strip().startswith("outcome:"):
            status = STATUS.search(line)
            if status and status.group(1) == "JOINEMPTY":
                legs.append(TruthLeg("", 0, outcome="refused_at_join"))
            elif match := ABANDON.search(line):
                legs[-1].wait_s = int(match.group(1))
                legs[-1].outcome = {"TIMEOUT": "timed_out", "LEAVEEMPTY": "left_empty_queue"}.get(
                    status.group(1) if status else "", "abandoned"
                )
    return {linkedid: legs for linkedid, legs in calls.items() if legs}
