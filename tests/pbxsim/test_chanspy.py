"""ChanSpy started with Originate (actions/: supervisor 1005 listens / whispers / barges on PJSIP/1002):
both the lab's dialplan form (``Context: supervisor``, ``Exten: listen|whisper|barge``, ``Variable:
SPYTARGET=…``) and the direct ``Application: ChanSpy`` form give the captured OriginateResponse, ChanSpyStart
and ChanSpyStop (header names in the captured order), ChanSpyStop when either side hangs up.

The capture has no ChanSpy on a channel that does not exist; the simulator answers that with an
OriginateResponse failure (Reason 0, no channel), documented in pbxsim's docstring.
"""

from __future__ import annotations

import pytest

from pbxsim import Simulator
from pbxsim.queues import Phone
from tests.pbxsim.amitest import Client, Frame, capture, get, kind


def names(frame: Frame) -> list[str]:
    return [k for k, _ in frame]


def captured(what: str, **match: str) -> Frame:
    return next(
        f for f in capture("actions") if kind(f) == what and all(get(f, k) == v for k, v in match.items())
    )


ROUTE = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}  # the lab's supervisor context
DIRECT = {"listen": "q", "whisper": "qw", "barge": "qB"}


async def started(phone: Phone | None = None) -> tuple[Simulator, Client]:
    """The priority scenario: arrival 1 talks to Bob (PJSIP/1002) from t+2 to t+8."""
    sim = Simulator(scenario="priority")
    if phone is not None:
        sim.engine.devices["PJSIP/1005"].phone = phone
    await sim.start()
    client = await Client.connect(sim.port)
    await client.login()
    await sim.virtual.advance(4.0)
    return sim, client


async def originate(client: Client, form: str, mode: str, target: str = "PJSIP/1002") -> None:
    fields = {"Action": "Originate", "ActionID": "spy", "Channel": "PJSIP/1005"}
    if form == "route":
        fields |= {"Context": "supervisor", "Exten": mode, "Priority": "1", "Variable": f"SPYTARGET={target}"}
    else:
        fields |= {
            "Application": "ChanSpy",
            "Data": f"{target},{ {'listen': 'q', 'whisper': 'qw'}.get(mode, 'qB') }",
        }
    fields |= {"CallerID": '"Supervisor" <1005>', "Async": "true", "Timeout": "15000"}
    await client.send(**fields)
    frames = await client.until("Response:Success")
    assert get(frames[-1], "Message") == "Originate successfully queued"


@pytest.mark.parametrize("form", ["route", "application"])
@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
async def test_supervisor_hangs_up_the_spy_session(form: str, mode: str) -> None:
    sim, client = await started()
    await originate(client, form, mode)
    await sim.virtual.advance(2.05)  # 1005 answers after 2 s
    frames = await client.until("OriginateResponse")
    response = frames[-1]
    assert get(response, "Response") == "Success" and get(response, "Reason") == "4"
    assert get(response, "ActionID") == "spy"
    if form == "route":
        assert names(response) == names(captured("OriginateResponse", Exten=mode))
        assert [get(response, k) for k in ("Context", "Exten")] == ["supervisor", mode]
    else:  # Asterisk names the application instead of context/exten
        assert names(response)[6:8] == ["Application", "Data"]
    assert not [f for f in frames if kind(f) == "ChanSpyStart"]  # ~0.1 s after the response, as captured
    spyer = get(response, "Channel")
    assert spyer is not None and spyer.startswith("PJSIP/1005-")
    await sim.virtual.advance(0.2)
    start = (await client.until("ChanSpyStart"))[-1]
    assert names(start) == names(captured("ChanSpyStart"))
    assert get(start, "SpyerChannel") == spyer and get(start, "SpyerUniqueid") == get(response, "Uniqueid")
    assert get(start, "SpyerConnectedLineNum") == "1005"  # the supervisor's own number, as captured
    spyee = get(start, "SpyeeChannel")
    assert spyee is not None and spyee.startswith("PJSIP/1002-")
    assert get(start, "SpyeeConnectedLineNum") == "13400134001"  # Bob is talking to arrival 1
    if form == "route":
        assert get(start, "SpyerExten") == mode
    chan = sim.engine.find_channel(spyer)
    assert chan is not None and chan.app_data == f"PJSIP/1002,{(ROUTE if form == 'route' else DIRECT)[mode]}"
    await client.send(Action="Hangup", ActionID="h", Channel=spyer, Cause="16")
    frames = await client.until("Hangup")
    # as captured after the AMI Hangup of the supervisor: ChanSpyStop → SoftHangupRequest → Hangup
    tail = [kind(f) for f in frames if kind(f) in ("ChanSpyStop", "SoftHangupRequest", "Hangup")]
    assert tail == ["ChanSpyStop", "SoftHangupRequest", "Hangup"]
    stop = next(f for f in frames if kind(f) == "ChanSpyStop")
    assert names(stop) == names(captured("ChanSpyStop"))
    assert get(stop, "SpyerChannel") == spyer and get(stop, "SpyeeChannel") == spyee
    assert get(frames[-1], "Channel") == spyer
    assert sim.engine.find_channel(spyee) is not None  # Bob's call goes on
    assert not sim.engine.spies
    await client.close()
    await sim.stop()


async def test_spyee_hanging_up_stops_the_session() -> None:
    sim, client = await started()
    await originate(client, "route", "listen")
    await sim.virtual.advance(2.5)
    start = (await client.until("ChanSpyStart"))[-1]
    spyee = get(start, "SpyeeChannel")
    await sim.virtual.advance(6.0)  # Bob hangs up at t+9
    frames = await client.until("ChanSpyStop")
    stop = frames[-1]
    assert get(stop, "SpyeeChannel") == spyee and names(stop) == names(start)
    assert not [f for f in frames if kind(f) == "Hangup" and get(f, "Channel") == spyee]
    frames = await client.until("Hangup")
    assert get(frames[-1], "Channel") == spyee  # ChanSpyStop precedes the spyee's Hangup
    assert not sim.engine.spies
    await client.close()
    await sim.stop()


@pytest.mark.parametrize("form", ["route", "application"])
async def test_spying_a_channel_that_does_not_exist_fails_the_originate(form: str) -> None:
    sim, client = await started()
    await originate(client, form, "listen", target="PJSIP/9999")
    await sim.virtual.advance(3.0)
    frames = await client.until("OriginateResponse")
    response = frames[-1]
    assert [get(response, k) for k in ("Response", "Reason", "Uniqueid")] == ["Failure", "0", "<unknown>"]
    assert get(response, "Channel") == "PJSIP/1005"
    assert not [
        f for f in frames if kind(f) == "Newchannel" and (get(f, "Channel") or "").startswith("PJSIP/1005")
    ]
    assert not sim.engine.spies
    await client.close()
    await sim.stop()


async def test_never_answering_and_person_driven_supervisor_phones() -> None:
    sim, client = await started(Phone(answer_after=None))
    await originate(client, "route", "whisper")
    await sim.virtual.advance(15.5)
    frames = await client.until("OriginateResponse")
    assert [get(frames[-1], k) for k in ("Response", "Reason")] == ["Failure", "3"]
    assert not [f for f in frames if kind(f) == "ChanSpyStart"]
    await client.close()
    await sim.stop()

    # a person-driven phone behaves as in any Originate: it is picked up after 1 s
    sim, client = await started(Phone(manual=True))
    await originate(client, "application", "barge")
    await sim.virtual.advance(1.2)
    frames = await client.until("ChanSpyStart")
    assert (get(frames[-1], "SpyeeChannel") or "").startswith("PJSIP/1002-")
    await client.close()
    await sim.stop()
