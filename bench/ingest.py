"""The telephony ingest path on one core: AMI bytes → frames → domain events → live state → bus.

The captured Asterisk traffic (../shared/fixtures/asterisk/*/ami.txt) is scaled up by repeating it, then
pushed through the whole path in 64 KiB chunks as a socket would deliver it. Side by side, in the same run,
panoramisk's own protocol parser reads the same bytes (its bare parser, nothing downstream).

    python -m bench.ingest [--frames 300000]

Last line: {"events_per_s": N, "panoramisk_events_per_s": N} (events = AMI frames in).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from pathlib import Path
from typing import Any, ClassVar

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "asterisk"
CHUNK = 64 * 1024
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def scaled_capture(min_frames: int) -> tuple[bytes, int]:
    """The captures' frames (banners removed) repeated until there are at least ``min_frames``."""
    body = b""
    frames = 0
    for path in sorted(FIXTURES.glob("*/ami*.txt")):
        if path.name.endswith((".sent.txt", ".counts.txt")):
            continue
        data = path.read_bytes()
        if data.startswith(BANNER):
            data = data[len(BANNER) :]
        body += data
        frames += data.count(b"\r\n\r\n")
    repeats = max(1, -(-min_frames // frames))
    return BANNER + body * repeats, frames * repeats


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def run_panoramisk(parts: list[bytes]) -> int:
    from panoramisk.ami_protocol import AMIProtocol

    class Sink:
        save_stream = None
        forgetable_actions: ClassVar[tuple[str, ...]] = ()
        awaiting_actions: ClassVar[list[Any]] = []
        count = 0

        def dispatch(self, message: Any) -> None:
            self.count += 1

        def connection_lost(self, exc: Any) -> None:
            pass

    class Transport:
        def write(self, data: bytes) -> None:
            pass

        def close(self) -> None:
            pass

    protocol = AMIProtocol()
    protocol.connection_made(Transport())
    sink = Sink()
    protocol.factory = sink
    protocol.encoding = "utf-8"
    for part in parts:
        protocol.data_received(part)
    return sink.count


async def run_whole_path(parts: list[bytes]) -> tuple[int, int, int]:
    from acd.ami.frames import FrameParser
    from acd.live import LivePublisher
    from acd.state import LiveState
    from acd.translate import Translator
    from core.bus import InProcessBus

    bus = InProcessBus()
    await bus.start()
    publisher = LivePublisher(LiveState(), bus)
    parser = FrameParser()
    translator = Translator()
    frames = events = 0
    for part in parts:
        for frame in parser.feed(part):
            frames += 1
            for event in translator.feed(frame):
                events += 1
                await publisher.handle(event)
    for event in translator.flush():
        events += 1
        await publisher.handle(event)
    await bus.close()
    return frames, events, parser.stats.malformed_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300_000)
    args = parser.parse_args()
    data, expected = scaled_capture(args.frames)
    parts = chunks(data)
    print(f"input: {len(data) / 1e6:.1f} MB, {expected:,} AMI frames, {len(parts)} chunks of {CHUNK} bytes")

    gc.collect()
    start = time.perf_counter()
    bare = run_panoramisk(parts)
    panoramisk_s = time.perf_counter() - start

    gc.collect()
    start = time.perf_counter()
    frames, domain_events, malformed = asyncio.run(run_whole_path(parts))
    whole_s = time.perf_counter() - start

    whole_rate = frames / whole_s
    bare_rate = bare / panoramisk_s
    print(f"panoramisk bare parser: {bare:,} frames in {panoramisk_s:.2f} s = {bare_rate:,.0f} events/s")
    print(
        f"whole path: {frames:,} frames → {domain_events:,} domain events → live state → bus "
        f"in {whole_s:.2f} s = {whole_rate:,.0f} events/s (malformed {malformed})"
    )
    print(f"whole path / panoramisk bare parser: {whole_rate / bare_rate:.2f}")
    print(json.dumps({"events_per_s": round(whole_rate), "panoramisk_events_per_s": round(bare_rate)}))


if __name__ == "__main__":
    main()
