"""Real call recordings from the simulator: what MixMonitor would have written, with a known layout.

For each recorded call (the queue's ``MixMonitorStart`` at answer) the ``Recorder`` notes the start and, when
the caller channel hangs up (MixMonitor stops there: Asterisk sends no MixMonitorStop) or on StopMixMonitor,
writes ``<caller uniqueid>.wav`` (the MIXMONITOR_FILENAME's name) into its directory, with the
``MixMonitorMute`` ranges (card data) as silence: 8 kHz, 16-bit, 2 channels (caller left, agent right),
length = the time from answer to hangup. Both sides speak espeak-ng sentences (a handful of clips
synthesised once per voice and cached on disk) laid out on a fixed script (``plan``):

    dead air after answer (600 ms) → agent greets → caller → agent → deliberate silence (3.5 s, the agent
    "checks") → agent → caller starts 800 ms before the agent stops (overtalk) → turns with random gaps

cut at the hangup. ``Layout`` is the ground truth (each side's speech intervals, the silences, the overtalk)
for the analytics' tests; the Recorder keeps every call's layout in ``layouts``.

Writing happens in a worker thread, never on the simulator's event loop, and atomically (a hidden temporary
name, then rename), so an ingestion worker never reads a half-written file. Without espeak-ng, clips are
synthetic "babble" (voiced harmonic syllables) with the same layout.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pbxsim.frames import Headers

RATE = 8000
Segment = tuple[int, int]
Clip = npt.NDArray[np.int16]
CACHE_VERSION = "v1"

# short sentences without punctuation: espeak-ng pauses at commas, and a pause inside a "turn" would make the
# ground truth (one interval per clip) wrong
LINES: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "agent": (
            "您好这里是客服中心工号一零零二很高兴为您服务",
            "请问您的客户代码是多少",
            "好的我帮您查询一下请您稍等",
            "您的报修已经登记维修人员明天上午上门",
            "还有其他可以帮您的吗",
            "感谢您的来电祝您生活愉快",
        ),
        "caller": (
            "你好我家的设备从昨天开始一直报警",
            "客户代码是三八六二零一",
            "那大概什么时候能修好呢",
            "好的明白了",
            "没有了谢谢你",
        ),
    },
    "en": {
        "agent": (
            "Good morning this is customer service how may I help you",
            "May I have your customer number please",
            "Thank you let me check that for you",
            "A technician will visit you tomorrow morning",
            "Is there anything else I can do for you",
            "Thank you for calling and have a nice day",
        ),
        "caller": (
            "Hello my alarm panel keeps beeping since yesterday",
            "It is three eight six two zero one",
            "When can somebody come and fix it",
            "Alright I understand",
            "No that is all thank you",
        ),
    },
}
ESPEAK_VOICE = {"zh": "cmn", "en": "en-us"}

DEAD_AIR_MS = 600
HOLD_SILENCE_MS = 3500
OVERTALK_MS = 800
LEVEL = {"caller": 0.35, "agent": 0.5}  # peak amplitude (share of full scale): the caller's line is quieter
NOISE_DBFS = -62.0  # a phone line's hiss under the speech


# --------------------------------------------------------------------------- speech clips


def _trim(x: npt.NDArray[np.float64], rate: int, threshold_db: float = -45.0) -> npt.NDArray[np.float64]:
    """Cut leading/trailing near-silence (10 ms frames below ``threshold_db`` of full scale)."""
    size = rate // 100
    n = len(x) // size
    if n == 0:
        return x
    frames = x[: n * size].reshape(n, size)
    db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(db > threshold_db)
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] * size : (loud[-1] + 1) * size]


def _resample(x: npt.NDArray[np.float64], rate: int, to: int) -> npt.NDArray[np.float64]:
    """Band-limited resampling by FFT truncation (clips are a few seconds: cheap)."""
    if rate == to or len(x) == 0:
        return x
    n_out = max(1, round(len(x) * to / rate))
    spectrum = np.fft.rfft(x)
    keep = n_out // 2 + 1
    spectrum = spectrum[:keep] if len(spectrum) >= keep else np.pad(spectrum, (0, keep - len(spectrum)))
    return np.fft.irfft(spectrum, n_out) * (n_out / len(x))


def _finish(x: npt.NDArray[np.float64], level: float) -> Clip:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    scaled = x * (level * 32767.0 / peak) if peak > 0 else x
    return np.round(scaled).astype(np.int16)


def espeak(text: str, voice: str, speed: int = 175) -> tuple[npt.NDArray[np.float64], int]:
    """Samples (float, full scale 1.0) and rate of espeak-ng speaking ``text``."""
    with tempfile.TemporaryDirectory(prefix="pbxsim-espeak-") as tmp:
        out = Path(tmp) / "clip.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        with wave.open(str(out), "rb") as w:
            rate = w.getframerate()
            raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0, rate


def babble(seconds: float, seed: int) -> npt.NDArray[np.float64]:
    """Speech-like stand-in when espeak-ng is missing: voiced syllables (harmonics of a wandering pitch under
    an envelope) back to back, no pause longer than ~60 ms."""
    rng = np.random.default_rng(seed)
    parts: list[npt.NDArray[np.float64]] = []
    total = 0
    while total < seconds * RATE:
        n = int(rng.uniform(0.12, 0.28) * RATE)
        t = np.arange(n) / RATE
        f0 = rng.uniform(110, 220)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        envelope = np.sqrt(np.clip(np.sin(np.pi * t / t[-1]), 0.0, 1.0))
        syllable = np.asarray(tone * envelope, dtype=np.float64)
        gap = np.zeros(int(rng.uniform(0.02, 0.06) * RATE))
        parts += [syllable, gap]
        total += n + len(gap)
    return np.concatenate(parts)[: int(seconds * RATE)]


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"pbxsim-speech-{CACHE_VERSION}"


class SpeechBank:
    """The clips of one language, per role, synthesised on first use and cached (memory and disk)."""

    def __init__(self, language: str = "zh", *, cache_dir: Path | None = None) -> None:
        if language not in LINES:
            raise ValueError(f"unknown language {language!r}; known: {', '.join(LINES)}")
        self.language = language
        self.cache_dir = cache_dir or default_cache_dir()
        self._clips: dict[str, list[Clip]] = {}
        self._lock = threading.Lock()

    def clips(self, role: str) -> list[Clip]:
        with self._lock:
            if role not in self._clips:
                self._clips[role] = [
                    self._clip(role, i, text) for i, text in enumerate(LINES[self.language][role])
                ]
            return self._clips[role]

    def lengths_ms(self, role: str) -> list[int]:
        return [len(c) * 1000 // RATE for c in self.clips(role)]

    def _clip(self, role: str, index: int, text: str) -> Clip:
        voice = ESPEAK_VOICE[self.language]
        have_espeak = shutil.which("espeak-ng") is not None
        key = hashlib.sha1(f"{voice}|{text}|{role}|{have_espeak}|{CACHE_VERSION}".encode()).hexdigest()[:16]
        path = self.cache_dir / f"{key}.wav"
        if path.exists():
            try:
                with wave.open(str(path), "rb") as w:
                    return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
            except (wave.Error, EOFError):
                pass  # a broken cache file is made again
        if have_espeak:
            samples, rate = espeak(text, voice)
            x = _trim(_resample(samples, rate, RATE), RATE)
        else:
            x = babble(
                1.2 + 0.08 * len(text) / (3 if self.language == "en" else 1), seed=index * 31 + len(role)
            )
        clip = _finish(x, LEVEL[role])
        write_wav(path, clip[np.newaxis, :], RATE)
        return clip


# --------------------------------------------------------------------------- the layout (ground truth)


@dataclass
class Placement:
    role: str  # caller | agent
    clip: int  # index into the SpeechBank's clips of that role
    start_ms: int
    end_ms: int  # already cut at the call's end


@dataclass
class Layout:
    """Where each side speaks in a recording (ms from answer); silences and overtalk follow from them."""

    duration_ms: int
    placements: list[Placement] = field(default_factory=list)
    muted: list[Segment] = field(default_factory=list)  # MixMonitorMute on: digital silence in the file

    def segments(self, role: str) -> list[Segment]:
        out: list[Segment] = []
        for p in self.placements:
            if p.role != role:
                continue
            pieces = [(p.start_ms, p.end_ms)]
            for ms, me in self.muted:  # what was said while muted is not in the file
                pieces = [
                    piece
                    for s, e in pieces
                    for piece in ((s, min(e, ms)), (max(s, me), e))
                    if piece[1] > piece[0]
                ]
            out.extend(pieces)
        return sorted(out)

    @property
    def caller(self) -> list[Segment]:
        return self.segments("caller")

    @property
    def agent(self) -> list[Segment]:
        return self.segments("agent")

    @property
    def overtalk(self) -> list[Segment]:
        out: list[Segment] = []
        for a in self.agent:
            for c in self.caller:
                s, e = max(a[0], c[0]), min(a[1], c[1])
                if s < e:
                    out.append((s, e))
        return sorted(out)

    @property
    def voiced(self) -> list[Segment]:
        merged: list[Segment] = []
        for s, e in sorted(self.caller + self.agent):
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
            else:
                merged.append((s, e))
        return merged

    @property
    def silences(self) -> list[Segment]:
        out: list[Segment] = []
        at = 0
        for s, e in self.voiced:
            if s > at:
                out.append((at, s))
            at = e
        if at < self.duration_ms:
            out.append((at, self.duration_ms))
        return out

    @property
    def dead_air_ms(self) -> int:
        voiced = self.voiced
        return voiced[0][0] if voiced else self.duration_ms

    def to_json(self) -> dict[str, object]:
        return {
            "duration_ms": self.duration_ms,
            "caller": [list(s) for s in self.caller],
            "agent": [list(s) for s in self.agent],
            "silences": [list(s) for s in self.silences],
            "overtalk": [list(s) for s in self.overtalk],
            "muted": [list(s) for s in self.muted],
        }


def plan(
    duration_ms: int, caller_lengths: Sequence[int], agent_lengths: Sequence[int], *, seed: int = 0
) -> Layout:
    """The script laid out over ``duration_ms`` (see the module docstring); ``*_lengths``: clip lengths
    in ms, per role, in the SpeechBank's order."""
    rng = random.Random(seed)
    layout = Layout(duration_ms)
    turn = {"caller": 0, "agent": 0}
    lengths = {"caller": list(caller_lengths), "agent": list(agent_lengths)}
    last = {"caller": 0, "agent": 0}  # length of each side's latest clip

    def say(role: str, start: int) -> int:
        # the agent's greeting is clip 0 and comes once; later turns cycle through the rest
        pool = lengths[role]
        first = 1 if role == "agent" and len(pool) > 1 else 0
        index = 0 if turn[role] == 0 else first + (turn[role] - 1 + seed) % (len(pool) - first)
        turn[role] += 1
        last[role] = pool[index]
        end = start + pool[index]
        if start < duration_ms:
            layout.placements.append(Placement(role, index, start, min(end, duration_ms)))
        return end

    t = say("agent", DEAD_AIR_MS)
    t = say("caller", t + 500)
    t = say("agent", t + 400)
    t = say("agent", t + HOLD_SILENCE_MS)
    t = say("caller", t - min(OVERTALK_MS, last["agent"] // 2))
    role = "agent"
    while t < duration_ms:
        t = say(role, t + rng.randint(350, 900))
        role = "caller" if role == "agent" else "agent"
    return layout


def render(layout: Layout, bank: SpeechBank, *, seed: int = 0) -> npt.NDArray[np.int16]:
    """The layout as int16 samples, shape (2, n): row 0 caller, row 1 agent, each over its own line hiss."""
    n = layout.duration_ms * RATE // 1000
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 32768.0 * 10 ** (NOISE_DBFS / 20), size=(2, n))
    out = noise
    for p in layout.placements:
        clip = bank.clips(p.role)[p.clip]
        start = p.start_ms * RATE // 1000
        length = min(len(clip), max(0, n - start), (p.end_ms - p.start_ms) * RATE // 1000)
        if length > 0:
            out[0 if p.role == "caller" else 1, start : start + length] += clip[:length]
    for s, e in layout.muted:  # MixMonitor writes silence while muted (no hiss either)
        out[:, s * RATE // 1000 : e * RATE // 1000] = 0
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int = RATE) -> None:
    """16-bit PCM WAV (interleaved channels), atomically: a hidden temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(samples.T, dtype="<i2").tobytes())
    os.replace(tmp, path)


def seed_of(uniqueid: str) -> int:
    return int(hashlib.sha1(uniqueid.encode()).hexdigest()[:8], 16)


def make_recording(
    path: Path, duration_ms: int, bank: SpeechBank, *, seed: int = 0, muted: Sequence[Segment] = ()
) -> Layout:
    """Write one recording of ``duration_ms`` at ``path`` (``muted``: ms ranges written as silence);
    returns its layout."""
    layout = plan(duration_ms, bank.lengths_ms("caller"), bank.lengths_ms("agent"), seed=seed)
    layout.muted = [(max(0, s), min(e, duration_ms)) for s, e in muted if min(e, duration_ms) > max(0, s)]
    write_wav(path, render(layout, bank, seed=seed))
    return layout


# --------------------------------------------------------------------------- the simulator's recorder


@dataclass
class _Running:
    start: float
    filename: str
    muted_since: float | None = None
    muted: list[tuple[float, float]] = field(default_factory=list)


class Recorder:
    """Listens to the engine's AMI frames (``engine.listeners``) and writes a recording for each channel
    on which MixMonitor started (the queue's, at answer, or the AMI ``MixMonitor`` action), when MixMonitor
    stops: at the channel's hangup or on ``StopMixMonitor``. The file takes the name of
    MIXMONITOR_FILENAME (the caller uniqueid for the queue's) in ``directory``; ``MixMonitorMute``
    ranges are written as silence.
    Writing runs in one worker thread; ``wait()`` blocks until what was handed over is on disk."""

    def __init__(self, directory: Path, *, language: str = "zh", cache_dir: Path | None = None) -> None:
        self.directory = Path(directory)
        self.bank = SpeechBank(language, cache_dir=cache_dir)
        self.layouts: dict[str, Layout] = {}  # by uniqueid of the recorded channel
        self.written: dict[str, Future[Layout]] = {}
        self._running: dict[str, _Running] = {}
        self._filenames: dict[str, str] = {}  # uniqueid → latest MIXMONITOR_FILENAME
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pbxsim-recorder")

    def on_frame(self, frame: Headers) -> None:
        if len(frame) < 3 or frame[0][0] != "Event" or frame[0][1] not in _WATCHED:
            return
        name = frame[0][1]
        headers = dict(frame)
        uniqueid = headers.get("Uniqueid", "")
        at = float(headers.get("Timestamp", "0"))
        running = self._running.get(uniqueid)
        if name == "VarSet":
            if headers.get("Variable") == "MIXMONITOR_FILENAME":
                self._filenames[uniqueid] = Path(headers.get("Value", "")).name
        elif name == "MixMonitorStart":
            if running is None:
                filename = self._filenames.pop(uniqueid, "") or f"{uniqueid}.wav"
                self._running[uniqueid] = _Running(at, filename)
        elif running is None:
            if name == "Hangup":
                self._filenames.pop(uniqueid, None)
        elif name == "MixMonitorMute":
            if headers.get("State") == "1" and running.muted_since is None:
                running.muted_since = at
            elif headers.get("State") == "0" and running.muted_since is not None:
                running.muted.append((running.muted_since, at))
                running.muted_since = None
        else:  # Hangup or MixMonitorStop: the file is closed
            del self._running[uniqueid]
            if running.muted_since is not None:
                running.muted.append((running.muted_since, at))
            muted = [
                (round((s - running.start) * 1000), round((e - running.start) * 1000))
                for s, e in running.muted
            ]
            duration_ms = max(0, round((at - running.start) * 1000))
            self.written[uniqueid] = self._executor.submit(
                self._write, uniqueid, running.filename, duration_ms, muted
            )

    def _write(self, uniqueid: str, filename: str, duration_ms: int, muted: list[Segment]) -> Layout:
        layout = make_recording(
            self.directory / filename, duration_ms, self.bank, seed=seed_of(uniqueid), muted=muted
        )
        self.layouts[uniqueid] = layout
        return layout

    def path(self, uniqueid: str) -> Path:
        """Where the recording of the channel ``uniqueid`` is (the queue's: ``<uniqueid>.wav``)."""
        return self.directory / f"{uniqueid}.wav"

    def wait(self) -> dict[str, Layout]:
        """Block until every recording handed over so far is written (raises what a write raised)."""
        return {uid: future.result() for uid, future in list(self.written.items())}

    def close(self) -> None:
        self._executor.shutdown(wait=True)


_WATCHED = frozenset({"VarSet", "MixMonitorStart", "MixMonitorMute", "MixMonitorStop", "Hangup"})
