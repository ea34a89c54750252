"""Reports of the replayed captures equal the figures worked out by hand from their queue_log (and AMI).

Conventions of the hand working below: ``t`` = the queue_log epoch minus 1795400000 (answered/, abandoned/),
waits are queue_log's holdtime, talk its talktime, ring times CONNECT's ringtime / RINGNOANSWER's ms; the
default settings: service level T = 20 s, variant answered_abandoned, short abandon ≤ 5 s (excluded from the
SL), ring cycle 5 s (three rings = 15 s), wrap-up from queues.conf (support 5 s, billing 10 s).
"""

from __future__ import annotations

from pathlib import Path

from reports.queries import series, summary, summary_from_raw
from tests.reports.helpers import CONFIG, DAY, replayed


def test_answered(tmp_path: Path) -> None:
    # queue_log of answered/ (support), per call: join → CONNECT holdtime (agent, ringtime) → talktime
    #   357.0  hold 20 (Carol, ring 2) talk 40    after Alice RINGNOANSWER 15000 at t=372
    #   369.2  hold  2 (Bob, 2)        talk 12
    #   379.5  hold  2 (Dave, 1)       talk 27
    #   391.7  hold 71 (Dave, 2)       talk 20    after 4 × Alice RINGNOANSWER 15000 (t=406, 423, 440, 457)
    #   403.9  hold  4 (Bob, 4)        talk 15
    #   415.12 hold  2 (Dave, 1)       talk 26
    #   424.14 hold  3 (Carol, 3)      talk 87
    #   457.18 hold  2 (Bob, 2)        talk 21
    # offered 8, answered 8; within 20 s: all but the 71 s wait = 7 → 87.5 % of answered and of offered;
    # ASA = (20+2+2+71+4+2+3+2)/8 = 106/8 = 13.25 → 13.2 (rounded half to even);
    # AHT = (talk 248 + wrap-up 8 × 5) / 8 = 288 / 8 = 36.0 s.
    # Offers: Alice 5 (all ring-no-answer: missed), Bob 3 / Carol 2 / Dave 3 answered within 4 s ≤ 15 s.
    session = replayed(tmp_path, "answered")
    result = summary(session, settings=CONFIG)
    assert result == summary_from_raw(session, settings=CONFIG)
    assert result["queues"] == {
        "support": {
            "offered": 8,
            "answered": 8,
            "abandoned": 0,
            "exit_with_timeout": 0,
            "exit_empty": 0,
            "service_level": {
                "threshold_s": 20,
                "answered_within_threshold": 7,
                "pct_of_answered": 87.5,
                "pct_of_offered": 87.5,
            },
            "asa_s": 13.2,
            "aht_s": 36.0,
        }
    }
    assert result["agents"] == {
        "Alice": {"offers": 5, "answered_within_3_rings": 0, "missed": 5, "three_ring_compliance_pct": 0.0},
        "Bob": {"offers": 3, "answered_within_3_rings": 3, "missed": 0, "three_ring_compliance_pct": 100.0},
        "Carol": {"offers": 2, "answered_within_3_rings": 2, "missed": 0, "three_ring_compliance_pct": 100.0},
        "Dave": {"offers": 3, "answered_within_3_rings": 3, "missed": 0, "three_ring_compliance_pct": 100.0},
    }
    rows = series(session, start=DAY, end=DAY, grain="day", by="queue", settings=CONFIG)["totals"]
    (support,) = rows
    # queue row: 13 offers, 8 met, 5 missed → 61.5 %; the longest wait 71 s; avg wait = ASA (all answered)
    assert support["offers"] == 13 and support["met_3_rings"] == 8 and support["missed_3_rings"] == 5
    assert support["three_ring_compliance_pct"] == 61.5
    assert support["ring_no_answer"] == 5
    assert support["max_wait_s"] == 71.0 and support["avg_wait_s"] == 13.2 and support["acw_s"] == 5.0
    assert support["service_level_pct"] == 87.5  # answered_abandoned: 7 / (8 + 0)
    agents = {
        r["key"]: r
        for r in series(session, start=DAY, end=DAY, grain="day", by="agent", settings=CONFIG)["totals"]
    }
    assert agents["Alice"]["ring_no_answer"] == 5 and agents["Alice"]["answered"] == 0
    # Bob answered 3: talk 12 + 15 + 21 = 48 and 3 × 5 s wrap-up → AHT 63 / 3 = 21.0
    assert agents["Bob"]["answered"] == 3 and agents["Bob"]["aht_s"] == 21.0
    assert agents["Bob"]["service_level_pct"] is None and agents["Bob"]["occupancy_pct"] is None


def test_abandoned(tmp_path: Path) -> None:
    # support: 5 callers hang up (ABANDON waits 6, 4, 7, 12, 25 s); the 4 s one is a short abandon (≤ 5 s);
    #   SL (answered_abandoned, short excluded) = 0 / (0 + 5 − 1) = 0.0 %; avg wait 54 / 5 = 10.8, max 25.
    # complaints: 2 × EXITWITHTIMEOUT after 30 s. sales: 1 EXITEMPTY (15 s) and 1 refused at the door
    #   (JOINEMPTY: no queue_log line; CDR says it was sent to sales) — refused is not offered.
    # Offers: Alice RINGCANCELED 6004, 4005, 8004 ms (cancelled within three rings: left out) and one
    #   RINGNOANSWER 15000 (missed) → 0 / 1; Erin (sales) one RINGNOANSWER → 0 / 1.
    session = replayed(tmp_path, "abandoned")
    result = summary(session, settings=CONFIG)
    assert result == summary_from_raw(session, settings=CONFIG)
    queues = result["queues"]
    assert {
        q: (v["offered"], v["abandoned"], v["exit_with_timeout"], v["exit_empty"]) for q, v in queues.items()
    } == {
        "complaints": (2, 0, 2, 0),
        "sales": (1, 0, 0, 1),
        "support": (5, 5, 0, 0),
    }
    assert queues["support"]["service_level"]["pct_of_offered"] == 0.0
    assert queues["support"]["service_level"]["pct_of_answered"] is None  # nothing answered: nothing to count
    assert queues["support"]["asa_s"] is None and queues["support"]["aht_s"] is None
    assert result["agents"] == {
        "Alice": {"offers": 4, "answered_within_3_rings": 0, "missed": 1, "three_ring_compliance_pct": 0.0},
        "Erin": {"offers": 1, "answered_within_3_rings": 0, "missed": 1, "three_ring_compliance_pct": 0.0},
    }
    rows = {
        r["key"]: r
        for r in series(session, start=DAY, end=DAY, grain="day", by="queue", settings=CONFIG)["totals"]
    }
    assert rows["support"]["short_abandoned"] == 1
    assert rows["support"]["service_level_pct"] == 0.0
    assert rows["support"]["avg_wait_s"] == 10.8 and rows["support"]["max_wait_s"] == 25.0
    assert (
        rows["sales"]["refused"] == 1 and rows["sales"]["left_empty"] == 1 and rows["sales"]["offered"] == 1
    )
    assert rows["complaints"]["timed_out"] == 2 and rows["complaints"]["service_level_pct"] is None


def test_transfer(tmp_path: Path) -> None:
    # support: Bob and Carol answer after 2 s (ring 2) and BLINDTRANSFER after 8 s talk: 2 offered,
    #   2 answered, 2 transferred, AHT (8 + 5) = 13; the second caller then joins complaints (a second
    #   leg), Erin answers after 2 s and talks 10 s: AHT 10 + 5 = 15.
    session = replayed(tmp_path, "transfer")
    result = summary(session, settings=CONFIG)
    assert result == summary_from_raw(session, settings=CONFIG)
    assert {
        q: (v["offered"], v["answered"], v["asa_s"], v["aht_s"]) for q, v in result["queues"].items()
    } == {
        "complaints": (1, 1, 2.0, 15.0),
        "support": (2, 2, 2.0, 13.0),
    }
    rows = {
        r["key"]: r
        for r in series(session, start=DAY, end=DAY, grain="day", by="queue", settings=CONFIG)["totals"]
    }
    assert rows["support"]["transferred"] == 2 and rows["complaints"]["transferred"] == 0
    assert set(result["agents"]) == {"Bob", "Carol", "Erin"}
    assert all(a["three_ring_compliance_pct"] == 100.0 for a in result["agents"].values())


def test_ringall_with_ami(tmp_path: Path) -> None:
    # AMI sees every AgentCalled: 3 + 2 + (3 + 3) + 2 + 1 = 14 offers. Answered within 15 s: one per call = 5
    # met; call 3's first round: 3 × RINGNOANSWER after 8 s = 3 missed (rang out, even if under 15 s); the
    # 6 losers cancelled within ~2.5 s (another agent answered first) are left out → 5 / 8 = 62.5 %.
    session = replayed(tmp_path, "ringall", ami=True)
    assert summary(session, settings=CONFIG) == summary_from_raw(session, settings=CONFIG)
    (row,) = series(session, start=DAY, end=DAY, grain="day", by="queue", settings=CONFIG)["totals"]
    assert (row["offers"], row["met_3_rings"], row["missed_3_rings"]) == (14, 5, 3)
    assert row["three_ring_compliance_pct"] == 62.5
    assert row["ring_no_answer"] == 3
    agents = summary(session, settings=CONFIG)["agents"]
    assert sum(a["offers"] for a in agents.values()) == 14
    assert sum(a["missed"] for a in agents.values()) == 3


def test_agent_states_occupancy(tmp_path: Path) -> None:
    # queue_log of agent-states/ (t = epoch − 1795403000): Frank (PJSIP/1006) ADDMEMBER billing t=89,
    # retention t=90; PAUSE billing t=92 (coaching: retention still open, so not paused); PAUSEALL/PAUSE both
    # t=95 (lunch: paused everywhere); UNPAUSE both t=99; two billing calls answered (talk 6 + 6, wrap-up
    # 10 + 10 from queues.conf); REMOVEMEMBER billing t=139, retention t=140.
    # logged in 89 → 140 = 51 s; paused 95 → 99 = 4 s; handling 32 s:
    # occupancy = 32 / (51 − 4) = 68.1 %; utilisation = 32 / 51 = 62.7 %.
    session = replayed(tmp_path, "agent-states")
    (frank,) = series(session, start=DAY, end=DAY, grain="day", by="agent", settings=CONFIG)["totals"]
    assert frank["key"] == "Frank"
    assert frank["answered"] == 2
    assert frank["occupancy_pct"] == 68.1
    assert frank["utilisation_pct"] == 62.7
    # replaying the member lines again adds no span
    from sqlalchemy import func, select

    from reports.agent_states import ingest_agent_states
    from reports.models import AgentStateSpan
    from tests.acd_records.truth import FIXTURES

    before = session.scalar(select(func.count()).select_from(AgentStateSpan))
    ingest_agent_states(session, (FIXTURES / "agent-states" / "queue_log").read_text())
    assert session.scalar(select(func.count()).select_from(AgentStateSpan)) == before == 2
