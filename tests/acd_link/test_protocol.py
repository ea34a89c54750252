"""The protocol's frame matching under any split of the bytes (hypothesis), and the back-off formula."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.ami.frames import Frame
from acd.ami.link import AmiLink, AmiProtocol, PbxActionError
from tests.acd_link.fake_ami import ACTIONS


class Transport(asyncio.Transport):
    """Just enough of an asyncio transport for the protocol."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


EVENT = next(b for b in ACTIONS.blocks if b.startswith(b"Event: MixMonitorStart"))
# Two EventLists, a live event between them, an Error response, and the Originate response + event.
STREAM = (
    ACTIONS.reply("lab-014", "acd-t-1")
    + EVENT
    + ACTIONS.reply("lab-013", "acd-t-2")
    + ACTIONS.reply("lab-036", "acd-t-3")
    + ACTIONS.reply("lab-030", "acd-t-4", span=True)
)


async def _run(cuts: list[int]) -> tuple[list[Any], list[Frame], AmiLink]:
    frames: list[Frame] = []
    link = AmiLink("127.0.0.1", 1, "u", "s", on_frame=frames.append, action_timeout=1.0)
    protocol = AmiProtocol(link)
    protocol.connection_made(Transport())
    status = asyncio.create_task(
        link._send(protocol, [("Action", "QueueStatus")], collect=True, action_id="acd-t-1")
    )
    channels = asyncio.create_task(
        link._send(protocol, [("Action", "CoreShowChannels")], collect=True, action_id="acd-t-2")
    )
    redirect = asyncio.create_task(link._send(protocol, [("Action", "Redirect")], action_id="acd-t-3"))
    originate = asyncio.create_task(link._send(protocol, [("Action", "Originate")], action_id="acd-t-4"))
    await asyncio.sleep(0)
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    for start, end in itertools.pairwise(bounds):
        protocol.data_received(STREAM[start:end])
    results = await asyncio.gather(status, channels, redirect, originate, return_exceptions=True)
    return list(results), frames, link


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=40))
def test_matching_survives_any_split(cuts: list[int]) -> None:
    results, frames, link = asyncio.run(_run(cuts))
    status, channels, redirect, originate = results
    assert len(status[1]) == 5 and status[0]["Message"] == "Queue status will follow"
    assert [f["Channel"] for f in channels[1]] == ["PJSIP/customers-00000000", "PJSIP/1002-00000001"]
    assert isinstance(redirect, PbxActionError)
    assert redirect.message == "Channel does not exist: PJSIP/9999-00000000"
    assert originate[0]["Message"] == "Originate successfully queued"
    # the live event and the Originate's events (OriginateResponse included) reach on_frame, list items don't
    events = [f.event for f in frames]
    assert events[0] == "MixMonitorStart" and events[-1] == "OriginateResponse"
    assert not {"QueueParams", "QueueMember", "CoreShowChannel"} & set(events)
    assert link.stats.frames == STREAM.count(b"\r\n\r\n")
    assert link.stats.malformed_frames == 0 and link.stats.unmatched_responses == 0


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=20), st.floats(min_value=0.0, max_value=1.0))
def test_backoff_stays_within_jitter_and_cap(doublings: int, draw: float) -> None:
    link = AmiLink("h", 1, "u", "s", rng=lambda: draw)
    base = min(30.0, 0.5 * 2**doublings)
    delay = link._delay(0.5 * 2**doublings)
    assert 0.75 * base - 1e-9 <= delay <= min(30.0, 1.25 * base) + 1e-9
