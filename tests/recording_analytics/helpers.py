"""Synthetic test signals: tone bursts over noise on known intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

RATE = 8000


def bursts(
    segments: Sequence[tuple[int, int]],
    duration_ms: int,
    *,
    rate: int = RATE,
    freq: float = 440.0,
    level_dbfs: float = -12.0,
    noise_dbfs: float = -60.0,
    seed: int = 0,
) -> npt.NDArray[np.int16]:
    """One channel: a tone at ``level_dbfs`` (peak) inside each [start_ms, end_ms), noise everywhere."""
    n = duration_ms * rate // 1000
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 32768 * 10 ** (noise_dbfs / 20), n)
    t = np.arange(n) / rate
    tone = 32767 * 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq * t)
    for s, e in segments:
        a, b = s * rate // 1000, min(n, e * rate // 1000)
        x[a:b] += tone[a:b]
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def stereo(
    caller: Sequence[tuple[int, int]], agent: Sequence[tuple[int, int]], duration_ms: int, seed: int = 0
) -> npt.NDArray[np.int16]:
    return np.stack(
        [bursts(caller, duration_ms, seed=seed), bursts(agent, duration_ms, freq=300.0, seed=seed + 1)]
    )


def near(detected: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]], tolerance_ms: int) -> bool:
    """Same number of segments, each boundary within the tolerance."""
    return len(detected) == len(truth) and all(
        abs(d[0] - t[0]) <= tolerance_ms and abs(d[1] - t[1]) <= tolerance_ms
        for d, t in zip(detected, truth, strict=True)
    )
