"""The MixMonitor WAVs captured from Asterisk 22 (answered/ and transfer/): mono, both parties mixed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from recording.analytics import NOT_MEASURABLE_MIXED, analyse_file, decode_file

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk"


def captured() -> list[tuple[Path, float]]:
    out = []
    for folder in ("answered", "transfer"):
        tsv = FIXTURES / folder / "recordings" / "recordings.tsv"
        with tsv.open(newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                out.append((tsv.parent / row["file"], float(row["seconds"])))
    return out


CAPTURED = captured()


def test_all_four_recordings_are_listed() -> None:
    assert len(CAPTURED) == 4
    assert all(path.exists() for path, _ in CAPTURED)


@pytest.mark.parametrize(("path", "seconds"), CAPTURED, ids=[p.name for p, _ in CAPTURED])
def test_mixed_mono_measures_what_it_can(path: Path, seconds: float) -> None:
    samples, rate = decode_file(path)
    assert samples.shape == (1, round(seconds * 8000)) and rate == 8000

    a = analyse_file(path)
    assert a.duration_ms == round(seconds * 1000)  # recordings.tsv: 40.5, 12.04, 18, 18 s
    assert a.mixed_mono is True
    # one mixed signal cannot say who speaks
    assert a.caller_talk_ms is None and a.agent_talk_ms is None
    assert a.overtalk_ms is None and a.agent_talk_ratio is None
    assert sorted(a.not_measurable) == sorted(NOT_MEASURABLE_MIXED)
    # ... but voice vs. no voice is measured
    assert a.talk_ms + a.silence_ms == a.duration_ms
    assert a.talk_ms > 0.85 * a.duration_ms  # these calls are people talking nearly all the time
    assert 0.0 <= a.silence_share < 0.15
    assert a.silence_share == pytest.approx(a.silence_ms / a.duration_ms, abs=1e-4)
    assert a.dead_air_after_answer_ms < 500
    wf = a.to_waveform()
    assert wf["duration_ms"] == a.duration_ms
    assert [c["name"] for c in wf["channels"]] == ["mixed"]
    assert len(wf["channels"][0]["peaks"]) == 800
    assert max(wf["channels"][0]["peaks"]) > 0.1
    assert wf["overtalk"] == []


def test_the_long_pause_in_the_forty_second_call() -> None:
    # answered/1795400357.0.wav: nobody speaks from ~14.7 s to ~16.9 s (plus a shorter pause near 33 s)
    a = analyse_file(FIXTURES / "answered" / "recordings" / "1795400357.0.wav")
    assert 1900 <= a.longest_silence_ms <= 2500
    longest = max(a.silences, key=lambda s: s[1] - s[0])
    assert abs(longest[0] - 14_750) <= 200 and abs(longest[1] - 16_900) <= 200
    assert any(abs(s - 33_100) <= 300 and e - s >= 500 for s, e in a.silences)
    # the activity segments are the complement of the silences
    activity = a.channels[0].activity
    assert sum(e - s for s, e in activity) == a.talk_ms


def test_the_twelve_second_call_has_no_real_pause() -> None:
    a = analyse_file(FIXTURES / "answered" / "recordings" / "1795400369.2.wav")
    assert a.longest_silence_ms < 500


def test_webrtc_agrees_with_energy_on_the_captured_audio() -> None:
    path = FIXTURES / "answered" / "recordings" / "1795400357.0.wav"
    energy, webrtc = analyse_file(path), analyse_file(path, method="webrtc")
    assert webrtc.method == "webrtc" and webrtc.mixed_mono
    assert abs(webrtc.talk_ms - energy.talk_ms) < 0.05 * energy.duration_ms
    assert abs(webrtc.longest_silence_ms - energy.longest_silence_ms) < 300
