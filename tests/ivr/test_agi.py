"""The AGI protocol layer against the real Asterisk 22 bytes: headers, replies, the HANGUP-then-511 trap,
silent and vanishing peers; hypothesis for the reply parser."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.agi import (
    AgiCommandError,
    AgiConnectionLost,
    AgiHangup,
    AgiProtocolError,
    AgiReply,
    AgiSession,
    AgiTimeout,
    ReplyAssembler,
    parse_reply_lines,
    parse_status_line,
    quote,
)
from tests.ivr.capture import captures, load_capture

# --- the parser ---------------------------------------------------------------------------------


def test_replies_seen_in_the_captures() -> None:
    assert parse_status_line("200 result=0") == AgiReply(200, result="0")
    stream = parse_status_line("200 result=0 endpos=31422")
    assert stream.result_int == 0 and stream.fields == {"endpos": "31422"} and stream.data is None
    assert parse_status_line("200 result=123456").result == "123456"
    partial = parse_status_line("200 result=23456 (timeout)")
    assert partial.result == "23456" and partial.timed_out
    none = parse_status_line("200 result= (timeout)")
    assert none.result == "" and none.timed_out and none.result_int is None
    assert parse_status_line("200 result=-1").result_int == -1
    dead = parse_status_line("511 Command Not Permitted on a dead channel or intercept routine")
    assert dead.code == 511 and not dead.ok and dead.text.startswith("Command Not Permitted")
    assert parse_status_line("510 Invalid or unknown command").code == 510
    record = parse_status_line("200 result=0 (timeout) endpos=8000")
    assert record.data == "timeout" and record.fields == {"endpos": "8000"}


def test_every_reply_line_of_every_capture_parses() -> None:
    seen = 0
    for capture in captures().values():
        for _command, lines in capture.exchanges:
            text = [line.decode().rstrip("\n") for line in lines]
            assert parse_reply_lines(text).code in (200, 511)
            seen += 1
    assert seen == 11 + 7 + 4


def test_multi_line_usage_block() -> None:
    assembler = ReplyAssembler()
    assert assembler.feed("520-Invalid command syntax.  Proper usage follows:") is None
    assert assembler.feed(" Usage: GET DATA <file to be streamed> [timeout] [maxdigits]") is None
    assert assembler.feed("HANGUP") is None  # inside the block it is text, not the hang-up notice
    reply = assembler.feed("520 End of proper usage.")
    assert reply is not None and reply.code == 520
    assert reply.text.splitlines()[0] == "Invalid command syntax.  Proper usage follows:"
    assert reply.text.endswith("End of proper usage.")
    assert not assembler.in_block


@pytest.mark.parametrize(
    "line",
    ["", "garbage", "200", "200 result", "200 result=1 (open", "20 result=1", "200-result=1", "abc def"],
)
def test_garbage_is_a_protocol_error(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_status_line(line)


_no_newline = st.text(alphabet=st.characters(codec="utf-8", blacklist_characters="\r\n"))
_key = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
_value = st.text(alphabet=st.characters(whitelist_categories=("Nd", "Ll", "Lu")), max_size=8)


@given(
    result=st.text(alphabet=st.sampled_from("0123456789-*#"), max_size=12),
    data=st.none() | _no_newline,
    pairs=st.dictionaries(_key, _value, max_size=3),
)
def test_status_lines_round_trip(result: str, data: str | None, pairs: dict[str, str]) -> None:
    reply = AgiReply(200, result=result, data=data, fields=pairs)
    assert parse_status_line(reply.format()) == reply


@given(code=st.sampled_from([510, 511, 520]), text=_no_newline)
def test_refusals_round_trip(code: int, text: str) -> None:
    reply = parse_status_line(f"{code} {text}")
    assert (reply.code, reply.text, reply.result) == (code, text, None)


@given(lines=st.lists(_no_newline, max_size=6))
def test_the_assembler_never_fails_with_anything_but_a_protocol_error(lines: list[str]) -> None:
    assembler = ReplyAssembler()
    for line in lines:
        try:
            assembler.feed(line)
        except AgiProtocolError:
            assembler = ReplyAssembler()


@given(argument=st.text(alphabet=st.characters(codec="utf-8", blacklist_characters="\r\n\x00")))
def test_quoting_never_lets_an_argument_split_a_command(argument: str) -> None:
    quoted = quote(argument)
    assert "\n" not in quoted
    if quoted.startswith('"'):
        inner = quoted[1:-1]
        assert inner.replace("\\\\", "").replace('\\"', "").count('"') == 0
    else:
        assert " " not in quoted and quoted


@pytest.mark.parametrize("bad", ["a\nANSWER", "x\r", "\x00"])
def test_arguments_with_line_breaks_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        quote(bad)


# --- the session against the captured bytes -------------------------------------------------------

Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Connect = Callable[[Peer], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Runs ``peer`` as the Asterisk side of a loopback connection; yields our end's streams."""
    servers: list[asyncio.Server] = []
    writers: list[asyncio.StreamWriter] = []

    async def make(peer: Peer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await peer(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
        return reader, writer

    yield make
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    for server in servers:
        server.close()
        await server.wait_closed()


def _player(prefix: str, *, stop_after: int | None = None) -> Peer:
    capture = load_capture(prefix)

    async def play(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(capture.headers)
        for index, (command, reply) in enumerate(capture.exchanges):
            if stop_after is not None and index >= stop_after:
                await asyncio.sleep(60)  # silent peer
            line = await reader.readline()
            assert line.decode().rstrip("\n") == command
            writer.write(b"".join(reply))
            await writer.drain()
        await reader.read()

    return play


async def test_headers_of_the_captured_call(connect: Connect) -> None:
    reader, writer = await connect(_player("agi-003-021440"))
    session = await AgiSession.start(reader, writer)
    headers = session.headers
    assert len(headers.values) == 22
    assert headers.script == "ivr"
    assert headers.uniqueid == "1795400079.0"
    assert headers.callerid == "13900139001" and headers.calleridname == "Sun Qiang"
    assert headers.language == "en" and headers.get("accountcode") == "" and headers.args == []


async def test_hangup_during_get_data_then_511_does_not_shift_replies(connect: Connect) -> None:
    capture = load_capture("agi-005-021446")
    reader, writer = await connect(_player("agi-005-021446"))
    session = await AgiSession.start(reader, writer)
    await session.answer()
    assert await session.stream_file("custom/welcome") == ""
    menu = await session.execute("GET DATA custom/menu 5000 1", check=False)
    assert menu.result_int == -1 and not session.hung_up  # HANGUP has not arrived yet
    # the captured server played one more prompt; Asterisk sent HANGUP and answered that command 511
    late = await session.execute('STREAM FILE custom/invalid-choice ""', check=False)
    assert late.code == 511 and session.hung_up
    assert [e.command for e in session.exchanges] == capture.commands
    with pytest.raises(AgiHangup):  # nothing more is sent on a dead channel
        await session.verbose("late")
    await session.close()


async def test_minus_one_raises_hangup_when_checked(connect: Connect) -> None:
    reader, writer = await connect(_player("agi-005-021446"))
    session = await AgiSession.start(reader, writer)
    await session.answer()
    await session.stream_file("custom/welcome")
    with pytest.raises(AgiHangup):
        await session.get_data("custom/menu", 5000, 1)
    assert session.hung_up


async def test_get_data_results_of_the_first_call(connect: Connect) -> None:
    reader, writer = await connect(_player("agi-003-021440"))
    session = await AgiSession.start(reader, writer)
    await session.answer()
    await session.stream_file("custom/welcome")
    assert (await session.get_data("custom/menu", 5000, 1)).digits == "1"
    await session.set_variable("IVR_CHOICE", "1")
    first = await session.get_data("custom/enter-id", 6000, 6)
    assert first.digits == "123456" and not first.timed_out
    await session.stream_file("custom/invalid-id")
    assert (await session.get_data("custom/enter-id", 6000, 6)).digits == "123455"
    await session.set_variable("CUSTOMER_ID", "123455")
    await session.set_variable("IVR_QUEUE", "support")
    await session.stream_file("custom/hold")
    await session.verbose("IVR: to queue support", 1)
    sent = b"".join(e.command.encode() + b"\n" for e in session.exchanges)
    assert sent == load_capture("agi-003-021440").outbound  # byte for byte what the real server sent


async def test_silent_peer_times_out(connect: Connect) -> None:
    reader, writer = await connect(_player("agi-004-021443", stop_after=1))
    session = await AgiSession.start(reader, writer, command_timeout=0.3)
    await session.answer()
    with pytest.raises(AgiTimeout):
        await session.stream_file("custom/welcome")


async def test_silent_peer_during_headers_times_out(connect: Connect) -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"agi_network: yes\n")
        await asyncio.sleep(5)

    reader, writer = await connect(half)
    with pytest.raises(AgiTimeout):
        await AgiSession.start(reader, writer, header_timeout=0.2)


@pytest.mark.parametrize(
    "data",
    [b"", b"agi_network: yes\n", b"agi_network: yes\nagi_netw", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\n"],
)
async def test_bad_header_blocks(connect: Connect, data: bytes) -> None:
    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    reader, writer = await connect(send)
    with pytest.raises((AgiProtocolError, AgiConnectionLost)):
        await AgiSession.start(reader, writer, header_timeout=2)


async def test_peer_gone_mid_command_and_refusals(connect: Connect) -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(load_capture("agi-004-021443").headers)
        await reader.readline()
        writer.write(b"510 Invalid or unknown command\n")
        await reader.readline()
        writer.write(
            b"520-Invalid command syntax.  Proper usage follows:\n Usage: x\n520 End of proper usage.\n"
        )
        await reader.readline()
        writer.write(b"200 result=1\n")
        await reader.readline()
        writer.write(b"200 res")  # and gone

    reader, writer = await connect(peer)
    session = await AgiSession.start(reader, writer)
    with pytest.raises(AgiCommandError) as unknown:
        await session.execute("FOO")
    assert unknown.value.code == 510
    with pytest.raises(AgiCommandError) as usage:
        await session.execute("GET DATA")
    assert usage.value.code == 520
    await session.verbose("still in step")  # the 520 block did not shift the next reply
    with pytest.raises(AgiConnectionLost):
        await session.answer()
