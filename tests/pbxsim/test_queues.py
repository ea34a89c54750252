"""app_queue semantics of the simulator, checked against what the priority/, penalty/, ringall/ and
agent-states/ captures show."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from pbxsim import Simulator, VirtualClock
from pbxsim.engine import CallerSpec, Engine
from pbxsim.frames import Headers
from pbxsim.queues import Device, Member, Phone, Queue, QueueCaller, QueueConfig
from pbxsim.scenarios import lab
from tests.pbxsim.amitest import FIXTURES


def ev(frames: list[Headers], name: str) -> list[dict[str, str]]:
    return [dict(f) for f in frames if f[0] == ("Event", name)]


async def played(scenario: str) -> Simulator:
    sim = Simulator(scenario=scenario)
    sim.engine.record_frames = True
    await sim.start(serve=False)
    await sim.run_scenario()
    await sim.stop()
    return sim


async def test_priority_insertion_and_service_order_as_captured() -> None:
    sim = await played("priority")
    joins = ev(sim.engine.frames, "QueueCallerJoin")
    assert [(j["Position"], j["Count"]) for j in joins] == [
        ("1", "1"),
        ("2", "2"),
        ("1", "2"),
        ("2", "3"),
        ("2", "4"),
    ]
    connects = ev(sim.engine.frames, "AgentConnect")
    assert [c["CallerIDNum"][-1] for c in connects] == ["1", "3", "5", "4", "2"]
    holds = [int(c["HoldTime"]) for c in connects]
    for ours, real in zip(holds, (2, 8, 15, 25, 37), strict=True):
        assert abs(ours - real) <= 1
    leaves = ev(sim.engine.frames, "QueueCallerLeave")
    assert [x["Position"] for x in leaves] == ["1"] * 5
    assert [x["Count"] for x in leaves] == ["1", "3", "2", "1", "0"]


@given(st.lists(st.integers(min_value=0, max_value=3), max_size=12))
def test_insert_behind_equal_or_higher_priority(priorities: list[int]) -> None:
    q = Queue(QueueConfig("q"))
    for n, prio in enumerate(priorities):
        q.insert(QueueCaller(call=n, priority=prio, joined=0.0, original_position=0))
    # a stable sort by descending priority: first come first served within a priority
    expected = sorted(range(len(priorities)), key=lambda n: -priorities[n])
    assert [c.call for c in q.callers] == expected


async def test_linear_penalty_rings_like_the_capture() -> None:
    sim = await played("penalty")
    ours = [line.split("|")[3] for line in sim.queue_log.lines if "|CONNECT|" in line]
    real_lines = (FIXTURES / "penalty" / "queue_log").read_text().splitlines()
    real = [line.split("|")[3] for line in real_lines if "|CONNECT|" in line]
    assert ours == real == ["Bob", "Carol", "Dave", "Bob", "Carol", "Dave", "Carol", "Dave", "Bob"]
    penalties = [line.split("|", 1)[1] for line in sim.queue_log.lines if "|PENALTY|" in line]
    assert penalties == ["NONE|penalty|PJSIP/1002|PENALTY|10", "NONE|penalty|PJSIP/1002|PENALTY|0"]


def lab_engine(phones: dict[str, Phone]) -> tuple[VirtualClock, Engine]:
    clock = VirtualClock()
    engine = Engine(clock)
    engine.record_frames = True
    lab(engine, phones)
    return clock, engine


async def test_ringall_rings_every_free_member_and_cancels_the_losers() -> None:
    clock, engine = lab_engine(
        {
            "PJSIP/1002": Phone(answer_after=1.5, talk=6),
            "PJSIP/1003": Phone(answer_after=2.0, talk=6),
            "PJSIP/1004": Phone(answer_after=2.5, talk=6),
        }
    )
    engine.place_call(CallerSpec("13200132001", "Ring One", "ringall"))
    await clock.advance(1.0)
    called = ev(engine.frames, "AgentCalled")
    assert sorted(c["MemberName"] for c in called) == ["Bob", "Carol", "Dave"]
    assert len({c["Timestamp"] for c in called}) == 1
    engine.place_call(CallerSpec("13200132002", "Ring Two", "ringall"))  # all three ring for call 1
    await clock.advance(1.0)
    connect = ev(engine.frames, "AgentConnect")
    assert [c["MemberName"] for c in connect] == ["Bob"]
    cancels = [d for d in ev(engine.frames, "DialEnd") if d["DialStatus"] == "CANCEL"]
    assert sorted(d["DestChannel"].split("-")[0] for d in cancels) == ["PJSIP/1003"] * 2 + ["PJSIP/1004"] * 2
    losers = [h for h in ev(engine.frames, "Hangup") if h["Cause"] == "26"]
    assert len(losers) == 2
    assert not ev(engine.frames, "AgentRingNoAnswer")
    called = ev(engine.frames, "AgentCalled")[3:]  # call 2 then rings the two free ones
    assert sorted(c["MemberName"] for c in called) == ["Carol", "Dave"]


async def test_ringall_nobody_answers_then_retry_rings_all_again() -> None:
    never = Phone(answer_after=None)
    clock, engine = lab_engine({"PJSIP/1002": never, "PJSIP/1003": never, "PJSIP/1004": never})
    engine.place_call(CallerSpec("13200132003", "Ring Three", "ringall"))
    await clock.advance(8.5)
    rna = ev(engine.frames, "AgentRingNoAnswer")
    assert [r["RingTime"] for r in rna] == ["8000"] * 3
    assert [line.split("|")[4:] for line in engine.queue_log.lines if "RINGNOANSWER" in line] == [
        ["RINGNOANSWER", "8000"]
    ] * 3
    assert len(ev(engine.frames, "AgentCalled")) == 3
    await clock.advance(2.0)  # retry=2
    assert len(ev(engine.frames, "AgentCalled")) == 6


async def test_wrapuptime_delays_the_next_ring() -> None:
    clock, engine = lab_engine({"PJSIP/1006": Phone(answer_after=2.0, talk=6.0)})
    engine.queue_add("billing", "PJSIP/1006", "Frank")
    engine.place_call(CallerSpec("13100131001", "One", "billing"))
    await clock.advance(8.0 + 1.0)  # answered at 2, agent hangs up at 8
    ended = engine.devices["PJSIP/1006"].last_call
    engine.place_call(CallerSpec("13100131002", "Two", "billing"))
    await clock.advance(30.0)
    called = ev(engine.frames, "AgentCalled")
    assert len(called) == 2
    assert float(called[1]["Timestamp"]) == ended + 10.0  # exactly LastCall + wrapuptime
    connect = ev(engine.frames, "AgentConnect")
    assert connect[1]["HoldTime"] == "11"


async def test_person_driven_phone_answers_through_the_api_and_autofill_serves_two_at_once() -> None:
    manual = Phone(manual=True)
    clock, engine = lab_engine({f"PJSIP/100{n}": manual for n in range(1, 5)})
    engine.place_call(CallerSpec("1", "A", "support"))
    engine.place_call(CallerSpec("2", "B", "support"))
    await clock.advance(3.0)
    called = ev(engine.frames, "AgentCalled")
    assert [c["MemberName"] for c in called] == ["Alice", "Bob"]  # autofill: both callers ring at once
    assert engine.answer("PJSIP/1002")
    assert not engine.answer("PJSIP/1003")  # nothing rings there
    assert [c["MemberName"] for c in ev(engine.frames, "AgentConnect")] == ["Bob"]
    assert engine.agent_hangup("PJSIP/1002")
    assert ev(engine.frames, "AgentComplete")[0]["Reason"] == "agent"


async def test_caller_patience_and_queue_timeout() -> None:
    clock, engine = lab_engine({"PJSIP/1005": Phone(answer_after=None)})
    engine.queue_add("complaints", "PJSIP/1005", "Erin")
    engine.place_call(CallerSpec("1", "Patient", "complaints", queue_timeout=30.0))
    engine.place_call(CallerSpec("2", "Impatient", "complaints", patience=5.0))
    await clock.advance(40.0)
    verbs = [line.split("|")[4] for line in engine.queue_log.lines]
    assert "ABANDON" in verbs and "EXITWITHTIMEOUT" in verbs
    status = [dict(f)["Value"] for f in engine.frames if ("Variable", "QUEUESTATUS") in f]
    assert status == ["TIMEOUT"]


def member(name: str, penalty: int = 0, last_call: float = 0.0, calls: int = 0) -> Member:
    device = Device(f"PJSIP/{name}", name, last_call=last_call, calls_taken=calls)
    return Member(device, name, penalty)


def test_strategies_choose_like_app_queue() -> None:
    rng = random.Random(1)
    a, b, c = member("a", last_call=30, calls=5), member("b", last_call=10, calls=9), member("c", penalty=1)
    for strategy, expected in (
        ("linear", [a]),
        ("leastrecent", [b]),
        ("fewestcalls", [a]),
        ("ringall", [a, b]),
    ):
        q = Queue(QueueConfig("q", strategy), members=[a, b, c])
        assert q.choose([a, b, c], rng) == expected, strategy
    q = Queue(QueueConfig("q", "ringall"), members=[a, b, c])
    assert q.choose([c], rng) == [c]  # the higher penalty tier only when the lower one is busy
    q = Queue(QueueConfig("q", "random"), members=[a, b, c])
    assert {q.choose([a, b, c], rng)[0].name for _ in range(50)} == {"a", "b"}
    q = Queue(QueueConfig("q", "rrmemory"), members=[a, b, c])
    q.rr_next = 1
    assert q.choose([a, b], rng) == [b]
    assert q.rr_after(b) == 0  # c has a higher penalty: a (wrapped) comes next


async def test_originate_outcomes_and_redirect_into_another_queue() -> None:
    clock, engine = lab_engine(
        {
            "PJSIP/1002": Phone(answer_after=1.0),
            "PJSIP/1003": Phone(answer_after=None),
            "PJSIP/1005": Phone(answer_after=2.0),
        }
    )
    results: list[dict[str, str]] = []
    for interface in ("PJSIP/1003", "PJSIP/1005"):
        engine.originate(
            interface,
            timeout_ms=8000,
            on_result=lambda h: results.append(dict(h)),
            context="from-internal",
            exten="s",
            cid_num="",
            cid_name="",
        )
    await clock.advance(9.0)
    assert [(r["Response"], r["Reason"]) for r in results] == [("Success", "4"), ("Failure", "3")]
    assert engine.devices["PJSIP/1005"].in_call  # the originated leg is up
    engine.originate(
        "PJSIP/1005",
        timeout_ms=8000,
        on_result=lambda h: results.append(dict(h)),
        context="c",
        exten="e",
        cid_num="",
        cid_name="",
    )
    await clock.advance(1.0)
    assert (results[-1]["Response"], results[-1]["Reason"]) == ("Failure", "0")  # busy
    engine.queue_add("complaints", "PJSIP/1005", "Erin")
    call = engine.place_call(CallerSpec("13600136001", "Qian Hui", "support"))
    await clock.advance(3.0)  # rrmemory starts with Alice, whose default phone answers after 2 s
    assert call.agent is not None
    engine.redirect(call.channel, "from-internal", "601", 1)
    complete = ev(engine.frames, "AgentComplete")
    assert complete[-1]["Reason"] == "caller"
    joins = ev(engine.frames, "QueueCallerJoin")
    assert joins[-1]["Queue"] == "complaints"
    verbs = [line.split("|")[2:5] for line in engine.queue_log.lines]
    assert verbs[-2:] == [
        ["support", complete[-1]["MemberName"], "COMPLETECALLER"],
        ["complaints", "NONE", "ENTERQUEUE"],
    ]


async def test_unreachable_phone_is_status_5_and_not_rung() -> None:
    clock, engine = lab_engine({"PJSIP/1006": Phone(answer_after=2.0, talk=6.0)})
    engine.queue_add("billing", "PJSIP/1006", "Frank")
    engine.queue_add("retention", "PJSIP/1006", "Frank")
    engine.set_reachable("PJSIP/1006", False)
    statuses = [f for f in ev(engine.frames, "QueueMemberStatus") if f["Interface"] == "PJSIP/1006"]
    assert [(f["Queue"], f["Status"]) for f in statuses] == [("billing", "5"), ("retention", "5")]
    assert ev(engine.frames, "PeerStatus")[-1]["PeerStatus"] == "Unreachable"
    engine.place_call(CallerSpec("1", "Waiting", "billing"))
    await clock.advance(5.0)
    assert not ev(engine.frames, "AgentCalled")
    engine.set_reachable("PJSIP/1006", True)  # back: the waiting caller is offered at once
    assert ev(engine.frames, "DeviceStateChange")[-2]["State"] == "NOT_INUSE"
    assert [c["MemberName"] for c in ev(engine.frames, "AgentCalled")] == ["Frank"]
    assert not any("UNAVAILABLE" in line or "Unreachable" in line for line in engine.queue_log.lines)
