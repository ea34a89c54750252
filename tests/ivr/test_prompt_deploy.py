"""Prompts deployed where Asterisk plays them: ``<sounds>/<language>/<prompt dir>/<name>.wav`` (8 kHz mono
16-bit), the admins' uploads included; every prompt a flow can play, under the very name the FastAGI
server sends in STREAM FILE / GET DATA, exists there; ``callcenter ivr prompts --deploy DIR``."""

from __future__ import annotations

import asyncio
import shutil
import wave
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callcenter.cli import build_parser, main
from core.clock import utcnow
from core.db import transaction
from core.i18n import LANGUAGES
from ivr import prompts
from ivr.default_flow import DEFAULT_FLOWS
from ivr.flows import flow_prompts, prompt_texts, validate_flow
from ivr.server import FastAgiServer
from tests.ivr.capture import ScriptedCaller
from tests.ivr_admin.conftest import wav_bytes

TELEPHONY = wav_bytes(rate=8000, channels=1, seconds=0.05)


def fill_source(root: Path) -> None:
    """Audio for every catalog prompt of every language, as ``callcenter ivr prompts`` leaves it."""
    for language in LANGUAGES:
        for name in prompt_texts(language):
            path = prompts.audio_path(root, language, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(TELEPHONY)


def test_every_prompt_lands_where_asterisk_looks_for_it(tmp_path: Path) -> None:
    source, sounds = tmp_path / "prompts", tmp_path / "sounds"
    fill_source(source)
    # an admin's recording of a prompt of their own (en only) replaces nothing and is deployed too
    prompts.store_upload(source, "en", "promo", TELEPHONY, by="admin", filename="promo.wav", at=utcnow())
    report = prompts.deploy_prompts(source, sounds)
    assert report.ok and not report.unchanged
    expected = {f"{lang}/custom/{name}" for lang in LANGUAGES for name in prompt_texts(lang)}
    assert set(report.written) == expected | {"en/custom/promo"}
    for key in report.written:
        with wave.open(str(sounds / f"{key}.wav"), "rb") as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
    assert (sounds / "en" / "custom" / "promo.wav").read_bytes() == TELEPHONY
    assert not list(sounds.rglob("*.part")) and not list(sounds.rglob("*.upload.json"))

    again = prompts.deploy_prompts(source, sounds)
    assert (again.written, sorted(again.unchanged)) == ([], sorted(report.written))


def test_missing_and_non_telephony_audio_is_reported_not_deployed(tmp_path: Path) -> None:
    source, sounds = tmp_path / "prompts", tmp_path / "sounds"
    fill_source(source)
    prompts.audio_path(source, "zh-CN", "welcome").unlink()
    prompts.audio_path(source, "en", "goodbye").write_bytes(wav_bytes(rate=16000, channels=1, seconds=0.05))
    report = prompts.deploy_prompts(source, sounds, languages=["zh-CN", "en"], prompt_dir="")
    assert (report.missing, report.invalid, report.ok) == (["zh-CN/welcome"], ["en/goodbye"], False)
    assert not (sounds / "en" / "goodbye.wav").exists()
    assert (sounds / "en" / "welcome.wav").is_file()  # prompt_dir "": straight under sounds/<language>/
    assert "missing" in report.describe() and "zh-CN/welcome" in report.describe()


def test_every_prompt_a_flow_references_exists_in_the_deployed_dir(tmp_path: Path) -> None:
    source, sounds = tmp_path / "prompts", tmp_path / "sounds"
    fill_source(source)
    assert prompts.deploy_prompts(source, sounds).ok
    for name, raw in DEFAULT_FLOWS.items():
        flow = validate_flow(raw)
        referenced = flow_prompts(flow)
        assert referenced, name
        for language in LANGUAGES:
            absent = [s for s in referenced if not prompts.deployed_path(sounds, language, s).is_file()]
            assert absent == [], (name, language)


async def test_the_names_the_server_plays_are_the_deployed_files(
    tmp_path: Path, server: FastAgiServer, factory: sessionmaker[Session]
) -> None:
    source, sounds = tmp_path / "prompts", tmp_path / "sounds"
    fill_source(source)
    assert prompts.deploy_prompts(source, sounds).ok
    from tests.ivr.test_wait_offer import busy_queue

    with transaction(factory) as session:
        busy_queue(session, "support", waiting=5)  # the wait offer's prompts are played too
    walks = [
        ScriptedCaller(["9", "1", "123456", "123455", None]),  # invalid choice, wrong id, id, stays
        ScriptedCaller(["2", "202611240001", "202611240002", "202611240003"]),  # unknown cases
        ScriptedCaller(["0", "1"]),  # takes the call-back offer
        ScriptedCaller(["9", "3"], script="survey"),
        ScriptedCaller(["1"], script="callback"),
        ScriptedCaller(["2"], script="callback"),
    ]
    for n, walk in enumerate(walks):
        walk.n = n
        await walk.run("127.0.0.1", server.port)
    played = set()
    for walk in walks:
        for command in walk.received:
            words = command.split()
            if words[:2] in (["STREAM", "FILE"], ["GET", "DATA"]):
                played.add(words[2].strip('"'))
    assert {"custom/wait-offer", "custom/invalid-id", "custom/survey", "custom/callback-offer"} <= played
    for language in LANGUAGES:
        assert [s for s in played if not prompts.deployed_path(sounds, language, s).is_file()] == []


def test_the_command_deploys_after_generating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["ivr", "prompts", "--deploy", "/var/lib/asterisk/sounds"])
    assert (args.deploy, args.prompt_dir, args.force) == (Path("/var/lib/asterisk/sounds"), "custom", False)
    source, sounds = tmp_path / "prompts", tmp_path / "sounds"
    fill_source(source)

    async def nothing_to_generate(root: Path, **_: object) -> prompts.GenerateReport:
        return prompts.GenerateReport(skipped=["…"])

    monkeypatch.setattr(prompts, "generate_prompts", nothing_to_generate)
    assert main(["ivr", "prompts", "--language", "en", "--out", str(source), "--deploy", str(sounds)]) == 0
    out = capsys.readouterr().out
    assert f"deployed: {len(prompt_texts('en'))} written, 0 unchanged in {sounds}" in out
    assert (sounds / "en" / "custom" / "welcome.wav").is_file() and not (sounds / "zh-CN").exists()
    prompts.audio_path(source, "en", "hold").unlink()
    assert main(["ivr", "prompts", "--language", "en", "--out", str(source), "--deploy", str(sounds)]) == 1
    assert "en/custom/hold" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None, reason="espeak-ng / sox missing"
)
def test_generated_prompts_deploy_as_telephony_wav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompts, "prompt_texts", lambda language: {"wait-minutes": "minutes."})
    source = tmp_path / "prompts"
    asyncio.run(prompts.generate_prompts(source, languages=["en"]))
    report = prompts.deploy_prompts(source, tmp_path / "sounds", languages=["en"])
    assert report.written == ["en/custom/wait-minutes"]
    with wave.open(str(tmp_path / "sounds" / "en" / "custom" / "wait-minutes.wav"), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 800
