"""The simulator's recordings: real WAVs for recorded calls whose layout (who speaks when) is known, so the
analytics can be checked against the truth."""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import pytest

from pbxsim import Simulator
from pbxsim.recordings import Layout, Recorder, SpeechBank, make_recording, plan
from recording.analytics import analyse_file
from recording.vad import total
from tests.recording_analytics.helpers import near

TOLERANCE_MS = 150


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Simulator]:
    """The ``answered`` scenario (queue support records every call) with recordings on."""
    import asyncio

    folder = tmp_path_factory.mktemp("monitor")

    async def play() -> Simulator:
        sim = Simulator(scenario="answered", recordings_dir=folder)
        sim.engine.record_frames = True
        await sim.start(serve=False)
        await sim.run_scenario()
        await sim.stop()
        return sim

    return folder, asyncio.run(play())


def frames(sim: Simulator, name: str) -> list[dict[str, str]]:
    return [dict(f) for f in sim.engine.frames if f[0] == ("Event", name)]


def test_one_wav_per_recorded_call_named_by_the_caller_uniqueid(answered: tuple[Path, Simulator]) -> None:
    folder, sim = answered
    started = frames(sim, "MixMonitorStart")
    assert len(started) == 8
    names = {f["Uniqueid"] + ".wav" for f in started}
    assert {p.name for p in folder.iterdir()} == names  # nothing else (no temporary files left)
    filenames = {
        Path(f["Value"]).name for f in frames(sim, "VarSet") if f["Variable"] == "MIXMONITOR_FILENAME"
    }
    assert filenames == names


def test_format_and_length_is_the_talk_time(answered: tuple[Path, Simulator]) -> None:
    folder, sim = answered
    complete = {f["Uniqueid"]: int(f["TalkTime"]) for f in frames(sim, "AgentComplete")}
    for uid, talk in complete.items():
        with wave.open(str(folder / f"{uid}.wav"), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
            seconds = w.getnframes() / 8000
        # TalkTime counts whole epoch seconds (app_queue); the file runs from answer to hangup exactly
        assert abs(seconds - talk) <= 1.0
        assert seconds == sim.recorder.layouts[uid].duration_ms / 1000  # type: ignore[union-attr]


def test_analytics_match_the_known_layout(answered: tuple[Path, Simulator]) -> None:
    folder, sim = answered
    assert sim.recorder is not None
    layouts = sim.recorder.layouts
    assert len(layouts) == 8
    saw_overtalk = saw_hold = False
    for uid, truth in layouts.items():
        a = analyse_file(folder / f"{uid}.wav")
        assert not a.mixed_mono and a.not_measurable == []
        assert [c.name for c in a.channels] == ["caller", "agent"]
        assert a.duration_ms == truth.duration_ms
        assert near(a.channels[0].activity, truth.caller, TOLERANCE_MS), uid
        assert near(a.channels[1].activity, truth.agent, TOLERANCE_MS), uid
        n_segments = len(truth.caller) + len(truth.agent)
        assert abs(a.caller_talk_ms - total(truth.caller)) <= TOLERANCE_MS * len(truth.caller)  # type: ignore[operator]
        assert abs(a.agent_talk_ms - total(truth.agent)) <= TOLERANCE_MS * len(truth.agent)  # type: ignore[operator]
        assert abs(a.silence_ms - total(truth.silences)) <= TOLERANCE_MS * n_segments
        assert abs(a.longest_silence_ms - max(e - s for s, e in truth.silences)) <= TOLERANCE_MS
        assert abs(a.dead_air_after_answer_ms - truth.dead_air_ms) <= TOLERANCE_MS
        assert abs(a.overtalk_ms - total(truth.overtalk)) <= TOLERANCE_MS  # type: ignore[operator]
        truth_ratio = total(truth.agent) / (total(truth.agent) + total(truth.caller))
        assert a.agent_talk_ratio == pytest.approx(truth_ratio, abs=0.02)
        saw_overtalk |= bool(truth.overtalk)
        saw_hold |= any(e - s >= 3000 for s, e in truth.silences)
    assert saw_overtalk and saw_hold  # the script's deliberate silence and overtalk are in the longer calls


def test_recordings_are_off_unless_a_directory_is_given() -> None:
    sim = Simulator(scenario="answered")
    assert sim.recorder is None
    assert not any(isinstance(getattr(fn, "__self__", None), Recorder) for fn in sim.engine.listeners)


def test_the_script() -> None:
    layout = plan(60_000, [3000, 2000, 2500], [4000, 1500, 2000, 1000], seed=7)
    assert layout.dead_air_ms == 600
    assert layout.agent[0] == (600, 4600)  # the greeting first
    assert layout.caller[0] == (5100, 8100)
    assert any(e - s == 3500 for s, e in layout.silences)  # the deliberate silence
    after_hold = [p for p in layout.placements if p.role == "agent"][2]
    assert layout.overtalk[0] == (
        after_hold.end_ms - min(800, (after_hold.end_ms - after_hold.start_ms) // 2),
        after_hold.end_ms,
    )
    assert layout.caller[-1][1] <= 60_000 and layout.agent[-1][1] <= 60_000
    assert max(max(e for _, e in layout.caller), max(e for _, e in layout.agent)) == 60_000  # cut at hangup
    short = plan(1_000, [3000], [4000], seed=1)
    assert short.agent == [(600, 1000)] and short.caller == [] and short.silences == [(0, 600)]
    empty = plan(0, [3000], [4000])
    assert empty.placements == [] and empty.dead_air_ms == 0


def test_english_voice(tmp_path: Path) -> None:
    bank = SpeechBank("en")
    layout = make_recording(tmp_path / "en.wav", 20_000, bank, seed=2)
    a = analyse_file(tmp_path / "en.wav")
    assert near(a.channels[0].activity, layout.caller, TOLERANCE_MS)
    assert near(a.channels[1].activity, layout.agent, TOLERANCE_MS)
    w = analyse_file(tmp_path / "en.wav", method="webrtc")  # the optional VAD roughly agrees
    assert abs(w.talk_ms - a.talk_ms) <= 0.1 * a.duration_ms


def test_writing_happens_off_the_event_loop_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []

    def fake(path: Path, duration_ms: int, bank: SpeechBank, *, seed: int = 0, muted: object = ()) -> Layout:
        threads.append(threading.current_thread().name)
        return Layout(duration_ms)

    monkeypatch.setattr("pbxsim.recordings.make_recording", fake)
    rec = Recorder(tmp_path)
    head = [("Event", "MixMonitorStart"), ("Privilege", "call,all"), ("Timestamp", "100.000000")]
    rec.on_frame([*head, ("Uniqueid", "100.1")])
    rec.on_frame(
        [("Event", "Hangup"), ("Privilege", "call,all"), ("Timestamp", "112.040000"), ("Uniqueid", "100.2")]
    )
    rec.on_frame(
        [("Event", "Hangup"), ("Privilege", "call,all"), ("Timestamp", "112.040000"), ("Uniqueid", "100.1")]
    )
    assert rec.wait()["100.1"].duration_ms == 12_040
    assert list(rec.layouts) == ["100.1"]  # the agent leg (never recorded) wrote nothing
    rec.close()
    assert threads and all(name.startswith("pbxsim-recorder") for name in threads)
    assert threading.current_thread().name not in threads


def ev(name: str, at: float, uniqueid: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        ("Event", name),
        ("Privilege", "call,all"),
        ("Timestamp", f"{at:.6f}"),
        ("Uniqueid", uniqueid),
        *extra,
    ]


def test_mute_for_card_data_and_stop_mixmonitor(tmp_path: Path) -> None:
    """MixMonitor started by the AMI action with its own File, muted 10–14 s, stopped at 20 s (the channel
    lives on): the file has that name, 20 s, and digital silence while muted."""
    rec = Recorder(tmp_path)
    uid = "1795400500.7"
    path_var = ("Variable", "MIXMONITOR_FILENAME"), ("Value", "/var/spool/asterisk/monitor/card-call.wav")
    for frame in (
        ev("VarSet", 100.0, uid, *path_var),
        ev("MixMonitorStart", 100.0, uid),
        ev("MixMonitorMute", 110.0, uid, ("Direction", "both"), ("State", "1")),
        ev("MixMonitorMute", 114.0, uid, ("Direction", "both"), ("State", "0")),
        ev("MixMonitorStop", 120.0, uid),
        ev("Hangup", 130.0, uid),  # already stopped: nothing more
    ):
        rec.on_frame(frame)
    layout = rec.wait()[uid]
    rec.close()
    assert [p.name for p in tmp_path.iterdir()] == ["card-call.wav"]
    assert layout.duration_ms == 20_000 and layout.muted == [(10_000, 14_000)]
    assert all(e <= 10_000 or s >= 14_000 for s, e in layout.caller + layout.agent)
    with wave.open(str(tmp_path / "card-call.wav"), "rb") as w:
        assert w.getnframes() == 160_000
    a = analyse_file(tmp_path / "card-call.wav")
    assert any(s <= 10_150 and e >= 13_850 for s, e in a.silences)  # nobody heard while muted
    assert near(a.channels[0].activity, layout.caller, TOLERANCE_MS)
    assert near(a.channels[1].activity, layout.agent, TOLERANCE_MS)


def test_mute_still_on_at_hangup(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    for frame in (
        ev("MixMonitorStart", 0.0, "1.1"),
        ev("MixMonitorMute", 5.0, "1.1", ("State", "1")),
        ev("Hangup", 8.0, "1.1"),
    ):
        rec.on_frame(frame)
    layout = rec.wait()["1.1"]
    rec.close()
    assert (tmp_path / "1.1.wav").exists()  # no MIXMONITOR_FILENAME seen: <uniqueid>.wav
    assert layout.muted == [(5000, 8000)] and layout.to_json()["muted"] == [[5000, 8000]]


def test_without_espeak_the_layout_is_spoken_by_babble(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pbxsim.recordings.shutil.which", lambda name: None)
    bank = SpeechBank("zh", cache_dir=tmp_path / "cache")
    layout = make_recording(tmp_path / "b.wav", 30_000, bank, seed=4)
    assert len(list((tmp_path / "cache").glob("*.wav"))) == 11  # 5 caller + 6 agent clips, cached
    a = analyse_file(tmp_path / "b.wav")
    assert near(a.channels[0].activity, layout.caller, TOLERANCE_MS)
    assert near(a.channels[1].activity, layout.agent, TOLERANCE_MS)
