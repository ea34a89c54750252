"""Audio analytics of one call recording: talk, silence, overtalk, agent talk ratio, dead air after answer,
waveform peaks and per-channel activity — what tells a QA inspector where to listen.

Input is int16 samples shaped ``(channels, n)``: two channels named ``caller`` and ``agent`` (the
simulator's recordings, or MixMonitor with separate legs) or one ``mixed`` channel (what Asterisk's
MixMonitor writes by default). Voice activity comes from recording/vad.py (short-time energy with an
adaptive noise floor by default, ``method="webrtc"`` for WebRTC's VAD).

A mixed mono file is one signal in which both parties are summed: voice vs. no voice is visible (talk,
silence, longest silence, dead air), but nothing in it says *who* speaks, so per-party talk, the agent's talk
ratio and overtalk (both at once: two voices summed look like one louder voice) cannot be measured. They
are None and their codes are listed in ``not_measurable``.

numpy only on this path: a WAV is decoded with the stdlib ``wave`` + ``numpy.frombuffer``; pydub (ffmpeg)
only for other formats.
"""

from __future__ import annotations

import warnings
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recording.vad import (
    DEFAULT,
    Method,
    Segment,
    VadParams,
    complement,
    intersect,
    mask_to_segments,
    total,
    union,
    voice_mask,
)

PEAKS = 800  # waveform points per channel
MIXED = "mixed"
CALLER = "caller"
AGENT = "agent"
# codes of the measures a mixed mono file cannot give
NOT_MEASURABLE_MIXED = ("caller_talk", "agent_talk", "overtalk", "agent_talk_ratio")


class AudioDecodeError(ValueError):
    """The file is not audio we can read (corrupt, truncated header, unknown format)."""


@dataclass
class ChannelActivity:
    name: str
    talk_ms: int
    peaks: list[float]
    activity: list[Segment]


@dataclass
class AudioAnalysis:
    """The fields of ``recording_analyses`` (minus ids and time stamps) plus what the waveform JSON needs.

    Durations in ms; ``silence_share`` in 0..1; ``talk_ms + silence_ms == duration_ms``."""

    duration_ms: int
    mixed_mono: bool
    caller_talk_ms: int | None
    agent_talk_ms: int | None
    talk_ms: int
    silence_ms: int
    silence_share: float
    longest_silence_ms: int
    overtalk_ms: int | None
    agent_talk_ratio: float | None
    dead_air_after_answer_ms: int
    not_measurable: list[str] = field(default_factory=list)
    channels: list[ChannelActivity] = field(default_factory=list)
    overtalk: list[Segment] = field(default_factory=list)
    silences: list[Segment] = field(default_factory=list)
    rate: int = 8000
    method: str = "energy"

    def to_waveform(self) -> dict[str, Any]:
        """The ``waveform`` JSON of recording_analyses (and of GET /api/recordings/{id}/waveform)."""
        return {
            "duration_ms": self.duration_ms,
            "channels": [
                {"name": c.name, "peaks": c.peaks, "activity": [[s, e] for s, e in c.activity]}
                for c in self.channels
            ],
            "overtalk": [[s, e] for s, e in self.overtalk],
            "silences": [[s, e] for s, e in self.silences],
        }

    @property
    def waveform(self) -> dict[str, Any]:
        return self.to_waveform()

    def measures(self) -> dict[str, Any]:
        """The scalar columns of recording_analyses (``RecordingAnalysis(**a.measures(), waveform=...)``)."""
        return {
            "mixed_mono": self.mixed_mono,
            "caller_talk_ms": self.caller_talk_ms,
            "agent_talk_ms": self.agent_talk_ms,
            "talk_ms": self.talk_ms,
            "silence_ms": self.silence_ms,
            "silence_share": self.silence_share,
            "longest_silence_ms": self.longest_silence_ms,
            "overtalk_ms": self.overtalk_ms,
            "agent_talk_ratio": self.agent_talk_ratio,
            "dead_air_after_answer_ms": self.dead_air_after_answer_ms,
            "not_measurable": list(self.not_measurable),
        }


def peaks(x: npt.NDArray[np.int16], points: int = PEAKS) -> list[float]:
    """Absolute peak per bucket, 0..1, exactly ``points`` values (short audio repeats samples)."""
    n = len(x)
    if n == 0:
        return [0.0] * points
    if n >= points:
        edges = (np.arange(points, dtype=np.int64) * n) // points
        high = np.maximum.reduceat(x, edges).astype(np.int32)
        low = np.minimum.reduceat(x, edges).astype(np.int32)
        level = np.maximum(high, -low)
    else:
        level = np.abs(x[(np.arange(points) * n) // points].astype(np.int32))
    values = np.minimum(level / 32768.0, 1.0)
    return [round(v, 3) for v in values.tolist()]


def _as_channels(samples: npt.NDArray[Any]) -> npt.NDArray[np.int16]:
    arr = np.asarray(samples)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise ValueError("samples must be shaped (channels, n)")
    if arr.dtype != np.int16:
        raise ValueError(f"samples must be int16, not {arr.dtype}")
    return arr


def analyse(
    samples: npt.NDArray[np.int16],
    rate: int,
    *,
    channel_names: Sequence[str],
    answer_offset_ms: int = 0,
    method: Method = "energy",
    params: VadParams = DEFAULT,
) -> AudioAnalysis:
    """Analyse one call. ``channel_names`` names each row of ``samples`` (``caller``/``agent``, or
    ``mixed`` for one mixed channel; a single channel is treated as mixed whatever its name).
    ``answer_offset_ms``: where the answer is in the audio (0 for MixMonitor, which starts at answer)."""
    data = _as_channels(samples)
    if len(channel_names) != data.shape[0]:
        raise ValueError(f"{data.shape[0]} channels but {len(channel_names)} names")
    if rate <= 0:
        raise ValueError("rate must be positive")
    n = data.shape[1]
    duration_ms = n * 1000 // rate
    mixed = data.shape[0] == 1
    names = [MIXED] if mixed else [str(name) for name in channel_names]

    channels: list[ChannelActivity] = []
    for name, row in zip(names, data, strict=True):
        mask = voice_mask(row, rate, method=method, params=params)
        activity = mask_to_segments(mask, params.frame_ms, duration_ms)
        channels.append(ChannelActivity(name, total(activity), peaks(row), activity))

    voiced = union(*(c.activity for c in channels))
    silences = complement(voiced, duration_ms)
    talk_ms = total(voiced)
    silence_ms = duration_ms - talk_ms
    answer = min(max(0, answer_offset_ms), duration_ms)
    first_voice = next((max(s, answer) for s, e in voiced if e > answer), duration_ms)

    by_name = {c.name: c for c in channels}
    caller, agent = by_name.get(CALLER), by_name.get(AGENT)
    not_measurable: list[str] = []
    if mixed:
        not_measurable.extend(NOT_MEASURABLE_MIXED)
        overtalk: list[Segment] = []
        overtalk_ms: int | None = None
    else:
        # overtalk: any two channels at once (pairwise intersections, merged)
        pairs = [intersect(a.activity, b.activity) for i, a in enumerate(channels) for b in channels[i + 1 :]]
        overtalk = union(*pairs)
        overtalk_ms = total(overtalk)
        if caller is None:
            not_measurable.append("caller_talk")
        if agent is None:
            not_measurable.append("agent_talk")
    caller_talk = caller.talk_ms if caller is not None and not mixed else None
    agent_talk = agent.talk_ms if agent is not None and not mixed else None
    ratio: float | None = None
    if caller_talk is not None and agent_talk is not None and caller_talk + agent_talk > 0:
        ratio = round(agent_talk / (caller_talk + agent_talk), 4)
    elif not mixed:
        not_measurable.append("agent_talk_ratio")  # nobody spoke, or a party's channel is missing

    return AudioAnalysis(
        duration_ms=duration_ms,
        mixed_mono=mixed,
        caller_talk_ms=caller_talk,
        agent_talk_ms=agent_talk,
        talk_ms=talk_ms,
        silence_ms=silence_ms,
        silence_share=round(silence_ms / duration_ms, 4) if duration_ms else 0.0,
        longest_silence_ms=max((e - s for s, e in silences), default=0),
        overtalk_ms=overtalk_ms,
        agent_talk_ratio=ratio,
        dead_air_after_answer_ms=first_voice - answer,
        not_measurable=not_measurable,
        channels=channels,
        overtalk=overtalk,
        silences=silences,
        rate=rate,
        method=method,
    )


def _pcm_to_int16(raw: bytes, width: int, nchannels: int) -> npt.NDArray[np.int16]:
    frame = width * nchannels
    raw = raw[: len(raw) // frame * frame]  # a truncated file may end mid-frame
    if width == 2:
        flat = np.frombuffer(raw, dtype="<i2").astype(np.int16, copy=False)
    elif width == 1:  # 8-bit WAV is unsigned
        flat = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        flat = (b[:, 1].astype(np.int16) | (b[:, 2].astype(np.int16) << 8)).astype(np.int16)
    elif width == 4:
        flat = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise AudioDecodeError(f"unsupported sample width {width}")
    return flat.reshape(-1, nchannels).T


def decode_wav(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """(samples (channels, n) int16, rate) of a PCM WAV, read with the stdlib and numpy; a header-only file
    gives n = 0. Raises wave.Error / EOFError for what the stdlib cannot read."""
    with wave.open(str(path), "rb") as w:
        rate, width, nch = w.getframerate(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    if nch < 1 or rate < 1:
        raise AudioDecodeError(f"{path.name}: bad WAV header ({nch} channels, {rate} Hz)")
    return _pcm_to_int16(raw, width, nch), rate


def decode_other(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """Any format ffmpeg reads (MP3, Opus, WAVE_FORMAT_EXTENSIBLE ...), through pydub, as 16-bit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pydub imports audioop (deprecated in 3.11)
        from pydub import AudioSegment
        from pydub.exceptions import CouldntDecodeError

    try:
        seg = AudioSegment.from_file(str(path)).set_sample_width(2)
    except (CouldntDecodeError, OSError, IndexError) as exc:
        raise AudioDecodeError(f"{path.name}: cannot decode ({exc})") from exc
    nch = seg.channels
    return _pcm_to_int16(seg.raw_data, 2, nch), seg.frame_rate


def decode_file(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    """Samples and rate of a recording: WAV with numpy directly, anything else (or a WAV the stdlib
    refuses) through pydub. Raises AudioDecodeError when it is not readable audio."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    if path.suffix.lower() == ".wav":
        try:
            return decode_wav(path)
        except (wave.Error, EOFError) as exc:
            if path.stat().st_size < 44:
                raise AudioDecodeError(f"{path.name}: truncated WAV header ({exc})") from exc
    return decode_other(path)


def default_channel_names(channels: int) -> list[str]:
    """One channel: the mixed MixMonitor file; two: caller left, agent right (the simulator's layout)."""
    if channels == 1:
        return [MIXED]
    if channels == 2:
        return [CALLER, AGENT]
    return [f"channel{i + 1}" for i in range(channels)]


def analyse_file(
    path: Path,
    *,
    channel_names: Sequence[str] | None = None,
    answer_offset_ms: int = 0,
    method: Method = "energy",
) -> AudioAnalysis:
    """Decode and analyse a recording file (see ``decode_file`` and ``analyse``)."""
    samples, rate = decode_file(Path(path))
    names = list(channel_names) if channel_names is not None else default_channel_names(samples.shape[0])
    return analyse(samples, rate, channel_names=names, answer_offset_ms=answer_offset_ms, method=method)
