"""Property tests of the AMI frame parser (``acd.ami.frames``): exact round trips however the bytes are
chunked, no exception on any input, malformed frames counted, real captures chunk-invariant."""

from __future__ import annotations

import os
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd.ami.frames import FRAME_END, Frame, FrameParser, encode_action, parse_capture
from tests.acd import ASTERISK_FIXTURES

CAPTURES = [
    "answered/ami.txt",
    "abandoned/ami.txt",
    "actions/ami.txt",
    "actions/bad-login.txt",
    "actions/limited-user.txt",
    "ivr/ami.txt",
    "transfer/ami.txt",
    "restart/ami-before.txt",
    "restart/ami-after.txt",
    "priority/ami.txt",
    "penalty/ami.txt",
    "ringall/ami.txt",
    "agent-states/ami.txt",
]
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def have_fixtures() -> bool:
    return ASTERISK_FIXTURES.is_dir() or os.environ.get("CI") == "true"


needs_fixtures = pytest.mark.skipif(not have_fixtures(), reason="Asterisk fixtures not found")


@cache
def capture(name: str) -> bytes:
    return (ASTERISK_FIXTURES / name).read_bytes()


def feed_in_chunks(data: bytes, cuts: list[int]) -> tuple[FrameParser, list[Frame]]:
    parser = FrameParser()
    frames: list[Frame] = []
    start = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        frames.extend(parser.feed(data[start:cut]))
        start = max(start, cut)
    return parser, frames


def encode_frame(frame: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in frame.items()).encode() + b"\r\n"


# --- generated frames round-trip -------------------------------------------------------------------

# Keys: anything but ':' and line ends (a real AMI key is a word; this is wider on purpose).
keys = st.text(st.characters(codec="utf-8", exclude_characters=":\r\n"), min_size=1, max_size=12)
# Values: any text, empty included, lone CR / LF included; only the line end CRLF itself is excluded.
values = st.text(st.characters(codec="utf-8"), max_size=20).filter(lambda v: "\r\n" not in v)


@st.composite
def frames(draw: st.DrawFn) -> dict[str, str]:
    kind = draw(st.sampled_from(["Event", "Response"]))
    rest = draw(st.dictionaries(keys.filter(lambda k: k not in ("Event", "Response")), values, max_size=8))
    return {kind: draw(values), **rest}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(frames(), min_size=1, max_size=8), st.lists(st.integers(min_value=0), max_size=12), st.booleans()
)
def test_generated_frames_round_trip_in_any_chunking(
    generated: list[dict[str, str]], cuts: list[int], with_banner: bool
) -> None:
    data = (BANNER if with_banner else b"") + b"".join(encode_frame(f) for f in generated)
    parser, parsed = feed_in_chunks(data, cuts)
    assert [dict(f) for f in parsed] == generated
    assert [list(f) for f in parsed] == [list(f) for f in generated]  # header order kept
    assert parser.banner == ("Asterisk Call Manager/11.0.0" if with_banner else None)
    assert (parser.stats.frames, parser.stats.malformed_frames, parser.stats.malformed_lines) == (
        len(generated),
        0,
        0,
    )
    assert parser.buffer == b""


@given(st.lists(st.tuples(keys, values), max_size=8))
def test_encode_action_is_what_the_parser_reads(fields: list[tuple[str, str]]) -> None:
    action = [("Action", "Ping"), *((k, v) for k, v in fields if k not in ("Action", "Event", "Response"))]
    wire = encode_action(action).replace(b"Action: ", b"Response: ", 1)
    [parsed] = FrameParser().feed(wire)
    expected: dict[str, str] = {}
    for key, value in [("Response", "Ping"), *action[1:]]:
        expected[key] = f"{expected[key]}\n{value}" if key in expected else value  # repeated keys joined
    assert dict(parsed) == expected


# --- garbage never raises, malformed frames are counted ---------------------------------------------

structured = st.sampled_from(
    [
        b"\r\n",
        FRAME_END,
        FRAME_END,
        b"\r",
        b"\n",
        b": ",
        b":",
        b"Event: X\r\n",
        b"Event: X",
        b"Event:",
        b"Response: Success\r\n",
        b"Response:",
        b"Key: value\r\n",
        b"Event",
        b"\xff\xfe",
        "鍵: 值".encode(),
        b"Asterisk Call Manager/",
    ]
)
lines = st.one_of(
    st.sampled_from(
        [b"Event: X", b"Response: Success", b"Event:", b"Event: ", b"Key: value", b"Key:", b"Event", b""]
    ),
    st.binary(max_size=12),
)
# Either AMI-shaped blocks of good and bad lines, or a soup of pieces (half frames, stray CR/LF, bad UTF-8).
streams = st.one_of(
    st.tuples(st.lists(st.lists(lines, max_size=5).map(b"\r\n".join), max_size=8), st.binary(max_size=8)).map(
        lambda t: FRAME_END.join(t[0]) + t[1]
    ),
    st.lists(st.one_of(st.binary(max_size=16), structured, structured, structured), max_size=40).map(
        b"".join
    ),
)


def model_block_is_frame(block: bytes) -> bool:
    """The AMI rule, written out independently: a frame needs an Event or a Response header."""
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if ": " in line:
            key = line.split(": ", 1)[0]
        elif line.endswith(":") and " " not in line:
            key = line[:-1]
        else:
            continue
        if key in ("Event", "Response"):
            return True
    return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams, st.lists(st.integers(min_value=0), max_size=10))
def test_random_bytes_never_raise_and_malformed_frames_are_counted(data: bytes, cuts: list[int]) -> None:
    whole = FrameParser()
    frames_whole = whole.feed(data)
    body = data
    if data.startswith(b"Asterisk Call Manager/"):
        end = data.find(b"\r\n")
        body = b"" if end < 0 else data[end + 2 :]
    blocks = [b for b in body.split(FRAME_END)[:-1] if b]
    expected_good = sum(model_block_is_frame(b) for b in blocks)
    assert whole.stats.frames == len(frames_whole) == expected_good
    assert whole.stats.malformed_frames == len(blocks) - expected_good
    assert all("Event" in f or "Response" in f for f in frames_whole)
    # The same bytes in pieces: same frames, same counts (only when a banner cannot appear mid-stream,
    # see test_banner_only_at_start_of_connection).
    if b"Asterisk Call Manager/" not in data[1:]:
        chunked, frames_chunked = feed_in_chunks(data, cuts)
        assert frames_chunked == frames_whole
        assert chunked.stats == whole.stats
        assert chunked.banner == whole.banner


@needs_fixtures
@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(CAPTURES), cut=st.floats(min_value=0, max_value=1))
def test_truncated_capture_gives_a_prefix_and_resumes(name: str, cut: float) -> None:
    data = capture(name)
    full_parser, full = parse_capture(data)
    at = int(len(data) * cut)
    parser = FrameParser()
    head = parser.feed(data[:at])
    assert head == full[: len(head)]
    banner_end = len(BANNER) if data.startswith(BANNER) else 0
    assert len(head) == data[banner_end:at].count(FRAME_END)  # the captures have no empty blocks
    assert parser.stats.malformed_frames == 0
    tail = parser.feed(data[at:])
    assert head + tail == full
    assert parser.stats == full_parser.stats and parser.banner == full_parser.banner


@needs_fixtures
@pytest.mark.parametrize("name", CAPTURES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=20))
def test_real_capture_in_random_chunks_equals_whole(name: str, sizes: list[int]) -> None:
    data = capture(name)
    whole_parser, whole = parse_capture(data)
    parser = FrameParser()
    chunked: list[Frame] = []
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        chunked.extend(parser.feed(data[position : position + size]))
        position, turn = position + size, turn + 1
    assert chunked == whole
    assert [list(f) for f in chunked] == [list(f) for f in whole]
    assert parser.stats == whole_parser.stats
    assert parser.banner == whole_parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.version == "11.0.0"
    assert parser.buffer == b""


@needs_fixtures
@pytest.mark.parametrize(
    "name", ["actions/limited-user.txt", "restart/ami-before.txt", "restart/ami-after.txt"]
)
def test_real_capture_byte_by_byte(name: str) -> None:
    data = capture(name)
    _, whole = parse_capture(data)
    parser = FrameParser()
    frames = [f for i in range(len(data)) for f in parser.feed(data[i : i + 1])]
    assert frames == whole and parser.banner == "Asterisk Call Manager/11.0.0"


@needs_fixtures
def test_real_capture_traps() -> None:
    """What the README says the wire looks like is what the parser gives."""
    parser, frames = parse_capture(capture("answered/ami.txt"))
    assert parser.stats.frames == len(frames) == 992
    assert (parser.stats.malformed_frames, parser.stats.malformed_lines, parser.stats.overflows) == (0, 0, 0)
    assert frames[0].response == "Success" and "Timestamp" not in frames[0]
    assert frames[1].event == "FullyBooted" and "Timestamp" not in frames[1]
    assert all(f["AccountCode"] == "" for f in frames if "AccountCode" in f)  # "AccountCode: " kept empty


def test_banner_only_at_start_of_connection() -> None:
    """A banner-looking line is only a banner as the connection's first bytes: whether it is taken for one
    must not depend on how TCP happened to chunk the stream."""
    data = b"Event: A\r\n\r\nAsterisk Call Manager/11.0.0\r\nEvent: B\r\n\r\n"
    whole = FrameParser()
    whole.feed(data)
    split = FrameParser()
    split.feed(data[:12])
    split.feed(data[12:])
    assert whole.banner is None
    assert split.banner is None
    assert split.stats == whole.stats
