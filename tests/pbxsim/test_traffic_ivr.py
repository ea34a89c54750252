"""The demo's callers in the IVR: seeded scripts (menu key of their queue, customer id, wrong id first,
hang-up in the menu, the agent key), the same calls as without the IVR, and no IVR without an AGI address."""

from __future__ import annotations

import random
from collections import Counter

from pbxsim import Simulator
from pbxsim.agi_client import IvrScript
from pbxsim.engine import CallerSpec
from pbxsim.traffic import IvrMenu, ivr_script, wrong_id

MENU = IvrMenu(keys={"support": "1", "sales": "4", "billing": "5"}, agent_key="0", id_keys=frozenset({"1"}))


def specs(sim: Simulator) -> list[CallerSpec]:
    out = []
    for _, step in sim.scenario.script:
        closure = getattr(step, "__closure__", None) or ()
        out += [cell.cell_contents for cell in closure if isinstance(cell.cell_contents, CallerSpec)]
    return out


def test_demo_callers_get_seeded_scripts_of_every_kind() -> None:
    ids = {f"1390000{n:04d}": "123455" for n in range(100)}
    sim = Simulator(
        scenario="demo",
        demo_hours=8.0,
        demo_callers=list(ids),
        demo_ids=ids,
        demo_ivr=MENU,
        agi_address="127.0.0.1:4573",
    )
    calls = specs(sim)
    assert len(calls) > 300 and all(c.ivr is not None for c in calls)
    kinds: Counter[str] = Counter()
    for c in calls:
        script = c.ivr
        assert script is not None
        if script.hangup_at == 0:
            kinds["hangup in the menu"] += 1
        elif script.keys == ("0",):
            kinds["agent"] += 1
        elif len(script.keys) == 3:
            assert script.keys[0] == "1" and script.keys[2] == ids[c.number] != script.keys[1]
            kinds["wrong id, then right"] += 1
        elif len(script.keys) == 2:
            assert script.keys == ("1", ids[c.number]) and c.queue == "support"
            kinds["typed id"] += 1
        else:
            assert script.keys == (MENU.keys[c.queue],)
            kinds["queue key"] += 1
    assert set(kinds) == {"hangup in the menu", "agent", "wrong id, then right", "typed id", "queue key"}
    assert kinds["queue key"] + kinds["typed id"] + kinds["wrong id, then right"] > len(calls) / 2
    again = specs(
        Simulator(scenario="demo", demo_callers=list(ids), demo_ids=ids, demo_ivr=MENU, agi_address="h:1")
    )
    assert [c.ivr for c in again] == [c.ivr for c in calls]  # seeded


def test_the_ivr_scripts_leave_the_calls_of_the_seed_unchanged() -> None:
    plain = specs(Simulator(scenario="demo", seed=3))
    with_ivr = specs(Simulator(scenario="demo", seed=3, demo_ivr=MENU, agi_address="127.0.0.1:4573"))
    strip = [(c.number, c.queue, c.priority, c.patience, c.talk) for c in plain]
    assert strip == [(c.number, c.queue, c.priority, c.patience, c.talk) for c in with_ivr]
    assert all(c.ivr is None for c in plain)


def test_without_an_agi_address_no_ivr_script_is_drawn() -> None:
    calls = specs(Simulator(scenario="demo", demo_ivr=MENU))
    assert calls and all(c.ivr is None for c in calls)


async def test_a_scripted_caller_without_an_agi_target_dials_the_queue_directly() -> None:
    sim = Simulator(scenario="idle")
    sim.engine.record_frames = True
    await sim.start(serve=False)
    call = sim.engine.place_call(CallerSpec("13900139001", queue="support", ivr=IvrScript(keys=("1",))))
    assert call.channel.context == "queues"
    assert not sim.engine.agi_tasks
    assert any(dict(f).get("Event") == "QueueCallerJoin" for f in sim.engine.frames)
    await sim.stop()


def test_callers_without_a_typable_id_ask_for_an_agent_and_wrong_ids_fail_the_check() -> None:
    rng = random.Random(5)
    scripts = [ivr_script(rng, MENU, "support", None) for _ in range(200)]
    assert all(s.keys in (("0",), ()) for s in scripts)
    for n in range(50):
        bad = wrong_id(random.Random(n), "123455")
        assert bad[:-1] == "12345" and bad != "123455"


def test_callers_answer_the_survey_and_the_call_back_offers_in_every_way() -> None:
    ids = {f"1390000{n:04d}": "123455" for n in range(100)}
    sim = Simulator(
        scenario="demo",
        demo_hours=8.0,
        demo_callers=list(ids),
        demo_ids=ids,
        demo_ivr=MENU,
        agi_address="h:1",
    )
    surveys: Counter[str] = Counter()
    offers: Counter[str] = Counter()
    callbacks: Counter[str] = Counter()
    for c in specs(sim):
        script = c.ivr
        assert script is not None
        if script.hangup_at == 0:
            assert script.survey is None and script.callback is None  # gone before the menu
            continue
        assert script.survey is not None and script.callback is not None
        survey = script.survey
        if survey.hangup_at == 0:
            surveys["hang up"] += 1
        elif len(survey.keys) == 2:
            assert survey.keys[0] not in "12345" and survey.keys[1] in "12345"
            surveys["invalid, then a score"] += 1
        else:
            assert len(survey.keys) == 1 and survey.keys[0] in "12345"
            surveys[survey.keys[0]] += 1
        assert dict(script.on_prompt).keys() == {"wait-offer"}
        offers["takes" if dict(script.on_prompt)["wait-offer"] == "1" else "stays"] += 1
        callbacks[script.callback.keys[0]] += 1
    assert set(surveys) == {"hang up", "invalid, then a score", "1", "2", "3", "4", "5"}
    assert surveys["1"] > surveys["5"]  # most callers are satisfied
    assert offers["takes"] and offers["stays"] > offers["takes"]
    assert set(callbacks) == {"1", "2"}
