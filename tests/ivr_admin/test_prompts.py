"""Prompt generation with espeak-ng and sox/ffmpeg, and the ``callcenter ivr prompts`` command."""

from __future__ import annotations

import asyncio
import shutil
import struct
from pathlib import Path

import pytest

from callcenter.cli import main
from core.clock import utcnow
from ivr import prompts
from tests.ivr_admin.conftest import wav_bytes

needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or (shutil.which("sox") is None and shutil.which("ffmpeg") is None),
    reason="espeak-ng and sox/ffmpeg are missing (`make system-packages` installs them)",
)


def header(path: Path) -> tuple[int, int, int, int]:
    """(format tag, channels, sample rate, bits per sample) read from the RIFF header itself."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    offset = 12
    while offset < len(data):
        chunk, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if chunk == b"fmt ":
            tag, channels, rate = struct.unpack("<HHI", data[offset + 8 : offset + 16])
            bits = struct.unpack("<H", data[offset + 22 : offset + 24])[0]
            return tag, channels, rate, bits
        offset += 8 + size + (size & 1)
    raise AssertionError("no fmt chunk")


@needs_tools
def test_generate_two_prompts_as_telephony_wav(tmp_path: Path) -> None:
    report = asyncio.run(
        prompts.generate_prompts(tmp_path, languages=["zh-CN", "en"], names=["welcome", "goodbye"])
    )
    assert report.generated == ["en/goodbye", "en/welcome", "zh-CN/goodbye", "zh-CN/welcome"]
    for language in ("zh-CN", "en"):
        for name in ("welcome", "goodbye"):
            path = prompts.audio_path(tmp_path, language, name)
            assert header(path) == (1, 1, 8000, 16)  # PCM, mono, 8 kHz, 16-bit
            info = prompts.read_info(path)
            assert info is not None and info.frames > 8000 // 2  # at least half a second of speech
    # existing files are skipped; --force regenerates them but keeps an admin's recording
    again = asyncio.run(prompts.generate_prompts(tmp_path, languages=["en"], names=["welcome", "goodbye"]))
    assert again.generated == [] and again.skipped == ["en/goodbye", "en/welcome"]
    recording, _info = prompts.convert_upload(wav_bytes())
    prompts.store_upload(tmp_path, "en", "welcome", recording, by="admin", filename="w.wav", at=utcnow())
    forced = asyncio.run(
        prompts.generate_prompts(tmp_path, languages=["en"], names=["welcome", "goodbye"], force=True)
    )
    assert forced.generated == ["en/goodbye"] and forced.kept_uploads == ["en/welcome"]
    assert prompts.audio_path(tmp_path, "en", "welcome").read_bytes() == recording


def test_a_missing_tool_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompts.shutil, "which", lambda name: None)
    with pytest.raises(prompts.PromptToolMissing, match="espeak-ng is not installed"):
        asyncio.run(prompts.generate_prompts(tmp_path, names=["welcome"]))
    assert not any(tmp_path.iterdir())


def test_the_command_reports_a_missing_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(prompts.shutil, "which", lambda name: None)
    assert main(["ivr", "prompts", "--out", str(tmp_path)]) == 1
    assert "espeak-ng is not installed" in capsys.readouterr().err


@needs_tools
def test_the_command_generates_one_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # two prompts keep the test short: the catalog is narrowed to them
    texts = {"welcome": "Welcome.", "goodbye": "Goodbye."}
    monkeypatch.setattr(prompts, "prompt_texts", lambda language: texts)
    assert main(["ivr", "prompts", "--language", "en", "--out", str(tmp_path)]) == 0
    assert "2 generated" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "en").iterdir()) == ["goodbye.wav", "welcome.wav"]
    assert not (tmp_path / "zh-CN").exists()
    assert main(["ivr", "prompts", "--language", "en", "--out", str(tmp_path)]) == 0
    assert "0 generated, 2 already there" in capsys.readouterr().out
