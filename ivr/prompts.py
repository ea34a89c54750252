"""The IVR's prompt audio: where the files live, text-to-speech generation of the prompt catalog with
espeak-ng, and conversion of an admin's uploaded recording (WAV or MP3).

Every prompt ends up as an 8 kHz mono 16-bit PCM WAV (what Asterisk plays without transcoding) at
``data_dir/prompts/<language>/<name>.wav``. An uploaded recording gets a sidecar ``<name>.upload.json``
(who, when, the original file name): the generator never overwrites it, not even with ``--force``, so a
regeneration cannot wipe an admin's recording.

Deployment (:func:`deploy_prompts`, ``callcenter ivr prompts --deploy DIR``) copies every prompt, the
generated ones and the admins' uploads, to where Asterisk plays them: DIR is Asterisk's sounds directory
(``/var/lib/asterisk/sounds``) and each prompt lands at ``DIR/<language>/<prompt_dir>/<name>.wav``, i.e.
``DIR/<language>/<stream name>.wav`` where the stream name is what the FastAGI server sends in STREAM FILE
/ GET DATA (``custom/welcome``, no extension): Asterisk looks a relative sound up under
``sounds/<channel language>/``.

Generation runs the tools as asyncio subprocesses (never blocking the event loop); the upload conversion
is synchronous and meant for a worker thread (the web endpoints are plain ``def``, run in the threadpool).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.i18n import LANGUAGES
from ivr.flows import prompt_texts

DEFAULT_PROMPT_DIR = "custom"  # FlowDefinition.prompt_dir's default

SAMPLE_RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit
# espeak-ng voice per catalog language ("cmn": Mandarin)
VOICES = {"zh-CN": "cmn", "en": "en"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_SECONDS = 300
TOOL_TIMEOUT_SECONDS = 60.0
UPLOAD_SUFFIX = ".upload.json"


class PromptToolMissing(RuntimeError):
    """A command-line tool the prompts need is not installed."""

    def __init__(self, tool: str) -> None:
        super().__init__(
            f"{tool} is not installed: `make system-packages` or `apt-get install -y espeak-ng sox ffmpeg`"
        )
        self.tool = tool


class PromptConversionError(ValueError):
    """The audio could not be read or converted; ``reason`` is a message key suffix."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    sample_width: int
    frames: int

    @property
    def duration_ms(self) -> int:
        return int(self.frames * 1000 / self.sample_rate) if self.sample_rate else 0

    @property
    def is_telephony(self) -> bool:
        """8 kHz mono 16-bit with some sound in it."""
        return (self.sample_rate, self.channels, self.sample_width) == (
            SAMPLE_RATE,
            CHANNELS,
            SAMPLE_WIDTH,
        ) and self.frames > 0


@dataclass
class GenerateReport:
    generated: list[str] = field(default_factory=list)  # "<language>/<name>"
    skipped: list[str] = field(default_factory=list)  # existing, without --force
    kept_uploads: list[str] = field(default_factory=list)  # an admin's recording, never overwritten

    def describe(self) -> str:
        return (
            f"prompts: {len(self.generated)} generated, {len(self.skipped)} already there, "
            f"{len(self.kept_uploads)} uploaded recordings kept"
        )


# --- where the files are ------------------------------------------------------------------------


def prompts_root(data_dir: Path) -> Path:
    return data_dir / "prompts"


def audio_path(root: Path, language: str, name: str) -> Path:
    return root / language / f"{name}.wav"


def upload_marker(root: Path, language: str, name: str) -> Path:
    return root / language / f"{name}{UPLOAD_SUFFIX}"


def is_upload(root: Path, language: str, name: str) -> bool:
    return upload_marker(root, language, name).is_file()


def upload_info(root: Path, language: str, name: str) -> dict[str, Any] | None:
    marker = upload_marker(root, language, name)
    try:
        data: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def uploaded_names(root: Path, language: str) -> set[str]:
    folder = root / language
    if not folder.is_dir():
        return set()
    return {
        marker.name.removesuffix(UPLOAD_SUFFIX)
        for marker in folder.glob(f"*{UPLOAD_SUFFIX}")
        if (folder / f"{marker.name.removesuffix(UPLOAD_SUFFIX)}.wav").is_file()
    }


def catalog_names() -> list[str]:
    """Every prompt name with a text in any language, sorted."""
    names: set[str] = set()
    for language in LANGUAGES:
        names.update(prompt_texts(language))
    return sorted(names)


def known_prompts(root: Path) -> dict[str, set[str]]:
    """Language → prompt names a flow may use there: the catalog plus the uploaded recordings."""
    return {language: set(prompt_texts(language)) | uploaded_names(root, language) for language in LANGUAGES}


def read_info(path: Path) -> AudioInfo | None:
    """The WAV header's facts, or None when the file is missing or no PCM WAV."""
    try:
        with wave.open(str(path), "rb") as audio:
            return AudioInfo(
                audio.getframerate(), audio.getnchannels(), audio.getsampwidth(), audio.getnframes()
            )
    except (OSError, EOFError, wave.Error):
        return None


# --- tools --------------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise PromptToolMissing(name)
    return found


def _first_tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    raise PromptToolMissing(" or ".join(names))


def _to_telephony_args(converter: str, source: Path, target: Path) -> list[str]:
    if Path(converter).name == "sox":
        return [
            converter,
            str(source),
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(target),
        ]
    return [
        converter,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(source),
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        "1",
        "-c:a",
        "pcm_s16le",
        "-f",
        "wav",
        str(target),
    ]


async def _run(args: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _out, err = await asyncio.wait_for(process.communicate(), TOOL_TIMEOUT_SECONDS)
    except BaseException:  # timeout or cancellation: never leave the child behind
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip()[-300:]
        raise RuntimeError(f"{Path(args[0]).name} failed ({process.returncode}): {message}")


# --- generation ---------------------------------------------------------------------------------


async def generate_one(
    root: Path, language: str, name: str, text: str, *, espeak: str, converter: str
) -> Path:
    """Speak ``text`` with espeak-ng and convert it; the target appears whole or not at all."""
    target = audio_path(root, language, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ivr-prompt-") as tmp:
        spoken = Path(tmp) / "spoken.wav"
        converted = Path(tmp) / "converted.wav"
        await _run([espeak, "-v", VOICES[language], "-s", "150", "-w", str(spoken), text])
        await _run(_to_telephony_args(converter, spoken, converted))
        info = read_info(converted)
        if info is None or not info.is_telephony:
            raise RuntimeError(f"{language}/{name}: the converted file is not 8 kHz mono 16-bit audio")
        os.replace(converted, target)
    return target


async def generate_prompts(
    root: Path,
    *,
    languages: Iterable[str] = LANGUAGES,
    names: Iterable[str] | None = None,
    force: bool = False,
    concurrency: int = 2,
) -> GenerateReport:
    """Every catalog prompt (or only ``names``) of ``languages`` as telephony WAV under ``root``.

    Existing files are skipped unless ``force``; uploaded recordings are always kept. Raises
    :class:`PromptToolMissing` before doing anything when espeak-ng or both sox and ffmpeg are missing.
    """
    espeak = _tool("espeak-ng")
    converter = _first_tool("sox", "ffmpeg")
    wanted = set(names) if names is not None else None
    report = GenerateReport()
    jobs: list[tuple[str, str, str]] = []
    for language in languages:
        if language not in VOICES:
            raise ValueError(f"unknown prompt language {language!r}: {', '.join(VOICES)}")
        for name, text in sorted(prompt_texts(language).items()):
            if wanted is not None and name not in wanted:
                continue
            key = f"{language}/{name}"
            if is_upload(root, language, name):
                report.kept_uploads.append(key)
            elif audio_path(root, language, name).exists() and not force:
                report.skipped.append(key)
            else:
                jobs.append((language, name, text))
    gate = asyncio.Semaphore(max(1, concurrency))  # the machines have two cores

    async def one(language: str, name: str, text: str) -> None:
        async with gate:
            await generate_one(root, language, name, text, espeak=espeak, converter=converter)
            report.generated.append(f"{language}/{name}")

    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(one(*job))
    report.generated.sort()
    return report


# --- uploads ------------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str | None:
    """``wav`` or ``mp3`` from the first bytes, else None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3":
        return "mp3"
    # an MPEG audio frame header: 11 sync bits, then layer III
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) == 0x02:
        return "mp3"
    return None


def convert_upload(data: bytes) -> tuple[bytes, AudioInfo]:
    """An uploaded WAV/MP3 as 8 kHz mono 16-bit WAV bytes (blocking: call it from a worker thread).

    :class:`PromptConversionError` with reason ``audio_empty``, ``audio_too_large``, ``audio_format``,
    ``audio_unreadable`` or ``audio_too_long``; :class:`PromptToolMissing` when no converter exists.
    """
    if not data:
        raise PromptConversionError("audio_empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PromptConversionError("audio_too_large")
    kind = sniff_format(data[:16])
    if kind is None:
        raise PromptConversionError("audio_format")
    # sox here reads WAV only (no MP3 format), so MP3 needs ffmpeg
    converter = _first_tool("ffmpeg") if kind == "mp3" else _first_tool("ffmpeg", "sox")
    with tempfile.TemporaryDirectory(prefix="ivr-upload-") as tmp:
        source = Path(tmp) / f"upload.{kind}"
        target = Path(tmp) / "converted.wav"
        source.write_bytes(data)
        try:
            done = subprocess.run(
                _to_telephony_args(converter, source, target),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TOOL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PromptConversionError("audio_unreadable", "conversion timed out") from exc
        info = read_info(target) if done.returncode == 0 else None
        if info is None or not info.is_telephony:
            detail = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise PromptConversionError("audio_unreadable", detail)
        if info.duration_ms > MAX_UPLOAD_SECONDS * 1000:
            raise PromptConversionError("audio_too_long")
        return target.read_bytes(), info


def store_upload(
    root: Path, language: str, name: str, audio: bytes, *, by: str | None, filename: str | None, at: datetime
) -> Path:
    """Write the converted recording and its marker; the WAV is replaced atomically."""
    target = audio_path(root, language, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".wav.part")
    partial.write_bytes(audio)
    os.replace(partial, target)
    marker = {"uploaded_by": by, "filename": filename, "uploaded_at": at.isoformat()}
    upload_marker(root, language, name).write_text(json.dumps(marker, ensure_ascii=False), encoding="utf-8")
    return target


# --- deployment to the PBX's sounds directory ---------------------------------------------------


@dataclass
class DeployReport:
    written: list[str] = field(default_factory=list)  # "<language>/<stream name>", new or changed
    unchanged: list[str] = field(default_factory=list)  # already there with the same bytes
    missing: list[str] = field(default_factory=list)  # a catalog prompt with no audio yet (generate first)
    invalid: list[str] = field(default_factory=list)  # audio that is not 8 kHz mono 16-bit: not deployed

    @property
    def ok(self) -> bool:
        return not self.missing and not self.invalid

    def describe(self) -> str:
        text = f"deployed: {len(self.written)} written, {len(self.unchanged)} unchanged"
        if self.missing:
            text += f"; missing (not generated or uploaded): {', '.join(self.missing)}"
        if self.invalid:
            text += f"; not telephony audio, skipped: {', '.join(self.invalid)}"
        return text


def stream_name(name: str, prompt_dir: str = DEFAULT_PROMPT_DIR) -> str:
    """The name the FastAGI server plays a prompt by (``custom/welcome``): relative, no extension."""
    prefix = prompt_dir.strip("/")
    return f"{prefix}/{name}" if prefix else name


def deployed_path(sounds: Path, language: str, stream: str) -> Path:
    """Where Asterisk finds ``STREAM FILE <stream>`` for a channel of ``language``."""
    return sounds / language / f"{stream}.wav"


def deploy_prompts(
    source: Path,
    sounds: Path,
    *,
    languages: Iterable[str] = LANGUAGES,
    prompt_dir: str = DEFAULT_PROMPT_DIR,
) -> DeployReport:
    """Copy every prompt of ``languages`` (the catalog's and the uploaded recordings) from ``source``
    (``data_dir/prompts``) to ``sounds/<language>/<prompt_dir>/<name>.wav``. Blocking (file copies).

    Each file is checked (8 kHz mono 16-bit PCM) and replaced atomically, so Asterisk never plays half a
    file; identical files are left alone. Files nobody knows are not removed."""
    report = DeployReport()
    for language in languages:
        names = set(prompt_texts(language)) | uploaded_names(source, language)
        for name in sorted(names):
            stream = stream_name(name, prompt_dir)
            key = f"{language}/{stream}"
            origin = audio_path(source, language, name)
            if not origin.is_file():
                report.missing.append(key)
                continue
            info = read_info(origin)
            if info is None or not info.is_telephony:
                report.invalid.append(key)
                continue
            target = deployed_path(sounds, language, stream)
            data = origin.read_bytes()
            if target.is_file() and target.read_bytes() == data:
                report.unchanged.append(key)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            partial.write_bytes(data)
            partial.chmod(0o644)  # Asterisk runs as its own user
            os.replace(partial, target)
            report.written.append(key)
    return report
