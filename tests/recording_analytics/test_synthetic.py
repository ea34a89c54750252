"""Analytics on synthetic signals (tone bursts over noise on known intervals) and the segment arithmetic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recording.analytics import AudioAnalysis, analyse, peaks
from recording.vad import complement, intersect, mask_to_segments, smooth_mask, total, union
from tests.recording_analytics.helpers import RATE, bursts, near, stereo

CALLER = [(1000, 3000), (5000, 6500), (9000, 10_000)]
AGENT = [(3400, 5300), (7000, 9500)]


def test_known_layout_two_channels() -> None:
    a = analyse(stereo(CALLER, AGENT, 12_000), RATE, channel_names=["caller", "agent"])
    assert near(a.channels[0].activity, CALLER, 60) and near(a.channels[1].activity, AGENT, 60)
    assert abs(a.caller_talk_ms - 4500) <= 150  # type: ignore[operator]
    assert abs(a.agent_talk_ms - 4400) <= 150  # type: ignore[operator]
    assert near(a.overtalk, [(5000, 5300), (9000, 9500)], 60)
    # silences: 0–1000, 3000–3400, 6500–7000, 10000–12000
    assert near(a.silences, [(0, 1000), (3000, 3400), (6500, 7000), (10_000, 12_000)], 60)
    assert abs(a.longest_silence_ms - 2000) <= 60
    assert abs(a.dead_air_after_answer_ms - 1000) <= 40
    assert a.agent_talk_ratio == pytest.approx(4400 / 8900, abs=0.02)
    assert a.not_measurable == [] and a.mixed_mono is False


def test_dead_air_counts_from_the_answer() -> None:
    samples = stereo(CALLER, AGENT, 12_000)
    during = analyse(samples, RATE, channel_names=["caller", "agent"], answer_offset_ms=2000)
    assert during.dead_air_after_answer_ms == 0  # the caller is already speaking at 2 s
    later = analyse(samples, RATE, channel_names=["caller", "agent"], answer_offset_ms=3100)
    assert abs(later.dead_air_after_answer_ms - 300) <= 60  # 3.1 s → the agent at 3.4 s
    end = analyse(samples, RATE, channel_names=["caller", "agent"], answer_offset_ms=11_000)
    assert end.dead_air_after_answer_ms == 1000  # nobody speaks again: until the end


def test_mixed_mono_sums_both_parties() -> None:
    both = stereo(CALLER, AGENT, 12_000).astype(np.int32).sum(axis=0).clip(-32768, 32767).astype(np.int16)
    a = analyse(both[np.newaxis, :], RATE, channel_names=["mixed"])
    assert a.mixed_mono and a.caller_talk_ms is None and a.overtalk_ms is None
    assert set(a.not_measurable) == {"caller_talk", "agent_talk", "overtalk", "agent_talk_ratio"}
    assert abs(a.talk_ms - (12_000 - 1000 - 400 - 500 - 2000)) <= 150
    one_dim = analyse(both, RATE, channel_names=["whatever"])  # 1-D input: one mixed channel
    assert one_dim.mixed_mono and one_dim.talk_ms == a.talk_ms


def test_quiet_speaker_over_hiss_is_found_and_hiss_alone_is_not() -> None:
    quiet = bursts([(2000, 4000)], 8000, level_dbfs=-32, noise_dbfs=-55)
    hiss = bursts([], 8000, noise_dbfs=-45)
    a = analyse(np.stack([quiet, hiss]), RATE, channel_names=["caller", "agent"])
    assert near(a.channels[0].activity, [(2000, 4000)], 60)
    assert a.agent_talk_ms == 0 and a.agent_talk_ratio == 0.0


def test_continuous_speech_is_not_swallowed_by_the_adaptive_floor() -> None:
    a = analyse(bursts([(0, 30_000)], 30_000)[np.newaxis, :], RATE, channel_names=["mixed"])
    assert a.talk_ms == 30_000 and a.silences == []


def test_short_gaps_are_bridged_and_clicks_dropped() -> None:
    x = bursts([(1000, 2000), (2200, 3000), (5000, 5040)], 6000)  # 200 ms pause, a 40 ms click
    a = analyse(x[np.newaxis, :], RATE, channel_names=["mixed"])
    assert near(a.channels[0].activity, [(1000, 3000)], 60)


@pytest.mark.parametrize("n", [0, 1, 79, 160, 799])
def test_empty_and_very_short_audio(n: int) -> None:
    a = analyse(np.zeros((2, n), dtype=np.int16), RATE, channel_names=["caller", "agent"])
    assert a.duration_ms == n * 1000 // RATE
    assert a.talk_ms == 0 and a.silence_ms == a.duration_ms
    assert a.silence_share == (1.0 if a.duration_ms else 0.0)
    assert a.overtalk_ms == 0 and a.agent_talk_ratio is None and "agent_talk_ratio" in a.not_measurable
    assert a.dead_air_after_answer_ms == a.duration_ms
    assert all(len(c.peaks) == 800 and max(c.peaks) == 0.0 for c in a.channels)


def test_peaks_are_800_points_in_0_1() -> None:
    x = np.array([0, -32768, 32767, 100] * 1000, dtype=np.int16)
    p = peaks(x)
    assert len(p) == 800 and max(p) == 1.0 and min(p) >= 0.0
    assert peaks(np.array([16384], dtype=np.int16)) == [0.5] * 800
    ramp = np.repeat(np.arange(800, dtype=np.int16) * 40, 10)
    assert peaks(ramp)[799] == pytest.approx(799 * 40 / 32768, abs=1e-3)


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        analyse(np.zeros((2, 10), dtype=np.int16), RATE, channel_names=["caller"])
    with pytest.raises(ValueError):
        analyse(np.zeros((2, 10), dtype=np.float32), RATE, channel_names=["caller", "agent"])
    with pytest.raises(ValueError):
        analyse(np.zeros((1, 10), dtype=np.int16), RATE, channel_names=["mixed"], method="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        analyse(np.zeros((1, 10), dtype=np.int16), 11025, channel_names=["mixed"], method="webrtc")


def test_waveform_json_shape() -> None:
    a = analyse(stereo(CALLER, AGENT, 12_000), RATE, channel_names=["caller", "agent"])
    wf = a.to_waveform()
    assert set(wf) == {"duration_ms", "channels", "overtalk", "silences"}
    assert [c["name"] for c in wf["channels"]] == ["caller", "agent"]
    assert all(len(c["peaks"]) == 800 for c in wf["channels"])
    assert wf["channels"][0]["activity"][0] == list(a.channels[0].activity[0])
    assert a.measures()["overtalk_ms"] == a.overtalk_ms and "waveform" not in a.measures()


# --------------------------------------------------------------------------- properties

segments_ms = st.lists(
    st.tuples(st.integers(0, 190), st.integers(1, 60)).map(lambda t: (t[0] * 50, t[0] * 50 + t[1] * 50)),
    max_size=8,
)


def invariants(a: AudioAnalysis) -> None:
    d = a.duration_ms
    assert a.talk_ms + a.silence_ms == d
    assert 0.0 <= a.silence_share <= 1.0
    assert 0 <= a.longest_silence_ms <= a.silence_ms
    assert 0 <= a.dead_air_after_answer_ms <= d
    assert total(a.silences) == a.silence_ms
    for segs in [a.silences, a.overtalk, *(c.activity for c in a.channels)]:
        assert all(0 <= s < e <= d for s, e in segs)
        assert all(x[1] < y[0] for x, y in itertools.pairwise(segs))  # sorted, apart
    assert all(len(c.peaks) == 800 and all(0.0 <= p <= 1.0 for p in c.peaks) for c in a.channels)
    if not a.mixed_mono:
        caller, agent = a.caller_talk_ms or 0, a.agent_talk_ms or 0
        assert a.talk_ms == caller + agent - (a.overtalk_ms or 0)  # |A ∪ B| = |A| + |B| − |A ∩ B|
        assert max(caller, agent) <= a.talk_ms
        assert a.overtalk_ms is not None and a.overtalk_ms <= min(caller, agent)
        if a.agent_talk_ratio is not None:
            assert 0.0 <= a.agent_talk_ratio <= 1.0
        # speech and silence tile the call
        assert union(a.silences, *(c.activity for c in a.channels)) == ([(0, d)] if d else [])


@settings(max_examples=40, deadline=None)
@given(
    caller=segments_ms,
    agent=segments_ms,
    duration=st.integers(0, 10_000),
    answer=st.integers(0, 12_000),
    seed=st.integers(0, 1000),
)
def test_measures_are_consistent(
    caller: list[tuple[int, int]], agent: list[tuple[int, int]], duration: int, answer: int, seed: int
) -> None:
    a = analyse(
        stereo(caller, agent, duration, seed),
        RATE,
        channel_names=["caller", "agent"],
        answer_offset_ms=answer,
    )
    invariants(a)
    mono = analyse(stereo(caller, agent, duration, seed)[:1], RATE, channel_names=["mixed"])
    invariants(mono)


def reference(segs: list[tuple[int, int]], d: int) -> np.ndarray:
    grid = np.zeros(d, dtype=bool)
    for s, e in segs:
        grid[s:e] = True
    return grid


def segments_of(grid: np.ndarray) -> list[tuple[int, int]]:
    return mask_to_segments(grid, 1, len(grid))


@given(a=segments_ms, b=segments_ms)
def test_segment_arithmetic_matches_a_grid(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    d = 13_000
    ga, gb = reference(a, d), reference(b, d)
    ua, ub = union(a), union(b)
    assert ua == segments_of(ga) and ub == segments_of(gb)
    assert union(a, b) == segments_of(ga | gb)
    assert intersect(ua, ub) == segments_of(ga & gb)
    assert complement(ua, d) == segments_of(~ga)
    assert total(ua) + total(complement(ua, d)) == d


@given(st.lists(st.booleans(), max_size=200))
def test_smoothing_leaves_no_short_gap_or_run(bits: list[bool]) -> None:
    out = smooth_mask(np.array(bits, dtype=bool))
    assert len(out) == len(bits)
    segs = mask_to_segments(out, 20, 20 * len(bits))
    for (_, e), (s, _) in itertools.pairwise(segs):
        assert s - e >= 300 - 40  # gaps below 300 ms are closed (the hangover may eat 40 ms of a gap)
    assert all(e - s >= 100 or e == 20 * len(bits) for s, e in segs)
    assert not out.any() or np.array(bits).any()  # smoothing never invents voice from nothing
