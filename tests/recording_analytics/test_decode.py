"""Decoding recordings: WAV with numpy (any PCM width), other formats through pydub, broken files."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from pbxsim.recordings import write_wav
from recording.analytics import AudioDecodeError, analyse_file, decode_file, decode_wav
from tests.recording_analytics.helpers import RATE, stereo

CALLER, AGENT = [(500, 1500)], [(1800, 2600)]


@pytest.fixture()
def call_wav(tmp_path: Path) -> Path:
    path = tmp_path / "1795400000.1.wav"
    write_wav(path, stereo(CALLER, AGENT, 3000), RATE)
    return path


def test_stereo_wav_is_caller_left_agent_right(call_wav: Path) -> None:
    samples, rate = decode_wav(call_wav)
    assert rate == RATE and samples.shape == (2, 24_000) and samples.dtype == np.int16
    assert np.array_equal(samples, stereo(CALLER, AGENT, 3000))
    a = analyse_file(call_wav)
    assert [c.name for c in a.channels] == ["caller", "agent"]
    assert abs(a.caller_talk_ms - 1000) <= 60 and abs(a.agent_talk_ms - 800) <= 60  # type: ignore[operator]


def test_header_only_wav_as_asterisk_writes_for_unbridged_calls(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    assert path.stat().st_size == 44
    a = analyse_file(path)
    assert (a.duration_ms, a.talk_ms, a.silence_ms, a.silence_share, a.longest_silence_ms) == (
        0,
        0,
        0,
        0.0,
        0,
    )
    assert a.mixed_mono and a.dead_air_after_answer_ms == 0
    assert a.to_waveform()["channels"][0]["peaks"] == [0.0] * 800


def test_truncated_wav_is_read_up_to_where_it_ends(call_wav: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.wav"
    cut.write_bytes(call_wav.read_bytes()[: 44 + 8000 * 4 + 3])  # 1 s of stereo and half a frame
    samples, _ = decode_file(cut)
    assert samples.shape == (2, 8000)
    assert analyse_file(cut).duration_ms == 1000


@pytest.mark.parametrize("content", [b"", b"RIFF", b"not a wav at all" * 10])
def test_broken_files_raise_a_decode_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError):
        analyse_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        analyse_file(tmp_path / "gone.wav")


@pytest.mark.parametrize("width", [1, 3, 4])
def test_other_pcm_widths(tmp_path: Path, width: int) -> None:
    x = stereo(CALLER, AGENT, 3000)
    wide = x.T.astype(np.int32) << 16  # the same signal, 32-bit
    raw = {
        1: ((x.T.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes(),
        3: np.frombuffer(wide.astype("<i4").tobytes(), dtype=np.uint8).reshape(-1, 4)[:, 1:].tobytes(),
        4: wide.astype("<i4").tobytes(),
    }[width]
    path = tmp_path / f"w{width}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(width)
        w.setframerate(RATE)
        w.writeframes(raw)
    samples, _ = decode_file(path)
    tolerance = 256 if width == 1 else 0
    assert np.abs(samples.astype(np.int32) - x).max() <= tolerance
    assert abs(analyse_file(path).caller_talk_ms - 1000) <= 60  # type: ignore[operator]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_mp3_goes_through_pydub(call_wav: Path, tmp_path: Path) -> None:
    mp3 = tmp_path / "call.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(call_wav), str(mp3)], check=True, timeout=30)
    a = analyse_file(mp3)
    assert abs(a.duration_ms - 3000) <= 100  # the encoder's padding
    assert not a.mixed_mono
    assert abs(a.caller_talk_ms - 1000) <= 150 and abs(a.agent_talk_ms - 800) <= 150  # type: ignore[operator]


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_wav_the_stdlib_refuses_falls_back_to_pydub(call_wav: Path, tmp_path: Path) -> None:
    ext = tmp_path / "extensible.wav"  # sox writes WAVE_FORMAT_EXTENSIBLE for 24-bit
    subprocess.run(["sox", str(call_wav), "-b", "24", str(ext)], check=True, timeout=30)
    with pytest.raises(wave.Error):
        decode_wav(ext)
    samples, rate = decode_file(ext)
    assert rate == RATE and samples.shape == (2, 24_000)
    assert abs(analyse_file(ext).agent_talk_ms - 800) <= 60  # type: ignore[operator]
