"""Audio analytics speed: our numpy analytics vs pydub's ``detect_silence`` on the same hour of calls.

The input is an hour of 8 kHz 16-bit stereo call recordings (60 one-minute calls, caller left, agent right)
made by the PBX simulator's recorder (pbxsim/recordings.py: espeak-ng speech on a known layout over line
hiss), built once and cached under /tmp. Both sides decode each WAV themselves:

* ours: ``recording.analytics.analyse_file`` — voice activity per channel, silence, overtalk, talk ratio,
  dead air, 800 waveform peaks per channel, activity segments (best of ``--repeat`` runs);
* pydub: ``AudioSegment.from_wav`` → ``split_to_mono()`` (pydub needs mono) → ``pydub.silence.detect_silence``
  per channel with the usual ``min_silence_len=500``, ``silence_thresh=-40`` (dBFS), ``seek_step=1``
  (one run).

Speed = seconds of call audio / seconds of processing ("× real time"). A sanity line compares the silence
both find per channel (pauses ≥ 500 ms).

    python -m bench.audio [--calls 60] [--seconds 60] [--repeat 3]

Last line: {"ours_x_realtime": N, "pydub_x_realtime": N}.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
import warnings
from pathlib import Path

from pbxsim.recordings import SpeechBank, make_recording
from recording.analytics import AudioAnalysis, analyse_file

MIN_SILENCE_MS = 500
SILENCE_THRESH_DBFS = -40


def build_corpus(calls: int, seconds: int) -> tuple[list[Path], float]:
    """The WAVs (made on first use, then reused) and their total audio duration in seconds."""
    folder = Path(tempfile.gettempdir()) / f"bench-audio-v1-{calls}x{seconds}s"
    folder.mkdir(parents=True, exist_ok=True)
    bank = SpeechBank("zh")
    paths = []
    for n in range(calls):
        path = folder / f"{1795400000 + n * 100}.{n}.wav"
        if not path.exists():
            make_recording(path, seconds * 1000, bank, seed=n)
        paths.append(path)
    return paths, float(calls * seconds)


def run_ours(paths: list[Path]) -> list[AudioAnalysis]:
    return [analyse_file(path) for path in paths]


def run_pydub(paths: list[Path]) -> list[list[list[list[int]]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns about audioop's deprecation
        from pydub import AudioSegment
        from pydub.silence import detect_silence

        out = []
        for path in paths:
            audio = AudioSegment.from_wav(str(path))
            out.append(
                [
                    detect_silence(mono, min_silence_len=MIN_SILENCE_MS, silence_thresh=SILENCE_THRESH_DBFS)
                    for mono in audio.split_to_mono()
                ]
            )
        return out


def our_silence_ms(analysis: AudioAnalysis, channel: int) -> int:
    """Per channel: the gaps of ≥ 500 ms between that channel's activity (what detect_silence reports)."""
    at, found = 0, 0
    for start, end in [*analysis.channels[channel].activity, (analysis.duration_ms, analysis.duration_ms)]:
        if start - at >= MIN_SILENCE_MS:
            found += start - at
        at = max(at, end)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    paths, audio_s = build_corpus(args.calls, args.seconds)
    size = sum(p.stat().st_size for p in paths)
    print(
        f"input: {len(paths)} stereo 8 kHz WAVs, {audio_s / 3600:.2f} h of calls, {size / 1e6:.0f} MB "
        f"(ready in {time.perf_counter() - start:.1f} s; cached under {paths[0].parent})"
    )

    ours_s = float("inf")
    ours: list[AudioAnalysis] = []
    for _ in range(max(1, args.repeat)):
        gc.collect()
        start = time.perf_counter()
        ours = run_ours(paths)
        ours_s = min(ours_s, time.perf_counter() - start)

    gc.collect()
    start = time.perf_counter()
    theirs = run_pydub(paths)
    pydub_s = time.perf_counter() - start

    ours_x, pydub_x = audio_s / ours_s, audio_s / pydub_s
    print(f"ours  (analyse_file, energy VAD, all measures): {ours_s:.3f} s = {ours_x:,.0f}× real time")
    print(f"pydub (from_wav + detect_silence per channel):  {pydub_s:.2f} s = {pydub_x:,.1f}× real time")
    print(f"ours / pydub: {ours_x / pydub_x:.1f}× faster")
    diffs = [
        abs(our_silence_ms(a, ch) - sum(e - s for s, e in silences)) / 1000
        for a, per_channel in zip(ours, theirs, strict=True)
        for ch, silences in enumerate(per_channel)
    ]
    print(
        f"silence ≥ {MIN_SILENCE_MS} ms per channel, ours vs pydub: mean |difference| "
        f"{sum(diffs) / len(diffs):.2f} s per {args.seconds} s channel"
    )
    print(json.dumps({"ours_x_realtime": round(ours_x, 1), "pydub_x_realtime": round(pydub_x, 1)}))


if __name__ == "__main__":
    main()
