"""Voice activity detection for call recordings: frame masks (True = voice) from int16 samples.

Two methods, both giving one boolean per ``frame_ms`` frame:

* ``energy`` (default, the hot path, numpy only): short-time energy in dBFS per frame against an adaptive
  noise floor (the minimum of the 100 ms-smoothed energy over a sliding window, so a line hiss that drifts
  is followed), with the threshold kept between an absolute floor (digital silence and faint hiss never
  count) and a ceiling (a long stretch of speech that lifts the window minimum is still speech);
* ``webrtc``: Google's WebRTC VAD (``webrtcvad``), one call per frame, slower; rates 8/16/32/48 kHz.

Both masks then go through the same smoothing: gaps shorter than ``min_gap_ms`` inside speech are closed
(pauses between words), runs shorter than ``min_voice_ms`` dropped (clicks), and each run is extended by
``hangover_ms`` (word endings fade below the threshold).

Segment helpers (``mask_to_segments``, ``intersect``, ``complement``) work in milliseconds on sorted,
non-overlapping half-open ``[start, end)`` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Method = Literal["energy", "webrtc"]
Mask = npt.NDArray[np.bool_]
Segment = tuple[int, int]

FULL_SCALE = 32768.0
SILENT_DB = -120.0  # the energy of an all-zero frame (log of 0 kept finite)


@dataclass(frozen=True)
class VadParams:
    frame_ms: int = 20
    floor_window_ms: int = 8_000  # noise floor = minimum over this window (centred)
    margin_db: float = 12.0  # voice = this far above the noise floor ...
    min_threshold_db: float = -50.0  # ... but never below this (hiss, digital silence)
    max_threshold_db: float = -35.0  # ... and never above this (long speech lifting the floor)
    min_gap_ms: int = 300
    min_voice_ms: int = 100
    hangover_ms: int = 40
    webrtc_mode: int = 2  # 0 (least aggressive) .. 3


DEFAULT = VadParams()


def frame_energy_db(x: npt.NDArray[np.int16], rate: int, frame_ms: int = 20) -> npt.NDArray[np.float32]:
    """dBFS (RMS) per frame; the last partial frame is padded with zeros (its energy is that of its part)."""
    size = max(1, rate * frame_ms // 1000)
    n = len(x)
    count = -(-n // size)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    whole = n // size
    out = np.empty(count, dtype=np.float32)
    if whole:
        frames = x[: whole * size].reshape(whole, size).astype(np.float32)
        out[:whole] = np.einsum("ij,ij->i", frames, frames) / size
    if count > whole:
        tail = x[whole * size :].astype(np.float32)
        out[whole] = float(np.dot(tail, tail)) / len(tail)
    # mean square → dB; + tiny keeps log finite for digital silence
    out = 10.0 * np.log10(out + 1e-12) - np.float32(20.0 * np.log10(FULL_SCALE))
    np.maximum(out, SILENT_DB, out=out)
    return out


def _sliding_min(values: npt.NDArray[np.float32], window: int) -> npt.NDArray[np.float32]:
    """Centred sliding minimum over ``window`` items, computed on blocks (cheap: O(n)) — block minima first,
    then the minimum over the neighbouring blocks."""
    n = len(values)
    block = max(1, window // 8)
    nblocks = -(-n // block)
    padded = np.full(nblocks * block, np.inf, dtype=np.float32)
    padded[:n] = values
    mins = padded.reshape(nblocks, block).min(axis=1)
    half = 4
    ext = np.concatenate([np.full(half, np.inf, np.float32), mins, np.full(half, np.inf, np.float32)])
    view = np.lib.stride_tricks.sliding_window_view(ext, 2 * half + 1)
    around = view.min(axis=1)
    return np.repeat(around, block)[:n]


def _smooth(values: npt.NDArray[np.float32], width: int) -> npt.NDArray[np.float32]:
    if width <= 1 or len(values) < width:
        return values
    kernel = np.full(width, 1.0 / width, dtype=np.float32)
    return np.convolve(values, kernel, mode="same").astype(np.float32)


def energy_mask(x: npt.NDArray[np.int16], rate: int, params: VadParams = DEFAULT) -> Mask:
    """Raw (unsmoothed) voice mask of one channel by short-time energy and an adaptive noise floor."""
    db = frame_energy_db(x, rate, params.frame_ms)
    if len(db) == 0:
        return np.zeros(0, dtype=np.bool_)
    frames_per_100ms = max(1, 100 // params.frame_ms)
    floor = _sliding_min(_smooth(db, frames_per_100ms), max(1, params.floor_window_ms // params.frame_ms))
    threshold = np.clip(floor + params.margin_db, params.min_threshold_db, params.max_threshold_db)
    mask: Mask = db > threshold
    return mask


def webrtc_mask(x: npt.NDArray[np.int16], rate: int, params: VadParams = DEFAULT) -> Mask:
    """Raw voice mask from webrtcvad (frames of 10, 20 or 30 ms; the last partial frame counts as silence)."""
    import webrtcvad

    if rate not in (8000, 16000, 32000, 48000):
        raise ValueError(f"webrtcvad needs 8, 16, 32 or 48 kHz audio, not {rate} Hz")
    if params.frame_ms not in (10, 20, 30):
        raise ValueError("webrtcvad needs 10, 20 or 30 ms frames")
    vad = webrtcvad.Vad(params.webrtc_mode)
    size = rate * params.frame_ms // 1000
    count = -(-len(x) // size)
    mask = np.zeros(count, dtype=np.bool_)
    data = np.ascontiguousarray(x, dtype="<i2").tobytes()
    step = size * 2
    for i in range(len(x) // size):
        mask[i] = vad.is_speech(data[i * step : (i + 1) * step], rate)
    return mask


def _runs(mask: Mask) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and end (exclusive) frame indices of the True runs."""
    edges = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def smooth_mask(mask: Mask, params: VadParams = DEFAULT) -> Mask:
    """Close short gaps, drop short runs, extend each run by the hangover (in that order)."""
    n = len(mask)
    if n == 0 or not mask.any():
        return mask.copy()
    frame = params.frame_ms
    starts, ends = _runs(mask)
    # close inner gaps shorter than min_gap
    gaps = starts[1:] - ends[:-1]
    keep = gaps * frame >= params.min_gap_ms
    starts = np.concatenate([starts[:1], starts[1:][keep]])
    ends = np.concatenate([ends[:-1][keep], ends[-1:]])
    # drop clicks
    long_enough = (ends - starts) * frame >= params.min_voice_ms
    starts, ends = starts[long_enough], ends[long_enough]
    ends = np.minimum(ends + params.hangover_ms // frame, n)
    out = np.zeros(n + 1, dtype=np.int32)
    np.add.at(out, starts, 1)
    np.add.at(out, ends, -1)
    result: Mask = np.cumsum(out[:n]) > 0
    return result


def voice_mask(
    x: npt.NDArray[np.int16], rate: int, *, method: Method = "energy", params: VadParams = DEFAULT
) -> Mask:
    """Smoothed voice mask of one channel, one value per ``params.frame_ms`` frame."""
    if method == "energy":
        raw = energy_mask(x, rate, params)
    elif method == "webrtc":
        raw = webrtc_mask(x, rate, params)
    else:
        raise ValueError(f"unknown VAD method {method!r} (energy or webrtc)")
    return smooth_mask(raw, params)


def mask_to_segments(mask: Mask, frame_ms: int, duration_ms: int) -> list[Segment]:
    """[start_ms, end_ms) of each True run, the last one clipped to the audio's duration."""
    starts, ends = _runs(mask)
    out: list[Segment] = []
    for s, e in zip((starts * frame_ms).tolist(), (ends * frame_ms).tolist(), strict=True):
        e = min(e, duration_ms)
        if e > s:
            out.append((s, e))
    return out


def total(segments: Sequence[Segment]) -> int:
    return sum(e - s for s, e in segments)


def intersect(a: Sequence[Segment], b: Sequence[Segment]) -> list[Segment]:
    """Where both lists cover (both sorted, non-overlapping)."""
    out: list[Segment] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def union(*lists: Sequence[Segment]) -> list[Segment]:
    """Merged cover of several segment lists (touching segments joined)."""
    out: list[Segment] = []
    for s, e in sorted(seg for segs in lists for seg in segs):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def complement(segments: Sequence[Segment], duration_ms: int) -> list[Segment]:
    """The parts of [0, duration) that no segment covers."""
    out: list[Segment] = []
    at = 0
    for s, e in segments:
        if s > at:
            out.append((at, s))
        at = max(at, e)
    if at < duration_ms:
        out.append((at, duration_ms))
    return out
