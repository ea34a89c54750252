"""Call records for a controlled day: pbx_calls rows with their queue legs and ring attempts."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from acd.events import CallOutcome
from acd.records.models import PbxCall, QueueLeg, RingAttempt, RingOutcome

_ids = itertools.count(1)


def add_leg(
    db: Session,
    *,
    queue: str = "support",
    joined_at: datetime,
    wait_s: float | None = 10,
    answered: bool = True,
    outcome: CallOutcome | None = None,
    talk_s: float | None = 60,
    interface: str | None = "PJSIP/1001",
    agent: str | None = None,
    linkedid: str | None = None,
    caller_number: str | None = "13800138000",
    ring_s: float | None = 4,
    transfer_target: str | None = None,
    missed_by: str | None = None,
) -> QueueLeg:
    """One stay of a call in a queue. ``answered`` sets answered_at = join + wait; the outcome defaults to
    answered / abandoned. ``missed_by``: an interface whose phone rang out first (ring_no_answer)."""
    linkedid = linkedid or f"17954{next(_ids):05d}.1"
    call = db.query(PbxCall).filter_by(linkedid=linkedid).one_or_none()
    if call is None:
        call = PbxCall(linkedid=linkedid, caller_number=caller_number, queue=queue, started_at=joined_at)
        db.add(call)
        db.flush()
    wait_ms = None if wait_s is None else int(wait_s * 1000)
    answered_at = joined_at + timedelta(seconds=wait_s or 0) if answered else None
    leg = QueueLeg(
        call_id=call.id,
        linkedid=linkedid,
        uniqueid=linkedid,
        queue=queue,
        joined_at=joined_at,
        answered_at=answered_at,
        agent=agent or (interface.split("/")[-1] if interface and answered else None),
        interface=interface if answered else None,
        wait_ms=wait_ms,
        talk_ms=None if not answered or talk_s is None else int(talk_s * 1000),
        outcome=outcome or (CallOutcome.ANSWERED if answered else CallOutcome.ABANDONED),
        transfer_target=transfer_target,
    )
    db.add(leg)
    db.flush()
    if missed_by:
        db.add(
            RingAttempt(
                leg_id=leg.id,
                agent=missed_by.split("/")[-1],
                interface=missed_by,
                started_at=joined_at,
                ended_at=joined_at + timedelta(seconds=15),
                outcome=RingOutcome.RING_NO_ANSWER,
                ring_ms=15000,
            )
        )
    if answered and answered_at is not None:
        started = answered_at - timedelta(seconds=ring_s or 0)
        db.add(
            RingAttempt(
                leg_id=leg.id,
                agent=leg.agent or "?",
                interface=interface,
                started_at=started,
                ended_at=answered_at,
                outcome=RingOutcome.ANSWERED,
                ring_ms=None if ring_s is None else int(ring_s * 1000),
            )
        )
    db.commit()
    return leg
